import IR

// Networks declared as a list of layers (the spec's `encoder:` / `decoder:`): convolutions,
// transposed convolutions, dense layers, flatten and reshape. Images are NHWC, as the data sets
// store them (row-major pixels, channels interleaved) and as the convolution ops take them.

/// One layer of a spec's `encoder` or `decoder` list.
public enum LayerSpec: Equatable, Sendable {
    /// A fully connected layer of this width (its input flat).
    case dense(Int)
    /// A convolution to `filters` channels (its input an image [H, W, C]).
    case conv(ConvLayerSpec)
    /// A transposed convolution to `filters` channels.
    case convTranspose(ConvLayerSpec)
    /// [H, W, C] → [H·W·C].
    case flatten
    /// Flat → this image shape [H, W, C].
    case reshape([Int])

    /// The spec key that names the layer's kind (`conv`, `dense`, …).
    public var key: String {
        switch self {
        case .dense: return "dense"
        case .conv: return "conv"
        case .convTranspose: return "conv_transpose"
        case .flatten: return "flatten"
        case .reshape: return "reshape"
        }
    }
    /// Whether the layer has parameters (and an activation).
    public var isParameterised: Bool {
        switch self {
        case .dense, .conv, .convTranspose: return true
        case .flatten, .reshape: return false
        }
    }
}

/// A (transposed) convolution layer's sizes: square kernels, the same stride and padding on
/// both axes. `outputPadding` (transposed only, < stride) adds rows and columns at the bottom and
/// right, to pick among the sizes a strided convolution maps to one.
public struct ConvLayerSpec: Equatable, Sendable {
    public var filters: Int
    public var kernel: Int
    public var stride: Int
    public var padding: Int
    public var outputPadding: Int
    public init(filters: Int, kernel: Int, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0) {
        self.filters = filters; self.kernel = kernel; self.stride = stride; self.padding = padding; self.outputPadding = outputPadding
    }
    var attrs: ConvAttrs { ConvAttrs(stride: stride, padding: padding) }
}

/// A layer list that does not fit its input: the layer's index in the list, the key at fault
/// (`kernel`, `dense`, …) and why.
public struct LayerShapeError: Error, Equatable, CustomStringConvertible {
    public var index: Int
    public var key: String
    public var message: String
    public var description: String { "layer \(index) (\(key)): \(message)" }
}

/// Shapes are per example: [D] flat, [H, W, C] an image.
func describeShape(_ s: Shape) -> String {
    s.count == 3 ? "\(s[0])×\(s[1])×\(s[2])" : "[" + s.map(String.init).joined(separator: ", ") + "]"
}

extension LayerSpec {
    /// The per-example shape after the layer, from the shape before it.
    public func outputShape(_ s: Shape, index: Int) throws -> Shape {
        func fail(_ key: String, _ m: String) -> LayerShapeError { LayerShapeError(index: index, key: key, message: m) }
        switch self {
        case .dense(let n):
            guard s.count == 1 else { throw fail("dense", "its input is the image \(describeShape(s)): add {flatten: true} before it") }
            return [n]
        case .flatten:
            guard let n = s.checkedElementCount else { throw fail("flatten", "\(describeShape(s)) holds more values than an Int counts") }
            return [n]
        case .reshape(let t):
            guard t.count == 3 else { throw fail("reshape", "expected an image shape [H, W, C], got \(t)") }
            guard let n = t.checkedElementCount, n == s.checkedElementCount else {
                throw fail("reshape", "\(describeShape(t)) holds \(t.reduce(1, *)) values, its input \(describeShape(s)) \(s.reduce(1, *))")
            }
            return t
        case .conv(let c):
            guard s.count == 3 else { throw fail("conv", "needs an image input [H, W, C], got the flat \(describeShape(s)) (add {reshape: [H, W, C]})") }
            guard let oh = c.attrs.outputExtent(input: s[0], kernel: c.kernel, axis: 0),
                  let ow = c.attrs.outputExtent(input: s[1], kernel: c.kernel, axis: 1) else {
                throw fail("kernel", "a \(c.kernel)×\(c.kernel) kernel does not fit the \(s[0])×\(s[1]) input with padding \(c.padding)")
            }
            return [oh, ow, c.filters]
        case .convTranspose(let c):
            guard s.count == 3 else { throw fail("conv_transpose", "needs an image input [H, W, C], got the flat \(describeShape(s)) (add {reshape: [H, W, C]})") }
            guard c.outputPadding < c.stride else {
                throw fail("output_padding", "must be less than the stride (\(c.stride)), got \(c.outputPadding)")
            }
            let size = (0..<2).map { c.attrs.transposedExtent(input: s[$0], kernel: c.kernel, axis: $0, extra: c.outputPadding) ?? -1 }
            guard size.allSatisfy({ $0 > 0 }) else {
                throw fail("padding", "padding \(c.padding) leaves no output from the \(s[0])×\(s[1]) input")
            }
            return size + [c.filters]
        }
    }

    /// The inverse of the layer that maps `input` to its output: what a mirrored decoder applies
    /// to give `input` back. nil for a flatten of a flat input (nothing to undo).
    func mirror(input: Shape) -> LayerSpec? {
        switch self {
        case .dense: return .dense(input.reduce(1, *))
        case .flatten: return input.count == 3 ? .reshape(input) : nil
        case .reshape: return .flatten
        case .conv(let c), .convTranspose(let c):
            let isConv: Bool = { if case .conv = self { return true } else { return false } }()
            var m = ConvLayerSpec(filters: input[2], kernel: c.kernel, stride: c.stride, padding: c.padding)
            guard isConv else { return .conv(m) }
            // The transposed convolution's default size, (out − 1)·s − 2p + k, may fall short of
            // the input by up to s − 1 rows: output padding makes it up.
            let out = (try? outputShape(input, index: 0)) ?? input
            m.outputPadding = max(0, input[0] - ((out[0] - 1) * c.stride - 2 * c.padding + c.kernel))
            return .convTranspose(m)
        }
    }
}

/// The most values one example may have after any layer (2⁴⁰; the tensor budget refuses far less).
public let maxLayerValues = 1 << 40

/// The shapes of a layer list applied to `input`: element 0 is `input`, element k + 1 the
/// output of layer k.
public func layerShapes(_ layers: [LayerSpec], input: Shape) throws -> [Shape] {
    var shapes = [input]
    for (i, l) in layers.enumerated() {
        let out = try l.outputShape(shapes.last!, index: i)
        // Bounded here, so every product of these shapes downstream stays within an Int.
        guard let n = out.checkedElementCount, n <= maxLayerValues else {
            throw LayerShapeError(index: i, key: l.key, message: "its output \(out) holds more than \(maxLayerValues) values per example")
        }
        shapes.append(out)
    }
    return shapes
}

/// The decoder that mirrors `encoder` (applied to `input`): a dense layer to the encoder's last
/// width, a reshape when the encoder ended on an image, then each encoder layer's inverse in
/// reverse order, down to the inverse of its first layer, which gives back `input` and is the
/// likelihood's head. A dense layer's inverse is a dense layer to its input width, a
/// convolution's a transposed convolution to its input's channels and size, a flatten's a reshape.
public func mirroredDecoder(_ encoder: [LayerSpec], input: Shape) throws -> [LayerSpec] {
    let shapes = try layerShapes(encoder, input: input)
    let last = shapes.last!
    var decoder: [LayerSpec] = [.dense(last.reduce(1, *))]
    if last.count == 3 { decoder.append(.reshape(last)) }
    for k in stride(from: encoder.count - 1, through: 0, by: -1) {
        if let m = encoder[k].mirror(input: shapes[k]) { decoder.append(m) }
    }
    return decoder
}

/// A (transposed) convolution layer y = act(conv(x, W) + b), W [K, K, C_in, F] named
/// "<name>.w" for a convolution and [K, K, F, C_in] for a transposed one (the filter of the
/// convolution it transposes), b [F] "<name>.b". He uniform before a ReLU (fan-in K·K·C_in),
/// Xavier uniform otherwise, biases 0. Located like `Dense`.
public struct Conv2D {
    public var name: String
    public var spec: ConvLayerSpec
    public var transposed: Bool
    public var activation: Activation
    public var declaredAt: SourceLocation
    public init(_ name: String, _ spec: ConvLayerSpec, transposed: Bool = false, activation: Activation = .none,
                file: String = #fileID, line: Int = #line) {
        self.name = name; self.spec = spec; self.transposed = transposed; self.activation = activation
        declaredAt = SourceLocation(file: file, line: line)
    }

    /// x [B, H, W, C_in] → [B, H', W', F].
    public func callAsFunction(_ x: Tensor, _ ctx: ModelContext) throws -> Tensor {
        try ctx.part(name, file: declaredAt.file, line: declaredAt.line) { at in
            let (file, line) = (at.file, at.line)
            let k = spec.kernel, cin = x.shape.last ?? 0, f = spec.filters
            let fanIn = k * k * cin, fanOut = k * k * f
            let wInit: Initialiser = activation == .relu ? .heUniform(fanIn: fanIn) : .xavierUniform(fanIn: fanIn, fanOut: fanOut)
            let w = try ctx.parameter(name + ".w", transposed ? [k, k, f, cin] : [k, k, cin, f], wInit, file: file, line: line)
            let b = try ctx.parameter(name + ".b", [f], .constant(0), file: file, line: line)
            let conv: Tensor
            if transposed {
                guard x.rank == 4 else { throw IRError("\(name): conv_transpose needs an image input [B, H, W, C], got \(x.shape)", at: at) }
                let size = (1...2).map { spec.attrs.transposedExtent(input: x.shape[$0], kernel: k, axis: $0 - 1, extra: spec.outputPadding) ?? -1 }
                conv = try x.convTranspose2d(w, stride: spec.stride, padding: spec.padding, outputSize: size, file: file, line: line)
            } else {
                conv = try x.conv2d(w, stride: spec.stride, padding: spec.padding, file: file, line: line)
            }
            let y = conv + b
            switch activation {
            case .none: return y
            case .relu: return try y.relu(file: file, line: line)
            case .tanh: return try y.tanh(file: file, line: line)
            }
        }
    }
}

/// A layer list as a network: each parameterised layer k is the part "<name>.h<k>" (k its index
/// in the list, so `enc.h0` is `encoder[0]`), with `activation`. Takes [B, D] (reshaped to
/// [B] + `input` when that is an image) and returns [B] + the last layer's shape.
public struct LayerStack {
    public var name: String
    public var layers: [LayerSpec]
    public var input: Shape
    public var activation: Activation
    public var declaredAt: SourceLocation
    public init(_ name: String, layers: [LayerSpec], input: Shape, activation: Activation = .relu,
                file: String = #fileID, line: Int = #line) {
        self.name = name; self.layers = layers; self.input = input; self.activation = activation
        declaredAt = SourceLocation(file: file, line: line)
    }

    /// The per-example shape the stack returns (nil if the layers do not fit the input).
    public var outputShape: Shape? { (try? layerShapes(layers, input: input))?.last }

    public func callAsFunction(_ x: Tensor, _ ctx: ModelContext) throws -> Tensor {
        let (file, line) = (declaredAt.file, declaredAt.line)
        let batch = x.shape.first ?? 1
        var h = input.count == 3 ? try x.reshape([batch] + input, file: file, line: line) : x
        for (k, layer) in layers.enumerated() {
            let part = "\(name).h\(k)"
            switch layer {
            case .dense(let n):
                h = try Dense(part, h.shape.dropFirst().reduce(1, *), n, activation: activation, file: file, line: line)(
                    h.rank == 2 ? h : h.reshape([batch, h.shape.dropFirst().reduce(1, *)], file: file, line: line), ctx)
            case .conv(let c):
                h = try Conv2D(part, c, activation: activation, file: file, line: line)(h, ctx)
            case .convTranspose(let c):
                h = try Conv2D(part, c, transposed: true, activation: activation, file: file, line: line)(h, ctx)
            case .flatten, .reshape:
                let to: Shape
                if case .reshape(let s) = layer { to = [batch] + s } else { to = [batch, h.shape.dropFirst().reduce(1, *)] }
                let from = h
                h = try ctx.part(part, file: file, line: line) { at in try from.reshape(to, file: at.file, line: at.line) }
            }
        }
        return h
    }
}
