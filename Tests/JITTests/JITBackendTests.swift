import Foundation
import Testing
import IR
import Runtime
import Passes
@testable import JIT

/// Seeded test values in [lo, hi].
func testValues(_ n: Int, seed: UInt64, _ lo: Float = -2, _ hi: Float = 2) -> [Float] {
    var s = seed &* 0x9E3779B97F4A7C15 | 1
    return (0..<n).map { _ in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return lo + (hi - lo) * Float(Double(s >> 40) * 0x1p-24)
    }
}

/// Runs `g` on the interpreter and the JIT with the same feeds; returns the worst relative
/// difference over all outputs (denominator max(1, |a|, |b|)).
@discardableResult
func compareBackends(_ g: Graph, feeds: [String: [Float]], tolerance: Double = 1e-5,
                     sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Double {
    let interp = InterpreterProgram(g), jit = try JITProgram(g)
    for (k, v) in feeds { try interp.set(k, v); try jit.set(k, v) }
    try interp.run(); try jit.run()
    var worst = 0.0
    for o in g.outputs {
        var worstHere = 0.0
        let a = interp.values(o.name)!, b = jit.values(o.name)!
        #expect(a.count == b.count, sourceLocation: sourceLocation)
        for (x, y) in zip(a, b) {
            if x.isNaN && y.isNaN { continue }
            let d = Double(Swift.abs(x - y)) / max(1, Double(Swift.abs(x)), Double(Swift.abs(y)))
            worstHere = max(worstHere, x == y ? 0 : d)
        }
        #expect(worstHere <= tolerance, "output \(o.name): worst relative difference \(worstHere)", sourceLocation: sourceLocation)
        worst = max(worst, worstHere)
    }
    return worst
}

func feedsFor(_ g: Graph, seed: UInt64, lo: Float = -2, hi: Float = 2) -> [String: [Float]] {
    var f: [String: [Float]] = [:]
    for (k, l) in (g.parameters + g.inputs).enumerated() {
        f[l.name] = testValues(g[l.node].elementCount, seed: seed + UInt64(k), lo, hi)
    }
    return f
}

@Test(arguments: UnaryOp.allCases)
func unaryOpsAgree(u: UnaryOp) throws {
    let g = Graph(name: "unary")
    let positive: Set<UnaryOp> = [.log, .sqrt]
    let x = try g.input("x", [37, 41])
    try g.output("y", x.unary(u))
    var feeds = feedsFor(g, seed: 1, lo: positive.contains(u) ? 1e-3 : -20, hi: 20)
    if u == .exp || u == .sigmoid || u == .softplus || u == .tanh { feeds["x"]![0...9] = [-100, -88, -87, -30, 0, 1e-6, -1e-6, 30, 88, 100] }
    if u == .log || u == .log1p { feeds["x"]![0...3] = [1e-30, 1e-7, 1, 1e30] }
    try compareBackends(g, feeds: feeds, tolerance: 4e-6)
}

@Test(arguments: BinaryOp.allCases)
func binaryOpsWithBroadcastAgree(b: BinaryOp) throws {
    let g = Graph(name: "binary")
    let x = try g.input("x", [16, 33]), r = try g.input("r", [33]), c = try g.input("c", [16, 1])
    try g.output("full", x.binary(b, x.binary(.add, r)))
    try g.output("rows", r.binary(b, x))
    try g.output("cols", x.binary(b, c))
    try compareBackends(g, feeds: feedsFor(g, seed: 2, lo: b == .pow ? 0.1 : -3, hi: 3))
}

@Test func comparisonsAndSelectAgree() throws {
    let g = Graph(name: "cmp")
    let x = try g.input("x", [50]), y = try g.input("y", [50])
    for c in CompareOp.allCases { try g.output(c.rawValue, x.compare(c, y)) }
    try g.output("sel", g.select(x.compare(.gt, y), x, y * 2))
    var f = feedsFor(g, seed: 3)
    f["y"]![0...4] = f["x"]![0...4]
    try compareBackends(g, feeds: f, tolerance: 0)
}

@Test func reductionsAgree() throws {
    let g = Graph(name: "reduce")
    let x = try g.input("x", [6, 70, 33])
    for axes in [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]] {
        for r in ReduceOp.allCases {
            try g.output("\(r.rawValue)\(axes)", x.reduce(r, axes: axes))
        }
    }
    try compareBackends(g, feeds: feedsFor(g, seed: 4), tolerance: 1e-5)
}

/// Wide reductions over leading axes (bias gradients, column sums of a pairwise tensor) run row
/// by row, accumulating in memory (`LoopNest.reducesLeadingDimsOfContiguousRows`): the same values
/// to f32 accumulation's precision — 520 and 1,200 terms added in f32 drift by ~√n·ε of the partial
/// sums (measured 2e-5 and 4e-5 relative), hence 1e-4 here; a wrong index or order is O(1).
@Test func wideLeadingAxisReductionsAgree() throws {
    let g = Graph(name: "wide")
    let x = try g.input("x", [520, 2048]), y = try g.input("y", [40, 30, 1100])
    for r in ReduceOp.allCases {
        try g.output("x\(r.rawValue)", x.reduce(r, axes: [0]))
        try g.output("y\(r.rawValue)", y.reduce(r, axes: [0, 1]))
    }
    try compareBackends(g, feeds: feedsFor(g, seed: 5), tolerance: 1e-4)
    // The wide one runs row by row; a narrow one keeps the register (f64) accumulation.
    func nest(_ shape: Shape, axes: [Int]) throws -> LoopNest {
        let out = shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        let body = [Node(op: .arg(0), dtype: .f32, shape: shape, inputs: []),
                    Node(op: .reduce(.sum, axes: axes), dtype: .f32, shape: out, inputs: [0])]
        return try lowerBody(body, result: 1, argSlots: [1], slots: 2)
    }
    #expect(try nest([520, 2048], axes: [0]).reducesLeadingDimsOfContiguousRows)
    #expect(try !nest([520, 2048], axes: [0]).registerReduction)
    #expect(try !nest([6, 70, 33], axes: [0, 1]).reducesLeadingDimsOfContiguousRows)
    #expect(try !nest([520, 2048], axes: [1]).reducesLeadingDimsOfContiguousRows)
}

@Test func viewsConcatAndMatmulAgree() throws {
    let g = Graph(name: "views")
    let x = try g.input("x", [8, 12, 5])
    try g.output("t", x.transpose([2, 0, 1]))
    try g.output("s", x.slice(start: [1, 2, 0], end: [7, 10, 4]))
    try g.output("c", g.concat([x, x.slice(start: [0, 0, 1], end: [8, 12, 3])], axis: 2))
    try g.output("b", try x.sum(axes: [1]).broadcast(to: [3, 8, 5]))
    try g.output("r", try x.reshape([96, 5]).exp())
    let a = try g.input("a", [20, 30]), w = try g.input("w", [30, 20])
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let lhs = ta ? try a.transpose() : a, rhs = tb ? try w.transpose() : w
        try g.output("mm\(ta)\(tb)", lhs.matmul(rhs, transposeA: ta, transposeB: tb))
    }
    try compareBackends(g, feeds: feedsFor(g, seed: 5))
}

@Test func randomStreamsMatchTheInterpreter() throws {
    let g = Graph(name: "rand")
    let k = try g.input("step", [])
    try g.output("u", g.randomUniform([300, 7], key: k, seed: 11))
    try g.output("n", g.randomNormal([300, 7], key: k, seed: 12))
    try g.output("u0", g.randomUniform([5], seed: 13))
    try compareBackends(g, feeds: ["step": [17]], tolerance: 2e-6)
}

@Test func samplesAgree() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let dir = root.appendingPathComponent("Samples/ir")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".ir") }
    #expect(!files.isEmpty)
    for f in files.sorted() {
        let g = try IRParser.parse(String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8), file: f)
        try compareBackends(g, feeds: feedsFor(g, seed: 6))
    }
}

@Test func largeKernelsSplitAcrossCoresAndAgree() throws {
    let g = Graph(name: "big")
    let x = try g.input("x", [500, 784]), b = try g.input("b", [784])
    try g.output("y", ((x + b).sigmoid() * x).softplus())
    try g.output("rowsum", (x * x).sum(axes: [1]))
    try compareBackends(g, feeds: feedsFor(g, seed: 7))
}

@Test func nonFiniteValuesAreNamed() throws {
    let g = Graph(name: "nan")
    let x = try g.input("x", [4])
    try g.output("y", x.log().exp())
    let p = try JITProgram(g)
    p.checkFinite = true
    try p.set("x", [1, 2, -1, 3])
    #expect(throws: RuntimeError.self) { try p.run() }
    do { try p.run() } catch let e as RuntimeError { #expect(e.message.contains("log(%0)")) }
}

@Test func compiledProgramsAreCachedByGraph() throws {
    func build() throws -> Graph {
        let g = Graph(name: "cached")
        let x = try g.input("x", [64])
        try g.output("y", x.tanh() * 3.0)
        return g
    }
    let a = try JITProgram(build()), b = try JITProgram(build())
    #expect(a.module === b.module)
}

@Test func aKernelLLVMRejectsIsNamedWithItsNodeAndIR() throws {
    let g = Graph(name: "broken")
    let x = try g.input("x", [8])
    try g.output("y", x.exp() * 2.0)
    do {
        // Break the first kernel: an undefined value LLVM's parser rejects.
        _ = try JITProgram(g, pipeline: .default, kernelTextTransform: { k, text in
            k == 0 ? text.replacingOccurrences(of: "ret void", with: "ret void %nosuch") : text
        })
        Issue.record("expected a JITError")
    } catch let e as JITError {
        #expect(e.module.hasPrefix("kernel k0.n") && e.module.hasSuffix(" of graph @broken"), "\(e.module)")
        #expect(e.description.contains("it computes"))
        #expect(e.description.contains("JITTests/JITBackendTests.swift:"), "the node's Swift source line")
        #expect(e.irExcerpt.contains("nosuch"))
    }
    // The engine and the cache still work afterwards.
    let ok = try JITProgram(g)
    try ok.set("x", [Float](repeating: 1, count: 8))
    try ok.run()
    #expect(Swift.abs(ok.values("y")![0] - 2 * 2.7182817) < 1e-5)
}

/// The program-wide memory check: every tensor under the budget, their sum over it, refused
/// with the sizes before allocating; under it, accepted.
@Test func programOverTheMemoryBudgetIsRefused() throws {
    let g = Graph(name: "mem")
    let x = try g.input("x", [256, 256])
    try g.output("y", try (x.exp() + 1).log() * x)
    let plan = PlanMemory.plan(g)
    #expect(throws: Never.self) { try JITProgram.checkMemory(plan, budget: 1 << 30) }
    #expect { try JITProgram.checkMemory(plan, budget: 300_000) }
        throws: { e in "\(e)".contains("over the memory budget of 300000 bytes") && "\(e)".contains("reduce the batch size") }
}

/// GEMMs big enough to be split over the JIT's pool (by rows when m ≥ n, else by columns), every
/// transpose combination, sizes that are not multiples of the split alignment, against a Float64
/// reference loop (not OpenBLAS, which both backends call); errors relative to Σ|aᵢₚbₚⱼ|.
@Test(arguments: [(500, 60, 1024), (20, 3000, 20), (1001, 33, 40), (33, 1001, 40), (7, 784, 300)])
func splitGEMMsMatchAReferenceLoop(shape: (Int, Int, Int)) throws {
    let (m, n, k) = shape
    #expect(m * n * k >= GEMMSplit.minimumWork)
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let g = Graph(name: "gemm")
        let a = try g.input("a", ta ? [k, m] : [m, k]), b = try g.input("b", tb ? [n, k] : [k, n])
        try g.output("c", a.matmul(b, transposeA: ta, transposeB: tb))
        let av = testValues(m * k, seed: 1, -1, 1), bv = testValues(k * n, seed: 2, -1, 1)
        let jit = try JITProgram(g)
        try jit.set("a", av); try jit.set("b", bv)
        try jit.run()
        #expect(jit.splitGEMMCount == 1)
        let c = jit.values("c")!
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0, magnitude = 0.0
                for p in 0..<k {
                    let t = Double(av[ta ? p * m + i : i * k + p]) * Double(bv[tb ? j * k + p : p * n + j])
                    s += t; magnitude += abs(t)
                }
                // Float32 summation error is bounded by ~k·ε·Σ|aᵢₚbₚⱼ|; a wrong block is O(1) off.
                worst = max(worst, abs(Double(c[i * n + j]) - s) / max(1e-3, magnitude))
            }
        }
        #expect(worst < 1e-6, "C = \(ta ? "Aᵀ" : "A")·\(tb ? "Bᵀ" : "B") for m \(m), n \(n), k \(k): worst error \(worst)")
    }
}

/// `vsc ir llvm`'s kernels are named after the IR node they compute and its layer.
@Test func kernelsAreNamedAfterTheirNodes() throws {
    let g = Graph(name: "named")
    let x = try g.input("x", [8])
    let y = try g.scoped("enc.h0", at: SourceLocation(file: "m.yaml", line: 3)) { try x.exp() * 2.0 }
    try g.output("y", y)
    let (before, after) = try JITProgram.llvmIR(for: g)
    let optimised = try PassManager.default.run(g).graph
    let node = try #require(optimised.nodes.indices.first { if case .fused = optimised[$0].op { return true }; return false })
    #expect(before.contains("define void @k0.n\(node).enc.h0.fused("), "\(before.suffix(600))")
    #expect(after.contains("@k0.n\(node).enc.h0.fused("))
    #expect(try JITProgram(g).run() == ())
}
