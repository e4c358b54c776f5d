import Testing
import Foundation
@testable import Data

@Suite struct DatasetFileTests {
    @Test func smileyRoundTrip() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        let d = Smiley.generate(count: 37, seed: 5)
        let path = dir + "/s.bin"
        try DatasetFile.write(d, to: path)
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as! NSNumber).intValue
        #expect(size == 64 + 6 + 37 * 128 + 37 * 4 + 37 * 18 * 4)  // bit-packed pixels
        let e = try DatasetFile.read(path)
        #expect(e.name == "smiley" && e.count == 37 && e.dim == 1024)
        #expect(e.x == d.x && e.sources! == d.sources! && e.presence! == d.presence!)
        #expect(e.imageShape?.h == 32 && e.labels == nil)
        #expect(DatasetFile.looksLikeDatasetFile(path))
    }

    @Test func floatDataWithLabelsRoundTrip() throws {
        let d = Dataset(name: "tiny", count: 3, dim: 2, x: [0.5, -1, 2, 3.25, 0, 1e-3], labels: [2, 0, 1])
        let e = try DatasetFile.decode(DatasetFile.encode(d), file: "mem")
        #expect(e.x == d.x && e.labels! == [2, 0, 1] && e.imageShape == nil && e.sources == nil)
    }

    @Test func wrongMagicNamesFileAndOffset() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        var bytes = DatasetFile.encode(Smiley.generate(count: 2, seed: 1))
        bytes[1] = UInt8(ascii: "X")
        let path = dir + "/bad.bin"
        try writeFileBytes(path, bytes)
        let e = try #require(dataError { try DatasetFile.read(path) })
        #expect(e.description.contains(path) && e.offset == 0 && e.description.contains("magic"))
    }

    @Test func truncationNamesOffsetAndSection() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        let bytes = DatasetFile.encode(Smiley.generate(count: 4, seed: 1))
        let path = dir + "/short.bin"
        try writeFileBytes(path, Array(bytes.dropLast(10)))
        let e = try #require(dataError { try DatasetFile.read(path) })
        #expect(e.description.contains(path) && e.offset == bytes.count - 10)
        #expect(e.description.contains("truncated") && e.description.contains("source values"))
        // Truncated inside the header.
        try writeFileBytes(path, Array(bytes.prefix(20)))
        let h = try #require(dataError { try DatasetFile.read(path) })
        #expect(h.description.contains("truncated") && h.offset != nil)
        // Trailing garbage.
        try writeFileBytes(path, bytes + [1, 2, 3])
        let t = try #require(dataError { try DatasetFile.read(path) })
        #expect(t.offset == bytes.count && t.description.contains("3 unexpected bytes"))
    }

    @Test func badHeaderFieldsAreRejected() throws {
        let good = DatasetFile.encode(Smiley.generate(count: 2, seed: 1))
        var v = good; v[8] = 9
        #expect(dataError { try DatasetFile.decode(v, file: "f") }?.offset == 8)
        var s = good; s[28] = 31  // height 31 × 32 ≠ 1024
        #expect(dataError { try DatasetFile.decode(s, file: "f") }?.offset == 28)
        var o = good; for k in 28..<36 { o[k] = 0xFF }  // height × width = (2³² − 1)² overflows Int
        #expect(dataError { try DatasetFile.decode(o, file: "f") }?.offset == 28)
        var p = good; p[good.count - 2 * 18 * 4 - 1] = 7  // a presence byte
        let e = dataError { try DatasetFile.decode(p, file: "f") }
        #expect(e?.description.contains("presence flag") == true)
        var c = good; c[20] = 0xFF  // absurd count
        #expect(dataError { try DatasetFile.decode(c, file: "f") } != nil)
        #expect(dataError { try DatasetFile.decode([], file: "f") }?.offset == 0)
    }

    @Test func missingFileIsAnError() {
        let e = dataError { try DatasetFile.read("/nonexistent/x.bin") }
        #expect(e?.description.contains("/nonexistent/x.bin") == true)
    }

    @Test func datasetHelpers() {
        let d = Smiley.generate(count: 10, seed: 2)
        let s = d.subset(indices: [3, 1])
        #expect(Array(s.example(0)) == Array(d.example(3)) && Array(s.sources(of: 1)) == Array(d.sources(of: 1)))
        #expect(Array(s.presence(of: 0)) == Array(d.presence(of: 3)))
        let (a, b) = d.split(at: 7)
        #expect(a.count == 7 && b.count == 3 && Array(b.example(0)) == Array(d.example(7)))
        let idx = Dataset.shuffledIndices(count: 100, seed: 1)
        #expect(idx.sorted() == Array(0..<100) && idx != Array(0..<100))
        #expect(idx == Dataset.shuffledIndices(count: 100, seed: 1))
        #expect(d.batch(indices: [2, 2]).count == 2048)
    }

    @Test func normalisationUsesFittedStatistics() {
        var train = Dataset(name: "t", count: 4, dim: 2, x: [1, 5, 3, 5, 5, 5, 7, 5])
        var test = Dataset(name: "u", count: 1, dim: 2, x: [4, 6])
        let n = FeatureNormalization.fit(train)
        #expect(n.mean == [4, 5])
        #expect(abs(n.sd[0] - Float(5).squareRoot()) < 1e-6 && n.sd[1] == 1)  // constant feature: sd 1
        n.apply(to: &train); n.apply(to: &test)
        #expect(abs(train.x[0] + 3 / Float(5).squareRoot()) < 1e-6)
        #expect(test.x[1] == 1)
        var back = test.x
        n.invert(&back)
        #expect(back == [4, 6])
    }
}
