/// Graphviz DOT text of a graph, for `vsc ir dot`: one box per node, labelled with its id, op,
/// type and location (`enc.h0 · vsc.yaml:11`); every fused kernel and GEMM epilogue a cluster
/// holding its body (its `arg`s are drawn as edges from the values they stand for); parameters,
/// inputs and constants shaded apart; outputs as ovals, the highlighted ones (the loss) in red.
public enum DotPrinter {
    public static func print(_ g: Graph, highlight: Set<String> = ["loss"], locations: Bool = true) -> String {
        var out = "digraph \(quote(g.name)) {\n"
        out += "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=10, newrank=true];\n"
        out += "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\", fontsize=9];\n"
        out += "  edge [arrowsize=0.5, color=\"#666666\"];\n"
        for (id, n) in g.nodes.enumerated() {
            let region: FusedKernel?
            switch n.op {
            case .fused(let k): region = k
            case .matmul(let m): region = m.epilogue
            default: region = nil
            }
            guard let k = region else {
                out += "  n\(id) [label=\(quote(label(n, id: id, locations: locations)))\(style(n.op))];\n"
                for i in n.inputs { out += "  \(valueNode(g, i)) -> n\(id);\n" }
                continue
            }
            // A cluster: the body's nodes, with each `arg` replaced by an edge from its value.
            let isEpilogue = { if case .matmul = n.op { return true }; return false }()
            out += "  subgraph cluster_\(id) {\n"
            let what = isEpilogue ? "matmul + epilogue" : "fused kernel"
            var title = "%\(id) \(what) (\(k.nodes.count) nodes)"
            if locations, let l = n.location { title += "\n" + where_(l) }
            out += "    label=\(quote(title));\n"
            out += "    style=\"rounded,filled\"; fillcolor=\"#f3f0ff\"; color=\"#7952b3\"; fontsize=9;\n"
            if isEpilogue {
                // The product itself, the epilogue's arg 0.
                out += "    n\(id) [label=\(quote("%\(id) matmul\n\(IRPrinter.type(n.dtype, n.shape))"))\(style(n.op))];\n"
            }
            for (j, b) in k.nodes.enumerated() {
                if case .arg = b.op { continue }
                // Body nodes: the op (named after its layer when it has one) and the type; ids
                // inside a region are local and would read like the graph's.
                let what = b.location?.nodeName(b.op.name) ?? b.op.name
                out += "    n\(id)_\(j) [label=\(quote(what + "\n" + IRPrinter.type(b.dtype, b.shape)))\(style(b.op))];\n"
            }
            out += "  }\n"
            if isEpilogue { for i in n.inputs.prefix(2) { out += "  \(valueNode(g, i)) -> n\(id);\n" } }
            for (j, b) in k.nodes.enumerated() {
                if case .arg = b.op { continue }
                for i in b.inputs {
                    guard case .arg(let a) = k.nodes[i].op else { out += "  n\(id)_\(i) -> n\(id)_\(j);\n"; continue }
                    // Kernel args are the node's inputs; an epilogue's arg 0 is the product and
                    // arg a ≥ 1 the matmul's input a + 1.
                    let source = isEpilogue ? (a == 0 ? "n\(id)" : valueNode(g, n.inputs[a + 1])) : valueNode(g, n.inputs[a])
                    out += "  \(source) -> n\(id)_\(j);\n"
                }
            }
        }
        for (k, o) in g.outputs.enumerated() {
            let hot = highlight.contains(o.name)
            out += "  out\(k) [label=\(quote(o.name)), shape=oval, style=filled, fillcolor=\"\(hot ? "#f8d7da" : "#fff3cd")\"\(hot ? ", penwidth=2, color=\"#b02a37\"" : "")];\n"
            out += "  \(valueNode(g, o.node)) -> out\(k)\(hot ? " [color=\"#b02a37\", penwidth=2]" : "");\n"
        }
        return out + "}\n"
    }

    /// The DOT node that holds node `id`'s value: a region's result, or the node itself.
    static func valueNode(_ g: Graph, _ id: NodeID) -> String {
        switch g[id].op {
        case .fused(let k): return "n\(id)_\(k.result)"
        case .matmul(let m): return m.epilogue.map { "n\(id)_\($0.result)" } ?? "n\(id)"
        default: return "n\(id)"
        }
    }

    static func label(_ n: Node, id: Int, locations: Bool) -> String {
        var head = "%\(id) \(n.op.name)"
        switch n.op {
        case .parameter(let s), .input(let s): head += " \"\(s)\""
        case .constant(.splat(let v)): head += " " + IRPrinter.number(v)
        default: break
        }
        var l = head + "\n" + IRPrinter.type(n.dtype, n.shape)
        if locations, let loc = n.location { l += "\n" + where_(loc) }
        return l
    }

    /// `enc.h0 · vsc.yaml:11`, or the bare location outside a model's named parts.
    static func where_(_ l: SourceLocation) -> String { (l.scope.map { $0 + " · " } ?? "") + l.description }

    static func style(_ op: Op) -> String {
        switch op {
        case .parameter: return ", fillcolor=\"#cfe2ff\", color=\"#0d6efd\", penwidth=1.5"
        case .input: return ", fillcolor=\"#d1e7dd\""
        case .constant: return ", fillcolor=\"#eeeeee\", fontsize=8"
        case .matmul, .conv2d, .convTranspose2d, .conv2dFilterGrad: return ", fillcolor=\"#ffe5d0\""
        default: return ""
        }
    }

    /// A DOT string literal: IR text's quoting, whose `\n` is DOT's line break too.
    static func quote(_ s: String) -> String { IRPrinter.quote(s) }
}
