// A custom VSC variant written with the Swift builder API — the example to copy.
//
// The YAML specs in Samples/ cover the paper's models. When a variant needs more than a spec can
// say, write the model in Swift: conform to `GenerativeModel` and build the three graphs from the
// named pieces in Sources/Models (RecognitionNetwork, SpikeHead, SpikeWarmup, SpikeSlabSampler,
// SpikeSlabKL, SelectionFunction, PseudoInputPrior, SparsityTerm, LikelihoodHead) and plain
// builder calls on `Tensor` (matmul, relu, exp, sum, …: every node records this file and line, so
// shape errors and non-finite values point back here).
//
// This variant: a VSC with two hidden layers (1024 → 256 → 64 → J and back) and a Bernoulli
// likelihood (Smiley images are binary), the smooth spike head, and tanh instead of ReLU in the
// decoder's hidden layers — a change no spec key offers.
//
// Run: swift run -c release custom-vsc   (builds the graphs, runs one forward pass, then trains
// 600 iterations on the LLVM JIT and writes runs/custom-vsc/checkpoint.safetensors)
import SeededRandom
import Foundation
import IR
import JIT
import Models
import Passes
import Runtime
import Train

struct TwoLayerBernoulliVSC: GenerativeModel {
    let spec: ModelSpec

    init() {
        spec = ModelSpec(
            name: "custom-vsc", kind: .vsc,
            data: .init(dataset: .smiley, count: 2000, testCount: 500, p: 0.5),
            inputDim: 1024, hidden: [256, 64], latent: 16, likelihood: .bernoulli, spike: .logsigmoid,
            prior: .init(alpha: 0.1, pseudoInputs: 8, selection: .init(a: 60, b: 0.5)),
            schedules: .init(warmupIterations: 100, rampIterations: 100, c: .linear(start: 50, end: 200, iterations: 0),
                             learningRate: [.init(until: 400, lr: 1e-3), .init(until: nil, lr: 3e-4)]),
            batchSize: 32, iterations: 600, seed: 7)
    }

    // The networks. Parameters are named after the layers ("enc.h0.w", "dec.h1.b", …); a network
    // applied twice (to the data and to the pseudo-inputs) shares its parameters.
    var encoder: RecognitionNetwork {
        RecognitionNetwork(inputDim: spec.inputDim, hidden: spec.hidden, latent: spec.latent,
                           spikeBias: SpikeHead(spec.spike).initialBias)
    }
    func decoder(_ z: Tensor, _ ctx: ModelContext) throws -> LikelihoodHead.Output {
        var h = z
        var width = spec.latent
        for (k, size) in spec.hidden.reversed().enumerated() {
            h = try Dense("dec.h\(k)", width, size, activation: .tanh)(h, ctx)   // tanh: the custom part
            width = size
        }
        return try LikelihoodHead(.bernoulli, name: "dec", inputs: width, outputs: spec.inputDim)(h, ctx)
    }

    /// Encodes into the un-warmed spike-and-slab q_φ: Algorithm 1 uses it in the KL, and warms
    /// it (eq. 7) only for the draw.
    func encode(_ x: Tensor, _ ctx: ModelContext) throws -> (q: SpikeSlab, gamma: Tensor) {
        let e = try encoder(x, ctx)
        let gamma = try SpikeHead(spec.spike).gamma(e.v!)
        return (try SpikeSlab(mu: e.mu, logvar: e.logvar, gamma: gamma), gamma)
    }

    // The training graph, following the conventions of `GenerativeModel`: inputs "x", "lambda",
    // "c", "step"; outputs "loss", "recon", "kl", "sparsity", "elbo" (batch means).
    func buildTrain(_ ctx: ModelContext, batch: Int) throws {
        let g = ctx.graph
        let x = try g.input(GraphNames.x, [batch, spec.inputDim])
        let lambda = try g.input(GraphNames.lambda, []), c = try g.input(GraphNames.c, []), step = try g.input(GraphNames.step, [])

        let (q, gamma) = try encode(x, ctx)
        let warm = try SpikeWarmup(spec.warmupForm)(mu: q.mu, logvar: q.logvar, lambda: lambda)
        let z = try SpikeSlabSampler(seed: spec.seed)(mu: warm.mu, logvar: warm.logvar, gamma: gamma, c: c, key: step)
        let out = try decoder(z, ctx)
        let recon = try (out.logits!.softplus() - x * out.logits!).sum(axes: [1])   // Bernoulli −log p(x|z)

        let prior = PseudoInputPrior(count: spec.prior.pseudoInputs, inputs: spec.inputDim)
        let (p0, rawPseudoGamma) = try encode(try prior.pseudoInputs(ctx), ctx)
        let pseudoGamma = try priorSpike(rawPseudoGamma, sharpness: spec.prior.spikeSharpness)
        let p = try SpikeSlab(mu: p0.mu, logvar: p0.logvar, gamma: pseudoGamma)
        let weights = try SelectionFunction(inputs: spec.inputDim, pseudoInputs: spec.prior.pseudoInputs,
                                            selection: spec.prior.selection)(x, ctx)
        let kl = try PseudoInputPrior.weightedKL(q: q, p: p, weights: weights)
        let sparsity = try SparsityTerm(alpha: spec.prior.alpha)(pseudoGamma: pseudoGamma, weights: weights)

        try g.output(GraphNames.loss, try (recon + kl + sparsity).mean())
        try g.output(GraphNames.recon, try recon.mean())
        try g.output(GraphNames.kl, try kl.mean())
        try g.output(GraphNames.sparsity, try sparsity.mean())
        try g.output(GraphNames.elbo, try (recon + kl).mean().neg())
    }

    func buildEncode(_ ctx: ModelContext, batch: Int) throws {
        let g = ctx.graph
        let e = try encoder(try g.input(GraphNames.x, [batch, spec.inputDim]), ctx)
        try g.output(GraphNames.mu, e.mu)
        try g.output(GraphNames.logvar, e.logvar)
        try g.output(GraphNames.gamma, try SpikeHead(spec.spike).gamma(e.v!))
    }

    func buildDecode(_ ctx: ModelContext, batch: Int) throws {
        let g = ctx.graph
        try g.output(GraphNames.xmean, try decoder(try g.input(GraphNames.z, [batch, spec.latent]), ctx).mean)
    }

    func graph(_ name: String, _ body: (ModelContext) throws -> Void) throws -> Graph {
        let g = Graph(name: name)
        try body(ModelContext(graph: g))
        try g.verify()
        return g
    }
    func trainGraph(batch: Int) throws -> Graph { try graph("custom.train") { try buildTrain($0, batch: batch) } }
    func encodeGraph(batch: Int) throws -> Graph { try graph("custom.encode") { try buildEncode($0, batch: batch) } }
    func decodeGraph(batch: Int) throws -> Graph { try graph("custom.decode") { try buildDecode($0, batch: batch) } }
    func initialParameters(seed: UInt64) -> [String: [Float]] {
        let ctx = ModelContext(graph: Graph(name: "init"))
        try! buildTrain(ctx, batch: 1)
        return ctx.initialValues(seed: seed)
    }
}

/// A one-paragraph summary of a graph: sizes, leaves, outputs and the ops it uses.
func summary(_ g: Graph) -> String {
    var ops: [String: Int] = [:]
    for n in g.nodes { ops[n.op.name, default: 0] += 1 }
    let paramCount = g.parameters.reduce(0) { $0 + g[$1.node].elementCount }
    return """
        graph @\(g.name): \(g.count) nodes, \(g.parameters.count) parameters (\(paramCount) numbers)
          inputs:  \(g.inputs.map { "\($0.name)\(g[$0.node].shape)" }.joined(separator: ", "))
          outputs: \(g.outputs.map(\.name).joined(separator: ", "))
          ops:     \(ops.sorted { $0.value > $1.value }.map { "\($0.key)×\($0.value)" }.joined(separator: " "))
        """
}

do {
    let model = TwoLayerBernoulliVSC()
    let spec = model.spec
    let train = try model.trainGraph(batch: spec.batchSize)
    for g in [train, try model.encodeGraph(batch: spec.batchSize), try model.decodeGraph(batch: spec.batchSize)] {
        print(summary(g))
    }
    print("\nfirst lines of the training graph's IR:")
    print(IRPrinter.print(train).split(separator: "\n").prefix(12).joined(separator: "\n"))

    // One forward pass on the interpreter, with seeded initial parameters and a random binary batch.
    var rng = SplitMix64(seed: 1)
    let program = InterpreterProgram(train)
    program.checkFinite = true
    for (name, values) in model.initialParameters(seed: spec.seed) { try program.set(name, values) }
    try program.set(GraphNames.x, (0..<spec.batchSize * spec.inputDim).map { _ in rng.uniform() < 0.3 ? 1 : 0 })
    let s = schedule(spec, iteration: 0)
    try program.set(GraphNames.lambda, scalar: Float(s.lambda))
    try program.set(GraphNames.c, scalar: Float(s.c))
    try program.set(GraphNames.step, scalar: 0)
    try program.run()
    let terms = [GraphNames.loss, GraphNames.recon, GraphNames.kl, GraphNames.sparsity, GraphNames.elbo].map { "\($0) \(program.values($0)![0])" }
    print("\nforward pass at iteration 0: " + terms.joined(separator: ", "))

    // Train it: the trainer differentiates "loss", adds Adam as graph ops, runs the pass pipeline,
    // compiles ONE program for the whole step (here on the LLVM JIT) and feeds x / lambda / c /
    // step each iteration from `schedule(spec, iteration:)` and the data set named by `spec.data`.
    let data = try loadSpecData(spec)
    let options = TrainOptions(outDir: "runs/custom-vsc", backendName: "jit",
                               optimize: { try PassManager.default.run($0).graph })
    let trainer = try Trainer(model: model, data: data.train, backend: { try JITProgram($0, pipeline: nil) }, options: options)
    let result = try trainer.run()
    if let first = result.firstLosses, let last = result.lastLosses {
        print("\ntrained \(result.iterations) iterations at \(Int(result.iterationsPerSecond)) it/s: "
              + "loss \(first.loss) → \(last.loss) (means over the first and last 10 %)")
    }
    print("checkpoint: \(result.checkpointPath) (parameters, Adam state and iteration, in the safetensors layout)")
} catch {
    print("custom-vsc: \(error)")
    exit(1)
}
