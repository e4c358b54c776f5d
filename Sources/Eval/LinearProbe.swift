// The linear probe: how much of a labelled set's classes a linear read-out of the codes recovers.
// A multinomial logistic regression is fitted on the training split's codes and scored on the test
// split's (the PyTorch reproduction reports 79.7 % for VSC, J = 200, α = 0.01, and 74.8 % for a
// VAE, J = 64, on Fashion-MNIST).

import Foundation

/// What the probe found; report.json's `linear_probe`.
public struct LinearProbeReport: Codable, Equatable {
    /// What was regressed on (the code), as `ModelKindFacts.posteriorMean` names it.
    public var features: String
    public var trainExamples: Int
    public var testExamples: Int
    /// Test accuracy over all examples, and per class (nil for a class with no test example).
    public var accuracy: Double
    public var perClassAccuracy: [Double?]
    public var classNames: [String]
    /// The accuracy of always answering the test set's most frequent class.
    public var majorityBaseline: Double
    /// Training accuracy (a large gap to the test accuracy: over-fitting).
    public var trainAccuracy: Double
    public var iterations: Int
    public var l2: Double
}

/// A fitted multinomial logistic regression on standardised features.
public struct LinearProbe {
    public var classes: Int
    public var features: Int
    /// Standardisation fitted on the training codes (constant features only centred).
    public var mean: [Double], scale: [Double]
    /// classes × features weights and classes biases.
    public var weights: [Double], bias: [Double]

    /// Fits softmax regression by full-batch gradient descent with Nesterov momentum on the
    /// standardised features, with an L2 penalty `l2` on the weights (the loss is convex: the
    /// result does not depend on a seed).
    public static func fit(_ x: Matrix, labels: [Int], classes: Int, iterations: Int = 300, l2: Double = 1e-4,
                           learningRate: Double = 0.5) -> LinearProbe {
        precondition(labels.count == x.rows && classes > 0)
        let n = x.rows, d = x.columns
        var mean = [Double](repeating: 0, count: d), scale = [Double](repeating: 1, count: d)
        for j in 0..<d {
            var s = 0.0, q = 0.0
            for i in 0..<n { let v = Double(x[i, j]); s += v; q += v * v }
            let m = n > 0 ? s / Double(n) : 0
            let sd = n > 0 ? max(0, q / Double(n) - m * m).squareRoot() : 0
            mean[j] = m; scale[j] = sd > 1e-8 ? 1 / sd : 1
        }
        var z = [Double](repeating: 0, count: n * d)
        for i in 0..<n { for j in 0..<d { z[i * d + j] = (Double(x[i, j]) - mean[j]) * scale[j] } }
        var p = LinearProbe(classes: classes, features: d, mean: mean, scale: scale,
                            weights: [Double](repeating: 0, count: classes * d), bias: [Double](repeating: 0, count: classes))
        var vw = p.weights, vb = p.bias
        let momentum = 0.9
        var probs = [Double](repeating: 0, count: classes)
        for _ in 0..<iterations {
            // Gradient at the look-ahead point (Nesterov).
            let w = zip(p.weights, vw).map { $0 + momentum * $1 }, b = zip(p.bias, vb).map { $0 + momentum * $1 }
            var gw = [Double](repeating: 0, count: classes * d), gb = [Double](repeating: 0, count: classes)
            z.withUnsafeBufferPointer { zb in
                for i in 0..<n {
                    let row = zb.baseAddress! + i * d
                    softmax(w, b, row, d, classes, &probs)
                    for k in 0..<classes {
                        let g = probs[k] - (labels[i] == k ? 1 : 0)
                        if g == 0 { continue }
                        gb[k] += g
                        for j in 0..<d { gw[k * d + j] += g * row[j] }
                    }
                }
            }
            let inv = 1 / Double(max(n, 1))
            for k in 0..<(classes * d) { vw[k] = momentum * vw[k] - learningRate * (gw[k] * inv + l2 * w[k]); p.weights[k] += vw[k] }
            for k in 0..<classes { vb[k] = momentum * vb[k] - learningRate * gb[k] * inv; p.bias[k] += vb[k] }
        }
        return p
    }

    /// The most probable class of each row of `x`.
    public func predict(_ x: Matrix) -> [Int] {
        precondition(x.columns == features)
        var row = [Double](repeating: 0, count: features), probs = [Double](repeating: 0, count: classes)
        return (0..<x.rows).map { i in
            for j in 0..<features { row[j] = (Double(x[i, j]) - mean[j]) * scale[j] }
            row.withUnsafeBufferPointer { softmax(weights, bias, $0.baseAddress!, features, classes, &probs) }
            return probs.indices.max { probs[$0] < probs[$1] } ?? 0
        }
    }
}

/// Softmax of W·row + b into `out` (max-shifted).
private func softmax(_ w: [Double], _ b: [Double], _ row: UnsafePointer<Double>, _ d: Int, _ classes: Int, _ out: inout [Double]) {
    var top = -Double.infinity
    for k in 0..<classes {
        var s = b[k]
        for j in 0..<d { s += w[k * d + j] * row[j] }
        out[k] = s; top = max(top, s)
    }
    var total = 0.0
    for k in 0..<classes { out[k] = exp(out[k] - top); total += out[k] }
    for k in 0..<classes { out[k] /= total }
}

/// Fits the probe on `train` codes and scores it on `test` codes.
public func linearProbe(train: Matrix, trainLabels: [Int], test: Matrix, testLabels: [Int], classNames: [String],
                        features: String, iterations: Int = 300, l2: Double = 1e-4) -> LinearProbeReport {
    let classes = max(classNames.count, (trainLabels.max() ?? -1) + 1, (testLabels.max() ?? -1) + 1)
    let probe = LinearProbe.fit(train, labels: trainLabels, classes: classes, iterations: iterations, l2: l2)
    func accuracy(_ predicted: [Int], _ truth: [Int]) -> Double {
        truth.isEmpty ? 0 : Double(zip(predicted, truth).filter { $0 == $1 }.count) / Double(truth.count)
    }
    let predicted = probe.predict(test)
    var right = [Int](repeating: 0, count: classes), seen = [Int](repeating: 0, count: classes)
    for (p, t) in zip(predicted, testLabels) { seen[t] += 1; if p == t { right[t] += 1 } }
    let names = (0..<classes).map { $0 < classNames.count ? classNames[$0] : "class \($0)" }
    return LinearProbeReport(features: features, trainExamples: train.rows, testExamples: test.rows,
                             accuracy: accuracy(predicted, testLabels),
                             perClassAccuracy: (0..<classes).map { seen[$0] > 0 ? Double(right[$0]) / Double(seen[$0]) : nil },
                             classNames: names,
                             majorityBaseline: testLabels.isEmpty ? 0 : Double(seen.max() ?? 0) / Double(testLabels.count),
                             trainAccuracy: accuracy(probe.predict(train), trainLabels), iterations: iterations, l2: l2)
}
