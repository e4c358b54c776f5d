import ArgumentParser
import IR
import JIT

extension IRCommand {
    struct LLVM: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the LLVM IR the JIT generates for an IR file, before and after LLVM's O3 pipeline.",
            discussion: """
                Every non-GEMM node becomes a loop-nest kernel in one module, named after the IR \
                node it computes: @k3.n35.enc.h0.relu is kernel 3, node %35, the relu of layer \
                enc.h0 (the op alone outside a model's layers). Matmuls are sgemm calls and do not \
                appear.

                Example:
                  vsc ir llvm Samples/ir/mlp.ir --after-only
                """)
        @Argument(help: "The IR file.") var file: String
        @Flag(help: "Print only the optimised module.") var afterOnly = false
        @Flag(help: "Print only the module before optimisation.") var beforeOnly = false
        func run() throws {
            let g = try loadIR(file)
            let (before, after): (String, String)
            do { (before, after) = try JITProgram.llvmIR(for: g) }
            catch let e as JITError { throw CLIError("error: \(e)") }
            catch let e as LoweringError { throw CLIError("error: \(e)") }
            if !afterOnly { print("; ===== LLVM IR before optimisation =====\n" + before) }
            if !beforeOnly { print("; ===== LLVM IR after default<O3> for the host CPU =====\n" + after) }
        }
    }
}
