import Testing
@testable import Data

/// The bare head, computed independently of the generator: distance from (16.5, 16.5) ≤ 10 with
/// 1-based pixel coordinates.
func referenceHead() -> [Float] {
    var img = [Float](repeating: 0, count: 1024)
    for y in 1...32 {
        for x in 1...32 {
            let dx = Double(x) - 16.5, dy = Double(y) - 16.5
            if (dx * dx + dy * dy).squareRoot() <= 10 { img[(y - 1) * 32 + x - 1] = 1 }
        }
    }
    return img
}

@Suite struct SmileyTests {
    static let big = Smiley.generate(count: 10_000, seed: 7)

    @Test func shapesAndCounts() {
        let d = SmileyTests.big
        #expect(d.count == 10_000 && d.dim == 1024)
        #expect(d.x.count == 10_000 * 1024)
        #expect(d.sources?.count == 10_000 * 18)
        #expect(d.presence?.count == 10_000 * 4)
        #expect(d.imageShape?.h == 32 && d.imageShape?.w == 32)
        #expect(SmileyAttribute.allSourceNames.count == 18)
    }

    @Test func presenceRatesMatchP() {
        let d = SmileyTests.big
        for a in SmileyAttribute.allCases {
            var n = 0
            for i in 0..<d.count where d.presence![i * 4 + a.rawValue] { n += 1 }
            let rate = Double(n) / Double(d.count)
            #expect(abs(rate - 0.5) <= 0.02, "\(a.name) present in \(rate) of examples")
        }
    }

    @Test func presenceRatesFollowOtherP() {
        let d = Smiley.generate(count: 10_000, seed: 3, config: SmileyConfig(p: 0.2))
        for a in 0..<4 {
            let rate = Double((0..<d.count).filter { d.presence![$0 * 4 + a] }.count) / Double(d.count)
            #expect(abs(rate - 0.2) <= 0.02)
        }
    }

    @Test func sourceStandardDeviations() {
        let d = SmileyTests.big
        for k in 0..<18 {
            var s = 0.0, s2 = 0.0
            for i in 0..<d.count { let v = Double(d.sources![i * 18 + k]); s += v; s2 += v * v }
            let n = Double(d.count), mean = s / n
            let sd = ((s2 - n * mean * mean) / (n - 1)).squareRoot()
            #expect(abs(sd - 0.5) <= 0.05, "source \(k) (\(SmileyAttribute.allSourceNames[k])) sd \(sd)")
            #expect(abs(mean) < 0.03, "source \(k) mean \(mean)")
        }
    }

    @Test func imagesAreBinary() {
        #expect(SmileyTests.big.x.allSatisfy { $0 == 0 || $0 == 1 })
    }

    @Test func noAttributesGivesTheBareHead() {
        let head = referenceHead()
        #expect(Smiley.head() == head)
        #expect(head.reduce(0, +) > 300)  // π·10² ≈ 314 pixels
        let d = SmileyTests.big
        var seen = 0
        for i in 0..<d.count where !d.presence(of: i).contains(true) {
            #expect(Array(d.example(i)) == head)
            seen += 1
        }
        #expect(seen > 400)  // ≈ 10,000/16
        // Whatever the sources, no presence means the bare head.
        let v = (0..<18).map { Double($0) * 0.1 - 0.9 }
        #expect(Smiley.render(presence: [false, false, false, false], sources: v) == head)
    }

    @Test func deterministicAndPrefixStable() {
        let a = Smiley.generate(count: 300, seed: 42), b = Smiley.generate(count: 300, seed: 42)
        #expect(a.x == b.x && a.sources! == b.sources! && a.presence! == b.presence!)
        let c = Smiley.generate(count: 300, seed: 43)
        #expect(a.x != c.x && a.sources! != c.sources!)
        let small = Smiley.generate(count: 50, seed: 42)
        #expect(Array(a.x[0..<50 * 1024]) == small.x)
        #expect(Array(a.sources![0..<50 * 18]) == small.sources!)
    }

    @Test func rerenderingStoredSourcesReproducesImages() {
        let d = Smiley.generate(count: 500, seed: 9)
        for i in 0..<d.count {
            let img = Smiley.render(presence: Array(d.presence(of: i)), sources: d.sources(of: i).map(Double.init))
            #expect(img == Array(d.example(i)))
        }
    }

    /// Each attribute alone, at mean sources, changes the image where it should.
    @Test func eachAttributeDrawsInItsRegion() {
        let head = referenceHead(), zero = [Double](repeating: 0, count: 18)
        func diffRows(_ a: SmileyAttribute) -> (rows: Set<Int>, added: Int, removed: Int) {
            var p = [false, false, false, false]; p[a.rawValue] = true
            let img = Smiley.render(presence: p, sources: zero)
            var rows = Set<Int>(), added = 0, removed = 0
            for k in 0..<1024 where img[k] != head[k] {
                rows.insert(k / 32 + 1)
                if img[k] > head[k] { added += 1 } else { removed += 1 }
            }
            return (rows, added, removed)
        }
        let eyes = diffRows(.eyes), mouth = diffRows(.mouth), hat = diffRows(.hat), tie = diffRows(.bowTie)
        // Radius 2 around (12.5, 14) and (20.5, 14): 12 pixels each on rows 13…15.
        #expect(eyes.added == 0 && eyes.removed == 24 && eyes.rows == Set(13...15))
        #expect(mouth.added == 0 && mouth.removed > 10 && mouth.rows.allSatisfy { (21...23).contains($0) })
        #expect(hat.removed == 0 && hat.added > 30 && hat.rows.allSatisfy { $0 <= 7 })
        #expect(tie.removed == 0 && tie.added > 10 && tie.rows.allSatisfy { $0 >= 26 })
        // Eyes at mean: discs of radius 2 around (12.5, 14) and (20.5, 14) are holes.
        let img = Smiley.render(presence: [true, false, false, false], sources: zero)
        #expect(img[(14 - 1) * 32 + 12 - 1] == 0 && img[(14 - 1) * 32 + 20 - 1] == 0)
        #expect(img[(14 - 1) * 32 + 16 - 1] == 1)
    }

    @Test func mouthGeometryAtMean() {
        // length 4, width 2, centre (16, 22): columns 14…18, rows 21…23 are holes; with v5 = 0
        // the smile pixels sit on row 22 at columns 12, 13, 19, 20.
        let img = Smiley.render(presence: [false, true, false, false], sources: [Double](repeating: 0, count: 18))
        var holes = Set<[Int]>()
        let head = referenceHead()
        for k in 0..<1024 where img[k] != head[k] { holes.insert([k / 32 + 1, k % 32 + 1]) }
        var expected = Set<[Int]>()
        for y in 21...23 { for x in 14...18 { expected.insert([y, x]) } }
        for x in [12, 13, 19, 20] { expected.insert([22, x]) }
        #expect(holes == expected)
    }

    @Test func bowTieTemplateAtNativeSizeIsUnchanged() {
        let patch = Smiley.bowTiePatch(height: 11, width: 17)!
        #expect(patch.rows == 11 && patch.cols == 17)
        let t = SmileyConfig.BowTie().template.flatMap { $0.map { $0 == "#" ? UInt8(1) : 0 } }
        #expect(patch.pixels == t)
    }

    @Test func bowTieShrinksToTwoTriangles() {
        // Mean size 5 × 12: left and right ends filled, centre column thin, symmetric.
        let p = Smiley.bowTiePatch(height: 5, width: 12)!
        #expect(p.rows == 5 && p.cols == 12)
        for i in 0..<5 { for j in 0..<12 { #expect(p.pixels[i * 12 + j] == p.pixels[i * 12 + 11 - j]) } }
        for i in 0..<5 { for j in 0..<12 { #expect(p.pixels[i * 12 + j] == p.pixels[(4 - i) * 12 + j]) } }
        let middleRow = (0..<12).map { p.pixels[2 * 12 + $0] }
        #expect(middleRow.allSatisfy { $0 == 1 })
        let colSums = (0..<12).map { j in (0..<5).reduce(0) { $0 + Int(p.pixels[$1 * 12 + j]) } }
        #expect(colSums[0] > colSums[5])
        // Non-integer sizes round up.
        let q = Smiley.bowTiePatch(height: 4.2, width: 10.1)!
        #expect(q.rows == 5 && q.cols == 11)
        #expect(Smiley.bowTiePatch(height: -0.5, width: 12) == nil)
    }

    @Test func imresizeMatchesKnownProperties() {
        // A constant image stays constant (weights sum to one, mirrored edges).
        let c = Smiley.imresizeBicubic([Double](repeating: 3, count: 11 * 17), rows: 11, cols: 17, outRows: 5, outCols: 12)
        #expect(c.allSatisfy { abs($0 - 3) < 1e-12 })
        // Upsampling a ramp by 2 without antialiasing interpolates it (interior points).
        let ramp = (0..<8).map(Double.init)
        let up = Smiley.imresizeBicubic(ramp, rows: 1, cols: 8, outRows: 1, outCols: 16)
        // MATLAB: imresize(0:7, [1 16]) gives x/2 − 0.25 away from the edges.
        for k in 3..<13 { #expect(abs(up[k] - (Double(k) / 2 - 0.25)) < 1e-12) }
        // Shrinking by 2 with antialiasing: weights of the widened kernel.
        let w = Smiley.contributions(inLength: 8, outLength: 4, scale: 0.5, antialiasing: true)
        for row in w.weights { #expect(abs(row.reduce(0, +) - 1) < 1e-12) }
        #expect(w.weights[0].count == 10)
    }

    @Test func generatesFast() {
        let clock = ContinuousClock()
        let t = clock.measure { _ = Smiley.generate(count: 8_000, seed: 1) }
        // 80,000 take ten times this; allow a slow debug build.
        #expect(t < .seconds(10))
    }
}
