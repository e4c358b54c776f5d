import Glibc
import CBLAS
import Synchronization
import IR

/// The element types the interpreter computes in: the reference math of `ScalarMath` (IR's
/// `Semantics`) plus a BLAS matrix product.
public protocol InterpScalar: ScalarMath {
    /// Row-major C = op(A)·op(B).
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                     a: UnsafePointer<Self>, b: UnsafePointer<Self>, c: UnsafeMutablePointer<Self>)
}

extension Float: InterpScalar {
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(transA ? m : k), b, Int32(transB ? k : n), 0, c, Int32(n))
    }
}

extension Double: InterpScalar {
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            a: UnsafePointer<Double>, b: UnsafePointer<Double>, c: UnsafeMutablePointer<Double>) {
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(transA ? m : k), b, Int32(transB ? k : n), 0, c, Int32(n))
    }
}


/// Who owns OpenBLAS's threads. The interpreter lets OpenBLAS use all of them (its default, or
/// `OPENBLAS_NUM_THREADS`); a JIT program runs its GEMMs single-threaded, split over its own
/// thread pool, so that OpenBLAS's workers (which spin after each call) never compete with the
/// pool's for the cores. Each backend calls `use(_:)` before it runs; the call is a compare
/// when the count is already right, and concurrent sgemm calls stay correct either way.
public enum BLASThreads {
    /// OpenBLAS's thread count when this process first asked (before anyone changed it).
    public static let available: Int = Int(openblas_get_num_threads())
    private static let current = Atomic<Int>(-1)
    /// The most threads `useAll` takes (`limitAll`); no limit by default.
    private static let cap = Atomic<Int>(Int.max)

    /// Makes OpenBLAS use `count` threads (clamped to 1…`available`).
    public static func use(_ count: Int) {
        let n = min(max(1, count), available)
        if current.exchange(n, ordering: .relaxed) != n { openblas_set_num_threads(Int32(n)) }
    }

    /// All of OpenBLAS's threads (the interpreter's setting), up to `limitAll`'s bound.
    public static func useAll() { use(min(available, cap.load(ordering: .relaxed))) }
    /// Bounds what `useAll` takes: a data-parallel run with several ranks on one host gives each
    /// rank its share of the cores.
    public static func limitAll(to count: Int) { cap.store(max(1, count), ordering: .relaxed) }
}

extension InterpScalar {
    /// The `allreduce` op's value: the sum of `values` over every rank (`Collective`); the values
    /// themselves on one rank.
    static func sumOverRanks(_ values: [Self]) -> [Self] {
        var v = values
        v.withUnsafeMutableBufferPointer { p in
            guard let base = p.baseAddress else { return }
            if Self.self == Float.self {
                base.withMemoryRebound(to: Float.self, capacity: p.count) { Collective.allreduceSum($0, count: p.count) }
            } else if Self.self == Double.self {
                base.withMemoryRebound(to: Double.self, capacity: p.count) { Collective.allreduceSum($0, count: p.count) }
            } else {
                precondition(!Collective.world.isDistributed, "allreduce over ranks supports Float and Double")
            }
        }
        return v
    }
}
