import Foundation
import Testing
import IR
import Models
import Passes
import Runtime
@testable import JIT

// The JIT's all-reduce steps in one process (the identity there): a bucket is started at its node,
// tested after each later step, and waited for before its first reader. The runs over two ranks
// are in Tests/vscTests/DataParallelTrainTests.swift.

@Test func jitRunsTheBucketedDataParallelStepLikeTheInterpreter() throws {
    let spec = try loadSpec(path: repoRootJIT.appendingPathComponent("Samples/vsc-smiley-tiny.yaml").path)
    let model = try makeModel(spec)
    let step = try buildTrainStep(model.trainGraph(batch: 16), loss: GraphNames.loss, optimizer: spec.optimizer,
                                  dataParallel: DataParallel(rank: 1, ranks: 2, batch: 16))
    let optimised = try PassManager.default.run(step).graph
    #expect(optimised.nodes.contains { $0.op == .allReduce })
    let jit = try JITProgram(optimised, pipeline: nil)
    let params = step.parameters.reduce(0) { $0 + step[$1.node].elementCount }
    #expect(jit.allReduceBytes == params * 4)
    var feeds: [String: [Float]] = [:]
    for (k, (name, id)) in (step.parameters + step.inputs).enumerated() {
        var v = testValues(step[id].elementCount, seed: UInt64(k) + 1, -0.5, 0.5)
        if name.hasPrefix("adam.v.") { v = v.map { $0 * $0 } }
        if name == "adam.t" || name == "step" { v = [3] }
        if name == "lr" { v = [1e-3] }
        feeds[name] = v
    }
    // The same step without buckets (one all-reduce per gradient, each blocking in place of the
    // bucket's start/test/wait): the same values, bit for bit — buckets only move data.
    let unbucketed = try JITProgram(try PassManager(pipeline: "simplify,cse,dce,fuse-elementwise,fuse-gemm-epilogue").run(step).graph,
                                    pipeline: nil)
    for p in [jit, unbucketed] as [Program] {
        for (k, v) in feeds { try p.set(k, v) }
        try p.run()
    }
    for o in step.outputs { #expect(jit.values(o.name) == unbucketed.values(o.name), "\(o.name)") }
    #expect(jit.allReduceWaitSeconds == 0)
}

/// The repository root, from this file's path (Tests/JITTests/…).
let repoRootJIT = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

