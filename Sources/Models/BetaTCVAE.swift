import Foundation
import IR

/// β-TCVAE (Chen et al. 2018, "Isolating sources of disentanglement in variational
/// autoencoders", the model the paper's fig. 3/9 compares against): the β-VAE's networks and
/// N(0, I) prior, with the KL term split into index-code mutual information, total correlation
/// and dimension-wise KL, weighted separately:
///   loss = recon + w·(α·MI + β·TC + γ·DWKL)   (w: the regulariser warm-up; α = γ = 1 in the paper)
/// each term estimated on the minibatch by minibatch-stratified sampling (`TCDecomposition`), which
/// needs the training set's size N: the scalar input "dataset_size", fed by the training loop from
/// the data it trains on. "kl" and "elbo" stay the analytic KL and the ELBO, as for the β-VAE.
public struct BetaTCVAEModel: GraphBuilderModel {
    public let spec: ModelSpec
    public let alpha: Double, beta: Double, gamma: Double
    public init(spec: ModelSpec, alpha: Double, beta: Double, gamma: Double) {
        self.spec = spec; self.alpha = alpha; self.beta = beta; self.gamma = gamma
    }

    public var recognition: RecognitionNetwork {
        spec.recognitionNetwork(spikeBias: nil)
    }
    public var generative: GenerativeNetwork {
        spec.generativeNetwork
    }
    public var lossTerms: [LossTerm] {
        LossTerm.standard + [LossTerm(Self.mi), LossTerm(Self.tc), LossTerm(Self.dwkl)]
    }
    /// The decomposition's output names (batch means, nats per example).
    public static let mi = "mi", tc = "tc", dwkl = "dwkl"

    public func buildTrain(_ ctx: ModelContext, batch: Int) throws {
        let g = ctx.graph
        let (x, _, _, step) = try trainInputs(g, batch: batch, inputDim: spec.inputDim)
        let n = try g.input(GraphNames.datasetSize, [])
        let (e, z, recon, kl) = try gaussianTerms(ctx, x: x, step: step)
        let d = try ctx.part("tc") { _ in try TCDecomposition.minibatchStratified(z: z, mu: e.mu, logvar: e.logvar, datasetSize: n) }
        try ctx.part("loss") { _ in
            let regulariser = d.mi * alpha + d.tc * beta + d.dwkl * gamma
            try trainOutputs(g, recon: recon, kl: kl, sparsity: nil, loss: try weightedLoss(g, recon: recon, regulariser: regulariser))
            try g.output(Self.mi, try d.mi.mean())
            try g.output(Self.tc, try d.tc.mean())
            try g.output(Self.dwkl, try d.dwkl.mean())
        }
    }

    public func buildEncode(_ ctx: ModelContext, batch: Int) throws {
        _ = try encodeOutputs(ctx, batch: batch)
    }
}

/// The KL decomposition of Chen et al. (2018, eq. 2) per example, for samples z_i ~ q(z | x_i) of a
/// minibatch of B drawn from a training set of N, by minibatch-stratified sampling (their eq. S7):
///   log q(z_i)        ≈ logsumexp_j [log w_ij + Σ_d log q(z_id | x_j)]
///   log Π_d q(z_id)   ≈ Σ_d logsumexp_j [log w_ij + log q(z_id | x_j)]
/// with w_ii = 1/N (the sample's own example), w_ij = (N − M)/(N·M) for one other example
/// (j = i + 1 mod B) and 1/M for the remaining M − 1 = B − 2 (the weights sum to 1; M = B − 1).
///   MI   = log q(z_i | x_i) − log q(z_i),  TC = log q(z_i) − log Π_d q(z_id),
///   DWKL = log Π_d q(z_id) − log p(z_i),   p = N(0, I).
/// Minibatch-*weighted* sampling (every weight 1/(N·B)) is biased by up to (J − 1)·log N nats in
/// TC and DWKL when posteriors overlap (measured: TC ≈ 650 at initialisation for J = 60,
/// N = 60,000); the stratified weights remove that bias. The pairwise densities are one [B, B, J]
/// tensor built from broadcasts.
public enum TCDecomposition {
    /// log w [B, B] of the stratified estimator, from the scalar N (a graph input) and B.
    static func logImportanceWeights(_ g: Graph, batch b: Int, datasetSize n: Tensor) throws -> Tensor {
        // A batch of one is its own stratum (weight 1); from two on, the weights below sum to 1.
        guard b >= 2 else { return try g.constant(0, shape: [1, 1]) }
        let m = Double(b - 1)
        let row = try g.constant((0..<b).map(Double.init), shape: [b, 1]).broadcast(to: [b, b])
        let next = try g.constant((0..<b).map { Double(($0 + 1) % b) }, shape: [b, 1]).broadcast(to: [b, b])
        let col = try g.constant((0..<b).map(Double.init), shape: [1, b]).broadcast(to: [b, b])
        let logN = try n.log()
        let own = try logN.neg().reshape([1, 1]).broadcast(to: [b, b])
        let strat = try ((n - m).log() - logN - Foundation.log(m)).reshape([1, 1]).broadcast(to: [b, b])
        let rest = try g.constant(-Foundation.log(m), shape: [b, b])
        return try g.select(row.compare(.eq, col), own, try g.select(next.compare(.eq, col), strat, rest))
    }

    public static func minibatchStratified(z: Tensor, mu: Tensor, logvar: Tensor, datasetSize: Tensor)
        throws -> (mi: Tensor, tc: Tensor, dwkl: Tensor) {
        let b = z.shape[0], j = z.shape[1]
        let log2pi = Foundation.log(2 * Double.pi)
        // log q(z_id | x_jd) for every pair: [B (sample i), B (component j), J].
        let zi = try z.reshape([b, 1, j]).broadcast(to: [b, b, j])
        let muj = try mu.reshape([1, b, j]).broadcast(to: [b, b, j])
        let lvj = try logvar.reshape([1, b, j]).broadcast(to: [b, b, j])
        let pair = try ((zi - muj).square() * (try lvj.neg().exp()) + lvj + log2pi) * -0.5
        let logW = try logImportanceWeights(z.graph, batch: b, datasetSize: datasetSize)        // [B, B]
        // logsumexp over the components j.
        let logQz = try (pair.sum(axes: [2]) + logW).logSumExpLast().reshape([b])           // [B]
        let perDim = try pair.transpose([0, 2, 1]) + (try logW.reshape([b, 1, b]).broadcast(to: [b, j, b]))
        let logQzProduct = try perDim.logSumExpLast().reshape([b, j]).sum(axes: [1])          // [B]
        let eps2 = try (z - mu).square() * (try logvar.neg().exp())
        let logQzGivenX = try ((eps2 + logvar + log2pi) * -0.5).sum(axes: [1])
        let logPz = try ((z.square() + log2pi) * -0.5).sum(axes: [1])
        return (logQzGivenX - logQz, logQz - logQzProduct, logQzProduct - logPz)
    }
}
