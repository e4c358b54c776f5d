import Foundation
import Testing
@testable import Eval
import Data
import Models
import Runtime
import SeededRandom

/// The linear probe (issue 17) recovers linearly separable classes and finds nothing in labels
/// that have nothing to do with the codes.
@Suite struct LinearProbeTests {
    /// `n` codes of `d` ≥ `classes` dims: class k is a Gaussian blob around 4·e_k (margin ≫ noise).
    func blobs(_ n: Int, classes: Int, d: Int, seed: UInt64) -> (Matrix, [Int]) {
        var rng = Xoshiro256(seed: seed, stream: 1)
        var x = Matrix(rows: n, columns: d), labels: [Int] = []
        for i in 0..<n {
            let k = i % classes
            labels.append(k)
            for j in 0..<d { x[i, j] = Float((j == k ? 4.0 : 0.0) + 0.3 * rng.nextNormal()) }
        }
        return (x, labels)
    }

    @Test func separableCodesAreClassifiedAlmostPerfectly() {
        let (train, yTrain) = blobs(600, classes: 5, d: 6, seed: 1)
        let (test, yTest) = blobs(300, classes: 5, d: 6, seed: 2)
        let r = linearProbe(train: train, trainLabels: yTrain, test: test, testLabels: yTest, classNames: [], features: "mu")
        #expect(r.accuracy > 0.99)
        #expect(r.perClassAccuracy.count == 5 && r.perClassAccuracy.allSatisfy { ($0 ?? 0) > 0.97 })
        #expect(r.classNames == (0..<5).map { "class \($0)" } && abs(r.majorityBaseline - 0.2) < 1e-9)
    }

    @Test func shuffledLabelsScoreChance() {
        let (train, yTrain) = blobs(2000, classes: 10, d: 10, seed: 3)
        let (test, yTest) = blobs(2000, classes: 10, d: 10, seed: 4)
        let shuffledTrain = Dataset.shuffledIndices(count: yTrain.count, seed: 5).map { yTrain[$0] }
        let shuffledTest = Dataset.shuffledIndices(count: yTest.count, seed: 6).map { yTest[$0] }
        let r = linearProbe(train: train, trainLabels: shuffledTrain, test: test, testLabels: shuffledTest, classNames: [], features: "mu")
        #expect(abs(r.accuracy - 0.1) < 0.03, "accuracy \(r.accuracy)")
    }

    /// `evaluate` with a probe training set writes linear_probe into report.json; without labels it
    /// is an error naming the set.
    @Test func evaluateWritesTheProbeIntoTheReport() throws {
        let spec = try parseSpec(yaml: "name: p\nkind: vae\ndata: fashion-mnist\ninput_dim: 8\nhidden: [6]\nlatent: 3\nbatch_size: 4\n")
        let model = try makeModel(spec)
        let trained = try TrainedModel(spec: spec, parameters: model.initialParameters(seed: 1))
        func set(_ n: Int, seed: UInt64) -> Dataset {
            let (x, y) = blobs(n, classes: 2, d: 8, seed: seed)
            return Dataset(name: "blobs", count: n, dim: 8, x: x.values, labels: y, classNames: ["a", "b"])
        }
        let dir = NSTemporaryDirectory() + "vsc-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var o = EvalOptions(outDir: dir, batchSize: 4, figures: false, backendName: "interp")
        o.probeTrain = set(40, seed: 7)
        let r = try evaluate(trained, test: set(20, seed: 8), backend: { InterpreterProgram($0) }, options: o)
        let p = try #require(r.linearProbe)
        #expect(p.classNames == ["a", "b"] && p.trainExamples == 40 && p.testExamples == 20 && p.perClassAccuracy.count == 2)
        let json = try String(contentsOfFile: dir + "/report.json", encoding: .utf8)
        #expect(json.contains("\"linear_probe\"") && json.contains("\"per_class_accuracy\""))
        var unlabelled = set(40, seed: 7); unlabelled.labels = nil; unlabelled.name = "nolabels"
        o.probeTrain = unlabelled
        #expect { _ = try evaluate(trained, test: set(20, seed: 8), backend: { InterpreterProgram($0) }, options: o) } throws: { "\($0)".contains("nolabels") }
    }
}
