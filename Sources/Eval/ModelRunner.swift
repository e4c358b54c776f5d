// Running a trained model's graphs in batches: encodings, decodings and the test ELBO.

import Data
import Foundation
import IR
import Passes
import Models
import Runtime
import Train

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
            mu += try out(p, GraphNames.mu).prefix(k * J)
            lv += try out(p, GraphNames.logvar).prefix(k * J)
            if spec.kind.facts.hasSpikes { gamma += try out(p, GraphNames.gamma).prefix(k * J) }
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
            out += try self.out(p, GraphNames.xmean).prefix(k * d)
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
                // The full objective (λ = 1, every weight 1) at the run's final c; fresh noise per batch.
                let sv = ScheduleValues(lambda: 1, c: c, learningRate: 0)
                for f in scalarFeeds(sv, iteration: 4_000_000 + l * batches + b, datasetSize: n) where p.buffer(f.name) != nil {
                    try p.set(f.name, scalar: Float(f.value))
                }
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
