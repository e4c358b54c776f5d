import Foundation
import Testing
import IR
import Models
import Passes
import Runtime
@testable import JIT

/// Runs `steps` Adam steps of `forward`'s "loss" on both backends (the JIT compiles the
/// optimised graph with `gemm` computing its matmuls, the interpreter runs the unoptimised one)
/// and returns both loss curves.
func trainBoth(_ forward: Graph, params: [String: [Float]], inputs: (Int) -> [String: [Float]], steps: Int,
               lr: Float, optimizer: Optimizer = .adam(), gemm: GEMMKernel = .hostDefault,
               precision: MatmulPrecision = .fp32) throws -> (interp: [Float], jit: [Float]) {
    let step = try buildTrainStep(forward, loss: "loss", optimizer: optimizer)
    let programs: [Program] = [InterpreterProgram(step), try JITProgram(step, gemm: gemm, precision: precision)]
    var curves: [[Float]] = [[], []]
    for (k, p) in programs.enumerated() {
        for (name, id) in step.parameters + step.inputs where name.hasPrefix("adam.") {
            try p.set(name, [Float](repeating: 0, count: step[id].elementCount))
        }
        for (name, v) in params { try p.set(name, v) }
        try p.set("lr", scalar: lr)
        p.carryOutputs(prefix: "new.")
        for t in 0..<steps {
            for (name, v) in inputs(t) { try p.set(name, v) }
            if step.leaf(named: "adam.t") != nil { try p.set("adam.t", scalar: Float(t + 1)) }
            try p.run()
            curves[k].append(p.values("loss")![0])
        }
    }
    return (curves[0], curves[1])
}

func relativeDifference(_ a: Float, _ b: Float) -> Double {
    Double(Swift.abs(a - b)) / max(1e-6, Double(Swift.abs(a)), Double(Swift.abs(b)))
}

/// A one-hidden-layer tanh MLP regressing y with a squared-error "loss": batch × inputs →
/// hidden → outputs, with seeded parameters (first-layer weights in ±`w1Scale`).
func tanhMLP(_ name: String, batch: Int, inputs: Int, hidden: Int, outputs: Int,
             w1Scale: Float) throws -> (graph: Graph, params: [String: [Float]]) {
    let g = Graph(name: name)
    let x = try g.input("x", [batch, inputs]), y = try g.input("y", [batch, outputs])
    let w1 = try g.parameter("w1", [inputs, hidden]), b1 = try g.parameter("b1", [hidden])
    let w2 = try g.parameter("w2", [hidden, outputs]), b2 = try g.parameter("b2", [outputs])
    let h = try (x.matmul(w1) + b1).tanh()
    try g.output("loss", try (h.matmul(w2) + b2 - y).square().sum(axes: [1]).mean())
    let params = ["w1": testValues(inputs * hidden, seed: 1, -w1Scale, w1Scale), "b1": testValues(hidden, seed: 2, -0.1, 0.1),
                  "w2": testValues(hidden * outputs, seed: 3, -0.3, 0.3), "b2": testValues(outputs, seed: 4, -0.1, 0.1)]
    return (g, params)
}

@Test(arguments: GEMMKernel.allCases)
func mlpTrainStepAgreesOver100Iterations(gemm: GEMMKernel) throws {
    let (g, params) = try tanhMLP("mlp_train", batch: 32, inputs: 20, hidden: 64, outputs: 4, w1Scale: 0.3)
    let target = testValues(32 * 4, seed: 6)
    let (a, b) = try trainBoth(g, params: params, inputs: { t in ["x": testValues(32 * 20, seed: 100 + UInt64(t % 5)), "y": target] },
                               steps: 100, lr: 1e-2, gemm: gemm)
    #expect(a.last! < a.first! * 0.5, "the loss decreases: \(a.first!) → \(a.last!)")
    let worst = zip(a, b).map(relativeDifference).max()!
    #expect(worst < 1e-4, "worst relative loss difference over 100 steps: \(worst)")
}

/// A train step whose forward and backward GEMMs are split over the thread pool, with fused
/// kernels between them: the split GEMMs' argument blocks must not disturb the kernels' pointers
/// (they once did, and corrupted the heap on the first real model).
@Test(arguments: GEMMKernel.allCases)
func trainStepWithSplitGEMMsAgrees(gemm: GEMMKernel) throws {
    let (g, params) = try tanhMLP("split_train", batch: 256, inputs: 300, hidden: 64, outputs: 8, w1Scale: 0.1)
    let step = try buildTrainStep(g, loss: "loss", optimizer: .sgd)
    #expect(try JITProgram(step, gemm: gemm).splitGEMMCount >= 2)
    let target = testValues(256 * 8, seed: 6)
    let (a, b) = try trainBoth(g, params: params, inputs: { t in ["x": testValues(256 * 300, seed: 100 + UInt64(t % 3)), "y": target] },
                               steps: 10, lr: 1e-3, optimizer: .sgd, gemm: gemm)
    let worst = zip(a, b).map(relativeDifference).max()!
    #expect(worst < 1e-4, "\(gemm): worst relative loss difference over 10 steps: \(worst)\n\(a)\n\(b)")
}

/// Every model kind: the JIT and the interpreter agree on the train step of the tiny specs.
/// Plain SGD here: Adam's first steps turn gradients at rounding-noise level (≈1e-9, of either
/// sign on either backend) into full ±lr steps, so Adam trajectories of two correct backends
/// drift apart by design; SGD keeps differences proportional to the gradients'.
@Test(arguments: ["vsc-smiley-tiny", "betavae-smiley-tiny", "betatcvae-smiley-tiny", "vsc-fashion-tiny", "convvsc-fashion-tiny"], GEMMKernel.allCases)
func tinyModelTrainStepsAgree(name: String, gemm: GEMMKernel) throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var spec = try loadSpec(path: root.appendingPathComponent("Samples/\(name).yaml").path)
    spec.batchSize = 8
    try trainStepsAgree(spec, name: name, gemm: gemm)
}

/// The budget VSC's prior options (mixture bound, N(0, 1) or pseudo-input slabs, bounded spikes,
/// the spike-logit penalty, signed inputs) on a narrow copy of the main job's spec.
@Test(arguments: ModelSpec.PriorSlab.allCases, GEMMKernel.allCases)
func budgetVSCTrainStepsAgree(slab: ModelSpec.PriorSlab, gemm: GEMMKernel) throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var spec = try loadSpec(path: root.appendingPathComponent("Samples/budget/vsc-smiley-h500-16k.yaml").path)
    spec.hidden = [32]; spec.latent = 8; spec.prior.pseudoInputs = 4; spec.batchSize = 8; spec.prior.slab = slab
    try trainStepsAgree(spec, name: "budget VSC, slab \(slab)", gemm: gemm)
}

func trainStepsAgree(_ spec: ModelSpec, name: String, gemm: GEMMKernel) throws {
    let model = try makeModel(spec)
    let g = try model.trainGraph(batch: spec.batchSize)
    let d = spec.inputDim
    let (a, b) = try trainBoth(g, params: model.initialParameters(seed: 3), inputs: { t in
        var f: [String: [Float]] = ["x": testValues(8 * d, seed: 50 + UInt64(t % 3), 0, 1)]
        let s = schedule(spec, iteration: t)
        f["lambda"] = [Float(max(s.lambda, 0.5))]; f["c"] = [Float(s.c)]; f["step"] = [Float(t)]; f["reg_weight"] = [1]
        f["dataset_size"] = [Float(spec.data.count)]
        return f.filter { k, _ in g.leaf(named: k) != nil }
    }, steps: 20, lr: 1e-4, optimizer: .sgd, gemm: gemm)
    let worst = zip(a, b).map(relativeDifference).max()!
    #expect(worst < 1e-4, "\(name), GEMM \(gemm): worst relative loss difference over 20 steps: \(worst)\n\(a)\n\(b)")
}

@Test func adamUpdatesWriteInPlaceIntoTheirLeaves() throws {
    let g = Graph(name: "inplace")
    let x = try g.input("x", [16, 8]), w = try g.parameter("w", [8, 4]), b = try g.parameter("b", [4])
    try g.output("loss", try (x.matmul(w) + b).square().mean())
    let step = try buildTrainStep(g, loss: "loss", optimizer: .adam())
    let p = try JITProgram(step)
    p.carryOutputs(prefix: "new.")
    // w, b and their two moments each: the update kernels write into the leaves, no copies.
    #expect(p.inPlaceCarries == 6)
}

/// The functions of an LLVM module's text, by name: the lines from `define … @name(` to `}`.
func llvmFunctions(_ module: String) -> [String: String] {
    var out: [String: String] = [:], name: String?, body: [Substring] = []
    for line in module.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("define "), let at = line.firstIndex(of: "@"), let paren = line[at...].firstIndex(of: "(") {
            name = String(line[line.index(after: at)..<paren]); body = [line]
        } else if let n = name {
            body.append(line)
            if line == "}" { out[n] = body.joined(separator: "\n"); name = nil }
        }
    }
    return out
}

/// Issue 16: every loop kernel of the paper net's train step (Samples/vsc-fashion.yaml: 784→3000→60,
/// U = 20, batch 500, Adam) whose innermost loop has independent iterations and is at least 16
/// wide comes out of O3 with vector code — in-place Adam updates and kernels over more than 8
/// buffers included, which without `llvm.loop.parallel_accesses` ran as scalar loops behind alias
/// checks that always failed (a vector loop behind a `vector.memcheck` counts as scalar). Exempt, with the reason: kernels that draw normals (libm `logf`/`cosf`
/// calls per element have no vector form here).
@Test func paperNetTrainStepKernelsVectorise() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let spec = try loadSpec(path: root.appendingPathComponent("Samples/vsc-fashion.yaml").path)
    let g = try makeModel(spec).trainGraph(batch: spec.batchSize)
    let p = try JITProgram(try buildTrainStep(g, loss: "loss", optimizer: .adam()))
    let functions = llvmFunctions(p.module.irAfter)
    var checked = 0, scalar: [String] = []
    for (k, nest) in p.kernelNests.enumerated() {
        let drawsNormals = nest.ops.contains { if case .random(normal: true, _, _) = $0 { return true } else { return false } }
        guard Emitter.parallelLoops(nest).last!, nest.shape.last! >= 16, !drawsNormals else { continue }
        let name = p.kernelNames[k]
        let body = try #require(functions[name], "\(name) is not in the optimised module")
        checked += 1
        if !body.contains(" x float>") || body.contains("memcheck") { scalar.append("\(name) shape \(nest.shape), \(nest.ops.count) ops, \(nest.slots) slots") }
    }
    #expect(checked > 50, "only \(checked) kernels checked")
    #expect(scalar.isEmpty, "\(scalar.count) of \(checked) kernels have no vector code:\n\(scalar.joined(separator: "\n"))")
}
