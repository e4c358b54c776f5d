/// Prints graphs as textual IR, one instruction a line with its type and source location:
///
///     graph @mlp {
///       %0 = input "x" : f32[64,784]
///       %2 = matmul(%0, %1) {transpose_b} : f32[64,128]  // Models/MLP.swift:12
///       %3 = relu(%2) : f32[64,128]  // enc.h0.relu @ vsc.yaml:11
///       output %9 as "loss"
///     }
///
/// `IRParser` reads it back; printing the parse of printed text gives the same text.
public enum IRPrinter {
    public static func print(_ g: Graph, locations: Bool = true) -> String {
        var out = "graph @\(g.name) {\n"
        printBody(g.nodes, indent: "  ", locations: locations, into: &out)
        for o in g.outputs { out += "  output %\(o.node) as \(quote(o.name))\n" }
        out += "}\n"
        return out
    }

    /// One node as it appears in a listing (no newline, no region).
    public static func instruction(_ n: Node, id: NodeID) -> String {
        var s = ""
        printNode(n, id: id, indent: "", locations: true, into: &s)
        return s.hasSuffix("\n") ? String(s.dropLast()) : s
    }

    static func printBody(_ nodes: [Node], indent: String, locations: Bool, into out: inout String) {
        for (i, n) in nodes.enumerated() { printNode(n, id: i, indent: indent, locations: locations, into: &out) }
    }

    static func printNode(_ n: Node, id: Int, indent: String, locations: Bool, into out: inout String) {
        var line = "\(indent)%\(id) = \(n.op.name)"
        var attrs: [String] = []
        var region: FusedKernel?
        switch n.op {
        case .parameter(let s), .input(let s): line += " " + quote(s)
        case .arg(let k): line += " \(k)"
        case .constant(.splat(let v)): line += " " + number(v)
        case .constant(.dense(let vs)): line += " [" + vs.map(number).joined(separator: ", ") + "]"
        case .randomUniform(let s), .randomNormal(let s): attrs.append("seed=\(s)")
        case .matmul(let m):
            if m.transA { attrs.append("transpose_a") }
            if m.transB { attrs.append("transpose_b") }
            region = m.epilogue
        case .transpose(let p): attrs.append("perm=" + list(p))
        case .slice(let s, let e): attrs.append("start=" + list(s)); attrs.append("end=" + list(e))
        case .concat(let a): attrs.append("axis=\(a)")
        case .reduce(_, let axes): attrs.append("axes=" + list(axes))
        case .fused(let k): region = k
        case .conv2d(let a), .convTranspose2d(let a), .conv2dFilterGrad(let a):
            attrs.append("stride=" + list(a.stride)); attrs.append("padding=" + list(a.padding))
        case .broadcast, .reshape, .unary, .binary, .compare, .select, .allReduce: break
        }
        if !n.inputs.isEmpty || !n.op.isLeaf && n.inputs.isEmpty && !isNullary(n.op) {
            line += "(" + n.inputs.map { "%\($0)" }.joined(separator: ", ") + ")"
        }
        if !attrs.isEmpty { line += " {" + attrs.joined(separator: ", ") + "}" }
        line += " : " + type(n.dtype, n.shape)
        if region != nil { line += " {" }
        if locations, let l = n.location { line += "  // " + location(l, op: n.op) }
        out += line + "\n"
        if let k = region {
            printBody(k.nodes, indent: indent + "  ", locations: locations, into: &out)
            out += "\(indent)  yield %\(k.result)\n\(indent)}\n"
        }
    }

    /// A node's location comment: `file:line`, or `enc.h0.matmul @ file:line` for a node built
    /// inside a model's named part (`IRParser` reads the scope back by dropping the op's name).
    public static func location(_ l: SourceLocation, op: Op) -> String {
        guard let name = l.nodeName(op.name) else { return l.description }
        return "\(name) @ \(l)"
    }

    /// Ops whose operand list may be empty although they are not leaves (the random key is optional).
    static func isNullary(_ op: Op) -> Bool {
        if case .randomUniform = op { return true }
        if case .randomNormal = op { return true }
        return false
    }

    public static func type(_ d: DType, _ s: Shape) -> String { d.rawValue + list(s) }
    static func list(_ xs: [Int]) -> String { "[" + xs.map(String.init).joined(separator: ",") + "]" }

    /// Shortest text that parses back to the same Double.
    static func number(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v < 0 ? "-inf" : "inf" }
        if v == 0 && v.sign == .minus { return "-0.0" }
        if v == v.rounded(), Swift.abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    static func quote(_ s: String) -> String {
        var r = "\""
        for c in s {
            switch c {
            case "\"": r += "\\\""
            case "\\": r += "\\\\"
            case "\n": r += "\\n"
            default: r.append(c)
            }
        }
        return r + "\""
    }
}

extension Graph: CustomStringConvertible {
    public var description: String { IRPrinter.print(self) }
}
