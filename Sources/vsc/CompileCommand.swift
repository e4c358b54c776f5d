import ArgumentParser
import Foundation
import IR
import Models
import Passes
import Runtime
import Train

struct CompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Show a spec's training-step program (forward, backward, Adam) after the optimisation pipeline, its peak memory and FLOPs.",
        discussion: """
            Builds the model's train graph, adds gradients and the Adam update (one program per \
            step), runs the pass pipeline and prints the resulting IR, then a summary: node counts \
            before and after, fused kernels, matmuls, peak intermediate memory (PlanMemory) and \
            FLOPs per step. Dumps after passes go to stderr, each headed `// IR Dump After …`. \
            With --ranks N, the step rank 0 runs in `mpirun -np N vsc train`: the batch split N ways, \
            the gradients all-reduced in buckets; the summary gives the bytes each step \
            communicates (also without --ranks, for the gradients of a data-parallel run).

            Examples:
              vsc compile --spec Samples/vsc-smiley-tiny.yaml --summary-only
              vsc compile --spec Samples/vsc-smiley-tiny.yaml --dump-ir-after=cse
              vsc compile --spec Samples/vsc-smiley-tiny.yaml --ranks 2 --summary-only
            """)

    @Option(help: "The model spec (YAML).") var spec: String
    @OptionGroup var pipeline: PipelineOptions
    @Flag(help: "Only the summary, not the final IR.") var summaryOnly = false
    @OptionGroup var batchSizeOption: BatchSizeOption
    @Option(help: "Show the data-parallel step of rank 0 of N (the global batch split N ways).") var ranks: Int = 1

    func validate() throws {
        if ranks < 1 { throw ValidationError("--ranks must be ≥ 1, got \(ranks)") }
    }

    func run() throws {
        let (spec, _) = try readSpec(self.spec)
        let model = try makeModel(spec)
        let global = batchSizeOption.value ?? spec.batchSize
        guard global % ranks == 0 else {
            throw CLIError("error: the batch size \(global) does not split over --ranks \(ranks): choose a multiple of \(ranks)")
        }
        let b = global / ranks
        let step = try model.trainStepGraph(batch: b, dataParallel: ranks > 1 ? DataParallel(rank: 0, ranks: ranks, batch: b) : nil)
        var pm: PassManager
        do { pm = try pipeline.passManager() } catch let e as PassError { throw CLIError(e.message) }
        pm.collectStats = true
        let result: PassManager.Result
        do { result = try pm.run(step) }
        catch let e as PassError { throw CLIError(e) }
        if !summaryOnly { print(IRPrinter.print(result.graph), terminator: "") }
        if pipeline.passStats { print(PassManager.formatStats(result.stats), terminator: "") }
        let before = GraphStats(step), after = result.stats.last?.stats ?? GraphStats(result.graph)
        let params = result.graph.parameters.reduce(0) { $0 + result.graph[$1.node].elementCount }
        print("// train step of \(spec.name) (\(spec.kind.facts.name)), batch \(b): forward + backward + Adam")
        print("// pipeline: \(pipeline.passes)")
        print("// nodes: \(before.nodes) → \(after.nodes); executable \(before.executable) → \(after.executable); fused kernels \(after.kernels); matmuls \(after.matmuls)")
        print("// parameters: \(result.graph.parameters.count) tensors, \(params) values; inputs \(result.graph.inputs.count); outputs \(result.graph.outputs.count)")
        let plan = PlanMemory.plan(result.graph)
        print("// peak intermediate memory: \(bytes(after.peakBytes)) (arena \(bytes(plan.arenaBytes)); without reuse \(bytes(plan.totalBufferBytes)); parameters, inputs and constants \(bytes(plan.persistentBytes)))")
        print("// FLOPs per step: \(flops(after.flops)) (\(after.flops))")
        // Per-step communication: the gradients (the all-reduces' payload), and what a ring
        // all-reduce moves through each rank's link.
        let buckets = BucketAllReduce.buckets(result.graph)
        let payload = ranks > 1 ? BucketAllReduce.bytesPerStep(result.graph)
            : result.graph.parameters.reduce(0) { $0 + result.graph[$1.node].elementCount * result.graph[$1.node].dtype.byteSize }
        if ranks > 1 {
            print("// data-parallel: \(ranks) ranks × batch \(b) (global \(global)); all-reduce \(payload) bytes/step (\(bytes(payload)))"
                  + " in \(buckets.count) bucket(s) [\(buckets.map { bytes($0.bytes) }.joined(separator: ", "))];"
                  + " a ring all-reduce sends and receives \(bytes(Int(BucketAllReduce.ringBytesPerRank(payload: payload, ranks: ranks)))) per rank per step")
        } else {
            print("// communication: none (one process); over N ranks each step all-reduces the gradients, \(payload) bytes (\(bytes(payload))): see --ranks N")
        }
        let convolutions = result.graph.nodes.compactMap { n in
            ConvGeometry.of(n.op, operands: n.inputs.map { result.graph[$0].shape }, result: n.shape)
        }
        if let scratch = convolutions.map(Convolution.scratchCount).max() {
            // Both backends lay out each convolution's receptive fields in an im2col matrix; the
            // JIT keeps one, of the largest convolution, beside the arena.
            print("// convolutions: \(convolutions.count); im2col scratch \(bytes(scratch * 4)) (the largest, Float32)")
        }
    }
}
