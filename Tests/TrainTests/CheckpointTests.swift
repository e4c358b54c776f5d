import Foundation
import Testing
@testable import Train

/// A fresh empty directory for one test.
func scratchDir(_ tag: String) -> String {
    let d = NSTemporaryDirectory() + "vsc-train-tests-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

func sampleCheckpoint() -> Checkpoint {
    Checkpoint(tensors: [
        "w1": .init(shape: [2, 3], values: [1, -2, 3.5, .nan, -0.0, .infinity]),
        "b1": .init(shape: [3], values: [0.1, 0.2, 0.3]),
        "adam.t": .init(shape: [], values: [7]),
        "empty": .init(shape: [0, 4], values: []),
    ], metadata: ["spec": "name: x\nlatent: 3\n", "iteration": "42", "data_rng": "1,2,3,4"])
}

/// A header/data layout written by hand, for the corrupt-file tests.
func rawFile(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    var n = (declaredLength ?? UInt64(h.count)).littleEndian
    var out = withUnsafeBytes(of: &n) { Array($0) }
    out += h
    out += data
    return out
}

func expectRefused(_ bytes: [UInt8], _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try Checkpoint.decode(bytes, file: "bad.safetensors")
        Issue.record("accepted a corrupt checkpoint", sourceLocation: sourceLocation)
    } catch let e as CheckpointError {
        #expect(e.description.contains("bad.safetensors"), "\(e)", sourceLocation: sourceLocation)
        for f in fragments {
            #expect(e.description.contains(f), "\(e) should mention \(f)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("unexpected error type \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct CheckpointTests {
    @Test func roundTripThroughAFile() throws {
        let dir = scratchDir("roundtrip")
        let path = dir + "/ck.safetensors"
        let ck = sampleCheckpoint()
        try ck.write(to: path)
        let back = try Checkpoint.load(path: path)
        #expect(back.metadata == ck.metadata)
        #expect(Set(back.tensors.keys) == Set(ck.tensors.keys))
        for (name, t) in ck.tensors {
            #expect(back.tensors[name]!.shape == t.shape)
            // Bit for bit (NaN and -0 included).
            #expect(back.tensors[name]!.values.map(\.bitPattern) == t.values.map(\.bitPattern), "\(name)")
        }
        // No temporary files left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["ck.safetensors"])
    }

    @Test func layoutIsSafetensors() throws {
        let bytes = try sampleCheckpoint().encoded()
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        #expect((8 + n) % 8 == 0, "data area 8-byte aligned")
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as! [String: Any]
        let w1 = header["w1"] as! [String: Any]
        #expect(w1["dtype"] as? String == "F32")
        #expect(w1["shape"] as? [Int] == [2, 3])
        let offs = w1["data_offsets"] as! [Int]
        #expect(offs[1] - offs[0] == 24)
        let meta = header["__metadata__"] as! [String: String]
        #expect(meta["iteration"] == "42")
        // Values are little-endian F32 at data_offsets.
        let p = 8 + n + offs[0]
        let bits = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
        #expect(Float(bitPattern: bits) == 1)
        #expect(bytes.count == 8 + n + (6 + 3 + 1 + 0) * 4)
    }

    @Test func missingFileIsAnError() {
        #expect(throws: CheckpointError.self) { try Checkpoint.load(path: "/nonexistent/dir/ck.safetensors") }
        do { _ = try Checkpoint.load(path: "/nonexistent/dir/ck.safetensors") } catch {
            #expect("\(error)".contains("/nonexistent/dir/ck.safetensors"))
            #expect("\(error)".contains("no such file"))
        }
    }

    @Test func truncatedFilesAreRefused() throws {
        let bytes = try sampleCheckpoint().encoded()
        expectRefused([], ["shorter than the 8-byte header length"])
        expectRefused(Array(bytes.prefix(5)), ["shorter than the 8-byte header length"])
        expectRefused(Array(bytes.prefix(40)), ["runs past the end of the file", "truncated"])
        expectRefused(Array(bytes.dropLast(3)), ["outside the data area", "truncated"])
        // Every truncation is refused, none crashes.
        for k in stride(from: 0, to: bytes.count, by: 7) {
            #expect(throws: CheckpointError.self) { try Checkpoint.decode(Array(bytes.prefix(k)), file: "t") }
        }
    }

    @Test func garbledHeadersAreRefused() throws {
        expectRefused(rawFile(header: "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]", data: [0, 0, 0, 0]),
                      ["not valid JSON"])
        expectRefused(rawFile(header: "[1, 2]", data: []), ["does not start with '{'"])
        expectRefused(rawFile(header: "{\"w\": 3}", data: []), ["tensor \"w\"", "not an object"])
        var bytes = try sampleCheckpoint().encoded()
        bytes[12] = 0xFF  // not UTF-8 inside the header
        expectRefused(bytes, ["not UTF-8"])
        // Random garbage anywhere in the header: refused (or, if it happens to stay valid, decoded), never a crash.
        var rng = SystemRandomNumberGenerator()
        let good = try sampleCheckpoint().encoded()
        for _ in 0..<300 {
            var b = good
            let i = Int.random(in: 0..<min(b.count, 300), using: &rng)
            b[i] = UInt8.random(in: 0...255, using: &rng)
            _ = try? Checkpoint.decode(b, file: "fuzz")
        }
    }

    /// Two equal keys in one object (tensors, metadata entries, or one written with an escape)
    /// are refused; equal keys in different objects are fine.
    @Test func duplicateHeaderKeysAreRefused() throws {
        let d = [UInt8](repeating: 0, count: 4)
        expectRefused(rawFile(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, data: d),
                      ["key \"a\" twice"])
        expectRefused(rawFile(header: #"{"__metadata__": {"iteration": "1", "iteration": "2"}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, data: d),
                      ["key \"iteration\" twice"])
        expectRefused(rawFile(header: #"{"a": {"dtype": "F32", "dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, data: d),
                      ["key \"dtype\" twice"])
        expectRefused(rawFile(header: #"{"ab": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a\u0062": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, data: d),
                      ["key \"ab\" twice"])
        let ok = try Checkpoint.decode(rawFile(header: #"{"__metadata__": {"dtype": "x"}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, data: d))
        #expect(ok.tensors["a"]?.shape == [1] && ok.metadata["dtype"] == "x")
    }

    @Test func headerLengthPastEndOfFile() {
        expectRefused(rawFile(header: "{}", data: [], declaredLength: 1000), ["header length 1000", "past the end of the file"])
        expectRefused(rawFile(header: "{}", data: [], declaredLength: UInt64.max), ["exceeds the limit"])
    }

    @Test func offsetsOutOfRangeOverlappingOrGappy() {
        let d = [UInt8](repeating: 0, count: 8)
        expectRefused(rawFile(header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}"#, data: d),
                      ["tensor \"b\"", "outside the data area of 8 bytes"])
        expectRefused(rawFile(header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, data: d),
                      ["overlap"])
        expectRefused(rawFile(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, data: d),
                      ["tensor \"a\"", "gap"])
        expectRefused(rawFile(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, data: d),
                      ["cover 4 bytes of the 8-byte data area"])
        expectRefused(rawFile(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}"#, data: d),
                      ["end before they begin"])
        expectRefused(rawFile(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, -4]}}"#, data: d),
                      ["not a pair of non-negative integers"])
        expectRefused(rawFile(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}"#, data: d),
                      ["not a pair of non-negative integers"])
    }

    @Test func unknownDTypeAndShapeMismatch() {
        let d = [UInt8](repeating: 0, count: 8)
        expectRefused(rawFile(header: #"{"a": {"dtype": "F33", "shape": [2], "data_offsets": [0, 8]}}"#, data: d),
                      ["tensor \"a\"", "unknown dtype \"F33\""])
        expectRefused(rawFile(header: #"{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#, data: d),
                      ["tensor \"a\"", "needs 12 bytes", "span 8"])
        expectRefused(rawFile(header: #"{"a": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}}"#, data: d),
                      ["shape"])
        expectRefused(rawFile(header: #"{"a": {"dtype": "F32", "shape": [4000000000000, 4000000000000], "data_offsets": [0, 8]}}"#, data: d),
                      ["overflows"])
        // A known dtype vsc does not load: clear, not "unknown".
        expectRefused(rawFile(header: #"{"a": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}"#, data: d),
                      ["dtype F64 is not supported"])
        expectRefused(rawFile(header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "extra": 1}}"#, data: d),
                      ["unknown field \"extra\""])
    }

    @Test func metadataMustBeStrings() {
        expectRefused(rawFile(header: #"{"__metadata__": {"iteration": 3}}"#, data: []), ["\"iteration\" is not a string"])
        expectRefused(rawFile(header: #"{"__metadata__": [1]}"#, data: []), ["__metadata__"])
    }

    @Test func failedWriteLeavesTheOldCheckpointIntact() throws {
        let dir = scratchDir("atomic")
        let path = dir + "/checkpoint.safetensors"
        let old = sampleCheckpoint()
        try old.write(to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        var new = old
        new.metadata["iteration"] = "43"
        new.tensors["w1"]!.values = [9, 9, 9, 9, 9, 9]
        let bytes = try new.encoded()
        #expect(throws: CheckpointError.self) {
            try Checkpoint.atomicWrite(bytes, to: path, failAfterBytes: bytes.count / 2)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try Checkpoint.load(path: path).metadata["iteration"] == "42")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["checkpoint.safetensors"], "temp file removed")
        // A write into a missing directory fails cleanly too.
        #expect(throws: CheckpointError.self) { try new.write(to: dir + "/missing/checkpoint.safetensors") }
        // And a successful write replaces it.
        try new.write(to: path)
        #expect(try Checkpoint.load(path: path).metadata["iteration"] == "43")
    }
}

@Suite struct DataOrderTests {
    @Test func restoredOrderContinuesIdentically() throws {
        var a = DataOrder(count: 37, seed: 5)
        var seen: [Int] = []
        for _ in 0..<5 { seen += a.next(10) }
        // Each epoch is a permutation.
        #expect(Set(seen.prefix(37)) == Set(0..<37))
        let saved = (a.epochStart.text, a.epoch, a.position)
        var b = try DataOrder(count: 37, epochStart: OrderRNG(text: saved.0)!, epoch: saved.1, position: saved.2)
        #expect(a == b)
        for _ in 0..<20 { #expect(a.next(10) == b.next(10)) }
    }
}
