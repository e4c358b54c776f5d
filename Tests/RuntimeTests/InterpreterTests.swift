import Foundation
import Testing
@testable import IR
@testable import Runtime

/// A small seeded generator for test data.
struct TestRNG {
    var state: UInt64
    mutating func next() -> Double {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) * 0x1p-53
    }
    mutating func values(_ n: Int, _ lo: Double = -2, _ hi: Double = 2) -> [Double] {
        (0..<n).map { _ in lo + (hi - lo) * next() }
    }
}

func close(_ a: Double, _ b: Double, rel: Double) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    if a.isInfinite || b.isInfinite { return a == b }
    return Swift.abs(a - b) <= rel * max(1, Swift.abs(a), Swift.abs(b))
}

func run1(_ g: Graph, _ feeds: [String: [Double]]) throws -> [Double] {
    try Interpreter<Double>(g).run(feeds)[g.outputs[0].name]!
}

@Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
func matmulMatchesTripleLoop(ta: Bool, tb: Bool) throws {
    let (m, k, n) = (5, 7, 3)
    var rng = TestRNG(state: 42)
    let a = rng.values(m * k), b = rng.values(k * n)
    let g = Graph()
    let A = try g.input("a", ta ? [k, m] : [m, k]), B = try g.input("b", tb ? [n, k] : [k, n])
    try g.output("c", A.matmul(B, transposeA: ta, transposeB: tb))
    for precision in ["f64", "f32"] {
        let got: [Double]
        if precision == "f64" { got = try run1(g, ["a": a, "b": b]) }
        else { got = try Interpreter<Float>(g).run(["a": a.map(Float.init), "b": b.map(Float.init)])["c"]!.map(Double.init) }
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
                let x = ta ? a[p * m + i] : a[i * k + p]
                let y = tb ? b[j * k + p] : b[p * n + j]
                s += x * y
            }
            #expect(close(got[i * n + j], s, rel: precision == "f64" ? 1e-12 : 1e-5))
        } }
    }
}

@Test func reductionsOverEveryAxisSet() throws {
    let shape = [2, 3, 4]
    var rng = TestRNG(state: 7)
    let x = rng.values(24)
    for axes in [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]] {
        for op in ReduceOp.allCases {
            let g = Graph()
            let t = try g.input("x", shape)
            try g.output("r", t.reduce(op, axes: axes))
            let got = try run1(g, ["x": x])
            // Reference: accumulate by explicit index arithmetic.
            let kept = (0..<3).filter { !axes.contains($0) }
            let outShape = kept.map { shape[$0] }
            var acc = [Double](repeating: op == .max ? -.infinity : 0, count: outShape.reduce(1, *))
            for i in 0..<2 { for j in 0..<3 { for l in 0..<4 {
                let idx = [i, j, l]
                var o = 0
                for d in kept { o = o * shape[d] + idx[d] }
                let v = x[(i * 3 + j) * 4 + l]
                acc[o] = op == .max ? max(acc[o], v) : acc[o] + v
            } } }
            if op == .mean { let c = Double(axes.map { shape[$0] }.reduce(1, *)); acc = acc.map { $0 / c } }
            #expect(got.count == acc.count)
            for (a, b) in zip(got, acc) { #expect(close(a, b, rel: 1e-12), "\(op) over \(axes)") }
        }
    }
}

@Test func broadcastingFollowsNumpyRules() throws {
    let g = Graph()
    let a = try g.input("a", [3, 1]), b = try g.input("b", [4])
    try g.output("s", a + b)
    let got = try run1(g, ["a": [1, 2, 3], "b": [10, 20, 30, 40]])
    #expect(got == [11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43])
    let g2 = Graph()
    let c = try g2.input("c", [2, 1, 3])
    try g2.output("o", c.broadcast(to: [4, 2, 5, 3]))
    let v = try run1(g2, ["c": [1, 2, 3, 4, 5, 6]])
    #expect(v.count == 120)
    // Element [k, i, j, l] = c[i, 0, l].
    for k in 0..<4 { for i in 0..<2 { for j in 0..<5 { for l in 0..<3 {
        #expect(v[((k * 2 + i) * 5 + j) * 3 + l] == Double(i * 3 + l + 1))
    } } } }
}

func foundationUnary(_ u: UnaryOp, _ x: Double) -> Double {
    switch u {
    case .neg: return -x
    case .exp: return Foundation.exp(x)
    case .log: return Foundation.log(x)
    case .log1p: return Foundation.log1p(x)
    case .sqrt: return Foundation.sqrt(x)
    case .square: return x * x
    case .relu: return x > 0 ? x : 0
    case .sigmoid: return 1 / (1 + Foundation.exp(-x))
    case .softplus: return Foundation.log(1 + Foundation.exp(x))
    case .tanh: return Foundation.tanh(x)
    case .abs: return Swift.abs(x)
    case .step: return x > 0 ? 1 : 0
    }
}

@Test(arguments: UnaryOp.allCases)
func unaryOpsMatchFoundation(u: UnaryOp) throws {
    var rng = TestRNG(state: 3)
    let positive: Set<UnaryOp> = [.log, .sqrt]
    let x = rng.values(64, positive.contains(u) ? 0.01 : -6, 6)
    for precision in [0, 1] {
        let g = Graph()
        try g.output("y", g.input("x", [64]).unary(u))
        let got: [Double] = precision == 0 ? try run1(g, ["x": x])
            : try Interpreter<Float>(g).run(["x": x.map(Float.init)])["y"]!.map(Double.init)
        for (xi, yi) in zip(x, got) {
            let ref = foundationUnary(u, precision == 0 ? xi : Double(Float(xi)))
            #expect(close(yi, ref, rel: precision == 0 ? 1e-12 : 2e-6), "\(u)(\(xi)) = \(yi), expected \(ref)")
        }
    }
}

@Test func stableFormsDoNotOverflow() throws {
    let g = Graph()
    let x = try g.input("x", [4])
    try g.output("sp", x.softplus()); try g.output("sg", x.sigmoid())
    let out = try Interpreter<Float>(g).run(["x": [-1000, -90, 90, 1000]])
    #expect(out["sp"]! == [0, Float(Foundation.exp(-90.0)), 90, 1000])
    #expect(out["sg"]![0] == 0 && out["sg"]![3] == 1)
}

func foundationBinary(_ b: BinaryOp, _ x: Double, _ y: Double) -> Double {
    switch b {
    case .add: return x + y
    case .sub: return x - y
    case .mul: return x * y
    case .div: return x / y
    case .max: return Swift.max(x, y)
    case .min: return Swift.min(x, y)
    case .pow: return Foundation.pow(x, y)
    }
}

@Test(arguments: BinaryOp.allCases)
func binaryOpsMatchFoundation(b: BinaryOp) throws {
    var rng = TestRNG(state: 11)
    let x = rng.values(30, b == .pow ? 0.1 : -3, 3), y = rng.values(30, 0.2, 3)
    let g = Graph()
    try g.output("z", g.input("x", [30]).binary(b, g.input("y", [30])))
    let got = try run1(g, ["x": x, "y": y])
    for i in 0..<30 { #expect(close(got[i], foundationBinary(b, x[i], y[i]), rel: 1e-12)) }
}

@Test(arguments: CompareOp.allCases)
func comparisonsAndSelect(c: CompareOp) throws {
    let x: [Double] = [1, 2, 3, 2], y: [Double] = [2, 2, 2, 5]
    let g = Graph()
    let a = try g.input("x", [4]), b = try g.input("y", [4])
    let m = try a.compare(c, b)
    try g.output("m", m)
    try g.output("s", g.select(m, a, b))
    let out = try Interpreter<Double>(g).run(["x": x, "y": y])
    let ref: [Bool] = zip(x, y).map { p in
        switch c { case .lt: p.0 < p.1; case .le: p.0 <= p.1; case .gt: p.0 > p.1
                   case .ge: p.0 >= p.1; case .eq: p.0 == p.1; case .ne: p.0 != p.1 }
    }
    #expect(out["m"]! == ref.map { $0 ? 1 : 0 })
    #expect(out["s"]! == (0..<4).map { ref[$0] ? x[$0] : y[$0] })
}

@Test func viewsAndConcat() throws {
    let g = Graph()
    let x = try g.input("x", [2, 3, 4])
    let xs = (0..<24).map(Double.init)
    try g.output("t", x.transpose([2, 0, 1]))
    try g.output("s", x.slice(start: [1, 1, 0], end: [2, 3, 3]))
    try g.output("r", x.reshape([6, 4]))
    try g.output("c", g.concat([x, x.slice(start: [0, 0, 0], end: [2, 3, 1])], axis: 2))
    let out = try Interpreter<Double>(g).run(["x": xs])
    // t[l, i, j] = x[i, j, l]
    var t = [Double]()
    for l in 0..<4 { for i in 0..<2 { for j in 0..<3 { t.append(xs[(i * 3 + j) * 4 + l]) } } }
    #expect(out["t"]! == t)
    #expect(out["s"]! == [16, 17, 18, 20, 21, 22])
    #expect(out["r"]! == xs)
    var c = [Double]()
    for i in 0..<2 { for j in 0..<3 { for l in 0..<5 { c.append(xs[(i * 3 + j) * 4 + (l < 4 ? l : 0)]) } } }
    #expect(out["c"]! == c)
}

@Test func randomNumbersAreReproducibleAndKeyed() throws {
    let g = Graph()
    let k = try g.input("step", [])
    try g.output("u", g.randomUniform([20000], key: k, seed: 5))
    try g.output("n", g.randomNormal([20000], key: k, seed: 6))
    let i = Interpreter<Double>(g)
    let a = try i.run(["step": [1]]), b = try i.run(["step": [1]]), c = try i.run(["step": [2]])
    #expect(a["u"]! == b["u"]!)
    #expect(a["u"]! != c["u"]!)
    let u = a["u"]!, n = a["n"]!
    #expect(u.allSatisfy { $0 > 0 && $0 < 1 })
    let mu = u.reduce(0, +) / 20000, nm = n.reduce(0, +) / 20000
    let nv = n.map { ($0 - nm) * ($0 - nm) }.reduce(0, +) / 20000
    #expect(Swift.abs(mu - 0.5) < 0.01)
    #expect(Swift.abs(nm) < 0.03 && Swift.abs(nv - 1) < 0.04)
}

@Test func fusedKernelsAndEpiloguesRunAsTheirUnfusedForm() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let text = try String(contentsOf: root.appendingPathComponent("Samples/ir/regions.ir"), encoding: .utf8)
    let fused = try IRParser.parse(text)
    let g = Graph()
    let a = try g.input("a", [4, 3]), b = try g.input("b", [3, 5]), bias = try g.parameter("bias", [5])
    try g.output("out", (a.matmul(b) + bias).relu().exp().sum(axes: [1]))
    var rng = TestRNG(state: 9)
    let feeds = ["a": rng.values(12), "b": rng.values(15), "bias": rng.values(5)]
    let x = try run1(fused, feeds), y = try run1(g, feeds)
    for (p, q) in zip(x, y) { #expect(close(p, q, rel: 1e-12)) }
}

@Test func missingFeedsAndNonFiniteValuesAreNamed() throws {
    let g = Graph()
    let x = try g.input("x", [2])
    try g.output("y", x.log())
    #expect(throws: RuntimeError.self) { _ = try Interpreter<Double>(g).run([:]) }
    do { _ = try Interpreter<Double>(g).run(["x": [1, 2, 3]]); Issue.record("no error") }
    catch let e as RuntimeError { #expect(e.message.contains("expects 2 values")) }
    do { _ = try Interpreter<Double>(g, checkFinite: true).run(["x": [1, -1]]); Issue.record("no error") }
    catch let e as RuntimeError {
        #expect(e.node == 1)
        #expect(e.message.contains("log(%0)"))
        #expect(e.message.contains("RuntimeTests/InterpreterTests.swift:"))
    }
}
