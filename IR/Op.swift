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
        }
    }

    /// Ops computed independently per element (after broadcasting): candidates for fusion.
    public var isElementwise: Bool {
        switch self {
        case .unary, .binary, .compare, .select: return true
        default: return false
        }
    }

    /// Leaves: ops with no inputs whose values come from outside the computation (or are constant).
    public var isLeaf: Bool {
        switch self {
        case .parameter, .input, .constant, .arg: return true
        default: return false
        }
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
