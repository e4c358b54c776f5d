import ArgumentParser
import Foundation
import IR
import JIT
import Passes
import Runtime
import Train

/// Reads and parses an IR file, turning parse errors into `FILE:LINE:COL: error:` messages.
func loadIR(_ path: String) throws -> Graph {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CLIError("\(path): error: cannot read file")
    }
    guard let text = String(data: data, encoding: .utf8) else { throw CLIError("\(path): error: not UTF-8 text") }
    do { return try IRParser.parse(text, file: path) }
    catch let e as ParseError { throw CLIError(e.description) }
    catch let e as IRError { throw CLIError("\(path): \(e)") }
}

/// An error the CLI prints itself (`VSC.main`) and exits non-zero: the text usually names file,
/// line and column already.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
    /// What is printed: the description, with `error: ` in front unless it says so already
    /// (`FILE:LINE:COL: error: …`), so every message reads `error:` exactly once.
    var message: String {
        description.hasPrefix("error: ") || description.contains(": error: ") ? description : "error: " + description
    }
    /// A pass pipeline's failure, naming the pass ("after pass 'cse': …"), after `prefix`.
    init(_ e: PassError, prefix: String = "") { description = prefix + (e.pass.map { "after pass '\($0)': " } ?? "") + e.message }
}

/// Seeded values for every parameter and input of `g`: N(0, 1/fan-in) for matrices, small
/// normals for others; scalar inputs named like step counters get 0.
func seededFeeds(_ g: Graph, seed: UInt64) -> [String: [Double]] {
    var feeds: [String: [Double]] = [:]
    for (k, leaf) in (g.parameters + g.inputs).enumerated() {
        let n = g[leaf.node]
        let base = CounterRNG.base(seed: seed, key: UInt32(k))
        let scale = n.shape.count == 2 ? 1 / Double(n.shape[0]).squareRoot() : 1
        feeds[leaf.name] = (0..<n.elementCount).map { i in
            let u1 = CounterRNG.uniform(base: base, UInt32(2 * i)), u2 = CounterRNG.uniform(base: base, UInt32(2 * i + 1))
            return scale * (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
        }
    }
    return feeds
}

/// The execution backends.
enum Backend: String, ExpressibleByArgument, CaseIterable {
    case interp, jit
}

/// The CLI's one way from a graph to a program: `pipeline` runs first (nil when the caller has
/// optimised already), whatever the backend, so both backends execute the same schedule; the
/// backend only runs what it is given. JIT compile errors name the kernel and its IR.
/// `gemm` chooses the JIT's matmul kernel and `precision` its operands (the interpreter ignores
/// both: OpenBLAS, fp32).
func makeProgram(_ g: Graph, backend: Backend, pipeline: PassManager? = .default, gemm: GEMMKernel = .hostDefault,
                 precision: MatmulPrecision = .fp32) throws -> Program {
    let optimised: Graph
    do { optimised = try pipeline.map { try $0.run(g).graph } ?? g }
    catch let e as PassError { throw CLIError(e, prefix: "error: ") }
    switch backend {
    case .interp: return InterpreterProgram(optimised)
    case .jit:
        do { return try JITProgram(optimised, pipeline: nil, gemm: gemm, precision: precision) }
        catch let e as JITError { throw CLIError("error: JIT compilation failed: \(e)") }
        catch let e as LoweringError { throw CLIError("error: \(e)") }
    }
}

struct IRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ir",
        abstract: "Parse, verify, run, differentiate, optimise and draw textual IR.",
        discussion: """
            Examples:
              vsc ir check Samples/ir/mlp.ir
              vsc ir opt Samples/ir/mlp.ir --dump-ir-after=all
              vsc ir dot Samples/ir/mlp.ir --render svg -o mlp.svg
            """,
        subcommands: [Check.self, Run.self, Grad.self, Opt.self, LLVM.self, Dot.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse and verify an IR file; print its canonical text.",
            discussion: """
                A malformed file exits non-zero with FILE:LINE:COL: error: ….

                Example:
                  vsc ir check Samples/ir/mlp.ir
                """)
        @Argument(help: "The IR file.") var file: String
        func run() throws {
            let g = try loadIR(file)
            print(IRPrinter.print(g), terminator: "")
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run an IR file on seeded random (or given) parameters and inputs; print each output's shape, sum and mean.",
            discussion: """
                --feeds FILE (safetensors, e.g. numpy's safetensors.numpy.save_file) gives \
                parameters and inputs by name, each of the graph's shape; the others stay seeded. \
                --out FILE writes every output as a safetensors tensor.

                Examples:
                  vsc ir run Samples/ir/mlp.ir
                  vsc ir run Samples/ir/mlp.ir --backend jit --seed 3
                  vsc ir run Samples/ir/mlp.ir --feeds x.safetensors --out y.safetensors
                """)
        @Argument(help: "The IR file.") var file: String
        @Option(help: "Seed for the random parameters and inputs.") var seed: UInt64 = 0
        @Option(help: "Backend: interp (reference interpreter over OpenBLAS) or jit (LLVM).") var backend: Backend = .interp
        @Flag(help: "Compute in Float64 instead of the graph's Float32 (interpreter only).") var f64 = false
        @Option(help: "Parameters and inputs by name (safetensors); the rest stay seeded.") var feeds: String?
        @Option(help: "Write every output to this safetensors file.") var out: String?
        func run() throws {
            let g = try loadIR(file)
            var feeds = seededFeeds(g, seed: seed)
            if let path = self.feeds {
                let file: Checkpoint
                do { file = try Checkpoint.load(path: path) } catch let e as CheckpointError { throw CLIError(e.description) }
                for (name, t) in file.tensors.sorted(by: { $0.key < $1.key }) {
                    guard let id = g.leaf(named: name) else {
                        throw CLIError("\(path): tensor \"\(name)\" is no parameter or input of @\(g.name) (leaves: \((g.parameters + g.inputs).map(\.name).joined(separator: ", ")))")
                    }
                    guard t.shape == g[id].shape else {
                        throw CLIError("\(path): tensor \"\(name)\" has shape \(t.shape); @\(g.name) declares \(g[id].shape)")
                    }
                    feeds[name] = t.values.map(Double.init)
                }
            }
            var outs: [String: [Double]] = [:]
            if f64 {
                guard backend == .interp else { throw ValidationError("--f64 runs on the interpreter only") }
                outs = try Interpreter<Double>(g, checkFinite: false).run(feeds)
            } else {
                let p = try makeProgram(g, backend: backend)
                for (k, v) in feeds { try p.set(k, v.map(Float.init)) }
                try p.run()
                for o in g.outputs { outs[o.name] = p.values(o.name)!.map(Double.init) }
            }
            for o in g.outputs {
                let v = outs[o.name]!
                let sum = v.reduce(0, +)
                let n = g[o.node]
                print("\(o.name): \(IRPrinter.type(n.dtype, n.shape)) sum=\(sum) mean=\(v.isEmpty ? 0 : sum / Double(v.count))")
            }
            if let out {
                var file = Checkpoint(metadata: ["format": "vsc-ir-run", "graph": g.name, "ir": self.file])
                for o in g.outputs { file.tensors[o.name] = .init(shape: g[o.node].shape, values: outs[o.name]!.map(Float.init)) }
                do { try file.write(to: out) } catch let e as CheckpointError { throw CLIError(e.description) }
            }
        }
    }
}
