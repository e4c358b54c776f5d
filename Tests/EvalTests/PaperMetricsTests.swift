import SeededRandom
import Data
import Foundation
import Testing
@testable import Eval

/// A synthetic Smiley-like test set: 4 attributes each present with probability 0.5, and 18
/// sources N(0, 0.5²) drawn for EVERY example, present or not (as `Smiley.generate` stores them).
struct SyntheticSmiley {
    static let A = SmileyAttribute.allCases.count, S = SmileyAttribute.sourceCount
    static let attributeOfSource = SmileyAttribute.attributeOfSource.map(\.rawValue)
    let n: Int
    /// n × 4 flags, row-major (as `Dataset.presence`).
    let presence: [Bool]
    /// n × 18.
    let sources: Matrix
    /// n × 18: whether source s's attribute is present in example i.
    let mask: [[Bool]]

    init(n: Int, seed: UInt64 = 1) {
        var rng = Xoshiro256(seed: seed, stream: 42)
        self.n = n
        presence = (0..<n * Self.A).map { _ in rng.nextUniform() < 0.5 }
        sources = Matrix(rows: n, columns: Self.S, values: (0..<n * Self.S).map { _ in Float(0.5 * rng.nextNormal()) })
        mask = sourcePresence(flags: presence, attributes: Self.A, attributeOfSource: Self.attributeOfSource)
    }

    /// The ideal code: latent j = S_j·V_j (the source where its attribute is present, else 0).
    var idealCode: Matrix { presenceGatedSources(sources, present: mask) }
    /// n × 18: 1 where latent j's attribute is present, else 0 (the ideal code's spikes).
    var idealGamma: Matrix { Matrix(rows: n, columns: Self.S, values: mask.flatMap { $0.map { $0 ? 1 : 0 } }) }
    /// n × 4: the presence indicators themselves.
    var presenceIndicatorCode: Matrix { Matrix(rows: n, columns: Self.A, values: presence.map { $0 ? 1 : 0 }) }
    /// Number of attributes present per example.
    var presentCounts: [Int] { presentAttributeCounts(presence: presence, attributes: Self.A) }

    /// `m` with its rows (examples) shuffled: every association with this set is destroyed.
    func shuffled(_ m: Matrix, seed: UInt64 = 11) -> Matrix {
        let perm = Dataset.shuffledIndices(count: m.rows, seed: seed)
        var out = Matrix(rows: m.rows, columns: m.columns)
        for i in 0..<m.rows { for j in 0..<m.columns { out[i, j] = m[perm[i], j] } }
        return out
    }

    /// Metric (A) on `z` taken as the sample.
    func metricA(_ z: Matrix) -> DisentanglementScore {
        disentanglementScore(authorsCorrelation(sources: sources, present: mask, sample: z))
    }
    /// Metric (B) with all `active` dims (default: all).
    func metricB(mu: Matrix, gamma: Matrix?, active: [Int]? = nil) -> DisentanglementScore {
        disentanglementScore(emittedCodeCorrelation(sources: sources, present: mask, mu: mu, gamma: gamma,
                                                    active: active ?? Array(0..<mu.columns)))
    }
    /// Metric (C) on the indicators γ (VSC) or |μ| (β-VAE).
    func metricC(mu: Matrix, gamma: Matrix?) -> PresenceRecovery {
        presenceRecovery(presence: presence, attributes: Self.A, indicators: presenceIndicators(mu: mu, gamma: gamma))
    }
}

@Suite struct PaperMetricTests {
    static let data = SyntheticSmiley(n: 10_000)

    @Test func gatedSourcesAreZeroWhereTheAttributeIsAbsent() {
        let d = Self.data
        let g = d.idealCode
        var zeros = 0
        for i in 0..<d.n {
            for s in 0..<18 {
                if d.mask[i][s] { #expect(g[i, s] == d.sources[i, s]) } else { #expect(g[i, s] == 0); zeros += 1 }
            }
        }
        // The stored sources are NOT zero for absent attributes (so the gating is what zeroes them).
        #expect(zeros > 0 && (0..<d.n).contains { i in (0..<18).contains { !d.mask[i][$0] && d.sources[i, $0] != 0 } })
    }

    @Test func idealCodeScoresOneOnAAndBAndHighOnC() {
        let d = Self.data
        let a = d.metricA(d.idealCode)
        #expect(a.meanBest > 0.999, "A best \(a.meanBest)")
        #expect(a.bestLatent == Array(0..<18))
        // |S·V| of two sources of one attribute share the zeros of absence: corr ≈ 0.47, gap ≈ 0.53.
        #expect(a.meanGap > 0.4 && a.meanGap < 0.65, "A gap \(a.meanGap)")

        let b = d.metricB(mu: d.idealCode, gamma: d.idealGamma)
        #expect(b.meanBest > 0.999, "B best \(b.meanBest)")
        #expect(b.meanGap > 0.95, "B gap \(b.meanGap)")
        #expect(b.bestLatent == Array(0..<18))

        // VSC: γ is the presence → 1 (with a positive sign). β-VAE-like: |μ| = |S·V| → ≈ 0.69.
        let c = d.metricC(mu: d.idealCode, gamma: d.idealGamma)
        #expect(c.meanBest > 0.999, "C best \(c.meanBest)")
        #expect(c.signedBest.allSatisfy { $0 > 0.999 })
        for a in 0..<4 { #expect(SmileyAttribute.attributeOfSource[c.bestLatent[a]].rawValue == a) }
        let cVAE = d.metricC(mu: d.idealCode, gamma: nil)
        #expect(cVAE.meanBest > 0.6, "C (|μ|) best \(cVAE.meanBest)")
    }

    @Test func shuffledExamplesScoreNearZeroOnAll() {
        let d = Self.data
        let code = d.shuffled(d.idealCode), gamma = d.shuffled(d.idealGamma)
        let a = d.metricA(code), b = d.metricB(mu: code, gamma: gamma), c = d.metricC(mu: code, gamma: gamma)
        #expect(a.meanBest < 0.05, "A best \(a.meanBest)")
        #expect(b.meanBest < 0.06, "B best \(b.meanBest)")
        #expect(c.meanBest < 0.05, "C best \(c.meanBest)")
        let r = activeVsAttributesCorrelation(presentCount: d.presentCounts,
                                              activeCount: activeDimensions(gamma: gamma).perExample)
        #expect(abs(r) < 0.05, "corr(#present, #active) \(r)")
    }

    @Test func presenceOnlyCodeScoresHighOnAAndCButNotOnB() {
        // Four latents that are the presence indicators and carry nothing about the sources' values.
        let d = Self.data
        let code = d.presenceIndicatorCode
        let a = d.metricA(code)
        #expect(a.meanBest > 0.6 && a.meanBest < 0.75, "A best \(a.meanBest) (VSC-AUDIT F4: 0.683)")
        let b = d.metricB(mu: code, gamma: code)
        #expect(b.meanBest < 0.05, "B best \(b.meanBest): a constant 1 where present carries no value")
        let c = d.metricC(mu: code, gamma: code)
        #expect(c.meanBest > 0.999, "C best \(c.meanBest)")
        #expect(c.bestLatent == [0, 1, 2, 3])
    }

    @Test func spikesOnPresenceWithUnrelatedSlabs() {
        // γ = presence, μ independent noise: the sample switches on with the attribute, but its
        // value says nothing about the sources. A stays well above 0 (≈ 0.47), C = 1, B ≈ 0.
        let d = Self.data
        let gamma = d.idealGamma
        let mu = Matrix(rows: d.n, columns: 18, values: normals(d.n * 18, seed: 77).map { $0 * 0.5 })
        let logvar = Matrix(rows: d.n, columns: 18, repeating: -60)
        let z = spikeAndSlabSample(mu: mu, logvar: logvar, gamma: gamma, c: 1e9, seed: 3)
        let a = d.metricA(z)
        #expect(a.meanBest > 0.4 && a.meanBest < 0.55, "A best \(a.meanBest) (VSC-AUDIT F4: 0.471)")
        let b = d.metricB(mu: mu, gamma: gamma)
        #expect(b.meanBest < 0.06, "B best \(b.meanBest)")
        let c = d.metricC(mu: mu, gamma: gamma)
        #expect(c.meanBest > 0.999, "C best \(c.meanBest)")
    }
}

@Suite struct EmittedCodeTests {
    static let data = SyntheticSmiley(n: 10_000, seed: 2)

    @Test func switchedOffVSCDimIsIgnoredThoughItsPosteriorMeanCorrelates() {
        // Latent 0 copies source 0 in μ, but its spike is γ = 1e-3: the decoder never sees it.
        // The masked posterior mean γ⊙μ still correlates perfectly (Pearson ignores scale): leakage.
        let d = Self.data
        var mu = Matrix(rows: d.n, columns: 2), gamma = Matrix(rows: d.n, columns: 2)
        let noise = normals(d.n, seed: 5)
        for i in 0..<d.n { mu[i, 0] = d.sources[i, 0]; gamma[i, 0] = 1e-3; mu[i, 1] = noise[i]; gamma[i, 1] = 1 }
        let leaky = absoluteCorrelation(sources: d.sources, latents: posteriorMeans(mu: mu, gamma: gamma), present: d.mask)
        #expect(leaky[0, 0] > 0.999, "the old metric sees the switched-off dim: \(leaky[0, 0])")
        let act = activeDimensions(gamma: gamma)
        #expect(act.indices == [1])
        let corr = emittedCodeCorrelation(sources: d.sources, present: d.mask, mu: mu, gamma: gamma, active: act.indices)
        #expect(corr.column(0).allSatisfy { $0 == 0 })
        #expect(corr[0, 1] < 0.05)
    }

    @Test func inactiveDimOutsideTheActiveSetIsZeroedEvenIfItsCodeIsNonZero() {
        // β-VAE: latent 0 copies source 0 but has posterior variance 1 (collapsed by the
        // variance criterion); latent 1 copies source 1 with variance 0.01 (active). B keeps only 1.
        let d = Self.data
        var mu = Matrix(rows: d.n, columns: 2), logvar = Matrix(rows: d.n, columns: 2)
        for i in 0..<d.n { mu[i, 0] = d.sources[i, 0]; mu[i, 1] = d.sources[i, 1]; logvar[i, 1] = Float(log(0.01)) }
        let act = activeDimensions(logvar: logvar)
        #expect(act.indices == [1])
        let old = absoluteCorrelation(sources: d.sources, latents: mu, present: d.mask)
        #expect(old[0, 0] > 0.999)
        let corr = emittedCodeCorrelation(sources: d.sources, present: d.mask, mu: mu, gamma: nil, active: act.indices)
        #expect(corr.column(0).allSatisfy { $0 == 0 })
        #expect(corr[1, 1] > 0.999)
        let code = emittedCode(mu: mu, gamma: nil, active: act.indices)
        #expect(code.column(0).allSatisfy { $0 == 0 } && code.column(1) == mu.column(1))
    }

    @Test func emittedCodeThresholdsTheSpikes() {
        let mu = Matrix(rows: 2, columns: 3, values: [1, 2, 3, 4, 5, 6])
        let g = Matrix(rows: 2, columns: 3, values: [0.9, 0.5, 0.51, 0.2, 1, 0.99])
        #expect(emittedCode(mu: mu, gamma: g, active: [0, 1, 2]).values == [1, 0, 3, 0, 5, 6])
        #expect(emittedCode(mu: mu, gamma: g, active: [2]).values == [0, 0, 3, 0, 0, 6])
        #expect(emittedCode(mu: mu, gamma: nil, active: [0, 2]).values == [1, 0, 3, 4, 0, 6])
    }
}

@Suite struct PresenceRecoveryTests {
    static let data = SyntheticSmiley(n: 10_000, seed: 3)

    @Test func absenceCodingLatentHasANegativeSign() {
        // Latent 2 is on exactly when the hat is ABSENT; the others are noise.
        let d = Self.data
        var gamma = Matrix(rows: d.n, columns: 4, values: normals(d.n * 4, seed: 9).map { 1 / (1 + exp(-$0)) })
        for i in 0..<d.n { gamma[i, 2] = d.presence[i * 4 + SmileyAttribute.hat.rawValue] ? 0 : 1 }
        let r = presenceRecovery(presence: d.presence, attributes: 4, indicators: gamma)
        let hat = SmileyAttribute.hat.rawValue
        #expect(r.bestLatent[hat] == 2)
        #expect(r.best[hat] > 0.999)
        #expect(r.signedBest[hat] < -0.999, "absence coding: \(r.signedBest[hat])")
        #expect(r.signed[hat, 2] < -0.999)
        for a in [0, 1, 3] { #expect(r.best[a] < 0.05, "attribute \(a): \(r.best[a])") }
        let expected: Double = r.best.map(Double.init).reduce(0, +) / 4
        #expect(abs(r.meanBest - expected) < 1e-9)
    }

    @Test func activeSetEqualToThePresentAttributesGivesPlusOne() {
        // γ_a = presence of attribute a, plus 3 dims never on: #active = #present per example.
        let d = Self.data
        var gamma = Matrix(rows: d.n, columns: 7)
        for i in 0..<d.n { for a in 0..<4 { gamma[i, a] = d.presence[i * 4 + a] ? 0.97 : 0.01 } }
        let act = activeDimensions(gamma: gamma)
        #expect(act.indices == [0, 1, 2, 3])
        #expect(act.perExample == d.presentCounts)
        let r = activeVsAttributesCorrelation(presentCount: d.presentCounts, activeCount: act.perExample)
        #expect(abs(r - 1) < 1e-9, "corr \(r)")
        // The absence-coded code (on where the attribute is missing) gives −1.
        var inverse = gamma
        for i in 0..<d.n { for a in 0..<4 { inverse[i, a] = 0.98 - gamma[i, a] } }
        let rInv = activeVsAttributesCorrelation(presentCount: d.presentCounts,
                                                 activeCount: activeDimensions(gamma: inverse).perExample)
        #expect(abs(rInv + 1) < 1e-9, "corr \(rInv)")
    }

    @Test func sourcesPresentPerExampleCountsTheSourcesOfPresentAttributes() {
        // Example 0: eyes (3) + hat (6) + bow tie (4) = 13; example 1: none.
        let flags = [true, false, true, true, false, false, false, false]
        #expect(sourcesPresentPerExample(presence: flags, sourcesPerAttribute: [3, 5, 6, 4]) == 6.5)
        // p = 0.5: about 18 / 2 per example.
        let d = Self.data
        let v = sourcesPresentPerExample(presence: d.presence, sourcesPerAttribute: SmileyAttribute.allCases.map(\.sourceRange.count))
        #expect(abs(v - 9) < 0.15, "\(v)")
    }

    /// The two causes of a low (B) gap, told apart by the unmasked score (μ on the active dims):
    /// dims switched off where their source is near 0 (the decoder's default) cost the gap little
    /// masked or not; two sources sharing one dim cost it whether masked or not.
    @Test func unmaskedScoreSeparatesSwitchingOffFromSharingADim() {
        let d = Self.data, ideal = d.idealCode
        var gamma = d.idealGamma
        for i in 0..<d.n { for s in 0..<18 where abs(d.sources[i, s]) < 0.15 { gamma[i, s] = 0 } }
        let masked = d.metricB(mu: ideal, gamma: gamma), unmasked = d.metricB(mu: ideal, gamma: nil)
        #expect(masked.meanGap > 0.9 && unmasked.meanGap > 0.9, "masked \(masked.meanGap), unmasked \(unmasked.meanGap)")
        #expect(abs(masked.meanGap - unmasked.meanGap) < 0.05)

        // Eyes' y and radius (sources 1, 2) share latent 1; latent 2 carries nothing.
        var shared = ideal
        for i in 0..<d.n { shared[i, 1] = ideal[i, 1] + ideal[i, 2]; shared[i, 2] = 0 }
        let m2 = d.metricB(mu: shared, gamma: d.idealGamma), u2 = d.metricB(mu: shared, gamma: nil)
        for s in [1, 2] {
            #expect(m2.best[s] - m2.secondBest[s] < 0.75 && u2.best[s] - u2.secondBest[s] < 0.75,
                    "source \(s): masked gap \(m2.best[s] - m2.secondBest[s]), unmasked \(u2.best[s] - u2.secondBest[s])")
        }
        #expect(m2.meanGap < masked.meanGap - 0.02 && u2.meanGap < unmasked.meanGap - 0.02)
    }

    @Test func presentCountsCountFlags() {
        #expect(presentAttributeCounts(presence: [true, false, true, true, false, false, false, false], attributes: 4) == [3, 0])
    }

    @Test func betaVAEIndicatorIsAbsoluteMean() {
        let mu = Matrix(rows: 1, columns: 3, values: [-2, 0.5, 0])
        #expect(presenceIndicators(mu: mu, gamma: nil).values == [2, 0.5, 0])
        let g = Matrix(rows: 1, columns: 3, values: [0.1, 0.2, 0.3])
        #expect(presenceIndicators(mu: mu, gamma: g) == g)
    }
}

@Suite struct SpikeAndSlabSampleTests {
    static let n = 2000, J = 6
    static let mu = Matrix(rows: n, columns: J, values: normals(n * J, seed: 31).map { $0 * 3 })

    @Test func fullSpikesSharpCAndNoVarianceGiveMu() {
        let gamma = Matrix(rows: Self.n, columns: Self.J, repeating: 1)
        let logvar = Matrix(rows: Self.n, columns: Self.J, repeating: -60)
        let z = spikeAndSlabSample(mu: Self.mu, logvar: logvar, gamma: gamma, c: 1e9, seed: 7)
        let err = zip(z.values, Self.mu.values).map { abs($0 - $1) }.max() ?? 1
        #expect(err < 1e-6, "max |z − μ| \(err)")
        // β-VAE with no variance: μ too.
        let zVAE = spikeAndSlabSample(mu: Self.mu, logvar: logvar, gamma: nil, c: 1e9, seed: 7)
        #expect(zip(zVAE.values, Self.mu.values).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test func zeroSpikesGiveZero() {
        let gamma = Matrix(rows: Self.n, columns: Self.J, repeating: 0)
        let logvar = Matrix(rows: Self.n, columns: Self.J, repeating: 0)
        let z = spikeAndSlabSample(mu: Self.mu, logvar: logvar, gamma: gamma, c: 1e9, seed: 7)
        let m = z.values.map { abs($0) }.max() ?? 1
        #expect(m < 1e-6, "max |z| \(m)")
    }

    @Test func spikeIsOnWithProbabilityGamma() {
        // At c = 100 the spike is ≈ 1[η > 1 − γ]: on for a fraction γ of the draws.
        let gamma = Matrix(rows: Self.n, columns: Self.J, repeating: 0.3)
        let logvar = Matrix(rows: Self.n, columns: Self.J, repeating: -60)
        let z = spikeAndSlabSample(mu: Self.mu, logvar: logvar, gamma: gamma, c: 100, seed: 8)
        let on = zip(z.values, Self.mu.values).filter { abs($0) > abs($1) / 2 }.count
        let frac = Double(on) / Double(Self.n * Self.J)
        #expect(abs(frac - 0.3) < 0.03, "fraction on \(frac)")
    }

    @Test func slabNoiseIsStandardNormalScaledBySigma() {
        // β-VAE, σ = 0.5: (z − μ)/σ has mean ≈ 0 and sd ≈ 1.
        let logvar = Matrix(rows: Self.n, columns: Self.J, repeating: Float(2 * log(0.5)))
        let z = spikeAndSlabSample(mu: Self.mu, logvar: logvar, gamma: nil, c: 1, seed: 9)
        let e = zip(z.values, Self.mu.values).map { Double($0 - $1) / 0.5 }
        let m = e.reduce(0, +) / Double(e.count)
        let sd = (e.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(e.count - 1)).squareRoot()
        #expect(abs(m) < 0.05 && abs(sd - 1) < 0.05, "mean \(m) sd \(sd)")
    }

    @Test func sampleIsReproducibleFromTheSeedAndPrefixStable() {
        let gamma = Matrix(rows: Self.n, columns: Self.J, repeating: 0.6)
        let logvar = Matrix(rows: Self.n, columns: Self.J, repeating: 0)
        let z1 = spikeAndSlabSample(mu: Self.mu, logvar: logvar, gamma: gamma, c: 50, seed: 12)
        let z2 = spikeAndSlabSample(mu: Self.mu, logvar: logvar, gamma: gamma, c: 50, seed: 12)
        let z3 = spikeAndSlabSample(mu: Self.mu, logvar: logvar, gamma: gamma, c: 50, seed: 13)
        #expect(z1 == z2)
        #expect(z1 != z3)
        // The first k examples get the same noise as in the full set (example i's noise is (seed, i)).
        let k = 10, J = Self.J
        let head = spikeAndSlabSample(mu: Matrix(rows: k, columns: J, values: Array(Self.mu.values.prefix(k * J))),
                                      logvar: Matrix(rows: k, columns: J), gamma: Matrix(rows: k, columns: J, repeating: 0.6),
                                      c: 50, seed: 12)
        #expect(head.values == Array(z1.values.prefix(k * J)))
    }
}
