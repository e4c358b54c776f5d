import IR

/// Common-subexpression elimination.
///
/// Graphs are hash-consed, so rebuilding a graph node by node merges every pair of identical nodes
/// (same op and attributes, dtype, shape and operands) — including identical constants, identical
/// random nodes (same seed and key, hence the same values) and identical fused kernels. On top of
/// that, CSE canonicalises the operand order of commutative ops (`add`, `mul`, `max`, `min`,
/// `cmp_eq`, `cmp_ne`): non-constant operands first, then by node id, so `a+b` and `b+a` merge.
/// (Caveat: `max(+0, -0)` and `max(-0, +0)` differ in the sign of zero; they merge anyway.)
/// Nodes inside fused bodies are hash-consed by the body builders already.
public enum CSE {
    public static func run(_ g: Graph) throws -> Graph {
        var rb = GraphRebuilder(g)
        for (i, n) in g.nodes.enumerated() {
            var ins = n.inputs.map { rb.map[$0]! }
            if n.op.isCommutative, ins.count == 2, commutedFirst(ins[1], ins[0], in: rb.new) {
                ins.swapAt(0, 1)
            }
            rb.map[i] = try rb.new.add(n.op, inputs: ins, shape: n.shape, dtype: n.dtype, location: n.location)
        }
        rb.finishOutputs()
        return rb.new
    }

    /// The canonical order: true if `a` should come before `b` (non-constants first, then by id).
    static func commutedFirst(_ a: NodeID, _ b: NodeID, in g: Graph) -> Bool {
        let ca = isConstant(g[a].op), cb = isConstant(g[b].op)
        if ca != cb { return cb }
        return a < b
    }
    static func isConstant(_ op: Op) -> Bool { if case .constant = op { return true }; return false }
}
