import Foundation
import Testing
import IR
import Models
import Passes
import Runtime
@testable import JIT

// The bf16 GEMM (`MatmulPrecision.bf16`, GEMMEmitterBF16.swift). Its error has two parts:
//  - rounding the operands: bfloat16 keeps 8 significant bits (7 stored), so round-to-nearest
//    moves each operand by at most 2⁻⁸ of itself (half a unit in the 8th bit), and a product a·b
//    by at most (1 + 2⁻⁸)² − 1 < 2⁻⁷·1.01; summed over k that is at most 2⁻⁷·1.01·Σ|a||b| — a
//    hard bound, whatever the signs (K = 1 shapes come close to it: one product, no cancelling);
//  - the Float32 sums, as for the fp32 GEMM (`gemmError`'s 1e-5·√K·Σ|a||b|).
// The tests check both bounds against a double reference, and, much tighter, that the kernel
// equals the double product of the operands rounded to bfloat16 in Swift up to the fp32 bound
// alone: the rounding is exactly round-to-nearest-even, every operand once, nothing else.

let bf16Available = HostTarget.host.hasAVX512BF16

/// x rounded to bfloat16 (round to nearest, ties to even), as a Float.
func bfloat16(_ x: Float) -> Float {
    let bits = x.bitPattern
    let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
    return Float(bitPattern: rounded & 0xFFFF_0000)
}

/// The worst |ours − exact| / (2⁻⁷·1.01·Σ|a||b| + fp32 bound): ≤ 1 for a correct bf16 GEMM.
func bf16GEMMError(_ s: GEMMShape, ours: UnsafeBufferPointer<Float>, exact: (value: [Double], magnitude: [Double])) -> Double {
    var worst = 0.0
    for e in 0..<(s.m * s.n) {
        let magnitude = max(exact.magnitude[e], 1e-30)
        let bound = 0x1p-7 * 1.01 * magnitude + 1e-5 * Double(s.k).squareRoot() * magnitude
        let error = Swift.abs(Double(ours[e]) - exact.value[e]) / bound
        worst = max(worst, error.isNaN ? .infinity : error)
    }
    return worst
}

/// The awkward shapes of the fp32 tests (sizes 1, 7, 17, 20, 60, 500, 784, 3000; K odd in
/// 1, 7, 17; every transpose), plus odd K over several K blocks and ragged tiles everywhere.
let bf16GEMMShapes: [GEMMShape] = awkwardGEMMShapes + [(33, 65, 531), (500, 60, 785), (13, 47, 257)].flatMap { m, n, k in
    [(false, false), (false, true), (true, false), (true, true)].map { GEMMShape(transA: $0.0, transB: $0.1, m: m, n: n, k: k) }
}

@Test(.enabled(if: bf16Available, "the host has no AVX512_BF16"), arguments: bf16GEMMShapes)
func bf16GEMMMatchesReferences(_ s: GEMMShape) throws {
    let p = try gemmProgram(s, gemm: .jit, precision: .bf16)
    #expect(p.gemmFunctionNames == [GEMMEmitter.functionName(s, precision: .bf16)])
    let (a, b) = try runGEMMOverPoisonedC(p, s)
    let exact = referenceGEMM(s, a, b)
    let error = bf16GEMMError(s, ours: p.output("c")!, exact: exact)
    #expect(error <= 1, "\(s): error \(error) of the bf16 bound against the exact product")
    let rounded = referenceGEMM(s, a.map(bfloat16), b.map(bfloat16))
    let roundingError = gemmError(s, ours: p.output("c")!, reference: rounded)
    #expect(roundingError <= 1, "\(s): error \(roundingError) of the fp32 bound against the product of the bf16-rounded operands")
}

/// bf16 actually rounds (a program that silently ran fp32 would pass the bounds above), and its
/// results are bitwise deterministic across runs and thread schedules, like fp32's.
@Test(.enabled(if: bf16Available, "the host has no AVX512_BF16"))
func bf16GEMMRoundsAndIsDeterministic() throws {
    let s = GEMMShape(transA: false, transB: true, m: 250, n: 300, k: 701)
    let a = testValues(s.m * s.k, seed: 1), b = testValues(s.k * s.n, seed: 2)
    let p = try gemmProgram(s, gemm: .jit, precision: .bf16), f = try gemmProgram(s, gemm: .jit)
    #expect(p.splitGEMMCount == 1)
    for x in [p, f] { try x.set("a", a); try x.set("b", b); try x.run() }
    let first = Array(p.output("c")!)
    #expect(first != Array(f.output("c")!))
    for _ in 0..<10 {
        try p.run()
        #expect(Array(p.output("c")!) == first)
    }
}

/// The converted operands are whole-matrix scratch shared by the chunks; the plan sizes them.
@Test func bf16PlanSizesItsScratch() {
    let p = GEMMPlan(GEMMShape(transA: true, transB: false, m: 500, n: 3000, k: 785), precision: .bf16)
    #expect(p.kc % 2 == 0 && p.kPairs == 393 && p.paddedRows == 528 && p.columnPanels == 94)
    #expect(p.scratchWords == [528 * 393, 94 * 32 * 393] && !p.packsA)
    #expect(p.conversionItems == 528 / 16 + 94)
    #expect(p.microkernels.count == 1 && p.microkernels[0].name == "vsc_gemm_bf16_micro.a1x528.c3000")
}

/// bf16 with OpenBLAS computing the matmuls is refused, naming the flag and the spec key.
@Test func bf16WithBLASIsAnError() throws {
    let s = GEMMShape(transA: false, transB: false, m: 4, n: 4, k: 4)
    do {
        _ = try gemmProgram(s, gemm: .blas, precision: .bf16)
        Issue.record("a bf16 program with gemm: .blas compiled")
    } catch let e as LoweringError {
        #expect(e.description.contains("--gemm jit") && e.description.contains("precision: bf16"), "\(e.description)")
    }
}

/// Every tiny spec's train step with bf16 GEMMs against the interpreter in fp32 (the spec's batch,
/// 20 SGD steps; the convolutions stay fp32, their dense layers run bf16). The documented looser
/// tolerance: relative loss difference ≤ 1e-2 (fp32 JIT: 1e-4; measured 6e-5 to 3.2e-3, the
/// most on vsc-fashion-tiny and vsc-smiley-tiny). Why that size: each operand moves by up to 2⁻⁸ ≈ 4e-3 of itself, so a
/// matmul output by up to 2⁻⁷ of the size of its terms (random signs shrink that, cancellation in
/// the reconstruction's differences grows it); the loss sums thousands of such outputs, and 20
/// steps compound the parameters' drift.
@Test(.enabled(if: bf16Available, "the host has no AVX512_BF16"),
      arguments: ["vsc-smiley-tiny", "betavae-smiley-tiny", "betatcvae-smiley-tiny", "vsc-fashion-tiny", "convvsc-fashion-tiny"])
func tinyModelTrainStepsInBF16AgreeWithInterpreter(name: String) throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let spec = try loadSpec(path: root.appendingPathComponent("Samples/\(name).yaml").path)
    let model = try makeModel(spec)
    let g = try model.trainGraph(batch: spec.batchSize)
    let d = spec.inputDim, batch = spec.batchSize
    let (a, b) = try trainBoth(g, params: model.initialParameters(seed: 3), inputs: { t in
        var f: [String: [Float]] = ["x": testValues(batch * d, seed: 50 + UInt64(t % 3), 0, 1)]
        let s = schedule(spec, iteration: t)
        f["lambda"] = [Float(max(s.lambda, 0.5))]; f["c"] = [Float(s.c)]; f["step"] = [Float(t)]; f["reg_weight"] = [1]
        f["dataset_size"] = [Float(spec.data.count)]
        return f.filter { k, _ in g.leaf(named: k) != nil }
    }, steps: 20, lr: 1e-4, optimizer: .sgd, gemm: .jit, precision: .bf16)
    let worst = zip(a, b).map(relativeDifference).max()!
    #expect(worst < 1e-2, "\(name), bf16: worst relative loss difference over 20 steps: \(worst)\n\(a)\n\(b)")
    #expect(worst > 0, "\(name): bf16 and fp32 losses are identical: the bf16 path did not run")
    print("bf16 \(name): worst relative loss difference over 20 steps \(worst)")
}

/// The paper net's train step (Samples/vsc-fashion.yaml) in bf16: every matmul shape gets a bf16
/// entry point and its conversion function, and after O3 every bf16 microkernel still multiplies
/// with `vdpbf16ps` (the intrinsic), not with something LLVM rewrote it into.
@Test(.enabled(if: bf16Available, "the host has no AVX512_BF16"))
func paperNetTrainStepUsesBF16Microkernels() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let spec = try loadSpec(path: root.appendingPathComponent("Samples/vsc-fashion.yaml").path)
    let g = try makeModel(spec).trainGraph(batch: spec.batchSize)
    let p = try JITProgram(try buildTrainStep(g, loss: "loss", optimizer: .adam()), gemm: .jit, precision: .bf16)
    #expect(p.matmulPrecision == .bf16 && p.gemmCount >= 30)
    let shapes = Set(p.graph.nodes.compactMap { JITProgram.gemmShape(of: $0, in: p.graph) })
    #expect(Set(p.gemmFunctionNames.map { $0.replacingOccurrences(of: ".biasRelu", with: "").replacingOccurrences(of: ".bias", with: "") })
            == Set(shapes.map { GEMMEmitter.functionName($0, precision: .bf16) }))
    let functions = llvmFunctions(p.module.irAfter)
    for name in p.gemmFunctionNames {
        #expect(functions[name + ".convert"]?.contains("cvtne2ps2bf16") == true, "\(name): no conversion function")
    }
    let microkernels = functions.filter { $0.key.hasPrefix("vsc_gemm_bf16_micro.") }
    #expect(!microkernels.isEmpty)
    for (name, code) in microkernels { #expect(code.contains("@llvm.x86.avx512bf16.dpbf16ps.512"), "\(name) has no vdpbf16ps") }
}
