import SeededRandom
import Foundation
import Testing
import IR
import Runtime
@testable import Models

/// The prior's pieces that keep it a mixture and keep the code recruitable: the selector options,
/// the bounded prior spike, the soft slab bounds, and the spec keys that choose them.
@Suite struct VSCPriorTests {
    /// Binary images sharing a common disc (as every Smiley image shares the head) plus a few
    /// random pixels each: the case where A.3's selector collapses.
    func sharedDiscImages(_ n: Int, d: Int, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed)
        return (0..<n * d).map { i in (i % d) < d / 3 ? 1 : (rng.uniform() < 0.2 ? 1 : 0) }
    }

    func selectionWeights(_ kind: ModelSpec.SelectionKind, n: Int = 200, d: Int = 256, u: Int = 20) throws -> [[Double]] {
        let g = Graph(name: "select")
        let ctx = ModelContext(graph: g)
        let x = try g.input("x", [n, d])
        let sel = SelectionFunction(inputs: d, pseudoInputs: u, selection: .init(kind: kind))
        try g.output("w", try sel(x, ctx))
        var f = ctx.initialValues(seed: 1).mapValues { $0.map(Double.init) }
        f["x"] = sharedDiscImages(n, d: d, seed: 2)
        let w = try Interpreter<Double>(g).run(f)["w"]!
        return (0..<n).map { i in
            let row = Array(w[i * u..<(i + 1) * u]); let s = row.reduce(0, +)
            return row.map { $0 / s }
        }
    }

    @Test func paperSelectorPicksOnePseudoInputAtInitialisation() throws {
        let w = try selectionWeights(.paper)
        let meanMax = w.map { $0.max()! }.reduce(0, +) / Double(w.count)
        #expect(meanMax > 0.5, "A.3 at a = 60 is a softmax of temperature 1/60: mean max weight \(meanMax)")
        let meanMin = w.map { $0.min()! }.reduce(0, +) / Double(w.count)
        #expect(meanMin < 1e-3, "the other pseudo-inputs get (almost) no weight, so no gradient: \(meanMin)")
    }

    @Test func authorsSelectorStartsNearUniform() throws {
        let w = try selectionWeights(.authors)
        let meanMax = w.map { $0.max()! }.reduce(0, +) / Double(w.count)
        #expect(meanMax < 0.1, "20 pseudo-inputs: uniform is 0.05, got a mean max weight of \(meanMax)")
        let meanMin = w.map { $0.min()! }.reduce(0, +) / Double(w.count)
        #expect(meanMin > 0.005, "every pseudo-input gets weight, so every one trains: mean min weight \(meanMin)")
    }

    /// The mixture bound on known component KLs: log U − log Σ_u exp(−KL_u), its responsibilities
    /// softmax(−KL_u), and the bounds min KL ≤ bound ≤ min KL + log U; rows of 1,000-nat KLs do not
    /// overflow.
    @Test func mixtureBoundOnKnownKLs() throws {
        let rows: [[Double]] = [[0, 100, 100], [3, 1, 2], [5, 5, 5], [1000, 1001, 1200]]
        let g = Graph(name: "mixture")
        let kl = try g.input("kl", [rows.count, 3])
        let m = try PseudoInputPrior.mixtureKL(kl)
        try g.output("kl", m.kl); try g.output("r", m.responsibilities)
        let o = try Interpreter<Double>(g, checkFinite: true).run(["kl": rows.flatMap { $0 }])
        for (i, row) in rows.enumerated() {
            let lo = row.min()!
            let expected = Foundation.log(3) + lo - Foundation.log(row.map { exp(lo - $0) }.reduce(0, +))
            #expect(Swift.abs(o["kl"]![i] - expected) < 1e-9, "row \(i): \(o["kl"]![i]) vs \(expected)")
            #expect(o["kl"]![i] >= lo - 1e-12 && o["kl"]![i] <= lo + Foundation.log(3) + 1e-12)
            let r = Array(o["r"]![3 * i..<3 * i + 3])
            #expect(Swift.abs(r.reduce(0, +) - 1) < 1e-12)
            #expect(r.firstIndex(of: r.max()!) == row.firstIndex(of: lo), "the nearest component takes the most responsibility")
        }
        #expect(Swift.abs(o["kl"]![2] - 5) < 1e-12, "equal components: the bound is their KL")
        #expect(Swift.abs(o["r"]![6] - 1.0 / 3) < 1e-12)
    }

    /// The mixture's selection weights in the encode graph are the train graph's responsibilities
    /// (one definition), and the spec key parses; a and b stay paper-only.
    @Test func mixtureSelectionIsTheResponsibilities() throws {
        var spec = smallSpec(spike: .logsigmoid, normalisation: .signed)
        spec.prior.selection = .init(kind: .mixture)
        let model = try makeModel(spec)
        let train = try model.trainGraph(batch: spec.batchSize), encode = try model.encodeGraph(batch: spec.batchSize)
        let x = dataBatch(spec, seed: 3)
        let t = try Interpreter<Double>(train).run(feeds(model, train, x: x, lambda: 1, c: 200))
        let e = try Interpreter<Double>(encode).run(feeds(model, encode, x: x))
        let a = try #require(t[GraphNames.Diagnostic.selection.output]), b = try #require(e["selection"])
        #expect(a.count == b.count && zip(a, b).allSatisfy { Swift.abs($0 - $1) < 1e-12 })
        let parsed = try parseSpec(yaml: "kind: vsc\ndata: smiley\nhidden: [8]\nlatent: 4\nprior: {selection: {kind: mixture}}\n")
        #expect(parsed.prior.selection.kind == .mixture)
        #expect(throws: SpecError.self) { try parseSpec(yaml: "kind: vsc\ndata: smiley\nhidden: [8]\nlatent: 4\nprior: {selection: {kind: mixture, a: 3}}\n") }
    }

    @Test func boundedPriorSpikeStaysInsideItsBounds() throws {
        let g = Graph(name: "spike")
        let gamma = try g.input("g", [5])
        try g.output("b", try priorSpike(gamma, sharpness: 10))
        try g.output("raw", try priorSpike(gamma, sharpness: nil))
        let o = try Interpreter<Double>(g).run(["g": [0, 1e-8, 0.5, 0.9, 1]])
        let lo = 1 / (1 + exp(5.0)), hi = 1 / (1 + exp(-5.0))
        #expect(Swift.abs(o["b"]![0] - lo) < 1e-12 && Swift.abs(o["b"]![4] - hi) < 1e-12)
        #expect(Swift.abs(o["b"]![2] - 0.5) < 1e-12)
        #expect(o["b"]!.allSatisfy { $0 >= lo - 1e-15 && $0 <= hi + 1e-15 })
        #expect(o["raw"]! == [0, 1e-8, 0.5, 0.9, 1], "no sharpness: the paper's raw γ_u")
        // The cost of switching on a dimension the prior has switched off is bounded: log(1/lo) ≈ 5 nats.
        #expect(Foundation.log(1 / lo) < 5.01)
    }

    @Test func slabBoundsAreSoftAndBounded() throws {
        let g = Graph(name: "slab")
        let mu = try g.input("mu", [4]), lv = try g.input("lv", [4]), gm = try g.input("g", [4])
        let s = try boundedSlab(try SpikeSlab(mu: mu, logvar: lv, gamma: gm), .init(logvar: 8, mu: 10))
        try g.output("mu", s.mu); try g.output("lv", s.logvar)
        let o = try Interpreter<Double>(g).run(["mu": [0, 0.1, 42, -1e6], "lv": [0, -0.1, 26, -31], "g": [0.5, 0.5, 0.5, 0.5]])
        #expect(o["mu"]!.allSatisfy { Swift.abs($0) <= 10 } && o["lv"]!.allSatisfy { Swift.abs($0) <= 8 })
        #expect(Swift.abs(o["mu"]![1] - 0.1) < 1e-4 && Swift.abs(o["lv"]![1] + 0.1) < 1e-4, "≈ identity near 0")
        #expect(o["mu"]![2] > 9.9 && o["lv"]![3] < -7.9)
    }

    @Test func specKeysAndDefaults() throws {
        let base = "kind: vsc\ndata: smiley\nhidden: [8]\nlatent: 4\n"
        let d = try parseSpec(yaml: base)
        #expect(d.prior.selection.kind == .authors && d.prior.spikeSharpness == 10)
        #expect(d.slabBounds == nil)
        #expect(try parseSpec(yaml: base + "slab_bounds: {}\n").slabBounds == ModelSpec.SlabBounds(logvar: 8, mu: 10))
        #expect(d.schedules.clipGradNorm == ModelSpec.defaultClipGradNorm)
        let off = try parseSpec(yaml: base + "prior: {spike_sharpness: none, selection: {kind: paper, a: 30, b: 0.4}}\nslab_bounds: none\nschedules: {clip_grad_norm: none}\ninput_normalisation: signed\n")
        #expect(off.prior.spikeSharpness == nil && off.slabBounds == nil && off.schedules.clipGradNorm == nil)
        #expect(off.prior.selection == ModelSpec.Selection(kind: .paper, a: 30, b: 0.4) && off.inputNormalisation == .signed)
        let vae = try parseSpec(yaml: "kind: vae\ndata: smiley\nhidden: [8]\nlatent: 4\n")
        #expect(vae.schedules.clipGradNorm == nil && vae.slabBounds == nil)
        #expect(specError(base + "prior: {selection: {a: 60}}")?.key == "prior.selection.a", "a belongs to kind paper")
        #expect(specError(base + "prior: {selection: {kind: softmax}}")?.key == "prior.selection.kind")
        #expect(specError(base + "prior: {spike_sharpness: -1}")?.key == "prior.spike_sharpness")
        #expect(d.prior.pseudoInputInit == .uniform && d.prior.sparsity == .selected)
        let alt = try parseSpec(yaml: base + "prior: {pseudo_input_init: training_images, sparsity: every_pseudo_input}\n")
        #expect(alt.prior.pseudoInputInit == .trainingImages && alt.prior.sparsity == .everyPseudoInput)
        #expect(specError(base + "prior: {pseudo_input_init: zeros}")?.key == "prior.pseudo_input_init")
        #expect(specError(base + "prior: {sparsity: aggregate}")?.key == "prior.sparsity")
        #expect(d.prior.slab == .pseudoInputs)
        #expect(try parseSpec(yaml: base + "prior: {slab: standard}\n").prior.slab == .standard)
        #expect(specError(base + "prior: {slab: gaussian}")?.key == "prior.slab")
        #expect(specError(base + "slab_bounds: {logvar: 0}")?.key == "slab_bounds.logvar")
        #expect(specError(base + "schedules: {clip_grad_norm: 0}")?.key == "schedules.clip_grad_norm")
        #expect(specError("kind: vae\ndata: smiley\nhidden: [8]\nlatent: 4\nslab_bounds: none\n")?.key == "slab_bounds")
    }

    /// pseudo_input_init training_images: the pseudo-inputs start as the examples the trainer
    /// hands over; every other parameter is the seeded value; uniform ignores the examples.
    @Test func pseudoInputsStartFromTrainingImages() throws {
        var spec = smallSpec(spike: .logsigmoid)
        let plain = try makeModel(spec).initialParameters(seed: 3)
        spec.prior.pseudoInputInit = .trainingImages
        let u = spec.prior.pseudoInputs, d = spec.inputDim
        let images = (0..<(u * d)).map { Float($0 % 7) / 7 }
        var asked: [Int] = []
        let fromData = try makeModel(spec).initialParameters(seed: 3) { n in asked.append(n); return images }
        #expect(asked == [u])
        #expect(fromData["pseudo_inputs"] == images)
        #expect(fromData.filter { $0.key != "pseudo_inputs" } == plain.filter { $0.key != "pseudo_inputs" })
        spec.prior.pseudoInputInit = .uniform
        #expect(try makeModel(spec).initialParameters(seed: 3) { _ in images } == plain)
    }

    /// Signed inputs: the encoder sees 2x − 1 (a `none` model fed 2x − 1 encodes identically); the
    /// likelihood keeps the raw pixels as its target.
    @Test func signedNormalisationIsTheEncodersView() throws {
        var spec = smallSpec(likelihood: .bernoulli, spike: .logsigmoid, normalisation: .signed)
        let signedModel = try makeModel(spec)
        spec.inputNormalisation = .none
        let plainModel = try makeModel(spec)
        let x = dataBatch(spec, seed: 7)
        let e1 = try signedModel.encodeGraph(batch: spec.batchSize), e2 = try plainModel.encodeGraph(batch: spec.batchSize)
        let a = try Interpreter<Double>(e1).run(feeds(signedModel, e1, x: x))
        let b = try Interpreter<Double>(e2).run(feeds(plainModel, e2, x: x.map { 2 * $0 - 1 }))
        for k in ["mu", "logvar", "gamma", "selection"] {
            #expect(zip(a[k]!, b[k]!).allSatisfy { Swift.abs($0 - $1) < 1e-12 }, "\(k)")
        }
        // The train graph's target is x itself: a model fed ±1 pixels would see targets of −1.
        let g = try signedModel.trainGraph(batch: spec.batchSize)
        let recon = try Interpreter<Double>(g).run(feeds(signedModel, g, x: x))["recon"]![0]
        let gPlain = try plainModel.trainGraph(batch: spec.batchSize)
        let reconOfSigned = try Interpreter<Double>(gPlain).run(feeds(plainModel, gPlain, x: x.map { 2 * $0 - 1 }))["recon"]![0]
        #expect(recon.isFinite && Swift.abs(recon - reconOfSigned) > 1e-6)
    }
}
