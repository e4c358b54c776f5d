import IR

/// What the training loop, evaluation and CLI need from a model, whatever its kind. Models build
/// graphs and know nothing of execution.
///
/// Graph conventions (all Float32):
/// - `trainGraph(batch:)`: input "x" [batch, inputDim]; scalar inputs "lambda" (spike warm-up λ,
///   eq. 7), "c" (relaxed spike sharpness), "reg_weight" (the regulariser's weight in "loss"), "sparsity_weight" (VSC with
///   `schedules.sparsity_warmup` only: the sparsity term's own weight) and "step" (the noise key: the iteration number, so
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
}

extension GenerativeModel {
    public func initialParameters(seed: UInt64, examples: (_ count: Int) throws -> [Float]) throws -> [String: [Float]] {
        initialParameters(seed: seed)
    }
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
    public init(lambda: Double, c: Double, learningRate: Double, regulariserWeight: Double = 1, sparsityWeight: Double? = nil) {
        self.lambda = lambda; self.c = c; self.learningRate = learningRate; self.regulariserWeight = regulariserWeight
        self.sparsityWeight = sparsityWeight ?? regulariserWeight
    }
}
