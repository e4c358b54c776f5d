import ArgumentParser
import Foundation
import Passes
import Plot
import Train

/// `--backend` for the commands that train and evaluate (`vsc ir run` keeps the interpreter as
/// its default and has its own).
struct BackendOption: ParsableArguments {
    @Option(help: "Backend: jit (LLVM, fast) or interp (reference interpreter over OpenBLAS).") var backend: Backend = .jit

    /// The backend as a program factory. The trainer (TrainOptions.optimize) and eval
    /// (ModelRunner.optimize) run the pass pipeline; the JIT compiles what it is given rather
    /// than optimising a second time.
    var factory: BackendFactory {
        let b = backend
        return { try makeProgram($0, backend: b, pipeline: nil) }
    }
}

/// The pass pipeline and its dumps, shared by `vsc compile`, `vsc ir opt` and `vsc train`.
struct PipelineOptions: ParsableArguments {
    @Option(help: "Pass pipeline, comma-separated ('none' for none).") var passes: String = PassManager.defaultPipeline
    @Option(name: .customLong("dump-ir-after"), parsing: .singleValue,
            help: "Dump the IR after this pass (a pass name, or 'all') to stderr; repeatable.")
    var dumpIRAfter: [String] = []
    @Flag(help: "Print node, executable-node, byte, peak-memory and FLOP counts after every pass.") var passStats = false

    static var knownPasses: String { Pass.registry.keys.sorted().joined(separator: ", ") }

    func validate() throws {
        if passes != "none" {
            do { _ = try PassManager.parsePipeline(passes) } catch let e as PassError { throw ValidationError("--passes: \(e.message)") }
        }
        for d in dumpIRAfter where d != "all" && Pass.registry[d] == nil && !Pass.registry.values.contains(where: { $0.title == d }) {
            throw ValidationError("--dump-ir-after: unknown pass '\(d)' (known: all, \(Self.knownPasses))")
        }
    }

    /// The pass manager these options describe ('none': no passes), dumping to stderr.
    func passManager() throws -> PassManager {
        var pm = passes == "none" ? PassManager([]) : try PassManager(pipeline: passes)
        pm.dumpIRAfter = Set(dumpIRAfter)
        pm.collectStats = passStats
        pm.dumpHandler = { FileHandle.standardError.write(Data(($0.hasSuffix("\n") ? $0 : $0 + "\n").utf8)) }
        return pm
    }
}

/// `--figure-format`, shared by `vsc eval` and `vsc plot`: which files each figure is written as.
struct FigureFormatOption: ParsableArguments {
    @Option(help: "Figure files, comma-separated: png (for looking), svg and/or pdf (vector, for papers).")
    var figureFormat: String = "png,svg"

    func validate() throws {
        if case .failure(let e) = FigureFormat.parseList(figureFormat) { throw ValidationError("--figure-format: \(e.description)") }
    }

    /// The formats, in the order given (validated).
    var formats: [FigureFormat] { (try? FigureFormat.parseList(figureFormat).get()) ?? [.png] }
}
