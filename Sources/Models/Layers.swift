import IR

/// Builds one graph of a model: hands out parameters by name (the same name gives the same node,
/// so a network applied twice shares its weights) and records how each starts.
public final class ModelContext {
    public let graph: Graph
    public struct Declaration { public var name: String; public var shape: Shape; public var initialiser: Initialiser }
    /// Every parameter declared so far, in order.
    public private(set) var declarations: [Declaration] = []
    private var byName: [String: Tensor] = [:]

    /// Where each layer was declared, by layer name: the YAML lines of a spec's keys
    /// (`ModelSpec.layerLocations`); empty for a model built in Swift alone.
    public var layerLocations: [String: SourceLocation] = [:]

    public init(graph: Graph, layerLocations: [String: SourceLocation] = [:]) {
        self.graph = graph; self.layerLocations = layerLocations
    }

    /// Builds the named part `name` of the model (a layer, "enc.h0"; or a term, "kl") in
    /// `body`, which gets the part's location: the YAML line that declared the layer, or else
    /// the Swift call `file:line`. Its nodes are named after it in printed IR (`enc.h0.matmul`)
    /// and located there, operator-built ones included (see `Graph.scoped`).
    public func part<T>(_ name: String, file: String = #fileID, line: Int = #line,
                        _ body: (SourceLocation) throws -> T) rethrows -> T {
        let location = layerLocations[name] ?? SourceLocation(file: file, line: line)
        return try graph.scoped(name, at: location) { try body(location) }
    }

    public func parameter(_ name: String, _ shape: Shape, _ initialiser: Initialiser,
                          file: String = #fileID, line: Int = #line) throws -> Tensor {
        if let t = byName[name] {
            guard t.shape == shape else {
                throw IRError("parameter \"\(name)\" declared again with shape \(shape), was \(t.shape)",
                              at: SourceLocation(file: file, line: line))
            }
            return t
        }
        let t = try graph.parameter(name, shape, file: file, line: line)
        byName[name] = t
        declarations.append(Declaration(name: name, shape: shape, initialiser: initialiser))
        return t
    }

    /// Seeded initial values of every declared parameter.
    public func initialValues(seed: UInt64) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for d in declarations {
            out[d.name] = d.initialiser.values(count: d.shape.reduce(1, *), seed: seed, name: d.name)
        }
        return out
    }
}

public enum Activation: String, Sendable { case none, relu, tanh }

/// A fully connected layer y = act(x·W + b), W [inputs, outputs] named "<name>.w", b "<name>.b".
/// Initialisation: He uniform before a ReLU, Xavier uniform otherwise; biases `bias`.
/// Its nodes are the part `name` of the model, located where the layer is declared: the spec's
/// YAML line (`ModelContext.layerLocations`), or else the Swift line that made the `Dense`
/// (`declaredAt`), wherever it is applied.
public struct Dense {
    public var name: String
    public var inputs: Int
    public var outputs: Int
    public var activation: Activation
    public var bias: Double
    public var declaredAt: SourceLocation
    public init(_ name: String, _ inputs: Int, _ outputs: Int, activation: Activation = .none, bias: Double = 0,
                file: String = #fileID, line: Int = #line) {
        self.name = name; self.inputs = inputs; self.outputs = outputs; self.activation = activation; self.bias = bias
        declaredAt = SourceLocation(file: file, line: line)
    }

    public func callAsFunction(_ x: Tensor, _ ctx: ModelContext) throws -> Tensor {
        try ctx.part(name, file: declaredAt.file, line: declaredAt.line) { at in
            let (file, line) = (at.file, at.line)
            let wInit: Initialiser = activation == .relu ? .heUniform(fanIn: inputs) : .xavierUniform(fanIn: inputs, fanOut: outputs)
            let w = try ctx.parameter(name + ".w", [inputs, outputs], wInit, file: file, line: line)
            let b = try ctx.parameter(name + ".b", [outputs], .constant(bias), file: file, line: line)
            let y = try x.matmul(w, file: file, line: line) + b
            switch activation {
            case .none: return y
            case .relu: return try y.relu(file: file, line: line)
            case .tanh: return try y.tanh(file: file, line: line)
            }
        }
    }
}

/// The encoder's view of an input (`input_normalisation`), applied inside the graphs to the data
/// and to VSC's pseudo-inputs alike (the likelihood models the raw data): `unit_l2` scales each
/// row to unit L2 norm (the authors' code), `signed` maps [0, 1] to [−1, 1].
public func normaliseInputs(_ x: Tensor, _ mode: ModelSpec.InputNormalisation) throws -> Tensor {
    switch mode {
    case .none: return x
    case .signed: return try (x * 2 - 1).reshape(x.shape)
    case .unitL2:
        let norm = try x.square().sum(axes: [-1], keepDims: true).maximum(1e-12).sqrt()
        return try (x / norm).reshape(x.shape)
    }
}
