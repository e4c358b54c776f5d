import IR

/// Folds the elementwise work after a matmul into the matmul's `epilogue`, so the product is
/// finished (bias added, activation applied, …) while it is still in cache, and never stored raw.
///
/// A matmul without an epilogue whose product has exactly one user and is not a graph output takes
/// that user into its epilogue when the user is
/// - an elementwise op of the product's shape (e.g. `add(%mm, broadcast(%b))`), or
/// - a fused kernel whose result is not a reduction (FuseElementwise's bias+activation kernels);
/// then, while the absorbed value is not an output and has exactly one user of the same kind and
/// shape, that user is absorbed too (so `relu(add(mm, b))` folds whole without FuseElementwise).
/// Broadcasts and splat constants feeding absorbed ops are duplicated into the epilogue, as in
/// FuseElementwise; every other operand becomes an extra matmul input (`arg k` ↔ input `k + 1`).
/// The new matmul takes the place of the last absorbed node. Epilogues obey the fused-kernel body
/// contract (see FuseElementwise.swift) with arg 0, the product, of the iteration shape.
public enum FuseGemmEpilogue {
    public static func run(_ g: Graph) throws -> Graph {
        let users = g.users()
        var isOutput = Array(repeating: false, count: g.count)
        for o in g.outputs { isOutput[o.node] = true }

        func absorbable(_ id: NodeID, shape: Shape) -> Bool {
            let n = g[id]
            guard n.shape == shape else { return false }
            if n.op.isElementwise { return true }
            if case .fused(let k) = n.op, !isReduce(k.nodes[k.result].op),
               FusedKernelContract.violation(k, epilogue: false) == nil { return true }
            return false
        }

        // matmul → the chain of nodes it absorbs (in order); node → the matmul absorbing it.
        var chains: [NodeID: [NodeID]] = [:]
        var absorbedBy = [NodeID?](repeating: nil, count: g.count)
        for (i, n) in g.nodes.enumerated() {
            guard case .matmul(let m) = n.op, m.epilogue == nil, !isOutput[i], users[i].count == 1 else { continue }
            var cur = users[i][0]
            // Body length as the chain grows (rule 9): a kernel's own nodes, or ≤ 4 for one op
            // with its args and broadcasts; the product's arg is 1.
            func length(_ id: NodeID) -> Int { if case .fused(let k) = g[id].op { return k.nodes.count } else { return 4 } }
            var total = 1 + length(cur)
            guard absorbable(cur, shape: n.shape), absorbedBy[cur] == nil, total <= FusedKernelContract.maxNodes else { continue }
            var chain = [cur]
            while !isOutput[cur], users[cur].count == 1, absorbable(users[cur][0], shape: n.shape),
                  absorbedBy[users[cur][0]] == nil, chains[users[cur][0]] == nil,
                  total + length(users[cur][0]) <= FusedKernelContract.maxNodes {
                cur = users[cur][0]
                total += length(cur)
                chain.append(cur)
            }
            chains[i] = chain
            for c in chain { absorbedBy[c] = i }
        }
        if chains.isEmpty { return g }

        var rb = GraphRebuilder(g)
        var epilogueOf: [NodeID: NodeID] = [:] // last chain node → matmul
        for (mm, chain) in chains { epilogueOf[chain.last!] = mm }
        for i in g.nodes.indices {
            if chains[i] != nil { continue } // the matmul is emitted with its last chain node
            if let mm = epilogueOf[i] {
                let mmNode = g[mm]
                guard case .matmul(var attrs) = mmNode.op else { continue }
                var kb = KernelBuilder(g)
                _ = try kb.arg(mm) // arg 0: the product
                for c in chains[mm]! {
                    let n = g[c]
                    if case .fused(let k) = n.op {
                        kb.members[c] = try inline(k, operands: n.inputs, into: &kb)
                    } else {
                        let ins = try n.inputs.map { try kb.local($0, recompute: []) }
                        kb.members[c] = try kb.node(n.op, ins, n.shape, n.dtype, n.location)
                    }
                }
                attrs.epilogue = kb.kernel(result: kb.members[i]!)
                let inputs = mmNode.inputs.map { rb.map[$0]! } + kb.args.dropFirst().map { rb.map[$0]! }
                rb.map[i] = try rb.new.add(.matmul(attrs), inputs: inputs, shape: mmNode.shape, dtype: mmNode.dtype,
                                           location: mmNode.location)
                continue
            }
            if absorbedBy[i] != nil { continue }
            try rb.copy(i)
        }
        rb.finishOutputs()
        return try compact(rb.new, keep: rb.new.live())
    }

    /// Copies kernel `k`'s body into `kb`, its args standing for outer nodes `operands`; returns
    /// the body node of `k`'s result.
    static func inline(_ k: FusedKernel, operands: [NodeID], into kb: inout KernelBuilder) throws -> Int {
        var map = Array(repeating: -1, count: k.nodes.count)
        for (j, n) in k.nodes.enumerated() {
            if case .arg(let a) = n.op {
                // The previous chain node (a member) or an operand (the product is arg 0 already).
                map[j] = try kb.members[operands[a]] ?? kb.arg(operands[a])
            } else {
                map[j] = try kb.node(n.op, n.inputs.map { map[$0] }, n.shape, n.dtype, n.location)
            }
        }
        return map[k.result]
    }

    static func isReduce(_ op: Op) -> Bool { if case .reduce = op { return true }; return false }
}
