import Foundation
import Testing
import IR
@testable import Passes
import Runtime

// Golden tests: Tests/PassesTests/Golden/<pass>/NAME.input.ir → NAME.expected.ir, one behaviour each.
// <pass> is a pass name of the registry (the pass runs alone), `pipeline` (the default pipeline) or
// `plan-memory` (expected output: `PlanMemory.describe` text in NAME.expected.txt).
// Set UPDATE_GOLDEN=1 to (re)write the expected files from the current output, then review the diff.

struct GoldenCase: CustomTestStringConvertible, Sendable {
    var pass: String
    var name: String
    var testDescription: String { "\(pass)/\(name)" }
    var input: URL { goldenRoot.appendingPathComponent("\(pass)/\(name).input.ir") }
    var expected: URL { goldenRoot.appendingPathComponent("\(pass)/\(name).expected.\(pass == "plan-memory" ? "txt" : "ir")") }
}

func goldenCases() -> [GoldenCase] {
    let fm = FileManager.default
    let dirs = ((try? fm.contentsOfDirectory(atPath: goldenRoot.path)) ?? []).sorted()
    return dirs.flatMap { d -> [GoldenCase] in
        let files = ((try? fm.contentsOfDirectory(atPath: goldenRoot.appendingPathComponent(d).path)) ?? []).sorted()
        return files.filter { $0.hasSuffix(".input.ir") }.map { GoldenCase(pass: d, name: String($0.dropLast(".input.ir".count))) }
    }
}

@Test func everyPassHasGoldenTests() {
    let passes = Set(goldenCases().map(\.pass))
    for p in Pass.registry.keys { #expect(passes.contains(p), "no golden tests for \(p)") }
    #expect(passes.contains("plan-memory") && passes.contains("pipeline"))
}

@Test(arguments: goldenCases())
func golden(_ c: GoldenCase) throws {
    let input = try parseIR(try String(contentsOf: c.input, encoding: .utf8), file: c.input.lastPathComponent)
    let actual: String
    var outGraph: Graph?
    switch c.pass {
    case "plan-memory":
        actual = PlanMemory.describe(PlanMemory.plan(input), input)
    default:
        var pm = c.pass == "pipeline" ? PassManager.default : PassManager([Pass.registry[c.pass]!])
        pm.verifyRoundTrip = true
        let g = try pm.run(input).graph
        outGraph = g
        actual = IRPrinter.print(g)
    }
    if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
        try actual.write(to: c.expected, atomically: true, encoding: .utf8)
    }
    let expected = try String(contentsOf: c.expected, encoding: .utf8)
    #expect(actual == expected, "golden \(c.pass)/\(c.name) differs; got:\n\(actual)")
    // The rewrite keeps the outputs' values.
    if let g = outGraph {
        let feeds = seededFeeds(input, seed: 7)
        let d = maxRelativeDifference(try runF32(input, feeds), try runF32(g, feeds))
        #expect(d < 1e-5, "\(c.pass)/\(c.name): outputs differ by \(d)")
    }
}
