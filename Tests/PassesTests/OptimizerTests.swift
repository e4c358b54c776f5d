import Testing
import IR
import Passes
import Runtime

/// Least squares on a tiny problem: loss = mean((x·w + b − y)²), x [4,3], w [3,1], b [1], y [4,1];
/// plus a parameter "unused" the loss does not depend on.
func leastSquares() throws -> Graph {
    let g = Graph(name: "least_squares")
    let x = try g.input("x", [4, 3]), y = try g.input("y", [4, 1])
    let w = try g.parameter("w", [3, 1]), b = try g.parameter("b", [1])
    _ = try g.parameter("unused", [2])
    let r = try x.matmul(w).binary(.add, b).binary(.sub, y)
    try g.output("loss", r.square().mean())
    try g.output("residual", r)
    return g
}

/// The hand-computed gradient of `leastSquares`: dw = (2/N)·xᵀr, db = (2/N)·Σr.
func leastSquaresGradient(x: [Double], y: [Double], w: [Double], b: Double) -> (dw: [Double], db: Double) {
    let n = 4
    var r = [Double](repeating: 0, count: n)
    for i in 0..<n { r[i] = (0..<3).map { x[i * 3 + $0] * w[$0] }.reduce(0, +) + b - y[i] }
    let dw = (0..<3).map { j in (0..<n).map { 2 * x[$0 * 3 + j] * r[$0] }.reduce(0, +) / Double(n) }
    return (dw, r.map { 2 * $0 }.reduce(0, +) / Double(n))
}

/// Plain Swift Adam on one flat parameter vector.
struct HandAdam {
    var m: [Double], v: [Double]
    let beta1 = 0.9, beta2 = 0.999, eps = 1e-8
    init(count: Int) { m = .init(repeating: 0, count: count); v = .init(repeating: 0, count: count) }
    mutating func step(_ p: inout [Double], grad: [Double], lr: Double, t: Int) {
        for i in p.indices {
            m[i] = beta1 * m[i] + (1 - beta1) * grad[i]
            v[i] = beta2 * v[i] + (1 - beta2) * grad[i] * grad[i]
            let mHat = m[i] / (1 - Double.pow(beta1, Double(t)))
            let vHat = v[i] / (1 - Double.pow(beta2, Double(t)))
            p[i] -= lr * mHat / (vHat.squareRoot() + eps)
        }
    }
}

@Suite struct OptimizerTests {
    @Test func adamStepNamingContract() throws {
        let g = try leastSquares()
        let countBefore = g.count
        let step = try buildTrainStep(g, loss: "loss", optimizer: .adam())
        #expect(g.count == countBefore, "the caller's graph must not change")
        #expect(g.outputs.map(\.name) == ["loss", "residual"])
        #expect(step.outputs.map(\.name) == ["loss", "residual",
                                             "new.w", "new.adam.m.w", "new.adam.v.w",
                                             "new.b", "new.adam.m.b", "new.adam.v.b"])
        #expect(Set(step.inputs.map(\.name)) == ["x", "y", "lr", "adam.t", "adam.m.w", "adam.v.w", "adam.m.b", "adam.v.b"])
        #expect(step[step.leaf(named: "lr")!].shape == [])
        #expect(step[step.leaf(named: "adam.t")!].shape == [])
        #expect(step[step.leaf(named: "adam.m.w")!].shape == [3, 1])
        #expect(step[step.output("new.adam.v.b")!].shape == [1])
        // Round-trips through the text format like any graph.
        let text = IRPrinter.print(step)
        #expect(IRPrinter.print(try IRParser.parse(text)) == text)
    }

    @Test func sgdStepNamingContract() throws {
        let step = try buildTrainStep(try leastSquares(), loss: "loss", optimizer: .sgd)
        #expect(step.outputs.map(\.name) == ["loss", "residual", "new.w", "new.b"])
        #expect(Set(step.inputs.map(\.name)) == ["x", "y", "lr"])
    }

    @Test func unknownLossThrows() throws {
        #expect(throws: IRError.self) { try buildTrainStep(try leastSquares(), loss: "nope", optimizer: .sgd) }
    }

    /// Three Adam steps of the graph (Interpreter<Double>) against Adam written in Swift.
    @Test func adamMatchesHandWrittenAdam() throws {
        let step = try buildTrainStep(try leastSquares(), loss: "loss", optimizer: .adam())
        let x = seeded(12, seed: 3), y = seeded(4, seed: 4)
        var w = seeded(3, seed: 5), b = [0.25]
        var feeds: [String: [Double]] = [
            "x": x, "y": y, "w": w, "b": b, "unused": [0, 0], "lr": [0.05],
            "adam.m.w": [0, 0, 0], "adam.v.w": [0, 0, 0], "adam.m.b": [0], "adam.v.b": [0],
        ]
        var adamW = HandAdam(count: 3), adamB = HandAdam(count: 1)
        let interp = Interpreter<Double>(step)
        for t in 1...3 {
            feeds["adam.t"] = [Double(t)]
            let out = try interp.run(feeds)
            let (dw, db) = leastSquaresGradient(x: x, y: y, w: w, b: b[0])
            adamW.step(&w, grad: dw, lr: 0.05, t: t)
            adamB.step(&b, grad: [db], lr: 0.05, t: t)
            for (k, v) in zip(w, out["new.w"]!) { #expect(Swift.abs(k - v) < 1e-12, "step \(t): w \(w) vs \(out["new.w"]!)") }
            #expect(Swift.abs(b[0] - out["new.b"]![0]) < 1e-12)
            for (k, v) in zip(adamW.m + adamW.v, out["new.adam.m.w"]! + out["new.adam.v.w"]!) { #expect(Swift.abs(k - v) < 1e-12) }
            // Carry the outputs into the leaves, as Program.carryOutputs(prefix: "new.") does.
            for o in step.outputs where o.name.hasPrefix("new.") { feeds[String(o.name.dropFirst(4))] = out[o.name]! }
            #expect(feeds["w"]! == out["new.w"]!)
        }
    }

    /// SGD on a quadratic through the runtime's Program interface (Float32, carried outputs):
    /// the loss decreases every step.
    @Test func sgdDecreasesAQuadratic() throws {
        let g = Graph(name: "quadratic")
        let w = try g.parameter("w", [5])
        let target = try g.constant([1, -2, 3, 0.5, -1], shape: [5])
        try g.output("loss", w.binary(.sub, target).square().sum())
        let step = try buildTrainStep(g, loss: "loss", optimizer: .sgd)
        let program = InterpreterProgram(step)
        program.carryOutputs(prefix: "new.")
        #expect(program.carries.map(\.leaf) == ["w"])
        try program.set("lr", scalar: 0.1)
        var losses: [Float] = []
        for _ in 0..<10 {
            try program.run()
            losses.append(program.values("loss")![0])
        }
        for (a, b) in zip(losses, losses.dropFirst()) { #expect(b < a, "loss went \(a) → \(b): \(losses)") }
        // Each SGD step on Σ(w−c)² with lr 0.1 scales the error by 0.8.
        #expect(Swift.abs(losses[1] / losses[0] - 0.64) < 1e-5)
        #expect(losses.last! < 0.02 * losses.first!)  // 0.64⁹ ≈ 0.018
    }

    /// Adam through the Program interface with carried moments, in Float32.
    @Test func adamThroughProgramCarries() throws {
        let g = Graph(name: "quadratic")
        let w = try g.parameter("w", [3])
        try g.output("loss", w.binary(.sub, 2).square().sum())
        let step = try buildTrainStep(g, loss: "loss", optimizer: .adam())
        let program = InterpreterProgram(step)
        program.carryOutputs(prefix: "new.")
        #expect(Set(program.carries.map(\.leaf)) == ["w", "adam.m.w", "adam.v.w"])
        try program.set("lr", scalar: 0.1)
        var hand = HandAdam(count: 3), wHand = [0.0, 0.0, 0.0]
        for t in 1...5 {
            try program.set("adam.t", scalar: Float(t))
            try program.run()
            hand.step(&wHand, grad: wHand.map { 2 * ($0 - 2) }, lr: 0.1, t: t)
        }
        for (a, b) in zip(program.values("w")!, wHand) { #expect(Swift.abs(Double(a) - b) < 1e-5) }
    }

    /// Global-norm clipping: the step outputs ‖g‖₂ before clipping, and SGD moves by
    /// lr·g·min(1, clip/‖g‖₂): unchanged below the bound, scaled onto it above.
    @Test(arguments: [0.01, 1e6])
    func clippingScalesTheGradientOntoTheBound(clip: Double) throws {
        let step = try buildTrainStep(try leastSquares(), loss: "loss", optimizer: .sgd, clipNorm: clip)
        let x: [Double] = [1, 2, 3, 0, 1, -1, 2, 0, 1, -2, 1, 0.5], y: [Double] = [1, -1, 2, 0]
        let w: [Double] = [0.3, -0.2, 0.1], b = 0.05, lr = 0.1
        let out = try Interpreter<Double>(step).run(["x": x, "y": y, "w": w, "b": [b], "unused": [0, 0], "lr": [lr]])
        let (dw, db) = leastSquaresGradient(x: x, y: y, w: w, b: b)
        let norm = (dw.map { $0 * $0 }.reduce(0, +) + db * db).squareRoot()
        #expect(Swift.abs(out["grad_norm"]![0] - norm) < 1e-12 * norm)
        let scale = min(1, clip / norm)
        for j in 0..<3 { #expect(Swift.abs(out["new.w"]![j] - (w[j] - lr * scale * dw[j])) < 1e-12) }
        #expect(Swift.abs(out["new.b"]![0] - (b - lr * scale * db)) < 1e-12)
        #expect(throws: IRError.self) { try buildTrainStep(try leastSquares(), loss: "loss", optimizer: .sgd, clipNorm: 0) }
    }
}
