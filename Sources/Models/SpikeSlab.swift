import IR

/// Guard for logs of γ and 1 − γ: γ is clamped to [ε, 1 − ε] before any log (Float32-safe).
public let spikeEpsilon = 1e-6

/// A factorised spike-and-slab distribution Π_j [γ_j N(μ_j, σ²_j) + (1 − γ_j) δ(0)] as graph
/// tensors of one shape (they broadcast against each other). `gamma` is already clamped to
/// [ε, 1 − ε]; `logGamma`, `log1mGamma` are the logs of the clamped γ and 1 − γ.
public struct SpikeSlab {
    public var mu: Tensor
    public var logvar: Tensor
    public var gamma: Tensor
    public var logGamma: Tensor
    public var log1mGamma: Tensor
    public init(mu: Tensor, logvar: Tensor, gamma: Tensor, logGamma: Tensor, log1mGamma: Tensor) {
        self.mu = mu; self.logvar = logvar; self.gamma = gamma; self.logGamma = logGamma; self.log1mGamma = log1mGamma
    }
    /// From μ, log σ² and γ (any γ in [0, 1]: clamped here).
    public init(mu: Tensor, logvar: Tensor, gamma rawGamma: Tensor) throws {
        let g = try rawGamma.clamp(spikeEpsilon, 1 - spikeEpsilon)
        self.init(mu: mu, logvar: logvar, gamma: g, logGamma: try g.log(), log1mGamma: try g.neg().log1p())
    }
    /// The same distribution with every tensor reshaped (e.g. [B, J] → [B, 1, J] for broadcasting).
    public func reshaped(_ s: Shape) throws -> SpikeSlab {
        SpikeSlab(mu: try mu.reshape(s), logvar: try logvar.reshape(s), gamma: try gamma.reshape(s),
                  logGamma: try logGamma.reshape(s), log1mGamma: try log1mGamma.reshape(s))
    }
}

/// The recognition network's spike head (`spike` key): log γ = −relu(−v) (the paper, A.2) or
/// log γ = −softplus(−v) = log sigmoid(v) (smooth). Returns γ in (0, 1].
public struct SpikeHead {
    public var kind: ModelSpec.SpikeHead
    public init(_ kind: ModelSpec.SpikeHead) { self.kind = kind }
    public func logGamma(_ v: Tensor) throws -> Tensor {
        switch kind {
        case .relu: return try v.neg().relu().neg()
        case .logsigmoid: return try v.neg().softplus().neg()
        }
    }
    public func gamma(_ v: Tensor) throws -> Tensor { try logGamma(v).exp() }
    /// Initial bias of the head: relu: −1 (γ ≈ 0.37, so few dimensions start at γ = 1 exactly,
    /// where the relu head passes no gradient); logsigmoid: 0 (γ ≈ 0.5).
    public var initialBias: Double { kind == .relu ? -1 : 0 }
}

/// The spike warm-up (eq. 7), applied to the slab's mean and log-variance. λ is a scalar tensor.
/// - paper: N(λμ, λσ² + (1 − λ)); log(λσ² + 1 − λ) computed as m + log(λe^{lv−m} + (1−λ)e^{−m}),
///   m = max(lv, 0), so neither exponential overflows.
/// - authors: N(λμ, (σ²)^λ), i.e. log-variance λ·lv.
public struct SpikeWarmup {
    public var form: ModelSpec.WarmupForm
    public init(_ form: ModelSpec.WarmupForm) { self.form = form }
    public func callAsFunction(mu: Tensor, logvar: Tensor, lambda: Tensor) throws -> (mu: Tensor, logvar: Tensor) {
        let m = try mu * lambda.broadcast(to: mu.shape)
        switch form {
        case .authors:
            return (m, logvar * lambda)
        case .paper:
            let top = try logvar.maximum(0)
            let inner = lambda * (try (logvar - top).exp()) + (1 - lambda) * (try top.neg().exp())
            return (m, try top + inner.maximum(1e-30).log())
        }
    }
}

/// The closed-form KL divergence between two spike-and-slab distributions, per latent dimension
/// (the corrected eq. 6; the paper prints σ where σ² belongs):
///
///     KL_j = γ·[log(σ_p/σ) + (σ² + (μ − μ_p)²)/(2σ_p²) − ½]
///          + (1 − γ)·log((1 − γ)/(1 − γ_p)) + γ·log(γ/γ_p)
///
/// with γ the clamped spike probability of q. Logs of σ come from log σ² directly:
/// log(σ_p/σ) = ½(lv_p − lv), σ²/σ_p² = exp(lv − lv_p). q and p broadcast against each other.
public enum SpikeSlabKL {
    public static func perDimension(q: SpikeSlab, p: SpikeSlab, file: String = #fileID, line: Int = #line) throws -> Tensor {
        let dlv = p.logvar - q.logvar
        let slab = (dlv + (try dlv.neg().exp(file: file, line: line))
                    + (try (q.mu - p.mu).square(file: file, line: line)) * (try p.logvar.neg().exp(file: file, line: line))
                    - 1) * 0.5
        let spikeOn = q.gamma * (q.logGamma - p.logGamma)
        let spikeOff = (1 - q.gamma) * (q.log1mGamma - p.log1mGamma)
        let r = q.gamma * slab + spikeOn + spikeOff
        try q.mu.graph.checkErrors()
        return r
    }
}

/// The reparametrised draw (supplementary B.1): z = sigmoid(c·(η − 1 + γ)) ⊙ (μ + σ ⊙ ε),
/// η ~ U(0, 1), ε ~ N(0, 1) drawn by the graph's random ops keyed by `key` (the step).
public struct SpikeSlabSampler {
    public var seed: UInt64
    public init(seed: UInt64) { self.seed = seed }
    public func callAsFunction(mu: Tensor, logvar: Tensor, gamma: Tensor, c: Tensor, key: Tensor) throws -> Tensor {
        let g = mu.graph
        let eps = try g.randomNormal(mu.shape, key: key, seed: seed &* 2 &+ 1)
        let eta = try g.randomUniform(mu.shape, key: key, seed: seed &* 2 &+ 2)
        let spike = try (c * (eta - 1 + gamma)).sigmoid()
        let slab = mu + (try (logvar * 0.5).exp()) * eps
        return try (spike * slab).reshape(mu.shape)
    }
}

/// The selection function C_ω: observations [B, D] → weights u* [B, U] over the pseudo-inputs
/// (only their ratios matter: the prior term is their weighted mean). Parameters "<name>.w"
/// [D, U], "<name>.b" [U].
/// - paper (supplementary A.3, D.1): one fully connected ReLU layer (He, bias 0.01), normalised
///   to unit sum, then u* = sigmoid(a·(u − b)). The weighted mean divides out the common factor,
///   so u* ∝ exp(a·u): a softmax of temperature 1/a that, at a = 60, hands every example the same
///   pseudo-input from the first step, and the other pseudo-inputs never train.
/// - authors (`_calc_selection` in the authors' code): a sigmoid layer (Xavier, bias 0),
///   L2-normalised. It starts near-uniform, so every pseudo-input trains, and sharpens as the
///   layer learns.
public struct SelectionFunction {
    public var name: String
    public var inputs: Int
    public var pseudoInputs: Int
    public var selection: ModelSpec.Selection
    public init(name: String = "select", inputs: Int, pseudoInputs: Int, selection: ModelSpec.Selection) {
        self.name = name; self.inputs = inputs; self.pseudoInputs = pseudoInputs; self.selection = selection
    }
    public func callAsFunction(_ x: Tensor, _ ctx: ModelContext, file: String = #fileID, line: Int = #line) throws -> Tensor {
        switch selection.kind {
        case .mixture:
            throw IRError("selection kind mixture has no classifier: its weights are the responsibilities of PseudoInputPrior.mixtureKL",
                          at: SourceLocation(file: file, line: line))
        case .paper:
            let r = try Dense(name, inputs, pseudoInputs, activation: .relu, bias: 0.01, file: file, line: line)(x, ctx)
            let total = try r.sum(axes: [-1], keepDims: true).maximum(1e-12)
            let u = r / total
            return try ((u - selection.b) * selection.a).sigmoid()
        case .authors:
            let s = try Dense(name, inputs, pseudoInputs, file: file, line: line)(x, ctx).sigmoid(file: file, line: line)
            let norm = try s.square().sum(axes: [-1], keepDims: true).maximum(1e-24).sqrt()
            return try (s / norm).reshape(s.shape)
        }
    }
}

/// The prior's spike probabilities as the prior term and the sparsity term use them: the raw γ_u
/// (the paper), or bounded as γ_u' = sigmoid(ν·(γ_u − ½)) (the authors' code, `spike_sharpness`
/// ν). Unbounded, the sparsity term drives the unused dimensions' γ_u to ~1e-8, and switching one
/// on then costs log(1/γ_u) ≈ 14 nats per example: the model cannot recruit new dimensions.
public func priorSpike(_ gamma: Tensor, sharpness: Double?) throws -> Tensor {
    guard let nu = sharpness else { return gamma }
    return try ((gamma - 0.5) * nu).sigmoid()
}

/// Soft bounds on a spike-and-slab's slab parameters (`slab_bounds`): log σ² → L·tanh(log σ²/L),
/// μ → M·tanh(μ/M). Smooth (the gradient never vanishes abruptly as a clamp's does) and the
/// identity to first order near 0.
public func boundedSlab(_ s: SpikeSlab, _ bounds: ModelSpec.SlabBounds?) throws -> SpikeSlab {
    guard let bounds else { return s }
    var r = s
    r.logvar = try (s.logvar * (1 / bounds.logvar)).tanh() * bounds.logvar
    r.mu = try (s.mu * (1 / bounds.mu)).tanh() * bounds.mu
    return r
}

/// The pseudo-input prior (section 3.2): U learned pseudo-inputs x_u (parameter "<name>" [U, D],
/// initially uniform in (0, 1)), encoded by the same recognition network as the data.
public struct PseudoInputPrior {
    public var name: String
    public var count: Int
    public var inputs: Int
    public init(name: String = "pseudo_inputs", count: Int, inputs: Int) {
        self.name = name; self.count = count; self.inputs = inputs
    }
    public func pseudoInputs(_ ctx: ModelContext) throws -> Tensor {
        try ctx.parameter(name, [count, inputs], .uniform(low: 0, high: 1))
    }

    /// The prior term per example: the selection-weighted mean Σ_u u*_u·KL(q(z|x) ‖ q(z|x_u)) / Σ_u u*_u.
    /// `q` is [B, J], `p` [U, J], `weights` u* [B, U]. Returns [B].
    public static func weightedKL(q: SpikeSlab, p: SpikeSlab, weights: Tensor) throws -> Tensor {
        try weightedMean(try componentKL(q: q, p: p), weights)
    }
    /// KL(q(z|x_b) ‖ q(z|x_u)) for every example b and component u: `q` [B, J], `p` [U, J] → [B, U].
    public static func componentKL(q: SpikeSlab, p: SpikeSlab) throws -> Tensor {
        let b = q.mu.shape[0], j = q.mu.shape[1], u = p.mu.shape[0]
        return try SpikeSlabKL.perDimension(q: try q.reshaped([b, 1, j]), p: try p.reshaped([1, u, j])).sum(axes: [2])
    }
    /// The mixture prior's bound (`selection: {kind: mixture}`): from the component KLs [B, U],
    /// KL(q ‖ (1/U) Σ_u p_u) ≤ log U − log Σ_u exp(−KL_u) per example [B], and the
    /// responsibilities r_u = softmax(−KL_u) [B, U] that attain it (the bound's gradient is
    /// Σ_u r_u ∇KL_u). Never above the smallest KL_u + log U nor below the smallest KL_u.
    public static func mixtureKL(_ componentKL: Tensor) throws -> (kl: Tensor, responsibilities: Tensor) {
        let b = componentKL.shape[0], u = componentKL.shape[1]
        let neg = try componentKL.neg()
        let kl = try (try neg.logSumExpLast().reshape([b])).neg() + Foundation.log(Double(u))
        return (kl, try neg.softmaxLast())
    }
    /// Σ_u w_u v_u / Σ_u w_u per row (the denominator kept ≥ 1e-30). v, w: [B, U] → [B].
    public static func weightedMean(_ v: Tensor, _ w: Tensor) throws -> Tensor {
        let den = try w.sum(axes: [-1]).maximum(1e-30)
        return try (v * w).sum(axes: [-1]) / den
    }
}

/// The sparsity term J·KL_Bernoulli(γ̄ ‖ α) (eq. 4), per example: γ̄ is the pseudo-inputs' spike
/// probability averaged over the J latents, selection-weighted like the prior term.
/// `pseudoGamma` [U, J] (raw γ), `weights` u* [B, U]. Returns [B].
/// `form` every_pseudo_input: the mean over u of J·KL(γ̄_u ‖ α), broadcast to every example.
public struct SparsityTerm {
    public var alpha: Double
    public var form: ModelSpec.SparsityForm
    public init(alpha: Double, form: ModelSpec.SparsityForm = .selected) { self.alpha = alpha; self.form = form }
    public func callAsFunction(pseudoGamma: Tensor, weights: Tensor) throws -> Tensor {
        let j = Double(pseudoGamma.shape[1]), u = pseudoGamma.shape[0], b = weights.shape[0]
        let gbarU = try pseudoGamma.mean(axes: [1])   // γ̄_u [U]
        switch form {
        case .selected:
            let perPseudo = try gbarU.reshape([1, u]).broadcast(to: [b, u])
            let gbar = try PseudoInputPrior.weightedMean(perPseudo, weights).clamp(spikeEpsilon, 1 - spikeEpsilon)
            return try Self.bernoulliKL(gbar, alpha) * j
        case .everyPseudoInput:
            let perPseudo = try Self.bernoulliKL(try gbarU.clamp(spikeEpsilon, 1 - spikeEpsilon), alpha)
            return try (perPseudo.mean(axes: [0]) * j).reshape([1]).broadcast(to: [b])
        }
    }
    /// KL(Bernoulli(p) ‖ Bernoulli(α)) for p in (0, 1).
    public static func bernoulliKL(_ p: Tensor, _ alpha: Double) throws -> Tensor {
        let a = (try p.log()) - Foundation.log(alpha)
        let b = (try p.neg().log1p()) - Foundation.log1p(-alpha)
        return p * a + (1 - p) * b
    }
}

import Foundation
