import IR

/// An executable program for one graph, as both backends provide it. Parameters and inputs live
/// in persistent Float32 buffers owned by the program (fill them in place); outputs are read
/// after `run()`. `carries` pairs an output with the parameter/input it replaces after each run
/// (a train step's "new w1" becomes "w1"), so a training loop is just: write the batch, run.
public protocol Program: AnyObject {
    var graph: Graph { get }
    /// The persistent buffer of a parameter or input, by name (nil if there is none).
    func buffer(_ name: String) -> UnsafeMutableBufferPointer<Float>?
    /// An output's values after the last `run()`.
    func output(_ name: String) -> UnsafeBufferPointer<Float>?
    /// Output → leaf copies applied at the end of every run.
    var carries: [(output: String, leaf: String)] { get set }
    /// When set, the first node producing NaN/Inf stops the run with an error naming it.
    var checkFinite: Bool { get set }
    func run() throws
}

extension Program {
    /// Copies `values` into the named leaf buffer; errors name the leaf and the sizes.
    public func set(_ name: String, _ values: [Float]) throws {
        guard let b = buffer(name) else { throw RuntimeError("the program has no parameter or input named \"\(name)\"") }
        guard b.count == values.count else {
            throw RuntimeError("\"\(name)\" holds \(b.count) values, got \(values.count)")
        }
        _ = b.initialize(from: values)
    }
    public func set(_ name: String, scalar: Float) throws { try set(name, [scalar]) }
    /// A copy of a leaf's buffer or of an output.
    public func values(_ name: String) -> [Float]? {
        if let o = output(name) { return Array(o) }
        return buffer(name).map { Array($0) }
    }
    /// Carries pairing every output named `prefix + leaf` with that leaf.
    public func carryOutputs(prefix: String) {
        let leaves = Set((graph.parameters + graph.inputs).map(\.name))
        carries = graph.outputs.compactMap { o in
            guard o.name.hasPrefix(prefix) else { return nil }
            let leaf = String(o.name.dropFirst(prefix.count))
            return leaves.contains(leaf) ? (o.name, leaf) : nil
        }
    }
}

/// The reference interpreter behind the `Program` interface (Float32).
public final class InterpreterProgram: Program {
    public let graph: Graph
    public var carries: [(output: String, leaf: String)] = []
    public var checkFinite = false
    var leaves: [String: UnsafeMutableBufferPointer<Float>] = [:]
    var outs: [String: UnsafeMutableBufferPointer<Float>] = [:]

    public init(_ graph: Graph) {
        self.graph = graph
        for (name, id) in graph.parameters + graph.inputs {
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: graph[id].elementCount)
            b.initialize(repeating: 0)
            leaves[name] = b
        }
    }
    deinit { for b in leaves.values { b.deallocate() }; for b in outs.values { b.deallocate() } }

    public func buffer(_ name: String) -> UnsafeMutableBufferPointer<Float>? { leaves[name] }
    public func output(_ name: String) -> UnsafeBufferPointer<Float>? {
        outs[name].map { UnsafeBufferPointer($0) }
    }
    /// Built once: its last-use table depends only on the graph.
    private lazy var interpreter = Interpreter<Float>(graph)

    public func run() throws {
        let interp = interpreter
        interp.checkFinite = checkFinite
        let results = try interp.run(leaves.mapValues { Array($0) })
        for (name, v) in results {
            if outs[name] == nil { outs[name] = .allocate(capacity: v.count) }
            _ = outs[name]!.initialize(from: v)
        }
        for c in carries {
            guard let v = outs[c.output], let b = leaves[c.leaf] else { continue }
            _ = b.initialize(from: v)
        }
    }
}
