import Foundation
import IR
import JIT
import Models
import Passes
import Runtime
import Train

/// `vsc bench --spec S --ranks 1,2,4,… --link-gbps 10,100`: what data-parallel training over N
/// ranks should take, from a step time measured here and the bytes each step all-reduces.
///
/// For each N the data-parallel step of one rank (the spec's batch split N ways, its gradients
/// bucketed and all-reduced) is compiled and timed on this machine (one process: the all-reduce
/// costs the copies only), giving T_compute(N). A ring all-reduce of P payload bytes over N ranks
/// moves 2(N−1)/N·P bytes through each rank's link in 2(N−1) messages, so over a link of G Gbit/s
/// with latency α per message, T_comm = 2(N−1)/N·P·8 / (G·10⁹) + 2(N−1)·α. The step then takes
/// between max(T_compute, T_comm) (all of the communication hidden behind the backward pass,
/// which bucketing aims at) and T_compute + T_comm (none hidden); the table gives both and the
/// speed-up over one rank at the global batch (T_compute(1) / step).
struct ScalingModel {
    var specPath: String
    var ranks: [Int]
    var linkGbps: [Double]
    var latencyMicroseconds: Double
    var iterations: Int
    var warmup: Int
    var gemm: GEMMKernel

    struct Row {
        var ranks: Int, batch: Int, computeMs: Double, payload: Int
        var links: [(gbps: Double, commMs: Double, bestMs: Double, worstMs: Double)]
    }

    func run(feed: (Program, Graph, [String: [Float]]) throws -> Void) throws -> (String, [Row]) {
        let spec = try loadSpec(path: specPath)
        let model = try makeModel(spec)
        let params = try model.initialParameters(seed: 1)
        var rows: [Row] = []
        for n in ranks {
            guard n >= 1, spec.batchSize % n == 0 else {
                throw CLIError("error: --ranks \(n): the spec's batch_size \(spec.batchSize) does not split over \(n) ranks")
            }
            let b = spec.batchSize / n
            let step = try model.trainStepGraph(batch: b, dataParallel: n > 1 ? DataParallel(rank: 0, ranks: n, batch: b) : nil)
            let program = try JITProgram(step, gemm: gemm)
            try feed(program, program.graph, params)
            program.carryOutputs(prefix: TrainStepNames.updatedPrefix)
            let ms = try stepMilliseconds(program, warmup: warmup, steps: iterations)
            let compute = ms[ms.count / 2]
            // The payload of the gradients (what N > 1 ranks all-reduce every step).
            let payload = step.parameters.reduce(0) { $0 + step[$1.node].elementCount * step[$1.node].dtype.byteSize }
            let links = linkGbps.map { g -> (Double, Double, Double, Double) in
                let bytes = BucketAllReduce.ringBytesPerRank(payload: payload, ranks: n)
                let comm = n > 1 ? (bytes * 8 / (g * 1e9) + Double(2 * (n - 1)) * latencyMicroseconds * 1e-6) * 1000 : 0
                return (g, comm, max(compute, comm), compute + comm)
            }
            rows.append(Row(ranks: n, batch: b, computeMs: compute, payload: payload, links: links))
            FileHandle.standardError.write("ranks \(n): batch \(b) per rank, step \(String(format: "%.2f", compute)) ms (median of \(ms.count))\n".data(using: .utf8)!)
        }
        let base = rows.first { $0.ranks == 1 }?.computeMs
        var out = "scaling model: \(spec.name), global batch \(spec.batchSize); JIT step of one rank measured here (GEMM: \(gemm.rawValue));\n"
        out += "  all-reduce of the gradients, \(bytes(rows.first?.payload ?? 0)) a step, as a ring: 2(N−1)/N × that per rank, \(String(format: "%g", latencyMicroseconds)) µs a message\n"
        var header = "ranks  batch/rank  compute ms"
        for g in linkGbps {
            let tag = String(format: "%g", g)
            header += "  | @\(tag) Gbit/s: comm ms   step ms (hidden–not)   speed-up"
        }
        out += header + "\n"
        for r in rows {
            var line = String(format: "%5d  %10d  %10.2f", r.ranks, r.batch, r.computeMs)
            for l in r.links {
                let su = base.map { String(format: "%.2f–%.2f×", $0 / l.worstMs, $0 / l.bestMs) } ?? "-"
                line += String(format: "  |          %8.2f   %7.2f–%-7.2f       %@", l.commMs, l.bestMs, l.worstMs, su as NSString)
            }
            out += line + "\n"
        }
        if base == nil { out += "(include 1 in --ranks for the speed-ups)\n" }
        return (out, rows)
    }
}

/// `mpirun -np N vsc bench --allreduce [--spec S]`: the blocking all-reduce of a step's gradients
/// (the spec's parameter bytes, or --allreduce-mib) timed over the real ranks and links, to set
/// the scaling model's link figures from a measurement.
enum AllReduceBench {
    static func run(payload: Int, iterations: Int, warmup: Int) throws -> String? {
        guard Collective.launchedByMPI else {
            throw CLIError("error: --allreduce times MPI's all-reduce: run it under mpirun with 2 or more ranks (mpirun -np 2 vsc bench --allreduce …)")
        }
        let world = Collective.start()
        defer { Collective.finalize() }
        guard world.size > 1 else { throw CLIError("error: --allreduce needs 2 or more ranks (mpirun -np N with N ≥ 2)") }
        let count = max(1, payload / 4)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1, count: count)
        for _ in 0..<warmup { Collective.allreduceSum(buffer, count: count) }
        var ms: [Double] = []
        for _ in 0..<max(1, iterations) {
            Collective.barrier()
            let t = DispatchTime.now().uptimeNanoseconds
            Collective.allreduceSum(buffer, count: count)
            ms.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
        }
        ms.sort()
        guard world.rank == 0 else { return nil }
        let median = ms[ms.count / 2]
        let ring = BucketAllReduce.ringBytesPerRank(payload: count * 4, ranks: world.size)
        return String(format: "all-reduce of %@ over %d ranks (%d on this host): median %.2f ms (min %.2f, max %.2f, %d runs);"
                      + " ring traffic %@ per rank → %.2f Gbit/s per rank\n",
                      bytes(count * 4) as NSString, world.size, world.localSize, median, ms.first!, ms.last!, ms.count,
                      bytes(Int(ring)) as NSString, ring * 8 / (median / 1000) / 1e9)
    }
}
