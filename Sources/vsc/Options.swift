import ArgumentParser
import Data
import Foundation
import JIT
import Passes
import Plot
import Train

// The CLI's one vocabulary: an option that means the same thing in several commands is declared
// once here, as an `@OptionGroup`, so its name, type, help and validation cannot drift apart.
// Old spellings stay accepted as hidden aliases (`--batch`, `--steps`, `--backends`).

/// `--backend` for the commands that train and evaluate (`vsc ir run` keeps the interpreter as
/// its default and has its own).
struct BackendOption: ParsableArguments {
    @Option(help: "Backend: jit (LLVM, fast) or interp (reference interpreter over OpenBLAS).") var backend: Backend = .jit
    @OptionGroup var gemmOption: GEMMOption

    /// The backend as a program factory. The trainer (TrainOptions.optimize) and eval
    /// (ModelRunner.optimize) run the pass pipeline; the JIT compiles what it is given rather
    /// than optimising a second time.
    var factory: BackendFactory {
        let b = backend, gemm = gemmOption.kernel
        return { try makeProgram($0, backend: b, pipeline: nil, gemm: gemm) }
    }
}

/// `--gemm jit|blas`: what computes the JIT backend's matmuls (the interpreter always calls
/// OpenBLAS). Shared by `--backend`'s commands and `vsc bench`.
struct GEMMOption: ParsableArguments {
    @Option(help: ArgumentHelp("The JIT's matmuls: jit (its own AVX-512 GEMM, emitted per shape) or blas (OpenBLAS). "
                               + "Default: jit when LLVM reports avx512f for this CPU, else blas (here: \(GEMMKernel.hostDefault.rawValue)).",
                               valueName: "jit|blas"))
    var gemm: GEMMKernel?

    /// The choice, or the host's default.
    var kernel: GEMMKernel { gemm ?? .hostDefault }
}

extension GEMMKernel: ExpressibleByArgument {}

/// `--batch-size N` (examples per step) for every command that builds a graph at a batch size.
/// The default is the caller's (usually the spec's), so the value is optional here.
struct BatchSizeOption: ParsableArguments {
    @Option(help: "Examples per batch (default: the spec's, or as stated by the command).") var batchSize: Int?
    /// The spelling `compile`, `bench` and `gradcheck` used before the vocabulary was unified.
    @Option(name: .customLong("batch"), help: .hidden) var batchAlias: Int?

    /// The batch size given, under either spelling.
    var value: Int? { batchSize ?? batchAlias }

    func validate() throws {
        if batchSize != nil && batchAlias != nil { throw ValidationError("give --batch-size once (--batch is its old spelling)") }
        if let b = value, b < 1 { throw ValidationError("--batch-size must be ≥ 1, got \(b)") }
    }
}

/// `--split train|test` for the commands that read one split of a named data set.
struct SplitOption: ParsableArguments {
    @Option(help: "Split for data names with a train/test split.") var split: DataSplit = .train
}

extension DataSplit: ExpressibleByArgument {}

/// The pass pipeline and its dumps, shared by `vsc compile`, `vsc ir opt`, `vsc ir dot` and `vsc train`.
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

/// The trained model a command reads: a run folder (`vsc eval runs/NAME`, its
/// checkpoint.safetensors) or `--checkpoint FILE`, for `eval`, `encode` and `decode`.
struct CheckpointOption: ParsableArguments {
    @Argument(help: ArgumentHelp("A run folder written by 'vsc train' (its checkpoint.safetensors), or a checkpoint file.", valueName: "run"))
    var runFolder: String?
    @Option(help: "The checkpoint (safetensors written by 'vsc train'); the same as giving it as RUN.") var checkpoint: String?

    func validate() throws {
        if runFolder == nil && checkpoint == nil { throw ValidationError("give a run folder (runs/NAME) or --checkpoint FILE") }
        if runFolder != nil && checkpoint != nil { throw ValidationError("give a run folder or --checkpoint, not both") }
    }

    /// The checkpoint file: RUN/checkpoint.safetensors for a folder, a file as given.
    var path: String { Self.checkpointPath(runFolder ?? checkpoint!) }

    static func checkpointPath(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return path }
        return RunFiles.checkpoint(in: path)
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
