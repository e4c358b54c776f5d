import Foundation
import Testing
import IR
@testable import Passes
import Runtime

/// The MLP train step (forward + backward + Adam) of a sample IR file.
func trainStep(_ sample: String, loss: String = "loss") throws -> Graph {
    let url = passesRepoRoot.appendingPathComponent("Samples/ir/\(sample)")
    let g = try parseIR(try String(contentsOf: url, encoding: .utf8), file: sample)
    return try buildTrainStep(g, loss: loss, optimizer: .adam())
}

/// Feeds for a train step: seeded values, positive second moments, a step count and a small lr.
func trainFeeds(_ g: Graph, seed: UInt64) -> [String: [Float]] {
    var f = seededFeeds(g, seed: seed)
    for (name, _) in g.inputs {
        if name.hasPrefix("adam.v.") { f[name] = f[name]!.map { $0 * $0 * 0.01 } }
        if name == "adam.t" { f[name] = [3] }
        if name == "lr" { f[name] = [0.01] }
    }
    return f
}

@Suite struct PassTrainStep {
    @Test(arguments: ["mlp.ir", "mlp_gaussian.ir"])
    func pipelineShrinksTheTrainStepAndKeepsItsOutputs(sample: String) throws {
        let g = try trainStep(sample)
        let r = try strictManager().run(g)
        let before = r.stats.first!.stats, after = r.stats.last!.stats
        #expect(before.executable >= 3 * after.executable,
                "\(sample): executable nodes \(before.executable) → \(after.executable)\n\(PassManager.formatStats(r.stats))")
        let plan = PlanMemory.plan(r.graph)
        #expect(plan.peakBytes < plan.totalBufferBytes)
        #expect(r.graph.outputs.map(\.name) == g.outputs.map(\.name))
        #expect(Set(r.graph.parameters.map(\.name)) == Set(g.parameters.map(\.name)))
        #expect(Set(r.graph.inputs.map(\.name)) == Set(g.inputs.map(\.name)))
        for seed: UInt64 in [11, 12] {
            let feeds = trainFeeds(g, seed: seed)
            let d = maxRelativeDifference(try runF32(g, feeds), try runF32(r.graph, feeds))
            #expect(d < 1e-5, "\(sample) seed \(seed): max relative difference \(d)")
        }
        for d in r.dumps { _ = try parseIR(d.text) }
    }

    @Test func planMemoryReusesBuffersOnTheMLP() throws {
        for g in [try trainStep("mlp.ir"), try PassManager.default.run(try trainStep("mlp.ir")).graph] {
            let p = PlanMemory.plan(g)
            #expect(p.peakBytes < p.totalBufferBytes)
            #expect(p.peakBytes <= p.arenaBytes)
            #expect(p.flops > 0)
            try checkPlan(p, g)
        }
    }
}

/// No two arena buffers that are live at the same time overlap; outputs are live to the end.
func checkPlan(_ p: MemoryPlan, _ g: Graph) throws {
    let arena = g.nodes.indices.filter { p.storage[$0] == .arena }
    for o in g.outputs {
        let r = p.storage[o.node] == .alias ? p.aliasOf[o.node] : o.node
        if p.storage[r] == .arena { #expect(p.lastUse[r] == g.count) }
    }
    for (x, i) in arena.enumerated() {
        #expect(p.offset[i] % p.alignment == 0)
        #expect(p.offset[i] + p.bytes[i] <= p.arenaBytes)
        for j in arena[(x + 1)...] where j <= p.lastUse[i] {
            // j is defined while i is live.
            let disjoint = p.offset[i] + p.bytes[i] <= p.offset[j] || p.offset[j] + p.bytes[j] <= p.offset[i]
            #expect(disjoint || p.bytes[i] == 0 || p.bytes[j] == 0, "%\(i) and %\(j) overlap")
        }
    }
}
