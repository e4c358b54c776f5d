import CMPI
import Foundation
import Synchronization

/// The processes of a data-parallel run (MPI's COMM_WORLD) and the collectives the backends and
/// the trainer use. MPI is initialised only by `start()` (`vsc train` calls it first) in a process
/// `mpirun` started (OpenMPI's `OMPI_COMM_WORLD_SIZE`, or PMIx's `PMIX_RANK`, in the
/// environment); every other process — and every command but `vsc train`, even under mpirun — is
/// rank 0 of 1, never calls MPI, and an `allreduce` is the identity there.
///
/// One thread at a time calls MPI (`MPI_THREAD_SERIALIZED`): the training loop's. Errors are
/// MPI's default (`MPI_ERRORS_ARE_FATAL`): a failed collective ends the job.
public enum Collective {
    public struct World: Sendable {
        public let rank: Int
        public let size: Int
        /// Ranks on this host (`OMPI_COMM_WORLD_LOCAL_SIZE`; 1 outside mpirun).
        public let localSize: Int
        /// True when MPI was initialised (launched by mpirun, even with one rank).
        public let usesMPI: Bool
        public var isDistributed: Bool { size > 1 }
    }

    /// True when the environment says mpirun (or another PMIx launcher) started this process.
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    /// One process, no MPI.
    public static let single = World(rank: 0, size: 1, localSize: 1, usesMPI: false)
    /// Set once by `start()`, before any other thread uses it.
    nonisolated(unsafe) private static var started: World?

    /// This process's place in the world: the one `start()` found, else rank 0 of 1.
    public static var world: World { started ?? single }

    /// Initialises MPI when mpirun started this process (else nothing) and returns the world.
    /// Call once, first thing, on the thread that will call MPI.
    @discardableResult
    public static func start() -> World {
        if let w = started { return w }
        let w = initialise()
        started = w
        return w
    }

    private static func initialise() -> World {
        guard launchedByMPI else { return single }
        if vsc_mpi_initialized() == 0 {
            guard vsc_mpi_init() >= 0 else {
                FileHandle.standardError.write("error: MPI_Init_thread failed (started by mpirun, but MPI would not initialise)\n".data(using: .utf8)!)
                exit(1)
            }
        }
        let local = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? 1
        return World(rank: Int(vsc_mpi_rank()), size: Int(vsc_mpi_size()), localSize: max(1, local), usesMPI: true)
    }

    /// Sums `count` values over every rank, in place (blocking). Nothing on one rank.
    public static func allreduceSum(_ p: UnsafeMutablePointer<Float>, count: Int) {
        guard world.isDistributed, count > 0 else { return }
        let t0 = DispatchTime.now().uptimeNanoseconds
        check(vsc_mpi_allreduce_float(p, Int64(count)), "MPI_Allreduce")
        blockingNanoseconds.add(DispatchTime.now().uptimeNanoseconds - t0, ordering: .relaxed)
    }
    public static func allreduceSum(_ p: UnsafeMutablePointer<Double>, count: Int) {
        guard world.isDistributed, count > 0 else { return }
        let t0 = DispatchTime.now().uptimeNanoseconds
        check(vsc_mpi_allreduce_double(p, Int64(count)), "MPI_Allreduce")
        blockingNanoseconds.add(DispatchTime.now().uptimeNanoseconds - t0, ordering: .relaxed)
    }

    private static let blockingNanoseconds = Atomic<UInt64>(0)
    /// Seconds this process spent in blocking all-reduces (the interpreter's `allreduce` nodes,
    /// the trainer's loss terms) since it started.
    public static var blockingSeconds: Double { Double(blockingNanoseconds.load(ordering: .relaxed)) / 1e9 }

    /// Every rank's words, in rank order (the same count on every rank). `[mine]` on one rank.
    public static func allgather(_ mine: [UInt64]) -> [[UInt64]] {
        guard world.isDistributed else { return [mine] }
        var out = [UInt64](repeating: 0, count: mine.count * world.size)
        mine.withUnsafeBufferPointer { m in
            out.withUnsafeMutableBufferPointer { o in
                check(vsc_mpi_allgather_u64(m.baseAddress!, o.baseAddress!, Int32(mine.count)), "MPI_Allgather")
            }
        }
        return (0..<world.size).map { Array(out[($0 * mine.count)..<(($0 + 1) * mine.count)]) }
    }

    /// Rank 0's bytes on every rank (`mine` is rank 0's, ignored elsewhere): its length, then the
    /// bytes, each an MPI_Bcast. On one rank, `mine`.
    public static func broadcastFromRank0(_ mine: [UInt8]?) -> [UInt8] {
        guard world.isDistributed else { return mine ?? [] }
        var count = UInt64(world.rank == 0 ? mine!.count : 0)
        check(vsc_mpi_bcast_bytes(&count, 8), "MPI_Bcast")
        var bytes = world.rank == 0 ? mine! : [UInt8](repeating: 0, count: Int(count))
        var done = 0
        while done < bytes.count {
            let chunk = min(bytes.count - done, 1 << 30)
            bytes.withUnsafeMutableBufferPointer { check(vsc_mpi_bcast_bytes($0.baseAddress! + done, Int64(chunk)), "MPI_Bcast") }
            done += chunk
        }
        return bytes
    }

    /// Waits for every rank (nothing on one rank).
    public static func barrier() {
        guard world.isDistributed else { return }
        check(vsc_mpi_barrier(), "MPI_Barrier")
    }

    /// Ends MPI cleanly (after the last collective); nothing outside mpirun.
    public static func finalize() {
        guard world.usesMPI, vsc_mpi_finalized() == 0 else { return }
        _ = vsc_mpi_finalize()
    }

    /// Stops every rank of the job (MPI_Abort: mpirun kills the others and names this rank).
    /// Outside mpirun: `exit(code)`.
    public static func abort(_ code: Int32) -> Never {
        if world.usesMPI { vsc_mpi_abort(code) }
        exit(code)
    }

    static func check(_ rc: Int32, _ what: String) {
        guard rc != 0 else { return }
        FileHandle.standardError.write("error: \(what) failed with MPI error \(rc) on rank \(world.rank) of \(world.size)\n".data(using: .utf8)!)
        abort(1)
    }
}

/// One bucket's non-blocking all-reduce (`MPI_Iallreduce`, sum) from `send` into `recv`: started
/// as soon as its gradients are complete, progressed (`test`) between later steps, waited for just
/// before its first reader. Used by the JIT; plain memory, no Swift dispatch on the hot path.
public struct AllReduceRequest {
    public var send: UnsafeMutablePointer<Float>?
    public var recv: UnsafeMutablePointer<Float>?
    public var count: Int
    var request = vsc_mpi_request()
    /// Nanoseconds spent waiting (the communication the backward pass did not hide), summed.
    public var waitNanoseconds: UInt64 = 0

    public init(count: Int) { self.count = count; vsc_mpi_request_init(&request) }

    public mutating func start() {
        guard Collective.world.isDistributed else {
            if send != recv { recv!.update(from: send!, count: count) }
            return
        }
        Collective.check(vsc_mpi_iallreduce_float(send, recv, Int64(count), &request), "MPI_Iallreduce")
    }
    public mutating func test() {
        guard Collective.world.isDistributed else { return }
        _ = vsc_mpi_test(&request)
    }
    public mutating func wait() {
        guard Collective.world.isDistributed else { return }
        let t0 = DispatchTime.now().uptimeNanoseconds
        Collective.check(vsc_mpi_wait(&request), "MPI_Wait")
        waitNanoseconds &+= DispatchTime.now().uptimeNanoseconds - t0
    }
}
