import Foundation
import Testing
import IR
import Passes
import Runtime
@testable import JIT

// `TileEpilogue`: a matmul whose fused epilogue is a bias add (and relu) finishes its C tiles in
// the GEMM's microkernel, after the last K block, instead of a kernel sweeping C afterwards.

/// `relu?(op(x)·op(w) + b)` for `s`, and its parameters.
func denseLayer(_ s: GEMMShape, relu: Bool) throws -> (Graph, [String: [Float]]) {
    let g = Graph(name: "dense_\(s.transA ? "T" : "N")\(s.transB ? "T" : "N")_\(s.m)_\(s.n)_\(s.k)_\(relu)")
    let x = try g.input("x", s.transA ? [s.k, s.m] : [s.m, s.k])
    let w = try g.parameter("w", s.transB ? [s.n, s.k] : [s.k, s.n])
    let b = try g.parameter("b", [s.n])
    let y = try x.matmul(w, transposeA: s.transA, transposeB: s.transB) + b
    try g.output("y", relu ? try y.relu() : y)
    return (g, ["x": testValues(s.m * s.k, seed: 11), "w": testValues(s.k * s.n, seed: 12, -0.5, 0.5), "b": testValues(s.n, seed: 13)])
}

let tileEpilogueShapes: [GEMMShape] = [(1, 1, 1), (7, 17, 20), (37, 70, 600), (12, 32, 256), (500, 60, 784)].flatMap { m, n, k in
    [(false, false), (true, true)].map { GEMMShape(transA: $0.0, transB: $0.1, m: m, n: n, k: k) }
}

/// The tile epilogue gives bitwise the kernel's result (one fadd and relu's select on the same
/// sum, applied on the last K block only: 600 and 784 span several), in fp32 and bf16, on ragged
/// tiles; the epilogue kernel is gone from the schedule; both agree with the interpreter.
@Test(arguments: tileEpilogueShapes, [false, true])
func tileEpilogueEqualsTheEpilogueKernel(_ s: GEMMShape, relu: Bool) throws {
    let (g, values) = try denseLayer(s, relu: relu)
    let precisions: [MatmulPrecision] = HostTarget.host.hasAVX512BF16 ? [.fp32, .bf16] : [.fp32]
    let reference = InterpreterProgram(g)
    for (name, v) in values { try reference.set(name, v) }
    try reference.run()
    for precision in precisions {
        let tiled = try JITProgram(g, pipeline: .default, gemm: .jit, precision: precision, kernelTextTransform: nil)
        let separate = try JITProgram(g, pipeline: .default, gemm: .jit, precision: precision, tileEpilogues: false, kernelTextTransform: nil)
        #expect(tiled.gemmFunctionNames.allSatisfy { $0.hasSuffix(relu ? ".biasRelu" : ".bias") }, "\(tiled.gemmFunctionNames)")
        #expect(tiled.kernelCount < separate.kernelCount, "\(s): \(tiled.kernelCount) kernels with the tile epilogue, \(separate.kernelCount) without")
        for p in [tiled, separate] {
            for (name, v) in values { try p.set(name, v) }
            try p.run()
        }
        #expect(Array(tiled.output("y")!) == Array(separate.output("y")!), "\(s) relu \(relu) \(precision): tile epilogue ≠ epilogue kernel")
        let tolerance = precision == .bf16 ? 0x1p-6 : 1e-4
        var worst = 0.0
        for (x, y) in zip(tiled.output("y")!, reference.output("y")!) {
            worst = max(worst, Double(Swift.abs(x - y)) / max(1, Double(Swift.abs(y))))
        }
        #expect(worst <= tolerance * Double(s.k).squareRoot(), "\(s) \(precision): worst difference from the interpreter \(worst)")
    }
}

/// Only a bias add (and relu) becomes a tile epilogue; anything else stays a kernel.
@Test func onlyBiasAndReluBecomeTileEpilogues() throws {
    let g = Graph(name: "not_tile")
    let x = try g.input("x", [8, 16]), w = try g.parameter("w", [16, 24]), b = try g.parameter("b", [24])
    try g.output("y", try (x.matmul(w) + b).sigmoid())
    let p = try JITProgram(g, gemm: .jit)
    #expect(p.gemmFunctionNames.allSatisfy { !$0.contains(".bias") })
    #expect(p.kernelCount == 1)
}
