import SeededRandom
import Foundation
import Testing
import IR
import Runtime
@testable import Models

/// Builds a graph computing the per-dimension spike-and-slab KL from fed parameters.
func klGraph(j: Int) throws -> Graph {
    let g = Graph(name: "kl")
    func side(_ p: String) throws -> SpikeSlab {
        try SpikeSlab(mu: g.input(p + "mu", [j]), logvar: g.input(p + "lv", [j]), gamma: g.input(p + "g", [j]))
    }
    let q = try side("q"), p = try side("p")
    try g.output("kl", try SpikeSlabKL.perDimension(q: q, p: p))
    return g
}

struct SpikeSlabParams { var mu: [Double]; var lv: [Double]; var g: [Double] }

func randomParams(_ j: Int, _ rng: inout SplitMix64) -> SpikeSlabParams {
    SpikeSlabParams(mu: (0..<j).map { _ in rng.normal() },
                    lv: (0..<j).map { _ in 2 * rng.uniform() - 1.2 },
                    g: (0..<j).map { _ in 0.03 + 0.94 * rng.uniform() })
}

func runKL(_ q: SpikeSlabParams, _ p: SpikeSlabParams) throws -> [Double] {
    let out = try Interpreter<Double>(klGraph(j: q.mu.count)).run([
        "qmu": q.mu, "qlv": q.lv, "qg": q.g, "pmu": p.mu, "plv": p.lv, "pg": p.g])
    return out["kl"]!
}

/// Monte-Carlo estimate of KL(q ‖ p) for one dimension, with its standard error: z drawn from
/// the spike-and-slab q (spike s ~ Bernoulli(γ); s = 1: z ~ N(μ, σ²); s = 0: z = 0, the shared
/// atom), averaging log q(z) − log p(z) (on the atom: log(1−γ) − log(1−γ_p); off it, the log
/// densities of the slab parts weighted by γ).
func monteCarloKL(q: (Double, Double, Double), p: (Double, Double, Double), n: Int,
                  rng: inout SplitMix64) -> (mean: Double, se: Double) {
    let (mq, lq, gq) = q, (mp, lp, gp) = p
    let sq = exp(0.5 * lq)
    func logN(_ z: Double, _ m: Double, _ lv: Double) -> Double { -0.5 * (log(2 * .pi) + lv + (z - m) * (z - m) / exp(lv)) }
    let off = log(1 - gq) - log(1 - gp)
    var sum = 0.0, sum2 = 0.0
    for _ in 0..<n {
        let d: Double
        if rng.uniform() < gq {
            let z = mq + sq * rng.normal()
            d = log(gq) + logN(z, mq, lq) - log(gp) - logN(z, mp, lp)
        } else { d = off }
        sum += d; sum2 += d * d
    }
    let mean = sum / Double(n)
    let variance = max(0, sum2 / Double(n) - mean * mean)
    return (mean, (variance / Double(n)).squareRoot())
}

@Suite struct SpikeSlabKLTests {
    @Test func agreesWithMonteCarlo() throws {
        var rng = SplitMix64(seed: 2019)
        let j = 6, n = 1_000_000
        let q = randomParams(j, &rng), p = randomParams(j, &rng)
        let kl = try runKL(q, p)
        var totalMC = 0.0, totalVar = 0.0
        for d in 0..<j {
            let mc = monteCarloKL(q: (q.mu[d], q.lv[d], q.g[d]), p: (p.mu[d], p.lv[d], p.g[d]), n: n, rng: &rng)
            // 5 standard errors: a false alarm about once in 1.7 million dimensions.
            #expect(Swift.abs(kl[d] - mc.mean) <= 5 * mc.se + 1e-9,
                    "dim \(d): graph \(kl[d]), Monte Carlo \(mc.mean) ± \(mc.se)")
            totalMC += mc.mean; totalVar += mc.se * mc.se
        }
        let total = kl.reduce(0, +)
        #expect(Swift.abs(total - totalMC) <= 5 * totalVar.squareRoot(), "sum: graph \(total), MC \(totalMC)")
        #expect(kl.allSatisfy { $0 >= -1e-12 })
    }

    /// The paper's eq. 6 as printed (σ in place of σ²) is what the MC test must tell apart from
    /// the corrected formula: check the test has the power to do so on these parameters.
    @Test func monteCarloDistinguishesThePrintedFormula() throws {
        var rng = SplitMix64(seed: 7)
        let q = (0.3, 1.0, 0.6), p = (-0.2, -0.8, 0.4)
        let mc = monteCarloKL(q: q, p: p, n: 1_000_000, rng: &rng)
        let (sq2, sp2) = (exp(q.1), exp(p.1))
        let printed = q.2 * (log(sp2.squareRoot() / sq2.squareRoot()) + (sq2.squareRoot() + (q.0 - p.0) * (q.0 - p.0)) / (2 * sp2.squareRoot()) - 0.5)
            + (1 - q.2) * log((1 - q.2) / (1 - p.2)) + q.2 * log(q.2 / p.2)
        let graph = try runKL(SpikeSlabParams(mu: [q.0], lv: [q.1], g: [q.2]), SpikeSlabParams(mu: [p.0], lv: [p.1], g: [p.2]))[0]
        #expect(Swift.abs(graph - mc.mean) <= 5 * mc.se)
        #expect(Swift.abs(printed - mc.mean) > 20 * mc.se)
    }

    @Test func zeroForIdenticalDistributions() throws {
        var rng = SplitMix64(seed: 11)
        let q = randomParams(16, &rng)
        let kl = try runKL(q, q)
        #expect(kl.allSatisfy { Swift.abs($0) < 1e-12 }, "\(kl)")
        // Also at the edges of γ (clamped to [ε, 1 − ε]): 0 and 1 exactly.
        var e = q; e.g[0] = 0; e.g[1] = 1
        #expect(try runKL(e, e).allSatisfy { Swift.abs($0) < 1e-12 })
    }

    @Test func finiteAtSpikeEdges() throws {
        // γ = 1 exactly (what log γ = −relu(−v) gives for v ≥ 0) or 0 against an interior p.
        let q = SpikeSlabParams(mu: [0.1, 0.2], lv: [0, 0], g: [1, 0])
        let p = SpikeSlabParams(mu: [0, 0], lv: [0, 0], g: [0.5, 0.5])
        let kl = try runKL(q, p)
        #expect(kl.allSatisfy { $0.isFinite })
        #expect(Swift.abs(kl[1] - log(2)) < 1e-4)   // (1−γ)·log(1/(1−0.5)) with γ → ε = 1e-6
    }

    @Test func sparsityTermMatchesBernoulliKL() throws {
        let g = Graph(name: "sparsity")
        let pg = try g.input("pg", [2, 3]), w = try g.input("w", [1, 2])
        try g.output("s", try SparsityTerm(alpha: 0.1)(pseudoGamma: pg, weights: w))
        let out = try Interpreter<Double>(g).run(["pg": [0.2, 0.4, 0.6, 0.1, 0.1, 0.1], "w": [3, 1]])["s"]![0]
        let gbar = (3 * 0.4 + 1 * 0.1) / 4
        let expected = 3 * (gbar * log(gbar / 0.1) + (1 - gbar) * log((1 - gbar) / 0.9))
        #expect(Swift.abs(out - expected) < 1e-12)
    }

    /// every_pseudo_input: the mean over u of J·KL(γ̄_u ‖ α), whatever the selection weights.
    @Test func sparsityOverEveryPseudoInputIgnoresTheSelection() throws {
        let g = Graph(name: "sparsity")
        let pg = try g.input("pg", [2, 3]), w = try g.input("w", [2, 2])
        try g.output("s", try SparsityTerm(alpha: 0.1, form: .everyPseudoInput)(pseudoGamma: pg, weights: w))
        let out = try Interpreter<Double>(g).run(["pg": [0.2, 0.4, 0.6, 0.1, 0.1, 0.1], "w": [3, 1, 0, 1]])["s"]!
        func kl(_ p: Double) -> Double { p * log(p / 0.1) + (1 - p) * log((1 - p) / 0.9) }
        let expected = 3 * (kl(0.4) + kl(0.1)) / 2
        #expect(out.count == 2 && out.allSatisfy { Swift.abs($0 - expected) < 1e-12 })
    }
}
