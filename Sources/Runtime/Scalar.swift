import Glibc
import CBLAS
import IR

/// The element types the interpreter computes in. Semantics of each op are written once,
/// generically, here; the JIT backend lowers the same formulas.
public protocol InterpScalar: BinaryFloatingPoint, Sendable {
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func log1p(_ x: Self) -> Self
    static func sqrt(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func cos(_ x: Self) -> Self
    static func pow(_ x: Self, _ y: Self) -> Self
    /// Row-major C = op(A)·op(B).
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                     a: UnsafePointer<Self>, b: UnsafePointer<Self>, c: UnsafeMutablePointer<Self>)
}

extension Float: InterpScalar {
    public static func exp(_ x: Float) -> Float { Glibc.expf(x) }
    public static func log(_ x: Float) -> Float { Glibc.logf(x) }
    public static func log1p(_ x: Float) -> Float { Glibc.log1pf(x) }
    public static func sqrt(_ x: Float) -> Float { x.squareRoot() }
    public static func tanh(_ x: Float) -> Float { Glibc.tanhf(x) }
    public static func cos(_ x: Float) -> Float { Glibc.cosf(x) }
    public static func pow(_ x: Float, _ y: Float) -> Float { Glibc.powf(x, y) }
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(transA ? m : k), b, Int32(transB ? k : n), 0, c, Int32(n))
    }
}

extension Double: InterpScalar {
    public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    public static func log(_ x: Double) -> Double { Glibc.log(x) }
    public static func log1p(_ x: Double) -> Double { Glibc.log1p(x) }
    public static func sqrt(_ x: Double) -> Double { x.squareRoot() }
    public static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
    public static func cos(_ x: Double) -> Double { Glibc.cos(x) }
    public static func pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            a: UnsafePointer<Double>, b: UnsafePointer<Double>, c: UnsafeMutablePointer<Double>) {
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(transA ? m : k), b, Int32(transB ? k : n), 0, c, Int32(n))
    }
}

/// Reference semantics of the elementwise ops (NaN propagates through every one of them).
public enum Elementwise {
    @inlinable public static func unary<T: InterpScalar>(_ u: UnaryOp, _ x: T) -> T {
        switch u {
        case .neg: return -x
        case .exp: return T.exp(x)
        case .log: return T.log(x)
        case .log1p: return T.log1p(x)
        case .sqrt: return T.sqrt(x)
        case .square: return x * x
        case .relu: return x < 0 ? 0 : x
        // Stable forms: never exponentiate a large positive number.
        case .sigmoid:
            if x >= 0 { return 1 / (1 + T.exp(-x)) }
            let e = T.exp(x); return e / (1 + e)
        case .softplus: return (x < 0 ? 0 : x) + T.log1p(T.exp(-Swift.abs(x)))
        case .tanh: return T.tanh(x)
        case .abs: return Swift.abs(x)
        case .step: return x > 0 ? 1 : (x.isNaN ? x : 0)
        }
    }
    @inlinable public static func binary<T: InterpScalar>(_ b: BinaryOp, _ x: T, _ y: T) -> T {
        switch b {
        case .add: return x + y
        case .sub: return x - y
        case .mul: return x * y
        case .div: return x / y
        case .max: return x.isNaN || x >= y ? x : y
        case .min: return x.isNaN || x <= y ? x : y
        case .pow: return T.pow(x, y)
        }
    }
    @inlinable public static func compare<T: InterpScalar>(_ c: CompareOp, _ x: T, _ y: T) -> T {
        let r: Bool
        switch c {
        case .lt: r = x < y
        case .le: r = x <= y
        case .gt: r = x > y
        case .ge: r = x >= y
        case .eq: r = x == y
        case .ne: r = x != y
        }
        return r ? 1 : 0
    }
}
