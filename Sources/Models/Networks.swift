import IR

/// The recognition network q(z | x) (supplementary A.2, D.1): the encoder's layers — an MLP of
/// ReLU layers `input_dim → hidden…`, or the spec's `encoder:` list (convolutions, …) — then
/// separate dense heads "enc.mu", "enc.logvar" and, for VSC, the spike pre-activation
/// "enc.spike" (v; log γ from `SpikeHead`) from the last layer (flattened).
public struct RecognitionNetwork {
    public var body: LayerStack
    public var mu: Dense
    public var logvar: Dense
    public var spike: Dense?
    public init(inputDim: Int, hidden: [Int], latent: Int, spikeBias: Double? = nil, activation: Activation = .relu, name: String = "enc") {
        self.init(input: [inputDim], layers: hidden.map { .dense($0) }, latent: latent, spikeBias: spikeBias, activation: activation, name: name)
    }
    /// `input` is one example's shape: [D], or [H, W, C] for a network that starts with a convolution.
    public init(input: Shape, layers: [LayerSpec], latent: Int, spikeBias: Double? = nil, activation: Activation = .relu, name: String = "enc") {
        body = LayerStack(name, layers: layers, input: input, activation: activation)
        let h = body.outputShape?.reduce(1, *) ?? 0
        mu = Dense(name + ".mu", h, latent)
        logvar = Dense(name + ".logvar", h, latent)
        spike = spikeBias.map { Dense(name + ".spike", h, latent, bias: $0) }
    }
    public struct Output { public var mu: Tensor; public var logvar: Tensor; public var v: Tensor? }
    public func callAsFunction(_ x: Tensor, _ ctx: ModelContext) throws -> Output {
        var h = try body(x, ctx)
        // The heads are dense: an encoder that ends on an image is flattened for them.
        if h.rank != 2 { h = try h.reshape([h.shape[0], h.shape.dropFirst().reduce(1, *)]) }
        return Output(mu: try mu(h, ctx), logvar: try logvar(h, ctx), v: try spike.map { try $0(h, ctx) })
    }
}

/// The generative network p(x | z) (supplementary A.1, D.1): ReLU layers `latent → hidden
/// reversed…` (or the spec's decoder list but its last layer), then the likelihood's heads
/// ("dec.mean"/"dec.logvar" or "dec.logits"): dense, or the decoder list's last layer — a
/// (transposed) convolution to the data's channels — once per head.
public struct GenerativeNetwork {
    public var body: LayerStack
    public var head: LikelihoodHead
    public init(latent: Int, hidden: [Int], outputDim: Int, likelihood: ModelSpec.Likelihood, activation: Activation = .relu, name: String = "dec") {
        self.init(latent: latent, layers: hidden.reversed().map { .dense($0) } + [.dense(outputDim)], outputDim: outputDim,
                  likelihood: likelihood, activation: activation, name: name)
    }
    /// `layers`: the decoder from the latent code to the data, its last layer the heads' (a dense
    /// layer of `outputDim`, or a (transposed) convolution whose output holds `outputDim` values).
    public init(latent: Int, layers: [LayerSpec], outputDim: Int, likelihood: ModelSpec.Likelihood, activation: Activation = .relu,
                name: String = "dec") {
        body = LayerStack(name, layers: Array(layers.dropLast()), input: [latent], activation: activation)
        let inputs = body.outputShape?.reduce(1, *) ?? 0
        head = LikelihoodHead(likelihood, name: name, inputs: inputs, outputs: outputDim)
        switch layers.last {
        case .conv(let c)?: head.convolution = Conv2D(name, c)
        case .convTranspose(let c)?: head.convolution = Conv2D(name, c, transposed: true)
        case .dense?, .flatten?, .reshape?, nil: break
        }
    }
    public func callAsFunction(_ z: Tensor, _ ctx: ModelContext) throws -> LikelihoodHead.Output {
        try head(try body(z, ctx), ctx)
    }
}

/// The names of the three graphs' leaves and outputs (see `GenerativeModel`).
public enum GraphNames {
    public static let x = "x", z = "z", lambda = "lambda", c = "c", step = "step", regulariserWeight = "reg_weight", sparsityWeight = "sparsity_weight"
    /// The spike-logit penalty's weight (VSC with `schedules.spike_logit_penalty_decay` only).
    public static let penaltyWeight = "penalty_weight"
    /// The training set's size N (β-TCVAE's minibatch-stratified estimator).
    public static let datasetSize = "dataset_size"
    public static let loss = "loss", recon = "recon", kl = "kl", sparsity = "sparsity", elbo = "elbo"
    /// The encode graph's outputs (gamma: spike-and-slab kinds only) and the decode graph's.
    public static let mu = "mu", logvar = "logvar", gamma = "gamma", xmean = "xmean", xlogvar = "xlogvar"
    /// The train graph's optional diagnostic outputs (VSC), read by the training loop when it logs.
    public enum Diagnostic: String, CaseIterable, Sendable {
        /// Selection weights u* [B, U].
        case selection
        /// The data's spike probabilities γ [B, J].
        case gamma
        /// The prior components' spike probabilities as the prior term uses them [U, J].
        case priorGamma = "prior_gamma"
        public var output: String { "diag." + rawValue }
    }
}

/// Declares the train graph's inputs: x [batch, D] and the scalars λ, c, step.
func trainInputs(_ g: Graph, batch: Int, inputDim: Int) throws -> (x: Tensor, lambda: Tensor, c: Tensor, step: Tensor) {
    (try g.input(GraphNames.x, [batch, inputDim]), try g.input(GraphNames.lambda, []),
     try g.input(GraphNames.c, []), try g.input(GraphNames.step, []))
}

/// The objective per example: recon + w·regulariser, w the scalar input "reg_weight" (the
/// schedule's KL annealing; 1 when the spec has none).
func weightedLoss(_ g: Graph, recon: Tensor, regulariser: Tensor) throws -> Tensor {
    let w = try g.input(GraphNames.regulariserWeight, [])
    return recon + regulariser * (try w.broadcast(to: regulariser.shape))
}

/// `weightedLoss` plus a term with its own weight, the scalar input `weightName`.
func weightedLoss(_ g: Graph, recon: Tensor, regulariser: Tensor, separately term: Tensor, weightName: String) throws -> Tensor {
    let w = try g.input(weightName, [])
    return try weightedLoss(g, recon: recon, regulariser: regulariser) + term * (try w.broadcast(to: term.shape))
}

/// Names the train graph's five scalar outputs from per-example terms [batch].
func trainOutputs(_ g: Graph, recon: Tensor, kl: Tensor, sparsity: Tensor?, loss perExampleLoss: Tensor) throws {
    try g.output(GraphNames.loss, try perExampleLoss.mean())
    try g.output(GraphNames.recon, try recon.mean())
    try g.output(GraphNames.kl, try kl.mean())
    try g.output(GraphNames.sparsity, try sparsity.map { try $0.mean() } ?? g.constant(0))
    try g.output(GraphNames.elbo, try (recon + kl).mean().neg())
}

extension ModelSpec {
    /// The image shape [H, W, C] of the data's rows when the spec does not give `input_shape`:
    /// an image folder's size × size × channels, else a square grey image when `input_dim` is a
    /// square (Fashion-MNIST 28 × 28 × 1, Smiley 32 × 32 × 1); nil otherwise.
    public var defaultInputShape: [Int]? {
        if data.dataset.descriptor.takesImageGeometry, data.options.inputDim == inputDim {
            return [data.options.imageSize, data.options.imageSize, data.options.channels]
        }
        let side = Int(Double(inputDim).squareRoot().rounded())
        return side * side == inputDim ? [side, side, 1] : nil
    }
    /// One example's shape as the encoder takes it: [H, W, C] before a convolution, else [D].
    public var encoderInput: Shape {
        switch encoder?.first {
        case .conv?, .convTranspose?: return inputShape ?? defaultInputShape ?? [inputDim]
        case .dense?, .flatten?, .reshape?, nil: return [inputDim]
        }
    }
    /// The encoder's layers: the list, or the MLP of `hidden`.
    public var encoderLayers: [LayerSpec] { encoder ?? hidden.map { .dense($0) } }
    /// The decoder's layers, from the latent code to the data: the list, or the encoder's mirror
    /// image (empty if the encoder does not fit its input, which the parser reports).
    public var decoderLayers: [LayerSpec] {
        if let decoder { return decoder }
        if encoder == nil { return hidden.reversed().map { .dense($0) } + [.dense(inputDim)] }
        return (try? mirroredDecoder(encoderLayers, input: encoderInput)) ?? []
    }
    /// The recognition network of the spec (`spikeBias`: VSC's spike head, nil for none).
    public func recognitionNetwork(spikeBias: Double?) -> RecognitionNetwork {
        RecognitionNetwork(input: encoderInput, layers: encoderLayers, latent: latent, spikeBias: spikeBias, activation: activation)
    }
    /// The generative network of the spec.
    public var generativeNetwork: GenerativeNetwork {
        GenerativeNetwork(latent: latent, layers: decoderLayers, outputDim: inputDim, likelihood: likelihood, activation: activation)
    }

    /// The YAML location of each layer the networks build, by layer name: the encoder's hidden
    /// layer k at `hidden[k]` (or `encoder[k]`) and the decoder's mirror image (dec.h k at
    /// hidden[n − 1 − k], at `encoder`; or `decoder[k]`), the
    /// heads at the key that sizes them (`latent`, `spike`, `likelihood`), the selector at
    /// `prior.selection`. Empty for a spec built in Swift (its layers keep their Swift lines).
    public var layerLocations: [String: SourceLocation] {
        guard let k = keyLines else { return [:] }
        func at(_ keys: String...) -> SourceLocation? {
            keys.lazy.compactMap { k.lines[$0] }.first.map { SourceLocation(file: k.file, line: $0) }
        }
        var r: [String: SourceLocation] = [:]
        // Layer k of a list is at its entry; a mirrored decoder's layers at what they mirror (the
        // encoder's key, or hidden's entries in reverse).
        let n = hidden.count
        if let encoder {
            for i in encoder.indices { r["enc.h\(i)"] = at("encoder[\(i)]", "encoder") }
        } else {
            for i in 0..<n { r["enc.h\(i)"] = at("hidden[\(i)]", "hidden") }
        }
        if let decoder {
            for i in decoder.indices { r["dec.h\(i)"] = at("decoder[\(i)]", "decoder") }
        } else if encoder != nil {
            for i in decoderLayers.indices { r["dec.h\(i)"] = at("encoder") }
        } else {
            for i in 0..<n { r["dec.h\(i)"] = at("hidden[\(n - 1 - i)]", "hidden") }
        }
        r["enc.mu"] = at("latent")
        r["enc.logvar"] = at("latent")
        r["enc.spike"] = at("spike", "latent")
        let headKeys = decoder != nil ? ["decoder[\(decoderLayers.count - 1)]", "likelihood"] : ["likelihood", "input_dim", "data"]
        for head in ["dec.mean", "dec.logvar", "dec.logits"] { r[head] = headKeys.lazy.compactMap { at($0) }.first }
        r["select"] = at("prior.selection", "prior")
        r["prior"] = at("prior.pseudo_inputs", "prior")
        return r
    }
}
