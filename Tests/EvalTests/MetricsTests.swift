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

@Suite struct FigureTests {
    @Test func fontWidthsAndGlyphs() {
        #expect(BitmapFont.width("ABC") == 17)
        #expect(BitmapFont.width("ABC", scale: 2) == 34)
        #expect(BitmapFont.width("") == 0)
        #expect(BitmapFont.glyph("a") == BitmapFont.glyph("A"))
        #expect(BitmapFont.glyph("€") == BitmapFont.glyph("?"))
        // Every glyph fits in 5 columns.
        for g in BitmapFont.glyphs.values { #expect(g.count == 7 && g.allSatisfy { $0 < 32 }) }
    }

    @Test func textRendersWithTheExpectedExtent() {
        var c = Canvas(width: 60, height: 20)
        c.text("HI 42", x: 2, y: 3)
        var minX = 99, maxX = -1, minY = 99, maxY = -1
        for y in 0..<20 { for x in 0..<60 where c[x, y] == .black { minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y) } }
        #expect(minX == 2 && maxX == 2 + BitmapFont.width("HI 42") - 1)
        #expect(minY == 3 && maxY == 9)
        // Vertical text: as tall as the horizontal one is wide.
        var v = Canvas(width: 20, height: 60)
        v.text("HI 42", x: 3, y: 2, vertical: true)
        var vMaxY = -1, vMaxX = -1
        for y in 0..<60 { for x in 0..<20 where v[x, y] == .black { vMaxY = max(vMaxY, y); vMaxX = max(vMaxX, x) } }
        #expect(vMaxY == 2 + BitmapFont.width("HI 42") - 1)
        #expect(vMaxX == 3 + 6)
    }

    @Test func heatmapPNGHasTheExpectedSizeAndContent() throws {
        let corr = Matrix(rows: 18, columns: 8, values: (0..<144).map { Float($0 % 9) / 8 })
        let c = correlationFigure(corr, sourceNames: SmileyAttribute.allSourceNames, order: Array(0..<8),
                                  groupEnds: [3, 8, 14], title: ["test heatmap"])
        // 18 rows and 8 columns of 18-px cells fit inside; labels make it larger.
        #expect(c.width > 8 * 18 + BitmapFont.width("hat.crownHeight", scale: 2))
        #expect(c.height > 18 * 18)
        // The top-left cell is 0 → viridis' first colour; some cell reaches 1 → yellow.
        #expect(c.pixels.count == c.width * c.height * 3)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("evaltests-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("corr.png").path
        try c.write(to: path)
        let back = try readPNG(path: path, channels: 3)
        #expect(back.width == c.width && back.height == c.height)
        #expect(back.pixels == c.pixels)
        var distinct = Set<Int>()
        for k in stride(from: 0, to: back.pixels.count, by: 3) {
            let r = Int(back.pixels[k]), g = Int(back.pixels[k + 1]), b = Int(back.pixels[k + 2])
            distinct.insert((r << 16) | (g << 8) | b)
        }
        #expect(distinct.count > 10, "non-empty: cells in many colours, text, colour bar")
        #expect(distinct.contains(0x440154), "viridis 0")
        #expect(distinct.contains(0xFDE725), "viridis 1")
        try? FileManager.default.removeItem(at: dir)
    }

    @Test func imageRowsFigureLaysOutImages() {
        let img = [Float](repeating: 1, count: 16)
        let f = ImageRowsFigure(title: ["t"], rows: [.init(label: ["a"], images: [img, img]), .init(label: ["b"], images: [img])],
                                h: 4, w: 4, scale: 3).render()
        var white = 0
        for y in 0..<f.height { for x in 0..<f.width where f[x, y] == .white { white += 1 } }
        #expect(f.width > 2 * 12)
        // Background is white too, so count black text pixels instead: title and labels exist.
        var black = 0
        for y in 0..<f.height { for x in 0..<f.width where f[x, y] == .black { black += 1 } }
        #expect(black > 0 && white > 3 * 144)
    }

    @Test func format2Rounds() {
        #expect(format2(0.256) == "0.26")
        #expect(format2(1) == "1.00")
        #expect(format2(-0.05) == "-0.05")
    }
}
