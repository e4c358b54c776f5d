import ArgumentParser
import Foundation
import JIT

/// `vsc`: the command-line front of the VSC graph compiler.
@main
struct VSC: ParsableCommand {
    /// `vsc --version`. Bumped when the CLI, the IR text or the checkpoint layout changes.
    static let version = "0.18.0"

    static let configuration = CommandConfiguration(
        commandName: "vsc",
        abstract: "A graph compiler for Variational Sparse Coding: IR tools, training, evaluation, benchmarks.",
        discussion: """
            Examples:
              vsc train --spec Samples/vsc-smiley-tiny.yaml --out runs/tiny
              vsc eval runs/tiny
              vsc ir dot --spec Samples/vsc-smiley-tiny.yaml --render png -o tiny.png

            Compiled programs are kept in ~/.cache/vsc/jit (VSC_JIT_CACHE=DIR to move it,
            VSC_JIT_CACHE=off for none): running the same spec again skips LLVM.
            """,
        version: version,
        subcommands: [IRCommand.self, GradCheckCommand.self, DataCommand.self, TrainCommand.self,
                      CompileCommand.self, EvalCommand.self, PlotCommand.self, ExperimentCommand.self, EncodeCommand.self, DecodeCommand.self, BenchCommand.self])

    /// Parses and runs like ArgumentParser's `main()`, except that a `CLIError` is printed as it
    /// is: it already reads `FILE:LINE:COL: error: …` or `error: …`, and ArgumentParser's own
    /// "Error: " in front of it would read `Error: error: …`.
    static func main() {
        // Compiled programs are kept on disk (VSC_JIT_CACHE=off turns it off): a second run of
        // the same spec links its train step in milliseconds instead of compiling it again.
        JITProgram.useObjectCache(JITObjectCache.fromEnvironment())
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let e as CLIError {
            FileHandle.standardError.write(Data((e.message + "\n").utf8))
            Foundation.exit(EXIT_FAILURE)
        } catch {
            exit(withError: error)
        }
    }
}
