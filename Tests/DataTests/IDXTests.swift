import SeededRandom
import Testing
import Foundation
@testable import Data

@Suite struct IDXTests {
    /// Writes a 5-image 3×4 set with labels, plain and gzipped.
    func fixture(_ dir: String, gzip: Bool) throws -> (images: String, labels: String) {
        let img = idxImages(n: 5, h: 3, w: 4), lab = idxLabels([3, 0, 9, 1, 1])
        let ext = gzip ? ".gz" : ""
        let paths = (dir + "/img-idx3-ubyte" + ext, dir + "/lab-idx1-ubyte" + ext)
        if gzip {
            try writeGzipFile(paths.0, img); try writeGzipFile(paths.1, lab)
        } else {
            try writeFileBytes(paths.0, img); try writeFileBytes(paths.1, lab)
        }
        return paths
    }

    @Test(arguments: [false, true]) func readsPlainAndGzipped(gzip: Bool) throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        let f = try fixture(dir, gzip: gzip)
        let d = try readIDXDataset(images: f.images, labels: f.labels, name: "fx")
        #expect(d.count == 5 && d.dim == 12 && d.imageShape?.h == 3 && d.imageShape?.w == 4)
        #expect(d.labels! == [3, 0, 9, 1, 1])
        #expect(d.x[0] == 0 && d.x[1] == 1 / 255 && d.x[12] == 7 / 255)
        #expect(d.x.allSatisfy { $0 >= 0 && $0 <= 1 })
        let raw = try readIDX(path: f.images)
        #expect(raw.dims == [5, 3, 4] && raw.values.count == 60)
    }

    @Test func wrongMagic() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        var img = idxImages(n: 2, h: 2, w: 2)
        img[0] = 0x1F  // not zero
        let p = dir + "/bad-magic"
        try writeFileBytes(p, img)
        let e = try #require(dataError { try readIDX(path: p, expectedDims: 3) })
        #expect(e.description.contains(p) && e.description.contains("byte offset 0") && e.description.contains("magic"))
        // A label file where images are expected.
        let q = dir + "/labels-as-images"
        try writeFileBytes(q, idxLabels([1, 2]))
        let f = try #require(dataError { try readIDX(path: q, expectedDims: 3) })
        #expect(f.description.contains(q) && f.description.contains("magic") && f.offset == 3)
        // Unsupported type (0x0D = float).
        var t = idxImages(n: 1, h: 1, w: 1); t[2] = 0x0D
        try writeFileBytes(p, t)
        #expect(dataError { try readIDX(path: p) }?.offset == 2)
    }

    @Test func truncatedData() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        let img = idxImages(n: 4, h: 3, w: 3)
        let p = dir + "/short"
        try writeFileBytes(p, Array(img.dropLast(5)))
        let e = try #require(dataError { try readIDX(path: p) })
        #expect(e.description.contains(p) && e.offset == img.count - 5)
        #expect(e.description.contains("byte offset \(img.count - 5)") && e.description.contains("truncated"))
        // Truncated inside the header.
        try writeFileBytes(p, Array(img.prefix(9)))
        let h = try #require(dataError { try readIDX(path: p) })
        #expect(h.offset == 8 && h.description.contains("truncated"))
        // Trailing bytes.
        try writeFileBytes(p, img + [0])
        #expect(dataError { try readIDX(path: p) }?.offset == img.count)
    }

    @Test func truncatedGzipStream() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        let p = dir + "/full.gz"
        // Incompressible-ish content so the cut lands inside the deflate data.
        var img = idxImages(n: 200, h: 28, w: 28)
        var rng = Xoshiro256(seed: 1)
        for k in 16..<img.count { img[k] = UInt8(truncatingIfNeeded: rng.next()) }
        try writeGzipFile(p, img)
        let gz = try Data(contentsOf: URL(fileURLWithPath: p))
        let cut = dir + "/cut.gz"
        try gz.prefix(gz.count / 2).write(to: URL(fileURLWithPath: cut))
        let e = try #require(dataError { try readIDX(path: cut) })
        #expect(e.description.contains(cut) && e.offset != nil && e.description.contains("truncated"))
    }

    /// Images of zero rows or columns are refused at load (they once reached a precondition in
    /// the PNG grid writer).
    @Test func zeroSizedImagesAreRefused() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        let i = dir + "/img", l = dir + "/lab"
        try writeFileBytes(i, idxImages(n: 3, h: 0, w: 4))
        try writeFileBytes(l, idxLabels([1, 2, 3]))
        let e = try #require(dataError { try readIDXDataset(images: i, labels: l, name: "x") })
        #expect(e.file == i && e.description.contains("0×4"), "\(e)")
    }

    @Test func labelCountMismatch() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        let i = dir + "/img", l = dir + "/lab"
        try writeFileBytes(i, idxImages(n: 5, h: 2, w: 2))
        try writeFileBytes(l, idxLabels([1, 2, 3, 4]))
        let e = try #require(dataError { try readIDXDataset(images: i, labels: l, name: "x") })
        #expect(e.description.contains(l) && e.description.contains(i) && e.offset == 4)
        #expect(e.description.contains("4") && e.description.contains("5"))
        // A label beyond the class count.
        try writeFileBytes(l, idxLabels([1, 2, 3, 4, 12]))
        let f = try #require(dataError { try readIDXDataset(images: i, labels: l, name: "x") })
        #expect(f.offset == 8 + 4 && f.description.contains(l))
    }

    @Test func missingFashionFolderSaysWhichPackage() {
        let e = dataError { try FashionMNIST.load(split: .train, directory: "/nonexistent/fmnist") }
        #expect(e?.description.contains("/nonexistent/fmnist") == true)
        #expect(e?.description.contains("dataset-fashion-mnist") == true)
    }
}

@Suite struct FashionMNISTTests {
    @Test func realDebianFiles() throws {
        try #require(isDirectory(FashionMNIST.defaultDirectory), "apt-get install dataset-fashion-mnist")
        let train = try FashionMNIST.load(split: .train)
        let test = try FashionMNIST.load(split: .test)
        #expect(train.count == 60_000 && test.count == 10_000)
        #expect(train.dim == 784 && train.imageShape?.h == 28 && train.imageShape?.w == 28)
        #expect(train.labelCounts()! == [Int](repeating: 6000, count: 10))
        #expect(test.labelCounts()! == [Int](repeating: 1000, count: 10))
        #expect(Array(train.labels![0..<10]) == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
        #expect(train.x.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(train.x.contains(1) && train.x.contains(0))
        #expect(train.name == "fashion-mnist/train" && train.classNames?[9] == "Ankle boot")
    }
}
