import Foundation
import Testing
import IR
@testable import Passes
import Runtime

/// The repository root, from this file's path (Tests/PassesTests/…).
let passesRepoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let goldenRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

/// A small seeded generator.
struct PassRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 0x9E3779B97F4A7C15 &+ 1 }
    mutating func next() -> Double {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) * 0x1p-53
    }
    mutating func int(_ n: Int) -> Int { min(n - 1, Int(next() * Double(n))) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
    mutating func chance(_ p: Double) -> Bool { next() < p }
}

/// Seeded feeds for every parameter and input, in [-1.5, 1.5].
func seededFeeds(_ g: Graph, seed: UInt64) -> [String: [Float]] {
    var rng = PassRNG(seed)
    var f: [String: [Float]] = [:]
    for (name, id) in g.parameters + g.inputs {
        f[name] = (0..<g[id].elementCount).map { _ in Float(rng.next() * 3 - 1.5) }
    }
    return f
}

/// Runs `g` in Float32.
func runF32(_ g: Graph, _ feeds: [String: [Float]]) throws -> [String: [Float]] {
    try Interpreter<Float>(g).run(feeds)
}

/// The largest relative difference between two runs' outputs (|a−b| / max(|a|, |b|, 1e-3));
/// NaNs and infinities must match exactly.
func maxRelativeDifference(_ a: [String: [Float]], _ b: [String: [Float]]) -> Double {
    var worst = 0.0
    for (k, xs) in a {
        guard let ys = b[k], ys.count == xs.count else { return .infinity }
        for (x, y) in zip(xs, ys) {
            if x.isNaN || y.isNaN { if !(x.isNaN && y.isNaN) { return .infinity }; continue }
            if x.isInfinite || y.isInfinite { if x != y { return .infinity }; continue }
            let d = Double(Swift.abs(x - y)) / max(Double(Swift.abs(x)), Double(Swift.abs(y)), 1e-3)
            worst = max(worst, d)
        }
    }
    return worst
}

/// A pass manager that verifies everything (including round trips) and collects dumps and stats.
func strictManager(_ pipeline: String = PassManager.defaultPipeline) throws -> PassManager {
    var pm = try PassManager(pipeline: pipeline)
    pm.verifyRoundTrip = true
    pm.collectStats = true
    pm.dumpIRAfter = ["all"]
    return pm
}

func parseIR(_ text: String, file: String = "<test>") throws -> Graph { try IRParser.parse(text, file: file) }

func sampleIRPaths() -> [String] {
    let dir = passesRepoRoot.appendingPathComponent("Samples/ir")
    let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    return files.filter { $0.hasSuffix(".ir") }.sorted()
}

// MARK: Random graphs

/// A seeded random DAG of elementwise / broadcast / reduce / matmul / shape ops over small shapes,
/// with values kept bounded (so no NaN/Inf), and a few deliberate algebraic identities for
/// Simplify to find.
func randomGraph(seed: UInt64) throws -> Graph {
    var rng = PassRNG(seed)
    let g = Graph(name: "random\(seed)")
    let M = 3 + rng.int(3), N = 2 + rng.int(4), K = 2 + rng.int(4)
    // Pools of values by shape.
    var mats: [Tensor] = [try g.input("x", [M, N]), try g.parameter("w", [M, N])]
    var rows: [Tensor] = [try g.parameter("b", [N])]
    var cols: [Tensor] = [try g.input("c", [M])]
    let weights = try g.parameter("v", [N, K])
    var wide: [Tensor] = []
    for _ in 0..<(8 + rng.int(14)) {
        let a = rng.pick(mats), b = rng.pick(mats)
        var r: Tensor
        switch rng.int(16) {
        case 0: let u = rng.pick([UnaryOp.neg, .relu, .sigmoid, .tanh, .abs, .step, .softplus]); r = try a.unary(u)
        case 1: r = try a.tanh().exp()
        case 2: r = try a.abs().log1p()
        case 3: r = try (a.square() + 1).log()
        case 4: let op = rng.pick([BinaryOp.add, .sub, .mul, .max, .min]); r = try a.binary(op, b)
        case 5: r = try a / (b.abs() + 1)
        case 6: r = a + rng.pick(rows)               // broadcast of a row vector
        case 7: let c = rng.pick(cols); r = try a * c.reshape([M, 1])  // broadcast of a column
        case 8: let c = rng.pick([CompareOp.lt, .gt, .ge]); r = try g.select(a.compare(c, b), a, b * 0.5)
        case 9: r = a * 1 + 0 - (b - b)                    // identities
        case 10: r = try a.neg().neg().transpose().transpose() * 2
        case 11:
            let op = rng.pick([ReduceOp.sum, .mean, .max]), ax = rng.int(2)
            let s = try a.reduce(op, axes: [ax], keepDims: true)
            r = try (a - s).tanh()
            if s.shape == [M, 1] { cols.append(try s.reshape([M])) } else { rows.append(try s.reshape([N])) }
        case 12:
            let p = try a.matmul(weights).tanh()
            wide.append(p)
            r = try p.matmul(weights, transposeB: true).tanh()
        case 13: let row = rng.pick(rows); r = try (a * 0.25 + row * 0.5).sigmoid() * a
        case 14: r = try a.pow(2.0).tanh() + a.pow(1.0)
        default: r = try (a - b).square().tanh()
        }
        mats.append(r)
    }
    // Outputs: the last value, a reduction of a random one, sometimes a wide one and a row.
    try g.output("out", mats.last!)
    let total = rng.pick(mats)
    try g.output("total", total.sum())
    if let w = wide.last, rng.chance(0.7) { try g.output("wide", w) }
    if rng.chance(0.5) { try g.output("rowsum", mats[mats.count / 2].sum(axes: [0])) }
    return g
}
