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
        case .vsc:
            return ModelKindFacts(
                name: "vsc", hasSpikes: true,
                activeCriterion: "VSC: γ > 0.5 for at least 1% of test encodings; per example: dims with γ > 0.5",
                posteriorMean: ("gamma*mu (posterior mean)", "γ⊙μ"),
                emittedCode: ("1[gamma > 0.5]*mu on active dims", "1[γ > 0.5]·μ"),
                sample: "|z|, one spike-and-slab sample sigmoid(c(eta-1+gamma)) * (mu + sigma*eps), lambda = 1",
                presenceIndicator: "gamma (spike probability)",
                activity: ("mean spike probability γ", "mean spike prob.", "Mean spike probability"))
        case .vae(let beta):
            return ModelKindFacts(
                name: "vae(beta=\(beta))", hasSpikes: false,
                activeCriterion: "beta-VAE: mean posterior variance exp(logvar) < 0.5; per example: dims with variance < 0.5",
                posteriorMean: ("mu (posterior mean)", "μ"),
                emittedCode: ("mu on active dims", "μ"),
                sample: "|z|, one sample mu + sigma*eps",
                presenceIndicator: "|mu|",
                activity: ("fraction of examples with posterior variance < 0.5", "frac. var<0.5", "Fraction of active encodings"))
        }
    }
}
