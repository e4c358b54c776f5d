import CBLAS
import Foundation
import Testing
import IR
import Runtime
import Models
import Passes
@testable import JIT

/// A one-matmul program: c = op(a)·op(b) for `shape`, compiled with `gemm`.
func gemmProgram(_ shape: GEMMShape, gemm: GEMMKernel, packsA: Bool = false, precision: MatmulPrecision = .fp32) throws -> JITProgram {
    let g = Graph(name: "gemm_\(shape.transA ? "T" : "N")\(shape.transB ? "T" : "N")_\(shape.m)_\(shape.n)_\(shape.k)")
    let a = try g.input("a", shape.transA ? [shape.k, shape.m] : [shape.m, shape.k])
    let b = try g.input("b", shape.transB ? [shape.n, shape.k] : [shape.k, shape.n])
    try g.output("c", try a.matmul(b, transposeA: shape.transA, transposeB: shape.transB))
    return try JITProgram(g, pipeline: nil, gemm: gemm, precision: precision, gemmPacksA: packsA, kernelTextTransform: nil)
}

/// op(A)·op(B) in double (the reference), and Σ_k |A(i,k)·B(k,j)| for each element (the scale
/// of its rounding error).
func referenceGEMM(_ s: GEMMShape, _ a: [Float], _ b: [Float]) -> (value: [Double], magnitude: [Double]) {
    var c = [Double](repeating: 0, count: s.m * s.n), magnitude = c
    let (ai, ak) = s.transA ? (1, s.m) : (s.k, 1), (bk, bj) = s.transB ? (1, s.k) : (s.n, 1)
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            for i in 0..<s.m {
                for j in 0..<s.n {
                    var sum = 0.0, size = 0.0
                    for p in 0..<s.k {
                        let x = Double(a[i * ai + p * ak]) * Double(b[p * bk + j * bj])
                        sum += x; size += Swift.abs(x)
                    }
                    c[i * s.n + j] = sum; magnitude[i * s.n + j] = size
                }
            }
        }
    }
    return (c, magnitude)
}

/// `cblas_sgemm` of the same product (OpenBLAS as the machine has it configured).
func blasGEMM(_ s: GEMMShape, _ a: [Float], _ b: [Float]) -> [Float] {
    var c = [Float](repeating: 0, count: s.m * s.n)
    cblas_sgemm(CblasRowMajor, s.transA ? CblasTrans : CblasNoTrans, s.transB ? CblasTrans : CblasNoTrans,
                Int32(s.m), Int32(s.n), Int32(s.k), 1, a, Int32(s.transA ? s.m : s.k), b, Int32(s.transB ? s.k : s.n),
                0, &c, Int32(s.n))
    return c
}

/// The worst of |ours − reference| / (1e-5·√K·Σ|a||b|): with random signs the fp32 rounding error
/// of a K-term sum grows like √K times the size of its terms, so 1 is the bound.
func gemmError(_ s: GEMMShape, ours: UnsafeBufferPointer<Float>, reference: (value: [Double], magnitude: [Double])) -> Double {
    var worst = 0.0
    for e in 0..<(s.m * s.n) {
        let bound = 1e-5 * Double(s.k).squareRoot() * max(reference.magnitude[e], 1e-30)
        let error = Swift.abs(Double(ours[e]) - reference.value[e]) / bound
        worst = max(worst, error.isNaN ? .infinity : error)
    }
    return worst
}

/// Shapes from {1, 7, 17, 20, 60, 500, 784, 3000} (products kept moderate), every transpose.
let awkwardGEMMShapes: [GEMMShape] = {
    let sizes: [(Int, Int, Int)] = [
        (1, 1, 1), (7, 17, 20), (17, 7, 1), (20, 60, 7), (1, 784, 17), (60, 1, 500), (7, 3000, 20),
        (500, 60, 784), (20, 60, 3000), (784, 17, 60), (3000, 7, 60), (500, 784, 60), (60, 784, 500),
        (17, 20, 3000), (500, 17, 500), (784, 60, 20), (60, 500, 1),
    ]
    return sizes.flatMap { m, n, k in
        [(false, false), (false, true), (true, false), (true, true)].map {
            GEMMShape(transA: $0.0, transB: $0.1, m: m, n: n, k: k)
        }
    }
}()

/// Feeds `p` (a GEMM program of shape `s`) operands seeded by the shape, fills C's buffer with
/// NaN — the kernel must overwrite it (beta = 0), not add to it — and runs it. Returns the operands.
func runGEMMOverPoisonedC(_ p: JITProgram, _ s: GEMMShape) throws -> (a: [Float], b: [Float]) {
    let a = testValues(s.m * s.k, seed: UInt64(s.m * 31 + s.k)), b = testValues(s.k * s.n, seed: UInt64(s.n * 17 + s.k + 5))
    try p.set("a", a); try p.set("b", b)
    let c = p.output("c")!
    UnsafeMutablePointer(mutating: c.baseAddress!).update(repeating: .nan, count: c.count)
    try p.run()
    return (a, b)
}

/// Checks the emitted GEMM of `s` against the double reference and against `cblas_sgemm`.
func checkEmittedGEMM(_ s: GEMMShape, packsA: Bool, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    let p = try gemmProgram(s, gemm: .jit, packsA: packsA)
    #expect(p.gemmFunctionNames == [GEMMEmitter.functionName(s)], sourceLocation: sourceLocation)
    let (a, b) = try runGEMMOverPoisonedC(p, s)
    let reference = referenceGEMM(s, a, b)
    let error = gemmError(s, ours: p.output("c")!, reference: reference)
    #expect(error <= 1, "\(s) (packed A: \(packsA)): error \(error) of the fp32 bound against the double reference",
            sourceLocation: sourceLocation)
    let blas = blasGEMM(s, a, b)
    let blasError = blas.withUnsafeBufferPointer { gemmError(s, ours: $0, reference: reference) }
    #expect(blasError <= 1, "\(s): OpenBLAS's own error \(blasError)", sourceLocation: sourceLocation)
    var worst = 0.0
    for (x, y) in zip(p.output("c")!, blas) { worst = max(worst, Double(Swift.abs(x - y)) / max(1, Double(Swift.abs(y)))) }
    #expect(worst <= 2e-5 * Double(s.k).squareRoot(), "\(s): worst difference from cblas_sgemm \(worst)", sourceLocation: sourceLocation)
}

@Test(arguments: awkwardGEMMShapes)
func emittedGEMMMatchesReferenceAndBLAS(_ s: GEMMShape) throws {
    try checkEmittedGEMM(s, packsA: false)
}

/// The packed-A path (off by default, see GEMMPlan) on every transpose and ragged edges.
@Test(arguments: awkwardGEMMShapes.filter { $0.m * $0.n * $0.k <= 3_000_000 })
func emittedGEMMWithPackedAMatchesReference(_ s: GEMMShape) throws {
    try checkEmittedGEMM(s, packsA: true)
}

/// Non-finite values propagate as in IEEE arithmetic: a NaN or ∞ in A reaches exactly the row
/// it is in (no padding or edge tile multiplies it into other elements).
@Test func emittedGEMMPropagatesNonFiniteValuesToTheirRowOnly() throws {
    let s = GEMMShape(transA: false, transB: false, m: 13, n: 33, k: 5)
    let p = try gemmProgram(s, gemm: .jit)
    var a = testValues(s.m * s.k, seed: 3)
    a[12 * s.k + 4] = .nan
    a[0] = .infinity
    try p.set("a", a); try p.set("b", testValues(s.k * s.n, seed: 4, 0.5, 1))
    try p.run()
    let c = p.output("c")!
    for i in 0..<s.m {
        for j in 0..<s.n {
            let x = c[i * s.n + j]
            if i == 12 { #expect(x.isNaN) } else if i == 0 { #expect(x == .infinity) } else { #expect(x.isFinite) }
        }
    }
}

/// The pool's threads claim disjoint chunks of C's tiles, each chunk with its own pack buffers,
/// and every element is summed in one fixed order: runs are bitwise identical, and so are two
/// programs of the same shape.
@Test func emittedGEMMIsDeterministic() throws {
    let s = GEMMShape(transA: false, transB: true, m: 250, n: 300, k: 700)
    let a = testValues(s.m * s.k, seed: 1), b = testValues(s.k * s.n, seed: 2)
    let p = try gemmProgram(s, gemm: .jit), q = try gemmProgram(s, gemm: .jit)
    #expect(p.splitGEMMCount == 1)
    for x in [p, q] { try x.set("a", a); try x.set("b", b) }
    try p.run()
    let first = Array(p.output("c")!)
    // Which thread claims which chunk changes from run to run; the result may not.
    for _ in 0..<20 {
        try p.run()
        #expect(Array(p.output("c")!) == first)
    }
    try q.run()
    #expect(Array(q.output("c")!) == first)
}

/// The blocking covers every element once: K over several blocks (accumulating into C), M and N
/// over several blocks, and both split directions.
@Test func gemmPlanBlocksCoverTheShape() {
    let p = GEMMPlan(GEMMShape(transA: false, transB: false, m: 500, n: 3000, k: 784))
    #expect(p.splitColumns && p.splitTiles == 94 && p.chunks == GEMMPlan.maxChunks)
    #expect(p.kc == 196 && !p.packsA && p.mc % GEMMPlan.mr == 0 && p.nc % GEMMPlan.nr == 0)
    let q = GEMMPlan(GEMMShape(transA: true, transB: false, m: 3000, n: 60, k: 500))
    #expect(!q.splitColumns && q.splitTiles == 250 && q.kc == 250 && !q.packsA)
    // C is 60 wide: two column panels, the second one ragged.
    #expect(GEMMPlan(GEMMShape(transA: false, transB: false, m: 500, n: 60, k: 3000)).kc == 250)
}

@Test func hostDefaultFollowsAVX512() {
    #expect(GEMMKernel.hostDefault == (HostTarget.host.hasAVX512F ? .jit : .blas))
}

/// The paper net's train step (Samples/vsc-fashion.yaml) with `gemm: .jit`: every matmul runs
/// an emitted GEMM (no cblas_sgemm left), one function per distinct shape, and the module's
/// GEMM code uses 16-wide FMAs. (Compiling only; the tiny specs' train steps are compared with
/// the interpreter in JITTrainStepTests under both GEMM kernels.)
@Test func paperNetTrainStepUsesEmittedGEMMs() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let spec = try loadSpec(path: root.appendingPathComponent("Samples/vsc-fashion.yaml").path)
    let g = try makeModel(spec).trainGraph(batch: spec.batchSize)
    let p = try JITProgram(try buildTrainStep(g, loss: "loss", optimizer: .adam()), gemm: .jit)
    let shapes = Set(p.graph.nodes.filter { if case .matmul = $0.op { return true } else { return false } }
        .compactMap { JITProgram.gemmShape(of: $0, in: p.graph) })
    // One entry point per shape and tile epilogue (the heads' bias adds finish in the GEMM).
    #expect(Set(p.gemmFunctionNames.map { $0.replacingOccurrences(of: ".biasRelu", with: "").replacingOccurrences(of: ".bias", with: "") }) == Set(shapes.map(GEMMEmitter.functionName)))
    #expect(p.gemmFunctionNames.contains { $0.hasSuffix(".bias") })
    #expect(shapes.contains(GEMMShape(transA: false, transB: false, m: 500, n: 3000, k: 784)))
    // Each entry point calls microkernels (shared by shapes with the same strides), and every
    // microkernel is 16-wide FMAs.
    let functions = llvmFunctions(p.module.irAfter)
    for name in p.gemmFunctionNames {
        #expect(functions[name]?.contains("@vsc_gemm_micro.") == true, "\(name) calls no microkernel")
    }
    let microkernels = functions.filter { $0.key.hasPrefix("vsc_gemm_micro.") }
    #expect(!microkernels.isEmpty && microkernels.count < 2 * shapes.count,
            "\(microkernels.count) microkernels for \(shapes.count) shapes")
    for (name, code) in microkernels { #expect(code.contains("@llvm.fma.v16f32"), "\(name) has no 16-wide FMA") }
}
