import Foundation
import Testing
import IR
@testable import Passes
import Runtime

// The `allreduce` op and the data-parallel train step, in one process (where an all-reduce is the
// identity). The runs over two ranks are in Tests/vscTests/DataParallelTrainTests.swift.

@Suite struct DataParallel_ {
    @Test func allReduceRoundTripsAndIsTheIdentityOnOneRank() throws {
        let text = try String(contentsOf: passesRepoRoot.appendingPathComponent("Samples/ir/allreduce.ir"), encoding: .utf8)
        let g = try parseIR(text)
        #expect(IRPrinter.print(g) == text)
        #expect(g.nodes.filter { $0.op == .allReduce }.count == 3)
        let feeds = seededFeeds(g, seed: 7)
        let out = try runF32(g, feeds)
        #expect(out["w1_sum"] == feeds["w1"])
        #expect(out["w2_sum"] == feeds["w2"])
        // Shape rule: one operand, its shape.
        #expect { try parseIR("graph @g {\n  %0 = input \"x\" : f32[2]\n  %1 = allreduce(%0, %0) : f32[2]\n}\n") }
            throws: { "\($0)".contains("allreduce: expects 1 operand(s), got 2") }
        #expect { try parseIR("graph @g {\n  %0 = input \"x\" : f32[2]\n  %1 = allreduce(%0) : f32[3]\n}\n") }
            throws: { "\($0)".contains("allreduce: declared shape [3] but operands give [2]") }
        // Never folded: its value depends on the other ranks.
        let c = Graph(name: "c")
        try c.output("y", try c.constant(2, shape: [3]).allReduce())
        #expect(try Simplify.run(c).nodes.contains { $0.op == .allReduce })
    }

    /// y = Σ_r x_r on every rank and L = Σ_s L_s(y), so ∂L/∂x_r = Σ_s ∂L_s/∂y: the VJP of an
    /// all-reduced sum is the all-reduce of the cotangent. On one rank both are the identity,
    /// which finite differences confirm.
    @Test func allReduceVJPIsTheAllReduceOfTheCotangent() throws {
        let g = Graph(name: "allreduce_vjp")
        let x = try g.parameter("x", [3, 4])
        let y = try x.allReduce()
        try g.output("loss", weightedSum(y))
        let grads = try grad(of: g.output("loss")!, wrt: [x.id], in: g)
        let dx = g[grads[0]]
        #expect(dx.op == .allReduce)
        // Its operand is the cotangent of y: w, the weights of the weighted sum (broadcast-free).
        #expect(g[dx.inputs[0]].shape == [3, 4])
        try expectGradientsMatch(g)
    }

    @Test func rankNoiseIsItsRowsOfTheGlobalBatchNoise() throws {
        func model(batch: Int) throws -> Graph {
            let g = Graph(name: "noise")
            let step = try g.input("step", [])
            let n = try g.randomNormal([batch, 3], key: step, seed: 5)
            let u = try g.randomUniform([batch, 3], key: step, seed: 6)
            let shared = try g.randomNormal([7], key: step, seed: 8)  // not batch-shaped: the same on every rank
            try g.output("n", n); try g.output("u", u); try g.output("shared", shared)
            return g
        }
        let global = try runF32(model(batch: 6), ["step": [3]])
        for rank in 0..<3 {
            let g = try DataParallel(rank: rank, ranks: 3, batch: 2).partitionNoise(model(batch: 2))
            let mine = try runF32(g, ["step": [3]])
            for name in ["n", "u"] {
                #expect(mine[name]! == Array(global[name]![(rank * 6)..<((rank + 1) * 6)]), "\(name) on rank \(rank)")
            }
            #expect(mine["shared"] == global["shared"])
        }
    }

    @Test func dataParallelStepAveragesEveryGradientAndOneProcessHasNoAllReduce() throws {
        let url = passesRepoRoot.appendingPathComponent("Samples/ir/mlp.ir")
        let g = try parseIR(try String(contentsOf: url, encoding: .utf8))
        let single = try buildTrainStep(g, loss: "loss", optimizer: .adam())
        #expect(!single.nodes.contains { $0.op == .allReduce })
        #expect(IRPrinter.print(try buildTrainStep(g, loss: "loss", optimizer: .adam(),
                                                   dataParallel: DataParallel(rank: 0, ranks: 1, batch: 16))) == IRPrinter.print(single))
        let step = try buildTrainStep(g, loss: "loss", optimizer: .adam(), dataParallel: DataParallel(rank: 0, ranks: 2, batch: 16))
        let reduces = step.nodes.indices.filter { step[$0].op == .allReduce }
        #expect(reduces.count == g.parameters.count)
        // Each is scaled by 1/N before the update.
        for r in reduces {
            #expect(step.nodes.contains { n in n.op == .binary(.mul) && n.inputs.contains(r) })
        }
        // On one process the all-reduce is the identity: the step is the single-process step with
        // its gradients halved, so it differs, and the pipeline (bucketing) keeps its values.
        let r = try strictManager().run(step)
        let buckets = r.graph.nodes.filter { $0.op == .allReduce }
        #expect(buckets.count == 1, "the small gradients share one bucket")
        #expect(BucketAllReduce.bytesPerStep(r.graph) == g.parameters.reduce(0) { $0 + g[$1.node].elementCount } * 4)
        for seed: UInt64 in [1, 2] {
            let feeds = trainFeeds(step, seed: seed)
            let d = maxRelativeDifference(try runF32(step, feeds), try runF32(r.graph, feeds))
            #expect(d < 1e-5, "seed \(seed): \(d)")
        }
    }

    @Test func bucketsFollowTheBackwardOrderAndKeepTheirSize() throws {
        // Four gradients of 1 MiB: with at most 2 buckets of ≥ 1 MiB, two buckets of two, the
        // first holding the gradients computed first.
        let g = Graph(name: "buckets")
        var reduces: [Tensor] = []
        var prev = try g.input("x", [512, 512])
        for k in 0..<4 {
            prev = try prev.binary(.mul, g.parameter("p\(k)", [512, 512]))
            reduces.append(prev)
        }
        for (k, t) in reduces.reversed().enumerated() { try g.output("r\(k)", try t.allReduce()) }
        let b = try BucketAllReduce.run(g, maxBuckets: 2, minimumBucketBytes: 1 << 20)
        let buckets = b.nodes.indices.filter { b[$0].op == .allReduce }
        #expect(buckets.map { b[$0].elementCount } == [2 * 512 * 512, 2 * 512 * 512])
        // The first bucket comes right after the second gradient, before the third is computed.
        let third = b.nodes.firstIndex { $0.op == .binary(.mul) && $0.inputs.contains { b[$0].op == .parameter("p2") } }!
        #expect(buckets[0] < third)
        let feeds = seededFeeds(g, seed: 3)
        #expect(maxRelativeDifference(try runF32(g, feeds), try runF32(b, feeds)) == 0)
        // Once bucketed, the pass changes nothing.
        #expect(IRPrinter.print(try BucketAllReduce.run(b, maxBuckets: 2, minimumBucketBytes: 1 << 20)) == IRPrinter.print(b))
    }
}
