import IR

// Symbolic reverse-mode automatic differentiation as a graph transformation.
//
// `grad(of:wrt:in:)` walks the forward nodes in reverse topological order and, for every node that
// receives an adjoint (the gradient of the loss with respect to that node's value), emits the
// node's vector-Jacobian product as new nodes of the SAME graph. Nothing is computed numerically:
// the result is graph nodes, so later passes (Simplify, CSE, fusion) and the backends see the
// forward and backward computations together, as XLA does.
//
// Conventions (documented here once, relied on by the tests):
// - Only nodes that depend on some `wrt` node AND feed the loss take part; everything else is
//   skipped (no nodes are emitted for it, and no error is raised for it).
// - Gradients accumulate with `add` where a node has several users (summed in the order the
//   users were visited, i.e. descending node id).
// - Every backward node carries the source location of the forward node it differentiates (the
//   seed carries the loss's location), so a shape error or a NaN in the backward pass points at
//   the model line that built the forward op, as JAX does.
// - Ties and kinks:
//   * relu'(0) = 0, abs'(0) = 0 (sign(0) = 0), step' = 0 everywhere (no nodes are emitted).
//   * max(x, y) routes the whole gradient to x where x >= y, min(x, y) to x where x <= y
//     (the first operand wins ties, matching the interpreter's forward choice).
//   * reduce_max splits the gradient evenly between all positions equal to the maximum.
//   * pow(x, y): d/dy = x^y · log(x) uses log(1) where x == 0 (so 0^y contributes 0, as JAX does);
//     for x < 0 it is NaN, as the true derivative is undefined there. d/dx = y · x^(y−1).
// - compare and random ops are not differentiable: if a non-zero adjoint reaches one of them and
//   one of its operands depends on a `wrt` node, `grad` throws an `IRError` naming the node and its
//   source location. A compare used only as a `select` condition never receives an adjoint.
// - `fused` kernels and matmuls with an epilogue are rejected ("differentiate before fusion").

/// The gradients of `loss` with respect to each node of `wrt`, appended to `graph` **in place**.
///
/// The new nodes are added to `graph` itself (which is append-only, so every existing `NodeID` stays
/// valid and the forward nodes are untouched); the returned ids, one per `wrt` entry and of the same
/// shape, name nodes of `graph`. Outputs are not changed: name the gradients yourself with
/// `graph.setOutput`. Callers that must keep their graph unchanged differentiate a `graph.copy()`.
///
/// The seed is a tensor of ones of the loss's shape, so a non-scalar loss is differentiated as the
/// sum of its elements. A `wrt` node the loss does not depend on gets a zero constant of its shape.
public func grad(of loss: NodeID, wrt: [NodeID], in graph: Graph) throws -> [NodeID] {
    guard loss >= 0 && loss < graph.count else { throw IRError("grad: loss node %\(loss) does not exist") }
    for w in wrt where w < 0 || w >= graph.count { throw IRError("grad: wrt node %\(w) does not exist") }
    let forwardCount = loss + 1

    // needed[i]: node i depends on (or is) a wrt node, so the loss's gradient may flow into it.
    var needed = [Bool](repeating: false, count: forwardCount)
    let wrtSet = Set(wrt)
    for i in 0..<forwardCount {
        needed[i] = wrtSet.contains(i) || graph[i].inputs.contains { needed[$0] }
    }

    var contributions: [NodeID: [NodeID]] = [:]
    var adjoint: [NodeID: NodeID] = [:]
    let lossNode = graph[loss]
    if needed[loss] {
        let seed = try graph.add(.constant(.splat(1)), shape: lossNode.shape, dtype: lossNode.dtype,
                                 location: lossNode.location)
        contributions[loss] = [seed]
    }

    for i in stride(from: loss, through: 0, by: -1) where needed[i] {
        guard let parts = contributions.removeValue(forKey: i) else { continue }
        let node = graph[i]
        let b = VJPBuilder(graph: graph, location: node.location, dtype: node.dtype)
        // Accumulate the adjoint of node i from all its users.
        var g = parts[0]
        for p in parts.dropFirst() { g = try b.add(g, p) }
        adjoint[i] = g
        let inputsNeeded = node.inputs.map { needed[$0] }
        if !inputsNeeded.contains(true) { continue }
        let grads = try vjp(node: node, id: i, adjoint: g, needed: inputsNeeded, b)
        for (k, gk) in grads.enumerated() {
            guard let gk, inputsNeeded[k] else { continue }
            let j = node.inputs[k]
            precondition(graph[gk].shape == graph[j].shape, "VJP of \(node.op.name) produced a misshapen gradient")
            contributions[j, default: []].append(gk)
        }
    }

    return try wrt.map { w in
        if let a = adjoint[w] { return a }
        let n = graph[w]
        return try graph.add(.constant(.splat(0)), shape: n.shape, dtype: n.dtype, location: n.location)
    }
}

/// Builds backward nodes for one forward node: every node gets the forward node's location.
fileprivate struct VJPBuilder {
    let graph: Graph
    let location: SourceLocation?
    let dtype: DType

    func shape(_ x: NodeID) -> Shape { graph[x].shape }
    func node(_ op: Op, _ inputs: [NodeID], shape: Shape? = nil) throws -> NodeID {
        try graph.add(op, inputs: inputs, shape: shape, dtype: dtype, location: location)
    }
    func constant(_ v: Double, _ s: Shape) throws -> NodeID { try node(.constant(.splat(v)), [], shape: s) }
    /// A constant of `like`'s shape.
    func constant(_ v: Double, like x: NodeID) throws -> NodeID { try constant(v, shape(x)) }
    func unary(_ u: UnaryOp, _ x: NodeID) throws -> NodeID { try node(.unary(u), [x]) }
    func binary(_ o: BinaryOp, _ x: NodeID, _ y: NodeID) throws -> NodeID { try node(.binary(o), [x, y]) }
    func add(_ x: NodeID, _ y: NodeID) throws -> NodeID { try binary(.add, x, y) }
    func sub(_ x: NodeID, _ y: NodeID) throws -> NodeID { try binary(.sub, x, y) }
    func mul(_ x: NodeID, _ y: NodeID) throws -> NodeID { try binary(.mul, x, y) }
    func div(_ x: NodeID, _ y: NodeID) throws -> NodeID { try binary(.div, x, y) }
    func neg(_ x: NodeID) throws -> NodeID { try unary(.neg, x) }
    func compare(_ c: CompareOp, _ x: NodeID, _ y: NodeID) throws -> NodeID { try node(.compare(c), [x, y]) }
    func select(_ c: NodeID, _ x: NodeID, _ y: NodeID) throws -> NodeID { try node(.select, [c, x, y]) }
    func matmul(_ x: NodeID, _ y: NodeID, transA: Bool = false, transB: Bool = false) throws -> NodeID {
        try node(.matmul(MatmulAttrs(transA: transA, transB: transB)), [x, y])
    }
    func reshape(_ x: NodeID, _ s: Shape) throws -> NodeID {
        shape(x) == s ? x : try node(.reshape, [x], shape: s)
    }
    func broadcast(_ x: NodeID, _ s: Shape) throws -> NodeID {
        shape(x) == s ? x : try node(.broadcast, [x], shape: s)
    }
    func reduceSum(_ x: NodeID, axes: [Int]) throws -> NodeID {
        axes.isEmpty ? x : try node(.reduce(.sum, axes: axes), [x])
    }
    func transpose(_ x: NodeID, _ perm: [Int]) throws -> NodeID {
        perm == Array(perm.indices) ? x : try node(.transpose(perm), [x])
    }
    func slice(_ x: NodeID, start: [Int], end: [Int]) throws -> NodeID {
        start.allSatisfy { $0 == 0 } && end == shape(x) ? x : try node(.slice(start: start, end: end), [x])
    }
    func concat(_ xs: [NodeID], axis: Int) throws -> NodeID {
        xs.count == 1 ? xs[0] : try node(.concat(axis: axis), xs)
    }

    /// Sums a gradient of shape `t` back to the shape `s` it was broadcast from (numpy rule:
    /// right-aligned, size-1 axes expand): reduce_sum over the added and expanded axes, then reshape.
    func unbroadcast(_ g: NodeID, to s: Shape) throws -> NodeID {
        let t = shape(g), off = t.count - s.count
        let axes = (0..<t.count).filter { d in d < off || (s[d - off] == 1 && t[d] != 1) }
        return try reshape(reduceSum(g, axes: axes), s)
    }
    /// Broadcasts a reduced gradient (shape of `x` without `axes`) back to the shape of `x`.
    func unreduce(_ g: NodeID, axes: [Int], to s: Shape) throws -> NodeID {
        let kept = s.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        return try broadcast(reshape(g, kept), s)
    }
}

/// Where the gradient may not flow: names the node, its op and its source location.
fileprivate func notDifferentiable(_ node: Node, id: NodeID, _ graph: Graph, why: String) -> IRError {
    IRError("grad: \(node.op.name) is not differentiable, but the loss's gradient must flow through "
            + "\(IRPrinter.instruction(node, id: id)) (\(why))", at: node.location)
}

/// The vector-Jacobian product of one forward node: given the adjoint `g` of its value, the
/// adjoints of each of its operands (nil where there is none or it is not needed).
/// `needed[k]` tells whether operand k's gradient is wanted (only those are built).
fileprivate func vjp(node: Node, id: NodeID, adjoint g: NodeID, needed: [Bool], _ b: VJPBuilder) throws -> [NodeID?] {
    let xs = node.inputs
    let y = id
    switch node.op {
    // Leaves have no operands.
    case .parameter, .input, .constant:
        return []
    case .arg:
        throw IRError("grad: arg outside a fused kernel (\(IRPrinter.instruction(node, id: id)))", at: node.location)
    case .fused:
        throw IRError("grad: cannot differentiate a fused kernel (\(IRPrinter.instruction(node, id: id))): differentiate before fusion", at: node.location)

    case .randomUniform, .randomNormal:
        // Only the optional scalar key can be an operand; a key depending on a wrt node would
        // require the gradient to flow through the random stream.
        throw notDifferentiable(node, id: id, b.graph, why: "its key depends on a differentiated node")
    case .compare:
        throw notDifferentiable(node, id: id, b.graph, why: "its result is used by a differentiable op and its operands depend on a differentiated node; use select for masking")

    case .unary(let u):
        let x = xs[0]
        let dx: NodeID?
        switch u {
        case .neg: dx = try b.neg(g)
        case .exp: dx = try b.mul(g, y)                                           // d eˣ = eˣ
        case .log: dx = try b.div(g, x)                                           // d log x = 1/x
        case .log1p: dx = try b.div(g, b.add(x, b.constant(1, like: x)))          // 1/(1+x)
        case .sqrt: dx = try b.div(g, b.mul(y, b.constant(2, like: x)))           // 1/(2√x)
        case .square: dx = try b.mul(g, b.mul(x, b.constant(2, like: x)))         // 2x
        case .relu: dx = try b.mul(g, b.unary(.step, x))                          // 1 where x > 0, 0 at 0
        case .sigmoid: dx = try b.mul(g, b.mul(y, b.sub(b.constant(1, like: x), y))) // σ(1−σ)
        case .softplus: dx = try b.mul(g, b.unary(.sigmoid, x))                   // σ(x)
        case .tanh: dx = try b.mul(g, b.sub(b.constant(1, like: x), b.unary(.square, y))) // 1 − tanh²
        case .abs: dx = try b.mul(g, b.sub(b.unary(.step, x), b.unary(.step, b.neg(x)))) // sign(x), 0 at 0
        case .step: dx = nil                                                      // zero almost everywhere
        }
        return [dx]

    case .binary(let op):
        let x = xs[0], z = xs[1]
        switch op {
        case .add:
            return [g, g]
        case .sub:
            return [g, needed[1] ? try b.neg(g) : nil]
        case .mul:
            return [needed[0] ? try b.mul(g, z) : nil, needed[1] ? try b.mul(g, x) : nil]
        case .div:
            // d(x/z)/dx = 1/z; d(x/z)/dz = −(x/z)/z.
            return [needed[0] ? try b.div(g, z) : nil,
                    needed[1] ? try b.neg(b.div(b.mul(g, y), z)) : nil]
        case .max, .min:
            // The first operand takes the gradient at ties (x >= z for max, x <= z for min).
            let first = try b.compare(op == .max ? .ge : .le, x, z)
            let zero = try b.constant(0, like: g)
            return [needed[0] ? try b.select(first, g, zero) : nil,
                    needed[1] ? try b.select(first, zero, g) : nil]
        case .pow:
            var dx: NodeID?, dz: NodeID?
            if needed[0] {  // z · x^(z−1)
                dx = try b.mul(g, b.mul(z, b.binary(.pow, x, b.sub(z, b.constant(1, like: z)))))
            }
            if needed[1] {  // x^z · log x, with log(1) in place of log(0)
                let one = try b.constant(1, like: x)
                let safeX = try b.select(b.compare(.eq, x, b.constant(0, like: x)), one, x)
                dz = try b.mul(g, b.mul(y, b.unary(.log, safeX)))
            }
            return [dx, dz]
        }

    case .select:
        // select(c, a, b): the gradient goes to the chosen branch; the condition gets none.
        let zero = try b.constant(0, like: g)
        return [nil,
                needed[1] ? try b.select(xs[0], g, zero) : nil,
                needed[2] ? try b.select(xs[0], zero, g) : nil]

    case .matmul(let m):
        if m.epilogue != nil {
            throw IRError("grad: cannot differentiate a matmul with a fused epilogue (\(IRPrinter.instruction(node, id: id))): differentiate before fusion", at: node.location)
        }
        // C = op(A)·op(B), G = dL/dC. Each case is a matmul with transpose flags.
        let a = xs[0], c = xs[1]
        var da: NodeID?, dc: NodeID?
        switch (m.transA, m.transB) {
        case (false, false):  // C = A·B: dA = G·Bᵀ, dB = Aᵀ·G
            if needed[0] { da = try b.matmul(g, c, transB: true) }
            if needed[1] { dc = try b.matmul(a, g, transA: true) }
        case (false, true):   // C = A·Bᵀ: dA = G·B, dB = Gᵀ·A
            if needed[0] { da = try b.matmul(g, c) }
            if needed[1] { dc = try b.matmul(g, a, transA: true) }
        case (true, false):   // C = Aᵀ·B: dA = B·Gᵀ, dB = A·G
            if needed[0] { da = try b.matmul(c, g, transB: true) }
            if needed[1] { dc = try b.matmul(a, g) }
        case (true, true):    // C = Aᵀ·Bᵀ: dA = Bᵀ·Gᵀ, dB = Gᵀ·Aᵀ
            if needed[0] { da = try b.matmul(c, g, transA: true, transB: true) }
            if needed[1] { dc = try b.matmul(g, a, transA: true, transB: true) }
        }
        return [da, dc]

    // The three convolutions are bilinear; each one's VJPs are the other two (see `Op.conv2d`):
    // y = conv(x, w):            dx = conv_transpose(g, w),   dw = filter_grad(x, g)
    // x = conv_transpose(y, w):  dy = conv(g, w),             dw = filter_grad(g, y)
    // w = filter_grad(x, d):     dx = conv_transpose(d, g),   dd = conv(x, g)
    case .conv2d(let a):
        return [needed[0] ? try b.node(.convTranspose2d(a), [g, xs[1]], shape: b.shape(xs[0])) : nil,
                needed[1] ? try b.node(.conv2dFilterGrad(a), [xs[0], g], shape: b.shape(xs[1])) : nil]
    case .convTranspose2d(let a):
        return [needed[0] ? try b.node(.conv2d(a), [g, xs[1]]) : nil,
                needed[1] ? try b.node(.conv2dFilterGrad(a), [g, xs[0]], shape: b.shape(xs[1])) : nil]
    case .conv2dFilterGrad(let a):
        return [needed[0] ? try b.node(.convTranspose2d(a), [xs[1], g], shape: b.shape(xs[0])) : nil,
                needed[1] ? try b.node(.conv2d(a), [xs[0], g]) : nil]

    // y = Σ_r x_r over the ranks, the same y on every rank. With the total loss L = Σ_s L_s(y),
    // ∂L/∂x_r = Σ_s ∂L_s/∂y: the VJP of an all-reduced sum is the all-reduce of the cotangent
    // (the identity on one rank, like the op).
    case .allReduce:
        return [try b.node(.allReduce, [g])]

    case .broadcast:
        return [try b.unbroadcast(g, to: b.shape(xs[0]))]

    case .reshape:
        return [try b.reshape(g, b.shape(xs[0]))]

    case .transpose(let perm):
        var inverse = [Int](repeating: 0, count: perm.count)
        for (o, i) in perm.enumerated() { inverse[i] = o }
        return [try b.transpose(g, inverse)]

    case .slice(let start, let end):
        // Pad the gradient with zeros back to the operand's shape, one axis at a time (concat).
        let s = b.shape(xs[0])
        var padded = g
        for d in 0..<s.count where start[d] > 0 || end[d] < s[d] {
            var parts: [NodeID] = []
            var cur = b.shape(padded)
            if start[d] > 0 { cur[d] = start[d]; parts.append(try b.constant(0, cur)) }
            parts.append(padded)
            if end[d] < s[d] { cur[d] = s[d] - end[d]; parts.append(try b.constant(0, cur)) }
            padded = try b.concat(parts, axis: d)
        }
        return [padded]

    case .concat(let axis):
        // Each operand gets its slab of the gradient.
        var offset = 0
        let gs = b.shape(g)
        return try xs.enumerated().map { k, x in
            let extent = b.shape(x)[axis]
            defer { offset += extent }
            guard needed[k] else { return nil }
            var start = [Int](repeating: 0, count: gs.count), end = gs
            start[axis] = offset; end[axis] = offset + extent
            return try b.slice(g, start: start, end: end)
        }

    case .reduce(let r, let axes):
        let s = b.shape(xs[0])
        switch r {
        case .sum:
            return [try b.unreduce(g, axes: axes, to: s)]
        case .mean:
            let n = Double(axes.map { s[$0] }.reduce(1, *))
            return [try b.unreduce(b.mul(g, b.constant(1 / n, like: g)), axes: axes, to: s)]
        case .max:
            // Route to the positions equal to the maximum, split evenly between ties.
            let x = xs[0]
            let isMax = try b.compare(.eq, x, b.unreduce(y, axes: axes, to: s))
            let count = try b.reduceSum(isMax, axes: axes)
            return [try b.mul(isMax, b.unreduce(b.div(g, count), axes: axes, to: s))]
        }
    }
}
