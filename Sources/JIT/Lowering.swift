import IR
import Runtime

/// A value inside a kernel body while lowering: an SSA value of the iteration shape, a view of a
/// buffer (an operand seen through broadcast/transpose/slice/reshape), or a splat constant.
private enum BodyValue {
    case ssa(Int)
    case view(slot: Int, shape: Shape, access: Access)
    case constant(Double)
}

public struct LoweringError: Error, CustomStringConvertible {
    public var description: String
}

/// Lowers a kernel body (nodes with `.arg(i)` leaves) to a loop nest. `argSlots[i]` is the pointer
/// slot holding arg i; slot 0 is the output. `out` overrides the output access (concat pieces).
func lowerBody(_ nodes: [Node], result: Int, argSlots: [Int], slots: Int, out: Access? = nil) throws -> LoopNest {
    let res = nodes[result]
    var reduceOp: ReduceOp?, reduceAxes: [Int] = []
    let iterShape: Shape
    if case .reduce(let r, let axes) = res.op {
        reduceOp = r; reduceAxes = axes
        iterShape = nodes[res.inputs[0]].shape
    } else {
        iterShape = res.shape
    }
    var ops: [KernelOp] = []
    var vals: [BodyValue] = []
    func contiguous(_ s: Shape) -> Access { Access(offset: 0, strides: strides(s)) }
    func fail(_ i: Int, _ m: String) -> LoweringError {
        LoweringError(description: "cannot lower %\(i) = \(nodes[i].op.name): \(m)")
    }
    /// The SSA index of a value used at the iteration shape.
    func materialise(_ v: BodyValue, _ i: Int) throws -> Int {
        switch v {
        case .ssa(let k): return k
        case .constant(let c): ops.append(.constant(c)); return ops.count - 1
        case .view(let slot, let shape, let a):
            guard shape == iterShape else {
                throw fail(i, "operand of shape \(shape) used at iteration shape \(iterShape)")
            }
            ops.append(.load(slot: slot, a)); return ops.count - 1
        }
    }
    for (i, n) in nodes.enumerated() {
        let ins = n.inputs.map { vals[$0] }
        switch n.op {
        case .arg(let k):
            vals.append(.view(slot: argSlots[k], shape: n.shape, access: contiguous(n.shape)))
        case .constant(.splat(let c)):
            vals.append(.constant(c))
        case .broadcast:
            switch ins[0] {
            case .constant(let c): vals.append(.constant(c))
            case .view(let slot, let s, let a):
                let off = n.shape.count - s.count
                let st = (0..<n.shape.count).map { d in d < off || s[d - off] == 1 ? 0 : a.strides[d - off] }
                vals.append(.view(slot: slot, shape: n.shape, access: Access(offset: a.offset, strides: st)))
            case .ssa:
                if nodes[n.inputs[0]].shape == n.shape { vals.append(ins[0]) }
                else { throw fail(i, "broadcast of a computed value") }
            }
        case .reshape:
            switch ins[0] {
            case .constant: vals.append(ins[0])
            case .view(let slot, let s, let a) where a.strides == strides(s):
                vals.append(.view(slot: slot, shape: n.shape, access: Access(offset: a.offset, strides: strides(n.shape))))
            default: throw fail(i, "reshape of a non-contiguous or computed value")
            }
        case .transpose(let perm):
            guard case .view(let slot, _, let a) = ins[0] else { throw fail(i, "transpose of a computed value") }
            vals.append(.view(slot: slot, shape: n.shape, access: Access(offset: a.offset, strides: perm.map { a.strides[$0] })))
        case .slice(let start, _):
            guard case .view(let slot, _, let a) = ins[0] else { throw fail(i, "slice of a computed value") }
            let off = a.offset + zip(start, a.strides).map(*).reduce(0, +)
            vals.append(.view(slot: slot, shape: n.shape, access: Access(offset: off, strides: a.strides)))
        case .unary(let u):
            let x = try materialise(ins[0], i)
            ops.append(.unary(u, x)); vals.append(.ssa(ops.count - 1))
        case .binary(let b):
            let x = try materialise(ins[0], i), y = try materialise(ins[1], i)
            ops.append(.binary(b, x, y)); vals.append(.ssa(ops.count - 1))
        case .compare(let c):
            let x = try materialise(ins[0], i), y = try materialise(ins[1], i)
            ops.append(.compare(c, x, y)); vals.append(.ssa(ops.count - 1))
        case .select:
            let c = try materialise(ins[0], i), x = try materialise(ins[1], i), y = try materialise(ins[2], i)
            ops.append(.select(c, x, y)); vals.append(.ssa(ops.count - 1))
        case .randomUniform(let seed), .randomNormal(let seed):
            var keySlot: Int?
            if let k = ins.first {
                guard case .view(let slot, _, let a) = k, a.offset == 0 else { throw fail(i, "random key must be an operand") }
                keySlot = slot
            }
            if case .randomNormal = n.op { ops.append(.random(normal: true, seed: seed, keySlot: keySlot)) }
            else { ops.append(.random(normal: false, seed: seed, keySlot: keySlot)) }
            vals.append(.ssa(ops.count - 1))
        case .reduce:
            guard i == result else { throw fail(i, "a reduction must be the kernel's result") }
            let x = try materialise(ins[0], i)
            vals.append(.ssa(x))
        case .constant(.dense), .parameter, .input, .matmul, .concat, .fused, .conv2d, .convTranspose2d, .conv2dFilterGrad,
             .allReduce:
            // The fused-kernel contract keeps these out of bodies; the schedule gives them steps.
            throw fail(i, "\(n.op.name) is not supported inside a loop nest")
        }
    }
    let resultIndex = try materialise(vals[result], result)
    var outAccess: Access
    if let o = out {
        outAccess = o
    } else if reduceOp != nil {
        let ost = strides(res.shape)
        var st: [Int] = [], k = 0
        for d in 0..<iterShape.count {
            if reduceAxes.contains(d) { st.append(0) } else { st.append(ost[k]); k += 1 }
        }
        outAccess = Access(offset: 0, strides: st)
    } else {
        outAccess = contiguous(iterShape)
    }
    let count = reduceAxes.map { iterShape[$0] }.reduce(1, *)
    var nest = LoopNest(shape: iterShape, ops: ops, result: resultIndex, out: outAccess, reduce: reduceOp,
                        reduceCount: count, slots: slots)
    nest.reducedInnermost()
    nest.collapse()
    return nest
}

/// The body of a standalone node: one `.arg` per operand, then the node itself.
func standaloneBody(_ g: Graph, _ id: NodeID) -> [Node] {
    let n = g[id]
    var body: [Node] = n.inputs.enumerated().map { k, j in Node(op: .arg(k), dtype: g[j].dtype, shape: g[j].shape, inputs: []) }
    body.append(Node(op: n.op, dtype: n.dtype, shape: n.shape, inputs: Array(0..<n.inputs.count)))
    return body
}
