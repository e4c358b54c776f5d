import Glibc

/// The element types reference semantics are defined over, with the math they need.
public protocol ScalarMath: BinaryFloatingPoint, Sendable {
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func log1p(_ x: Self) -> Self
    static func sqrt(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func cos(_ x: Self) -> Self
    static func pow(_ x: Self, _ y: Self) -> Self
}

extension Float: ScalarMath {
    public static func exp(_ x: Float) -> Float { Glibc.expf(x) }
    public static func log(_ x: Float) -> Float { Glibc.logf(x) }
    public static func log1p(_ x: Float) -> Float { Glibc.log1pf(x) }
    public static func sqrt(_ x: Float) -> Float { x.squareRoot() }
    public static func tanh(_ x: Float) -> Float { Glibc.tanhf(x) }
    public static func cos(_ x: Float) -> Float { Glibc.cosf(x) }
    public static func pow(_ x: Float, _ y: Float) -> Float { Glibc.powf(x, y) }
}

extension Double: ScalarMath {
    public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    public static func log(_ x: Double) -> Double { Glibc.log(x) }
    public static func log1p(_ x: Double) -> Double { Glibc.log1p(x) }
    public static func sqrt(_ x: Double) -> Double { x.squareRoot() }
    public static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
    public static func cos(_ x: Double) -> Double { Glibc.cos(x) }
    public static func pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
}

/// The reference semantics of every op that needs no BLAS and no enclosing program: what the
/// interpreter executes, what constant folding computes, what the JIT's kernels must match.
public enum Semantics {
    /// The value of `n` from its operand values and shapes; nil for leaves fed from outside,
    /// `arg`, matmul, convolutions and fused kernels (the interpreter handles those).
    @inlinable public static func evaluate<T: ScalarMath>(_ n: Node, _ ins: [[T]], shapes: [Shape]) -> [T]? {
        let count = n.elementCount
        switch n.op {
        case .constant(let c):
            switch c {
            case .splat(let x): return [T](repeating: T(x), count: count)
            case .dense(let xs): return xs.map { T($0) }
            }
        case .randomUniform(let seed):
            let base = CounterRNG.base(seed: seed, key: ins.first.map { CounterRNG.key(Double($0[0])) } ?? 0)
            return (0..<count).map { T(CounterRNG.uniform(base: base, UInt32(truncatingIfNeeded: $0))) }
        case .randomNormal(let seed):
            let base = CounterRNG.base(seed: seed, key: ins.first.map { CounterRNG.key(Double($0[0])) } ?? 0)
            return (0..<count).map { i -> T in
                let u1 = T(CounterRNG.uniform(base: base, UInt32(truncatingIfNeeded: 2 * i)))
                let u2 = T(CounterRNG.uniform(base: base, UInt32(truncatingIfNeeded: 2 * i + 1)))
                return T.sqrt(-2 * T.log(u1)) * T.cos(2 * T.pi * u2)
            }
        case .broadcast:
            return gather(ins[0], map: BroadcastMap(from: shapes[0], to: n.shape))
        case .reshape:
            return ins[0]
        case .transpose(let perm):
            return gather(ins[0], map: TransposeMap(perm: perm, outShape: n.shape))
        case .slice(let start, _):
            return gather(ins[0], map: SliceMap(start: start, outShape: n.shape, inShape: shapes[0]))
        case .concat(let axis):
            // Interleave blocks: outer = product of dims before axis; each operand contributes
            // its axis extent × inner contiguous elements per outer index.
            let outer = n.shape[..<axis].reduce(1, *)
            var out: [T] = []; out.reserveCapacity(count)
            let blocks = ins.map { $0.count / max(outer, 1) }
            for o in 0..<outer { for (x, blk) in zip(ins, blocks) { out.append(contentsOf: x[(o * blk)..<((o + 1) * blk)]) } }
            return out
        case .unary(let u):
            return ins[0].map { Elementwise.unary(u, $0) }
        case .binary(let b):
            let x = ins[0], y = ins[1]
            return (0..<count).map { Elementwise.binary(b, x[$0], y[$0]) }
        case .compare(let c):
            let x = ins[0], y = ins[1]
            return (0..<count).map { Elementwise.compare(c, x[$0], y[$0]) }
        case .select:
            let c = ins[0], x = ins[1], y = ins[2]
            return (0..<count).map { c[$0] != 0 ? x[$0] : y[$0] }
        case .reduce(let r, let axes):
            let s = shapes[0]
            return reduce(ins[0], shape: s, axes: axes, op: r, outCount: count)
        case .allReduce:
            // A sum over the ranks of a run: the backends compute it (`Collective`); never folded.
            return nil
        case .parameter, .input, .arg, .matmul, .fused, .conv2d, .convTranspose2d, .conv2dFilterGrad:
            // Convolutions run as im2col + GEMM (Runtime's `Convolution`; the direct loops of
            // `ConvolutionReference` are the tests' reference).
            return nil
        }
    }
}

/// Reference semantics of the elementwise ops (NaN propagates through every one of them).
public enum Elementwise {
    @inlinable public static func unary<T: ScalarMath>(_ u: UnaryOp, _ x: T) -> T {
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
    @inlinable public static func binary<T: ScalarMath>(_ b: BinaryOp, _ x: T, _ y: T) -> T {
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
    @inlinable public static func compare<T: ScalarMath>(_ c: CompareOp, _ x: T, _ y: T) -> T {
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

/// Row-major strides of a shape.
@inlinable public func strides(_ s: Shape) -> [Int] {
    var st = Array(repeating: 1, count: s.count)
    var acc = 1
    for d in stride(from: s.count - 1, through: 0, by: -1) { st[d] = acc; acc *= s[d] }
    return st
}

/// A map from output flat index to input flat index, walked with an odometer over the output
/// shape: `inStrides[d]` is how far the input index moves when output axis d steps.
public protocol IndexMap {
    var outShape: Shape { get }
    var inStrides: [Int] { get }
    var inOffset: Int { get }
}

public struct BroadcastMap: IndexMap {
    public let outShape: Shape, inStrides: [Int], inOffset = 0
    @inlinable public init(from s: Shape, to t: Shape) {
        outShape = t
        let st = strides(s), off = t.count - s.count
        inStrides = (0..<t.count).map { d in d < off || s[d - off] == 1 ? 0 : st[d - off] }
    }
}

public struct TransposeMap: IndexMap {
    public let outShape: Shape, inStrides: [Int], inOffset = 0
    @inlinable public init(perm: [Int], outShape: Shape) {
        self.outShape = outShape
        var inShape = Array(repeating: 0, count: perm.count)
        for (o, i) in perm.enumerated() { inShape[i] = outShape[o] }
        let st = strides(inShape)
        inStrides = perm.map { st[$0] }
    }
}

public struct SliceMap: IndexMap {
    public let outShape: Shape, inStrides: [Int], inOffset: Int
    @inlinable public init(start: [Int], outShape: Shape, inShape: Shape) {
        self.outShape = outShape
        inStrides = strides(inShape)
        inOffset = zip(start, inStrides).map(*).reduce(0, +)
    }
}

@inlinable public func gather<T>(_ x: [T], map: some IndexMap) -> [T] {
    let n = map.outShape.elementCount
    if n == 0 { return [] }
    var out = [T](); out.reserveCapacity(n)
    let rank = map.outShape.count
    if rank == 0 { return [x[map.inOffset]] }
    var idx = Array(repeating: 0, count: rank)
    var src = map.inOffset
    let last = rank - 1, lastExtent = map.outShape[last], lastStride = map.inStrides[last]
    while true {
        var s = src
        for _ in 0..<lastExtent { out.append(x[s]); s += lastStride }
        // Advance the odometer over axes 0..<last.
        var d = last - 1
        while d >= 0 {
            idx[d] += 1; src += map.inStrides[d]
            if idx[d] < map.outShape[d] { break }
            src -= map.inStrides[d] * idx[d]; idx[d] = 0; d -= 1
        }
        if d < 0 { return out }
    }
}

/// Reduces `x` (of `shape`) over `axes`, accumulating in Double (so the Float32 reference is not
/// at the mercy of summation order).
@inlinable public func reduce<T: ScalarMath>(_ x: [T], shape: Shape, axes: [Int], op: ReduceOp, outCount: Int) -> [T] {
    var acc = [Double](repeating: op == .max ? -Double.infinity : 0, count: outCount)
    // Output stride per input axis (0 for reduced axes).
    let outShape = shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
    let ost = strides(outShape)
    var outStride = [Int](); var k = 0
    for d in 0..<shape.count { if axes.contains(d) { outStride.append(0) } else { outStride.append(ost[k]); k += 1 } }
    let rank = shape.count
    if x.isEmpty { return op == .mean ? acc.map { _ in T.nan } : acc.map { T($0) } }
    var idx = Array(repeating: 0, count: rank)
    var o = 0
    for v in x {
        switch op {
        case .sum, .mean: acc[o] += Double(v)
        case .max: if Double(v) > acc[o] || v.isNaN { acc[o] = Double(v) }
        }
        var d = rank - 1
        while d >= 0 {
            idx[d] += 1; o += outStride[d]
            if idx[d] < shape[d] { break }
            o -= outStride[d] * idx[d]; idx[d] = 0; d -= 1
        }
    }
    if op == .mean {
        let n = Double(axes.map { shape[$0] }.reduce(1, *))
        return acc.map { T($0 / n) }
    }
    return acc.map { T($0) }
}
