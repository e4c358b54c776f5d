import Foundation
import Data

/// A checkpoint in the safetensors layout, so `safetensors.torch.load_file` (or JAX, or numpy via
/// `safetensors.numpy`) opens our weights directly:
///
///     [8 bytes: header length N, little-endian u64]
///     [N bytes: JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, …,
///                     "__metadata__": {"key": "value", …}}  (padded with spaces to 8-byte alignment)]
///     [data area: every tensor's raw little-endian bytes, back to back]
///
/// Offsets are relative to the data area. vsc stores parameters under their graph names, the Adam
/// moments as "adam.m.<p>" / "adam.v.<p>", the Adam step as the scalar "adam.t", and the rest of
/// the training state (spec YAML, iteration, data-order RNG, model kind, format version) as
/// metadata strings.
public struct Checkpoint: Equatable {
    /// One stored tensor (always Float32 in memory).
    public struct Entry: Equatable {
        public var shape: [Int]
        public var values: [Float]
        public init(shape: [Int], values: [Float]) { self.shape = shape; self.values = values }
    }

    public var tensors: [String: Entry]
    public var metadata: [String: String]

    public init(tensors: [String: Entry] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors; self.metadata = metadata
    }

    /// The tensors `expected` names, checked the one way `vsc eval` and `--resume` share: each
    /// present, of the declared shape (not just the element count: a transposed tensor is
    /// refused), every value finite. Errors start with `context` (the file, and what was being
    /// done with it) and name the tensor and the first bad index.
    public func validated(_ expected: [(name: String, shape: [Int])], context: String) throws -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for (name, shape) in expected where out[name] == nil {
            guard let e = tensors[name] else { throw CheckpointError("\(context): tensor \"\(name)\" is missing") }
            guard e.shape == shape else {
                throw CheckpointError("\(context): tensor \"\(name)\" has shape \(e.shape), the model's is \(shape)")
            }
            if let i = e.values.firstIndex(where: { !$0.isFinite }) {
                throw CheckpointError("\(context): tensor \"\(name)\" holds \(e.values[i]) at index \(i) (of \(e.values.count)); every stored value must be finite")
            }
            out[name] = e.values
        }
        return out
    }

    /// The format version written into `__metadata__["format_version"]`.
    public static let formatVersion = "1"
    /// Largest header accepted (the safetensors project's limit).
    public static let maxHeaderSize = 100_000_000

    /// Byte sizes of the dtypes the safetensors format knows. Only F32 is loaded into tensors;
    /// the others are recognised so that the error says "unsupported" rather than "unknown".
    public static let knownDTypes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
        "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8,
    ]

    // MARK: Encoding

    /// The file's bytes: header and data area, tensors ordered by name.
    public func encoded() throws -> [UInt8] {
        let names = tensors.keys.sorted()
        var header: [String: Any] = [:]
        var offset = 0
        for name in names {
            let t = tensors[name]!
            guard t.shape.allSatisfy({ $0 >= 0 }), t.shape.reduce(1, *) == t.values.count else {
                throw CheckpointError("tensor \"\(name)\": shape \(t.shape) does not hold \(t.values.count) values")
            }
            let bytes = t.values.count * 4
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad with spaces so the data area starts 8-byte aligned (as the safetensors writer does).
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + offset)
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        for name in names {
            for v in tensors[name]!.values {
                var bits = v.bitPattern.littleEndian
                withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
            }
        }
        return out
    }

    /// Writes the checkpoint atomically: a temporary file in the same directory is written and
    /// fsynced, renamed over `path`, then the directory is fsynced. If anything fails, `path` is
    /// untouched (the old checkpoint stays intact) and the temporary file is removed.
    public func write(to path: String) throws {
        try Checkpoint.atomicWrite(try encoded(), to: path, failAfterBytes: nil)
    }

    /// `failAfterBytes` simulates a write failure (a full disk) after that many bytes; tests use it.
    static func atomicWrite(_ bytes: [UInt8], to path: String, failAfterBytes: Int?) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointError("\(path): cannot create temporary file \(tmp): \(errnoText())") }
        var ok = false
        defer { if !ok { close(fd); unlink(tmp) } }
        var written = 0
        let limit = failAfterBytes ?? Int.max
        try bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let chunk = min(raw.count - written, 1 << 20, max(limit - written, 0))
                if chunk == 0 { throw CheckpointError("\(path): write failed after \(written) bytes: simulated failure") }
                let r = Foundation.write(fd, raw.baseAddress! + written, chunk)
                if r < 0 {
                    if errno == EINTR { continue }
                    throw CheckpointError("\(path): write failed after \(written) bytes: \(errnoText())")
                }
                written += r
            }
        }
        guard fsync(fd) == 0 else { throw CheckpointError("\(path): fsync failed: \(errnoText())") }
        guard close(fd) == 0 else { ok = true; unlink(tmp); throw CheckpointError("\(path): close failed: \(errnoText())") }
        ok = true
        guard rename(tmp, path) == 0 else {
            let e = errnoText(); unlink(tmp)
            throw CheckpointError("\(path): cannot rename \(tmp) over it: \(e)")
        }
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
        removeStaleTemporaries(of: path)
    }

    /// Deletes the temporary files earlier writes of `path` left when they were killed (kill -9
    /// between create and rename). Called after a successful write, when the file they would
    /// have become is already replaced; one writer per run folder (`RunFolderLock`) keeps a
    /// live write's temporary out of reach.
    static func removeStaleTemporaries(of path: String) {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let prefix = "." + url.lastPathComponent + ".tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir) else { return }
        for n in names where n.hasPrefix(prefix) { unlink(dir + "/" + n) }
    }

    // MARK: Decoding

    /// Reads and validates a checkpoint file. Every error names the file and what is wrong.
    public static func load(path: String) throws -> Checkpoint {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError("\(path): no such file") }
        // The data layer's reader: regular files only, bounded size.
        let bytes: [UInt8]
        do { bytes = try readFileBytes(path) } catch let e as DataError { throw CheckpointError(e.description) }
        return try decode(bytes, file: path)
    }

    /// Validates and decodes checkpoint bytes the way the safetensors project does: header length
    /// within the file, UTF-8 JSON object, known dtypes, integer shapes and offsets, shape × dtype
    /// size equal to the offsets' span, offsets inside the data area, no overlaps, no gaps, the
    /// data area fully covered, metadata a map of strings.
    public static func decode(_ bytes: [UInt8], file: String = "checkpoint") throws -> Checkpoint {
        func fail(_ msg: String) -> CheckpointError { CheckpointError("\(file): not a valid checkpoint: \(msg)") }
        guard bytes.count >= 8 else {
            throw fail("the file is \(bytes.count) bytes long, shorter than the 8-byte header length (truncated?)")
        }
        var n64: UInt64 = 0
        for i in 0..<8 { n64 |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n64 <= UInt64(maxHeaderSize) else {
            throw fail("header length \(n64) exceeds the limit of \(maxHeaderSize) bytes (garbled or not a safetensors file)")
        }
        let n = Int(n64)
        guard 8 + n <= bytes.count else {
            throw fail("header length \(n) runs past the end of the file (\(bytes.count) bytes; truncated?)")
        }
        let headerBytes = bytes[8..<(8 + n)]
        guard String(bytes: headerBytes, encoding: .utf8) != nil else { throw fail("the header is not UTF-8 text") }
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw fail("the header does not start with '{' (garbled or not a safetensors file)")
        }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(headerBytes), options: []) }
        catch { throw fail("the header is not valid JSON (\(jsonErrorText(error)))") }
        guard let header = json as? [String: Any] else { throw fail("the header is not a JSON object") }
        // JSONSerialization keeps one of two equal keys silently; safetensors refuses them.
        if let (key, offset) = firstDuplicateKey(headerBytes) {
            throw fail("the header has the key \"\(key)\" twice in one object (second at header byte \(offset))")
        }

        var metadata: [String: String] = [:]
        if let m = header["__metadata__"] {
            guard let dict = m as? [String: Any] else { throw fail("\"__metadata__\" is not an object of strings") }
            for (k, v) in dict {
                guard let s = v as? String else { throw fail("\"__metadata__\" entry \"\(k)\" is not a string") }
                metadata[k] = s
            }
        }

        struct Info { var name: String; var dtype: String; var shape: [Int]; var begin: Int; var end: Int }
        var infos: [Info] = []
        for (name, value) in header where name != "__metadata__" {
            guard let t = value as? [String: Any] else { throw fail("tensor \"\(name)\": entry is not an object") }
            for key in t.keys where !["dtype", "shape", "data_offsets"].contains(key) {
                throw fail("tensor \"\(name)\": unknown field \"\(key)\"")
            }
            guard let dtype = t["dtype"] as? String else { throw fail("tensor \"\(name)\": missing or non-string \"dtype\"") }
            guard knownDTypes[dtype] != nil else {
                throw fail("tensor \"\(name)\": unknown dtype \"\(dtype)\" (known: \(knownDTypes.keys.sorted().joined(separator: ", ")))")
            }
            guard let shapeAny = t["shape"] as? [Any] else { throw fail("tensor \"\(name)\": missing or non-array \"shape\"") }
            var shape: [Int] = []
            for s in shapeAny {
                guard let d = nonNegativeInt(s) else { throw fail("tensor \"\(name)\": shape \(shapeAny) has an entry that is not a non-negative integer") }
                shape.append(d)
            }
            guard let offAny = t["data_offsets"] as? [Any], offAny.count == 2,
                  let b = nonNegativeInt(offAny[0]), let e = nonNegativeInt(offAny[1]) else {
                throw fail("tensor \"\(name)\": \"data_offsets\" is not a pair of non-negative integers")
            }
            guard e >= b else { throw fail("tensor \"\(name)\": data_offsets [\(b), \(e)] end before they begin") }
            infos.append(Info(name: name, dtype: dtype, shape: shape, begin: b, end: e))
        }

        let dataStart = 8 + n
        let dataSize = bytes.count - dataStart
        infos.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var cursor = 0
        for t in infos {
            var count = 1
            for d in t.shape {
                let (p, o) = count.multipliedReportingOverflow(by: d)
                guard !o else { throw fail("tensor \"\(t.name)\": shape \(t.shape) overflows") }
                count = p
            }
            let (size, o) = count.multipliedReportingOverflow(by: knownDTypes[t.dtype]!)
            guard !o else { throw fail("tensor \"\(t.name)\": shape \(t.shape) overflows") }
            guard t.end <= dataSize else {
                throw fail("tensor \"\(t.name)\": data_offsets [\(t.begin), \(t.end)] lie outside the data area of \(dataSize) bytes (truncated?)")
            }
            if t.begin < cursor {
                throw fail("tensor \"\(t.name)\": data_offsets [\(t.begin), \(t.end)] overlap the previous tensor's bytes (which end at \(cursor))")
            }
            if t.begin > cursor {
                throw fail("tensor \"\(t.name)\": data_offsets [\(t.begin), \(t.end)] leave a gap after byte \(cursor)")
            }
            guard t.end - t.begin == size else {
                throw fail("tensor \"\(t.name)\": shape \(t.shape) of \(t.dtype) needs \(size) bytes, data_offsets [\(t.begin), \(t.end)] span \(t.end - t.begin)")
            }
            cursor = t.end
        }
        guard cursor == dataSize else {
            throw fail("the tensors cover \(cursor) bytes of the \(dataSize)-byte data area (trailing bytes)")
        }

        var tensors: [String: Entry] = [:]
        for t in infos {
            guard t.dtype == "F32" else {
                throw fail("tensor \"\(t.name)\": dtype \(t.dtype) is not supported (vsc stores F32)")
            }
            let count = (t.end - t.begin) / 4
            var values = [Float](repeating: 0, count: count)
            let base = dataStart + t.begin
            for i in 0..<count {
                let p = base + 4 * i
                let bits = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
                values[i] = Float(bitPattern: bits)
            }
            tensors[t.name] = Entry(shape: t.shape, values: values)
        }
        return Checkpoint(tensors: tensors, metadata: metadata)
    }

    static func nonNegativeInt(_ v: Any) -> Int? {
        guard let num = v as? NSNumber else { return nil }
        // Reject booleans and non-integral numbers.
        if String(describing: type(of: v)).contains("Boolean") { return nil }
        let d = num.doubleValue
        guard d >= 0, d == d.rounded(), d < 9.007199254740992e15 else { return nil }
        return num.intValue
    }
}

/// A checkpoint that cannot be read or written; the message names the file and the problem.
public struct CheckpointError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "error: " + message }
}

func errnoText() -> String { String(cString: strerror(errno)) }

private func jsonErrorText(_ e: Error) -> String {
    let ns = e as NSError
    if let d = ns.userInfo[NSDebugDescriptionErrorKey] as? String { return d }
    return ns.localizedDescription
}

/// The first key that occurs twice in one JSON object of `json` (already known to be valid JSON),
/// with the byte offset of its second occurrence; keys compare after unescaping.
func firstDuplicateKey(_ json: ArraySlice<UInt8>) -> (String, Int)? {
    let bytes = Array(json)
    var objects: [Set<String>?] = []   // one entry per open container; nil for arrays
    var i = 0
    while i < bytes.count {
        switch bytes[i] {
        case UInt8(ascii: "{"): objects.append([]); i += 1
        case UInt8(ascii: "["): objects.append(nil); i += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = objects.popLast(); i += 1
        case UInt8(ascii: "\""):
            let start = i
            i += 1
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
            i += 1
            var j = i
            while j < bytes.count, [9, 10, 13, 32].contains(bytes[j]) { j += 1 }
            guard j < bytes.count, bytes[j] == UInt8(ascii: ":"), let top = objects.last, var keys = top else { continue }
            let literal = Data(bytes[start..<min(i, bytes.count)])
            let key = (try? JSONSerialization.jsonObject(with: Data("[".utf8) + literal + Data("]".utf8)) as? [String])?.first
                ?? String(decoding: literal, as: UTF8.self)
            if keys.contains(key) { return (key, start) }
            keys.insert(key)
            objects[objects.count - 1] = keys
        default: i += 1
        }
    }
    return nil
}
