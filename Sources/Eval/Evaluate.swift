// Evaluation of a trained model: test ELBO, encodings, metrics, figures and report.json.

import Data
import Foundation
import IR
import Passes
import Models
import Runtime
import Train

/// An evaluation error; the message is complete (file, tensor, option).
public struct EvalError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "error: " + message }
}

// MARK: Loading a checkpoint

/// A model restored from a checkpoint: its spec (from the checkpoint's metadata, or given), the
/// model, and its parameters by name (Adam state dropped).
public struct TrainedModel {
    public var spec: ModelSpec
    public var model: any GenerativeModel
    public var parameters: [String: [Float]]
    public var metadata: [String: String]
    /// The iteration the checkpoint was written at (nil if not recorded).
    public var iteration: Int?
    /// The run's total iterations (the schedules' horizon), from the metadata or the spec.
    public var totalIterations: Int

    public init(spec: ModelSpec, parameters: [String: [Float]], metadata: [String: String] = [:]) throws {
        self.init(model: try makeModel(spec), parameters: parameters, metadata: metadata)
    }

    init(model: any GenerativeModel, parameters: [String: [Float]], metadata: [String: String]) {
        spec = model.spec
        self.model = model
        self.parameters = parameters
        self.metadata = metadata
        iteration = metadata["iteration"].flatMap(Int.init)
        totalIterations = metadata["total_iterations"].flatMap(Int.init) ?? spec.iterations
    }

    /// Loads `path`; the spec is the YAML text stored in the metadata unless `spec` is given.
    public static func load(checkpoint path: String, spec: ModelSpec? = nil) throws -> TrainedModel {
        let ck = try Checkpoint.load(path: path)
        let s: ModelSpec
        if let spec { s = spec } else {
            guard let text = ck.metadata["spec"], !text.isEmpty else {
                throw EvalError("\(path): the checkpoint stores no spec text in its metadata; pass the spec with --spec")
            }
            do { s = try parseSpec(yaml: text, file: "\(path) (metadata \"spec\")", defaultName: ck.metadata["spec_name"]) }
            catch let e as SpecError { throw EvalError(e.description) }
        }
        // Every parameter of the model's three graphs, validated as --resume validates them.
        let model = try makeModel(s)
        var expected: [(name: String, shape: [Int])] = []
        for g in [try model.trainGraph(batch: 1), try model.encodeGraph(batch: 1), try model.decodeGraph(batch: 1)] {
            expected += g.parameters.map { ($0.name, g[$0.node].shape) }
        }
        let params = try ck.validated(expected, context: path)
        return TrainedModel(model: model, parameters: params, metadata: ck.metadata)
    }
}

// MARK: Running the model's graphs

/// The posterior parameters of a set of examples: examples × J each.
public struct Encodings {
    public var mu: Matrix
    public var logvar: Matrix
    /// Spike probabilities (VSC only).
    public var gamma: Matrix?
    public var count: Int { mu.rows }
    public var latent: Int { mu.columns }

    /// γ ⊙ μ (VSC) or μ (β-VAE): the latents correlated with the sources.
    public var posteriorMeans: Matrix { Eval.posteriorMeans(mu: mu, gamma: gamma) }

    /// Whether dimension j is active for example i: γ > 0.5 (VSC), exp(logvar) < 0.5 (β-VAE).
    public func isActive(_ i: Int, _ j: Int) -> Bool {
        if let gamma { return gamma[i, j] > 0.5 }
        return exp(Double(logvar[i, j])) < 0.5
    }
    public func activeSet(_ i: Int) -> [Int] { (0..<latent).filter { isActive(i, $0) } }

    /// The deterministic code decoded for example i: μ on its active dims and 0 elsewhere (VSC:
    /// the spikes thresholded at 0.5), μ (β-VAE).
    public func code(_ i: Int) -> [Float] {
        (0..<latent).map { j in gamma == nil || isActive(i, j) ? mu[i, j] : 0 }
    }

    /// Per-dimension spread of the code over the examples where the dimension is active (the
    /// scale of traversals and conditional samples); 1 where it cannot be estimated.
    public func codeSpread() -> [Float] {
        (0..<latent).map { j in
            let v = (0..<count).filter { isActive($0, j) }.map { Double(mu[$0, j]) }
            guard v.count >= 2 else { return 1 }
            let m = v.reduce(0, +) / Double(v.count)
            let sd = (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
            return sd > 1e-3 ? Float(sd) : 1
        }
    }
}

/// The test ELBO estimate, per example in nats.
public struct ELBOEstimate: Codable, Equatable {
    /// −(recon + kl).
    public var elbo: Double
    /// Negative log-likelihood E_q[−log p(x|z)] (L-sample estimate).
    public var recon: Double
    /// Prior term (VSC: the selection-weighted spike-and-slab KL; β-VAE: KL to N(0, I), unweighted).
    public var kl: Double
    /// VSC's sparsity term at the same settings (not part of the ELBO; 0 for β-VAE).
    public var sparsity: Double
    public var samples: Int
    public var lambda: Double
    public var c: Double
}

/// Runs a trained model's encode, decode and train graphs on any backend, in batches.
public final class ModelRunner {
    public let trained: TrainedModel
    public let backend: BackendFactory
    /// The batch size of the encode and train programs.
    public let batchSize: Int
    var programs: [String: Program] = [:]

    /// Rewrites each graph before the backend gets it (as `TrainOptions.optimize` does for
    /// training): the default pass pipeline, so eval runs the fused kernels training ran.
    public let optimize: ((Graph) throws -> Graph)?

    public init(_ trained: TrainedModel, backend: @escaping BackendFactory, batchSize: Int = 500,
                optimize: ((Graph) throws -> Graph)? = { try PassManager.default.run($0).graph }) {
        self.trained = trained; self.backend = backend; self.batchSize = max(1, batchSize); self.optimize = optimize
    }

    var spec: ModelSpec { trained.spec }

    /// The program of `kind` ("encode", "decode", "train") at `batch`, built once, parameters set.
    func program(_ kind: String, batch: Int) throws -> Program {
        let key = "\(kind)/\(batch)"
        if let p = programs[key] { return p }
        let m = trained.model
        let g: Graph
        switch kind {
        case "encode": g = try m.encodeGraph(batch: batch)
        case "decode": g = try m.decodeGraph(batch: batch)
        default: g = try m.trainGraph(batch: batch)
        }
        let p = try backend(try optimize?(g) ?? g)
        for (name, id) in p.graph.parameters {
            guard let v = trained.parameters[name] else {
                throw EvalError("the checkpoint has no tensor \"\(name)\" (a parameter of the \(kind) graph of \(spec.name))")
            }
            guard v.count == p.graph[id].elementCount else {
                throw EvalError("checkpoint tensor \"\(name)\" holds \(v.count) values, the \(kind) graph expects \(p.graph[id].shape)")
            }
            try p.set(name, v)
        }
        programs[key] = p
        return p
    }

    /// Encodes `n` examples (`x` holds n × inputDim values), in batches (the last one padded).
    public func encode(_ x: [Float], count n: Int) throws -> Encodings {
        let d = spec.inputDim, J = spec.latent
        precondition(x.count == n * d)
        let B = min(batchSize, max(n, 1))
        let p = try program("encode", batch: B)
        var mu = [Float](), lv = [Float](), gamma = [Float]()
        mu.reserveCapacity(n * J); lv.reserveCapacity(n * J)
        try runBatched(p, input: GraphNames.x, values: x, rowSize: d, batch: B) { k in
            mu += try out(p, "mu").prefix(k * J)
            lv += try out(p, "logvar").prefix(k * J)
            if spec.kind.facts.hasSpikes { gamma += try out(p, "gamma").prefix(k * J) }
        }
        return Encodings(mu: Matrix(rows: n, columns: J, values: mu), logvar: Matrix(rows: n, columns: J, values: lv),
                         gamma: spec.kind.facts.hasSpikes ? Matrix(rows: n, columns: J, values: gamma) : nil)
    }

    /// Decodes latent codes (`z` holds rows × J values) into likelihood means (rows × inputDim).
    public func decode(_ z: [Float]) throws -> [Float] {
        let J = spec.latent, d = spec.inputDim
        precondition(z.count % J == 0)
        let n = z.count / J
        let B = min(64, max(n, 1))
        let p = try program("decode", batch: B)
        var out = [Float]()
        try runBatched(p, input: "z", values: z, rowSize: J, batch: B) { k in
            out += try self.out(p, "xmean").prefix(k * d)
        }
        return out
    }

    /// The test ELBO with `samples` noise draws per example, λ = 1 and the final c, in nats per
    /// example: the train graph's batch means, weighted by batch size (the remainder batch gets
    /// its own program). The noise keys lie far from the training steps'.
    public func elbo(_ x: [Float], count n: Int, samples: Int = 1) throws -> ELBOEstimate {
        let d = spec.inputDim
        let c = schedule(spec, iteration: max(0, trained.totalIterations - 1)).c
        let B = min(batchSize, max(n, 1))
        var recon = 0.0, kl = 0.0, sparsity = 0.0
        let batches = (n + B - 1) / B
        for l in 0..<max(1, samples) {
            var start = 0, b = 0
            while start < n {
                let k = min(B, n - start)
                let p = try program("train", batch: k)
                try p.set(GraphNames.x, Array(x[start * d..<(start + k) * d]))
                if p.buffer(GraphNames.lambda) != nil { try p.set(GraphNames.lambda, scalar: 1) }
                for w in [GraphNames.regulariserWeight, GraphNames.sparsityWeight] where p.buffer(w) != nil { try p.set(w, scalar: 1) }
                if p.buffer(GraphNames.c) != nil { try p.set(GraphNames.c, scalar: Float(c)) }
                if p.buffer(GraphNames.step) != nil { try p.set(GraphNames.step, scalar: Float(4_000_000 + l * batches + b)) }
                try p.run()
                let r = Double(try out(p, "recon")[0]), q = Double(try out(p, "kl")[0])
                guard r.isFinite && q.isFinite else { throw nonFiniteELBO(x, from: start, count: k, recon: r, kl: q) }
                recon += r * Double(k)
                kl += q * Double(k)
                sparsity += Double(try out(p, "sparsity")[0]) * Double(k)
                start += k; b += 1
            }
        }
        let total = Double(n * max(1, samples))
        recon /= total; kl /= total; sparsity /= total
        return ELBOEstimate(elbo: -(recon + kl), recon: recon, kl: kl, sparsity: sparsity,
                            samples: max(1, samples), lambda: 1, c: c)
    }

    /// The error for a batch whose ELBO terms are not finite: it names the examples and the two
    /// usual causes, the largest parameter and the data's range, rather than printing "nan".
    func nonFiniteELBO(_ x: [Float], from start: Int, count k: Int, recon: Double, kl: Double) -> EvalError {
        let d = spec.inputDim
        let rows = x[start * d..<(start + k) * d]
        let big = trained.parameters.map { ($0.key, $0.value.lazy.map { Swift.abs($0) }.max() ?? 0) }.max { $0.1 < $1.1 }
        return EvalError("the test ELBO is not finite on examples \(start)…\(start + k - 1) (recon \(recon), KL \(kl)):"
                         + " the largest parameter magnitude is \(big.map { "\($0.1) (\"\($0.0)\")" } ?? "–"),"
                         + " the data's values lie in [\(rows.min() ?? 0), \(rows.max() ?? 0)]; a trained model and data in the"
                         + " training set's range give a finite ELBO")
    }

    /// Feeds `values` (rows of `rowSize`) to `p`'s `input` in batches of `batch` rows, padding
    /// the last batch with zeros, runs it, and hands each batch's real row count to `body`.
    func runBatched(_ p: Program, input: String, values: [Float], rowSize: Int, batch: Int,
                    _ body: (Int) throws -> Void) throws {
        let n = values.count / rowSize
        var start = 0
        while start < n {
            let k = min(batch, n - start)
            var chunk = Array(values[start * rowSize..<(start + k) * rowSize])
            if k < batch { chunk += [Float](repeating: 0, count: (batch - k) * rowSize) }
            try p.set(input, chunk)
            try p.run()
            try body(k)
            start += k
        }
    }

    func out(_ p: Program, _ name: String) throws -> UnsafeBufferPointer<Float> {
        guard let o = p.output(name) else { throw EvalError("the \(spec.name) program has no output \"\(name)\"") }
        return o
    }
}

// MARK: The report

public struct EvalOptions {
    /// Where report.json and the PNGs go (created if missing).
    public var outDir: String
    /// Noise draws per test example for the ELBO.
    public var samples: Int = 1
    /// Batch size of the encode and train programs.
    public var batchSize: Int = 500
    /// Seed of the figures' random draws (conditional generation).
    public var seed: UInt64 = 0
    /// Write the PNGs.
    public var figures: Bool = true
    /// Recorded in the report.
    public var backendName: String = "jit"
    public var checkpointPath: String = ""
    public init(outDir: String, samples: Int = 1, batchSize: Int = 500, seed: UInt64 = 0, figures: Bool = true,
                backendName: String = "jit", checkpointPath: String = "") {
        self.outDir = outDir; self.samples = samples; self.batchSize = batchSize; self.seed = seed
        self.figures = figures; self.backendName = backendName; self.checkpointPath = checkpointPath
    }
}

/// Everything `vsc eval` measures; written as report.json (snake_case keys).
public struct EvalReport: Codable {
    public struct Active: Codable {
        /// How "active" is decided.
        public var criterion: String
        public var count: Int
        public var indices: [Int]
        /// Mean over test examples of the number of dims active for that example (and min/max).
        public var perExampleMean: Double
        public var perExampleMin: Int
        public var perExampleMax: Int
        /// Dims active for more than 99 % of the test examples (`ActiveDimensions.alwaysOn`).
        public var alwaysOn: [Int]
    }
    public struct SourceScore: Codable {
        public var source: String
        public var bestLatent: Int
        public var best: Float
        public var secondBest: Float
    }
    /// A sources × latents |corr| metric: the masked posterior mean (`disentanglement`), the
    /// authors' fig. 3 metric (`paper_metric`, A) or the emitted-code metric (`emitted_code_metric`, B).
    public struct Disentanglement: Codable {
        /// Which metric, and how it is computed.
        public var metric: String
        /// What was correlated.
        public var latents: String
        public var meanBestAbsCorr: Double
        public var meanGap: Double
        public var perSource: [SourceScore]
        public var sources: [String]
        /// |corr|, sources × latents in latent index order.
        public var matrix: [[Float]]
        /// The figure's column order (latent indices).
        public var columnOrder: [Int]
        public var examplesPerSource: [Int]
        /// (A) only: the c and the seed of the spike-and-slab sample correlated (λ = 1).
        public var sampleC: Double? = nil
        public var sampleSeed: UInt64? = nil
    }
    public struct AttributeScore: Codable {
        public var attribute: String
        /// The latent whose indicator correlates most with the attribute's presence flag.
        public var bestLatent: Int
        /// Whether that latent is among the active dims.
        public var bestLatentActive: Bool
        public var bestAbsCorr: Float
        /// The signed corr of that latent: negative means it codes the attribute's absence.
        public var signedCorr: Float
        /// "presence" or "absence" (the sign in words).
        public var codes: String
    }
    /// (C): presence recovery.
    public struct PresenceRecovery: Codable {
        public var metric: String
        /// What is correlated with each 0/1 presence flag (γ or |μ|).
        public var indicator: String
        /// Mean over attributes of the best |corr|.
        public var meanBestAbsCorr: Double
        public var perAttribute: [AttributeScore]
        public var attributes: [String]
        /// Signed corr, attributes × latents in latent index order.
        public var matrix: [[Float]]
        /// Pearson corr(number of attributes present, number of dims active) over the test examples.
        public var activeVsAttributesCorr: Double
    }
    public struct SpikeMap: Codable {
        public var quantity: String
        public var rows: [String]
        public var matrix: [[Float]]
    }
    public var checkpoint: String
    public var specName: String
    public var modelKind: String
    public var iteration: Int?
    public var latentDim: Int
    public var data: String
    public var testExamples: Int
    public var backend: String
    public var elbo: ELBOEstimate
    public var activeDims: Active
    /// The project's original metric, the "masked posterior mean": |corr| of γ⊙μ (VSC) or μ with
    /// each source over the examples where its attribute is present (kept for comparability).
    public var disentanglement: Disentanglement?
    /// (A) the authors' fig. 3 metric: |corr(|S·V|, |z sample|)| over all examples, λ = 1.
    public var paperMetric: Disentanglement?
    /// (B) the masked metric on the emitted code (1[γ > 0.5]·μ or μ), active dims only.
    public var emittedCodeMetric: Disentanglement?
    /// (C) presence recovery and corr(#present, #active).
    public var presenceRecovery: PresenceRecovery?
    public var spikeMap: SpikeMap?
    /// PNG file name → what it shows.
    public var figures: [String: String]
    public var seconds: Double
}

/// Evaluates `trained` on `test`: ELBO, encodings, active dims, |corr| (Smiley), spike map
/// (labelled data or Smiley attributes), figures; writes `outDir/report.json` and the PNGs.
public func evaluate(_ trained: TrainedModel, test: Dataset, backend: @escaping BackendFactory,
                     options: EvalOptions, log: (String) -> Void = { _ in }) throws -> EvalReport {
    let t0 = Date()
    let spec = trained.spec
    guard test.count > 0 else { throw EvalError("the test set \"\(test.name)\" is empty") }
    guard test.dim == spec.inputDim else {
        throw EvalError("the test set \"\(test.name)\" has \(test.dim) features per example, the model \"\(spec.name)\" expects \(spec.inputDim)")
    }
    try FileManager.default.createDirectory(atPath: options.outDir, withIntermediateDirectories: true)
    let runner = ModelRunner(trained, backend: backend, batchSize: options.batchSize)

    log("test ELBO (\(options.samples) sample\(options.samples == 1 ? "" : "s")) on \(test.count) examples…")
    let elbo = try runner.elbo(test.x, count: test.count, samples: options.samples)
    log("encoding…")
    let enc = try runner.encode(test.x, count: test.count)

    let facts = spec.kind.facts
    let act = enc.gamma.map { activeDimensions(gamma: $0) } ?? activeDimensions(logvar: enc.logvar)
    let active = EvalReport.Active(criterion: facts.activeCriterion, count: act.count, indices: act.indices,
                                   perExampleMean: act.perExampleMean, perExampleMin: act.perExample.min() ?? 0,
                                   perExampleMax: act.perExample.max() ?? 0, alwaysOn: act.alwaysOn)

    var figures: [String: String] = [:]
    let kind = facts.name
    let header = "\(spec.name) (\(kind)), J=\(spec.latent), iteration \(trained.iteration.map(String.init) ?? "?")"
    func save(_ c: Canvas, _ name: String, _ what: String) throws {
        guard options.figures else { return }
        try c.write(to: options.outDir + "/" + name)
        figures[name] = what
    }

    // |corr| between sources and latents (Smiley): the masked posterior mean (the project's
    // original metric), (A) the authors' fig. 3 metric, (B) the masked metric on the emitted code.
    var dis: EvalReport.Disentanglement?, paper: EvalReport.Disentanglement?, emitted: EvalReport.Disentanglement?
    let inactive = Set(0..<spec.latent).subtracting(act.indices)
    if let src = test.sources, let pres = test.presence, test.sourcesPerExample == SmileyAttribute.sourceCount,
       test.presencePerExample == SmileyAttribute.allCases.count {
        let S = SmileyAttribute.sourceCount, A = SmileyAttribute.allCases.count
        let sources = Matrix(rows: test.count, columns: S, values: src)
        let mask = sourcePresence(flags: pres, attributes: A, attributeOfSource: SmileyAttribute.attributeOfSource.map(\.rawValue))
        let names = SmileyAttribute.allSourceNames
        let presentPerSource = (0..<S).map { s in mask.filter { $0[s] }.count }
        func entry(_ corr: Matrix, metric: String, latents: String, examples: [Int]) -> EvalReport.Disentanglement {
            let score = disentanglementScore(corr)
            return EvalReport.Disentanglement(
                metric: metric, latents: latents, meanBestAbsCorr: score.meanBest, meanGap: score.meanGap,
                perSource: (0..<S).map { .init(source: names[$0], bestLatent: score.bestLatent[$0], best: score.best[$0], secondBest: score.secondBest[$0]) },
                sources: names, matrix: corr.nested, columnOrder: groupingPermutation(corr), examplesPerSource: examples)
        }
        func figure(_ d: EvalReport.Disentanglement, _ corr: Matrix, _ what: String) -> Canvas {
            correlationFigure(corr, sourceNames: names, order: d.columnOrder, inactive: inactive,
                              groupEnds: SmileyAttribute.allCases.map(\.sourceRange.upperBound),
                              title: [what, header + ", \(test.count) test images",
                                      "mean best |corr| \(format2(d.meanBestAbsCorr)), mean gap \(format2(d.meanGap)), active dims \(act.count)"])
        }

        let corr = absoluteCorrelation(sources: sources, latents: enc.posteriorMeans, present: mask)
        dis = entry(corr, metric: "masked posterior mean: |corr(source, latent)| over the examples where the source's attribute is present",
                    latents: facts.posteriorMean.report, examples: presentPerSource)

        // (A): one sample at λ = 1 and the run's final c, as the authors' encode returns it.
        let c = schedule(spec, iteration: max(0, trained.totalIterations - 1)).c
        let z = spikeAndSlabSample(mu: enc.mu, logvar: enc.logvar, gamma: enc.gamma, c: c, seed: options.seed)
        let corrA = authorsCorrelation(sources: sources, present: mask, sample: z)
        var a = entry(corrA, metric: "authors' fig. 3: |corr(|S*V|, |z|)| over all test examples (no mask), S*V = source x presence (absent -> 0)",
                      latents: facts.sample,
                      examples: [Int](repeating: test.count, count: S))
        if facts.hasSpikes { a.sampleC = c }
        a.sampleSeed = options.seed
        paper = a

        // (B): the masked metric on the code the decoder sees, switched-off dims zeroed.
        let corrB = emittedCodeCorrelation(sources: sources, present: mask, mu: enc.mu, gamma: enc.gamma, active: act.indices)
        let b = entry(corrB, metric: "emitted code: |corr(source, latent)| over the examples where the source's attribute is present, active dims only (inactive columns 0)",
                      latents: facts.emittedCode.report, examples: presentPerSource)
        emitted = b

        let zText = facts.hasSpikes ? "one sample z, λ = 1, c = \(format2(c))" : "one sample z"
        try save(figure(a, corrA, "(A) authors' fig. 3 metric: |corr(|S*V|, |z|)|, \(zText), all examples"),
                 "correlation.png", "(A) the authors' fig. 3 metric: |corr(|S·V|, |z|)| between the 18 Smiley sources times their attribute's presence (rows, grouped by attribute) and one spike-and-slab sample of the code at λ = 1 (columns, permuted to group each latent with its best source; labels are latent indices, grey: inactive), over all test examples")
        try save(figure(b, corrB, "(B) emitted code |corr|: \(facts.emittedCode.short), active dims only, each source where present"),
                 "correlation-emitted.png", "(B) |corr| between the 18 Smiley sources (rows) and the emitted code (\(facts.emittedCode.short)) on the active dims (columns, grouped by best source; inactive dims are 0), each source over the examples where its attribute is present")
    }

    // (C) presence recovery: which latent tells whether each attribute is there, and its sign.
    var presenceScore: EvalReport.PresenceRecovery?
    if let pres = test.presence, test.presencePerExample == SmileyAttribute.allCases.count {
        let A = SmileyAttribute.allCases.count
        let r = presenceRecovery(presence: pres, attributes: A, indicators: presenceIndicators(mu: enc.mu, gamma: enc.gamma))
        let activeCorr = activeVsAttributesCorrelation(presentCount: presentAttributeCounts(presence: pres, attributes: A),
                                                       activeCount: act.perExample)
        presenceScore = .init(
            metric: "presence recovery: per attribute, max over latents of |corr(presence flag 0/1, indicator)|, with the signed corr of that latent",
            indicator: facts.presenceIndicator,
            meanBestAbsCorr: r.meanBest,
            perAttribute: SmileyAttribute.allCases.map { a in
                let k = a.rawValue
                return .init(attribute: a.name, bestLatent: r.bestLatent[k], bestLatentActive: !inactive.contains(r.bestLatent[k]),
                             bestAbsCorr: r.best[k], signedCorr: r.signedBest[k], codes: r.signedBest[k] < 0 ? "absence" : "presence")
            },
            attributes: SmileyAttribute.allCases.map(\.name), matrix: r.signed.nested, activeVsAttributesCorr: activeCorr)
    }

    // Spike map: per class (labelled data) or per attribute present/absent (Smiley).
    var spikeMap: EvalReport.SpikeMap?
    let activity: Matrix = enc.gamma ?? Matrix(rows: enc.count, columns: enc.latent,
                                               values: enc.logvar.values.map { exp(Double($0)) < 0.5 ? 1 : 0 })
    let (quantity, legend, activityTitle) = facts.activity
    if let labels = test.labels {
        let k = max((labels.max() ?? -1) + 1, test.classNames?.count ?? 0)
        let names = (0..<k).map { i in test.classNames.flatMap { i < $0.count ? $0[i] : nil } ?? "class \(i)" }
        let m = classMeans(activity, labels: labels, classes: k)
        spikeMap = .init(quantity: quantity + " per class", rows: names, matrix: m.nested)
        try save(spikeMapFigure(m, classNames: names, title: ["\(activityTitle) per class (black 0, white 1)", header + ", \(test.count) test examples"], legend: legend),
                 "spike-map.png", "\(quantity) per class (rows) and latent dimension (columns) (fig. 5)")
    } else if let pres = test.presence, test.presencePerExample == SmileyAttribute.allCases.count {
        var rows: [String] = [], labels = [Int](repeating: -1, count: test.count)
        var m = Matrix(rows: 0, columns: enc.latent)
        for a in SmileyAttribute.allCases {
            for present in [true, false] {
                for i in 0..<test.count { labels[i] = pres[i * 4 + a.rawValue] == present ? 0 : -1 }
                let r = classMeans(activity, labels: labels, classes: 1)
                m = Matrix(rows: m.rows + 1, columns: m.columns, values: m.values + r.values)
                rows.append((present ? "with " : "no ") + a.name)
            }
        }
        spikeMap = .init(quantity: quantity + " over the examples with / without each attribute", rows: rows, matrix: m.nested)
        try save(spikeMapFigure(m, classNames: rows, title: ["\(activityTitle) with / without each attribute", header + ", \(test.count) test images"], legend: legend),
                 "spike-map.png", "\(quantity) over the examples with and without each Smiley attribute (rows) per latent dimension (columns) (fig. 5 analogue)")
    }

    if options.figures, let shape = test.imageShape {
        log("figures…")
        let gen = GenerationFigures(runner: runner, test: test, enc: enc, h: shape.h, w: shape.w, header: header, seed: options.seed)
        try save(try gen.reconstructions(), "reconstructions.png", "test inputs (top row) and their reconstructions (bottom row): the decoder mean of the posterior code")
        try save(try gen.conditional(), "conditional.png", "conditional generation (fig. 6): each row encodes one test example and samples only along its active dimensions")
        try save(try gen.traversal(), "traversal.png", "toggling and traversal (fig. 7): two examples A and B; single shared active dims varied; dims active in one but not the other switched off / on")
    }

    let report = EvalReport(checkpoint: options.checkpointPath, specName: spec.name, modelKind: kind,
                            iteration: trained.iteration, latentDim: spec.latent, data: test.name,
                            testExamples: test.count, backend: options.backendName, elbo: elbo,
                            activeDims: active, disentanglement: dis, paperMetric: paper, emittedCodeMetric: emitted,
                            presenceRecovery: presenceScore, spikeMap: spikeMap, figures: figures,
                            seconds: Date().timeIntervalSince(t0))
    try writeReport(report, to: options.outDir + "/report.json")
    return report
}

/// Writes the report as pretty, key-sorted JSON with snake_case keys (non-finite numbers as strings).
public func writeReport(_ report: EvalReport, to path: String) throws {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    e.keyEncodingStrategy = .convertToSnakeCase
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    try e.encode(report).write(to: URL(fileURLWithPath: path))
}
