import Foundation
import Testing
@testable import vsc

/// `vsc train` with test evaluations: test_* lines (Smiley's scores among them) in metrics.jsonl
/// at every --eval-every and at the end, and an event file beside them.
@Test func trainEvaluatesTheTestSetWhileTraining() throws {
    let dir = scratch("train-eval")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spec = repoRoot.appendingPathComponent("Samples/vsc-smiley-tiny.yaml").path
    try vsc(["train", "--spec", spec, "--out", dir, "--iterations", "25", "--eval-every", "10", "--quiet"])
    let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
        try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
    let tests = lines.filter { $0["test_elbo"] != nil }
    #expect(tests.map { ($0["iteration"] as! NSNumber).intValue } == [10, 20, 25])
    for key in ["test_elbo", "test_recon", "test_kl", "test_active_dims", "test_active_per_example",
                "test_disentanglement_best", "test_disentanglement_gap", "test_presence_recovery"] {
        #expect(tests.allSatisfy { ($0[key] as? NSNumber)?.doubleValue.isFinite == true }, "\(key)")
    }
    let files = try FileManager.default.contentsOfDirectory(atPath: dir)
    #expect(files.contains { $0.hasPrefix("events.out.tfevents.") })
    #expect(throws: (any Error).self) { try VSC.parseAsRoot(["train", "--spec", spec, "--eval-every", "0"]) }
}
