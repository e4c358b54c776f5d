import IR

/// An error while running a program: a missing or misshapen feed, a non-finite value.
public struct RuntimeError: Error, CustomStringConvertible {
    public var message: String
    /// The node that failed (for non-finite values: the first node that produced one).
    public var node: NodeID?
    public init(_ message: String, node: NodeID? = nil) { self.message = message; self.node = node }
    public var description: String { "error: " + message }
}

/// Describes a node for error messages: `%12 = mul(%10, %11) : f32[500,60]  // Models/VSC.swift:88`.
public func describeNode(_ g: Graph, _ id: NodeID) -> String {
    IRPrinter.instruction(g[id], id: id)
}

/// The reference interpreter: executes every node in order, matmuls through OpenBLAS and the
/// rest as plain loops, in the precision `T` (whatever the graph's declared dtype: running an f32
/// graph with `T = Double` is how gradients are checked). Buffers are released after their last use.
public final class Interpreter<T: InterpScalar> {
    public let graph: Graph
    /// When set, the first node producing NaN or ±Inf stops the run with an error naming it.
    public var checkFinite: Bool
    let lastUse: [Int]

    public init(_ graph: Graph, checkFinite: Bool = false) {
        self.graph = graph
        self.checkFinite = checkFinite
        var last = Array(0..<graph.count)
        for (i, n) in graph.nodes.enumerated() { for j in n.inputs { last[j] = max(last[j], i) } }
        for o in graph.outputs { last[o.node] = Int.max }
        lastUse = last
    }

    /// Runs the graph. `feeds` maps every parameter and input name to its values (row-major).
    /// Returns every output by name.
    public func run(_ feeds: [String: [T]]) throws -> [String: [T]] {
        BLASThreads.useAll()
        var values = [[T]?](repeating: nil, count: graph.count)
        for (i, n) in graph.nodes.enumerated() {
            let v: [T]
            if let name = n.op.feedName {
                guard let f = feeds[name] else {
                    throw RuntimeError("no value fed for \(n.op.name) \"\(name)\" (\(describeNode(graph, i)))", node: i)
                }
                guard f.count == n.elementCount else {
                    throw RuntimeError("\(n.op.name) \"\(name)\" expects \(n.elementCount) values for \(IRPrinter.type(n.dtype, n.shape)), got \(f.count)", node: i)
                }
                v = f
            } else {
                v = Self.evaluate(n, n.inputs.map { values[$0]! }, shapes: n.inputs.map { graph[$0].shape }, args: [])
            }
            if checkFinite, let bad = v.firstIndex(where: { !$0.isFinite }) {
                throw RuntimeError("non-finite value \(v[bad]) at element \(bad) of \(describeNode(graph, i))", node: i)
            }
            values[i] = v
            for j in Set(n.inputs) where lastUse[j] == i { values[j] = nil }
        }
        var out: [String: [T]] = [:]
        for o in graph.outputs { out[o.name] = values[o.node]! }
        return out
    }

    /// Evaluates one node on its operand values. `args` are the operands of an enclosing fused
    /// kernel (for `.arg` nodes).
    public static func evaluate(_ n: Node, _ ins: [[T]], shapes: [Shape], args: [[T]]) -> [T] {
        let count = n.elementCount
        switch n.op {
        case .parameter, .input:
            fatalError("leaves are fed, not evaluated")
        case .arg(let k):
            return args[k]
        case .matmul(let m):
            let a = ins[0], b = ins[1]
            let d = m.dims(a: shapes[0], b: shapes[1])
            var c = [T](repeating: 0, count: count)
            if count > 0 && d.k > 0 {
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                    T.gemm(transA: m.transA, transB: m.transB, m: d.m, n: d.n, k: d.k,
                           a: pa.baseAddress!, b: pb.baseAddress!, c: pc.baseAddress!)
                } } }
            }
            if let e = m.epilogue { return runKernel(e, args: [c] + ins.dropFirst(2)) }
            return c
        case .fused(let k):
            return runKernel(k, args: ins)
        case .conv2d, .convTranspose2d, .conv2dFilterGrad:
            return Convolution.evaluate(n, ins, shapes: shapes)
        case .allReduce:
            // Blocking: the sum over every rank (`Collective`), the operand itself on one rank.
            return T.sumOverRanks(ins[0])
        case .constant, .randomUniform, .randomNormal, .broadcast, .reshape, .transpose, .slice, .concat,
             .unary, .binary, .compare, .select, .reduce:
            return Semantics.evaluate(n, ins, shapes: shapes)!
        }
    }

    /// Runs a fused kernel body on whole arrays (the reference for the JIT's loop nests).
    public static func runKernel(_ k: FusedKernel, args: [[T]]) -> [T] {
        var vals = [[T]](repeating: [], count: k.nodes.count)
        for (i, n) in k.nodes.enumerated() {
            vals[i] = evaluate(n, n.inputs.map { vals[$0] }, shapes: n.inputs.map { k.nodes[$0].shape }, args: args)
        }
        return vals[k.result]
    }

}
