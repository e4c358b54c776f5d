import ArgumentParser
import Foundation
import IR
import Passes

extension IRCommand {
    /// `vsc ir opt FILE [--passes LIST] [--dump-ir-after=NAME|all] [--pass-stats] [--train-step --loss NAME]`
    struct Opt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Optimise an IR file through a pass pipeline; print the optimised IR.",
            discussion: """
                The optimised IR goes to stdout. Dumps (--dump-ir-after, each headed \
                '// IR Dump After <Pass> (<name>)' and valid IR text) and statistics (--pass-stats, \
                lines starting with '//') go to stderr, so stdout stays one parseable graph. \
                Passes: \(Pass.registry.keys.sorted().joined(separator: ", ")). \
                The IR is verified after every pass; an error names the pass that broke it.

                Examples:
                  vsc ir opt Samples/ir/mlp.ir --dump-ir-after=all --pass-stats
                  vsc ir opt Samples/ir/mlp.ir --train-step --loss loss --dump-to dumps/
                """)

        @Argument(help: "The IR file.") var file: String
        @OptionGroup var pipeline: PipelineOptions
        @Flag(help: "Dump only after passes that changed the IR.") var dumpOnlyIfChanged = false
        @Option(help: "Also write each dump to DIR/NN-<pass>.ir (XLA's --xla_dump_to).") var dumpTo: String?
        @Flag(help: "Print the memory plan (arena offsets, liveness) of the optimised graph to stderr.")
        var memoryPlan = false
        @Flag(help: "Check print → parse → print after every pass.") var verifyRoundtrip = false
        @Flag(help: "First build the training step (forward + backward + Adam) for --loss.") var trainStep = false
        @Option(help: "With --train-step: the output to minimise.") var loss: String = "loss"

        func run() throws {
            var g = try loadIR(file)
            if trainStep {
                do { g = try buildTrainStep(g, loss: loss, optimizer: .adam()) }
                catch { throw CLIError("\(file): error: building the train step: \(error)") }
            }
            var pm: PassManager
            do { pm = try pipeline.passManager() } catch { throw CLIError("--passes: \(error)") }
            pm.dumpOnlyIfChanged = dumpOnlyIfChanged
            pm.verifyRoundTrip = verifyRoundtrip
            let result: PassManager.Result
            do { result = try pm.run(g) } catch { throw CLIError("\(file): \(error)") }
            if let dir = dumpTo {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for (k, d) in result.dumps.enumerated() {
                    let name = String(format: "%02d-%@.ir", k + 1, d.pass)
                    try d.text.write(toFile: (dir as NSString).appendingPathComponent(name), atomically: true, encoding: .utf8)
                }
            }
            if pipeline.passStats {
                FileHandle.standardError.write(Data(PassManager.formatStats(result.stats).utf8))
            }
            if memoryPlan {
                FileHandle.standardError.write(Data(PlanMemory.describe(PlanMemory.plan(result.graph), result.graph).utf8))
            }
            print(IRPrinter.print(result.graph), terminator: "")
        }
    }
}
