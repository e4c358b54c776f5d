import IR

/// # The fused-kernel body contract
///
/// What `FuseElementwise` and `FuseGemmEpilogue` produce, what the pass manager's verifier checks
/// (`FusedKernelContract.violation`) after every pass, and what a backend lowering a body to one
/// loop nest may assume.
///
/// Let the **iteration shape** S of a body be the shape of its result, or, when the result is a
/// `reduce`, the shape of the reduce's operand. For a matmul epilogue, S is the product's shape
/// `[m, n]` and `arg 0` is the product.
///
/// 1. Body nodes are in topological order (operands are earlier body nodes), as in any graph.
/// 2. The only ops are `arg`, `constant` (splat only), `broadcast`, elementwise ops (`unary`,
///    `binary`, `cmp_*`, `select`) and at most one `reduce_*`. No reshape, transpose, slice, concat,
///    matmul, random, parameter/input, or nested fused kernel.
/// 3. Every elementwise node has shape S.
/// 4. A `broadcast` has shape S and its operand is an `arg` or a `constant` (never a computed
///    value): the backend reads the operand with the broadcast's index map (stride 0 on expanded
///    axes) inside the loop over S.
/// 5. An `arg` used by an elementwise node or by the reduce has shape S; an arg of any other shape is
///    used only by broadcasts. Each arg index appears at most once. Every index below the kernel's
///    operand count may be used or not (unused operands are allowed but FuseElementwise makes none).
/// 6. A `constant` is a splat (any shape; it is a scalar for the loop); used by an elementwise
///    node or the reduce, it has shape S.
/// 7. If there is a `reduce`, it is the result and the last node, and its operand has shape S (the
///    loop runs over S and accumulates into the reduced shape). Epilogues have no reduce.
/// 8. The result is an elementwise node or the reduce (a kernel always computes something).
/// 9. A body holds at most `FusedKernelContract.maxNodes` nodes: LLVM's optimisation time grows
///    faster than linearly in a function's length (a 4,000-op kernel took over a minute).
///
/// # Region formation
///
/// Nodes are visited in reverse graph order, so all users of a node are placed before the node is.
/// An elementwise node joins its users' region when all its users are in one region and it is not a
/// graph output; otherwise it starts a region (is the region's *root*, whose value the kernel
/// produces — kernels have a single output). A reduce always starts a region (it can only be a
/// kernel's last node). Broadcasts and splat constants are *duplicated* into every region that uses
/// them (they are index arithmetic in a loop, free to recompute); the original node survives only if
/// something outside a region still uses it.
///
/// Multi-use values. A value used by several regions is normally *split*: it becomes its own
/// kernel, and the regions read it as an operand. One exception avoids tiny kernels without
/// duplicating real work: a *cheap* elementwise node (`neg`, `abs`, `relu`, `step`, `square`, `add`,
/// `sub`, `mul`, `div`, `max`, `min`, compares, `select` — no transcendental functions or `pow`)
/// whose operands are not themselves elementwise (leaves, matmuls, reductions, broadcasts, …) or are
/// graph outputs, and which is not an output, is recomputed inside every region using it. This
/// duplicates at most one cheap op per region and never duplicates an `exp`/`log`/….
///
/// Length. A region stops growing at `maxRegionMembers` members: the next node up the chain starts
/// a region of its own, whose value the full region reads as an operand. With at most three
/// operands per member the body stays within rule 9's bound.
///
/// A region whose body would hold a single op (one elementwise op or reduce reading its operands
/// directly) stays an ordinary node: a 1-op kernel would not save an executable node.
public enum FuseElementwise {
    /// The most original nodes one kernel absorbs (rule 9: bodies ≤ 4 × this).
    public static let maxRegionMembers = FusedKernelContract.maxNodes / 4

    public static func run(_ g: Graph) throws -> Graph {
        let users = g.users()
        var isOutput = Array(repeating: false, count: g.count)
        for o in g.outputs { isOutput[o.node] = true }

        // Region of each node (its root's id), for elementwise ops and reductions.
        var region = [NodeID?](repeating: nil, count: g.count)
        // Cheap elementwise nodes recomputed in every region that uses them.
        var recompute = Array(repeating: false, count: g.count)
        // Members so far, per region root.
        var size = Array(repeating: 0, count: g.count)
        for i in g.nodes.indices.reversed() {
            let n = g[i]
            if case .reduce = n.op { region[i] = i; size[i] = 1; continue }
            guard n.op.isElementwise else { continue }
            let us = users[i]
            let regs = Set(us.map { region[$0] })
            let allInRegions = !us.isEmpty && us.allSatisfy { region[$0] != nil }
            if !isOutput[i], allInRegions, regs.count == 1, let r = regs.first ?? nil, size[r] < maxRegionMembers {
                region[i] = r
                size[r] += 1
                continue
            }
            if !isOutput[i], allInRegions, regs.count > 1, n.op.isCheapElementwise,
               n.inputs.allSatisfy({ !g[$0].op.isElementwise || isOutput[$0] }) {
                recompute[i] = true
                continue
            }
            region[i] = i
            size[i] = 1
        }

        // Build the kernels.
        var kernels: [NodeID: (FusedKernel, [NodeID])] = [:]
        var members: [NodeID: [NodeID]] = [:]
        for i in g.nodes.indices { if let r = region[i] { members[r, default: []].append(i) } }
        for (root, ms) in members {
            var kb = KernelBuilder(g)
            for m in ms {
                kb.members[m] = -1 // placeholder: marks membership for `local`
            }
            for m in ms {
                let n = g[m]
                let ins = try n.inputs.map { try kb.local($0, recompute: recompute) }
                kb.members[m] = try kb.node(n.op, ins, n.shape, n.dtype, n.location)
            }
            let k = kb.kernel(result: kb.members[root]!)
            if k.nodes.count - kb.args.count >= 2 { kernels[root] = (k, kb.args) }
        }

        // Rebuild: members vanish into their root's kernel.
        var rb = GraphRebuilder(g)
        for i in g.nodes.indices {
            let n = g[i]
            if let r = region[i], kernels[r] != nil {
                guard r == i, let (k, args) = kernels[r] else { continue }
                rb.map[i] = try rb.new.add(.fused(k), inputs: args.map { rb.map[$0]! }, shape: n.shape,
                                           dtype: n.dtype, location: n.location)
            } else if recompute[i] && !users[i].contains(where: { region[$0] == nil || kernels[region[$0]!] == nil }) {
                continue // used only inside kernels
            } else {
                try rb.copy(i)
            }
        }
        rb.finishOutputs()
        return try compact(rb.new, keep: rb.new.live())
    }
}

/// Builds a kernel body from outer-graph nodes: members become body nodes; broadcasts and splat
/// constants are duplicated in; everything else becomes an `arg`. Body nodes are hash-consed.
struct KernelBuilder {
    let g: Graph
    var nodes: [Node] = []
    var index: [Node: Int] = [:]
    /// Outer node → body node, for region members (and fused kernels inlined as members).
    var members: [NodeID: Int] = [:]
    /// Outer nodes passed as operands, in arg order.
    var args: [NodeID] = []
    var argOf: [NodeID: Int] = [:]

    init(_ g: Graph) { self.g = g }

    mutating func node(_ op: Op, _ ins: [Int], _ shape: Shape, _ dtype: DType, _ loc: SourceLocation?) throws -> Int {
        let n = Node(op: op, dtype: dtype, shape: shape, inputs: ins, location: loc)
        if let e = index[n] { return e }
        nodes.append(n); index[n] = nodes.count - 1
        return nodes.count - 1
    }

    /// The arg standing for outer node `id` (created on first use).
    mutating func arg(_ id: NodeID) throws -> Int {
        let k: Int
        if let a = argOf[id] { k = a } else { k = args.count; args.append(id); argOf[id] = k }
        return try node(.arg(k), [], g[id].shape, g[id].dtype, nil)
    }

    /// The body node giving the value of outer node `id`, for use by a member.
    mutating func local(_ id: NodeID, recompute: [Bool]) throws -> Int {
        if let m = members[id] { precondition(m >= 0, "member used before it is built"); return m }
        let n = g[id]
        switch n.op {
        case .constant(.splat):
            return try node(n.op, [], n.shape, n.dtype, n.location)
        case .broadcast:
            let src = n.inputs[0]
            let s: Int
            if case .constant(.splat) = g[src].op { s = try node(g[src].op, [], g[src].shape, g[src].dtype, g[src].location) }
            else { s = try arg(src) }
            return try node(.broadcast, [s], n.shape, n.dtype, n.location)
        default:
            if id < recompute.count, recompute[id] {
                let ins = try n.inputs.map { try local($0, recompute: []) }
                return try node(n.op, ins, n.shape, n.dtype, n.location)
            }
            return try arg(id)
        }
    }

    /// The body: the nodes the result needs, args first (by index), then the rest in build order.
    func kernel(result: Int) -> FusedKernel {
        var live = Array(repeating: false, count: nodes.count)
        live[result] = true
        for i in nodes.indices.reversed() where live[i] { for j in nodes[i].inputs { live[j] = true } }
        func argIndex(_ n: Node) -> Int? { if case .arg(let a) = n.op { return a }; return nil }
        let argNodes = nodes.indices.filter { live[$0] && argIndex(nodes[$0]) != nil }.sorted { argIndex(nodes[$0])! < argIndex(nodes[$1])! }
        let order = argNodes + nodes.indices.filter { live[$0] && argIndex(nodes[$0]) == nil }
        var remap = Array(repeating: -1, count: nodes.count)
        var out: [Node] = []
        for i in order {
            let n = nodes[i]
            remap[i] = out.count
            out.append(Node(op: n.op, dtype: n.dtype, shape: n.shape, inputs: n.inputs.map { remap[$0] }, location: n.location))
        }
        return FusedKernel(nodes: out, result: remap[result])
    }
}

/// Checks the body contract documented in FuseElementwise.swift.
public enum FusedKernelContract {
    /// Rule 9's bound on a body's length.
    public static let maxNodes = 1024

    /// A description of the first rule `k` breaks, or nil. `epilogue`: the body is a matmul
    /// epilogue (no reduce allowed; arg 0 is the product).
    public static func violation(_ k: FusedKernel, epilogue: Bool) -> String? {
        guard k.result >= 0 && k.result < k.nodes.count else { return "result out of range" }
        guard k.nodes.count <= maxNodes else { return "the body has \(k.nodes.count) nodes, over the limit of \(maxNodes) (rule 9)" }
        let res = k.nodes[k.result]
        var S = res.shape
        if case .reduce = res.op {
            if epilogue { return "an epilogue cannot end in a reduction" }
            guard k.result == k.nodes.count - 1 else { return "the reduce (%\(k.result)) must be the last node" }
            S = k.nodes[res.inputs[0]].shape
        } else if !res.op.isElementwise {
            return "the result %\(k.result) is a \(res.op.name), not an elementwise op or a reduction"
        }
        let shapeS = IRPrinter.type(res.dtype, S)
        var seenArgs = Set<Int>()
        for (i, n) in k.nodes.enumerated() {
            switch n.op {
            case .arg(let a):
                if !seenArgs.insert(a).inserted { return "arg \(a) appears twice" }
            case .constant(.splat):
                break
            case .constant(.dense):
                return "%\(i): dense constants must be kernel operands"
            case .broadcast:
                if n.shape != S { return "%\(i): broadcast to \(IRPrinter.type(n.dtype, n.shape)), iteration shape is \(shapeS)" }
                switch k.nodes[n.inputs[0]].op {
                case .arg, .constant: break
                default: return "%\(i): broadcast of a computed value (%\(n.inputs[0]) = \(k.nodes[n.inputs[0]].op.name)); only args and constants may be broadcast"
                }
            case .unary, .binary, .compare, .select:
                if n.shape != S { return "%\(i) = \(n.op.name) has shape \(IRPrinter.type(n.dtype, n.shape)), iteration shape is \(shapeS)" }
            case .reduce:
                if i != k.result { return "%\(i): a reduce must be the kernel's result" }
            default:
                return "%\(i): \(n.op.name) is not allowed in a kernel body"
            }
            // Operands used directly (not through a broadcast) by computing nodes have shape S.
            if n.op.isElementwise || { if case .reduce = n.op { return true }; return false }() {
                for j in n.inputs where k.nodes[j].shape != S {
                    return "%\(i) = \(n.op.name) reads %\(j) of shape \(IRPrinter.type(k.nodes[j].dtype, k.nodes[j].shape)), iteration shape is \(shapeS)"
                }
            }
        }
        if epilogue {
            guard let a0 = k.nodes.first(where: { if case .arg(0) = $0.op { return true }; return false }) else { return nil }
            if a0.shape != S { return "epilogue arg 0 (the product) has shape \(IRPrinter.type(a0.dtype, a0.shape)), expected \(shapeS)" }
        }
        return nil
    }
}
