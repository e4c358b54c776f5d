/// Elementwise functions of one argument.
public enum UnaryOp: String, Hashable, Sendable, CaseIterable {
    case neg, exp, log, log1p, sqrt, square, relu, sigmoid, softplus, tanh, abs
    /// Heaviside step: 1 where x > 0, else 0.
    case step
}

/// Elementwise functions of two arguments of the same shape.
public enum BinaryOp: String, Hashable, Sendable, CaseIterable {
    case add, sub, mul, div, max, min, pow
}

/// Elementwise comparisons; the result is 1 where true, 0 where false, in the graph's dtype.
public enum CompareOp: String, Hashable, Sendable, CaseIterable {
    case lt, le, gt, ge, eq, ne
}

/// Reductions over a set of axes (the axes are removed from the shape).
public enum ReduceOp: String, Hashable, Sendable, CaseIterable {
    case sum, mean, max
}

/// The value of a constant node: one number splatted over the shape, or one number per element.
/// Hashing and equality use the bit patterns, so `-0.0` and `0.0` (or two NaNs) stay distinct nodes.
public enum ConstantValue: Hashable, Sendable {
    case splat(Double)
    case dense([Double])

    public static func == (a: ConstantValue, b: ConstantValue) -> Bool {
        switch (a, b) {
        case let (.splat(x), .splat(y)): return x.bitPattern == y.bitPattern
        case let (.dense(x), .dense(y)): return x.map(\.bitPattern) == y.map(\.bitPattern)
        default: return false
        }
    }
    public func hash(into h: inout Hasher) {
        switch self {
        case .splat(let x): h.combine(0); h.combine(x.bitPattern)
        case .dense(let xs): h.combine(1); for x in xs { h.combine(x.bitPattern) }
        }
    }
    /// The value at flat index `i`.
    @inlinable public subscript(i: Int) -> Double {
        switch self {
        case .splat(let x): return x
        case .dense(let xs): return xs[i]
        }
    }
}

/// A fused kernel: a small graph of elementwise/broadcast ops (optionally ending in a reduction)
/// executed as one loop nest. Its nodes use local ids; `.arg(i)` nodes stand for the fused node's
/// i-th input. `result` is the node whose value the kernel produces.
public struct FusedKernel: Hashable, Sendable {
    public var nodes: [Node]
    public var result: NodeID
    public init(nodes: [Node], result: NodeID) { self.nodes = nodes; self.result = result }
}

/// Attributes of a matrix product `op(A) · op(B)`, op = transpose when the flag is set. An optional
/// epilogue (set by FuseGemmEpilogue) is applied to the product: its `.arg(0)` is the product and
/// `.arg(k)` for k ≥ 1 is the matmul node's input `k + 1`.
public struct MatmulAttrs: Hashable, Sendable {
    public var transA: Bool
    public var transB: Bool
    public var epilogue: FusedKernel?
    public init(transA: Bool = false, transB: Bool = false, epilogue: FusedKernel? = nil) {
        self.transA = transA; self.transB = transB; self.epilogue = epilogue
    }
}

/// Attributes of the 2-D convolutions (`conv2d`, `conv_transpose2d`, `conv2d_filter_grad`): the
/// stride and the zero padding of the convolution's input, [rows, columns] each. Dilation is not
/// supported (every kernel tap is adjacent). Layout is NHWC, filters [KH, KW, C, F] (see `Op.conv2d`).
public struct ConvAttrs: Hashable, Sendable {
    public var stride: [Int]
    public var padding: [Int]
    public init(stride: [Int] = [1, 1], padding: [Int] = [0, 0]) { self.stride = stride; self.padding = padding }
    public init(stride: Int, padding: Int) { self.init(stride: [stride, stride], padding: [padding, padding]) }

    /// The output extent of a convolution along one axis: ⌊(input + 2·padding − kernel) / stride⌋ + 1,
    /// or nil when the kernel does not fit the padded input.
    public func outputExtent(input: Int, kernel: Int, axis: Int) -> Int? {
        // Checked: the attributes come from IR text and specs.
        let (twice, o1) = padding[axis].multipliedReportingOverflow(by: 2)
        let (padded, o2) = input.addingReportingOverflow(twice)
        guard !o1, !o2, padded >= kernel, stride[axis] >= 1 else { return nil }
        return (padded - kernel) / stride[axis] + 1
    }

    /// The transposed convolution's default output extent along one axis, (input − 1)·stride −
    /// 2·padding + kernel (+ `extra`), or nil if it overflows.
    public func transposedExtent(input: Int, kernel: Int, axis: Int, extra: Int = 0) -> Int? {
        let (a, o1) = (input - 1).multipliedReportingOverflow(by: stride[axis])
        let (twice, o2) = padding[axis].multipliedReportingOverflow(by: 2)
        let (b, o3) = a.subtractingReportingOverflow(twice)
        let (c, o4) = b.addingReportingOverflow(kernel)
        let (d, o5) = c.addingReportingOverflow(extra)
        return o1 || o2 || o3 || o4 || o5 ? nil : d
    }
}

/// The sizes of one convolution: input x [n, h, w, c], filter [kh, kw, c, f], output [n, oh, ow, f].
/// `conv_transpose2d` and `conv2d_filter_grad` are described by the convolution they transpose or
/// differentiate (for `conv_transpose2d`, its result is that convolution's x).
public struct ConvGeometry: Hashable, Sendable {
    public var n, h, w, c, kh, kw, f, oh, ow: Int
    public var strideH, strideW, padH, padW: Int
    public init(n: Int, h: Int, w: Int, c: Int, kh: Int, kw: Int, f: Int, oh: Int, ow: Int, attrs: ConvAttrs) {
        self.n = n; self.h = h; self.w = w; self.c = c; self.kh = kh; self.kw = kw; self.f = f; self.oh = oh; self.ow = ow
        strideH = attrs.stride[0]; strideW = attrs.stride[1]; padH = attrs.padding[0]; padW = attrs.padding[1]
    }
    /// Multiply-adds × 2 of the convolution (and of its transpose and filter gradient: the same products).
    /// Saturates at `Int.max` (the shapes are each within the tensor budget, their product need not be).
    public var flops: Int {
        var p = 2
        for e in [n, oh, ow, kh, kw, c, f] {
            let (q, o) = p.multipliedReportingOverflow(by: e)
            if o { return Int.max }
            p = q
        }
        return p
    }

    /// The geometry of a convolution op from its operand shapes and result shape (all verified).
    public static func of(_ op: Op, operands: [Shape], result: Shape) -> ConvGeometry? {
        switch op {
        case .conv2d(let a):       // x [n,h,w,c], w [kh,kw,c,f] → [n,oh,ow,f]
            let x = operands[0], k = operands[1]
            return ConvGeometry(n: x[0], h: x[1], w: x[2], c: x[3], kh: k[0], kw: k[1], f: k[3],
                                oh: result[1], ow: result[2], attrs: a)
        case .convTranspose2d(let a):  // y [n,oh,ow,f], w [kh,kw,c,f] → x [n,h,w,c]
            let y = operands[0], k = operands[1]
            return ConvGeometry(n: y[0], h: result[1], w: result[2], c: k[2], kh: k[0], kw: k[1], f: k[3],
                                oh: y[1], ow: y[2], attrs: a)
        case .conv2dFilterGrad(let a): // x [n,h,w,c], dy [n,oh,ow,f] → [kh,kw,c,f]
            let x = operands[0], d = operands[1]
            return ConvGeometry(n: x[0], h: x[1], w: x[2], c: x[3], kh: result[0], kw: result[1], f: d[3],
                                oh: d[1], ow: d[2], attrs: a)
        default: return nil
        }
    }
}

/// The operation of a node. The small, orthogonal op set of DESIGN.md.
public enum Op: Hashable, Sendable {
    /// A trainable tensor, fed by the runtime by name.
    case parameter(String)
    /// A data tensor, fed by the runtime by name.
    case input(String)
    case constant(ConstantValue)
    /// Counter-based random numbers: value(i) = hash(seed, key, i), where key is the optional scalar
    /// input (a step counter), so noise changes every step yet is reproducible.
    case randomUniform(seed: UInt64)
    case randomNormal(seed: UInt64)
    /// The i-th input of an enclosing fused kernel (only inside `FusedKernel` bodies).
    case arg(Int)
    case matmul(MatmulAttrs)
    /// Numpy-style broadcast to the node's shape: input axes are right-aligned, size-1 axes expand.
    case broadcast
    case reshape
    case transpose([Int])
    /// `x[start[0]..<end[0], start[1]..<end[1], …]`.
    case slice(start: [Int], end: [Int])
    case concat(axis: Int)
    case unary(UnaryOp)
    case binary(BinaryOp)
    case compare(CompareOp)
    /// `select(c, a, b)`: a where c ≠ 0, else b.
    case select
    case reduce(ReduceOp, axes: [Int])
    case fused(FusedKernel)
    /// 2-D convolution (cross-correlation, as in every framework): x [N, H, W, C] (NHWC, so the
    /// channels are the contiguous, vectorisable axis and im2col copies whole runs of them) with
    /// filters [KH, KW, C, F] (HWIO, like dense weights' [in, out]) → [N, OH, OW, F],
    /// out[n,i,j,f] = Σ x[n, i·s−p+u, j·s−p+v, c] · w[u, v, c, f] over taps inside x.
    case conv2d(ConvAttrs)
    /// The transpose (adjoint) of `conv2d` in its input: y [N, OH, OW, F] and the same filters
    /// [KH, KW, C, F] → [N, H, W, C]. Several H give one OH at stride > 1, so the result shape is
    /// written out (the builder's default is (OH−1)·s − 2p + KH). The data gradient of conv2d.
    case convTranspose2d(ConvAttrs)
    /// The gradient of `conv2d` in its filters: x [N, H, W, C] and dy [N, OH, OW, F] →
    /// [KH, KW, C, F], Σ over n, i, j of x[n, i·s−p+u, j·s−p+v, c] · dy[n, i, j, f]. The kernel
    /// extent is the written result shape.
    case conv2dFilterGrad(ConvAttrs)
    /// The sum of the operand over every rank of a data-parallel run (MPI's all-reduce with
    /// MPI_SUM): the same shape, the same value on every rank afterwards; the identity on one
    /// rank. The train-step builder puts one on every gradient of a run over N > 1 ranks
    /// (`buildTrainStep(ranks:)`), and the `bucket_allreduce` pass gathers them into a few
    /// contiguous buckets. Never constant-folded (its value depends on the other ranks).
    case allReduce

    /// The op's name in the textual IR.
    public var name: String {
        switch self {
        case .parameter: return "parameter"
        case .input: return "input"
        case .constant: return "constant"
        case .randomUniform: return "random_uniform"
        case .randomNormal: return "random_normal"
        case .arg: return "arg"
        case .matmul: return "matmul"
        case .broadcast: return "broadcast"
        case .reshape: return "reshape"
        case .transpose: return "transpose"
        case .slice: return "slice"
        case .concat: return "concat"
        case .unary(let u): return u.rawValue
        case .binary(let b): return b.rawValue
        case .compare(let c): return "cmp_" + c.rawValue
        case .select: return "select"
        case .reduce(let r, _): return "reduce_" + r.rawValue
        case .fused: return "fused"
        case .conv2d: return "conv2d"
        case .convTranspose2d: return "conv_transpose2d"
        case .conv2dFilterGrad: return "conv2d_filter_grad"
        case .allReduce: return "allreduce"
        }
    }

    /// The op's traits (see `OpTraits`). The switch is exhaustive on purpose: a new op does not
    /// compile until it states them, and every pass and backend reads them from here.
    public var traits: OpTraits {
        switch self {
        case .parameter, .input, .constant, .arg: return [.leaf]
        case .randomUniform, .randomNormal: return []
        case .matmul, .broadcast, .transpose, .slice, .concat, .reduce, .fused: return []
        case .conv2d, .convTranspose2d, .conv2dFilterGrad: return []
        case .allReduce: return []
        case .reshape: return [.view]
        case .unary(let u): return u.isCheap ? [.elementwise, .cheap] : [.elementwise]
        case .binary(let b):
            var t: OpTraits = [.elementwise]
            if b.isCommutative { t.insert(.commutative) }
            if b.isCheap { t.insert(.cheap) }
            return t
        case .compare(let c): return c.isCommutative ? [.elementwise, .cheap, .commutative] : [.elementwise, .cheap]
        case .select: return [.elementwise, .cheap]
        }
    }

    /// Ops computed independently per element (after broadcasting): candidates for fusion.
    public var isElementwise: Bool { traits.contains(.elementwise) }
    /// Leaves: ops with no inputs whose values come from outside the computation (or are constant).
    public var isLeaf: Bool { traits.contains(.leaf) }
    /// Ops that alias their operand's buffer instead of computing a new one.
    public var isView: Bool { traits.contains(.view) }
    /// Ops whose two operands can be swapped.
    public var isCommutative: Bool { traits.contains(.commutative) }
    /// Elementwise ops cheap enough to recompute in every kernel that needs them.
    public var isCheapElementwise: Bool { traits.isSuperset(of: [.elementwise, .cheap]) }
    /// The name a leaf is fed by (`parameter` and `input`); nil for every other op.
    public var feedName: String? {
        switch self {
        case .parameter(let s), .input(let s): return s
        case .constant, .randomUniform, .randomNormal, .arg, .matmul, .broadcast, .reshape, .transpose, .slice,
             .concat, .unary, .binary, .compare, .select, .reduce, .fused, .conv2d, .convTranspose2d,
             .conv2dFilterGrad, .allReduce: return nil
        }
    }
}

/// What passes and backends need to know about an op, as data (tinygrad's op groups, MLIR's op
/// traits), declared once in `Op.traits`.
public struct OpTraits: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Computed independently per element after broadcasting: a fusion candidate.
    public static let elementwise = OpTraits(rawValue: 1 << 0)
    /// Two operands that can be swapped (CSE puts them in a canonical order).
    public static let commutative = OpTraits(rawValue: 1 << 1)
    /// No transcendental function and no pow: cheap enough to recompute rather than store.
    public static let cheap = OpTraits(rawValue: 1 << 2)
    /// Aliases its operand's buffer instead of computing a new one.
    public static let view = OpTraits(rawValue: 1 << 3)
    /// No operands; the value comes from outside the computation (or is a constant).
    public static let leaf = OpTraits(rawValue: 1 << 4)
}

extension UnaryOp {
    /// No transcendental function: cheap enough to recompute in every kernel that uses it.
    public var isCheap: Bool {
        switch self {
        case .neg, .abs, .relu, .step, .square: return true
        case .exp, .log, .log1p, .sqrt, .sigmoid, .softplus, .tanh: return false
        }
    }
}

extension BinaryOp {
    public var isCommutative: Bool {
        switch self {
        case .add, .mul, .max, .min: return true
        case .sub, .div, .pow: return false
        }
    }
    public var isCheap: Bool {
        switch self {
        case .add, .sub, .mul, .div, .max, .min: return true
        case .pow: return false
        }
    }
}

extension CompareOp {
    public var isCommutative: Bool {
        switch self {
        case .eq, .ne: return true
        case .lt, .le, .gt, .ge: return false
        }
    }
}

extension Op {
    /// The attributes of a convolution op; nil for every other op.
    public var convAttrs: ConvAttrs? {
        switch self {
        case .conv2d(let a), .convTranspose2d(let a), .conv2dFilterGrad(let a): return a
        default: return nil
        }
    }
}

extension MatmulAttrs {
    /// The product's dimensions (m rows, n columns, k the contracted extent) from the operand
    /// shapes as stored: A is [m, k] (or [k, m] transposed), B is [k, n] (or [n, k]).
    public func dims(a: Shape, b: Shape) -> (m: Int, n: Int, k: Int) {
        (transA ? a[1] : a[0], transB ? b[0] : b[1], transA ? a[0] : a[1])
    }
    /// Multiply-adds × 2 of the product itself (the epilogue not included).
    public func flops(a: Shape, b: Shape) -> Int {
        let d = dims(a: a, b: b)
        return 2 * d.m * d.n * d.k
    }
}

/// One immutable node: op, dtype, static shape, inputs (ids of earlier nodes) and the source
/// location of the builder call that made it. Identity (hashing and equality) ignores the
/// location, which is metadata: building the same node twice gives the same node.
public struct Node: Hashable, Sendable {
    public let op: Op
    public let dtype: DType
    public let shape: Shape
    public let inputs: [NodeID]
    public internal(set) var location: SourceLocation?

    public init(op: Op, dtype: DType, shape: Shape, inputs: [NodeID], location: SourceLocation? = nil) {
        self.op = op; self.dtype = dtype; self.shape = shape; self.inputs = inputs; self.location = location
    }

    public static func == (a: Node, b: Node) -> Bool {
        a.op == b.op && a.dtype == b.dtype && a.shape == b.shape && a.inputs == b.inputs
    }
    public func hash(into h: inout Hasher) {
        h.combine(op); h.combine(dtype); h.combine(shape); h.combine(inputs)
    }

    public var elementCount: Int { shape.elementCount }
}
