import SeededRandom

/// A computation graph: an append-only list of hash-consed nodes (so always in topological order)
/// plus named outputs. Passes build new graphs; nodes are never changed once added.
public final class Graph {
    public var name: String
    public private(set) var nodes: [Node] = []
    private var index: [Node: NodeID] = [:]
    private var leafNames: [String: NodeID] = [:]
    /// Named results of the computation, in order.
    public private(set) var outputs: [(name: String, node: NodeID)] = []
    /// A shape error raised inside an operator (`+`, `*`, …), which cannot throw: it is thrown by
    /// the next builder call that can (those carry `#fileID:#line`), or by `checkErrors()`.
    public var deferredError: IRError?
    /// Seeds handed to random nodes built without an explicit seed.
    var nextSeed: UInt64 = 1

    public init(name: String = "main") { self.name = name }

    public subscript(id: NodeID) -> Node { nodes[id] }
    public var count: Int { nodes.count }

    /// Adds a node (or returns the identical node already present), after inferring and
    /// checking its shape. Errors carry `location`.
    @discardableResult
    public func add(_ op: Op, inputs: [NodeID] = [], shape: Shape? = nil, dtype: DType? = nil,
                    location: SourceLocation? = nil) throws -> NodeID {
        for i in inputs where i < 0 || i >= nodes.count {
            throw IRError("\(op.name): operand %\(i) does not exist", at: location)
        }
        let (dt, sh): (DType, Shape)
        do {
            (dt, sh) = try ShapeInference.infer(op, inputs: inputs.map { (nodes[$0].dtype, nodes[$0].shape) },
                                                declared: shape, dtype: dtype)
        } catch var e as IRError {
            e.location = e.location ?? location
            throw e
        }
        let node = Node(op: op, dtype: dt, shape: sh, inputs: inputs, location: location)
        if let existing = index[node] {
            if nodes[existing].location == nil, let l = location { nodes[existing].location = l }
            return existing
        }
        switch op {
        case .parameter(let n), .input(let n):
            if let other = leafNames[n] {
                throw IRError("\(op.name) \"\(n)\": name already used by %\(other) (\(nodes[other].op.name) \(nodes[other].dtype.rawValue)\(shapeString(nodes[other].shape)))", at: location)
            }
            leafNames[n] = nodes.count
        default: break
        }
        nodes.append(node)
        index[node] = nodes.count - 1
        return nodes.count - 1
    }

    /// The named parts of the model being built, innermost last (see `scoped`).
    public private(set) var scopes: [SourceLocation] = []

    /// Runs `body` inside the named part `name` of a model (a layer: "enc.h0"), declared at
    /// `location` (the builder call, or the YAML line of a spec's key). Every node built inside
    /// carries the scope's name; nodes built by operators (`+ - * /`), which cannot capture a
    /// line, take the scope's location instead of borrowing the line of whatever consumes them.
    /// Scope names are whole names, not prefixes: a layer inside another keeps its own name.
    public func scoped<T>(_ name: String, at location: SourceLocation, _ body: () throws -> T) rethrows -> T {
        var l = location
        l.scope = name
        scopes.append(l)
        defer { scopes.removeLast() }
        return try body()
    }

    /// The location a node built now gets from a builder call at `file:line` (nil: an operator).
    func location(file: String, line: Int) -> SourceLocation? {
        guard !file.isEmpty else { return scopes.last }
        return SourceLocation(file: file, line: line, scope: scopes.last?.scope)
    }

    /// Nodes built by operators, still waiting for a location (see `adoptLocation`).
    var unlocated = Set<NodeID>()

    /// Marks a node built by an operator (`+ - * /`), which cannot capture `#line`.
    func markUnlocated(_ id: NodeID) {
        if nodes[id].location == nil { unlocated.insert(id) }
    }

    /// Lends `loc` to an operator-built node and, transitively, to the operator-built nodes it
    /// consumes (the builder call that uses an expression's result names the line that wrote it).
    /// Other nodes without a location (parsed from text without one, say) are left alone.
    public func adoptLocation(_ id: NodeID, _ loc: SourceLocation) {
        var stack = [id]
        while let i = stack.popLast() {
            guard unlocated.remove(i) != nil, nodes[i].location == nil else { continue }
            nodes[i].location = loc
            stack.append(contentsOf: nodes[i].inputs)
        }
    }

    /// Adds or replaces a named output.
    public func setOutput(_ name: String, _ id: NodeID) {
        precondition(id >= 0 && id < nodes.count, "output node out of range")
        if let k = outputs.firstIndex(where: { $0.name == name }) { outputs[k].node = id }
        else { outputs.append((name, id)) }
    }

    public func output(_ name: String) -> NodeID? { outputs.first { $0.name == name }?.node }
    public func removeOutputs() { outputs.removeAll() }

    /// Throws the deferred operator error, if any.
    public func checkErrors() throws {
        if let e = deferredError { deferredError = nil; throw e }
    }

    /// The node named `name` among parameters and inputs.
    public func leaf(named name: String) -> NodeID? { leafNames[name] }

    /// Parameters in graph order.
    public var parameters: [(name: String, node: NodeID)] {
        nodes.indices.compactMap { if case .parameter(let n) = nodes[$0].op { return (n, $0) }; return nil }
    }
    /// Inputs in graph order.
    public var inputs: [(name: String, node: NodeID)] {
        nodes.indices.compactMap { if case .input(let n) = nodes[$0].op { return (n, $0) }; return nil }
    }

    /// For each node, the nodes using it (in increasing order).
    public func users() -> [[NodeID]] {
        var u = Array(repeating: [NodeID](), count: nodes.count)
        for (i, n) in nodes.enumerated() { for j in Set(n.inputs) { u[j].append(i) } }
        return u
    }

    /// Nodes reachable backwards from the outputs (or from `roots`).
    public func live(from roots: [NodeID]? = nil) -> [Bool] {
        var live = Array(repeating: false, count: nodes.count)
        var stack = roots ?? outputs.map(\.node)
        while let n = stack.popLast() {
            if live[n] { continue }
            live[n] = true
            stack.append(contentsOf: nodes[n].inputs)
        }
        return live
    }

    /// Re-checks every node (operands exist and precede it, shapes infer to what is stored, leaf
    /// names unique). Passes run it after each rewrite.
    public func verify() throws {
        var names: [String: NodeID] = [:]
        for (i, n) in nodes.enumerated() {
            for j in n.inputs where j < 0 || j >= i {
                throw IRError("%\(i) = \(n.op.name): operand %\(j) is not defined before it", at: n.location)
            }
            do {
                _ = try ShapeInference.infer(n.op, inputs: n.inputs.map { (nodes[$0].dtype, nodes[$0].shape) },
                                             declared: n.shape, dtype: n.dtype)
            } catch let e as IRError {
                throw IRError("%\(i) = " + e.message, at: n.location)
            }
            if case .arg = n.op { throw IRError("%\(i): arg outside a fused kernel", at: n.location) }
            switch n.op {
            case .parameter(let s), .input(let s):
                if let o = names[s] { throw IRError("%\(i): name \"\(s)\" already used by %\(o)", at: n.location) }
                names[s] = i
            default: break
            }
        }
        for o in outputs where o.node < 0 || o.node >= nodes.count {
            throw IRError("output \"\(o.name)\" refers to missing node %\(o.node)")
        }
    }

    /// A copy of the graph (nodes are values; the copy can grow independently).
    public func copy() -> Graph {
        let g = Graph(name: name)
        g.nodes = nodes; g.index = index; g.leafNames = leafNames; g.outputs = outputs; g.nextSeed = nextSeed
        g.unlocated = unlocated
        g.scopes = scopes
        return g
    }

    /// A stable structural hash (of nodes and outputs, not locations), used to key caches of
    /// compiled programs.
    public var structuralHash: UInt64 {
        fnv1a(IRPrinter.print(self, locations: false))
    }
}
