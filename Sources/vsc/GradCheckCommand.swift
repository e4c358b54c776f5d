import ArgumentParser
import IR
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
            """)

    @Argument(help: "The IR file.") var file: String?
    // TODO(models): `--spec FILE` builds the model's loss graph from a spec (Sources/Models) and
    // checks that instead of an IR file. Wire it here once Models exposes a graph builder:
    //   let g = try <Models builder>(spec: spec); then proceed exactly as for an IR file.
    @Option(help: "A model spec (YAML) instead of an IR file (not available yet).") var spec: String?
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
        if let spec {
            throw CLIError("\(spec): error: --spec is not available yet (model specs cannot be differentiated from the CLI yet); export the model's graph as IR and check that")
        }
        let path = file!
        let g = try loadIR(path)
        let report: GradCheckReport
        do {
            report = try gradCheck(graph: g, loss: loss, feeds: seededFeeds(g, seed: seed),
                                   maxElementsPerParameter: maxElements, seed: seed, epsilon: epsilon)
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
