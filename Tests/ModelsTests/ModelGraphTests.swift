import SeededRandom
import Foundation
import Testing
import IR
import Runtime
@testable import Models

/// A small spec for graph tests (D = 20 inputs, hidden [16, 12], J = 4, U = 3).
func smallSpec(kind: ModelSpec.Kind = .vsc, likelihood: ModelSpec.Likelihood = .gaussian,
               spike: ModelSpec.SpikeHead = .relu, warmup: ModelSpec.WarmupForm = .paper,
               normalisation: ModelSpec.InputNormalisation = .none) -> ModelSpec {
    ModelSpec(name: "small", kind: kind, data: .init(dataset: .smiley), inputDim: 20, hidden: [16, 12], latent: 4,
              likelihood: likelihood, spike: spike, prior: .init(alpha: 0.2, pseudoInputs: 3),
              inputNormalisation: normalisation, warmupForm: warmup, batchSize: 5, iterations: 100, seed: 3)
}

func feeds(_ model: any GenerativeModel, _ graph: Graph, x: [Double], lambda: Double = 1, c: Double = 50,
           step: Double = 0, z: [Double]? = nil) -> [String: [Double]] {
    var f = model.initialParameters(seed: 5).mapValues { $0.map(Double.init) }
    f["x"] = x; f["lambda"] = [lambda]; f["c"] = [c]; f["step"] = [step]; f["reg_weight"] = [1]; f["dataset_size"] = [1000]
    if let z { f["z"] = z }
    let names = Set((graph.parameters + graph.inputs).map(\.name))
    return f.filter { names.contains($0.key) }
}

func dataBatch(_ spec: ModelSpec, seed: UInt64) -> [Double] {
    var rng = SplitMix64(seed: seed)
    return (0..<spec.batchSize * spec.inputDim).map { _ in
        spec.likelihood == .bernoulli ? (rng.uniform() < 0.3 ? 1 : 0) : rng.uniform()
    }
}

struct Variant: CustomTestStringConvertible, Sendable {
    var spec: ModelSpec
    var testDescription: String {
        "\(spec.kind) \(spec.likelihood) \(spec.spike) \(spec.warmupForm) \(spec.inputNormalisation) \(spec.prior.selection.kind) ν=\(spec.prior.spikeSharpness.map { "\($0)" } ?? "none") bounds=\(spec.slabBounds.map { "\($0.logvar),\($0.mu)" } ?? "none") sparsity=\(spec.prior.sparsity) slab=\(spec.prior.slab)"
    }
}

let variants: [Variant] = [
    Variant(spec: smallSpec()),
    Variant(spec: smallSpec(likelihood: .bernoulli)),
    Variant(spec: smallSpec(spike: .logsigmoid)),
    Variant(spec: smallSpec(likelihood: .bernoulli, spike: .logsigmoid)),
    Variant(spec: smallSpec(warmup: .authors, normalisation: .unitL2)),
    Variant(spec: smallSpec(likelihood: .bernoulli, spike: .logsigmoid, normalisation: .signed)),
    Variant(spec: { var s = smallSpec(likelihood: .bernoulli, spike: .logsigmoid, normalisation: .signed)
                    s.slabBounds = .init(logvar: 2, mu: 1); s.prior.spikeSharpness = 4; return s }()),
    Variant(spec: { var s = smallSpec(); s.prior.selection = .init(kind: .paper, a: 5, b: 0.5); s.prior.spikeSharpness = nil; return s }()),
    Variant(spec: { var s = smallSpec(spike: .logsigmoid, normalisation: .signed); s.prior.sparsity = .everyPseudoInput; return s }()),
    Variant(spec: { var s = smallSpec(spike: .logsigmoid, normalisation: .signed); s.prior.selection = .init(kind: .mixture)
                    s.prior.sparsity = .everyPseudoInput; return s }()),
    Variant(spec: { var s = smallSpec(likelihood: .bernoulli); s.prior.selection = .init(kind: .mixture); return s }()),
    Variant(spec: { var s = smallSpec(likelihood: .bernoulli, spike: .logsigmoid, normalisation: .signed)
                    s.prior.selection = .init(kind: .mixture); s.prior.slab = .standard; return s }()),
    Variant(spec: smallSpec(kind: .vae(beta: 1))),
    Variant(spec: smallSpec(kind: .vae(beta: 4), likelihood: .bernoulli)),
]

/// The regulariser warm-up (KL annealing): loss = recon + w·(kl + sparsity) (β-VAE: recon + w·β·kl),
/// with w = min(1, t/N) from `schedules.regulariser_warmup`; the reported ELBO ignores w.
@Test(arguments: [smallSpec(), smallSpec(kind: .vae(beta: 4))])
func regulariserWeightScalesOnlyTheRegulariser(_ spec: ModelSpec) throws {
    let model = try makeModel(spec)
    let train = try model.trainGraph(batch: spec.batchSize)
    var f = feeds(model, train, x: dataBatch(spec, seed: 2))
    f["reg_weight"] = [0.3]
    let o = try Interpreter<Double>(train).run(f)
    let regulariser = spec.isVSC ? o["kl"]![0] + o["sparsity"]![0] : spec.beta * o["kl"]![0]
    #expect(Swift.abs(o["loss"]![0] - (o["recon"]![0] + 0.3 * regulariser)) < 1e-9 * Swift.max(1, Swift.abs(o["loss"]![0])))
    #expect(Swift.abs(o["elbo"]![0] + o["recon"]![0] + o["kl"]![0]) < 1e-9 * Swift.max(1, Swift.abs(o["elbo"]![0])))
    var s = try parseSpec(yaml: "kind: vsc\ndata: smiley\nhidden: [8]\nlatent: 4\nschedules: {regulariser_warmup: 100}\n")
    #expect(schedule(s, iteration: 0).regulariserWeight == 0 && schedule(s, iteration: 25).regulariserWeight == 0.25)
    #expect(schedule(s, iteration: 100).regulariserWeight == 1 && schedule(s, iteration: 5000).regulariserWeight == 1)
    s.schedules.regulariserWarmup = 0
    #expect(schedule(s, iteration: 0).regulariserWeight == 1)
}

/// `schedules.sparsity_warmup`: the sparsity term gets its own weight (the input
/// "sparsity_weight", on its own ramp); the prior term keeps the regulariser's.
@Test func sparsityWarmupWeightsTheSparsityTermSeparately() throws {
    var spec = smallSpec()
    spec.schedules.regulariserWarmup = 100
    spec.schedules.sparsityWarmup = 10
    let model = try makeModel(spec)
    let train = try model.trainGraph(batch: spec.batchSize)
    var f = feeds(model, train, x: dataBatch(spec, seed: 2))
    f["reg_weight"] = [0.3]; f["sparsity_weight"] = [0.8]
    let o = try Interpreter<Double>(train).run(f)
    #expect(o["sparsity"]![0] > 1e-4)  // so that a wrong weight on it would show
    #expect(Swift.abs(o["loss"]![0] - (o["recon"]![0] + 0.3 * o["kl"]![0] + 0.8 * o["sparsity"]![0])) < 1e-9 * Swift.max(1, Swift.abs(o["loss"]![0])))
    #expect(schedule(spec, iteration: 5).sparsityWeight == 0.5 && schedule(spec, iteration: 5).regulariserWeight == 0.05)
    #expect(schedule(spec, iteration: 50).sparsityWeight == 1)
    #expect(try makeModel(smallSpec()).trainGraph(batch: 4).leaf(named: "sparsity_weight") == nil)
    let yaml = "kind: vsc\ndata: smiley\nhidden: [8]\nlatent: 4\nschedules: {regulariser_warmup: 100"
    let parsed = try parseSpec(yaml: yaml + ", sparsity_warmup: 0}\n")
    #expect(parsed.schedules.sparsityWarmup == 0 && schedule(parsed, iteration: 0).sparsityWeight == 1)
    let shared = try parseSpec(yaml: yaml + "}\n")
    #expect(shared.schedules.sparsityWarmup == nil && schedule(shared, iteration: 25).sparsityWeight == 0.25)
    #expect(throws: SpecError.self) { try parseSpec(yaml: yaml + ", sparsity_warmup: -1}\n") }
}

/// `spike_logit_penalty: ε` adds ε·(Σ_j v_j² of the example + the components' mean Σ_j v_j²) to
/// the loss and nothing to the ELBO: linear in ε, at least ε·Σ_j v_j² of the data (read back
/// from the encode graph's γ = sigmoid(v) of the logsigmoid head).
@Test func spikeLogitPenaltyAddsToTheLossOnly() throws {
    var spec = smallSpec(spike: .logsigmoid)
    func run(_ eps: Double?) throws -> [String: [Double]] {
        spec.spikeLogitPenalty = eps
        let model = try makeModel(spec)
        let train = try model.trainGraph(batch: spec.batchSize)
        return try Interpreter<Double>(train).run(feeds(model, train, x: dataBatch(spec, seed: 2)))
    }
    let (o0, o1, o2) = (try run(nil), try run(0.01), try run(0.02))
    let d1 = o1["loss"]![0] - o0["loss"]![0], d2 = o2["loss"]![0] - o0["loss"]![0]
    #expect(d1 > 0 && Swift.abs(d2 - 2 * d1) < 1e-9 * Swift.max(1, d2))
    #expect(o1["elbo"]![0] == o0["elbo"]![0] && o1["sparsity"]![0] == o0["sparsity"]![0])
    spec.spikeLogitPenalty = nil
    let model = try makeModel(spec)
    let enc = try model.encodeGraph(batch: spec.batchSize)
    let gamma = try Interpreter<Double>(enc).run(feeds(model, enc, x: dataBatch(spec, seed: 2)))["gamma"]!
    let dataPart = gamma.map { g in Foundation.log(g / (1 - g)) }.map { $0 * $0 }.reduce(0, +) / Double(spec.batchSize)
    #expect(d1 / 0.01 >= dataPart * (1 - 1e-9) && dataPart > 0)
    let yaml = "kind: vsc\ndata: smiley\nhidden: [8]\nlatent: 4\nspike_logit_penalty: 0.001\n"
    #expect(try parseSpec(yaml: yaml).spikeLogitPenalty == 0.001)
    #expect(throws: SpecError.self) { try parseSpec(yaml: "kind: vae\ndata: smiley\nhidden: [8]\nlatent: 4\nspike_logit_penalty: 0.1\n") }
    #expect(throws: SpecError.self) { try parseSpec(yaml: "kind: vsc\ndata: smiley\nhidden: [8]\nlatent: 4\nspike_logit_penalty: 0\n") }
}

/// `schedules.spike_logit_penalty_decay`: the penalty is weighted by the input "penalty_weight",
/// 1 until `start`, 0 from `end`, linear between; the ELBO never sees it; the key needs a penalty.
@Test func spikeLogitPenaltyDecaysOnItsSchedule() throws {
    var spec = smallSpec(spike: .logsigmoid)
    let x = dataBatch(spec, seed: 2)
    func loss(_ eps: Double?, weight: Double?) throws -> [String: [Double]] {
        spec.spikeLogitPenalty = eps
        spec.schedules.spikeLogitPenaltyDecay = weight == nil ? nil : .init(start: 10, end: 20)
        let model = try makeModel(spec)
        let train = try model.trainGraph(batch: spec.batchSize)
        #expect((train.leaf(named: GraphNames.penaltyWeight) != nil) == (weight != nil))
        var f = feeds(model, train, x: x)
        if let weight { f[GraphNames.penaltyWeight] = [weight] }
        return try Interpreter<Double>(train).run(f)
    }
    let none = try loss(nil, weight: nil), full = try loss(0.01, weight: nil)
    let half = try loss(0.01, weight: 0.5), off = try loss(0.01, weight: 0)
    let d = full["loss"]![0] - none["loss"]![0]
    #expect(d > 0)
    #expect(Swift.abs(half["loss"]![0] - none["loss"]![0] - 0.5 * d) < 1e-9 * Swift.max(1, d))
    #expect(Swift.abs(off["loss"]![0] - none["loss"]![0]) < 1e-12 * Swift.max(1, none["loss"]![0]))
    #expect(half["elbo"]![0] == none["elbo"]![0])
    spec.spikeLogitPenalty = 0.01; spec.schedules.spikeLogitPenaltyDecay = .init(start: 10, end: 20)
    #expect([0, 10, 15, 19, 20, 500].map { schedule(spec, iteration: $0).penaltyWeight } == [1, 1, 0.5, 0.1, 0, 0])
    #expect(scalarFeeds(schedule(spec, iteration: 15), iteration: 15, datasetSize: 1).contains { $0.name == GraphNames.penaltyWeight && $0.value == 0.5 })
    #expect(schedule(smallSpec(), iteration: 15).penaltyWeight == 1)
    let yaml = "kind: vsc\ndata: smiley\nhidden: [8]\nlatent: 4\n"
    let parsed = try parseSpec(yaml: yaml + "spike_logit_penalty: 0.01\nschedules: {spike_logit_penalty_decay: {start: 8000, end: 12000}}\n")
    #expect(parsed.schedules.spikeLogitPenaltyDecay == .init(start: 8000, end: 12000))
    for (bad, key) in [("spike_logit_penalty: 0.01\nschedules: {spike_logit_penalty_decay: {start: 5, end: 5}}\n", "schedules.spike_logit_penalty_decay.end"),
                       ("spike_logit_penalty: 0.01\nschedules: {spike_logit_penalty_decay: {start: 5}}\n", "schedules.spike_logit_penalty_decay"),
                       ("schedules: {spike_logit_penalty_decay: {start: 5, end: 9}}\n", "schedules.spike_logit_penalty_decay")] {
        #expect(specError(yaml + bad)?.key == key, "\(bad)")
    }
}

@Suite struct ModelGraphTests {
    @Test(arguments: variants)
    func graphsBuildAndRun(_ v: Variant) throws {
        let spec = v.spec
        let model = try makeModel(spec)
        let train = try model.trainGraph(batch: spec.batchSize)
        let x = dataBatch(spec, seed: 1)
        for lambda in [0.0, 0.5, 1.0] {
            let out = try Interpreter<Double>(train, checkFinite: true).run(feeds(model, train, x: x, lambda: lambda, c: 120))
            for k in ["loss", "recon", "kl", "sparsity", "elbo"] {
                let val = try #require(out[k], "missing output \(k)")
                #expect(val.count == 1 && val[0].isFinite, "\(k) = \(val)")
            }
            let (loss, recon, kl, sp, elbo) = (out["loss"]![0], out["recon"]![0], out["kl"]![0], out["sparsity"]![0], out["elbo"]![0])
            #expect(kl >= -1e-9 && sp >= -1e-9)
            #expect(Swift.abs(elbo + recon + kl) < 1e-9 * Swift.max(1, Swift.abs(elbo)))
            // With slab_bounds the loss trains on the bounded KL and "kl" is the true one
            // (slabBoundsChangeTheLossNotTheReportedKL); without, the loss is the sum of the terms.
            if spec.slabBounds == nil {
                #expect(Swift.abs(loss - (recon + spec.beta * kl + sp)) < 1e-9 * Swift.max(1, Swift.abs(loss)))
            }
            if !spec.isVSC { #expect(sp == 0) }
        }

        let enc = try model.encodeGraph(batch: spec.batchSize)
        let e = try Interpreter<Double>(enc, checkFinite: true).run(feeds(model, enc, x: x))
        #expect(e["mu"]?.count == spec.batchSize * spec.latent && e["logvar"]?.count == spec.batchSize * spec.latent)
        if spec.isVSC {
            let g = try #require(e["gamma"])
            #expect(g.count == spec.batchSize * spec.latent && g.allSatisfy { $0 > 0 && $0 <= 1 })
            #expect(e["selection"]?.count == spec.batchSize * spec.prior.pseudoInputs)
        }

        let dec = try model.decodeGraph(batch: spec.batchSize)
        let z = (0..<spec.batchSize * spec.latent).map { Double($0 % 7) / 7 - 0.5 }
        let d = try Interpreter<Double>(dec, checkFinite: true).run(feeds(model, dec, x: x, z: z))
        let xm = try #require(d["xmean"])
        #expect(xm.count == spec.batchSize * spec.inputDim && xm.allSatisfy(\.isFinite))
        if spec.likelihood == .bernoulli { #expect(xm.allSatisfy { $0 >= 0 && $0 <= 1 }) }

        // Parameters have the same names and shapes in all three graphs, and all are initialised.
        let inits = model.initialParameters(seed: 5)
        for g in [train, enc, dec] {
            for (name, id) in g.parameters {
                #expect(inits[name]?.count == g[id].elementCount, "parameter \(name)")
            }
        }
        #expect(Set(train.parameters.map(\.name)).union(enc.parameters.map(\.name)) == Set(inits.keys))
    }

    @Test func noiseIsKeyedByStep() throws {
        let spec = smallSpec()
        let model = try makeModel(spec)
        let g = try model.trainGraph(batch: spec.batchSize)
        let x = dataBatch(spec, seed: 2)
        func loss(_ step: Double) throws -> Double {
            try Interpreter<Double>(g).run(feeds(model, g, x: x, step: step))["loss"]![0]
        }
        #expect(try loss(3) == loss(3))
        #expect(try loss(3) != loss(4))
    }

    @Test func initialisationIsSeeded() throws {
        let model = try makeModel(smallSpec())
        #expect(model.initialParameters(seed: 1) == model.initialParameters(seed: 1))
        #expect(model.initialParameters(seed: 1)["enc.h0.w"] != model.initialParameters(seed: 2)["enc.h0.w"])
        let w = model.initialParameters(seed: 1)["enc.h0.w"]!   // He uniform, fan-in 20
        let bound = Float((6.0 / 20).squareRoot())
        #expect(w.allSatisfy { Swift.abs($0) <= bound } && w.contains { Swift.abs($0) > bound / 2 })
    }

    /// Algorithm 1: the prior term uses the un-warmed q_φ and prior (line 7); λ only warms the
    /// draw (line 4). So the KL does not depend on λ, and at λ = 0 it still depends on the slabs
    /// (the μ and log σ² heads get the KL's gradient during the pre-training).
    @Test func klIsOnTheUnwarmedPosterior() throws {
        let spec = smallSpec()
        let model = try makeModel(spec)
        let g = try model.trainGraph(batch: spec.batchSize)
        var f = feeds(model, g, x: dataBatch(spec, seed: 3), lambda: 0)
        func run(_ f: [String: [Double]]) throws -> (kl: Double, recon: Double) {
            let o = try Interpreter<Double>(g).run(f)
            return (o["kl"]![0], o["recon"]![0])
        }
        let at0 = try run(f)
        f["lambda"] = [0.5]
        let atHalf = try run(f)
        f["lambda"] = [1]
        let at1 = try run(f)
        #expect(Swift.abs(at0.kl - atHalf.kl) < 1e-12 && Swift.abs(at0.kl - at1.kl) < 1e-12)
        #expect(at0.recon != at1.recon, "λ warms the draw the decoder sees")
        f["lambda"] = [0]
        f["enc.mu.b"] = f["enc.mu.b"]!.map { $0 + 3 }
        f["enc.logvar.b"] = f["enc.logvar.b"]!.map { $0 - 2 }
        #expect(Swift.abs(try run(f).kl - at0.kl) > 1e-3, "at λ = 0 the KL still sees μ and σ")
    }

    /// With one pseudo-input the prior term is exactly the spike-and-slab KL to its encoding
    /// (`prior.slab: standard`: to its spikes with N(0, 1) slabs), computed here from the encode
    /// graph's outputs in plain Swift.
    @Test(arguments: ModelSpec.PriorSlab.allCases)
    func priorTermWithOnePseudoInput(_ slab: ModelSpec.PriorSlab) throws {
        var spec = smallSpec(spike: .logsigmoid)
        spec.prior.pseudoInputs = 1
        spec.prior.slab = slab
        let model = try makeModel(spec)
        let g = try model.trainGraph(batch: spec.batchSize)
        let x = dataBatch(spec, seed: 4)
        let f = feeds(model, g, x: x)
        let kl = try Interpreter<Double>(g).run(f)["kl"]![0]
        let enc = try model.encodeGraph(batch: spec.batchSize)
        let e = try Interpreter<Double>(enc).run(feeds(model, enc, x: x))
        let encPseudo = try model.encodeGraph(batch: 1)
        let ep = try Interpreter<Double>(encPseudo).run(feeds(model, encPseudo, x: f["pseudo_inputs"]!))
        let j = spec.latent
        var total = 0.0
        for b in 0..<spec.batchSize {
            for d in 0..<j {
                let (m, lv, gm) = (e["mu"]![b * j + d], e["logvar"]![b * j + d], e["gamma"]![b * j + d])
                let rawGp = ep["gamma"]![d]
                let (mp, lvp) = slab == .standard ? (0, 0) : (ep["mu"]![d], ep["logvar"]![d])
                let gp = 1 / (1 + exp(-spec.prior.spikeSharpness! * (rawGp - 0.5)))   // the bounded prior spike
                total += gm * (0.5 * (lvp - lv) + (exp(lv) + (m - mp) * (m - mp)) / (2 * exp(lvp)) - 0.5)
                    + (1 - gm) * log((1 - gm) / (1 - gp)) + gm * log(gm / gp)
            }
        }
        #expect(Swift.abs(kl - total / Double(spec.batchSize)) < 1e-9 * Swift.max(1, kl))
    }
}

/// The kind's facts agree with the model it makes: the encode graph emits "gamma" exactly when
/// the facts say the kind has spikes, and the name is what checkpoints store.
@Test(arguments: [ModelSpec.Kind.vsc, .vae(beta: 1), .vae(beta: 4), .betaTCVAE(alpha: 1, beta: 6, gamma: 1)])
func kindFactsMatchTheModel(_ kind: ModelSpec.Kind) throws {
    let spec = smallSpec(kind: kind)
    let g = try makeModel(spec).encodeGraph(batch: 2)
    #expect((g.output("gamma") != nil) == kind.facts.hasSpikes, "\(kind)")
    #expect(g.output("mu") != nil && g.output("logvar") != nil)
    switch kind {
    case .vsc: #expect(kind.facts.name == "vsc")
    case .vae(let beta): #expect(kind.facts.name == "vae(beta=\(beta))")
    case .betaTCVAE: #expect(kind.facts.name.hasPrefix("betatcvae("))
    }
}

/// `slab_bounds` changes only what the loss trains on: the train graph's "kl" and "elbo" are the
/// true spike-and-slab KL whatever the bounds (a bounded KL reported as the ELBO hid a 1,700-nat
/// prior term behind 12 nats once the means passed the bound). With the encoder's means scaled
/// past a bound of 1, the loss's bounded KL is smaller than the true one.
@Test(arguments: [ModelSpec.SelectionKind.mixture, .authors])
func slabBoundsChangeTheLossNotTheReportedKL(_ selection: ModelSpec.SelectionKind) throws {
    func outputs(_ bounds: ModelSpec.SlabBounds?) throws -> [String: [Double]] {
        var spec = smallSpec(spike: .logsigmoid, normalisation: .signed)
        spec.prior.selection = .init(kind: selection)
        spec.slabBounds = bounds
        let model = try makeModel(spec)
        let train = try model.trainGraph(batch: spec.batchSize)
        var f = feeds(model, train, x: dataBatch(spec, seed: 2))
        f["enc.mu.w"] = f["enc.mu.w"]!.map { $0 * 40 }
        f["enc.mu.b"] = f["enc.mu.b"]!.map { $0 + 3 }
        return try Interpreter<Double>(train).run(f)
    }
    let exact = try outputs(nil), bounded = try outputs(.init(logvar: 8, mu: 1))
    for name in ["kl", "elbo", "recon"] {
        let (a, b) = (exact[name]![0], bounded[name]![0])
        #expect(Swift.abs(a - b) <= 1e-12 * Swift.max(1, Swift.abs(a)), "\(name): \(a) unbounded, \(b) with bounds")
    }
    #expect(bounded["loss"]![0] < exact["loss"]![0] - 1, "the loss trains on the bounded KL: \(bounded["loss"]![0]) vs \(exact["loss"]![0])")
}
