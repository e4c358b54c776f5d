// Evaluation of a trained model: test ELBO, encodings, metrics, figures and report.json.

import Data
import Foundation
import IR
import Passes
import Plot
import Models
import Runtime
import Train

/// Evaluates `trained` on `test`: ELBO, encodings, active dims, |corr| (Smiley), spike map
/// (labelled data or Smiley attributes), figures; writes `outDir/report.json` and the figures (each in every format of `options.figureFormats`).
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
    /// Writes `name`.png / .svg / .pdf (as asked) and records each file in the report.
    func save(_ d: @autoclosure () throws -> Drawing, _ name: String, _ what: String) throws {
        guard options.figures else { return }
        do {
            for file in try d().write(to: options.outDir + "/" + name, formats: options.figureFormats) { figures[file] = what }
        } catch let e as PlotError { throw EvalError(e.description) }
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
        func figure(_ d: EvalReport.Disentanglement, _ corr: Matrix, _ what: String) -> Drawing {
            correlationFigure([CorrelationPanel(matrix: corr, order: d.columnOrder, inactive: inactive)], sourceNames: names,
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
        var b = entry(corrB, metric: "emitted code: |corr(source, latent)| over the examples where the source's attribute is present, active dims only (inactive columns 0)",
                      latents: facts.emittedCode.report, examples: presentPerSource)
        if enc.gamma != nil {
            let unmasked = disentanglementScore(emittedCodeCorrelation(sources: sources, present: mask, mu: enc.mu, gamma: nil, active: act.indices))
            b.unmaskedMeanBestAbsCorr = unmasked.meanBest
            b.unmaskedMeanGap = unmasked.meanGap
        }
        emitted = b

        let zText = facts.hasSpikes ? "one sample z, λ = 1, c = \(format2(c))" : "one sample z"
        try save(figure(a, corrA, "(A) authors' fig. 3 metric: |corr(|S*V|, |z|)|, \(zText), all examples"),
                 "correlation", "(A) the authors' fig. 3 metric: |corr(|S·V|, |z|)| between the 18 Smiley sources times their attribute's presence (rows, grouped by attribute) and one spike-and-slab sample of the code at λ = 1 (columns, permuted to group each latent with its best source; labels are latent indices, grey: inactive), over all test examples")
        try save(figure(b, corrB, "(B) emitted code |corr|: \(facts.emittedCode.short), active dims only, each source where present"),
                 "correlation-emitted", "(B) |corr| between the 18 Smiley sources (rows) and the emitted code (\(facts.emittedCode.short)) on the active dims (columns, grouped by best source; inactive dims are 0), each source over the examples where its attribute is present")
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
            attributes: SmileyAttribute.allCases.map(\.name), matrix: r.signed.nested, activeVsAttributesCorr: activeCorr,
            sourcesPresentPerExample: sourcesPresentPerExample(presence: pres, sourcesPerAttribute: SmileyAttribute.allCases.map(\.sourceRange.count)))
        try save(signedCorrelationFigure(r.signed, rowNames: SmileyAttribute.allCases.map(\.name), rowTitle: "attribute",
                                         title: ["(C) presence recovery: corr(presence flag, \(facts.presenceIndicator))", header + ", \(test.count) test images",
                                                 "red: the latent marks the attribute's presence, blue: its absence; best |corr| \(format2(r.meanBest))"],
                                         legend: "corr"),
                 "presence", "(C) presence recovery: signed corr between each Smiley attribute's presence flag (rows) and each latent's indicator (\(facts.presenceIndicator)) (columns), blue −1 to red +1")
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
                 "spike-map", "\(quantity) per class (rows) and latent dimension (columns) (fig. 5)")
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
                 "spike-map", "\(quantity) over the examples with and without each Smiley attribute (rows) per latent dimension (columns) (fig. 5 analogue)")
    }

    if options.figures, let shape = test.imageShape {
        log("figures…")
        let gen = GenerationFigures(runner: runner, test: test, enc: enc, h: shape.h, w: shape.w, header: header, seed: options.seed)
        try save(try gen.reconstructions(), "reconstructions", "test inputs (top row) and their reconstructions (bottom row): the decoder mean of the posterior code")
        try save(try gen.conditional(), "conditional", "conditional generation (fig. 6): each row encodes one test example and samples only along its active dimensions")
        try save(try gen.traversal(), "traversal", "toggling and traversal (fig. 7): two examples A and B; single shared active dims varied; dims active in one but not the other switched off / on")
    }

    // The linear probe: a logistic regression on the training split's codes, scored on the test set's.
    var probe: LinearProbeReport?
    if let train = options.probeTrain {
        guard let testLabels = test.labels, let trainLabels = train.labels else {
            throw EvalError("the linear probe needs class labels: \(test.labels == nil ? test.name : train.name) has none")
        }
        guard train.dim == spec.inputDim, train.count > 0 else {
            throw EvalError("the probe's training set \"\(train.name)\" has \(train.count) examples of \(train.dim) features, the model expects \(spec.inputDim)")
        }
        log("linear probe: encoding \(train.count) training examples…")
        let trainCodes = try runner.encode(train.x, count: train.count).posteriorMeans
        probe = linearProbe(train: trainCodes, trainLabels: trainLabels, test: enc.posteriorMeans, testLabels: testLabels,
                            classNames: test.classNames ?? train.classNames ?? [], features: facts.posteriorMean.report)
    }

    var report = EvalReport(checkpoint: options.checkpointPath, specName: spec.name, modelKind: kind,
                            iteration: trained.iteration, latentDim: spec.latent, data: test.name,
                            testExamples: test.count, backend: options.backendName, elbo: elbo,
                            activeDims: active, disentanglement: dis, paperMetric: paper, emittedCodeMetric: emitted,
                            presenceRecovery: presenceScore, spikeMap: spikeMap, figures: figures,
                            seconds: Date().timeIntervalSince(t0))
    report.linearProbe = probe
    try writeReport(report, to: options.outDir + "/report.json")
    return report
}
