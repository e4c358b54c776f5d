import Foundation
import Testing
import IR
import Passes
import Runtime

// Every op's vector-Jacobian product against central finite differences in Float64
// (Runtime.gradCheck: worst relative error < 1e-6). Evaluation points avoid kinks and ties.

/// Seeded uniform numbers in (0, 1), mapped through `f`.
func seeded(_ n: Int, seed: UInt64, _ f: (Double) -> Double = { 2 * $0 - 1 }) -> [Double] {
    let base = CounterRNG.base(seed: seed, key: 0)
    return (0..<n).map { f(CounterRNG.uniform(base: base, UInt32($0))) }
}
/// Uniform in [lo, hi].
func range(_ lo: Double, _ hi: Double) -> (Double) -> Double { { lo + (hi - lo) * $0 } }
/// Magnitude in [lo, hi] with a random sign (away from 0: for kinks at 0).
func awayFromZero(_ lo: Double, _ hi: Double) -> (Double) -> Double {
    { u in u < 0.5 ? -(lo + (hi - lo) * 2 * u) : lo + (hi - lo) * (2 * u - 1) }
}

/// Feeds for every leaf of `g`: `domains[name]` or uniform(−1, 1), seeded by leaf position.
func feeds(_ g: Graph, _ domains: [String: (Double) -> Double] = [:], seed: UInt64 = 42) -> [String: [Double]] {
    var f: [String: [Double]] = [:]
    for (k, leaf) in (g.parameters + g.inputs).enumerated() {
        f[leaf.name] = seeded(g[leaf.node].elementCount, seed: seed &+ UInt64(k) &* 7919, domains[leaf.name] ?? range(-1, 1))
    }
    return f
}

/// `sum(y * w)` with `w` a random input of y's shape, so every gradient component differs.
func weightedSum(_ y: Tensor) throws -> Tensor {
    let w = try y.graph.input("w", y.shape)
    return try y.binary(.mul, w).sum()
}

/// Runs gradCheck and expects the worst relative error below 1e-6 for every parameter.
@discardableResult
func expectGradientsMatch(_ g: Graph, _ domains: [String: (Double) -> Double] = [:],
                          sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> GradCheckReport {
    let r = try gradCheck(graph: g, loss: "loss", feeds: feeds(g, domains), seed: 1)
    #expect(!r.parameters.isEmpty, "no parameter was checked", sourceLocation: sourceLocation)
    for e in r.parameters {
        #expect(e.worstRelativeError < 1e-6, "\(g.name): \(e.name) worst relative error \(e.worstRelativeError)\n\(r)",
                sourceLocation: sourceLocation)
    }
    return r
}

/// Operand shapes: equal, right operand broadcast, left operand broadcast, both broadcast.
let binaryShapes: [(Shape, Shape)] = [([3, 4], [3, 4]), ([3, 4], [4]), ([4], [3, 4]), ([2, 1, 4], [3, 1])]
/// Every axis set of a rank-3 tensor (the empty set included).
let axisSets: [[Int]] = [[], [0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]]

@Suite struct AutodiffOps {
    @Test(arguments: UnaryOp.allCases)
    func unary(_ u: UnaryOp) throws {
        let g = Graph(name: "unary_\(u.rawValue)")
        let x = try g.parameter("x", [3, 4])
        try g.output("loss", weightedSum(x.unary(u)))
        let domain: (Double) -> Double
        switch u {
        case .log, .sqrt: domain = range(0.5, 2)
        case .log1p: domain = range(-0.5, 2)
        case .relu, .abs, .step: domain = awayFromZero(0.2, 2)
        default: domain = range(-2, 2)
        }
        try expectGradientsMatch(g, ["x": domain])
    }

    @Test(arguments: BinaryOp.allCases, 0..<4)
    func binary(_ op: BinaryOp, _ shapes: Int) throws {
        let (sa, sb) = binaryShapes[shapes]
        let g = Graph(name: "binary_\(op.rawValue)_\(shapes)")
        let a = try g.parameter("a", sa), b = try g.parameter("b", sb)
        try g.output("loss", weightedSum(a.binary(op, b)))
        var domains: [String: (Double) -> Double] = ["a": range(-2, 2), "b": range(-2, 2)]
        switch op {
        case .div: domains["b"] = awayFromZero(0.5, 2)
        case .pow: domains["a"] = range(0.5, 2)
        default: break
        }
        try expectGradientsMatch(g, domains)
    }

    @Test(arguments: [false, true], [false, true])
    func matmul(_ transA: Bool, _ transB: Bool) throws {
        let (m, k, n) = (3, 4, 5)
        let g = Graph(name: "matmul")
        let a = try g.parameter("a", transA ? [k, m] : [m, k])
        let b = try g.parameter("b", transB ? [n, k] : [k, n])
        let c = try a.matmul(b, transposeA: transA, transposeB: transB)
        #expect(c.shape == [m, n])
        try g.output("loss", weightedSum(c))
        try expectGradientsMatch(g)
        // The VJPs are matmuls with transpose flags: no explicit transposes.
        #expect(!g.nodes.contains { if case .transpose = $0.op { return true }; return false })
    }

    @Test(arguments: ReduceOp.allCases, axisSets)
    func reduction(_ r: ReduceOp, _ axes: [Int]) throws {
        let g = Graph(name: "reduce_\(r.rawValue)")
        let x = try g.parameter("x", [2, 3, 4])
        let y = try g.add(.reduce(r, axes: axes), inputs: [x.id])
        try g.output("loss", weightedSum(Tensor(g, y)))
        try expectGradientsMatch(g, ["x": range(-2, 2)])
    }

    @Test func reshapeTransposeSliceConcat() throws {
        let g = Graph(name: "shape_ops")
        let x = try g.parameter("x", [2, 3, 4])
        let p = try g.parameter("p", [3, 4, 2])
        let q = try g.parameter("q", [3, 5])
        let r = try x.reshape([6, 4])                                          // reshape
        let t = try p.transpose([2, 0, 1])                                     // transpose → [2,3,4]
        let s = try t.slice(start: [0, 1, 1], end: [2, 3, 3])                  // slice → [2,2,2]
        let c0 = try g.concat([r, try s.reshape([2, 4])], axis: 0)             // concat axis 0 → [8,4]
        let c1 = try g.concat([q.slice(start: [0, 1], end: [3, 4]), x.reshape([3, 8])], axis: 1) // → [3,11]
        let loss = try weightedSum(c0).binary(.add, c1.binary(.mul, g.input("w2", [3, 11])).sum())
        try g.output("loss", loss)
        try expectGradientsMatch(g)
    }

    @Test func reshapeAlone() throws {
        let g = Graph(name: "reshape")
        let x = try g.parameter("x", [2, 6])
        try g.output("loss", weightedSum(x.reshape([3, 2, 2])))
        try expectGradientsMatch(g)
    }

    @Test func transposeAlone() throws {
        let g = Graph(name: "transpose")
        let x = try g.parameter("x", [2, 3, 4])
        try g.output("loss", weightedSum(x.transpose([1, 2, 0])))
        try expectGradientsMatch(g)
    }

    @Test func sliceAlone() throws {
        let g = Graph(name: "slice")
        let x = try g.parameter("x", [4, 5, 3])
        try g.output("loss", weightedSum(x.slice(start: [1, 0, 2], end: [3, 4, 3])))
        try expectGradientsMatch(g)
    }

    @Test func concatAlone() throws {
        let g = Graph(name: "concat")
        let a = try g.parameter("a", [2, 3]), b = try g.parameter("b", [2, 1]), c = try g.parameter("c", [2, 4])
        try g.output("loss", weightedSum(g.concat([a, b, c], axis: 1)))
        try expectGradientsMatch(g)
    }

    @Test func broadcastAlone() throws {
        let g = Graph(name: "broadcast")
        let x = try g.parameter("x", [3, 1])
        try g.output("loss", weightedSum(x.broadcast(to: [2, 3, 4])))
        try expectGradientsMatch(g)
    }

    @Test func select() throws {
        let g = Graph(name: "select")
        let a = try g.parameter("a", [3, 4]), b = try g.parameter("b", [4])
        let c = try g.input("c", [3, 4]).compare(.gt, 0)
        try g.output("loss", weightedSum(g.select(c, a, b)))
        try expectGradientsMatch(g)
    }

    /// A condition computed from a parameter gets no gradient, and is no error.
    @Test func selectConditionFromParameter() throws {
        let g = Graph(name: "select_abs")
        let x = try g.parameter("x", [5])
        try g.output("loss", weightedSum(g.select(x.compare(.gt, 0), x, x.neg())))
        try expectGradientsMatch(g, ["x": awayFromZero(0.2, 2)])
    }
}

@Suite struct AutodiffSemantics {
    /// x is used by five nodes; its gradient is the sum of all contributions.
    @Test func accumulation() throws {
        let g = Graph(name: "accumulate")
        let x = try g.parameter("x", [4])
        let y = try x.binary(.mul, x).binary(.add, x.exp().binary(.mul, x)).binary(.add, x).binary(.sub, x.square())
        try g.output("loss", weightedSum(y))
        try expectGradientsMatch(g)

        // Closed form for a scalar: d/dx (x·x + eˣx + x − x²) = eˣ(1 + x) + 1.
        let h = Graph(name: "accumulate_scalar")
        let s = try h.parameter("s", [])
        let z = try s.binary(.mul, s).binary(.add, s.exp().binary(.mul, s)).binary(.add, s).binary(.sub, s.square())
        try h.output("loss", z)
        let gs = try grad(of: z.id, wrt: [s.id], in: h)
        h.setOutput("ds", gs[0])
        let v = 0.7
        let out = try Interpreter<Double>(h).run(["s": [v]])
        #expect(Swift.abs(out["ds"]![0] - (Double.exp(v) * (1 + v) + 1)) < 1e-12)
    }

    @Test func maxMinTiesGoToFirstOperand() throws {
        let g = Graph(name: "ties")
        let a = try g.parameter("a", [3]), b = try g.parameter("b", [3])
        let loss = try a.maximum(b).sum().binary(.add, a.minimum(b).binary(.mul, 10).sum())
        try g.output("loss", loss)
        let d = try grad(of: loss.id, wrt: [a.id, b.id], in: g)
        g.setOutput("da", d[0]); g.setOutput("db", d[1])
        let out = try Interpreter<Double>(g).run(["a": [1, 2, 3], "b": [1, 5, 0]])
        // Element 0 ties: max and min both route to a. Element 1: max→b, min→a. Element 2: max→a, min→b.
        #expect(out["da"] == [11, 10, 1])
        #expect(out["db"] == [0, 1, 10])
    }

    @Test func reduceMaxSplitsTiesEvenly() throws {
        let g = Graph(name: "max_ties")
        let x = try g.parameter("x", [2, 4])
        let loss = try x.max(axes: [1]).binary(.mul, g.constant([1, 2], shape: [2])).sum()
        try g.output("loss", loss)
        let d = try grad(of: loss.id, wrt: [x.id], in: g)
        g.setOutput("dx", d[0])
        let out = try Interpreter<Double>(g).run(["x": [1, 3, 3, 2, 5, 5, 5, 5]])
        #expect(out["dx"] == [0, 0.5, 0.5, 0, 0.5, 0.5, 0.5, 0.5])
    }

    @Test func reluAbsStepAtZero() throws {
        let g = Graph(name: "kinks")
        let x = try g.parameter("x", [3])
        let loss = try x.relu().binary(.add, x.abs().binary(.mul, 10)).binary(.add, x.step().binary(.mul, 100)).sum()
        try g.output("loss", loss)
        let d = try grad(of: loss.id, wrt: [x.id], in: g)
        g.setOutput("dx", d[0])
        let out = try Interpreter<Double>(g).run(["x": [-1, 0, 2]])
        #expect(out["dx"] == [-10, 0, 11])
    }

    @Test func powWithRespectToExponentAtZeroBase() throws {
        let g = Graph(name: "pow0")
        let x = try g.parameter("x", [2]), y = try g.parameter("y", [2])
        let loss = try x.pow(y).sum()
        try g.output("loss", loss)
        let d = try grad(of: loss.id, wrt: [x.id, y.id], in: g)
        g.setOutput("dx", d[0]); g.setOutput("dy", d[1])
        let out = try Interpreter<Double>(g).run(["x": [0, 2], "y": [2, 3]])
        #expect(out["dx"] == [0, 12])
        #expect(out["dy"]![0] == 0)
        #expect(Swift.abs(out["dy"]![1] - 8 * 0.6931471805599453) < 1e-12)
    }

    @Test func unrelatedParameterGetsZeros() throws {
        let g = Graph(name: "unrelated")
        let x = try g.parameter("x", [2]), u = try g.parameter("u", [3])
        let loss = try x.square().sum()
        try g.output("loss", loss)
        let d = try grad(of: loss.id, wrt: [x.id, u.id], in: g)
        #expect(g[d[1]].op == .constant(.splat(0)))
        #expect(g[d[1]].shape == [3])
    }

    @Test func gradIsInPlaceAndAppendOnly() throws {
        let g = Graph(name: "inplace")
        let x = try g.parameter("x", [2])
        let loss = try x.square().sum()
        try g.output("loss", loss)
        let before = g.nodes
        let d = try grad(of: loss.id, wrt: [x.id], in: g)
        #expect(Array(g.nodes.prefix(before.count)) == before)
        #expect(d[0] >= before.count)
        #expect(g.outputs.map(\.name) == ["loss"])
        try g.verify()
    }

    @Test func backwardNodesCarryForwardLocations() throws {
        let g = Graph(name: "locations")
        let x = try g.parameter("x", [3])
        let lineOfExp = #line + 1
        let e = try x.exp()
        let loss = try e.sum()
        try g.output("loss", loss)
        let d = try grad(of: loss.id, wrt: [x.id], in: g)
        // dx = mul(g, exp(x)) differentiates the exp: it carries the exp's line.
        #expect(g[d[0]].location == IR.SourceLocation(file: "PassesTests/AutodiffTests.swift", line: lineOfExp))
        for id in (loss.id + 1)..<g.count { #expect(g[id].location != nil, "backward node %\(id) has no location") }
    }

    @Test func compareOnTheGradientPathThrows() throws {
        let g = Graph(name: "cmp")
        let x = try g.parameter("x", [3])
        let line = #line + 1
        let mask = try x.compare(.gt, 0)
        let loss = try mask.binary(.mul, x).sum()
        try g.output("loss", loss)
        let error = #expect(throws: IRError.self) { try grad(of: loss.id, wrt: [x.id], in: g) }
        #expect(error?.message.contains("cmp_gt") == true)
        #expect(error?.message.contains("not differentiable") == true)
        #expect(error?.location == IR.SourceLocation(file: "PassesTests/AutodiffTests.swift", line: line))
    }

    @Test func randomOnTheGradientPathThrows() throws {
        let g = Graph(name: "rng")
        let x = try g.parameter("x", [3])
        let line = #line + 1
        let noise = try g.randomNormal([3], key: x.sum(), seed: 5)
        let loss = try noise.binary(.mul, x).sum()
        try g.output("loss", loss)
        let error = #expect(throws: IRError.self) { try grad(of: loss.id, wrt: [x.id], in: g) }
        #expect(error?.message.contains("random_normal") == true)
        #expect(error?.location == IR.SourceLocation(file: "PassesTests/AutodiffTests.swift", line: line))
    }

    /// Compare and random merely upstream (not on the gradient path) are fine.
    @Test func compareAndRandomOffThePathAreFine() throws {
        let g = Graph(name: "reparam")
        let mu = try g.parameter("mu", [4]), logvar = try g.parameter("logvar", [4])
        let step = try g.input("step", [])
        let eps = try g.randomNormal([4], key: step, seed: 3)
        let z = try mu.binary(.add, logvar.binary(.mul, 0.5).exp().binary(.mul, eps))
        let mask = try g.input("data", [4]).compare(.gt, 0)       // from data only
        let loss = try z.square().binary(.mul, mask).sum()
        try g.output("loss", loss)
        try expectGradientsMatch(g)
    }

    @Test func fusedIsRejected() throws {
        let g = Graph(name: "fused")
        let x = try g.parameter("x", [3])
        let body = FusedKernel(nodes: [Node(op: .arg(0), dtype: .f32, shape: [3], inputs: []),
                                       Node(op: .unary(.exp), dtype: .f32, shape: [3], inputs: [0])], result: 1)
        let f = try g.add(.fused(body), inputs: [x.id], shape: [3])
        let loss = try Tensor(g, f).sum()
        let error = #expect(throws: IRError.self) { try grad(of: loss.id, wrt: [x.id], in: g) }
        #expect(error?.message.contains("differentiate before fusion") == true)
    }
}


// MARK: The 2-layer MLP with a Gaussian negative log-likelihood (mean and log-variance heads).

/// x[8,6] → tanh(x·w1 + b1)[8,10] → mean head μ = h·wm + bm, log-variance head s = h·ws + bs (both [8,3]);
/// loss = mean over the batch of Σⱼ ½(sⱼ + (y−μ)ⱼ²·e^(−sⱼ) + log 2π).
func mlpGaussian() throws -> Graph {
    let g = Graph(name: "mlp_gaussian")
    let x = try g.input("x", [8, 6]), y = try g.input("y", [8, 3])
    let w1 = try g.parameter("w1", [6, 10]), b1 = try g.parameter("b1", [10])
    let wm = try g.parameter("w_mean", [10, 3]), bm = try g.parameter("b_mean", [3])
    let ws = try g.parameter("w_logvar", [10, 3]), bs = try g.parameter("b_logvar", [3])
    let h = try x.matmul(w1).binary(.add, b1).tanh()
    let mean = try h.matmul(wm).binary(.add, bm)
    let logvar = try h.matmul(ws).binary(.add, bs)
    let sq = try y.binary(.sub, mean).square()
    let nll = try logvar.binary(.add, sq.binary(.mul, logvar.neg().exp())).binary(.add, 1.8378770664093453).binary(.mul, 0.5)
    let loss = try nll.sum(axes: [1]).mean()
    try g.output("loss", loss)
    try g.output("mean", mean)
    try g.output("logvar", logvar)
    return g
}

@Suite struct AutodiffMLP {
    @Test func gaussianMLPPassesGradCheck() throws {
        let g = try mlpGaussian()
        let r = try expectGradientsMatch(g, ["x": range(-2, 2), "y": range(-2, 2), "w1": range(-0.6, 0.6)])
        #expect(Set(r.parameters.map(\.name)) == ["w1", "b1", "w_mean", "b_mean", "w_logvar", "b_logvar"])
        #expect(r.parameters.allSatisfy { $0.elementsChecked == $0.elementCount })
    }

    /// The sample behind `vsc gradcheck Samples/ir/mlp_gaussian.ir` (the acceptance test from the CLI).
    @Test func sampleFilePassesGradCheck() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("Samples/ir/mlp_gaussian.ir").path
        let g = try IRParser.parse(try String(contentsOfFile: path, encoding: .utf8), file: path)
        for seed: UInt64 in [1, 2] {
            let r = try gradCheck(graph: g, loss: "loss", feeds: feeds(g, seed: seed), seed: seed)
            #expect(r.parameters.count == 6)
            #expect(r.worst < 1e-6, "\(r)")
        }
    }

    @Test func sampledGradCheck() throws {
        let g = try mlpGaussian()
        let r = try gradCheck(graph: g, loss: "loss", feeds: feeds(g), maxElementsPerParameter: 5, seed: 9)
        #expect(r.parameters.allSatisfy { $0.elementsChecked == min(5, $0.elementCount) })
        #expect(r.worst < 1e-6)
    }

    @Test func gradientGraphRoundTrips() throws {
        let g = try mlpGaussian()
        let params = g.parameters
        let d = try grad(of: g.output("loss")!, wrt: params.map(\.node), in: g)
        for (p, gp) in zip(params, d) { g.setOutput("grad." + p.name, gp) }
        try g.verify()
        for locations in [true, false] {
            let text = IRPrinter.print(g, locations: locations)
            let parsed = try IRParser.parse(text, file: "grad.ir")
            #expect(IRPrinter.print(parsed, locations: locations) == text)
            #expect(parsed.count == g.count)
        }
    }
}
