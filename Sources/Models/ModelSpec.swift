import Data
import IR
import Passes

/// A model and its training run, as declared in a spec file (YAML, see `SpecKeys.swift` for the
/// keys and `ModelSpec.defaults` for every default in one place).
public struct ModelSpec: Equatable, Sendable {
    /// Where the spec's keys are: the file and the line of each key path ("latent", "hidden[1]",
    /// "prior.selection"), so a spec-built model can locate each layer's nodes at the YAML that
    /// declared it. Not part of what the model is: two specs that differ only here are equal.
    public struct KeyLines: Equatable, Sendable {
        public var file: String
        public var lines: [String: Int]
        public init(file: String, lines: [String: Int] = [:]) { self.file = file; self.lines = lines }
        public static func == (a: KeyLines, b: KeyLines) -> Bool { true }
    }
    /// Set by the spec parser; nil for specs built in Swift.
    public var keyLines: KeyLines?
    /// The hidden layers' activation (`activation`), encoder and decoder.
    public var activation: Activation = .relu
    /// The train step's update rule (`optimizer`).
    public var optimizer: Optimizer = .adam()
    /// The data-set table's key (`DataSetName` in Data: names, input sizes, loaders).
    public typealias Dataset = DataSetName
    public struct DataSpec: Equatable, Sendable {
        public var dataset: Dataset
        /// Folder or file with the data (Fashion-MNIST, HAR); nil: the data module's default.
        public var path: String?
        /// Smiley generator: number of training and test images, attribute probability.
        public var count: Int
        public var testCount: Int
        public var p: Double
        /// Image folders: the size and channels images are cropped and resized to.
        public var options = DataSetOptions()
        public init(dataset: Dataset, path: String? = nil, count: Int = 20_000, testCount: Int = 2_000, p: Double = 0.5) {
            self.dataset = dataset; self.path = path; self.count = count; self.testCount = testCount; self.p = p
        }
    }
    public enum Likelihood: String, Equatable, Sendable {
        /// Diagonal Gaussian with a mean head and a log-variance head.
        case gaussian
        /// Bernoulli with a logits head.
        case bernoulli
    }
    public enum SpikeHead: String, Equatable, Sendable {
        /// The paper: log γ = −relu(−v) (γ can reach 1 exactly).
        case relu
        /// Smooth: log γ = −softplus(−v).
        case logsigmoid
    }
    public enum SelectionKind: String, Equatable, Sendable, CaseIterable {
        /// Supplementary A.3 as printed: a ReLU layer, normalised to unit sum, u* = sigmoid(a·(u − b)).
        /// With the weighted mean this is a softmax of temperature 1/a: at a = 60 it picks one
        /// pseudo-input for every example from step 0 (the audit's F1).
        case paper
        /// The authors' code (`_calc_selection`): a sigmoid layer (Xavier, bias 0), L2-normalised.
        /// The weights start near-uniform, so every pseudo-input receives gradient.
        case authors
        /// No classifier: the prior is section 3.2's mixture (1/U) Σ_u q_φ(z|x_u), and the prior
        /// term its closed-form upper bound −log (1/U) Σ_u exp(−KL_u) (KL_u the eq. 6 KL to
        /// component u). It equals min over selections r of Σ_u r_u·KL_u + KL(r ‖ uniform): the
        /// best selection an ideal classifier could make, r_u ∝ exp(−KL_u), so each example is
        /// assigned to the component that describes it, and a component trains on the examples
        /// near it rather than on the ones a separate classifier happens to prefer.
        case mixture
    }
    public struct Selection: Equatable, Sendable {
        public var kind: SelectionKind
        /// Sharpness a and offset b of sigmoid(a·(u − b)) (kind paper only).
        public var a: Double
        public var b: Double
        public init(kind: SelectionKind = .authors, a: Double = 60, b: Double = 0.5) { self.kind = kind; self.a = a; self.b = b }
    }
    /// How the pseudo-inputs x_u start (`prior.pseudo_input_init`).
    public enum PseudoInputInit: String, Equatable, Sendable, CaseIterable {
        /// Uniform in (0, 1) (the paper's supplementary is silent; the authors' code).
        case uniform
        /// U distinct training images, drawn with the run's seed (as the VampPrior's authors
        /// suggest): the components start as encodings of real, different examples, so the
        /// selection has distinct components to choose from from the first step.
        case trainingImages = "training_images"
    }
    /// The slab of each prior component (`prior.slab`).
    public enum PriorSlab: String, Equatable, Sendable, CaseIterable {
        /// Section 3.2: the component is the recognition model at the pseudo-input, spike and slab,
        /// q_φ(z|x_u) = Π_j [γ_u,j N(μ_u,j, σ²_u,j) + (1 − γ_u,j) δ(0)].
        case pseudoInputs = "pseudo_inputs"
        /// Only the spikes come from the pseudo-input; every slab is N(0, 1), the classical
        /// spike-and-slab prior Π_j [γ_u,j N(0, 1) + (1 − γ_u,j) δ(0)]. The slabs of the
        /// pseudo-input components set the code's scale themselves (on Smiley they spread to
        /// means of ±8 with standard deviations of 0.7–6.5 around a posterior one of about 1); a
        /// fixed unit slab gives the code the β-VAE's scale and its KL's preference for
        /// axis-aligned dimensions (measured on Smiley: README, model notes).
        case standard
    }
    /// Which prior spikes the sparsity term J·KL(γ̄ ‖ α) averages (`prior.sparsity`).
    public enum SparsityForm: String, Equatable, Sendable, CaseIterable {
        /// Eq. 4 and the authors' code: γ̄ of the example's selected (selection-weighted) pseudo-input.
        /// The selector then also minimises the sparsity term, so it prefers the sparsest
        /// component whatever the example.
        case selected
        /// Section 3.2's wording ("the average spike probability of each pseudo-input's recognition
        /// model γ̄_u ... to match α"): the mean over u of J·KL(γ̄_u ‖ α), the same for every
        /// example. The selector then only fits the prior term: each example picks the
        /// component that describes it best.
        case everyPseudoInput = "every_pseudo_input"
    }
    public struct Prior: Equatable, Sendable {
        /// Prior spike probability α ∈ (0, 1).
        public var alpha: Double
        /// Number of learned pseudo-inputs U.
        public var pseudoInputs: Int
        public var selection: Selection
        /// ν of the bounded prior spike γ_u' = sigmoid(ν·(γ_u − ½)) (the authors' code; the paper is
        /// silent): γ_u' ∈ [0.0067, 0.9933] at ν = 10, so switching on a dimension the prior has
        /// switched off costs at most log(1/0.0067) ≈ 5 nats. nil: the raw γ_u (the paper).
        public var spikeSharpness: Double?
        public var pseudoInputInit: PseudoInputInit
        public var sparsity: SparsityForm
        public var slab: PriorSlab
        public init(alpha: Double = 0.5, pseudoInputs: Int = 100, selection: Selection = Selection(), spikeSharpness: Double? = 10,
                    pseudoInputInit: PseudoInputInit = .uniform, sparsity: SparsityForm = .selected, slab: PriorSlab = .pseudoInputs) {
            self.alpha = alpha; self.pseudoInputs = pseudoInputs; self.selection = selection; self.spikeSharpness = spikeSharpness
            self.pseudoInputInit = pseudoInputInit; self.sparsity = sparsity; self.slab = slab
        }
    }
    public enum CSchedule: Equatable, Sendable {
        /// Linear from `start` to `end` over `iterations` iterations (0: the whole run), then `end`.
        case linear(start: Double, end: Double, iterations: Int)
        case fixed(Double)
    }
    public struct LearningRatePhase: Equatable, Sendable {
        /// The phase holds for iterations < `until` (nil: to the end).
        public var until: Int?
        public var lr: Double
        public init(until: Int?, lr: Double) { self.until = until; self.lr = lr }
    }
    public struct Schedules: Equatable, Sendable {
        /// Spike pre-training (Algorithm 1's N_warmup): iterations with λ = 0 before the ramp.
        public var warmupIterations: Int
        /// Length of the linear λ ramp from 0 to 1 that follows (eq. 7); 0: λ jumps to 1.
        /// With both 0 there is no warm-up (λ = 1 throughout).
        public var rampIterations: Int
        public var c: CSchedule
        /// Phases in order; each holds while iteration < `until`; the last one holds to the end.
        public var learningRate: [LearningRatePhase]
        /// Reset Adam's moments when the learning rate changes phase (the authors' code).
        public var freshAdamAtDrop: Bool
        /// Global-norm gradient clipping: the gradients of all parameters are scaled by
        /// min(1, clip / ‖g‖₂) before the optimiser sees them. nil: no clipping.
        public var clipGradNorm: Double?
        /// KL annealing (Bowman et al. 2016; not in the paper): the regulariser — the prior term
        /// and the sparsity term, or β·KL — is weighted by min(1, t / N) over the first N
        /// iterations, so the decoder learns to use the code before the regulariser prunes it.
        /// 0: weight 1 throughout (the paper).
        public var regulariserWarmup: Int = 0
        /// VSC: a separate warm-up for the sparsity term, min(1, t / N) over its own N iterations
        /// (0: weight 1 from the start); nil: the sparsity term shares `regulariserWarmup`.
        /// With both annealed over the same long warm-up, the pseudo-inputs' spikes follow the
        /// data's to γ = 1 on every dim the decoder uses while the weight is small and saturate
        /// there (the bounded prior spike and the spike head then pass the sparsity term almost
        /// no gradient): the code stays dense after the weight reaches 1. With no sparsity warm-up,
        /// the shared spike head is pruned to a handful of dims before the decoder has learned
        /// to use them.
        public var sparsityWarmup: Int? = nil
        /// VSC with `spike_logit_penalty`: the penalty's weight falls linearly from 1 at iteration
        /// `start` to 0 at `end` (nil: 1 throughout). The penalty keeps the spike logits where the
        /// sigmoid has a slope while the annealed regulariser prunes the code; it also keeps γ of
        /// a switched-off dimension near 0.06 (ε = 0.01), so every relaxed draw switches on about
        /// 3.5 of them at random. Once the code is pruned the penalty can go: on the main job the
        /// code stays as it was and the test ELBO rises by 2.2 nats (README, model notes).
        public var spikeLogitPenaltyDecay: LinearDecay? = nil
        public init(warmupIterations: Int = 0, rampIterations: Int = 0, c: CSchedule = .linear(start: 50, end: 200, iterations: 0),
                    learningRate: [LearningRatePhase] = [LearningRatePhase(until: nil, lr: 1e-3)], freshAdamAtDrop: Bool = false,
                    clipGradNorm: Double? = nil) {
            self.warmupIterations = warmupIterations; self.rampIterations = rampIterations; self.c = c
            self.learningRate = learningRate; self.freshAdamAtDrop = freshAdamAtDrop; self.clipGradNorm = clipGradNorm
        }
    }
    /// A weight that is 1 before iteration `start`, 0 from `end` on, linear in between.
    public struct LinearDecay: Equatable, Sendable {
        public var start: Int
        public var end: Int
        public init(start: Int, end: Int) { self.start = start; self.end = end }
        public func weight(at t: Int) -> Double {
            t <= start ? 1 : t >= end ? 0 : Double(end - t) / Double(end - start)
        }
    }
    /// What the encoder (recognition network, selection function, pseudo-inputs) sees of an input.
    /// The likelihood always models the data as given.
    public enum InputNormalisation: String, Equatable, Sendable, CaseIterable {
        case none
        /// Each input scaled to unit L2 norm (the authors' code).
        case unitL2 = "unit_l2"
        /// 2x − 1: binary pixels as ±1. Every Smiley image then has the same squared norm, so the
        /// early "switch off" pressure on the spikes no longer falls hardest on the images with the
        /// most on-pixels (those with a hat or a bow tie), which made VSC code attributes by their
        /// absence (the audit's F3).
        case signed
    }
    /// Soft bounds on the slab parameters inside the prior term (both q and the pseudo-inputs'
    /// components): log σ² → L·tanh(log σ² / L), μ → M·tanh(μ / M). The decoder sees the raw μ.
    /// On dimensions switched off, nothing else holds the slabs, and their drift (log σ² of +26
    /// and −31, |μ| of 42 in the audit's F6) made the KL explode once γ moved.
    public struct SlabBounds: Equatable, Sendable {
        public var logvar: Double
        public var mu: Double
        public init(logvar: Double = 8, mu: Double = 10) { self.logvar = logvar; self.mu = mu }
    }
    public enum WarmupForm: String, Equatable, Sendable {
        /// Slab N(λμ, λσ² + (1−λ)) (eq. 7).
        case paper
        /// The authors' code: slab N(λμ, (σ²)^λ) (variance warmed up in log space).
        case authors
    }

    public var name: String
    public var kind: Kind
    public var data: DataSpec
    public var inputDim: Int
    /// The encoder's hidden widths (`hidden`), an MLP the decoder mirrors; empty when `encoder` is set.
    public var hidden: [Int]
    /// The encoder as a layer list (`encoder:`, convolutions and all); nil: the MLP of `hidden`.
    public var encoder: [LayerSpec]? = nil
    /// The decoder as a layer list (`decoder:`), from the latent code to the data, its last layer
    /// the likelihood's heads; nil: the mirror image of the encoder (`mirroredDecoder`).
    public var decoder: [LayerSpec]? = nil
    /// One example's image shape [H, W, C] (`input_shape`), what a convolutional encoder reshapes
    /// the data's rows to; nil: `defaultInputShape`.
    public var inputShape: [Int]? = nil
    /// Latent dimensions J.
    public var latent: Int
    public var likelihood: Likelihood
    public var spike: SpikeHead
    /// VSC only: the spike head's initial bias (`spike_bias`); nil: the head's default
    /// (`SpikeHead.initialBias`: relu −1, logsigmoid 0).
    public var spikeBias: Double? = nil
    /// VSC only: ε of a penalty ε·Σ_j v_j² per example on the spike logits v of the data and
    /// (averaged over components) of the pseudo-inputs, added to the loss, not to the ELBO
    /// (`spike_logit_penalty`; nil: none, the paper). It keeps the logits where the sigmoid has
    /// a slope, so the sparsity and KL terms can still switch a dimension off after the decoder
    /// has pushed it to γ ≈ 1 (see `Schedules.sparsityWarmup`).
    public var spikeLogitPenalty: Double? = nil
    /// VSC only (ignored by β-VAE).
    public var prior: Prior
    public var schedules: Schedules
    public var inputNormalisation: InputNormalisation
    public var warmupForm: WarmupForm
    /// VSC only; nil: unbounded (the paper).
    public var slabBounds: SlabBounds?
    public var batchSize: Int
    public var iterations: Int
    public var seed: UInt64
    public var checkpointEvery: Int
    public var evalEvery: Int
    /// The matmuls' operand precision on the JIT (`precision: bf16`); the CLI's `--precision`
    /// overrides it. Parameters, optimiser state and every other op stay Float32.
    public var precision: MatmulPrecision = .fp32

    public init(name: String, kind: Kind, data: DataSpec, inputDim: Int, hidden: [Int], latent: Int,
                likelihood: Likelihood, spike: SpikeHead = .relu, prior: Prior = Prior(),
                schedules: Schedules = Schedules(), inputNormalisation: InputNormalisation = .none,
                warmupForm: WarmupForm = .paper, slabBounds: SlabBounds? = nil, batchSize: Int, iterations: Int, seed: UInt64 = 0,
                checkpointEvery: Int = 1000, evalEvery: Int = 1000) {
        self.name = name; self.kind = kind; self.data = data; self.inputDim = inputDim; self.hidden = hidden
        self.latent = latent; self.likelihood = likelihood; self.spike = spike; self.prior = prior
        self.schedules = schedules; self.inputNormalisation = inputNormalisation; self.warmupForm = warmupForm
        self.slabBounds = slabBounds
        self.batchSize = batchSize; self.iterations = iterations; self.seed = seed
        self.checkpointEvery = checkpointEvery; self.evalEvery = evalEvery
    }

    /// The spec parser's `schedules.clip_grad_norm` for VSC.
    public static let defaultClipGradNorm = 100.0

    public var isVSC: Bool { if case .vsc = kind { return true } else { return false } }
    public var beta: Double { if case .vae(let b) = kind { return b } else { return 1 } }
}
