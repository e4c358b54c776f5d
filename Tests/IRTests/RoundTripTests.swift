import Foundation
import Testing
@testable import IR

/// The repository root, from this file's path (Tests/IRTests/…).
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func sampleIRFiles() -> [URL] {
    let dir = repoRoot.appendingPathComponent("Samples/ir")
    let files = (try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? []
    return files.filter { $0.pathExtension == "ir" }.sorted { $0.path < $1.path }
}

@Test func samplesExist() {
    #expect(sampleIRFiles().count >= 3)
}

@Test(arguments: sampleIRFiles().map(\.lastPathComponent))
func samplesRoundTripExactly(name: String) throws {
    let url = repoRoot.appendingPathComponent("Samples/ir/\(name)")
    let text = try String(contentsOf: url, encoding: .utf8)
    let g = try IRParser.parse(text, file: name)
    #expect(IRPrinter.print(g) == text)
    // And print → parse → print is stable.
    let again = try IRParser.parse(IRPrinter.print(g), file: name)
    #expect(IRPrinter.print(again) == text)
}

@Test func builtGraphRoundTripsWithLocations() throws {
    let g = Graph(name: "mlp")
    let x = try g.input("x", [4, 3])
    let w = try g.parameter("w", [3, 2]), b = try g.parameter("b", [2])
    let h = try (x.matmul(w) + b).relu()
    let noise = try g.randomNormal([4, 2], key: g.input("step", []))
    let loss = try (h * noise - 0.5).square().mean()
    try g.output("loss", loss)
    let text = IRPrinter.print(g)
    #expect(text.contains("// IRTests/RoundTripTests.swift:"))
    let back = try IRParser.parse(text)
    #expect(IRPrinter.print(back) == text)
    #expect(back.count == g.count)
}

@Test func constantsRoundTripBitExactly() throws {
    let g = Graph(name: "c")
    let vals: [Double] = [0.1, -0.0, 1e-30, 3.4028234663852886e38, -7, .infinity, 2.5e-8]
    let c = try g.constant(vals, shape: [7])
    let s = try g.constant(-0.0, shape: [2])
    try g.output("c", c); try g.output("s", s)
    let back = try IRParser.parse(IRPrinter.print(g))
    guard case .constant(.dense(let xs)) = back[back.output("c")!].op else { Issue.record("not dense"); return }
    #expect(xs.map(\.bitPattern) == vals.map(\.bitPattern))
    guard case .constant(.splat(let z)) = back[back.output("s")!].op else { Issue.record("not splat"); return }
    #expect(z.sign == .minus)
}

@Test func regionsSampleHasAnEpilogueAndAFusedKernel() throws {
    // Samples/ir/regions.ir round-trips with the other samples; make sure it keeps both regions.
    let text = try String(contentsOf: repoRoot.appendingPathComponent("Samples/ir/regions.ir"), encoding: .utf8)
    let g = try IRParser.parse(text, file: "regions.ir")
    #expect(g.nodes.contains { if case .matmul(let m) = $0.op { return m.epilogue != nil }; return false })
    #expect(g.nodes.contains { if case .fused = $0.op { return true }; return false })
}

@Test func hashConsingDedupesIdenticalNodes() throws {
    let g = Graph()
    let x = try g.input("x", [3])
    let a = try x.exp(), b = try x.exp()
    #expect(a.id == b.id)
    let c1 = try g.constant(1.0), c2 = try g.constant(1.0)
    #expect(c1.id == c2.id)
    // Random nodes get distinct seeds unless given the same one.
    let r1 = try g.randomUniform([3]), r2 = try g.randomUniform([3])
    #expect(r1.id != r2.id)
}

/// Every elementwise op prints and parses back to the same graph (the printer and parser name
/// them from the op enums, so a new case is covered here with no new test).
@Test func everyElementwiseOpRoundTrips() throws {
    let g = Graph(name: "ops")
    let x = try g.input("x", [2, 3]), y = try g.input("y", [2, 3])
    var k = 0
    func out(_ t: Tensor) throws { try g.output("o\(k)", t); k += 1 }
    for u in UnaryOp.allCases { try out(try x.unary(u)) }
    for b in BinaryOp.allCases {
        try out(Tensor(g, try g.add(.binary(b), inputs: [x.id, y.id])))
    }
    for c in CompareOp.allCases {
        try out(Tensor(g, try g.add(.compare(c), inputs: [x.id, y.id])))
    }
    let text = IRPrinter.print(g)
    let back = try IRParser.parse(text)
    #expect(IRPrinter.print(back) == text)
    #expect(back.count == g.count && back.outputs.count == UnaryOp.allCases.count + BinaryOp.allCases.count + CompareOp.allCases.count)
}

/// Scoped nodes print as `// enc.h0.matmul @ file:line` and parse back to the same scope.
@Test func scopedLocationsRoundTrip() throws {
    let g = Graph(name: "scoped")
    let x = try g.input("x", [2, 3])
    let w = try g.parameter("w", [3, 4])
    let y = try g.scoped("enc.h0", at: SourceLocation(file: "m.yaml", line: 7)) { try (x.matmul(w) * 2).relu() }
    try g.output("y", y)
    let text = IRPrinter.print(g)
    #expect(text.contains("// enc.h0.matmul @ IRTests/RoundTripTests.swift:"))
    // The operator's nodes (mul, its constant and broadcast) take the scope's location.
    #expect(text.contains("= mul(") && text.contains("// enc.h0.mul @ m.yaml:7"))
    let parsed = try IRParser.parse(text, file: "t.ir")
    #expect(IRPrinter.print(parsed) == text)
    #expect(parsed[parsed.output("y")!].location?.scope == "enc.h0")
}
