import Foundation
import Models
import Testing
@testable import Train

@Suite struct MetricsLogTests {
    @Test func readsColumnsAndTheLossTermsInOrder() throws {
        let text = """
            {"iteration": 10, "time": 0.5, "loss": 3.0, "recon": 2.0, "kl": 1.0, "lambda": 1.0, "c": 50.0, "lr": 0.001, "it_per_s": 20.0}
            {"iteration": 20, "time": 1.0, "loss": 2.0, "recon": 1.5, "kl": null, "lambda": 1.0, "c": 51.0, "lr": 0.001, "it_per_s": 21.0, "grad_norm": 4.0}
            """
        let log = try MetricsLog(text: text, path: "m.jsonl")
        #expect(log.iterations == [10, 20])
        #expect(log.lossTerms == ["loss", "recon", "kl"])
        #expect(log.fields == ["time", "loss", "recon", "kl", "lambda", "c", "lr", "it_per_s", "grad_norm"])
        #expect(log.values["kl"]! == [1.0, nil])
        #expect(log.values["grad_norm"]! == [nil, 4.0])
    }

    /// A test evaluation's line (only test_* fields) is not a training step: `vsc plot`'s count of
    /// logged iterations reads `trainingIterations`.
    @Test func testEvaluationLinesAreNotTrainingIterations() throws {
        let text = """
            {"iteration": 10, "time": 0.5, "loss": 3.0, "recon": 2.0, "lambda": 1.0}
            {"iteration": 10, "timestamp": 1.0, "time": 0.6, "test_elbo": -4.0}
            {"iteration": 20, "time": 1.0, "loss": 2.0, "recon": 1.5, "lambda": 1.0}
            """
        let log = try MetricsLog(text: text, path: "m.jsonl")
        #expect(log.iterations == [10, 10, 20])
        #expect(log.trainingIterations == [10, 20])
    }

    @Test func badLinesAndMissingFilesAreNamed() {
        #expect(throws: TrainError.self) { try MetricsLog(text: "{\"iteration\": 1}\nnot json", path: "m.jsonl") }
        do { _ = try MetricsLog(text: "{\"iteration\": 1}\nnot json", path: "m.jsonl") } catch { #expect("\(error)".contains("m.jsonl:2")) }
        do { _ = try MetricsLog.read(path: "/nonexistent/metrics.jsonl") } catch { #expect("\(error)".contains("/nonexistent/metrics.jsonl")) }
    }

    @Test func readsWhatTheWriterWrites() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("metricslog-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let w = try MetricsWriter(path: dir + "/metrics.jsonl")
        let r = StepRecord(iteration: 5, loss: 1.5, recon: 1, kl: 0.5, sparsity: 0.25, elbo: -1.5, lambda: 1, c: 50, learningRate: 1e-3)
        try w.log(r, time: 0.1, itPerSec: 10, extra: [("active_dims", 3)])
        try w.log(r, time: 0.2, itPerSec: 10, extra: [("active_dims", 4)])
        let log = try MetricsLog.read(path: dir + "/metrics.jsonl")
        #expect(log.iterations == [5, 5])
        #expect(log.lossTerms == LossTerm.standard.map(\.name))
        #expect(log.values["active_dims"]! == [3, 4] && log.values["elbo"]! == [-1.5, -1.5])
    }
}
