// A folder of images (PNG through libpng, JPEG through libjpeg-turbo) as a data set: each image
// centre-cropped to a square and resized to size × size, grey or RGB, pixels in [0, 1]
// (CelebA: 178×218 JPEGs → 32×32×3 = 3,072 features, the paper's D.2).

import CJPEG
import Foundation
import SeededRandom

public enum ImageFolder {
    /// File extensions read (any case); other files are ignored.
    public static let extensions: Set<String> = ["png", "jpg", "jpeg"]
    /// Per 1,000: the share of a folder without train/ and test/ subfolders that is the test split.
    public static let testPerMille: UInt64 = 100

    /// The image files of a split, sorted by name: `DIR/train/` and `DIR/test/` if DIR has both;
    /// otherwise DIR's own images, each in the test split if the FNV-1a hash of its name falls in
    /// the test share (10 %), so adding images never moves the others between splits.
    public static func files(split: DataSplit, directory: String) throws -> [String] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw DataError(file: directory, "no such folder (an image folder holds PNG or JPEG files, or train/ and test/ folders of them)")
        }
        func images(_ dir: String) throws -> [String] {
            let names: [String]
            do { names = try fm.contentsOfDirectory(atPath: dir) } catch {
                throw DataError(file: dir, "cannot list the folder (\(error.localizedDescription))")
            }
            return names.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) && !$0.hasPrefix(".") }
                .sorted().map { dir + "/" + $0 }
        }
        let sub = directory + "/" + split.rawValue
        let list: [String]
        if fm.fileExists(atPath: directory + "/train", isDirectory: &isDir), isDir.boolValue,
           fm.fileExists(atPath: directory + "/test", isDirectory: &isDir), isDir.boolValue {
            list = try images(sub)
        } else {
            list = try images(directory).filter { path in
                let inTest = fnv1a((path as NSString).lastPathComponent) % 1000 < testPerMille
                return inTest == (split == .test)
            }
        }
        guard !list.isEmpty else {
            throw DataError(file: directory, "holds no \(split.rawValue) images (PNG or JPEG: \(extensions.sorted().joined(separator: ", ")))")
        }
        return list
    }

    /// Loads a split: every image decoded, centre-cropped, resized to `size` × `size` with
    /// `channels` 1 (grey) or 3 (RGB). The decoded set is cached in `DIR/.vsc-cache/` (keyed by
    /// the files' names, sizes and modification times and the geometry), so a second load —
    /// the next run, an experiment's next cell, the evaluation — does not decode again; a
    /// folder that cannot be written is read without the cache.
    /// - Throws: `DataError` naming the first file that cannot be read.
    public static func load(split: DataSplit, directory: String, size: Int = 32, channels: Int = 3) throws -> Dataset {
        guard size > 0, channels == 1 || channels == 3 else {
            throw DataError(file: directory, "image size must be positive and channels 1 or 3, got \(size) and \(channels)")
        }
        let list = try files(split: split, directory: directory)
        let fm = FileManager.default
        var key = "v1 \(size) \(channels) \(split.rawValue)"
        for f in list {
            let a = try? fm.attributesOfItem(atPath: f)
            let bytes = (a?[.size] as? NSNumber)?.intValue ?? -1
            let time = (a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            key += "\n\((f as NSString).lastPathComponent) \(bytes) \(time)"
        }
        let cache = cachePath(directory: directory, split: split, size: size, channels: channels, key: key)
        if fm.fileExists(atPath: cache), let cached = try? DatasetFile.read(cache),
           cached.count == list.count, cached.dim == size * size * channels {
            return cached
        }
        var x = [Float](); x.reserveCapacity(list.count * size * size * channels)
        for f in list { x += try read(f, size: size, channels: channels) }
        let name = ((directory as NSString).lastPathComponent.isEmpty ? directory : (directory as NSString).lastPathComponent) + "/" + split.rawValue
        let data = Dataset(name: name, count: list.count, dim: size * size * channels, x: x,
                           imageShape: channels == 1 ? (size, size) : nil)
        // The cache is an optimisation: a read-only folder just goes without it.
        if (try? fm.createDirectory(atPath: (cache as NSString).deletingLastPathComponent, withIntermediateDirectories: true)) != nil {
            let tmp = cache + ".tmp-\(getpid())"
            if (try? DatasetFile.write(data, to: tmp)) != nil { _ = rename(tmp, cache) } else { try? fm.removeItem(atPath: tmp) }
        }
        return data
    }

    /// `DIR/.vsc-cache/<split>-<size>x<size>x<channels>-<hash of the listing>.vscdata`.
    public static func cachePath(directory: String, split: DataSplit, size: Int, channels: Int, key: String) -> String {
        directory + "/.vsc-cache/\(split.rawValue)-\(size)x\(size)x\(channels)-" + String(fnv1a(key), radix: 16) + ".vscdata"
    }

    /// One image file as `size * size * channels` values in [0, 1], row-major, channels interleaved.
    public static func read(_ path: String, size: Int, channels: Int) throws -> [Float] {
        let (pixels, w, h) = try decode(path, channels: channels)
        return centreCropResize(pixels, width: w, height: h, channels: channels, size: size)
    }

    /// Decodes a PNG or JPEG (told apart by their first bytes, not the name) to 8-bit pixels.
    public static func decode(_ path: String, channels: Int) throws -> (pixels: [UInt8], width: Int, height: Int) {
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError(file: path, "cannot read the image file") }
        let head = [UInt8](data.prefix(4))
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return try readPNG(path: path, channels: channels) }
        guard head.starts(with: [0xFF, 0xD8]) else {
            throw DataError(file: path, data.isEmpty ? "empty file, not an image" : "neither a PNG nor a JPEG file (starts with \(head.map { String(format: "%02x", $0) }.joined(separator: " ")))")
        }
        var out: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0, h: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { raw in
            vsc_jpeg_decode(raw.bindMemory(to: UInt8.self).baseAddress, UInt(data.count), Int32(channels), &out, &w, &h, &message, message.count)
        }
        guard status == 0, let out else { throw DataError(file: path, "cannot read JPEG: \(String(cString: message))") }
        defer { free(out) }
        return (Array(UnsafeBufferPointer(start: out, count: Int(w) * Int(h) * channels)), Int(w), Int(h))
    }

    /// Writes 8-bit pixels as a JPEG (tests generate their folders with it).
    public static func writeJPEG(path: String, width: Int, height: Int, pixels: [UInt8], channels: Int, quality: Int = 95) throws {
        guard (channels == 1 || channels == 3), width > 0, height > 0, pixels.count == width * height * channels else {
            throw DataError(file: path, "writeJPEG: \(pixels.count) bytes do not make a \(width)×\(height)×\(channels) image")
        }
        var message = [CChar](repeating: 0, count: 256)
        guard vsc_jpeg_write(path, pixels, Int32(width), Int32(height), Int32(channels), Int32(quality), &message, message.count) == 0 else {
            throw DataError(file: path, "cannot write JPEG: \(String(cString: message))")
        }
    }

    /// The central square of the image (side min(width, height)), resized to `size` × `size` by
    /// averaging the source pixels each output pixel covers (nearest pixel when enlarging).
    public static func centreCropResize(_ pixels: [UInt8], width: Int, height: Int, channels: Int, size: Int) -> [Float] {
        let side = min(width, height)
        let x0 = (width - side) / 2, y0 = (height - side) / 2
        var out = [Float](repeating: 0, count: size * size * channels)
        for oy in 0..<size {
            let sy0 = oy * side / size, sy1 = max(sy0 + 1, (oy + 1) * side / size)
            for ox in 0..<size {
                let sx0 = ox * side / size, sx1 = max(sx0 + 1, (ox + 1) * side / size)
                let n = Float((sy1 - sy0) * (sx1 - sx0)) * 255
                for c in 0..<channels {
                    var s = 0
                    for y in sy0..<sy1 { for x in sx0..<sx1 { s += Int(pixels[((y0 + y) * width + x0 + x) * channels + c]) } }
                    out[(oy * size + ox) * channels + c] = Float(s) / n
                }
            }
        }
        return out
    }
}
