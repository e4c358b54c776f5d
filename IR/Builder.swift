/// A handle on a node of a graph, for building graphs from Swift:
///
///     let g = Graph(name: "mlp")
///     let x = try g.input("x", [64, 784])
///     let w1 = try g.parameter("w1", [784, 128]), b1 = try g.parameter("b1", [128])
///     let h = try (x.matmul(w1) + b1).relu()
///     let loss = try (h.matmul(w2) + b2 - y).square().mean()
///     try g.output("loss", loss)
///
/// Named builder calls throw `IRError` naming the op and the Swift line (`#fileID:#line`) that
/// built it. Operators (`+ - * /`, prefix `-`) cannot capture a line nor throw: a shape error in
/// one is held by the graph and thrown by the next named call (with that call's line). Their
/// nodes take the location of the innermost `Graph.scoped` part (the layer that built them);
/// outside any scope, the line of the named call that consumes them.
public struct Tensor {
    public let graph: Graph
    public let id: NodeID
    public init(_ graph: Graph, _ id: NodeID) { self.graph = graph; self.id = id }

    public var node: Node { graph[id] }
    public var shape: Shape { graph[id].shape }
    public var dtype: DType { graph[id].dtype }
    public var rank: Int { shape.count }
}

extension Graph {
    /// The one entry point of the builder: throws pending operator errors, lends the location to
    /// operator-built operands, adds the node.
    func make(_ op: Op, _ inputs: [Tensor], shape: Shape? = nil, dtype: DType? = nil,
              _ file: String, _ line: Int) throws -> Tensor {
        // Operators pass no location (file ""): their nodes get the scope's, or none, to be lent
        // by the consumer.
        let loc = location(file: file, line: line)
        if var e = deferredError {
            deferredError = nil
            e.location = e.location ?? loc
            throw e
        }
        for t in inputs {
            precondition(t.graph === self, "tensor from another graph")
            if let loc { adoptLocation(t.id, loc) }
        }
        let id = try add(op, inputs: inputs.map(\.id), shape: shape, dtype: dtype, location: loc)
        if loc == nil { markUnlocated(id) }
        return Tensor(self, id)
    }

    public func parameter(_ name: String, _ shape: Shape, dtype: DType = .f32,
                          file: String = #fileID, line: Int = #line) throws -> Tensor {
        try make(.parameter(name), [], shape: shape, dtype: dtype, file, line)
    }
    public func input(_ name: String, _ shape: Shape, dtype: DType = .f32,
                      file: String = #fileID, line: Int = #line) throws -> Tensor {
        try make(.input(name), [], shape: shape, dtype: dtype, file, line)
    }
    public func constant(_ value: Double, shape: Shape = [], dtype: DType = .f32,
                         file: String = #fileID, line: Int = #line) throws -> Tensor {
        try make(.constant(.splat(value)), [], shape: shape, dtype: dtype, file, line)
    }
    public func constant(_ values: [Double], shape: Shape, dtype: DType = .f32,
                         file: String = #fileID, line: Int = #line) throws -> Tensor {
        try make(.constant(.dense(values)), [], shape: shape, dtype: dtype, file, line)
    }
    /// Uniform numbers in (0, 1); `key` (a scalar, e.g. the step counter) makes them change per step.
    public func randomUniform(_ shape: Shape, key: Tensor? = nil, seed: UInt64? = nil, dtype: DType = .f32,
                              file: String = #fileID, line: Int = #line) throws -> Tensor {
        let s = seed ?? takeSeed()
        return try make(.randomUniform(seed: s), key.map { [$0] } ?? [], shape: shape, dtype: dtype, file, line)
    }
    /// Standard normal numbers; see `randomUniform`.
    public func randomNormal(_ shape: Shape, key: Tensor? = nil, seed: UInt64? = nil, dtype: DType = .f32,
                             file: String = #fileID, line: Int = #line) throws -> Tensor {
        let s = seed ?? takeSeed()
        return try make(.randomNormal(seed: s), key.map { [$0] } ?? [], shape: shape, dtype: dtype, file, line)
    }
    func takeSeed() -> UInt64 { defer { nextSeed += 1 }; return nextSeed }

    /// Names `t` as an output of the graph.
    public func output(_ name: String, _ t: Tensor, file: String = #fileID, line: Int = #line) throws {
        try checkErrors()
        adoptLocation(t.id, SourceLocation(file: file, line: line))
        setOutput(name, t.id)
    }

    public func concat(_ ts: [Tensor], axis: Int, file: String = #fileID, line: Int = #line) throws -> Tensor {
        guard let first = ts.first else { throw IRError("concat: needs at least one operand", at: SourceLocation(file: file, line: line)) }
        return try make(.concat(axis: axis < 0 ? axis + first.rank : axis), ts, file, line)
    }
    public func select(_ c: Tensor, _ a: Tensor, _ b: Tensor, file: String = #fileID, line: Int = #line) throws -> Tensor {
        let s = broadcastShape(broadcastShape(c.shape, a.shape) ?? c.shape, b.shape) ?? a.shape
        return try make(.select, [c.broadcast(to: s, file: file, line: line), a.broadcast(to: s, file: file, line: line),
                                  b.broadcast(to: s, file: file, line: line)], file, line)
    }
}

/// Numpy's broadcast of two shapes, or nil if they do not broadcast.
public func broadcastShape(_ a: Shape, _ b: Shape) -> Shape? {
    let n = max(a.count, b.count)
    var out = Array(repeating: 0, count: n)
    for i in 0..<n {
        let x = i < n - a.count ? 1 : a[i - (n - a.count)]
        let y = i < n - b.count ? 1 : b[i - (n - b.count)]
        if x != y && x != 1 && y != 1 { return nil }
        out[i] = x == 1 ? y : x
    }
    return out
}

extension Tensor {
    func loc(_ f: String, _ l: Int) -> SourceLocation { SourceLocation(file: f, line: l) }

    public func unary(_ u: UnaryOp, file: String = #fileID, line: Int = #line) throws -> Tensor {
        try graph.make(.unary(u), [self], file, line)
    }
    public func neg(file: String = #fileID, line: Int = #line) throws -> Tensor { try unary(.neg, file: file, line: line) }
    public func exp(file: String = #fileID, line: Int = #line) throws -> Tensor { try unary(.exp, file: file, line: line) }
    public func log(file: String = #fileID, line: Int = #line) throws -> Tensor { try unary(.log, file: file, line: line) }
    public func log1p(file: String = #fileID, line: Int = #line) throws -> Tensor { try unary(.log1p, file: file, line: line) }
    public func sqrt(file: String = #fileID, line: Int = #line) throws -> Tensor { try unary(.sqrt, file: file, line: line) }
    public func square(file: String = #fileID, line: Int = #line) throws -> Tensor { try unary(.square, file: file, line: line) }
    public func relu(file: String = #fileID, line: Int = #line) throws -> Tensor { try unary(.relu, file: file, line: line) }
    public func sigmoid(file: String = #fileID, line: Int = #line) throws -> Tensor { try unary(.sigmoid, file: file, line: line) }
    public func softplus(file: String = #fileID, line: Int = #line) throws -> Tensor { try unary(.softplus, file: file, line: line) }
    public func tanh(file: String = #fileID, line: Int = #line) throws -> Tensor { try unary(.tanh, file: file, line: line) }
    public func abs(file: String = #fileID, line: Int = #line) throws -> Tensor { try unary(.abs, file: file, line: line) }
    public func step(file: String = #fileID, line: Int = #line) throws -> Tensor { try unary(.step, file: file, line: line) }

    /// Elementwise binary op with numpy broadcasting (broadcast nodes are inserted explicitly).
    public func binary(_ b: BinaryOp, _ other: Tensor, file: String = #fileID, line: Int = #line) throws -> Tensor {
        let (x, y) = try broadcastPair(self, other, b.rawValue, file, line)
        return try graph.make(.binary(b), [x, y], file, line)
    }
    public func binary(_ b: BinaryOp, _ scalar: Double, file: String = #fileID, line: Int = #line) throws -> Tensor {
        try binary(b, graph.constant(scalar, dtype: dtype, file: file, line: line), file: file, line: line)
    }
    public func compare(_ c: CompareOp, _ other: Tensor, file: String = #fileID, line: Int = #line) throws -> Tensor {
        let (x, y) = try broadcastPair(self, other, "cmp_" + c.rawValue, file, line)
        return try graph.make(.compare(c), [x, y], file, line)
    }
    public func compare(_ c: CompareOp, _ scalar: Double, file: String = #fileID, line: Int = #line) throws -> Tensor {
        try compare(c, graph.constant(scalar, dtype: dtype, file: file, line: line), file: file, line: line)
    }
    public func maximum(_ o: Tensor, file: String = #fileID, line: Int = #line) throws -> Tensor { try binary(.max, o, file: file, line: line) }
    public func minimum(_ o: Tensor, file: String = #fileID, line: Int = #line) throws -> Tensor { try binary(.min, o, file: file, line: line) }
    public func maximum(_ s: Double, file: String = #fileID, line: Int = #line) throws -> Tensor { try binary(.max, s, file: file, line: line) }
    public func minimum(_ s: Double, file: String = #fileID, line: Int = #line) throws -> Tensor { try binary(.min, s, file: file, line: line) }
    public func pow(_ o: Tensor, file: String = #fileID, line: Int = #line) throws -> Tensor { try binary(.pow, o, file: file, line: line) }
    public func pow(_ s: Double, file: String = #fileID, line: Int = #line) throws -> Tensor { try binary(.pow, s, file: file, line: line) }
    /// Clamps into [lo, hi].
    public func clamp(_ lo: Double, _ hi: Double, file: String = #fileID, line: Int = #line) throws -> Tensor {
        try maximum(lo, file: file, line: line).minimum(hi, file: file, line: line)
    }

    public func matmul(_ o: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                       file: String = #fileID, line: Int = #line) throws -> Tensor {
        try graph.make(.matmul(MatmulAttrs(transA: transposeA, transB: transposeB)), [self, o], file, line)
    }
    /// 2-D convolution of NHWC `self` [N, H, W, C] with `filter` [KH, KW, C, F] → [N, OH, OW, F]
    /// (see `Op.conv2d`); `stride` and `padding` apply to rows and columns alike.
    public func conv2d(_ filter: Tensor, stride: Int = 1, padding: Int = 0,
                       file: String = #fileID, line: Int = #line) throws -> Tensor {
        try graph.make(.conv2d(ConvAttrs(stride: stride, padding: padding)), [self, filter], file, line)
    }
    /// The transposed convolution of `self` [N, H, W, F] with `filter` [KH, KW, C, F] (the filter
    /// of the convolution it transposes) → [N, OH, OW, C]. `outputSize` [OH, OW] defaults to
    /// (H − 1)·stride − 2·padding + KH (and likewise for W): a stride-s convolution maps s
    /// consecutive sizes to one, so the others are asked for explicitly.
    public func convTranspose2d(_ filter: Tensor, stride: Int = 1, padding: Int = 0, outputSize: [Int]? = nil,
                                file: String = #fileID, line: Int = #line) throws -> Tensor {
        let a = ConvAttrs(stride: stride, padding: padding)
        guard rank == 4, filter.rank == 4 else {
            return try graph.make(.convTranspose2d(a), [self, filter], shape: nil, file, line)
        }
        let size = outputSize ?? (0..<2).map { d in a.transposedExtent(input: shape[1 + d], kernel: filter.shape[d], axis: d) ?? -1 }
        return try graph.make(.convTranspose2d(a), [self, filter], shape: [shape[0], size[0], size.count > 1 ? size[1] : 0, filter.shape[2]],
                              file, line)
    }
    /// The filter gradient of the convolution of `self` [N, H, W, C] with a `kernel` [KH, KW]
    /// filter, given the gradient `dy` [N, OH, OW, F] of its output → [KH, KW, C, F].
    public func conv2dFilterGrad(_ dy: Tensor, kernel: [Int], stride: Int = 1, padding: Int = 0,
                                 file: String = #fileID, line: Int = #line) throws -> Tensor {
        let a = ConvAttrs(stride: stride, padding: padding)
        let c = rank == 4 ? shape[3] : 0, f = dy.rank == 4 ? dy.shape[3] : 0
        return try graph.make(.conv2dFilterGrad(a), [self, dy], shape: kernel + [c, f], file, line)
    }
    public func broadcast(to s: Shape, file: String = #fileID, line: Int = #line) throws -> Tensor {
        if s == shape { return self }
        return try graph.make(.broadcast, [self], shape: s, file, line)
    }
    /// The sum of this tensor over every rank of a data-parallel run (`Op.allReduce`).
    public func allReduce(file: String = #fileID, line: Int = #line) throws -> Tensor {
        try graph.make(.allReduce, [self], file, line)
    }
    public func reshape(_ s: Shape, file: String = #fileID, line: Int = #line) throws -> Tensor {
        if s == shape { return self }
        return try graph.make(.reshape, [self], shape: s, file, line)
    }
    public func transpose(_ perm: [Int]? = nil, file: String = #fileID, line: Int = #line) throws -> Tensor {
        let p = perm ?? Array((0..<rank).reversed())
        if p == Array(0..<rank) { return self }
        return try graph.make(.transpose(p), [self], file, line)
    }
    public func slice(start: [Int], end: [Int], file: String = #fileID, line: Int = #line) throws -> Tensor {
        try graph.make(.slice(start: start, end: end), [self], file, line)
    }
    /// Columns `range` of the last axis.
    public func sliceLast(_ r: Range<Int>, file: String = #fileID, line: Int = #line) throws -> Tensor {
        var s = Array(repeating: 0, count: rank), e = shape
        s[rank - 1] = r.lowerBound; e[rank - 1] = r.upperBound
        return try slice(start: s, end: e, file: file, line: line)
    }

    /// Reduction over `axes` (all axes when nil; negative axes count from the end). With
    /// `keepDims`, reduced axes stay with extent 1.
    public func reduce(_ r: ReduceOp, axes: [Int]? = nil, keepDims: Bool = false,
                       file: String = #fileID, line: Int = #line) throws -> Tensor {
        let ax = Array(Set((axes ?? Array(0..<rank)).map { $0 < 0 ? $0 + rank : $0 })).sorted()
        let red = try graph.make(.reduce(r, axes: ax), [self], file, line)
        if !keepDims { return red }
        return try red.reshape(shape.enumerated().map { ax.contains($0.offset) ? 1 : $0.element }, file: file, line: line)
    }
    public func sum(axes: [Int]? = nil, keepDims: Bool = false, file: String = #fileID, line: Int = #line) throws -> Tensor {
        try reduce(.sum, axes: axes, keepDims: keepDims, file: file, line: line)
    }
    public func mean(axes: [Int]? = nil, keepDims: Bool = false, file: String = #fileID, line: Int = #line) throws -> Tensor {
        try reduce(.mean, axes: axes, keepDims: keepDims, file: file, line: line)
    }
    public func max(axes: [Int]? = nil, keepDims: Bool = false, file: String = #fileID, line: Int = #line) throws -> Tensor {
        try reduce(.max, axes: axes, keepDims: keepDims, file: file, line: line)
    }
    /// log Σ exp(x) over the last axis (extent kept as 1), computed as m + log Σ exp(x − m) with
    /// m the row maximum so no exponential overflows. The gradient is softmax(x) exactly: m's
    /// own gradient cancels between its two uses.
    public func logSumExpLast(file: String = #fileID, line: Int = #line) throws -> Tensor {
        let m = try max(axes: [-1], keepDims: true, file: file, line: line)
        let shifted = self - (try m.broadcast(to: shape, file: file, line: line))
        return try m + (try shifted.exp(file: file, line: line)).sum(axes: [-1], keepDims: true, file: file, line: line).log(file: file, line: line)
    }
    /// softmax over the last axis: exp(x − logSumExpLast(x)).
    public func softmaxLast(file: String = #fileID, line: Int = #line) throws -> Tensor {
        let lse = try logSumExpLast(file: file, line: line)
        return try (self - (try lse.broadcast(to: shape, file: file, line: line))).exp(file: file, line: line)
    }
}

func broadcastPair(_ a: Tensor, _ b: Tensor, _ opName: String, _ file: String, _ line: Int) throws -> (Tensor, Tensor) {
    if a.shape == b.shape { return (a, b) }
    guard let s = broadcastShape(a.shape, b.shape) else {
        throw IRError("\(opName): shapes \(shapeString(a.shape)) and \(shapeString(b.shape)) do not broadcast",
                      at: SourceLocation(file: file, line: line))
    }
    return (try a.broadcast(to: s, file: file, line: line), try b.broadcast(to: s, file: file, line: line))
}

// MARK: Operators. They cannot throw or capture a line; see `Tensor`.

extension Tensor {
    fileprivate static func op(_ b: BinaryOp, _ x: Tensor, _ y: Tensor) -> Tensor {
        do {
            try x.graph.checkErrors()
            let (p, q) = try broadcastPair(x, y, b.rawValue, "", 0)
            let id = try x.graph.add(.binary(b), inputs: [p.id, q.id], location: x.graph.scopes.last)
            x.graph.markUnlocated(id)
            return Tensor(x.graph, id)
        } catch var e as IRError {
            if e.location?.line == 0 { e.location = nil }
            x.graph.deferredError = x.graph.deferredError ?? e
            return x
        } catch { fatalError("unreachable: \(error)") }
    }
    fileprivate func scalar(_ v: Double) -> Tensor {
        let id = try! graph.add(.constant(.splat(v)), shape: [], dtype: dtype, location: graph.scopes.last)
        graph.markUnlocated(id)
        return Tensor(graph, id)
    }
    public static func + (a: Tensor, b: Tensor) -> Tensor { op(.add, a, b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { op(.sub, a, b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { op(.mul, a, b) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { op(.div, a, b) }
    public static func + (a: Tensor, b: Double) -> Tensor { op(.add, a, a.scalar(b)) }
    public static func - (a: Tensor, b: Double) -> Tensor { op(.sub, a, a.scalar(b)) }
    public static func * (a: Tensor, b: Double) -> Tensor { op(.mul, a, a.scalar(b)) }
    public static func / (a: Tensor, b: Double) -> Tensor { op(.div, a, a.scalar(b)) }
    public static func + (a: Double, b: Tensor) -> Tensor { op(.add, b.scalar(a), b) }
    public static func - (a: Double, b: Tensor) -> Tensor { op(.sub, b.scalar(a), b) }
    public static func * (a: Double, b: Tensor) -> Tensor { op(.mul, b.scalar(a), b) }
    public static func / (a: Double, b: Tensor) -> Tensor { op(.div, b.scalar(a), b) }
    public static prefix func - (a: Tensor) -> Tensor {
        let id = try! a.graph.add(.unary(.neg), inputs: [a.id], location: a.graph.scopes.last)
        a.graph.markUnlocated(id)
        return Tensor(a.graph, id)
    }
}
