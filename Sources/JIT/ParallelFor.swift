// ParallelFor: run a JIT-compiled kernel over [0, n) on the calling thread plus one persistent
// worker thread, with no allocation and no locks on the hot path.
//
// Kernel ABI (what the emitter generates for a parallel kernel):
//   void @kernel(i8** %args, i64 %begin, i64 %end)
// `args` is a caller-owned array of buffer pointers (and scalars by pointer); the kernel handles
// indices begin..<end. Chunks are disjoint and cover [0, n) exactly once.
//
// Protocol. One 64-bit `ticket` = generation << 32 | next chunk index. `run` writes the job into
// the slot of the new generation's parity, publishes the ticket, wakes the worker if it sleeps,
// and then both threads claim chunks by CAS on the ticket (a claim for a stale generation fails,
// so a worker that wakes late never runs a chunk of a finished job). The caller spins until every
// chunk is done. After a job the worker spins for `spinMicroseconds` before sleeping on a condition
// variable, so back-to-back kernels of a training step never pay a wake-up; `park()` sends it to
// sleep at once (before work that wants both cores for itself; the JIT's GEMMs no longer need
// it: they run on this pool, with OpenBLAS single-threaded).
// If another thread is already using the pool, `run` executes the whole range on its own thread.

import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `void kernel(void **args, int64_t begin, int64_t end)`.
public typealias ParallelKernel = @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>?, Int64, Int64) -> Void

public final class ParallelFor: @unchecked Sendable {
    /// A process-wide pool (one worker thread, created on first use).
    public static let shared = ParallelFor()

    /// Threads that run chunks: the caller and one worker.
    public let threadCount = 2
    private let state: PoolState
    private var worker = pthread_t()

    /// - Parameter spinMicroseconds: how long the idle worker busy-waits for the next job before
    ///   sleeping (CPU time burnt on a shared machine vs. ~50 µs wake-up latency).
    public init(spinMicroseconds: Int = 200) {
        state = PoolState(spinNanoseconds: UInt64(spinMicroseconds) * 1000)
        let ctx = Unmanaged.passRetained(state).toOpaque()
        let rc = pthread_create(&worker, nil, { ctx in
            let s = Unmanaged<PoolState>.fromOpaque(ctx!).takeRetainedValue()
            s.workerLoop()
            return nil
        }, ctx)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    deinit {
        state.stop.store(true, ordering: .sequentiallyConsistent)
        state.wake()
        pthread_join(worker, nil)
    }

    /// Runs `kernel(args, begin, end)` over disjoint chunks covering [0, n).
    /// - chunks: number of pieces (more than 2 balances load when a core is busy elsewhere).
    /// - alignment: chunk boundaries are multiples of this (keeps vector loops on full vectors).
    /// - serialBelow: ranges smaller than this run as one call on the calling thread.
    public func run(_ kernel: ParallelKernel, args: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                    count n: Int, chunks: Int = 4, alignment: Int = 16, serialBelow: Int = 16_384) {
        if n <= 0 { return }
        let k = min(max(1, chunks), max(1, n / max(1, alignment)), Int(UInt32.max))
        if n < serialBelow || k == 1 || !state.busy.compareExchange(expected: false, desired: true,
                                                                      ordering: .acquiring).exchanged {
            kernel(args, 0, Int64(n))
            return
        }
        let job = Job(kernel: unsafeBitCast(kernel, to: UInt.self), args: UInt(bitPattern: args),
                      n: n, chunks: k, alignment: max(1, alignment))
        if state.parkRequested.load(ordering: .relaxed) { state.parkRequested.store(false, ordering: .relaxed) }
        let gen = (state.ticket.load(ordering: .sequentiallyConsistent) >> 32) &+ 1
        state.store(job, parity: Int(gen & 1))
        state.done.store(0, ordering: .sequentiallyConsistent)
        state.ticket.store(gen << 32, ordering: .sequentiallyConsistent)
        if state.sleeping.load(ordering: .sequentiallyConsistent) { state.wake() }
        state.work(generation: gen, job)
        // The worker is finishing its last chunk. Yield now and then: if it was descheduled
        // (2 shared cores), spinning here would only delay it.
        var spins = 0
        while state.done.load(ordering: .acquiring) < k {
            spins &+= 1
            if spins & 1023 == 0 { sched_yield() }
        }
        state.busy.store(false, ordering: .releasing)
    }

    /// Asks the idle worker to stop spinning and sleep now, before work on other threads that
    /// needs both cores. The next `run` wakes it (one wake-up, ~tens of µs).
    public func park() {
        state.parkRequested.store(true, ordering: .releasing)
    }

    /// The same split run through `DispatchQueue.concurrentPerform` (for comparison benchmarks).
    public func runWithDispatch(_ kernel: ParallelKernel, args: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                count n: Int, chunks: Int = 4, alignment: Int = 16) {
        let job = Job(kernel: 0, args: 0, n: n, chunks: max(1, chunks), alignment: max(1, alignment))
        DispatchQueue.concurrentPerform(iterations: job.chunks) { i in
            let (b, e) = job.bounds(i)
            if b < e { kernel(args, Int64(b), Int64(e)) }
        }
    }
}

struct Job {
    var kernel: UInt, args: UInt, n: Int, chunks: Int, alignment: Int
    @inline(__always) func bounds(_ i: Int) -> (Int, Int) {
        func edge(_ j: Int) -> Int {
            if j >= chunks { return n }
            let raw = Int((Int64(j) * Int64(n)) / Int64(chunks))
            return raw / alignment * alignment
        }
        return (edge(i), edge(i + 1))
    }
}

final class PoolState: @unchecked Sendable {
    let ticket = Atomic<UInt64>(0)
    let done = Atomic<Int>(0)
    let busy = Atomic<Bool>(false)
    let sleeping = Atomic<Bool>(false)
    let stop = Atomic<Bool>(false)
    let parkRequested = Atomic<Bool>(false)
    // Two job slots, by generation parity (see the protocol above).
    let kernel0 = Atomic<UInt>(0), args0 = Atomic<UInt>(0), n0 = Atomic<Int>(0), chunks0 = Atomic<Int>(0), align0 = Atomic<Int>(1)
    let kernel1 = Atomic<UInt>(0), args1 = Atomic<UInt>(0), n1 = Atomic<Int>(0), chunks1 = Atomic<Int>(0), align1 = Atomic<Int>(1)
    let spinNanoseconds: UInt64
    let mutex: UnsafeMutablePointer<pthread_mutex_t>
    let cond: UnsafeMutablePointer<pthread_cond_t>

    init(spinNanoseconds: UInt64) {
        self.spinNanoseconds = spinNanoseconds
        mutex = .allocate(capacity: 1); pthread_mutex_init(mutex, nil)
        cond = .allocate(capacity: 1); pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond); cond.deallocate()
        pthread_mutex_destroy(mutex); mutex.deallocate()
    }

    func store(_ j: Job, parity: Int) {
        if parity == 0 {
            kernel0.store(j.kernel, ordering: .relaxed); args0.store(j.args, ordering: .relaxed)
            n0.store(j.n, ordering: .relaxed); chunks0.store(j.chunks, ordering: .relaxed); align0.store(j.alignment, ordering: .relaxed)
        } else {
            kernel1.store(j.kernel, ordering: .relaxed); args1.store(j.args, ordering: .relaxed)
            n1.store(j.n, ordering: .relaxed); chunks1.store(j.chunks, ordering: .relaxed); align1.store(j.alignment, ordering: .relaxed)
        }
    }

    func load(parity: Int) -> Job {
        parity == 0
            ? Job(kernel: kernel0.load(ordering: .relaxed), args: args0.load(ordering: .relaxed), n: n0.load(ordering: .relaxed),
                  chunks: chunks0.load(ordering: .relaxed), alignment: align0.load(ordering: .relaxed))
            : Job(kernel: kernel1.load(ordering: .relaxed), args: args1.load(ordering: .relaxed), n: n1.load(ordering: .relaxed),
                  chunks: chunks1.load(ordering: .relaxed), alignment: align1.load(ordering: .relaxed))
    }

    /// Claims and runs chunks of generation `gen` until none are left (or the job is stale).
    @inline(__always)
    func work(generation gen: UInt64, _ job: Job) {
        let kernel = unsafeBitCast(job.kernel, to: ParallelKernel.self)
        let args = UnsafeMutablePointer<UnsafeMutableRawPointer?>(bitPattern: job.args)
        while true {
            let t = ticket.load(ordering: .sequentiallyConsistent)
            if t >> 32 != gen { return }
            let i = Int(t & 0xFFFF_FFFF)
            if i >= job.chunks { return }
            if ticket.compareExchange(expected: t, desired: t &+ 1, ordering: .sequentiallyConsistent).exchanged {
                let (b, e) = job.bounds(i)
                if b < e { kernel(args, Int64(b), Int64(e)) }
                done.add(1, ordering: .releasing)
            }
        }
    }

    func wake() {
        pthread_mutex_lock(mutex)
        pthread_cond_signal(cond)
        pthread_mutex_unlock(mutex)
    }

    func workerLoop() {
        var seen: UInt64 = 0
        while true {
            var t = ticket.load(ordering: .sequentiallyConsistent)
            if t >> 32 == seen {
                let start = DispatchTime.now().uptimeNanoseconds
                var spins = 0
                while t >> 32 == seen && !stop.load(ordering: .relaxed) {
                    spins &+= 1
                    if spins & 255 == 0 && (parkRequested.exchange(false, ordering: .acquiring)
                                            || DispatchTime.now().uptimeNanoseconds - start > spinNanoseconds) {
                        pthread_mutex_lock(mutex)
                        sleeping.store(true, ordering: .sequentiallyConsistent)
                        t = ticket.load(ordering: .sequentiallyConsistent)
                        while t >> 32 == seen && !stop.load(ordering: .sequentiallyConsistent) {
                            pthread_cond_wait(cond, mutex)
                            t = ticket.load(ordering: .sequentiallyConsistent)
                        }
                        sleeping.store(false, ordering: .sequentiallyConsistent)
                        pthread_mutex_unlock(mutex)
                        break
                    }
                    t = ticket.load(ordering: .sequentiallyConsistent)
                }
            }
            if stop.load(ordering: .sequentiallyConsistent) { return }
            seen = t >> 32
            work(generation: seen, load(parity: Int(seen & 1)))
        }
    }
}
