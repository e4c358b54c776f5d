import IR

/// An optimiser whose update is built as graph nodes (see `buildTrainStep`).
public enum Optimizer: Hashable, Sendable {
    /// p ← p − lr·∇p.
    case sgd
    /// Adam (Kingma & Ba) with bias correction:
    /// m ← β₁m + (1−β₁)∇p, v ← β₂v + (1−β₂)∇p², p ← p − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε).
    case adam(beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8)
}

/// The train step's leaf and output names (the naming contract below), spelled once: the trainer,
/// the checkpoint and the benchmark use these.
public enum TrainStepNames {
    /// Scalar input: the learning rate.
    public static let learningRate = "lr"
    /// Scalar input (Adam): the 1-based step count.
    public static let adamStep = "adam.t"
    /// Output prefix of every updated value: "new.<leaf>" is copied onto "<leaf>" after a run.
    public static let updatedPrefix = "new."
    /// Output (with clipping): the global gradient norm.
    public static let gradNorm = "grad_norm"
    /// Adam's first and second moments of parameter `p` (inputs of p's shape).
    public static func adamFirstMoment(_ p: String) -> String { "adam.m." + p }
    public static func adamSecondMoment(_ p: String) -> String { "adam.v." + p }
    public static func updated(_ leaf: String) -> String { updatedPrefix + leaf }
}

/// Builds one whole training step as a single graph: the forward graph, the gradient nodes of the
/// output `loss` with respect to every parameter the loss depends on (`grad`), and the optimiser's
/// update. `g` itself is not changed (the step is built on a copy).
///
/// Naming contract (the runtime relies on it: `program.carryOutputs(prefix: "new.")` copies each
/// `new.X` output into leaf `X` after every run):
/// - new scalar input `"lr"` — the learning rate;
/// - Adam only: scalar input `"adam.t"` — the 1-based step count as a float (the caller sets it to
///   1, 2, 3, … before each run; bias corrections are `1 − βᵗ`, computed in the graph with `pow`);
///   per updated parameter `p`, inputs `"adam.m.<p>"` and `"adam.v.<p>"` of `p`'s shape (first and
///   second moments; start them at zero);
/// - outputs `"new.<p>"` for every updated parameter, and (Adam) `"new.adam.m.<p>"`, `"new.adam.v.<p>"`;
/// - the original outputs are kept, unchanged and in their order, before the new ones.
///
/// - with `clipNorm`: output `"grad_norm"` — the global L2 norm ‖g‖₂ of all parameters' gradients
///   before clipping; every gradient is scaled by min(1, clipNorm / ‖g‖₂) before the update
///   (one rare huge gradient would otherwise poison Adam's second moment for thousands of steps).
///
/// Parameters the loss does not depend on are left alone (no update output). Throws if `loss` is
/// not an output, if the loss is not differentiable with respect to the parameters (see `grad`), or
/// if one of the names above is already used by a leaf.
///
/// - with `dataParallel` over N > 1 ranks (see `DataParallel`): the random nodes draw the rank's
///   rows of the global batch's noise, and every gradient becomes `allreduce(∇p) · (1/N)` — the
///   mean over the ranks, before clipping and the update, so every rank applies the same update.
///   With one rank (or nil) the step is exactly the single-process one.
public func buildTrainStep(_ g: Graph, loss: String, optimizer: Optimizer, clipNorm: Double? = nil,
                           dataParallel: DataParallel? = nil) throws -> Graph {
    guard g.output(loss) != nil else {
        throw IRError("buildTrainStep: the graph @\(g.name) has no output \"\(loss)\" (outputs: \(g.outputs.map(\.name).joined(separator: ", ")))")
    }
    let parallel = dataParallel.flatMap { $0.ranks > 1 ? $0 : nil }
    let step = try parallel?.partitionNoise(g) ?? g.copy()
    let lossID = step.output(loss)!
    let live = step.live(from: [lossID])
    let params = step.parameters.filter { live[$0.node] }
    var grads = try grad(of: lossID, wrt: params.map(\.node), in: step)
    let dtype = step[lossID].dtype
    if let parallel {
        try step.scoped("allreduce", at: SourceLocation(file: #fileID, line: #line)) {
            let mean = 1 / Double(parallel.ranks)
            grads = try grads.map { try Tensor(step, $0).allReduce().binary(.mul, mean).id }
        }
    }
    // The update's nodes are named after what they update (`adam.enc.h0.w.sqrt`) in printed IR.
    let here = SourceLocation(file: #fileID, line: #line)
    if let clipNorm {
        guard clipNorm > 0, clipNorm.isFinite else { throw IRError("buildTrainStep: clipNorm must be a positive number, got \(clipNorm)") }
        try step.scoped("clip_grad_norm", at: here) {
        var total: Tensor?
        for gp in grads {
            let s = try Tensor(step, gp).square().sum()
            total = try total.map { try $0.binary(.add, s) } ?? s
        }
        if let total {
            let norm = try total.sqrt()
            try step.output(TrainStepNames.gradNorm, norm)
            // min(1, clip / (‖g‖ + tiny)): exactly 1 (no change) while the norm is below the bound.
            let scale = try step.constant(clipNorm, dtype: dtype).binary(.div, norm.binary(.add, 1e-12)).binary(.min, step.constant(1, dtype: dtype))
            grads = try grads.map { try Tensor(step, $0).binary(.mul, scale).id }
        }
        }
    }

    let lr = try step.input(TrainStepNames.learningRate, [], dtype: dtype)
    switch optimizer {
    case .sgd:
        for (p, gp) in zip(params, grads) {
            let param = Tensor(step, p.node), gradient = Tensor(step, gp)
            let updated = try param.binary(.sub, gradient.binary(.mul, lr))
            try step.output(TrainStepNames.updated(p.name), updated)
        }
    case .adam(let beta1, let beta2, let epsilon):
        let t = try step.input(TrainStepNames.adamStep, [], dtype: dtype)
        // Scalar bias corrections 1 − βᵗ.
        let bc1 = try step.constant(1, dtype: dtype).binary(.sub, step.constant(beta1, dtype: dtype).pow(t))
        let bc2 = try step.constant(1, dtype: dtype).binary(.sub, step.constant(beta2, dtype: dtype).pow(t))
        for (p, gp) in zip(params, grads) { try step.scoped("adam." + p.name, at: here) {
            let shape = step[p.node].shape
            let param = Tensor(step, p.node), gradient = Tensor(step, gp)
            let m = try step.input(TrainStepNames.adamFirstMoment(p.name), shape, dtype: dtype)
            let v = try step.input(TrainStepNames.adamSecondMoment(p.name), shape, dtype: dtype)
            let newM = try m.binary(.mul, beta1).binary(.add, gradient.binary(.mul, 1 - beta1))
            let newV = try v.binary(.mul, beta2).binary(.add, gradient.square().binary(.mul, 1 - beta2))
            let mHat = try newM.binary(.div, bc1)
            let vHat = try newV.binary(.div, bc2)
            let update = try mHat.binary(.div, vHat.sqrt().binary(.add, epsilon)).binary(.mul, lr)
            let updated = try param.binary(.sub, update)
            try step.output(TrainStepNames.updated(p.name), updated)
            try step.output(TrainStepNames.updated(TrainStepNames.adamFirstMoment(p.name)), newM)
            try step.output(TrainStepNames.updated(TrainStepNames.adamSecondMoment(p.name)), newV)
        } }
    }
    try step.verify()
    return step
}
