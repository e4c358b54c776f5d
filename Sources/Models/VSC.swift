import IR

/// Variational Sparse Coding (Tonolini et al., UAI 2019), Algorithm 1:
/// - recognition net → μ, log σ², log γ (`SpikeHead`: −relu(−v) or −softplus(−v)) on the
///   encoder's view of x (`input_normalisation`);
/// - the draw (Algorithm 1 line 4) from the warmed posterior q_{φ,λ} (eq. 7, `SpikeWarmup`):
///   z = sigmoid(c·(η − 1 + γ)) ⊙ (μ_λ + σ_λ ⊙ ε) (`SpikeSlabSampler`, noise keyed by "step");
/// - the prior term (line 7) on the un-warmed q_φ(z|x) and prior components q_φ(z|x_u): the
///   slabs get the KL's gradient from the first step, also while λ = 0;
/// - U learned pseudo-inputs through the same recognition net (`PseudoInputPrior`), weighted by
///   `SelectionFunction` on the observations, or, for selection kind mixture, the mixture bound
///   −log (1/U) Σ_u exp(−KL_u) and its responsibilities; their spikes bounded by `priorSpike` (ν);
/// - optionally, the KL the loss trains on with soft-bounded slab parameters (`slab_bounds`,
///   `boundedSlab`); the reported KL and ELBO are always the true ones;
/// - sparsity term J·KL_Bern(γ̄_u* ‖ α) (`SparsityTerm`) on the same prior spikes;
/// - loss (eq. 4, per example, batch mean) = recon + w·(kl + sparsity), w the input "reg_weight"
///   (KL annealing, `schedules.regulariser_warmup`; 1 without it), or recon + w·kl + w_s·sparsity
///   with w_s the input "sparsity_weight" (`schedules.sparsity_warmup`), plus ε·Σ_j v² of the
///   spike logits (data, and the pseudo-inputs' mean) with `spike_logit_penalty`, times the input
///   "penalty_weight" with `schedules.spike_logit_penalty_decay`; elbo = −(recon + kl)
///   with the true (unbounded) kl.
/// The train graph also outputs the collapse diagnostics (`GraphNames.diagnostics`): the
/// selection weights, the data's and the prior's spike probabilities.
public struct VSCModel: GraphBuilderModel {
    public let spec: ModelSpec
    public init(spec: ModelSpec) { self.spec = spec }

    public var recognition: RecognitionNetwork {
        spec.recognitionNetwork(spikeBias: spec.spikeBias ?? SpikeHead(spec.spike).initialBias)
    }
    public var generative: GenerativeNetwork {
        spec.generativeNetwork
    }
    public var prior: PseudoInputPrior { PseudoInputPrior(count: spec.prior.pseudoInputs, inputs: spec.inputDim) }
    public var selection: SelectionFunction {
        SelectionFunction(inputs: spec.inputDim, pseudoInputs: spec.prior.pseudoInputs, selection: spec.prior.selection)
    }

    /// Encodes `x` (the encoder's view) into the un-warmed spike-and-slab q_φ, its raw γ and the
    /// spike logits v.
    func encode(_ x: Tensor, _ ctx: ModelContext) throws -> (q: SpikeSlab, rawGamma: Tensor, logits: Tensor) {
        let e = try recognition(x, ctx)
        return try ctx.part("enc.spike") { _ in
            let gamma = try SpikeHead(spec.spike).gamma(e.v!)
            return (try SpikeSlab(mu: e.mu, logvar: e.logvar, gamma: gamma), gamma, e.v!)
        }
    }

    public func buildTrain(_ ctx: ModelContext, batch: Int) throws {
        let g = ctx.graph
        let (x, lambda, c, step) = try trainInputs(g, batch: batch, inputDim: spec.inputDim)
        let xe = try ctx.part("input") { _ in try normaliseInputs(x, spec.inputNormalisation) }

        let (q, gamma, logits) = try encode(xe, ctx)
        let warm = try ctx.part("warmup") { _ in try SpikeWarmup(spec.warmupForm)(mu: q.mu, logvar: q.logvar, lambda: lambda) }
        let z = try ctx.part("sample") { _ in try SpikeSlabSampler(seed: spec.seed)(mu: warm.mu, logvar: warm.logvar, gamma: gamma, c: c, key: step) }
        let decoded = try generative(z, ctx)
        let recon = try ctx.part("recon") { _ in try generative.head.negativeLogLikelihood(decoded, x) }

        let (p, pseudoGamma, pseudoLogits) = try priorComponents(ctx)
        let (kl, weights) = try ctx.part("kl") { _ in try priorTerm(q: q, p: p, xe, ctx, bounds: spec.slabBounds) }
        // The reported KL (and ELBO) is always the true one. A bounded surrogate can train, but its
        // tanh flattens once the means pass the bound: a model trained on it moved its data means
        // to ±90 against the components' ±28 and reported a prior term of 12 nats where the true
        // one was 1,762 (README, model notes).
        let trueKL = spec.slabBounds == nil ? kl : try ctx.part("kl") { _ in try priorTerm(q: q, p: p, xe, ctx, bounds: nil).kl }
        let sparsity = try ctx.part("sparsity") { _ in
            try SparsityTerm(alpha: spec.prior.alpha, form: spec.prior.sparsity)(pseudoGamma: pseudoGamma, weights: weights)
        }

        try ctx.part("loss") { _ in
            var loss = spec.schedules.sparsityWarmup == nil
                ? try weightedLoss(g, recon: recon, regulariser: kl + sparsity)
                : try weightedLoss(g, recon: recon, regulariser: kl, separately: sparsity, weightName: GraphNames.sparsityWeight)
            if let eps = spec.spikeLogitPenalty {
                // Per example: the data's Σ_j v² plus the components' mean Σ_j v² (the same for all).
                let pseudo = try pseudoLogits.square().sum(axes: [0, 1]) * (1 / Double(spec.prior.pseudoInputs))
                var penalty = try (logits.square().sum(axes: [1]) + (try pseudo.broadcast(to: [batch]))) * eps
                if spec.schedules.spikeLogitPenaltyDecay != nil {
                    penalty = try penalty * (try g.input(GraphNames.penaltyWeight, []).broadcast(to: [batch]))
                }
                loss = try loss + penalty
            }
            try trainOutputs(g, recon: recon, kl: trueKL, sparsity: sparsity, loss: loss)
        }
        try g.output(GraphNames.Diagnostic.selection.output, weights)
        try g.output(GraphNames.Diagnostic.gamma.output, gamma)
        try g.output(GraphNames.Diagnostic.priorGamma.output, pseudoGamma)
    }

    /// The prior's components q_φ(z|x_u) [U, J] (spikes bounded by ν), those spike
    /// probabilities and the components' spike logits.
    func priorComponents(_ ctx: ModelContext) throws -> (p: SpikeSlab, gamma: Tensor, logits: Tensor) {
        let pseudo = try ctx.part("prior") { _ in try normaliseInputs(try prior.pseudoInputs(ctx), spec.inputNormalisation) }
        let (p0, rawPseudoGamma, logits) = try encode(pseudo, ctx)
        return try ctx.part("prior") { _ in
            let pseudoGamma = try priorSpike(rawPseudoGamma, sharpness: spec.prior.spikeSharpness)
            switch spec.prior.slab {
            case .pseudoInputs:
                return (try SpikeSlab(mu: p0.mu, logvar: p0.logvar, gamma: pseudoGamma), pseudoGamma, logits)
            case .standard:
                let zero = try ctx.graph.constant(0, shape: p0.mu.shape)
                return (try SpikeSlab(mu: zero, logvar: zero, gamma: pseudoGamma), pseudoGamma, logits)
            }
        }
    }

    /// The prior term per example [B] and the selection weights [B, U] it used: a classifier's
    /// weighted mean of the component KLs (paper, authors), or the mixture bound and its
    /// responsibilities (mixture), on the slabs soft-bounded by `bounds` (nil: the true KL).
    func priorTerm(q: SpikeSlab, p: SpikeSlab, _ xe: Tensor, _ ctx: ModelContext,
                   bounds: ModelSpec.SlabBounds?) throws -> (kl: Tensor, weights: Tensor) {
        let klU = try PseudoInputPrior.componentKL(q: try boundedSlab(q, bounds), p: try boundedSlab(p, bounds))
        switch spec.prior.selection.kind {
        case .paper, .authors:
            let w = try selection(xe, ctx)
            return (try PseudoInputPrior.weightedMean(klU, w), w)
        case .mixture:
            let m = try PseudoInputPrior.mixtureKL(klU)
            return (m.kl, m.responsibilities)
        }
    }

    /// The seeded values, with the pseudo-inputs replaced by U training images when the spec's
    /// `pseudo_input_init` says so.
    public func initialParameters(seed: UInt64, examples: (_ count: Int) throws -> [Float]) throws -> [String: [Float]] {
        var p = initialParameters(seed: seed)
        switch spec.prior.pseudoInputInit {
        case .uniform: break
        case .trainingImages:
            let images = try examples(prior.count)
            precondition(images.count == prior.count * prior.inputs, "examples(\(prior.count)) returned \(images.count) values")
            p[prior.name] = images
        }
        return p
    }

    public func buildEncode(_ ctx: ModelContext, batch: Int) throws {
        let g = ctx.graph
        let (x, e) = try encodeOutputs(ctx, batch: batch)
        let gamma = try SpikeHead(spec.spike).gamma(e.v!)
        try g.output(GraphNames.gamma, gamma)
        let (p, _, _) = try priorComponents(ctx)
        let q = try SpikeSlab(mu: e.mu, logvar: e.logvar, gamma: gamma)
        try g.output("selection", try priorTerm(q: q, p: p, x, ctx, bounds: spec.slabBounds).weights)
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
        try g.output(GraphNames.mu, e.mu)
        try g.output(GraphNames.logvar, e.logvar)
        return (x, e)
    }

    public func buildDecode(_ ctx: ModelContext, batch: Int) throws {
        let g = ctx.graph
        let out = try generative(try g.input(GraphNames.z, [batch, spec.latent]), ctx)
        try g.output(GraphNames.xmean, out.mean)
        if let lv = out.logvar { try g.output(GraphNames.xlogvar, lv) }
    }

    public func trainGraph(batch: Int) throws -> Graph { try build("\(spec.name).train", spec) { try buildTrain($0, batch: batch) } }
    public func encodeGraph(batch: Int) throws -> Graph { try build("\(spec.name).encode", spec) { try buildEncode($0, batch: batch) } }
    public func decodeGraph(batch: Int) throws -> Graph { try build("\(spec.name).decode", spec) { try buildDecode($0, batch: batch) } }
    /// Seeded values for every parameter the train and encode graphs declare.
    public func initialParameters(seed: UInt64) -> [String: [Float]] {
        let ctx = ModelContext(graph: Graph(name: "init"))
        try! buildTrain(ctx, batch: 1)
        try! buildEncode(ctx, batch: 1)
        return ctx.initialValues(seed: seed)
    }
}

/// Runs a builder on a fresh graph (its layers located at `spec`'s YAML lines) and verifies the result.
func build(_ name: String, _ spec: ModelSpec, _ body: (ModelContext) throws -> Void) throws -> Graph {
    let g = Graph(name: name)
    try body(ModelContext(graph: g, layerLocations: spec.layerLocations))
    try g.checkErrors()
    try g.verify()
    return g
}
