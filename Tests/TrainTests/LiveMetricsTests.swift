import Foundation
import Models
import Testing
import TestSupport
@testable import Train

// Live metrics: test evaluations during training, cumulative time across resumes, and the
// TensorBoard event file (checked by TensorBoard's own reader when bench/.venv has it).

let repoDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
/// bench/.venv's Python, if `bench/setup.sh` has made it with the `tensorboard` package.
let venvPython: String? = {
    let py = repoDir.appendingPathComponent("bench/.venv/bin/python").path
    guard FileManager.default.isExecutableFile(atPath: py) else { return nil }
    return (try? runProcess(py, ["-c", "import tensorboard"]).status) == 0 ? py : nil
}()

@Test func crc32cMatchesTheStandardCheckValue() {
    #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    #expect(CRC32C.checksum([]) == 0)
}

/// The records parse back: lengths and both masked CRCs hold for every record.
@Test func eventFileRecordsAreFramedAndChecksummed() throws {
    let dir = scratchDir("events-framing")
    let w = try EventFileWriter(folder: dir, wallTime: 1000)
    try w.scalars([("a/x", 1.5), ("a/y", -2)], step: 7, wallTime: 1001)
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: w.path)))
    var at = 0, records = 0
    func u32(_ i: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[i + $1]) << (8 * $1) } }
    while at < bytes.count {
        let n = Int((0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * $1) })
        #expect(u32(at + 8) == CRC32C.masked(Array(bytes[at..<(at + 8)])))
        #expect(u32(at + 12 + n) == CRC32C.masked(Array(bytes[(at + 12)..<(at + 12 + n)])))
        at += 16 + n; records += 1
    }
    #expect(at == bytes.count && records == 2)
}

/// A tiny run with an evaluation hook: test lines in metrics.jsonl, time that keeps counting
/// across a resume, and an event file whose scalars TensorBoard reads back equal.
@Test func aTinyRunLogsTestMetricsAndTensorBoardScalars() throws {
    let spec = try parseSpec(yaml: tinyVSCYAML)
    let model = try makeModel(spec)
    let data = syntheticData(count: 120)
    let dir = scratchDir("live-metrics")
    var evaluated: [Int] = []
    func options(_ resume: Bool, iterations: Int) -> TrainOptions {
        quiet(dir) {
            $0.resume = resume
            $0.iterations = iterations
            $0.evalEvery = 5
            $0.evaluate = { params, it in
                evaluated.append(it)
                return [("elbo", Double(it) * 0.5), ("weights", Double(params["enc.h0.w"]!.reduce(0, +)))]
            }
        }
    }
    _ = try Trainer(model: model, data: data, backend: interp, options: options(false, iterations: 10)).run()
    let first = try Checkpoint.load(path: dir + "/checkpoint.safetensors")
    let secondsAfterFirst = try #require(first.metadata["train_seconds"].flatMap(Double.init))
    _ = try Trainer(model: model, data: data, backend: interp, options: options(true, iterations: 20)).run()
    #expect(evaluated == [5, 10, 15, 20])

    let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
        try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
    let tests = lines.filter { $0["test_elbo"] != nil }
    #expect(tests.map { ($0["iteration"] as! NSNumber).intValue } == [5, 10, 15, 20])
    #expect(tests.map { ($0["test_elbo"] as! NSNumber).doubleValue } == [2.5, 5, 7.5, 10])
    // Absolute timestamps, and time summed over both runs (the resumed run starts past the first's).
    let now = Date().timeIntervalSince1970
    #expect(lines.allSatisfy { (($0["timestamp"] as? NSNumber)?.doubleValue ?? 0) > now - 600 })
    let resumedTimes = lines.filter { ($0["iteration"] as! NSNumber).intValue > 10 }.map { ($0["time"] as! NSNumber).doubleValue }
    #expect(!resumedTimes.isEmpty && resumedTimes.allSatisfy { $0 >= secondsAfterFirst })

    // TensorBoard's reader: every train scalar and test scalar, at its step, equal (as float32).
    guard let py = venvPython else {
        print("skipped: bench/.venv has no tensorboard package (bash bench/setup.sh installs it); the event file was not read back")
        return
    }
    let script = """
        import sys
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0}); acc.Reload()
        for tag in sorted(acc.Tags()["scalars"]):
            for e in acc.Scalars(tag): print(tag, e.step, repr(e.value))
        """
    let r = try runProcess(py, ["-c", script, dir])
    #expect(r.status == 0, "\(r.err)")
    var read: [String: [Int: Double]] = [:]
    for line in r.out.split(separator: "\n") {
        let f = line.split(separator: " ")
        read[String(f[0]), default: [:]][Int(f[1])!] = Double(f[2])!
    }
    for l in lines {
        let it = (l["iteration"] as! NSNumber).intValue
        for (key, value) in l {
            guard let v = (value as? NSNumber)?.doubleValue else { continue }
            let tag: String
            if key.hasPrefix("test_") { tag = "test/" + key.dropFirst(5) }
            else if ["loss", "recon", "kl", "sparsity", "elbo"].contains(key) { tag = "train/" + key }
            else if ["lambda", "c", "lr"].contains(key) { tag = "schedule/" + key }
            else { continue }
            #expect(read[tag]?[it] == Double(Float(v)), "\(tag) at step \(it): TensorBoard read \(String(describing: read[tag]?[it])), metrics.jsonl has \(v)")
        }
    }
    #expect(read["test/elbo"]?.keys.sorted() == [5, 10, 15, 20])
}
