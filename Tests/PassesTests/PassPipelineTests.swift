import Foundation
import Testing
import IR
@testable import Passes
import Runtime

// MARK: Pass manager

@Test func pipelineTextParses() throws {
    let ps = try PassManager.parsePipeline("simplify,cse, dce,fuse-elementwise,fuse-gemm-epilogue")
    #expect(ps.map(\.name) == ["simplify", "cse", "dce", "fuse-elementwise", "fuse-gemm-epilogue"])
    #expect(try PassManager.parsePipeline("Simplify,CSE").map(\.name) == ["simplify", "cse"])
    #expect(PassManager.default.passes.map(\.name) == ps.map(\.name) + ["bucket-allreduce"])
}

@Test func unknownPassIsAnError() {
    #expect {
        _ = try PassManager(pipeline: "simplify,fuse")
    } throws: { e in "\(e)".contains("unknown pass 'fuse'") }
}

@Test func verifierNamesTheBrokenPass() throws {
    // A deliberately wrong pass: wraps a transpose into a fused kernel (breaks the body contract).
    let bad = Pass("wrap-transpose", title: "WrapTranspose") { g in
        let out = Graph(name: g.name)
        let x = try out.add(.input("x"), shape: [2, 3])
        let body = FusedKernel(nodes: [Node(op: .arg(0), dtype: .f32, shape: [2, 3], inputs: []),
                                       Node(op: .transpose([1, 0]), dtype: .f32, shape: [3, 2], inputs: [0])], result: 1)
        out.setOutput("y", try out.add(.fused(body), inputs: [x], shape: [3, 2]))
        return out
    }
    let g = try parseIR("graph @t {\n  %0 = input \"x\" : f32[2,3]\n  %1 = neg(%0) : f32[2,3]\n  output %1 as \"y\"\n}\n")
    let pm = PassManager([.simplify, bad, .dce])
    #expect {
        _ = try pm.run(g)
    } throws: { e in
        let s = "\(e)"
        return s.contains("after pass 'wrap-transpose'") && s.contains("transpose")
    }
}

@Test func dumpsAreHeadedAndParseBack() throws {
    let text = try String(contentsOf: passesRepoRoot.appendingPathComponent("Samples/ir/mlp.ir"), encoding: .utf8)
    var pm = try strictManager()
    pm.dumpIRAfter = ["all"]
    let r = try pm.run(try parseIR(text))
    #expect(r.dumps.map(\.pass) == ["simplify", "cse", "dce", "fuse-elementwise", "fuse-gemm-epilogue", "bucket-allreduce"])
    for d in r.dumps {
        #expect(d.text.hasPrefix("// IR Dump After "))
        let back = try parseIR(d.text)
        #expect(d.text.hasSuffix(IRPrinter.print(back)))
    }
    #expect(r.dumps[3].text.hasPrefix("// IR Dump After FuseElementwise (fuse-elementwise)\n"))
    // Only the named pass.
    pm.dumpIRAfter = ["dce"]
    #expect(try pm.run(try parseIR(text)).dumps.map(\.pass) == ["dce"])
}

@Test func statsCountExecutableNodes() throws {
    let text = try String(contentsOf: passesRepoRoot.appendingPathComponent("Samples/ir/mlp.ir"), encoding: .utf8)
    let r = try strictManager().run(try parseIR(text))
    let first = r.stats.first!.stats, last = r.stats.last!.stats
    // mlp.ir: 2 matmuls, 2 broadcasts, add, relu, add, sub, square, reduce = 10.
    #expect(first.executable == 10)
    #expect(first.matmuls == 2 && first.kernels == 0)
    // After: matmul+epilogue(bias, relu), matmul+epilogue(bias), loss kernel.
    #expect(last.executable == 3)
    #expect(last.matmuls == 2 && last.kernels == 1)
    #expect(last.peakBytes < last.bytes)
    let table = PassManager.formatStats(r.stats)
    #expect(table.contains("(input)") && table.contains("fuse-gemm-epilogue"))
    #expect(table.split(separator: "\n").allSatisfy { $0.hasPrefix("//") })
}

// MARK: Same outputs before and after the whole pipeline

@Test(arguments: sampleIRPaths())
func samplesGiveSameOutputsAfterPipeline(file: String) throws {
    let url = passesRepoRoot.appendingPathComponent("Samples/ir/\(file)")
    let g = try parseIR(try String(contentsOf: url, encoding: .utf8), file: file)
    let r = try strictManager().run(g)
    let opt = r.graph
    #expect(opt.outputs.map(\.name) == g.outputs.map(\.name))
    for seed: UInt64 in [1, 2, 3] {
        let feeds = seededFeeds(g, seed: seed)
        let d = maxRelativeDifference(try runF32(g, feeds), try runF32(opt, feeds))
        #expect(d < 1e-5, "\(file) seed \(seed): max relative difference \(d)")
    }
    for d in r.dumps { _ = try parseIR(d.text) }
}

@Test(arguments: Array(UInt64(0)..<120))
func randomGraphsGiveSameOutputsAfterPipeline(seed: UInt64) throws {
    let g = try randomGraph(seed: seed)
    try g.verify()
    let r = try strictManager().run(g)
    let feeds = seededFeeds(g, seed: seed)
    let before = try runF32(g, feeds), after = try runF32(r.graph, feeds)
    let d = maxRelativeDifference(before, after)
    #expect(d < 1e-5, "seed \(seed): max relative difference \(d)\n\(IRPrinter.print(g, locations: false))\n\(IRPrinter.print(r.graph, locations: false))")
    // Every pass alone preserves the outputs too.
    for p in PassManager.default.passes {
        var pm = PassManager([p]); pm.verifyRoundTrip = true
        let one = try pm.run(g).graph
        #expect(maxRelativeDifference(before, try runF32(one, feeds)) < 1e-5, "seed \(seed): pass \(p.name)")
    }
    // The pipeline is idempotent in executable-node count.
    let again = try PassManager.default.run(r.graph).graph
    #expect(GraphStats(again).executable <= GraphStats(r.graph).executable)
}

@Test func randomGraphsShrink() throws {
    var before = 0, after = 0
    for seed: UInt64 in 0..<40 {
        let g = try randomGraph(seed: seed)
        before += GraphStats(g).executable
        after += GraphStats(try PassManager.default.run(g).graph).executable
    }
    #expect(after * 2 < before, "executable nodes \(before) → \(after)")
}

/// Rule 9: a long elementwise chain (2,000 ops, and a matmul whose epilogue would absorb it) is
/// split into kernels of at most `FusedKernelContract.maxNodes` nodes, the strict pipeline's
/// contract check passes, and the values are those of the unfused graph.
@Test func longChainsAreSplitIntoBoundedKernels() throws {
    let g = Graph(name: "chain")
    let a = try g.input("a", [4, 8]), w = try g.input("w", [8, 8])
    var x = try a.matmul(w)
    for k in 0..<2000 { x = k % 3 == 0 ? try (x * 0.999).tanh() : (k % 3 == 1 ? x + 0.001 : try x.maximum(-5)) }
    try g.output("y", x)
    let r = try strictManager().run(g)
    var kernels = 0
    for n in r.graph.nodes {
        if case .fused(let k) = n.op {
            kernels += 1
            #expect(k.nodes.count <= FusedKernelContract.maxNodes)
        }
        if case .matmul(let m) = n.op, let e = m.epilogue { #expect(e.nodes.count <= FusedKernelContract.maxNodes) }
    }
    #expect(kernels >= 2000 / FuseElementwise.maxRegionMembers - 1, "\(kernels) kernels")
    let feeds = seededFeeds(g, seed: 7)
    #expect(maxRelativeDifference(try runF32(g, feeds), try runF32(r.graph, feeds)) < 1e-5)
}
