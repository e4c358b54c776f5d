import Foundation
import Testing
@testable import Data

/// Image folders (issue 17): PNG and JPEG, mixed sizes, greyscale, centre crop, resize, the
/// cache, and errors naming the file.
@Suite struct ImageFolderTests {
    /// A w×h image with a smooth pattern (ramps, capped: JPEG keeps it), `channels` 1 or 3.
    func pattern(_ w: Int, _ h: Int, channels: Int, seed: Int = 0) -> [UInt8] {
        var p: [UInt8] = []
        for y in 0..<h { for x in 0..<w { for c in 0..<channels { p.append(UInt8(min(255, x * 3 + y * 2 + c * 20 + seed * 5))) } } }
        return p
    }

    /// A folder of PNG and JPEG files of mixed sizes, one greyscale, in train/ and test/.
    func mixedFolder() throws -> String {
        let dir = makeTempDir()
        for split in ["train", "test"] {
            let d = dir + "/" + split
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            try writePNG(path: d + "/a.png", width: 40, height: 30, pixels: pattern(40, 30, channels: 3), channels: 3)
            try ImageFolder.writeJPEG(path: d + "/b.jpg", width: 30, height: 50, pixels: pattern(30, 50, channels: 3, seed: 1), channels: 3)
            try writePNG(path: d + "/c-grey.png", width: 20, height: 20, pixels: pattern(20, 20, channels: 1, seed: 2), channels: 1)
            try ImageFolder.writeJPEG(path: d + "/d-grey.JPEG", width: 17, height: 23, pixels: pattern(17, 23, channels: 1, seed: 3), channels: 1)
            try Data("not an image".utf8).write(to: URL(fileURLWithPath: d + "/notes.txt"))
        }
        return dir
    }

    @Test func pngAndJpegOfMixedSizesAndGreyLoad() throws {
        let dir = try mixedFolder(); defer { removeDir(dir) }
        let rgb = try ImageFolder.load(split: .train, directory: dir, size: 8, channels: 3)
        #expect(rgb.count == 4 && rgb.dim == 8 * 8 * 3 && rgb.imageShape == nil)
        #expect(rgb.x.allSatisfy { $0 >= 0 && $0 <= 1 } && Set(rgb.x).count > 20)
        // The greyscale PNG read as RGB: three equal channels.
        let grey: [Float] = Array(rgb.example(2))
        var equalChannels = true
        for k in stride(from: 0, to: grey.count, by: 3) where grey[k] != grey[k + 1] || grey[k] != grey[k + 2] { equalChannels = false }
        #expect(equalChannels)
        let g = try ImageFolder.load(split: .test, directory: dir, size: 5, channels: 1)
        #expect(g.count == 4 && g.dim == 25 && g.imageShape! == (5, 5) && g.name.hasSuffix("/test"))
        // JPEG decodes close to what was written (lossy).
        let j = try ImageFolder.decode(dir + "/train/b.jpg", channels: 3)
        #expect(j.width == 30 && j.height == 50)
        let written = pattern(30, 50, channels: 3, seed: 1)
        let meanError = zip(j.pixels, written).map { abs(Double($0) - Double($1)) }.reduce(0, +) / Double(written.count)
        #expect(meanError < 6, "mean |error| \(meanError)")
    }

    /// The central square is kept: a 6×4 image whose outer columns are red and blue and whose
    /// central 4×4 is green becomes green; the box filter averages 2×2 blocks.
    @Test func centreCropAndResize() {
        var p: [UInt8] = []
        for _ in 0..<4 { for x in 0..<6 { p += x == 0 ? [255, 0, 0] : x == 5 ? [0, 0, 255] : [0, 255, 0] } }
        let out = ImageFolder.centreCropResize(p, width: 6, height: 4, channels: 3, size: 2)
        let green: [Float] = [0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0]
        #expect(out == green)
        let g: [UInt8] = [0, 255, 255, 255,  0, 0, 255, 255,  0, 0, 0, 0,  255, 255, 0, 0]
        #expect(ImageFolder.centreCropResize(g, width: 4, height: 4, channels: 1, size: 2) == [0.25, 1, 0.5, 0])
        // Enlarging takes the nearest pixel.
        #expect(ImageFolder.centreCropResize([0, 255], width: 2, height: 1, channels: 1, size: 2) == [0, 0, 0, 0])
    }

    @Test func unreadableFilesAreNamed() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        try Data("hello, world".utf8).write(to: URL(fileURLWithPath: dir + "/broken.png"))
        #expect(dataError { try ImageFolder.decode(dir + "/broken.png", channels: 3) }?.description == dir + "/broken.png: neither a PNG nor a JPEG file (starts with 68 65 6c 6c)")
        // A JPEG cut in half, and a PNG whose data is damaged.
        try ImageFolder.writeJPEG(path: dir + "/whole.jpg", width: 64, height: 64, pixels: pattern(64, 64, channels: 3), channels: 3)
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: dir + "/whole.jpg"))
        try jpeg.prefix(jpeg.count / 2).write(to: URL(fileURLWithPath: dir + "/cut.jpg"))
        let cut = try #require(dataError { try ImageFolder.decode(dir + "/cut.jpg", channels: 3) })
        #expect(cut.file == dir + "/cut.jpg" && cut.message.contains("JPEG"))
        try writePNG(path: dir + "/whole.png", width: 16, height: 16, pixels: pattern(16, 16, channels: 3), channels: 3)
        var png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/whole.png")))
        png.removeLast(png.count / 3)
        try Data(png).write(to: URL(fileURLWithPath: dir + "/cut.png"))
        #expect(dataError { try ImageFolder.decode(dir + "/cut.png", channels: 3) }?.file == dir + "/cut.png")
        try Data().write(to: URL(fileURLWithPath: dir + "/empty.jpg"))
        #expect(dataError { try ImageFolder.decode(dir + "/empty.jpg", channels: 1) }?.message.contains("empty") == true)
        // Loading the folder stops at the first unreadable file, naming it.
        let sub = dir + "/set"
        try FileManager.default.createDirectory(atPath: sub + "/train", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: sub + "/test", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/whole.png", toPath: sub + "/train/1.png")
        try FileManager.default.copyItem(atPath: dir + "/cut.jpg", toPath: sub + "/train/2.jpg")
        #expect(dataError { try ImageFolder.load(split: .train, directory: sub, size: 4) }?.file == sub + "/train/2.jpg")
    }

    @Test func emptyAndMissingFoldersAreErrors() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        let e = try #require(dataError { try ImageFolder.load(split: .train, directory: dir) })
        #expect(e.file == dir && e.message.contains("holds no train images"))
        #expect(dataError { try ImageFolder.load(split: .train, directory: dir + "/nope") }?.message.contains("no such folder") == true)
        #expect(dataError { try DataSource.load("images") }?.description.contains("images:DIR") == true)
    }

    /// Without train/ and test/ the split is by file name: disjoint, about 10 % test, stable.
    @Test func aFlatFolderSplitsByName() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        for i in 0..<60 { try writePNG(path: dir + "/img\(i).png", width: 4, height: 4, pixels: pattern(4, 4, channels: 1, seed: i), channels: 1) }
        let train = try ImageFolder.files(split: .train, directory: dir), test = try ImageFolder.files(split: .test, directory: dir)
        #expect(train.count + test.count == 60 && Set(train).isDisjoint(with: test) && (2...12).contains(test.count))
        let d = try DataSource.load("images:" + dir)
        #expect(d.count == train.count && d.dim == 32 * 32 * 3)
    }

    /// The second load reads the cache, not the images: a cache replaced by other values is what
    /// comes back; changing a file (its size or time) invalidates it.
    @Test func theSecondLoadReadsTheCache() throws {
        let dir = try mixedFolder(); defer { removeDir(dir) }
        let first = try ImageFolder.load(split: .train, directory: dir, size: 6, channels: 3)
        let caches = try FileManager.default.contentsOfDirectory(atPath: dir + "/.vsc-cache").filter { $0.hasPrefix("train-6x6x3-") && $0.hasSuffix(".vscdata") }
        #expect(caches.count == 1)
        let cache = dir + "/.vsc-cache/" + caches[0]
        var decoy = first; decoy.x = decoy.x.map { 1 - $0 }
        try DatasetFile.write(decoy, to: cache)
        #expect(try ImageFolder.load(split: .train, directory: dir, size: 6, channels: 3).x == decoy.x)
        try writePNG(path: dir + "/train/a.png", width: 41, height: 30, pixels: pattern(41, 30, channels: 3), channels: 3)
        let again = try ImageFolder.load(split: .train, directory: dir, size: 6, channels: 3)
        #expect(again.x != decoy.x && again.count == 4)
    }
}
