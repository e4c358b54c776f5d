import IR

/// What the training loop, evaluation and CLI need from a model, whatever its kind. Models build
/// graphs and know nothing of execution.
///
/// Graph conventions (all Float32):
/// - `trainGraph(batch:)`: input "x" [batch, inputDim]; scalar inputs "lambda" (spike warm-up λ,
///   eq. 7), "c" (relaxed spike sharpness), "reg_weight" (the regulariser's weight in "loss"), "sparsity_weight" (VSC with
///   `schedules.sparsity_warmup` only: the sparsity term's own weight), "penalty_weight" (VSC with
///   `schedules.spike_logit_penalty_decay` only: the spike-logit penalty's weight) and "step" (the noise key: the iteration number, so
///   every step draws fresh, reproducible noise). Scalar outputs, each a mean over the batch, in
///   nats per example: "loss" (the objective minimised: −ELBO + sparsity term for VSC, recon +
///   β·KL for β-VAE), "recon" (negative log-likelihood), "kl" (prior term), "sparsity" (0 for
///   β-VAE), "elbo" (−(recon + kl), reported without the sparsity term).
/// - `encodeGraph(batch:)`: input "x"; outputs "mu", "logvar" [batch, J] and, for VSC, "gamma"
///   (spike probabilities) [batch, J].
/// - `decodeGraph(batch:)`: input "z" [batch, J]; output "xmean" [batch, inputDim] (the
///   likelihood's mean; Bernoulli: probabilities).
/// Parameters have the same names in all three graphs.
public protocol GenerativeModel {
    var spec: ModelSpec { get }
    func trainGraph(batch: Int) throws -> Graph
    func encodeGraph(batch: Int) throws -> Graph
    func decodeGraph(batch: Int) throws -> Graph
    /// Seeded initial values for every parameter, by name.
    func initialParameters(seed: UInt64) -> [String: [Float]]
    /// The same, for a training run that has data: `examples(n)` returns n distinct training
    /// examples (n × inputDim values, row-major, drawn with the run's seed). A model whose
    /// parameters start from data (VSC's `pseudo_input_init: training_images`) overrides it.
    func initialParameters(seed: UInt64, examples: (_ count: Int) throws -> [Float]) throws -> [String: [Float]]
    /// The train graph's scalar loss terms, in the order training logs them (progress line,
    /// `metrics.jsonl`, the summary). A model with a term of its own (β-TCVAE's total
    /// correlation) outputs it from its train graph and lists it here; nothing else changes.
    var lossTerms: [LossTerm] { get }
}

/// One scalar the train graph outputs each iteration (a mean over the batch, nats per example).
public struct LossTerm: Equatable, Sendable {
    /// The train graph's output name, and the key in logs.
    public var name: String
    /// Shown on the progress line (every term is in `metrics.jsonl` and the summary).
    public var inProgressLine: Bool
    public init(_ name: String, inProgressLine: Bool = true) { self.name = name; self.inProgressLine = inProgressLine }

    /// The terms every model outputs: the objective, its parts, and the ELBO (see above).
    public static let standard: [LossTerm] = [
        LossTerm(GraphNames.loss), LossTerm(GraphNames.recon), LossTerm(GraphNames.kl), LossTerm(GraphNames.sparsity),
        LossTerm(GraphNames.elbo, inProgressLine: false),
    ]
}

extension GenerativeModel {
    public var lossTerms: [LossTerm] { LossTerm.standard }

    public func initialParameters(seed: UInt64, examples: (_ count: Int) throws -> [Float]) throws -> [String: [Float]] {
        initialParameters(seed: seed)
    }
}

/// The train graph's scalar inputs at `iteration` (0-based) of a run on `datasetSize` training
/// examples: the one place that spells them. A graph declares the ones it uses; feeders skip the rest.
public func scalarFeeds(_ sv: ScheduleValues, iteration: Int, datasetSize: Int) -> [(name: String, value: Double)] {
    [(GraphNames.lambda, sv.lambda), (GraphNames.c, sv.c), (GraphNames.step, Double(iteration)),
     (GraphNames.regulariserWeight, sv.regulariserWeight), (GraphNames.sparsityWeight, sv.sparsityWeight),
     (GraphNames.penaltyWeight, sv.penaltyWeight),
     (GraphNames.datasetSize, Double(datasetSize))]
}

/// The values of the schedules at one iteration (0-based).
public struct ScheduleValues: Equatable, Sendable {
    public var lambda: Double
    public var c: Double
    public var learningRate: Double
    /// The regulariser's weight (`schedules.regulariser_warmup`; 1 when there is none).
    public var regulariserWeight: Double
    /// The sparsity term's weight (`schedules.sparsity_warmup`; the regulariser's without it).
    public var sparsityWeight: Double
    /// The spike-logit penalty's weight (`schedules.spike_logit_penalty_decay`; 1 when there is none).
    public var penaltyWeight: Double
    public init(lambda: Double, c: Double, learningRate: Double, regulariserWeight: Double = 1, sparsityWeight: Double? = nil,
                penaltyWeight: Double = 1) {
        self.lambda = lambda; self.c = c; self.learningRate = learningRate; self.regulariserWeight = regulariserWeight
        self.sparsityWeight = sparsityWeight ?? regulariserWeight; self.penaltyWeight = penaltyWeight
    }
}
