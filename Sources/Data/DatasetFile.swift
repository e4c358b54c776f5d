// The binary data set file written by `vsc data smiley --out FILE` (and usable for any `Dataset`).
//
// Layout, all integers little-endian:
//
//   offset  size  field
//   0       8     magic  89 56 53 43 44 0D 0A 1A  ("\x89VSCD\r\n\x1A", PNG-style: catches text-mode
//                 transfers and truncation to 7 bits)
//   8       4     version (1)
//   12      4     pixel encoding: 0 = Float32 values, 1 = binary pixels bit-packed (MSB first,
//                 each example padded to a whole byte)
//   16      8     count (examples)
//   24      4     dim (features per example)
//   28      4     image height (0 = not an image)
//   32      4     image width  (0 = not an image)
//   36      4     presence flags per example (0 = none; Smiley: 4)
//   40      4     sources per example (0 = none; Smiley: 18)
//   44      4     1 if labels follow, else 0
//   48      4     name length in bytes (≤ 4096)
//   52      12    reserved, zero
//   64      …     name (UTF-8), then x, then labels (Int32 each), presence (1 byte each, 0/1),
//                 sources (Float32 each)
//
// The file must be exactly as long as the header says; anything else is an error naming the file
// and the offset.

/// Reading and writing `Dataset` files (see the layout above in DatasetFile.swift).
public enum DatasetFile {
    /// The 8-byte magic number at the start of every file.
    public static let magic: [UInt8] = [0x89, 0x56, 0x53, 0x43, 0x44, 0x0D, 0x0A, 0x1A]
    /// The format version this code writes and reads.
    public static let version: UInt32 = 1
    static let headerSize = 64

    /// Serialises `data`. Pixels are bit-packed when every value of `x` is exactly 0 or 1.
    public static func encode(_ data: Dataset) -> [UInt8] {
        let binary = data.x.allSatisfy { $0 == 0 || $0 == 1 }
        let name = Array(data.name.utf8.prefix(4096))
        var out: [UInt8] = magic
        out.appendLE(version)
        out.appendLE(UInt32(binary ? 1 : 0))
        out.appendLE(UInt64(data.count))
        out.appendLE(UInt32(data.dim))
        out.appendLE(UInt32(data.imageShape?.h ?? 0))
        out.appendLE(UInt32(data.imageShape?.w ?? 0))
        out.appendLE(UInt32(data.presencePerExample))
        out.appendLE(UInt32(data.sourcesPerExample))
        out.appendLE(UInt32(data.labels == nil ? 0 : 1))
        out.appendLE(UInt32(name.count))
        out.append(contentsOf: [UInt8](repeating: 0, count: 12))
        out.append(contentsOf: name)
        if binary {
            let bytesPer = (data.dim + 7) / 8
            for i in 0..<data.count {
                var packed = [UInt8](repeating: 0, count: bytesPer)
                for j in 0..<data.dim where data.x[i * data.dim + j] == 1 { packed[j >> 3] |= 0x80 >> UInt8(j & 7) }
                out.append(contentsOf: packed)
            }
        } else {
            for v in data.x { out.appendLE(v.bitPattern) }
        }
        if let labels = data.labels { for l in labels { out.appendLE(UInt32(bitPattern: Int32(truncatingIfNeeded: l))) } }
        if data.presencePerExample > 0, let p = data.presence { for b in p { out.append(b ? 1 : 0) } }
        if data.sourcesPerExample > 0, let s = data.sources { for v in s { out.appendLE(v.bitPattern) } }
        return out
    }

    /// Writes `data` to `path`.
    public static func write(_ data: Dataset, to path: String) throws {
        try writeFileBytes(path, encode(data))
    }

    /// Whether the file at `path` starts with the data set magic number.
    public static func looksLikeDatasetFile(_ path: String) -> Bool {
        guard let bytes = try? readFileBytes(path), bytes.count >= magic.count else { return false }
        return Array(bytes[0..<magic.count]) == magic
    }

    /// Reads a data set file, validating every header field and the exact length.
    /// - Throws: `DataError` naming `path` and the byte offset of the first problem.
    public static func read(_ path: String) throws -> Dataset {
        try decode(readFileBytes(path), file: path)
    }

    /// Parses the bytes of a data set file (`file` is used in error messages).
    public static func decode(_ bytes: [UInt8], file: String) throws -> Dataset {
        var r = ByteReader(bytes, file: file)
        if bytes.count < magic.count || Array(bytes[0..<magic.count]) != magic {
            let got = bytes.prefix(8).map { String($0, radix: 16) }.joined(separator: " ")
            throw DataError(file: file, offset: 0,
                            "wrong magic number: not a vsc data set file (expected 89 56 53 43 44 0d 0a 1a, found \(got.isEmpty ? "an empty file" : got))")
        }
        r.offset = magic.count
        let version = try r.u32LE("header")
        guard version == DatasetFile.version else {
            throw DataError(file: file, offset: 8, "unsupported version \(version) (this build reads version \(DatasetFile.version))")
        }
        let encoding = try r.u32LE("header")
        guard encoding <= 1 else { throw DataError(file: file, offset: 12, "unknown pixel encoding \(encoding) (expected 0 or 1)") }
        let count64 = try r.u64LE("header")
        let dim = Int(try r.u32LE("header"))
        let h = Int(try r.u32LE("header")), w = Int(try r.u32LE("header"))
        let nPresence = Int(try r.u32LE("header")), nSources = Int(try r.u32LE("header"))
        let hasLabels = try r.u32LE("header")
        let nameLength = Int(try r.u32LE("header"))
        _ = try r.take(12, "header")
        let limit = UInt64(1) << 40
        guard count64 < limit else { throw DataError(file: file, offset: 16, "implausible example count \(count64)") }
        let count = Int(count64)
        // Every example takes at least one byte, so a count beyond the file size is corrupt (this
        // also keeps the size arithmetic below far from overflow).
        guard count <= bytes.count else {
            throw DataError(file: file, offset: 16, "example count \(count) exceeds the file size (\(bytes.count) bytes)")
        }
        guard dim > 0, dim < 1 << 24 else { throw DataError(file: file, offset: 24, "implausible dimension \(dim)") }
        let (hw, hwOverflow) = h.multipliedReportingOverflow(by: w)
        guard (h == 0 && w == 0) || (!hwOverflow && hw == dim) else {
            throw DataError(file: file, offset: 28, "image shape \(h)×\(w) does not match dimension \(dim)")
        }
        guard nPresence < 1 << 16 else { throw DataError(file: file, offset: 36, "implausible presence count \(nPresence)") }
        guard nSources < 1 << 16 else { throw DataError(file: file, offset: 40, "implausible source count \(nSources)") }
        guard hasLabels <= 1 else { throw DataError(file: file, offset: 44, "labels flag must be 0 or 1, found \(hasLabels)") }
        guard nameLength <= 4096 else { throw DataError(file: file, offset: 48, "name length \(nameLength) exceeds 4096") }

        // The exact file length the header implies.
        let xBytes = encoding == 1 ? count * ((dim + 7) / 8) : count * dim * 4
        let expected = headerSize + nameLength + xBytes + (hasLabels == 1 ? count * 4 : 0)
            + count * nPresence + count * nSources * 4
        if bytes.count < expected {
            // Name the section in which the data end.
            var sections: [(String, Int)] = [("name", nameLength), ("pixel data", xBytes)]
            if hasLabels == 1 { sections.append(("labels", count * 4)) }
            sections += [("presence flags", count * nPresence), ("source values", count * nSources * 4)]
            var start = headerSize
            for (what, size) in sections {
                if bytes.count < start + size {
                    throw DataError(file: file, offset: bytes.count,
                                    "file truncated in the \(what) (section starts at byte \(start), needs \(size) bytes); header implies \(expected) bytes, file has \(bytes.count)")
                }
                start += size
            }
        }
        if bytes.count > expected {
            throw DataError(file: file, offset: expected,
                            "\(bytes.count - expected) unexpected bytes after the end of the data (header implies \(expected) bytes)")
        }

        let nameBytes = Array(try r.take(nameLength, "name"))
        let name = String(decoding: nameBytes, as: UTF8.self)
        guard Array(name.utf8) == nameBytes else {
            throw DataError(file: file, offset: headerSize, "name is not valid UTF-8")
        }
        var x = [Float](repeating: 0, count: count * dim)
        if encoding == 1 {
            let bytesPer = (dim + 7) / 8
            let base = r.offset
            for i in 0..<count {
                let row = base + i * bytesPer
                for j in 0..<dim where bytes[row + (j >> 3)] & (0x80 >> UInt8(j & 7)) != 0 { x[i * dim + j] = 1 }
            }
            r.offset += xBytes
        } else {
            for k in 0..<count * dim {
                let o = r.offset + 4 * k
                let bits = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
                let v = Float(bitPattern: bits)
                guard v.isFinite else { throw DataError(file: file, offset: o, "non-finite pixel value \(v)") }
                x[k] = v
            }
            r.offset += xBytes
        }
        var labels: [Int]? = nil
        if hasLabels == 1 {
            var l = [Int](repeating: 0, count: count)
            for i in 0..<count {
                let o = r.offset
                let v = Int32(bitPattern: try r.u32LE("labels"))
                guard v >= 0 else { throw DataError(file: file, offset: o, "negative label \(v)") }
                l[i] = Int(v)
            }
            labels = l
        }
        var presence: [Bool]? = nil
        if nPresence > 0 {
            var p = [Bool](repeating: false, count: count * nPresence)
            for k in 0..<p.count {
                let b = bytes[r.offset + k]
                guard b <= 1 else { throw DataError(file: file, offset: r.offset + k, "presence flag must be 0 or 1, found \(b)") }
                p[k] = b == 1
            }
            r.offset += p.count
            presence = p
        }
        var sources: [Float]? = nil
        if nSources > 0 {
            var s = [Float](repeating: 0, count: count * nSources)
            for k in 0..<s.count {
                let o = r.offset
                let v = Float(bitPattern: try r.u32LE("sources"))
                guard v.isFinite else { throw DataError(file: file, offset: o, "non-finite source value \(v)") }
                s[k] = v
            }
            sources = s
        }
        return Dataset(name: name, count: count, dim: dim, x: x, labels: labels, sources: sources,
                       presence: presence, imageShape: h > 0 ? (h, w) : nil)
    }
}
