import Foundation
import Testing
import IR
import Runtime
@testable import Models

/// β-TCVAE (Chen et al. 2018): the minibatch-stratified estimator against a brute-force loop, the
/// decomposition's identity, and the train graph's loss.
@Suite struct BetaTCVAETests {
    /// log N(x; m, exp(lv)).
    static func logNormal(_ x: Double, _ m: Double, _ lv: Double) -> Double {
        -0.5 * (log(2 * Double.pi) + lv + (x - m) * (x - m) * exp(-lv))
    }
    static func logSumExp(_ v: [Double]) -> Double { let m = v.max()!; return m + log(v.map { exp($0 - m) }.reduce(0, +)) }

    @Test func minibatchStratifiedSamplingMatchesBruteForce() throws {
        let b = 4, j = 3, n = 50.0
        let z: [Double] = (0..<(b * j)).map { sin(Double($0) * 1.7) }
        let mu: [Double] = (0..<(b * j)).map { cos(Double($0) * 0.9) * 0.8 }
        let lv: [Double] = (0..<(b * j)).map { -0.5 + 0.3 * sin(Double($0)) }
        let g = Graph(name: "mws")
        let (zt, mt, lt) = (try g.input("z", [b, j]), try g.input("mu", [b, j]), try g.input("lv", [b, j]))
        let d = try TCDecomposition.minibatchStratified(z: zt, mu: mt, logvar: lt, datasetSize: try g.input("n", []))
        try g.output("mi", d.mi); try g.output("tc", d.tc); try g.output("dwkl", d.dwkl)
        let out = try Interpreter<Double>(g, checkFinite: true).run(["z": z, "mu": mu, "lv": lv, "n": [n]])

        for i in 0..<b {
            // log q(z_i | x_j) per dimension, every j.
            let pair = (0..<b).map { jj in (0..<j).map { d in Self.logNormal(z[i * j + d], mu[jj * j + d], lv[jj * j + d]) } }
            // Chen et al. S7: 1/N for the sample's own example, (N − M)/(NM) for one other, 1/M the rest.
            let m = Double(b - 1)
            let w = (0..<b).map { jj in log(jj == i ? 1 / n : jj == (i + 1) % b ? (n - m) / (n * m) : 1 / m) }
            #expect(abs(w.map { exp($0) }.reduce(0, +) - 1) < 1e-12)
            let logQz = Self.logSumExp((0..<b).map { jj in w[jj] + pair[jj].reduce(0, +) })
            let logQzProduct = (0..<j).map { d in Self.logSumExp((0..<b).map { jj in w[jj] + pair[jj][d] }) }.reduce(0, +)
            let logQzGivenX = pair[i].reduce(0, +)
            let logPz = (0..<j).map { d in Self.logNormal(z[i * j + d], 0, 0) }.reduce(0, +)
            #expect(abs(out["mi"]![i] - (logQzGivenX - logQz)) < 1e-10)
            #expect(abs(out["tc"]![i] - (logQz - logQzProduct)) < 1e-10)
            #expect(abs(out["dwkl"]![i] - (logQzProduct - logPz)) < 1e-10)
            // The three terms add up to log q(z|x) − log p(z), whatever the estimate of q(z).
            #expect(abs(out["mi"]![i] + out["tc"]![i] + out["dwkl"]![i] - (logQzGivenX - logPz)) < 1e-10)
        }
    }

    /// With every posterior the same, q(z) = q(z|x) and q(z) factorises: the stratified estimate
    /// gives MI = TC = 0 exactly, where minibatch weighting would report TC = (J − 1)·log N.
    @Test func identicalPosteriorsHaveNoMutualInformationOrTotalCorrelation() throws {
        let b = 5, j = 4
        let g = Graph(name: "same")
        let (zt, mt, lt) = (try g.input("z", [b, j]), try g.input("mu", [b, j]), try g.input("lv", [b, j]))
        let d = try TCDecomposition.minibatchStratified(z: zt, mu: mt, logvar: lt, datasetSize: try g.input("n", []))
        try g.output("mi", d.mi); try g.output("tc", d.tc)
        let row: [Double] = [0.3, -0.2, 0.1, 0.5], lv: [Double] = [-0.4, 0.2, 0, -1]
        let out = try Interpreter<Double>(g).run(["z": (0..<(b * j)).map { sin(Double($0)) }, "mu": Array((0..<b).map { _ in row }.joined()),
                                                  "lv": Array((0..<b).map { _ in lv }.joined()), "n": [60_000]])
        #expect(out["mi"]!.allSatisfy { abs($0) < 1e-9 } && out["tc"]!.allSatisfy { abs($0) < 1e-9 }, "\(out)")
    }

    @Test func trainGraphWeighsTheThreeTerms() throws {
        let spec = smallSpec(kind: .betaTCVAE(alpha: 0.5, beta: 6, gamma: 2), likelihood: .bernoulli)
        let model = try makeModel(spec)
        #expect(model.lossTerms.map(\.name).suffix(3) == ["mi", "tc", "dwkl"])
        let train = try model.trainGraph(batch: spec.batchSize)
        let o = try Interpreter<Double>(train, checkFinite: true).run(feeds(model, train, x: dataBatch(spec, seed: 2)))
        let (loss, recon, kl, elbo) = (o["loss"]![0], o["recon"]![0], o["kl"]![0], o["elbo"]![0])
        let (mi, tc, dwkl) = (o["mi"]![0], o["tc"]![0], o["dwkl"]![0])
        #expect(abs(loss - (recon + 0.5 * mi + 6 * tc + 2 * dwkl)) < 1e-9 * max(1, abs(loss)))
        #expect(abs(elbo + recon + kl) < 1e-9 * max(1, abs(elbo)))
        #expect(o["sparsity"]![0] == 0 && mi.isFinite && tc.isFinite && dwkl.isFinite)
    }

    @Test func specNamesTheKindAndItsWeights() throws {
        let base = "data: smiley\nhidden: [8]\nlatent: 2\nlikelihood: bernoulli\nbatch_size: 4\n"
        let s = try parseSpec(yaml: "kind: betatcvae\nbeta: 6\n" + base)
        #expect(s.kind == .betaTCVAE(alpha: 1, beta: 6, gamma: 1))
        #expect(s.kind.facts.name == "betatcvae(alpha=1.0,beta=6.0,gamma=1.0)" && !s.kind.facts.hasSpikes)
        #expect(throws: SpecError.self) { try parseSpec(yaml: "kind: betatcvae\ngamma: -1\n" + base) }
        #expect(throws: SpecError.self) { try parseSpec(yaml: "kind: betatcvae\nprior: {alpha: 0.1}\n" + base) }
        #expect(throws: SpecError.self) { try parseSpec(yaml: "kind: vsc\nalpha: 1\n" + base) }
    }
}
