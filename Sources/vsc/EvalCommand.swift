import ArgumentParser
import Data
import Eval
import Foundation
import Models
import Train

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint: test ELBO, active dims, |corr| with the Smiley sources, spike maps, figures.",
        discussion: """
            Writes DIR/report.json and figures, each as NAME.png and NAME.svg (or the formats \
            --figure-format names): correlation (Smiley: the authors' fig. 3 \
            metric (A), |corr(|S·V|, |z|)| between the 18 sources times presence and one \
            spike-and-slab sample at λ = 1, over all examples), correlation-emitted (B: |corr| \
            of the emitted code 1[γ > 0.5]·μ, or μ, on the active dims with each source where its \
            attribute is present), presence (C: signed corr of each attribute's presence with each \
            latent's γ or |μ|), spike-map (mean spike probability \
            per class, or with/without each Smiley attribute, fig. 5), reconstructions, \
            conditional (fig. 6) and traversal (fig. 7) for image data. The test ELBO uses \
            the train graph with λ = 1 and the final c, in nats per example. The spec comes from \
            the checkpoint's metadata unless --spec is given; the test set is the spec's unless \
            --data names another (fashion-mnist, har:DIR, smiley:N, a data set file). \
            On Smiley, report.json holds four metrics for every model: disentanglement (the masked \
            posterior mean: γ⊙μ or μ, each source where present), paper_metric (A), \
            emitted_code_metric (B; for VSC also unmasked_mean_gap, the same with μ in place of \
            1[γ > 0.5]·μ: close to the masked gap, a low gap comes from sources sharing dimensions, \
            not from switched-off ones) and presence_recovery (C: per attribute, the latent whose γ, \
            or |μ|, best tells presence, with its sign; corr(#present, #active); and the sources \
            present per example, to set against the active dims per example). --probe \
            (labelled data) fits a multinomial logistic regression on the training split's codes \
            (γ⊙μ or μ) and scores it on the test set's: linear_probe in report.json.

            Examples:
              vsc eval runs/tiny
              vsc eval --checkpoint runs/tiny/checkpoint.safetensors --no-figures
              vsc eval runs/fashion --probe --no-figures
            """)

    @OptionGroup var checkpointOption: CheckpointOption
    @Option(help: "The model spec (default: the YAML stored in the checkpoint).") var spec: String?
    @Option(help: "Test data name (default: the spec's test set).") var data: String?
    @Option(help: "Output folder (default: the checkpoint's folder + /eval).") var out: String?
    @Option(help: "Noise samples per test example for the ELBO.") var samples: Int = 1
    @Option(help: "Use only the first N test examples.") var count: Int?
    @OptionGroup var backendOption: BackendOption
    @OptionGroup var batchSizeOption: BatchSizeOption
    @Option(help: "Seed of the figures' random draws and of metric (A)'s code sample.") var seed: UInt64 = 0
    @OptionGroup var figureFormatOption: FigureFormatOption
    @Flag(help: "Fit a linear probe (multinomial logistic regression) on the codes of the labelled training split and score it on the test set's: accuracy and per-class accuracy.")
    var probe = false
    @Flag(help: "Skip the figures.") var noFigures = false
    @Flag(help: "No progress messages.") var quiet = false

    func validate() throws {
        if samples < 1 { throw ValidationError("--samples must be ≥ 1, got \(samples)") }
        if let n = count, n < 1 { throw ValidationError("--count must be ≥ 1, got \(n)") }
    }

    func run() throws {
        let checkpoint = checkpointOption.path
        let batchSize = batchSizeOption.value ?? 500
        let backend = backendOption.backend.rawValue
        let t0 = Date()
        let trained: TrainedModel
        do {
            let override = try spec.map { try readSpec($0).0 }
            trained = try TrainedModel.load(checkpoint: checkpoint, spec: override)
        } catch let e as CheckpointError { throw CLIError(e.description) }
        catch let e as EvalError { throw CLIError(e.description) }

        let factory = try backendOption.factory(for: trained.spec)
        var test: Dataset
        var probeTrain: Dataset?
        do {
            if let name = data {
                test = try DataSource.load(name, split: .test)
                if probe { probeTrain = try DataSource.load(name, split: .train) }
            } else {
                let both = try loadSpecData(trained.spec)
                test = both.test
                if probe { probeTrain = both.train }
            }
        } catch { throw CLIError("\(error)") }
        if probe && (test.labels == nil || probeTrain?.labels == nil) {
            throw CLIError("error: --probe needs a labelled data set (fashion-mnist, har); \(test.name) has no class labels")
        }
        if let n = count { test = test.prefix(n) }
        let outDir = out ?? (URL(fileURLWithPath: checkpoint).deletingLastPathComponent().path + "/eval")
        log("vsc eval: \(trained.spec.name) (\(trained.spec.kind.facts.name)) at iteration \(trained.iteration.map(String.init) ?? "?") on \(test.name): \(test.count) examples; backend \(backendOption.describe(spec: trained.spec)); data \(String(format: "%.1f", Date().timeIntervalSince(t0))) s")

        let report: EvalReport
        var options = EvalOptions(outDir: outDir, samples: samples, batchSize: batchSize, seed: seed,
                                  figures: !noFigures, figureFormats: figureFormatOption.formats, backendName: backend, checkpointPath: checkpoint)
        options.probeTrain = probeTrain
        do {
            report = try evaluate(trained, test: test, backend: factory, options: options, log: { log("  " + $0) })
        } catch let e as EvalError { throw CLIError(e.description) }

        func f(_ v: Double) -> String { String(format: "%.3f", v) }
        let facts = trained.spec.kind.facts
        let e = report.elbo
        var rows: [(String, String)] = [
            ("model", "\(report.specName) (\(report.modelKind)), J = \(report.latentDim), iteration \(report.iteration.map(String.init) ?? "?")"),
            ("test set", "\(report.data), \(report.testExamples) examples"),
            ("test ELBO (nats/example)", "\(f(e.elbo))  (recon \(f(e.recon)), KL \(f(e.kl)); L = \(e.samples)" + (facts.hasSpikes ? ", λ = 1, c = \(f(e.c)))" : ")")),
            ("active dims", "\(report.activeDims.count) of \(report.latentDim)  [\(report.activeDims.indices.map(String.init).joined(separator: " "))]"),
            ("active dims per example", "\(f(report.activeDims.perExampleMean)) mean (min \(report.activeDims.perExampleMin), max \(report.activeDims.perExampleMax))"),
            ("always on (> 99 %)", "\(report.activeDims.alwaysOn.count)  [\(report.activeDims.alwaysOn.map(String.init).joined(separator: " "))]"),
        ]
        func bestGap(_ d: EvalReport.Disentanglement) -> String { "best \(f(d.meanBestAbsCorr)) gap \(f(d.meanGap))" }
        if let d = report.disentanglement {
            rows.append(("masked posterior mean |corr|", bestGap(d) + "  (\(facts.posteriorMean.short), each source where present)"))
        }
        if let d = report.paperMetric {
            rows.append(("(A) authors' |corr(|S·V|, |z|)|", bestGap(d) + "  (one sample z" + (d.sampleC.map { ", λ = 1, c = \(f($0))" } ?? "") + ", all examples)"))
        }
        if let d = report.emittedCodeMetric {
            rows.append(("(B) emitted-code |corr|", bestGap(d) + "  (\(facts.emittedCode.short), active dims, each source where present)"))
            if let best = d.unmaskedMeanBestAbsCorr, let gap = d.unmaskedMeanGap {
                rows.append(("  without the spike mask", "best \(f(best)) gap \(f(gap))  (μ on the same active dims)"))
            }
        }
        if let p = report.presenceRecovery {
            let per = p.perAttribute.map { "\($0.attribute) \($0.signedCorr < 0 ? "-" : "+")\(f(Double($0.bestAbsCorr))) (dim \($0.bestLatent)\($0.bestLatentActive ? "" : ", inactive"))" }
            rows.append(("(C) presence recovery", "best \(f(p.meanBestAbsCorr))  [" + per.joined(separator: ", ") + "]; corr(#present, #active) \(f(p.activeVsAttributesCorr))"))
            rows.append(("sources present per example", "\(f(p.sourcesPresentPerExample)) against \(f(report.activeDims.perExampleMean)) active dims per example"))
        }
        if let p = report.linearProbe {
            let per = zip(p.classNames, p.perClassAccuracy).map { "\($0) \($1.map { String(format: "%.1f", 100 * $0) } ?? "–")" }
            rows.append(("linear probe accuracy", String(format: "%.2f %%", 100 * p.accuracy)
                         + String(format: "  (train %.2f %%, majority class %.2f %%; fit on %d training codes, ", 100 * p.trainAccuracy, 100 * p.majorityBaseline, p.trainExamples)
                         + p.features + ")"))
            rows.append(("  per class (%)", per.joined(separator: ", ")))
        }
        rows.append(("report", outDir + "/report.json"))
        for name in report.figures.keys.sorted() { rows.append(("figure", outDir + "/" + name)) }
        rows.append(("time", String(format: "%.1f s", report.seconds)))
        let w = rows.map(\.0.count).max() ?? 0
        for (k, v) in rows { print(k.padding(toLength: w, withPad: " ", startingAt: 0) + "  " + v) }
    }

    func log(_ s: String) { if !quiet { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) } }
}
