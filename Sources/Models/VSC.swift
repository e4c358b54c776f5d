import IR

/// Variational Sparse Coding (Tonolini et al., UAI 2019), as issue 6 states it:
/// - recognition net → μ, log σ², log γ (`SpikeHead`: −relu(−v) or −softplus(−v));
/// - spike warm-up (eq. 7, `SpikeWarmup`) applied to the slabs of q(z|x) and of the prior's
///   components alike (the whole recognition model is q_{φ,λ});
/// - draw z = sigmoid(c·(η − 1 + γ)) ⊙ (μ + σ ⊙ ε) (`SpikeSlabSampler`, noise keyed by "step");
/// - U learned pseudo-inputs through the same recognition net (`PseudoInputPrior`), selected by
///   `SelectionFunction` on the observations;
/// - prior term: selection-weighted mean of the spike-and-slab KLs (`SpikeSlabKL`);
/// - sparsity term J·KL_Bern(γ̄_u* ‖ α) (`SparsityTerm`);
/// - loss (eq. 4, per example, batch mean) = recon + kl + sparsity; elbo = −(recon + kl).
public struct VSCModel: GraphBuilderModel {
    public let spec: ModelSpec
    public init(spec: ModelSpec) { self.spec = spec }

    public var recognition: RecognitionNetwork {
        RecognitionNetwork(inputDim: spec.inputDim, hidden: spec.hidden, latent: spec.latent,
                           spikeBias: SpikeHead(spec.spike).initialBias)
    }
    public var generative: GenerativeNetwork {
        GenerativeNetwork(latent: spec.latent, hidden: spec.hidden, outputDim: spec.inputDim, likelihood: spec.likelihood)
    }
    public var prior: PseudoInputPrior { PseudoInputPrior(count: spec.prior.pseudoInputs, inputs: spec.inputDim) }
    public var selection: SelectionFunction {
        SelectionFunction(inputs: spec.inputDim, pseudoInputs: spec.prior.pseudoInputs,
                          a: spec.prior.selection.a, b: spec.prior.selection.b)
    }

    /// Encodes `x` (already normalised) into a spike-and-slab with the warm-up λ applied.
    func encode(_ x: Tensor, lambda: Tensor?, _ ctx: ModelContext) throws -> (q: SpikeSlab, rawGamma: Tensor) {
        let e = try recognition(x, ctx)
        let gamma = try SpikeHead(spec.spike).gamma(e.v!)
        var mu = e.mu, lv = e.logvar
        if let lambda { (mu, lv) = try SpikeWarmup(spec.warmupForm)(mu: mu, logvar: lv, lambda: lambda) }
        return (try SpikeSlab(mu: mu, logvar: lv, gamma: gamma), gamma)
    }

    public func buildTrain(_ ctx: ModelContext, batch: Int) throws {
        let g = ctx.graph
        let (x0, lambda, c, step) = try trainInputs(g, batch: batch, inputDim: spec.inputDim)
        let x = try normaliseInputs(x0, spec.inputNormalisation)

        let (q, gamma) = try encode(x, lambda: lambda, ctx)
        let z = try SpikeSlabSampler(seed: spec.seed)(mu: q.mu, logvar: q.logvar, gamma: gamma, c: c, key: step)
        let recon = try generative.head.negativeLogLikelihood(try generative(z, ctx), x)

        let pseudo = try normaliseInputs(try prior.pseudoInputs(ctx), spec.inputNormalisation)
        let (p, pseudoGamma) = try encode(pseudo, lambda: lambda, ctx)
        let weights = try selection(x, ctx)
        let kl = try PseudoInputPrior.weightedKL(q: q, p: p, weights: weights)
        let sparsity = try SparsityTerm(alpha: spec.prior.alpha)(pseudoGamma: pseudoGamma, weights: weights)

        try trainOutputs(g, recon: recon, kl: kl, sparsity: sparsity, loss: recon + kl + sparsity)
    }

    public func buildEncode(_ ctx: ModelContext, batch: Int) throws {
        let g = ctx.graph
        let (x, e) = try encodeOutputs(ctx, batch: batch)
        try g.output("gamma", try SpikeHead(spec.spike).gamma(e.v!))
        try g.output("selection", try selection(x, ctx))
    }
}

/// A model written as builder functions on a `ModelContext`; the three graphs, the decoder and
/// the initial values follow from them.
public protocol GraphBuilderModel: GenerativeModel {
    var recognition: RecognitionNetwork { get }
    var generative: GenerativeNetwork { get }
    func buildTrain(_ ctx: ModelContext, batch: Int) throws
    func buildEncode(_ ctx: ModelContext, batch: Int) throws
}

extension GraphBuilderModel {
    /// The encode graph's input "x" (normalised as the spec says), the recognition network's
    /// output, and its "mu" / "logvar" outputs: what every model's encode graph starts with.
    public func encodeOutputs(_ ctx: ModelContext, batch: Int) throws -> (x: Tensor, encoding: RecognitionNetwork.Output) {
        let g = ctx.graph
        let x = try normaliseInputs(try g.input(GraphNames.x, [batch, spec.inputDim]), spec.inputNormalisation)
        let e = try recognition(x, ctx)
        try g.output("mu", e.mu)
        try g.output("logvar", e.logvar)
        return (x, e)
    }

    public func buildDecode(_ ctx: ModelContext, batch: Int) throws {
        let g = ctx.graph
        let out = try generative(try g.input(GraphNames.z, [batch, spec.latent]), ctx)
        try g.output("xmean", out.mean)
        if let lv = out.logvar { try g.output("xlogvar", lv) }
    }

    public func trainGraph(batch: Int) throws -> Graph { try build("\(spec.name).train") { try buildTrain($0, batch: batch) } }
    public func encodeGraph(batch: Int) throws -> Graph { try build("\(spec.name).encode") { try buildEncode($0, batch: batch) } }
    public func decodeGraph(batch: Int) throws -> Graph { try build("\(spec.name).decode") { try buildDecode($0, batch: batch) } }
    /// Seeded values for every parameter the train and encode graphs declare.
    public func initialParameters(seed: UInt64) -> [String: [Float]] {
        let ctx = ModelContext(graph: Graph(name: "init"))
        try! buildTrain(ctx, batch: 1)
        try! buildEncode(ctx, batch: 1)
        return ctx.initialValues(seed: seed)
    }
}

/// Runs a builder on a fresh graph and verifies the result.
func build(_ name: String, _ body: (ModelContext) throws -> Void) throws -> Graph {
    let g = Graph(name: name)
    try body(ModelContext(graph: g))
    try g.checkErrors()
    try g.verify()
    return g
}
