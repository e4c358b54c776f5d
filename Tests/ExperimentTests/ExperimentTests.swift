import Foundation
import Testing
@testable import Experiment
import Models
import Runtime
import Train

/// The repository's Samples folder (tests run from any directory).
let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Samples").path

func temporaryFolder(_ tag: String) -> String {
    let d = NSTemporaryDirectory() + "vsc-exp-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

func options(_ dir: String) -> ExperimentRunOptions {
    var o = ExperimentRunOptions(outDir: dir, backend: { InterpreterProgram($0) }, backendName: "interp")
    o.showTrainingProgress = false
    o.log = { _ in }
    return o
}

@Suite struct ExperimentFileTests {
    @Test func theTinyGridIsTwoByTwoByTwo() throws {
        let e = try loadExperiment(path: samples + "/experiments/tiny.yaml")
        #expect(e.cells.count == 8)
        #expect(e.gridKeys == ["kind", "latent", "seed"])
        #expect(e.cells[0].id == "kind-vsc_latent-4_seed-1")
        let vae = try #require(e.cells.first { $0.value("kind") == "vae" && $0.value("latent") == "6" && $0.value("seed") == "2" })
        #expect(vae.spec.kind == .vae(beta: 1) && vae.spec.latent == 6 && vae.spec.seed == 2 && vae.spec.iterations == 8)
        #expect(vae.spec.data.count == 200 && vae.spec.hidden == [16])
        // The cell's spec text reproduces the cell: it parses to the same spec.
        #expect(try parseSpec(yaml: vae.specText, defaultName: "x") == vae.spec)
    }

    @Test func everySampleExperimentParsesWithEveryVariant() throws {
        let dir = samples + "/experiments"
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) where f.hasSuffix(".yaml") {
            let e = try loadExperiment(path: dir + "/" + f)
            #expect(!e.cells.isEmpty, "\(f)")
            for v in e.variants { #expect(!(try loadExperiment(path: dir + "/" + f, variant: v)).cells.isEmpty, "\(f) variant \(v)") }
        }
    }

    func refused(_ yaml: String, variant: String? = nil) -> SpecError? {
        do { _ = try parseExperiment(yaml: yaml, file: samples + "/experiments/t.yaml", variant: variant); return nil }
        catch let e as SpecError { return e } catch { return nil }
    }

    /// Bad input names the file, the line and the key; the spec parser judges grid values.
    @Test func errorsNameFileLineAndKey() throws {
        let head = "base: ../vsc-smiley-tiny.yaml\n"
        let unknown = try #require(refused(head + "grid:\n  prior.alpah: [0.1]\n"))
        #expect(unknown.file.hasSuffix("t.yaml") && unknown.line == 3 && unknown.key == "grid.prior.alpah")
        #expect(unknown.message.contains("unknown key") && unknown.message.contains("alpha"))
        let bad = try #require(refused(head + "grid:\n  prior.alpha: [0.1,\n    1.5]\n"))
        #expect(bad.line == 4 && bad.key == "grid.prior.alpha" && bad.message.contains("must be in (0, 1)"))
        let notList = try #require(refused(head + "grid:\n  latent: 4\n"))
        #expect(notList.line == 3 && notList.key == "grid.latent" && notList.message.contains("list"))
        let top = try #require(refused(head + "gird: {latent: [4]}\n"))
        #expect(top.line == 2 && top.key == "gird")
        let eval = try #require(refused(head + "evaluations: [elbo, fid]\n"))
        #expect(eval.line == 2 && eval.key == "evaluations" && eval.message.contains("fid"))
        let variant = try #require(refused(head + "variants: {budget: {iterations: 5}}\n", variant: "bugdet"))
        #expect(variant.key == "variants" && variant.message.contains("budget"))
        let kind = try #require(refused("base: {vsc: ../vsc-smiley-tiny.yaml}\ngrid: {kind: [vsc, vae]}\n"))
        #expect(kind.line == 2 && kind.key == "kind" && kind.message.contains("no base spec for kind \"vae\""))
        let budget = try #require(refused(head + "iterations: -3\n"))
        #expect(budget.line == 2 && budget.key == "iterations")
    }

    @Test func aVariantOverridesTheBudgetAndMergesSet() throws {
        let yaml = "base: ../vsc-smiley-tiny.yaml\nset: {latent: 5, batch_size: 8}\niterations: 100\ngrid: {seed: [1, 2, 3]}\nvariants:\n  budget: {iterations: 7, set: {latent: 3}, grid: {seed: [4]}}\n"
        let full = try parseExperiment(yaml: yaml, file: samples + "/experiments/t.yaml")
        #expect(full.cells.count == 3 && full.cells.allSatisfy { $0.spec.iterations == 100 && $0.spec.latent == 5 })
        let b = try parseExperiment(yaml: yaml, file: samples + "/experiments/t.yaml", variant: "budget")
        #expect(b.cells.count == 1 && b.cells[0].spec.iterations == 7 && b.cells[0].spec.latent == 3 && b.cells[0].spec.batchSize == 8 && b.cells[0].spec.seed == 4)
    }

    /// A list of grids is the union of their products (fig. 1: α for VSC, β for the β-VAE).
    @Test func aListOfGridsIsTheUnionOfTheirProducts() throws {
        let yaml = "base: {vsc: ../vsc-smiley-tiny.yaml, vae: ../betavae-smiley-tiny.yaml}\ngrid:\n  - {kind: [vsc], prior.alpha: [0.1, 0.5], seed: [1, 2]}\n  - {kind: [vae], beta: [1, 4], seed: [1, 2]}\n"
        let e = try parseExperiment(yaml: yaml, file: samples + "/experiments/t.yaml")
        #expect(e.cells.count == 8 && e.gridKeys == ["kind", "prior.alpha", "seed", "beta"])
        #expect(e.cells.filter { $0.spec.isVSC }.map(\.spec.prior.alpha) == [0.1, 0.1, 0.5, 0.5])
        #expect(e.cells.filter { !$0.spec.isVSC }.map(\.spec.beta) == [1, 1, 4, 4])
    }
}

@Suite(.serialized) struct ExperimentRunTests {
    /// CI runs the tiny experiment end to end; a run killed mid-grid (here: stopped inside the 4th
    /// cell's training, with its checkpoint) resumes: the 3 finished cells are skipped, the 4th
    /// continues from its checkpoint, and the results equal an uninterrupted run's.
    @Test func aKilledRunResumesSkippingFinishedCellsWithTheSameResults() throws {
        let e = try loadExperiment(path: samples + "/experiments/tiny.yaml")
        let perCell = e.cells[0].spec.iterations

        let whole = temporaryFolder("whole")
        let all = try runExperiment(e, options: options(whole))
        #expect(all.finished.count == 8 && all.skipped.isEmpty && all.complete)
        let report = try writeExperimentReport(dir: whole, formats: [.png])
        #expect(report.cellsDone == 8 && report.files.contains("results.csv") && report.files.contains("results.md"))
        #expect(report.files.contains("correlation-grid.png") && report.files.contains("elbo-vs-latent.png"))
        let csv = try String(contentsOfFile: whole + "/results.csv", encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 9)

        let killed = temporaryFolder("killed")
        var steps = 0
        var o = options(killed)
        // The run polls once before each cell and once after each iteration: this stops the 4th
        // cell halfway through its training.
        o.stopRequested = { steps += 1; return steps == 3 * (perCell + 1) + 1 + perCell / 2 ? SIGINT : nil }
        let first = try runExperiment(e, options: o)
        #expect(first.finished.count == 3 && first.interruptedBy == SIGINT && !first.complete)
        let fourth = ExperimentFolder.cell(killed, e.cells[3].id)
        #expect(FileManager.default.fileExists(atPath: fourth + "/checkpoint.safetensors"))
        #expect(!FileManager.default.fileExists(atPath: ExperimentFolder.done(fourth)))
        let trained = try Checkpoint.load(path: fourth + "/checkpoint.safetensors").metadata["iteration"]
        #expect(trained == String(perCell / 2))

        let second = try runExperiment(e, options: options(killed))
        #expect(second.skipped == e.cells.prefix(3).map(\.id))
        #expect(second.finished == e.cells.dropFirst(3).map(\.id) && second.complete)
        _ = try writeExperimentReport(dir: killed, formats: [.png])
        #expect(try String(contentsOfFile: killed + "/results.csv", encoding: .utf8) == csv)

        // A third run does nothing.
        let third = try runExperiment(e, options: options(killed))
        #expect(third.finished.isEmpty && third.skipped.count == 8)
    }

    /// A cell started with another spec is refused, not mixed into the results.
    @Test func aCellWithAnotherSpecIsRefused() throws {
        let yaml = "base: ../vsc-smiley-tiny.yaml\nset: {data.count: 60, data.test_count: 20, hidden: [8], batch_size: 10}\niterations: 3\ngrid: {latent: [2]}\n"
        let dir = temporaryFolder("changed")
        _ = try runExperiment(try parseExperiment(yaml: yaml, file: samples + "/experiments/t.yaml"), options: options(dir))
        let changed = yaml.replacingOccurrences(of: "iterations: 3", with: "iterations: 4")
        let cellDir = ExperimentFolder.cell(dir, "latent-2")
        try FileManager.default.removeItem(atPath: ExperimentFolder.done(cellDir))
        #expect { _ = try runExperiment(try parseExperiment(yaml: changed, file: samples + "/experiments/t.yaml"), options: options(dir)) } throws: { e in
            "\(e)".contains(cellDir + "/spec.yaml") && "\(e)".contains("another spec")
        }
    }
}
