import Foundation
import IR
import Testing
@testable import vsc

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The DOT text `vsc ir dot ARGS` writes.
func dotText(_ args: [String]) throws -> String {
    let cmd = try #require(try VSC.parseAsRoot(["ir", "dot"] + args) as? IRCommand.Dot)
    return DotPrinter.print(try cmd.stage(try cmd.source()))
}

/// Every input `vsc ir dot` is tried on here: the IR samples as written and optimised, one
/// stage of the pipeline, the tiny VSC's train graph and its whole training step.
func dotCases() -> [[String]] {
    let dir = repoRoot.appendingPathComponent("Samples/ir")
    let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".ir") }.sorted()
    let spec = repoRoot.appendingPathComponent("Samples/vsc-smiley-tiny.yaml").path
    return files.flatMap { f -> [[String]] in
        let p = dir.appendingPathComponent(f).path
        return [[p, "--passes", "none"], [p], [p, "--dump-ir-after=cse"]]
    } + [["--spec", spec, "--batch-size", "4"], ["--spec", spec, "--train-step", "--batch-size", "4"]]
}

@Test(.enabled(if: dotExecutable != nil, "graphviz's dot is not installed (bash .ci/setup installs it): DOT output not checked"),
      arguments: dotCases())
func dotParsesEveryOutput(args: [String]) throws {
    let text = try dotText(args)
    // The same call `--render` makes, to a format that only parses: an error is dot's complaint.
    do { try runDot(text, arguments: ["-Tcanon", "-o", "/dev/null"]) }
    catch { Issue.record("dot rejected the output of vsc ir dot \(args.joined(separator: " ")): \(error)") }
}

@Test func dotShowsKernelsAsClustersAndLayersInLabels() throws {
    let spec = repoRoot.appendingPathComponent("Samples/vsc-smiley-tiny.yaml").path
    let cmd = try #require(try VSC.parseAsRoot(["ir", "dot", "--spec", spec, "--batch-size", "4"]) as? IRCommand.Dot)
    let g = try cmd.stage(try cmd.source())
    let regions = g.nodes.filter {
        switch $0.op {
        case .fused: return true
        case .matmul(let m): return m.epilogue != nil
        default: return false
        }
    }.count
    let text = DotPrinter.print(g)
    #expect(regions > 10)
    #expect(text.components(separatedBy: "subgraph cluster_").count - 1 == regions)
    #expect(text.contains("enc.h0 · \(spec):11") || text.contains("enc.h0 · "))
    // The loss is highlighted, parameters shaded.
    #expect(text.contains("out0 [label=\"loss\", shape=oval, style=filled, fillcolor=\"#f8d7da\", penwidth=2"))
    #expect(text.contains("parameter \\\"enc.h0.w\\\""))
}

@Test func dotRefusesAmbiguousRequests() {
    #expect(throws: (any Error).self) { try VSC.parseAsRoot(["ir", "dot"]) }
    #expect(throws: (any Error).self) { try VSC.parseAsRoot(["ir", "dot", "a.ir", "--render", "png"]) }
    #expect(throws: (any Error).self) { try VSC.parseAsRoot(["ir", "dot", "a.ir", "--render", "gif", "-o", "x"]) }
    #expect(throws: (any Error).self) { try VSC.parseAsRoot(["ir", "dot", "a.ir", "--dump-ir-after=all"]) }
}
