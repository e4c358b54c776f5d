import ArgumentParser
import Foundation
import IR
import Models
import Passes
import Train

/// What `vsc ir dot --render` asks Graphviz's `dot` for.
enum RenderFormat: String, ExpressibleByArgument, CaseIterable {
    case svg, png
}

extension IRCommand {
    /// `vsc ir dot FILE | --spec SPEC`: the graph as Graphviz DOT, optionally rendered.
    struct Dot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draw an IR file or a spec's train step as a Graphviz graph (DOT, SVG or PNG).",
            discussion: """
                Every node is a box labelled with its id, op, type and location (the layer and the \
                YAML or Swift line: `enc.h0 · vsc.yaml:11`); fused kernels and GEMM epilogues are \
                clusters holding their body nodes; parameters are blue, inputs green, the loss \
                output red. The graph is the one after the pass pipeline (--passes none: as \
                written), or after the one pass --dump-ir-after names. With --spec: the model's train \
                graph (the loss and its terms), or with --train-step the whole step (forward, \
                backward, Adam: thousands of boxes, wider than a PNG can be; prefer --render svg). \
                --render runs Graphviz's `dot` (Debian package graphviz; .ci/setup installs it).

                Examples:
                  vsc ir dot Samples/ir/mlp.ir --passes none -o mlp.dot
                  vsc ir dot --spec Samples/vsc-smiley-tiny.yaml --render png -o tiny.png
                  vsc ir dot Samples/ir/mlp.ir --dump-ir-after=cse --render svg -o mlp.svg
                """)

        @Argument(help: "The IR file (or give --spec).") var file: String?
        @Option(help: "A model spec (YAML) instead of an IR file: draws its train graph.") var spec: String?
        @OptionGroup var batchSizeOption: BatchSizeOption
        @Flag(help: "With --spec: the whole training step (forward, backward, Adam update).") var trainStep = false
        @OptionGroup var pipeline: PipelineOptions
        @Option(help: "Render with Graphviz's dot to this format (needs --out).") var render: RenderFormat?
        @Option(name: [.short, .long], help: "Output file (default: the DOT text to stdout).") var out: String?
        @Flag(help: "Leave the locations out of the labels.") var noLocations = false

        func validate() throws {
            if (file == nil) == (spec == nil) { throw ValidationError("give an IR file or --spec SPEC (one of them)") }
            if trainStep && spec == nil { throw ValidationError("--train-step draws a spec's training step: give --spec") }
            if render != nil && out == nil { throw ValidationError("--render \(render!.rawValue) writes a file: give --out FILE") }
            if pipeline.dumpIRAfter.count > 1 || pipeline.dumpIRAfter.contains("all") {
                throw ValidationError("--dump-ir-after: ir dot draws one stage; name one pass")
            }
        }

        func run() throws {
            let graph = try stage(try source())
            let text = DotPrinter.print(graph, locations: !noLocations)
            guard let out else { print(text, terminator: ""); return }
            guard let format = render else {
                try text.write(toFile: out, atomically: true, encoding: .utf8)
                return
            }
            try runDot(text, arguments: ["-T\(format.rawValue)", "-o", out])
        }

        /// The graph before the pipeline: the IR file, or the spec's train step (or train graph).
        func source() throws -> Graph {
            if let file { return try loadIR(file) }
            let (s, _) = try readSpec(spec!)
            let model = try makeModel(s)
            let batch = batchSizeOption.value ?? s.batchSize
            do { return trainStep ? try model.trainStepGraph(batch: batch) : try model.trainGraph(batch: batch) }
            catch let e as IRError { throw CLIError("\(spec!): \(e)") }
        }

        /// The graph after the pipeline, or after the one pass --dump-ir-after names.
        func stage(_ g: Graph) throws -> Graph {
            var pm: PassManager
            do { pm = try pipeline.passManager() } catch let e as PassError { throw CLIError(e.message) }
            pm.dumpIRAfter = []
            if let stop = pipeline.dumpIRAfter.first {
                guard let k = pm.passes.firstIndex(where: { $0.name == stop || $0.title == stop }) else {
                    throw CLIError("--dump-ir-after: '\(stop)' is not in the pipeline '\(pipeline.passes)'")
                }
                pm.passes = Array(pm.passes[...k])
            }
            do {
                let result = try pm.run(g)
                if pipeline.passStats { FileHandle.standardError.write(Data(PassManager.formatStats(result.stats).utf8)) }
                return result.graph
            } catch let e as PassError { throw CLIError(e) }
        }
    }
}

/// Graphviz's `dot` on PATH, if installed.
var dotExecutable: String? {
    let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return searchPath.split(separator: ":").map { "\($0)/dot" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Runs Graphviz's `dot ARGUMENTS` on `text` (`-Tpng -o FILE`); a clear error if `dot` is
/// missing or refuses the text.
func runDot(_ text: String, arguments: [String]) throws {
    guard let dot = dotExecutable else {
        throw CLIError("--render: Graphviz's `dot` is not on PATH (Debian: apt-get install graphviz, or bash .ci/setup); without --render, -o writes the DOT text")
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: dot)
    p.arguments = arguments
    let stdin = Pipe(), stderr = Pipe()
    p.standardInput = stdin
    p.standardError = stderr
    try p.run()
    stdin.fileHandleForWriting.write(Data(text.utf8))
    try stdin.fileHandleForWriting.close()
    let message = stderr.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw CLIError("--render: dot exited with status \(p.terminationStatus): \(String(decoding: message, as: UTF8.self))")
    }
}
