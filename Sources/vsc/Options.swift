import ArgumentParser
import Data
import Foundation
import IR
import JIT
import Models
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
    @OptionGroup var precisionOption: PrecisionOption

    func validate() throws { try precisionOption.check(backend: backend, gemm: gemmOption.kernel) }

    /// The backend as a program factory for a model of `spec` (whose `precision` key applies
    /// unless --precision overrides it). The trainer (TrainOptions.optimize) and eval
    /// (ModelRunner.optimize) run the pass pipeline; the JIT compiles what it is given rather
    /// than optimising a second time. Throws when the precision cannot run (bf16 with
    /// --gemm blas, or on a CPU without AVX512_BF16), before any data is read or trained.
    func factory(for spec: ModelSpec?) throws -> BackendFactory {
        let b = backend, gemm = gemmOption.kernel, precision = precisionOption.resolved(spec: spec)
        if b == .jit, let reason = precision.unsupportedReason(gemm: gemm) { throw CLIError("error: " + reason) }
        return { try makeProgram($0, backend: b, pipeline: nil, gemm: gemm, precision: precision) }
    }

    /// "jit (GEMM: jit, bf16)" or "interp": what runs, for logs.
    func describe(spec: ModelSpec?) -> String {
        backend == .jit ? "jit (GEMM: \(gemmOption.kernel.rawValue), \(precisionOption.resolved(spec: spec).rawValue))" : backend.rawValue
    }
}

/// `--precision fp32|bf16`: the JIT's matmul operands (`MatmulPrecision`), overriding the spec's
/// `precision` key. Shared by `--backend`'s commands and `vsc bench`.
struct PrecisionOption: ParsableArguments {
    @Option(help: ArgumentHelp("The JIT's matmul operands: fp32, or bf16 (rounded to bfloat16, Float32 sums; needs --gemm jit and "
                               + "AVX512_BF16; parameters, optimiser state and every other op stay fp32). Default: the spec's "
                               + "`precision` key, else fp32.", valueName: "fp32|bf16"))
    var precision: MatmulPrecision?

    /// The flag, else the spec's key, else fp32. The interpreter always computes in fp32.
    func resolved(spec: ModelSpec?) -> MatmulPrecision { precision ?? spec?.precision ?? .fp32 }

    /// A flag that cannot run: bf16 on the interpreter, with OpenBLAS, or without AVX512_BF16.
    func check(backend: Backend, gemm: GEMMKernel) throws {
        guard let p = precision else { return }
        if backend == .interp && p != .fp32 {
            throw ValidationError("--precision \(p.rawValue) applies to the JIT's matmuls; the interpreter computes in fp32 (use --backend jit)")
        }
        if backend == .jit, let reason = p.unsupportedReason(gemm: gemm) { throw ValidationError(reason) }
    }
}

extension MatmulPrecision: ExpressibleByArgument {}

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
