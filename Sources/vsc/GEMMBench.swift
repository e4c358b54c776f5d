import CBLAS
import Foundation
import IR
import JIT
import Runtime

/// `vsc bench --gemm-shapes`: the paper net's GEMMs one by one, our emitted kernel (fp32, and
/// bf16 where the host has AVX512_BF16) against OpenBLAS fp32, at the same thread count (the
/// machine's two cores), timed alternately in one run so all see the same machine load.
enum GEMMBench {
    /// A named GEMM of a training step.
    struct Case {
        var label: String
        var shape: GEMMShape
    }

    /// The paper net (Appendix D.1) at batch `batch`: encoder 784→3000 then three 3000→60 heads,
    /// decoder 60→3000→784. Each layer in→out gives the forward Y = X·W (NN, batch×out×in), the
    /// backward dX = dY·Wᵀ (NT, batch×in×out) and dW = Xᵀ·dY (TN, in×out×batch). The three
    /// encoder heads share one shape.
    static func paperNetCases(batch: Int) -> [Case] {
        let layers: [(String, Int, Int)] = [("enc.h0", 784, 3000), ("enc.heads", 3000, 60), ("dec.h0", 60, 3000), ("dec.out", 3000, 784)]
        var cases: [Case] = []
        for (name, inputs, outputs) in layers {
            cases.append(Case(label: "\(name) forward  X·W", shape: GEMMShape(transA: false, transB: false, m: batch, n: outputs, k: inputs)))
            cases.append(Case(label: "\(name) dX = dY·Wᵀ", shape: GEMMShape(transA: false, transB: true, m: batch, n: inputs, k: outputs)))
            cases.append(Case(label: "\(name) dW = Xᵀ·dY", shape: GEMMShape(transA: true, transB: false, m: inputs, n: outputs, k: batch)))
        }
        return cases
    }

    struct Timing {
        /// GFLOP/s of each timed repeat, sorted.
        var gflops: [Double]
        var median: Double { gflops[gflops.count / 2] }
        var json: [String: Double] { ["median": median, "min": gflops.first!, "max": gflops.last!] }
    }

    /// A program computing c = op(a)·op(b) with `kernel`, fed with seeded values.
    static func program(_ s: GEMMShape, kernel: GEMMKernel, precision: MatmulPrecision = .fp32) throws -> JITProgram {
        let g = Graph(name: "gemm_bench")
        let a = try g.input("a", s.transA ? [s.k, s.m] : [s.m, s.k])
        let b = try g.input("b", s.transB ? [s.n, s.k] : [s.k, s.n])
        try g.output("c", try a.matmul(b, transposeA: s.transA, transposeB: s.transB))
        let p = try JITProgram(g, pipeline: nil, gemm: kernel, precision: precision)
        try p.set("a", (0..<(s.m * s.k)).map { Float(($0 * 7919) % 1009) / 1009 - 0.5 })
        try p.set("b", (0..<(s.k * s.n)).map { Float(($0 * 104_729) % 997) / 997 - 0.5 })
        return p
    }

    /// Times `shape` on our kernel (`jit`), on OpenBLAS split over the same two-thread pool
    /// (`blas`, what the JIT ran before) and on a plain `cblas_sgemm` call with OpenBLAS's own
    /// two threads, `repeats` times each, alternating so that load on the machine hits all three.
    /// `difference`: the largest |ours − OpenBLAS| relative to max(1, |OpenBLAS|) over C (a check
    /// that the kernel measured computes the product). `bf16`: also our kernel in bf16 (timed in
    /// the same rotation), and its largest difference from OpenBLAS's fp32 result.
    static func measure(_ shape: GEMMShape, threads: Int, repeats: Int, warmup: Int, bf16: Bool)
        throws -> (jit: Timing, blasPool: Timing, blasThreads: Timing, difference: Double, bf16: (Timing, difference: Double)?) {
        let ours = try program(shape, kernel: .jit), pool = try program(shape, kernel: .blas)
        let oursBF16 = bf16 ? try program(shape, kernel: .jit, precision: .bf16) : nil
        for p in [ours, pool] + (oursBF16.map { [$0] } ?? []) { p.usesThreadPool = threads > 1 }
        if let p = oursBF16 { try p.set("a", Array(ours.values("a")!)); try p.set("b", Array(ours.values("b")!)) }
        // The same inputs for the direct call.
        let a = Array(ours.values("a")!), b = Array(ours.values("b")!)
        var c = [Float](repeating: 0, count: shape.m * shape.n)
        let direct = {
            // OpenBLAS with its own threads (all of them: two here); the programs set it back to one.
            BLASThreads.use(threads)
            cblas_sgemm(CblasRowMajor, shape.transA ? CblasTrans : CblasNoTrans, shape.transB ? CblasTrans : CblasNoTrans,
                        Int32(shape.m), Int32(shape.n), Int32(shape.k), 1, a, Int32(shape.transA ? shape.m : shape.k),
                        b, Int32(shape.transB ? shape.k : shape.n), 0, &c, Int32(shape.n))
        }
        let runs: [() throws -> Void] = [{ try ours.run() }, { try pool.run() }, direct] + (oursBF16.map { p in [{ try p.run() }] } ?? [])
        for _ in 0..<warmup { for r in runs { try r() } }
        var seconds: [[Double]] = [[], [], [], []]
        // One thread: the calling thread's CPU time, which time slices lost to other processes
        // do not inflate. Two threads: wall time (the other thread's CPU time is not ours to read).
        let clock = threads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC
        func now() -> Double { var t = timespec(); clock_gettime(clock, &t); return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9 }
        for _ in 0..<max(1, repeats) {
            for (i, r) in runs.enumerated() {
                let t = now()
                try r()
                seconds[i].append(now() - t)
            }
        }
        let timing = { (s: [Double]) in Timing(gflops: s.map { shape.flops / $0 / 1e9 }.sorted()) }
        let differenceFromBLAS = { (p: JITProgram) in zip(p.values("c")!, c).map { Double(abs($0 - $1)) / max(1, Double(abs($1))) }.max() ?? 0 }
        return (timing(seconds[0]), timing(seconds[1]), timing(seconds[2]), differenceFromBLAS(ours),
                oursBF16.map { (timing(seconds[3]), differenceFromBLAS($0)) })
    }

    /// Runs every case and prints a table (or one JSON object).
    static func run(batch: Int, threads: Int, repeats: Int, warmup: Int, json: Bool) throws {
        var rows: [[String: Any]] = []
        // The ceiling: register-only FMAs on this thread, now, times the threads.
        let peakBefore = try FMAPeak.measure(clock: threads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC) * Double(threads)
        let bf16 = HostTarget.host.hasAVX512BF16
        if !json {
            print("GEMM shapes of the paper net (batch \(batch)), GFLOP/s median (min–max) over \(repeats) repeats, \(threads) thread(s) each;")
            print("  ours = the JIT's emitted AVX-512 kernel; pool = cblas_sgemm split over the JIT's thread pool;")
            print("  OpenBLAS = one cblas_sgemm call on OpenBLAS's own threads (core \(openBLASCore)).")
            print(bf16 ? "  bf16 = ours with bf16 operands (vdpbf16ps, fp32 sums); bf16 ratio = bf16 ÷ the better OpenBLAS (fp32) median; bf16/fp32 = bf16 ÷ ours."
                       : "  (no bf16 columns: LLVM reports no AVX512_BF16 for this host)")
            print(threads == 1 ? "  Timed in CPU seconds of the calling thread (steady on a busy machine)." : "  Timed in wall-clock seconds.")
            print(String(format: "  FMA peak (register-only AVX-512 FMA loop on this thread, now, ×%d): %.1f GFLOP/s", threads, peakBefore))
            print(String(format: "%-20@ %-20@ %-22@ %-22@ %-22@ %7@ %7@ %9@", "GEMM" as NSString, "shape (m×n×k)" as NSString,
                         "ours" as NSString, "pool" as NSString, "OpenBLAS" as NSString, "ratio" as NSString,
                         "% peak" as NSString, "max diff" as NSString)
                  + (bf16 ? String(format: " %-22@ %10@ %9@ %9@", "bf16" as NSString, "bf16 ratio" as NSString,
                                   "bf16/fp32" as NSString, "bf16 diff" as NSString) : ""))
        }
        for c in paperNetCases(batch: batch) {
            let r = try measure(c.shape, threads: threads, repeats: repeats, warmup: warmup, bf16: bf16)
            let best = max(r.blasPool.median, r.blasThreads.median)
            let ratio = r.jit.median / best
            var row: [String: Any] = ["gemm": c.label, "shape": c.shape.description, "gflop": c.shape.flops / 1e9, "ours": r.jit.json,
                                      "blas_pool": r.blasPool.json, "openblas": r.blasThreads.json, "ratio_to_best_blas": ratio,
                                      "max_relative_difference": r.difference, "ours_fraction_of_fma_peak": r.jit.median / peakBefore]
            if let (t, difference) = r.bf16 {
                row["ours_bf16"] = t.json
                row["bf16_ratio_to_best_blas"] = t.median / best
                row["bf16_over_ours_fp32"] = t.median / r.jit.median
                row["bf16_max_relative_difference"] = difference
            }
            rows.append(row)
            if !json {
                let cell = { (t: Timing) in String(format: "%6.1f (%5.1f–%5.1f)", t.median, t.gflops.first!, t.gflops.last!) as NSString }
                print(String(format: "%-20@ %-20@ %-22@ %-22@ %-22@ %6.2f× %6.0f%% %9.1e", c.label as NSString, c.shape.description as NSString,
                             cell(r.jit), cell(r.blasPool), cell(r.blasThreads), ratio, 100 * r.jit.median / peakBefore, r.difference)
                      + (r.bf16.map { t, d in String(format: " %-22@ %9.2f× %8.2f× %9.1e", cell(t), t.median / best, t.median / r.jit.median, d) } ?? ""))
            }
        }
        let peakAfter = try FMAPeak.measure(clock: threads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC) * Double(threads)
        if json {
            let d = try JSONSerialization.data(withJSONObject: ["fma_peak_gflops_before": peakBefore, "fma_peak_gflops_after": peakAfter, "batch": batch, "threads": threads, "repeats": repeats, "openblas_core": openBLASCore, "shapes": rows], options: [.sortedKeys])
            print(String(data: d, encoding: .utf8)!)
        } else {
            print(String(format: "  FMA peak again after the table: %.1f GFLOP/s (a large change means the machine's load changed mid-run).", peakAfter))
            print("ratio = ours ÷ the better OpenBLAS median; % peak = ours ÷ the FMA peak before the table (fp32: bf16's peak is twice it).")
            print("On a shared or busy machine every number drops; compare within one run.")
        }
    }

    /// OpenBLAS's kernel family (`Haswell` here: the machine pins it, see docs/TOOLCHAIN).
    static var openBLASCore: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }
}
