import ArgumentParser
import IR
import Models
import Runtime

/// `vsc gradcheck FILE`: the symbolic gradient against central finite differences in Float64.
struct GradCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradcheck",
        abstract: "Check symbolic gradients against central finite differences (Float64).",
        discussion: """
            Parameters and inputs get seeded random values (as `vsc ir run`). For every parameter \
            the loss depends on, each element (or a seeded sample of --max-elements of them) is \
            moved by ±epsilon. Relative error = |a − n| / max(|a|, |n|, 1e-3·max(1, |loss|)). \
            Prints the worst relative error per parameter; exits non-zero above --tolerance.

            Examples:
              vsc gradcheck Samples/ir/mlp.ir
              vsc gradcheck --spec Samples/vsc-smiley-tiny.yaml --batch-size 4
            """)

    @Argument(help: "The IR file.") var file: String?
    @Option(help: "A model spec (YAML) instead of an IR file: checks its training loss with λ = 1 and the noise fixed (step 7), at a small batch.")
    var spec: String?
    @OptionGroup var batchSizeOption: BatchSizeOption
    /// With --spec: a small batch keeps the Float64 finite differences quick.
    var batch: Int { batchSizeOption.value ?? 4 }
    @Option(help: "The output to check.") var loss: String = "loss"
    @Option(help: "Seed for the parameter/input values and the element sample.") var seed: UInt64 = 0
    @Option(name: .customLong("max-elements"), help: "Check at most N seeded elements per parameter (default: all).")
    var maxElements: Int?
    @Option(help: "Largest acceptable relative error.") var tolerance: Double = 1e-6
    @Option(help: "Finite-difference step.") var epsilon: Double = 1e-6

    func validate() throws {
        if file == nil && spec == nil { throw ValidationError("give an IR file (or --spec FILE)") }
        if file != nil && spec != nil { throw ValidationError("give an IR file or --spec, not both") }
        if let m = maxElements, m < 1 { throw ValidationError("--max-elements must be at least 1") }
    }

    func run() throws {
        let path = file ?? spec!
        let g: Graph
        var feeds: [String: [Double]]
        if let spec {
            let (s, _) = try readSpec(spec)
            let model = try makeModel(s)
            g = try model.trainGraph(batch: batch)
            feeds = seededFeeds(g, seed: seed)
            for (k, v) in model.initialParameters(seed: seed) {
                // Biases off zero, so no ReLU sits exactly at its kink at initialisation.
                feeds[k] = v.enumerated().map { i, x in Double(x) + (k.hasSuffix(".b") ? 0.05 + 0.1 * CounterRNG.uniform(base: 3, UInt32(i)) : 0) }
            }
            // Data in [0, 1] like the model's inputs; λ = 1 (the full objective), noise fixed.
            feeds[GraphNames.x] = (0..<(batch * s.inputDim)).map { CounterRNG.uniform(base: UInt32(truncatingIfNeeded: seed) &+ 11, UInt32($0)) }
            for f in scalarFeeds(ScheduleValues(lambda: 1, c: 50, learningRate: 0), iteration: 7, datasetSize: 1000)
            where g.leaf(named: f.name) != nil { feeds[f.name] = [f.value] }
        } else {
            g = try loadIR(path)
            feeds = seededFeeds(g, seed: seed)
        }
        let report: GradCheckReport
        do {
            report = try gradCheck(graph: g, loss: loss, feeds: feeds,
                                   maxElementsPerParameter: maxElements ?? (spec == nil ? nil : 12), seed: seed, epsilon: epsilon)
        } catch let e as IRError { throw CLIError("\(path): \(e)") }
        print("gradcheck @\(g.name): loss \"\(loss)\" = \(report.loss), epsilon \(epsilon), tolerance \(tolerance)")
        print(report, terminator: "")
        let bad = report.parameters.filter { !($0.worstRelativeError <= tolerance) }
        if report.parameters.isEmpty {
            print("no parameter reaches the loss: nothing to check")
        } else if bad.isEmpty {
            print("ok: worst relative error \(report.worst) <= \(tolerance)")
        } else {
            throw CLIError("error: gradient check failed for \(bad.map(\.name).joined(separator: ", ")): worst relative error \(report.worst) > \(tolerance)")
        }
    }
}
