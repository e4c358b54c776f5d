import SeededRandom
import Foundation
import Testing
import IR
import Runtime
@testable import Models

/// The training loss is differentiable: symbolic gradients (Passes.grad) of the train graph's
/// "loss" agree with central finite differences in Float64, with λ = 1 and the noise fixed by
/// a fixed "step".
@Suite struct GradCheckTests {
    func check(_ spec: ModelSpec, batch: Int, sample: Int?, c: Double = 50, tolerance: Double = 1e-5) throws {
        let model = try makeModel(spec)
        let g = try model.trainGraph(batch: batch)
        var rng = SplitMix64(seed: 9)
        var f = model.initialParameters(seed: 4).mapValues { $0.map(Double.init) }
        f["x"] = (0..<batch * spec.inputDim).map { _ in spec.likelihood == .bernoulli ? (rng.uniform() < 0.3 ? 1 : 0) : rng.uniform() }
        // Biases off zero, so no ReLU sits exactly at its kink (a spike that is off gives z ≈ 0,
        // and a decoder unit's pre-activation would then be its bias, 0 at initialisation).
        // In name order: a Dictionary's order changes from process to process, and the offsets
        // drawn in that order moved some ReLU next to its kink in one process out of several.
        for k in f.keys.sorted() where k.hasSuffix(".b") { f[k] = f[k]!.map { $0 + 0.05 + 0.1 * rng.uniform() } }
        f["lambda"] = [1]; f["c"] = [c]; f["step"] = [7]; f["reg_weight"] = [0.7]
        if g.leaf(named: "sparsity_weight") != nil { f["sparsity_weight"] = [0.4] }
        if g.leaf(named: "dataset_size") != nil { f["dataset_size"] = [1000] }
        let report = try gradCheck(graph: g, loss: "loss", feeds: f, maxElementsPerParameter: sample, seed: 1)
        #expect(report.parameters.count == g.parameters.count, "every parameter gets a gradient")
        #expect(report.worst < tolerance, "\(spec.name) \(spec.kind) \(spec.likelihood) \(spec.spike)\n\(report)")
    }

    @Test(arguments: variants)
    func smallModels(_ v: Variant) throws {
        try check(v.spec, batch: 5, sample: 40)
    }

    /// The spike-logit penalty and a separate sparsity weight (not in `variants`: their loss has
    /// terms `graphsBuildAndRun` does not add up).
    @Test func penaltyAndSparsityWeight() throws {
        var spec = smallSpec(likelihood: .bernoulli, spike: .logsigmoid, normalisation: .signed)
        spec.prior.selection = .init(kind: .mixture)
        spec.spikeLogitPenalty = 0.05
        spec.schedules.sparsityWarmup = 10
        try check(spec, batch: 5, sample: 40)
    }

    @Test func betaTCVAE() throws {
        try check(smallSpec(kind: .betaTCVAE(alpha: 1, beta: 6, gamma: 0.5), likelihood: .bernoulli), batch: 5, sample: 40)
    }

    @Test(arguments: ["vsc-smiley-tiny", "betavae-smiley-tiny"])
    func tinySpecs(_ name: String) throws {
        let spec = try loadSpec(path: samplesDir + "/\(name).yaml")
        try check(spec, batch: 4, sample: 12)
    }
}
