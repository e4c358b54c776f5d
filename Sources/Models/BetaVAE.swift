import IR

/// The β-VAE baseline (section 4.1, D.1): the same recognition and generative networks without
/// the spike head, a standard normal prior, loss = recon + β·KL(q(z|x) ‖ N(0, I)) with
/// KL = ½ Σ_j (μ² + σ² − 1 − log σ²). The train graph declares "lambda" and "c" like VSC's so the
/// training loop feeds both models alike; they are unused.
public struct BetaVAEModel: GraphBuilderModel {
    public let spec: ModelSpec
    public init(spec: ModelSpec) { self.spec = spec }

    public var recognition: RecognitionNetwork {
        spec.recognitionNetwork(spikeBias: nil)
    }
    public var generative: GenerativeNetwork {
        spec.generativeNetwork
    }

    /// KL(N(μ, σ²) ‖ N(0, 1)) summed over the last axis.
    public static func gaussianKL(mu: Tensor, logvar: Tensor) throws -> Tensor {
        try ((mu.square() + logvar.exp() - 1 - logvar) * 0.5).sum(axes: [-1])
    }

    public func buildTrain(_ ctx: ModelContext, batch: Int) throws {
        let g = ctx.graph
        let (x, _, _, step) = try trainInputs(g, batch: batch, inputDim: spec.inputDim)
        let (_, _, recon, kl) = try gaussianTerms(ctx, x: x, step: step)
        try ctx.part("loss") { _ in
            try trainOutputs(g, recon: recon, kl: kl, sparsity: nil, loss: try weightedLoss(g, recon: recon, regulariser: kl * spec.beta))
        }
    }

    public func buildEncode(_ ctx: ModelContext, batch: Int) throws {
        _ = try encodeOutputs(ctx, batch: batch)
    }
}

extension GraphBuilderModel {
    /// The train graph's part the β-VAE and β-TCVAE share: encode x, draw z = μ + σ·ε (ε keyed
    /// by the step), decode; the reconstruction term and the analytic KL to N(0, I), per example.
    func gaussianTerms(_ ctx: ModelContext, x: Tensor, step: Tensor)
        throws -> (encoding: RecognitionNetwork.Output, z: Tensor, recon: Tensor, kl: Tensor) {
        let e = try recognition(try ctx.part("input") { _ in try normaliseInputs(x, spec.inputNormalisation) }, ctx)
        let z = try ctx.part("sample") { _ in
            let eps = try ctx.graph.randomNormal(e.mu.shape, key: step, seed: spec.seed &* 2 &+ 1)
            return e.mu + (try (e.logvar * 0.5).exp()) * eps
        }
        let decoded = try generative(z, ctx)
        let recon = try ctx.part("recon") { _ in try generative.head.negativeLogLikelihood(decoded, x) }
        let kl = try ctx.part("kl") { _ in try BetaVAEModel.gaussianKL(mu: e.mu, logvar: e.logvar) }
        return (e, z, recon, kl)
    }
}
