import IR

/// The recognition network q(z | x) (supplementary A.2, D.1): an MLP of ReLU layers
/// `input_dim → hidden…`, then separate linear heads "enc.mu", "enc.logvar" and, for VSC, the
/// spike pre-activation "enc.spike" (v; log γ from `SpikeHead`).
public struct RecognitionNetwork {
    public var body: MLP
    public var mu: Dense
    public var logvar: Dense
    public var spike: Dense?
    public init(inputDim: Int, hidden: [Int], latent: Int, spikeBias: Double? = nil, activation: Activation = .relu, name: String = "enc") {
        body = MLP(name, sizes: [inputDim] + hidden, activation: activation)
        let h = hidden.last ?? inputDim
        mu = Dense(name + ".mu", h, latent)
        logvar = Dense(name + ".logvar", h, latent)
        spike = spikeBias.map { Dense(name + ".spike", h, latent, bias: $0) }
    }
    public struct Output { public var mu: Tensor; public var logvar: Tensor; public var v: Tensor? }
    public func callAsFunction(_ x: Tensor, _ ctx: ModelContext) throws -> Output {
        let h = try body(x, ctx)
        return Output(mu: try mu(h, ctx), logvar: try logvar(h, ctx), v: try spike.map { try $0(h, ctx) })
    }
}

/// The generative network p(x | z) (supplementary A.1, D.1): ReLU layers `latent → hidden
/// reversed…`, then the likelihood's heads ("dec.mean"/"dec.logvar" or "dec.logits").
public struct GenerativeNetwork {
    public var body: MLP
    public var head: LikelihoodHead
    public init(latent: Int, hidden: [Int], outputDim: Int, likelihood: ModelSpec.Likelihood, activation: Activation = .relu, name: String = "dec") {
        let sizes = [latent] + hidden.reversed()
        body = MLP(name, sizes: sizes, activation: activation)
        head = LikelihoodHead(likelihood, name: name, inputs: sizes.last!, outputs: outputDim)
    }
    public func callAsFunction(_ z: Tensor, _ ctx: ModelContext) throws -> LikelihoodHead.Output {
        try head(try body(z, ctx), ctx)
    }
}

/// The names of the three graphs' leaves and outputs (see `GenerativeModel`).
public enum GraphNames {
    public static let x = "x", z = "z", lambda = "lambda", c = "c", step = "step", regulariserWeight = "reg_weight", sparsityWeight = "sparsity_weight"
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
    /// The YAML location of each layer the networks build, by layer name: the encoder's hidden
    /// layer k at `hidden[k]` and the decoder's mirror image (dec.h k at hidden[n − 1 − k]), the
    /// heads at the key that sizes them (`latent`, `spike`, `likelihood`), the selector at
    /// `prior.selection`. Empty for a spec built in Swift (its layers keep their Swift lines).
    public var layerLocations: [String: SourceLocation] {
        guard let k = keyLines else { return [:] }
        func at(_ keys: String...) -> SourceLocation? {
            keys.lazy.compactMap { k.lines[$0] }.first.map { SourceLocation(file: k.file, line: $0) }
        }
        var r: [String: SourceLocation] = [:]
        let n = hidden.count
        for i in 0..<n {
            r["enc.h\(i)"] = at("hidden[\(i)]", "hidden")
            r["dec.h\(i)"] = at("hidden[\(n - 1 - i)]", "hidden")
        }
        r["enc.mu"] = at("latent")
        r["enc.logvar"] = at("latent")
        r["enc.spike"] = at("spike", "latent")
        for head in ["dec.mean", "dec.logvar", "dec.logits"] { r[head] = at("likelihood", "input_dim", "data") }
        r["select"] = at("prior.selection", "prior")
        r["prior"] = at("prior.pseudo_inputs", "prior")
        return r
    }
}
