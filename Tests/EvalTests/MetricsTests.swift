import SeededRandom
import Data
import Foundation
import Testing
@testable import Eval

/// Seeded standard normals.
func normals(_ n: Int, seed: UInt64) -> [Float] {
    var rng = Xoshiro256(seed: seed, stream: 7)
    return (0..<n).map { _ in Float(rng.nextNormal()) }
}

/// n examples of 18 independent N(0,1) sources (the Smiley layout).
func syntheticSources(_ n: Int, seed: UInt64 = 1) -> Matrix {
    Matrix(rows: n, columns: 18, values: normals(n * 18, seed: seed))
}

@Suite struct CorrelationTests {
    @Test func latentsCopyingSourcesScoreOne() {
        let s = syntheticSources(4000)
        let corr = absoluteCorrelation(sources: s, latents: s)
        let score = disentanglementScore(corr)
        #expect(abs(score.meanBest - 1) < 1e-6)
        #expect(score.meanGap > 0.95, "gap \(score.meanGap)")
        #expect(score.bestLatent == Array(0..<18))
        for r in 0..<18 { #expect(abs(corr[r, r] - 1) < 1e-5) }
    }

    @Test func scaledShiftedAndNegatedCopiesStillScoreOne() {
        let s = syntheticSources(2000)
        // Latent j = −3·source(17−j) + 5, plus 4 extra constant (collapsed) latents.
        var lat = Matrix(rows: s.rows, columns: 22)
        for i in 0..<s.rows { for j in 0..<18 { lat[i, j] = -3 * s[i, 17 - j] + 5 }; for j in 18..<22 { lat[i, j] = 0.25 } }
        let corr = absoluteCorrelation(sources: s, latents: lat)
        #expect(corr.values.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 })
        for j in 18..<22 { #expect(corr.column(j).allSatisfy { $0 == 0 }, "constant latent gives 0, not NaN") }
        let score = disentanglementScore(corr)
        #expect(abs(score.meanBest - 1) < 1e-5)
        #expect(score.bestLatent == (0..<18).map { 17 - $0 })
    }

    @Test func independentLatentsScoreNearZero() {
        let s = syntheticSources(5000, seed: 1)
        let lat = Matrix(rows: 5000, columns: 18, values: normals(5000 * 18, seed: 99))
        let score = disentanglementScore(absoluteCorrelation(sources: s, latents: lat))
        #expect(score.meanBest < 0.1, "best \(score.meanBest)")
        #expect(score.meanGap < 0.05, "gap \(score.meanGap)")
    }

    @Test func shuffledLatentsScoreNearZero() {
        let s = syntheticSources(5000, seed: 3)
        // Copies of the sources, but the examples' order shuffled: the association is destroyed.
        let perm = Dataset.shuffledIndices(count: 5000, seed: 11)
        var lat = Matrix(rows: 5000, columns: 18)
        for i in 0..<5000 { for j in 0..<18 { lat[i, j] = s[perm[i], j] } }
        let score = disentanglementScore(absoluteCorrelation(sources: s, latents: lat))
        #expect(score.meanBest < 0.1, "best \(score.meanBest)")
    }

    @Test func aLatentSharedByTwoSourcesHasNoGap() {
        // Two sources, one latent their sum: each source correlates 1/√2 with it; with a second,
        // unrelated latent the gap is ≈ 1/√2.
        let a = normals(3000, seed: 5), b = normals(3000, seed: 6), noise = normals(3000, seed: 7)
        let s = Matrix(rows: 3000, columns: 2, values: (0..<3000).flatMap { [a[$0], b[$0]] })
        let lat = Matrix(rows: 3000, columns: 2, values: (0..<3000).flatMap { [a[$0] + b[$0], noise[$0]] })
        let score = disentanglementScore(absoluteCorrelation(sources: s, latents: lat))
        #expect(abs(score.meanBest - 0.5.squareRoot()) < 0.03)
        #expect(score.bestLatent == [0, 0])
    }

    @Test func presenceMaskRestrictsEachSourceToItsExamples() {
        // Source 0 equals latent 0 where present; where absent, the source holds garbage and the
        // latent is 0 (as an inactive VSC dim). Unmasked, the correlation is diluted; masked, 1.
        let n = 2000
        let v = normals(n, seed: 21), junk = normals(n, seed: 22)
        var present: [[Bool]] = []
        var s = Matrix(rows: n, columns: 2), lat = Matrix(rows: n, columns: 2)
        for i in 0..<n {
            let p = i % 2 == 0
            present.append([p, true])
            s[i, 0] = p ? v[i] : junk[i] * 10
            lat[i, 0] = p ? v[i] : 0
            s[i, 1] = junk[i]; lat[i, 1] = junk[i]
        }
        let masked = absoluteCorrelation(sources: s, latents: lat, present: present)
        let unmasked = absoluteCorrelation(sources: s, latents: lat)
        #expect(abs(masked[0, 0] - 1) < 1e-5)
        #expect(unmasked[0, 0] < 0.5)
        #expect(abs(masked[1, 1] - 1) < 1e-5)
    }

    @Test func sourcePresenceExpandsAttributes() {
        let flags = [true, false, true, false, false, true, false, true]
        let m = sourcePresence(flags: flags, attributes: 4, attributeOfSource: SmileyAttribute.attributeOfSource.map(\.rawValue))
        #expect(m.count == 2)
        #expect(m[0] == [Bool](repeating: true, count: 3) + [Bool](repeating: false, count: 5) + [Bool](repeating: true, count: 6) + [Bool](repeating: false, count: 4))
        #expect(m[1] == [Bool](repeating: false, count: 3) + [Bool](repeating: true, count: 5) + [Bool](repeating: false, count: 6) + [Bool](repeating: true, count: 4))
    }

    @Test func constantSeriesGiveZeroNeverNaN() {
        #expect(pearson([1, 1, 1, 1], [1, 2, 3, 4]) == 0)
        #expect(pearson([0.1, 0.1, 0.1], [0.1, 0.1, 0.1]) == 0)
        #expect(pearson([1], [2]) == 0)
        #expect(pearson([], []) == 0)
        #expect(abs(pearson([1, 2, 3], [2, 4, 6]) - 1) < 1e-12)
        #expect(abs(pearson([1, 2, 3], [3, 2, 1]) + 1) < 1e-12)
    }

    @Test func groupingPermutationGroupsLatentsWithTheirBestSource() {
        // 3 sources × 6 latents: latent 4 → source 0 (0.9), latent 1 → source 0 (0.5),
        // latent 0 → source 2, latent 5 → source 1, latents 2 and 3 dead.
        let corr = Matrix(rows: 3, columns: 6, values: [
            0.1, 0.5, 0, 0, 0.9, 0.1,
            0.2, 0.1, 0, 0, 0.1, 0.8,
            0.7, 0.2, 0, 0, 0.0, 0.3,
        ])
        #expect(groupingPermutation(corr) == [4, 1, 5, 0, 2, 3])
        let p = corr.permutingColumns([4, 1, 5, 0, 2, 3])
        #expect(p.row(0) == [0.9, 0.5, 0.1, 0.1, 0, 0])
    }

    @Test func groupingOfCopiedSourcesIsTheInversePermutation() {
        let s = syntheticSources(1000)
        let perm = [5, 0, 17, 3, 9, 1, 2, 4, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16]  // latent j copies source perm[j]
        var lat = Matrix(rows: 1000, columns: 18)
        for i in 0..<1000 { for j in 0..<18 { lat[i, j] = s[i, perm[j]] } }
        let order = groupingPermutation(absoluteCorrelation(sources: s, latents: lat))
        #expect(order.map { perm[$0] } == Array(0..<18), "column k shows the latent of source k")
    }

    @Test func classMeansAverageEachClass() {
        let m = Matrix(rows: 4, columns: 2, values: [1, 0, 0, 1, 1, 1, 0.5, 0.5])
        let c = classMeans(m, labels: [0, 0, 2, -1], classes: 3)
        #expect(c.values == [0.5, 0.5, 0, 0, 1, 1])
    }
}

@Suite struct ActiveDimensionTests {
    @Test func vscCountsDimsOnForAtLeastOnePercent() {
        // 200 examples × 5 dims: dim 0 always on; dim 1 on for 2 examples (1 %: active);
        // dim 2 on for 1 example (0.5 %: inactive); dim 3 at exactly 0.5 (not > 0.5); dim 4 off.
        var g = Matrix(rows: 200, columns: 5)
        for i in 0..<200 { g[i, 0] = 0.9; g[i, 3] = 0.5; g[i, 4] = 0.1 }
        g[10, 1] = 0.7; g[20, 1] = 1.0; g[30, 2] = 0.99
        let a = activeDimensions(gamma: g)
        #expect(a.indices == [0, 1])
        #expect(a.count == 2)
        // Per example: 1 everywhere, 2 for examples 10, 20, 30.
        #expect(abs(a.perExampleMean - (200.0 + 3) / 200) < 1e-12)
        #expect(a.perExample[10] == 2 && a.perExample[0] == 1)
        #expect(a.alwaysOn == [0])   // on for 200 of 200; dim 1 for 2
        g[0, 0] = 0.1; g[1, 0] = 0.1; g[2, 0] = 0.1   // 197 of 200 = 98.5 %: no longer always on
        #expect(activeDimensions(gamma: g).alwaysOn.isEmpty && activeDimensions(gamma: g).indices == [0, 1])
    }

    @Test func sparseCodesHaveFewDimsPerExample() {
        // 100 examples, 10 dims; example i uses dims i%10 and (i+1)%10: all 10 dims active
        // overall, 2 per example.
        var g = Matrix(rows: 100, columns: 10)
        for i in 0..<100 { g[i, i % 10] = 1; g[i, (i + 1) % 10] = 0.8 }
        let a = activeDimensions(gamma: g)
        #expect(a.count == 10)
        #expect(a.perExampleMean == 2)
    }

    @Test func betaVAEUsesMeanPosteriorVariance() {
        // Variances: dim 0 = 0.1 (active), dim 1 = 1 (collapsed), dim 2 alternates 0.2 / 0.9
        // (mean 0.55: inactive overall, active in half the examples), dim 3 alternates 0.1 / 0.8
        // (mean 0.45: active).
        let n = 10
        var lv = Matrix(rows: n, columns: 4)
        for i in 0..<n {
            lv[i, 0] = Float(log(0.1)); lv[i, 1] = 0
            lv[i, 2] = Float(log(i % 2 == 0 ? 0.2 : 0.9)); lv[i, 3] = Float(log(i % 2 == 0 ? 0.1 : 0.8))
        }
        let a = activeDimensions(logvar: lv)
        #expect(a.indices == [0, 3])
        #expect(abs(a.perExampleMean - 2) < 1e-12)          // 3 on even examples, 1 on odd ones
        #expect(a.perExample[0] == 3 && a.perExample[1] == 1)
        #expect(a.alwaysOn == [0])   // dim 3 has variance < 0.5 in only half the examples
    }

    @Test func posteriorMeansMultiplyBySpikes() {
        let mu = Matrix(rows: 1, columns: 3, values: [2, -4, 6])
        let g = Matrix(rows: 1, columns: 3, values: [1, 0.5, 0])
        #expect(posteriorMeans(mu: mu, gamma: g).values == [2, -2, 0])
        #expect(posteriorMeans(mu: mu, gamma: nil).values == [2, -4, 6])
    }
}
