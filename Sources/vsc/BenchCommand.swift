import ArgumentParser
import CBLAS
import Foundation
import IR
import JIT
import Models
import Passes
import Runtime

/// `vsc bench`: step times of a whole training step (forward, backward, Adam) on both backends,
/// measured in one run, with the OpenBLAS sgemm peak measured in the same run for scale.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark a training step on the interpreter and the LLVM JIT (ratios from one run).",
        discussion: """
        Without --spec, benchmarks a built-in MLP train step (784→1024→784, batch 256, MSE, Adam).
        With --spec, the model's whole training step (forward + backward + Adam update).
        Reports median/min/max step time per backend, the JIT's speed-up over the interpreter,
        achieved GFLOP/s (matmul and convolution FLOPs), the fraction of cblas_sgemm peak measured in the same run,
        JIT compile time and the program's buffer bytes.

        Examples:
          vsc bench
          vsc bench --spec Samples/vsc-smiley-tiny.yaml --backend jit --profile
          vsc bench --spec Samples/vsc-fashion.yaml --backend jit --gemm blas
          vsc bench --gemm-shapes --iterations 10
          vsc bench --spec Samples/vsc-fashion.yaml --backend jit --precision bf16

        With --gemm-shapes, times the paper net's GEMMs (forward, dX = dY·Wᵀ, dW = Xᵀ·dY of every \
        layer at batch 500, or --batch-size) one by one: the JIT's own AVX-512 kernel against \
        OpenBLAS at the same thread count, GFLOP/s median and min–max over --iterations repeats, \
        beside the FMA peak measured in the same run (bench/README.md), and the kernel in bf16 where \
        the CPU has AVX512_BF16. --precision bf16 runs the JIT's train step with bf16 matmul operands \
        (the interpreter stays fp32).

        With --ranks (and --spec), a scaling model for data-parallel training (`mpirun -np N vsc \
        train`): for each N, the step of one rank at the spec's batch split N ways is compiled and \
        timed here, and the gradients' ring all-reduce is modelled over links of --link-gbps \
        Gbit/s: the step time with the communication hidden and not hidden, and the speed-up \
        over one rank. Example: vsc bench --spec Samples/vsc-fashion.yaml --ranks 1,2,4,8,16 --link-gbps 10,100

        With --allreduce, under mpirun (`mpirun -np 2 vsc bench --allreduce --spec S`): the blocking \
        all-reduce of the spec's gradients over the real ranks and links, median time and the \
        bandwidth it reached (to check the model's --link-gbps).
        """)

    @Option(help: "A model spec (YAML); default: the built-in MLP.") var spec: String?
    @OptionGroup var batchSizeOption: BatchSizeOption
    @Option(help: "Timed iterations (train steps) on the JIT.") var iterations: Int = 20
    @Option(help: "Timed iterations on the interpreter (it is slow on big nets).") var interpIterations: Int = 3
    @Option(help: "Untimed warm-up iterations per backend.") var warmup: Int = 2
    @Option(name: .customLong("backend"), parsing: .singleValue,
            help: "A backend to run (interp, jit); repeatable (default: both).")
    var backendList: [Backend] = []
    @OptionGroup var gemmOption: GEMMOption
    @OptionGroup var precisionOption: PrecisionOption
    @Flag(help: "Benchmark the paper net's GEMM shapes (our kernel against OpenBLAS) instead of a train step.")
    var gemmShapes = false
    @Option(help: "Threads for every side of --gemm-shapes: 2 (both cores) or 1 (steadier on a busy machine).")
    var gemmThreads: Int = 2
    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Flag(help: "Also profile the JIT program by step: GEMMs vs kernels, the most expensive steps.") var profile = false
    @Option(help: "With --spec: a data-parallel scaling model over these rank counts (comma-separated, e.g. 1,2,4,8).")
    var ranks: String?
    @Option(help: "Link bandwidths of the scaling model, Gbit/s (comma-separated).") var linkGbps: String = "10,100"
    @Option(help: "Latency of one all-reduce message in the scaling model, µs.") var linkLatencyUs: Double = 5
    @Flag(help: "Under mpirun: time the blocking all-reduce of the spec's gradients (or --allreduce-mib) over the ranks.")
    var allreduce = false
    @Option(help: "With --allreduce and no --spec: the payload, MiB.") var allreduceMib: Double = 32

    // The spellings before the CLI had one vocabulary (`--steps`, `--interp-steps`, `--backends a,b`).
    @Option(name: .customLong("steps"), help: .hidden) var stepsAlias: Int?
    @Option(name: .customLong("interp-steps"), help: .hidden) var interpStepsAlias: Int?
    @Option(name: .customLong("backends"), help: .hidden) var backendsAlias: String?

    var steps: Int { stepsAlias ?? iterations }
    var interpSteps: Int { interpStepsAlias ?? interpIterations }
    var batch: Int? { batchSizeOption.value }

    /// The backends to run, in the table's order.
    func selectedBackends() throws -> [Backend] {
        var chosen = Set(backendList)
        for name in backendsAlias?.split(separator: ",") ?? [] {
            let n = name.trimmingCharacters(in: .whitespaces)
            guard let b = Backend(rawValue: n) else {
                throw ValidationError("--backends: unknown backend '\(n)' (valid: \(Backend.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            chosen.insert(b)
        }
        return chosen.isEmpty ? Backend.allCases : Backend.allCases.filter(chosen.contains)
    }

    func validate() throws {
        _ = try selectedBackends()
        if steps < 1 || interpSteps < 1 { throw ValidationError("--iterations and --interp-iterations must be ≥ 1") }
        if warmup < 0 { throw ValidationError("--warmup must be ≥ 0, got \(warmup)") }
        // The JIT row runs in the chosen precision; the interpreter's is the fp32 reference.
        if let p = precisionOption.precision, let reason = p.unsupportedReason(gemm: gemmOption.kernel) { throw ValidationError(reason) }
        if ![1, 2].contains(gemmThreads) { throw ValidationError("--gemm-threads must be 1 or 2 (the JIT's pool has two threads), got \(gemmThreads)") }
    }

    func run() throws {
        if allreduce {
            var payload = Int(allreduceMib * 1048576)
            if let path = spec {
                let s = try loadSpec(path: path)
                let g = try makeModel(s).trainGraph(batch: 1)
                payload = g.parameters.reduce(0) { $0 + g[$1.node].elementCount * g[$1.node].dtype.byteSize }
            }
            if let text = try AllReduceBench.run(payload: payload, iterations: steps, warmup: warmup) { print(text, terminator: "") }
            return
        }
        if let ranks {
            guard let specPath = spec else { throw ValidationError("--ranks models a spec's training: give --spec") }
            let counts = try ranks.split(separator: ",").map { s -> Int in
                guard let n = Int(s.trimmingCharacters(in: .whitespaces)), n >= 1 else { throw ValidationError("--ranks: '\(s)' is not a rank count ≥ 1") }
                return n
            }
            let links = try linkGbps.split(separator: ",").map { s -> Double in
                guard let g = Double(s.trimmingCharacters(in: .whitespaces)), g > 0 else { throw ValidationError("--link-gbps: '\(s)' is not a bandwidth > 0") }
                return g
            }
            let model = ScalingModel(specPath: specPath, ranks: counts, linkGbps: links, latencyMicroseconds: linkLatencyUs,
                                     iterations: steps, warmup: warmup, gemm: gemmOption.kernel)
            let (text, _) = try model.run { p, g, params in try feed(p, params: params, graph: g) }
            print(text, terminator: "")
            return
        }
        if gemmShapes {
            try GEMMBench.run(batch: batch ?? 500, threads: gemmThreads, repeats: steps, warmup: warmup, json: json)
            return
        }
        let (forward, params, label, clip) = try buildForward()
        let precision = precisionOption.resolved(spec: try spec.map { try loadSpec(path: $0) })
        if let reason = precision.unsupportedReason(gemm: gemmOption.kernel), try selectedBackends().contains(.jit) {
            throw CLIError("error: " + reason)
        }
        let step = try buildTrainStep(forward, loss: "loss", optimizer: .adam(), clipNorm: clip)
        let flops = matmulFlops(step)
        let selected = try selectedBackends()
        var results: [String: Any] = ["model": label, "matmul_gflop_per_step": flops / 1e9, "gemm": gemmOption.kernel.rawValue,
                                      "precision": precision.rawValue]
        var table: [(String, Stats)] = []
        var compileSeconds = 0.0, jitMedian: Double?, interpMedian: Double?
        var llvm: (seconds: Double, fromCache: Bool)?
        var planned: (peak: Int, total: Int, persistent: Int, kernels: Int, gemms: Int)?
        var profileReport: String?
        for b in selected {
            let t0 = Date()
            let p = try makeProgram(step, backend: b, gemm: gemmOption.kernel, precision: b == .jit ? precision : .fp32)
            let build = Date().timeIntervalSince(t0)
            if b == .jit { compileSeconds = build }
            if let j = p as? JITProgram, profile { profileReport = try profileText(j) }
            if let j = p as? JITProgram {
                llvm = (j.module.totalSeconds, j.module.fromCache)
                results["compile_llvm_s"] = j.module.totalSeconds
                results["compile_from_object_cache"] = j.module.fromCache
                planned = (j.memoryPlan.peakBytes, j.memoryPlan.totalBufferBytes, j.memoryPlan.persistentBytes, j.kernelCount, j.gemmCount)
            }
            try feed(p, params: params, graph: step)
            p.carryOutputs(prefix: TrainStepNames.updatedPrefix)
            let n = b == .jit ? steps : interpSteps
            let s = try time(p, steps: n)
            table.append((b.rawValue, s))
            results["\(b.rawValue)_ms"] = s.json
            if b == .jit { jitMedian = s.median } else { interpMedian = s.median }
            if !json { FileHandle.standardError.write("\(b.rawValue): \(n) steps, median \(fmt(s.median)) ms\n".data(using: .utf8)!) }
        }
        let peak = sgemmPeak(step)
        results["compile_s"] = compileSeconds
        results["sgemm_peak_gflops"] = peak
        if let j = jitMedian { results["gflops"] = flops / (j / 1000) / 1e9 }
        if let j = jitMedian, let i = interpMedian { results["jit_speedup"] = i / j }
        let bytes = step.nodes.filter { if case .reshape = $0.op { return false }; return true }
            .map { $0.elementCount * $0.dtype.byteSize }.reduce(0, +)
        results["buffer_bytes"] = planned?.total ?? bytes
        results["peak_bytes"] = planned.map { $0.peak + $0.persistent } ?? bytes
        if let p = planned { results["jit_kernels"] = p.kernels; results["jit_gemms"] = p.gemms }
        if let r = profileReport { FileHandle.standardError.write(r.data(using: .utf8)!) }
        if json {
            let d = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys])
            print(String(data: d, encoding: .utf8)!)
            return
        }
        print("benchmark: \(label) train step (forward + backward + Adam), \(String(format: "%.2f", flops / 1e9)) GFLOP of matmuls and convolutions a step; JIT GEMM: \(gemmOption.kernel.rawValue), \(precision.rawValue)")
        print("backend   median ms    min ms    max ms   GFLOP/s  % sgemm peak")
        for (name, s) in table {
            let g = flops / (s.median / 1000) / 1e9
            print(String(format: "%-8@ %10.2f %9.2f %9.2f %9.1f %12.1f", name as NSString, s.median, s.min, s.max, g, 100 * g / peak))
        }
        if let j = jitMedian, let i = interpMedian { print(String(format: "JIT speed-up over the interpreter: %.2f×", i / j)) }
        let llvmPart = llvm.map { String(format: " (LLVM %.3f s%@)", $0.seconds, $0.fromCache ? ", linked from the object cache" as NSString : "" as NSString) } ?? ""
        print(String(format: "JIT compile time (whole step): %.3f s%@;  sgemm peak in this run: %.1f GFLOP/s", compileSeconds, llvmPart as NSString, peak))
        if let p = planned {
            print(String(format: "JIT program: %d kernels + %d GEMM calls; memory: peak %.1f MiB of intermediates (%.1f MiB without reuse) + %.1f MiB parameters/inputs",
                         p.kernels, p.gemms, Double(p.peak) / 1048576, Double(p.total) / 1048576, Double(p.persistent) / 1048576))
        }
    }

    func fmt(_ x: Double) -> String { String(format: "%.2f", x) }

    /// Where a JIT step's time goes: GEMM calls vs JIT kernels, and the most expensive steps.
    func profileText(_ p: JITProgram) throws -> String {
        for _ in 0..<warmup { try p.run() }
        let prof = try p.profile(runs: max(3, steps / 2))
        let total = prof.map(\.seconds).reduce(0, +)
        let gemm = prof.filter(\.isGEMM), kernels = prof.filter { !$0.isGEMM }
        let gemmS = gemm.map(\.seconds).reduce(0, +), kernelS = kernels.map(\.seconds).reduce(0, +)
        var out = "profile of one JIT step (\(String(format: "%.2f", total * 1000)) ms, timed per step):\n"
        out += String(format: "  GEMM    %3d calls  %8.2f ms  (%4.1f%%)  %6.1f GFLOP/s  (%@)\n", gemm.count, gemmS * 1000, 100 * gemmS / total,
                      gemm.map(\.flops).reduce(0, +) / gemmS / 1e9,
                      (p.gemmKernel == .jit ? "our emitted GEMM" : "cblas_sgemm") as NSString)
        out += String(format: "  kernels %3d calls  %8.2f ms  (%4.1f%%)\n", kernels.count, kernelS * 1000, 100 * kernelS / total)
        out += "  most expensive steps:\n"
        for s in prof.sorted(by: { $0.seconds > $1.seconds }).prefix(12) {
            let n = p.graph[s.node]
            var what = "\(n.op.name) \(IRPrinter.type(n.dtype, n.shape))"
            if s.isGEMM { what += String(format: "  %.1f GFLOP/s", s.flops / s.seconds / 1e9) }
            if case .fused(let k) = n.op { what += " (\(k.nodes.count) body nodes)" }
            if let l = n.location { what += "  // \(l)" }
            out += String(format: "    %7.3f ms  %%%d  ", s.seconds * 1000, s.node) + what + "\n"
        }
        return out
    }

    /// The forward graph (outputs "loss"), initial parameter values and a label.
    /// The forward graph, its initial parameters, a label, and the gradient clipping of the spec.
    func buildForward() throws -> (Graph, [String: [Float]], String, Double?) {
        if let path = spec {
            let s = try loadSpec(path: path)
            let model = try makeModel(s)
            let b = batch ?? s.batchSize
            return (try model.trainGraph(batch: b), model.initialParameters(seed: 1), "\(s.name) (batch \(b))", s.schedules.clipGradNorm)
        }
        let b = batch ?? 256
        let g = Graph(name: "mlp_bench")
        let x = try g.input("x", [b, 784])
        let w1 = try g.parameter("w1", [784, 1024]), b1 = try g.parameter("b1", [1024])
        let w2 = try g.parameter("w2", [1024, 784]), b2 = try g.parameter("b2", [784])
        let h = try (x.matmul(w1) + b1).relu()
        let y = try (h.matmul(w2) + b2).sigmoid()
        try g.output("loss", try (y - x).square().sum(axes: [1]).mean())
        var params: [String: [Float]] = [:]
        for (name, id) in g.parameters {
            let n = g[id].elementCount, fan = Float(g[id].shape[0])
            params[name] = (0..<n).map { i in Float(CounterRNG.uniform(base: 99, UInt32(i)) - 0.5) * 2 / fan.squareRoot() }
        }
        return (g, params, "MLP 784→1024→784 (batch \(b))", nil)
    }

    func feed(_ p: Program, params: [String: [Float]], graph: Graph) throws {
        for (name, id) in graph.parameters + graph.inputs {
            let n = graph[id].elementCount
            if let v = params[name] { try p.set(name, v); continue }
            if let f = scalarFeeds(ScheduleValues(lambda: 1, c: 100, learningRate: 1e-4), iteration: 1, datasetSize: 60_000)
                .first(where: { $0.name == name }) { try p.set(name, scalar: Float(f.value)); continue }
            switch name {
            case TrainStepNames.learningRate: try p.set(name, scalar: 1e-4)
            case TrainStepNames.adamStep: try p.set(name, scalar: 1)
            default:
                if name.hasPrefix("adam.") { try p.set(name, [Float](repeating: 0, count: n)) }
                else { try p.set(name, (0..<n).map { i in Float(CounterRNG.uniform(base: 7, UInt32(i))) }) }
            }
        }
    }

    struct Stats {
        var median: Double, min: Double, max: Double
        var json: [String: Double] { ["median": median, "min": min, "max": max] }
    }

    func time(_ p: Program, steps: Int) throws -> Stats {
        let ms = try stepMilliseconds(p, warmup: warmup, steps: steps)
        return Stats(median: ms[ms.count / 2], min: ms.first!, max: ms.last!)
    }

    /// FLOPs of the step's matrix products and convolutions (each convolution is one GEMM).
    func matmulFlops(_ g: Graph) -> Double {
        g.nodes.reduce(0.0) { acc, n in
            if case .matmul(let m) = n.op { return acc + Double(m.flops(a: g[n.inputs[0]].shape, b: g[n.inputs[1]].shape)) }
            if let c = ConvGeometry.of(n.op, operands: n.inputs.map { g[$0].shape }, result: n.shape) { return acc + Double(c.flops) }
            return acc
        }
    }

    /// cblas_sgemm GFLOP/s on the step's largest matmul shape, measured now.
    func sgemmPeak(_ g: Graph) -> Double {
        var best = (m: 1024, n: 1024, k: 1024), bestF = 0
        for n in g.nodes {
            guard case .matmul(let mm) = n.op else { continue }
            let d = mm.dims(a: g[n.inputs[0]].shape, b: g[n.inputs[1]].shape)
            if d.m * d.n * d.k > bestF { bestF = d.m * d.n * d.k; best = d }
        }
        let a = [Float](repeating: 0.5, count: best.m * best.k), b = [Float](repeating: 0.25, count: best.k * best.n)
        var c = [Float](repeating: 0, count: best.m * best.n)
        // The machine's sgemm: all of OpenBLAS's threads (a JIT run before leaves it at one).
        BLASThreads.useAll()
        let reps = max(3, min(50, Int(2e10 / Double(2 * bestF))))
        var times: [Double] = []
        for _ in 0..<reps {
            let t = DispatchTime.now().uptimeNanoseconds
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(best.m), Int32(best.n), Int32(best.k),
                        1, a, Int32(best.k), b, Int32(best.n), 0, &c, Int32(best.n))
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t))
        }
        return 2 * Double(bestF) / times.min()!
    }
}

/// Wall-clock milliseconds of `steps` runs of `p` (at least one) after `warmup` untimed ones,
/// sorted ascending.
func stepMilliseconds(_ p: Program, warmup: Int, steps: Int) throws -> [Double] {
    for _ in 0..<warmup { try p.run() }
    var ms: [Double] = []
    for _ in 0..<max(1, steps) {
        let t = DispatchTime.now().uptimeNanoseconds
        try p.run()
        ms.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
    }
    return ms.sorted()
}
