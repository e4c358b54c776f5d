import Data
import Models
import Runtime
import Foundation
import Plot
import Testing
import Train
@testable import Eval

/// The paper's figures: what they say (titles, axis labels, tick labels) and that their labels stay
/// legible (no two text boxes overlap, none leaves the page). Rendering is PlotTests' business.
@Suite struct PaperFigureTests {
    func expectLegible(_ d: Drawing, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(d.overlappingTexts.isEmpty, "overlapping: \(d.overlappingTexts.prefix(3))", sourceLocation: sourceLocation)
        #expect(d.textsOffPage.isEmpty, "off the page: \(d.textsOffPage.prefix(3))", sourceLocation: sourceLocation)
    }

    func corr(_ latents: Int) -> Matrix {
        Matrix(rows: 18, columns: latents, values: (0..<(18 * latents)).map { Float(($0 * 7) % 13) / 12 })
    }

    @Test func correlationFigureWith18SourcesAnd300Latents() {
        let names = SmileyAttribute.allSourceNames
        let order = Array((0..<300).reversed())
        let d = correlationFigure([CorrelationPanel(matrix: corr(300), order: order, inactive: [299, 3])], sourceNames: names,
                                  groupEnds: [3, 8, 14], title: ["(A) authors' fig. 3 metric: |corr(|S·V|, |z|)|, λ = 1", "vsc (vsc), J=300"])
        let texts = d.texts.map(\.text)
        for t in ["(A) authors' fig. 3 metric: |corr(|S·V|, |z|)|, λ = 1", "vsc (vsc), J=300", "source", "|corr|",
                  "latent dimension, grouped by best source (grey: inactive)", "0.0", "1.0"] + names {
            #expect(texts.contains(t), "missing \(t)")
        }
        // Column labels are latent indices in the panel's order; the first column is latent 299, inactive → grey.
        let first = d.texts.first { $0.text == "299" }
        #expect(first?.color == Color.grey)
        expectLegible(d)
    }

    @Test func correlationGridOfPanels() {
        let panels = [0.1, 0.5, 1.0].map { a in CorrelationPanel(matrix: corr(10), order: Array(0..<10), title: "α = \(a)") }
        let d = correlationFigure(panels, sourceNames: SmileyAttribute.allSourceNames, groupEnds: [3, 8, 14],
                                  title: ["Fig. 9: |corr| for three α"], columns: 2)
        for t in ["α = 0.1", "α = 0.5", "α = 1.0"] { #expect(d.texts.contains { $0.text == t }) }
        let one = correlationFigure([panels[0]], sourceNames: SmileyAttribute.allSourceNames, groupEnds: [], title: ["x"])
        #expect(d.size.width > 1.8 * (one.size.width - 28) && d.size.height > 1.8 * (one.size.height - 28 - 20))
        expectLegible(d)
    }

    @Test func spikeMapNamesEveryClass() {
        let classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
        let m = Matrix(rows: 10, columns: 200, values: (0..<2000).map { Float($0 % 5) / 4 })
        let d = spikeMapFigure(m, classNames: classes, title: ["Mean spike probability γ per class"])
        for t in classes + ["latent dimension", "class", "mean spike probability", "Mean spike probability γ per class"] {
            #expect(d.texts.contains { $0.text == t }, "missing \(t)")
        }
        expectLegible(d)
    }

    @Test func presenceFigureIsSignedAndDiverging() {
        let m = Matrix(rows: 4, columns: 6, values: (0..<24).map { Float($0 - 12) / 12 })
        let d = signedCorrelationFigure(m, rowNames: ["eyes", "mouth", "hat", "bowtie"], rowTitle: "attribute", title: ["(C)"])
        for t in ["−1", "0", "1", "attribute", "eyes", "bowtie"] { #expect(d.texts.contains { $0.text == t }, "missing \(t)") }
        expectLegible(d)
    }

    @Test func elboSweepHasErrorBarsPerModel() {
        let vsc = SweepSeries(name: "VSC", runs: [(0.1, [-30, -32, -31]), (0.5, [-25, -26, -24]), (1, [-24, -24.5, -23])])
        let vae = SweepSeries(name: "β-VAE", runs: [(0.1, [-40]), (0.5, [-35]), (1, [-36])])
        let d = elboSweepFigure([vsc, vae], parameter: "prior sparsity α", title: ["Fig. 1: test ELBO against α"])
        for t in ["prior sparsity α", "test ELBO (nats per example)", "VSC", "β-VAE", "Fig. 1: test ELBO against α"] {
            #expect(d.texts.contains { $0.text == t }, "missing \(t)")
        }
        // VSC's three points have error bars (a bar and two caps each); β-VAE's single seeds none.
        let segments = d.marks.filter { if case .line(let ps, _, let w, _) = $0 { return ps.count == 2 && w == 1.2 } else { return false } }
        #expect(segments.count == 9)
        #expect(meanAndDeviation([1, 2, 3]) == (2, 1))
        expectLegible(d)
    }

    @Test func runCurvesSplitLossTermsAndDiagnostics() throws {
        let text = (1...20).map { i in
            "{\"iteration\": \(i * 10), \"time\": \(Double(i) * 0.1), \"loss\": \(500.0 / Double(i)), \"recon\": \(400.0 / Double(i)), \"kl\": 3.5, \"elbo\": \(-500.0 / Double(i)), \"lambda\": 1.0, \"c\": 50.0, \"lr\": 0.001, \"it_per_s\": 30.0, \"active_dims\": \(i % 7)}"
        }.joined(separator: "\n")
        let log = try MetricsLog(text: text, path: "metrics.jsonl")
        let d = runCurvesFigure(log, title: ["Training curves: run"])
        let texts = d.texts.map(\.text)
        for t in ["Training loss terms (positive)", "Training loss terms (signed)", "Collapse diagnostics", "iteration", "loss", "recon", "kl", "elbo", "active_dims"] {
            #expect(texts.contains(t), "missing \(t)")
        }
        #expect(!texts.contains("lambda") && !texts.contains("it_per_s"))
        expectLegible(d)
    }

    @Test func format2Rounds() {
        #expect(format2(0.256) == "0.26")
        #expect(format2(1) == "1.00")
        #expect(format2(-0.05) == "-0.05")
    }
}

/// `evaluate` writes every figure in every asked format, and report.json lists each file.
@Suite struct EvaluateFigureFilesTests {
    @Test func everyFigureInEveryFormat() throws {
        let yaml = "name: tiny-smiley\nkind: vsc\ndata: {name: smiley, count: 40, test_count: 40}\ninput_dim: 1024\nhidden: [8]\nlatent: 4\nprior: {pseudo_inputs: 2}\nbatch_size: 8\n"
        let spec = try parseSpec(yaml: yaml)
        let model = try makeModel(spec)
        let trained = try TrainedModel(spec: spec, parameters: model.initialParameters(seed: 3))
        let test = try loadSpecData(spec).test
        let dir = NSTemporaryDirectory() + "vsc-eval-figures-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = try evaluate(trained, test: test, backend: { InterpreterProgram($0) },
                                  options: EvalOptions(outDir: dir, batchSize: 8, figureFormats: [.svg, .png]))
        let names = ["correlation", "correlation-emitted", "presence", "spike-map", "reconstructions", "conditional", "traversal"]
        #expect(Set(report.figures.keys) == Set(names.flatMap { ["\($0).png", "\($0).svg"] }))
        for file in report.figures.keys { #expect(FileManager.default.fileExists(atPath: dir + "/" + file), "\(file) missing") }
        let svg = try String(contentsOfFile: dir + "/correlation.svg", encoding: .utf8)
        #expect(svg.contains(">eyes.separation</text>") && svg.contains(">|corr|</text>"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/correlation.pdf"))
        // A spike-and-slab model's (B) carries its unmasked scores; the sources present are counted.
        #expect(report.emittedCodeMetric?.unmaskedMeanGap != nil && report.emittedCodeMetric?.unmaskedMeanBestAbsCorr != nil)
        let flags = try #require(test.presence)
        let sources = [3, 5, 6, 4]   // eyes, mouth, hat, bow tie (SMILEY.md)
        let present = stride(from: 0, to: flags.count, by: 4).map { i in sources.indices.reduce(0) { $0 + (flags[i + $1] ? sources[$1] : 0) } }
        #expect(report.presenceRecovery?.sourcesPresentPerExample == Double(present.reduce(0, +)) / Double(present.count))
    }
}
