// The model kinds, one place each (the kind-table): the case, how a spec names it and its own
// keys, the model it makes, and the facts the layers above read. Adding a kind (β-TCVAE) is this
// file and the model's own file.

extension ModelSpec {
    public enum Kind: Equatable, Sendable {
        /// Variational Sparse Coding (spike-and-slab latents, pseudo-input prior).
        case vsc
        /// β-VAE (Gaussian latents, standard normal prior, KL weighted by β; β = 1 is the VAE).
        case vae(beta: Double)
        /// β-TCVAE (Chen et al. 2018): the β-VAE with its KL split into index-code mutual
        /// information, total correlation and dimension-wise KL, weighted α, β, γ.
        case betaTCVAE(alpha: Double, beta: Double, gamma: Double)
    }
}

/// The model a spec describes.
public func makeModel(_ spec: ModelSpec) throws -> any GenerativeModel {
    switch spec.kind {
    case .vsc: return VSCModel(spec: spec)
    case .vae: return BetaVAEModel(spec: spec)
    case .betaTCVAE(let a, let b, let c): return BetaTCVAEModel(spec: spec, alpha: a, beta: b, gamma: c)
    }
}

extension ModelSpec.Kind {
    /// Top-level spec keys that belong to one kind (`beta`); `SpecReader.readKind` refuses them on the others.
    static let ownKeys = ["beta", "alpha", "gamma"]
    /// Spec keys only VSC takes.
    static let vscKeys = ["prior", "spike", "spike_bias", "spike_logit_penalty", "warmup_form", "slab_bounds"]
}

extension SpecReader {
    /// The spec's `kind` (default vsc) and its own keys; keys of another kind are refused, naming it.
    func readKind(_ f: Fields) throws -> ModelSpec.Kind {
        let kindName = try f["kind"].map { try string($0, "kind") } ?? "vsc"
        func refuse(_ keys: [String], onlyFor owner: String, this kind: String) throws {
            for k in keys where f[k] != nil { throw error(f.keyNode(k), k, "only for kind \(owner) (this spec is kind \(kind))") }
        }
        func weight(_ k: String) throws -> Double {
            guard let n = f[k] else { return 1 }
            let v = try double(n, k)
            guard v >= 0 else { throw error(n, k, "must be ≥ 0, got \(v)") }
            return v
        }
        switch kindName {
        case "vsc":
            try refuse(["beta"], onlyFor: "vae", this: "vsc")
            try refuse(["alpha", "gamma"], onlyFor: "betatcvae", this: "vsc")
            return .vsc
        case "vae", "betavae", "beta-vae":
            try refuse(ModelSpec.Kind.vscKeys, onlyFor: "vsc", this: "vae")
            try refuse(["alpha", "gamma"], onlyFor: "betatcvae", this: "vae")
            return .vae(beta: try f["beta"].map { try positive($0, "beta") } ?? 1)
        case "betatcvae", "beta-tcvae", "tcvae":
            try refuse(ModelSpec.Kind.vscKeys, onlyFor: "vsc", this: "betatcvae")
            return .betaTCVAE(alpha: try weight("alpha"), beta: try weight("beta"), gamma: try weight("gamma"))
        default:
            throw error(f["kind"], "kind", "expected vsc, vae or betatcvae, got \"\(kindName)\"")
        }
    }
}

/// What the layers above the models (evaluation, training logs, checkpoints, the CLI) need to
/// know about a model kind, declared once per kind so none of them branches on it. Evaluation
/// reads the code the way these facts say; a new kind states its own.
public struct ModelKindFacts: Sendable, Equatable {
    /// The kind as logs, reports and checkpoint metadata name it: "vsc", "vae(beta=4.0)".
    public var name: String
    /// True if the encode graph emits spike probabilities "gamma" [batch, J] beside "mu" and
    /// "logvar": activity is then read from γ, the posterior mean is γ⊙μ and a sample is
    /// spike-and-slab; otherwise activity is a posterior variance below ½ and the code is Gaussian.
    public var hasSpikes: Bool
    /// How a dimension counts as active, for the report.
    public var activeCriterion: String
    /// Names of the code that the metrics correlate, as the report (ASCII) and the terminal and
    /// figures (Unicode) write them.
    public var posteriorMean: (report: String, short: String)
    public var emittedCode: (report: String, short: String)
    /// The sample metric (A) correlates, for the report.
    public var sample: String
    /// The per-dimension indicator that presence recovery (C) correlates with each attribute.
    public var presenceIndicator: String
    /// The spike map's quantity: in the report, its legend, and its figure title's first words.
    public var activity: (quantity: String, legend: String, title: String)

    public static func == (a: Self, b: Self) -> Bool { a.name == b.name }
}

extension ModelSpec.Kind {
    public var facts: ModelKindFacts {
        switch self {
        case .vsc: return .spikeAndSlab
        case .vae(let beta): return ModelKindFacts.gaussian(name: "vae(beta=\(beta))")
        case .betaTCVAE(let a, let b, let c): return ModelKindFacts.gaussian(name: "betatcvae(alpha=\(a),beta=\(b),gamma=\(c))")
        }
    }
}

extension ModelKindFacts {
    /// VSC's code: spike probabilities γ and slabs N(μ, σ²); a dimension is on where γ > ½.
    static let spikeAndSlab = ModelKindFacts(
        name: "vsc", hasSpikes: true, activeCriterion: "VSC: γ > 0.5 for at least 1% of test encodings; per example: dims with γ > 0.5",
        posteriorMean: ("gamma*mu (posterior mean)", "γ⊙μ"), emittedCode: ("1[gamma > 0.5]*mu on active dims", "1[γ > 0.5]·μ"),
        sample: "|z|, one spike-and-slab sample sigmoid(c(eta-1+gamma)) * (mu + sigma*eps), lambda = 1", presenceIndicator: "gamma (spike probability)",
        activity: ("mean spike probability γ", "mean spike prob.", "Mean spike probability"))

    /// A Gaussian code N(μ, σ²) (β-VAE): a dimension is active where its posterior variance is below ½.
    static func gaussian(name: String) -> ModelKindFacts {
        ModelKindFacts(name: name, hasSpikes: false, activeCriterion: "beta-VAE: mean posterior variance exp(logvar) < 0.5; per example: dims with variance < 0.5",
                       posteriorMean: ("mu (posterior mean)", "μ"), emittedCode: ("mu on active dims", "μ"), sample: "|z|, one sample mu + sigma*eps",
                       presenceIndicator: "|mu|", activity: ("fraction of examples with posterior variance < 0.5", "frac. var<0.5", "Fraction of active encodings"))
    }
}
