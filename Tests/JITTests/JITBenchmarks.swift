// Timings of the engine and of ParallelFor. Not a timed test: runs only with VSC_JIT_BENCH=1
// (`VSC_JIT_BENCH=1 swift test --filter JITBenchmarks`) and prints numbers; asserts nothing
// about speed.
import Foundation
import Testing
import IR
import Passes
import Runtime
@testable import JIT

private let benchEnabled = ProcessInfo.processInfo.environment["VSC_JIT_BENCH"] == "1"

private func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

private func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

/// A vectorisable c[i] = a[i] + b[i] kernel in the ParallelFor ABI, plus an empty @nop.
let addKernelIR = """
define void @add(i8** noalias %args, i64 %begin, i64 %end) {
entry:
  %pa = getelementptr i8*, i8** %args, i64 0
  %pb = getelementptr i8*, i8** %args, i64 1
  %pc = getelementptr i8*, i8** %args, i64 2
  %a8 = load i8*, i8** %pa
  %b8 = load i8*, i8** %pb
  %c8 = load i8*, i8** %pc
  %a = bitcast i8* %a8 to float*
  %b = bitcast i8* %b8 to float*
  %c = bitcast i8* %c8 to float*
  %empty = icmp sge i64 %begin, %end
  br i1 %empty, label %exit, label %loop
loop:
  %i = phi i64 [ %begin, %entry ], [ %next, %loop ]
  %qa = getelementptr inbounds float, float* %a, i64 %i
  %qb = getelementptr inbounds float, float* %b, i64 %i
  %qc = getelementptr inbounds float, float* %c, i64 %i
  %va = load float, float* %qa
  %vb = load float, float* %qb
  %s = fadd fast float %va, %vb
  store float %s, float* %qc
  %next = add nsw i64 %i, 1
  %done = icmp eq i64 %next, %end
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
define void @nop(i8** %args, i64 %begin, i64 %end) {
  ret void
}
"""

@Suite(.enabled(if: benchEnabled), .serialized)
struct JITBenchmarks {
    @Test func compileTimes() throws {
        let t0 = now()
        let engine = try LLVMEngine()
        let t1 = now()
        let first = try engine.compile(moduleIR: addKernelIR, name: "add0", symbols: ["add"])
        let t2 = now()
        print(String(format: "[bench] engine init %.1f ms; first compile %.1f ms (parse %.1f, O3 %.1f, codegen %.1f)",
                     (t1 - t0) * 1e3, (t2 - t1) * 1e3, first.parseSeconds * 1e3, first.optimiseSeconds * 1e3,
                     first.codegenSeconds * 1e3))
        var total: [Double] = [], opt: [Double] = [], cg: [Double] = []
        for i in 0..<30 {
            let a = now()
            let m = try engine.compile(moduleIR: addKernelIR, name: "add\(i + 1)", symbols: ["add"])
            total.append(now() - a); opt.append(m.optimiseSeconds); cg.append(m.codegenSeconds)
        }
        print(String(format: "[bench] warm compile median %.1f ms min %.1f ms (O3 %.1f, codegen %.1f)",
                     median(total) * 1e3, total.min()! * 1e3, median(opt) * 1e3, median(cg) * 1e3))
        let e2a = now()
        let engine2 = try LLVMEngine()
        _ = try engine2.compile(moduleIR: addKernelIR, name: "second_engine", symbols: ["add"])
        print(String(format: "[bench] second engine init + compile %.1f ms", (now() - e2a) * 1e3))
        print("[bench] host \(engine.host.cpuName) avx512f=\(engine.host.hasAVX512F) width=\(engine.host.floatVectorWidth)")
        let vec = first.irAfter.split(separator: "\n").filter { $0.contains("fadd fast <") }.prefix(2)
        print("[bench] vector ops: \(vec.map { $0.trimmingCharacters(in: .whitespaces) })")
    }

    @Test func parallelForOverhead() throws {
        let engine = try LLVMEngine()
        let m = try engine.compile(moduleIR: addKernelIR, name: "add", symbols: ["add", "nop"])
        let add = try m.function("add", as: ParallelKernel.self)
        let nop = try m.function("nop", as: ParallelKernel.self)
        let n = 1 << 20
        let a = UnsafeMutablePointer<Float>.allocate(capacity: n), b = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: n)
        for i in 0..<n { a[i] = Float(i); b[i] = 1; c[i] = 0 }
        let args = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 3)
        args[0] = UnsafeMutableRawPointer(a); args[1] = UnsafeMutableRawPointer(b); args[2] = UnsafeMutableRawPointer(c)
        let pool = ParallelFor()

        // Median, and the minimum in brackets (the best case when both threads got a core).
        var mins: [Double] = []
        func time(_ reps: Int, _ body: () -> Void) -> Double {
            for _ in 0..<20 { body() }
            var xs: [Double] = []
            xs.reserveCapacity(reps)
            for _ in 0..<reps { let s = now(); body(); xs.append(now() - s) }
            mins.append(xs.min()! * 1e6)
            return median(xs) * 1e6
        }
        let reps = 400
        let serial = time(reps) { add(args, 0, Int64(n)) }
        let p2 = time(reps) { pool.run(add, args: args, count: n, chunks: 2, serialBelow: 0) }
        let p4 = time(reps) { pool.run(add, args: args, count: n, chunks: 4, serialBelow: 0) }
        let p8 = time(reps) { pool.run(add, args: args, count: n, chunks: 8, serialBelow: 0) }
        let d2 = time(reps) { pool.runWithDispatch(add, args: args, count: n, chunks: 2) }
        let d4 = time(reps) { pool.runWithDispatch(add, args: args, count: n, chunks: 4) }
        print(String(format: "[bench] 1M add: serial %.1f µs, ParallelFor k=2 %.1f µs, k=4 %.1f µs, k=8 %.1f µs; concurrentPerform k=2 %.1f µs, k=4 %.1f µs",
                     serial, p2, p4, p8, d2, d4))
        print("[bench] 1M add minima (same order): \(mins.map { String(format: "%.1f", $0) })")
        let nopP = time(2000) { pool.run(nop, args: args, count: n, chunks: 2, serialBelow: 0) }
        let nopD = time(2000) { pool.runWithDispatch(nop, args: args, count: n, chunks: 2) }
        let nopS = time(2000) { nop(args, 0, Int64(n)) }
        print(String(format: "[bench] empty kernel: direct %.2f µs, ParallelFor k=2 %.2f µs, concurrentPerform k=2 %.2f µs", nopS, nopP, nopD))
        // Worker asleep (after the spin window): cost of a cold wake-up.
        var cold: [Double] = []
        for _ in 0..<50 {
            usleep(2000)
            let s = now(); pool.run(add, args: args, count: n, chunks: 2, serialBelow: 0); cold.append(now() - s)
        }
        print(String(format: "[bench] 1M add after the worker slept: ParallelFor k=2 %.1f µs", median(cold) * 1e6))
        for i in stride(from: 0, to: n, by: 4099) { precondition(c[i] == Float(i) + 1) }
        a.deallocate(); b.deallocate(); c.deallocate(); args.deallocate()
    }
}

/// The tile epilogue (bias + relu finished in the GEMM's microkernel) against the same layer with
/// the epilogue as a kernel after the GEMM, on the paper net's forward dense layers, fp32 and
/// bf16, timed alternately (median of 30 runs each, both threads).
@Test(.enabled(if: benchEnabled)) func benchTileEpilogue() throws {
    let layers: [(String, GEMMShape, Bool)] = [
        ("enc.h0 relu(X·W + b)", GEMMShape(transA: false, transB: false, m: 500, n: 3000, k: 784), true),
        ("dec.h0 relu(Z·W + b)", GEMMShape(transA: false, transB: false, m: 500, n: 3000, k: 60), true),
        ("dec.out X·W + b", GEMMShape(transA: false, transB: false, m: 500, n: 784, k: 3000), false),
        ("enc.heads X·W + b", GEMMShape(transA: false, transB: false, m: 500, n: 60, k: 3000), false),
    ]
    let precisions: [MatmulPrecision] = HostTarget.host.hasAVX512BF16 ? [.fp32, .bf16] : [.fp32]
    for (label, s, relu) in layers {
        let (g, values) = try denseLayer(s, relu: relu)
        for precision in precisions {
            let tiled = try JITProgram(g, pipeline: .default, gemm: .jit, precision: precision, kernelTextTransform: nil)
            let separate = try JITProgram(g, pipeline: .default, gemm: .jit, precision: precision, tileEpilogues: false, kernelTextTransform: nil)
            for p in [tiled, separate] { for (name, v) in values { try p.set(name, v) }; try p.run(); try p.run() }
            var times: [[Double]] = [[], []]
            for _ in 0..<30 {
                for (i, p) in [tiled, separate].enumerated() { let t = now(); try p.run(); times[i].append(now() - t) }
            }
            let (a, b) = (median(times[0]) * 1000, median(times[1]) * 1000)
            print(String(format: "tile epilogue %-22@ %@ %@: tile %.3f ms, kernel after %.3f ms, ratio %.3f",
                         label as NSString, s.description as NSString, precision.rawValue as NSString, a, b, a / b))
        }
    }
}
