import ArgumentParser

/// `vsc`: the command-line front of the VSC graph compiler.
@main
struct VSC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vsc",
        abstract: "A graph compiler for Variational Sparse Coding: IR tools, training, evaluation, benchmarks.",
        subcommands: [IRCommand.self, GradCheckCommand.self, DataCommand.self, TrainCommand.self,
                      CompileCommand.self, EvalCommand.self, PlotCommand.self, ExperimentCommand.self, BenchCommand.self])
}
