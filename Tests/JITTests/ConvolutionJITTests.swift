import Testing
import IR
import Passes
import Runtime
@testable import JIT

/// The JIT's convolution steps against the interpreter: each op alone (small, serial; and large
/// enough to split over the pool), and a conv net's whole train step.
@Test(arguments: [(batch: 2, size: 7, stride: 1, padding: 0, channels: 1),
                  (batch: 3, size: 9, stride: 2, padding: 1, channels: 3),
                  (batch: 16, size: 28, stride: 2, padding: 1, channels: 8)])
func convolutionOpsAgree(_ t: (batch: Int, size: Int, stride: Int, padding: Int, channels: Int)) throws {
    let g = Graph(name: "conv")
    let x = try g.input("x", [t.batch, t.size, t.size, t.channels]), w = try g.input("w", [4, 4, t.channels, 16])
    let y = try x.conv2d(w, stride: t.stride, padding: t.padding)
    let dy = try g.input("dy", y.shape)
    try g.output("y", y)
    try g.output("xt", dy.convTranspose2d(w, stride: t.stride, padding: t.padding, outputSize: [t.size, t.size]))
    try g.output("dw", x.conv2dFilterGrad(dy, kernel: [4, 4], stride: t.stride, padding: t.padding))
    let jit = try JITProgram(g)
    #expect(jit.gemmCount == 0)
    try compareBackends(g, feeds: feedsFor(g, seed: 5), tolerance: 1e-5)
}

/// A conv encoder and transposed-conv decoder trained for 20 Adam steps on both backends.
@Test func convTrainStepAgrees() throws {
    let g = Graph(name: "convnet")
    let x = try g.input("x", [8, 12, 12, 2])
    let k1 = try g.parameter("k1", [4, 4, 2, 8]), k2 = try g.parameter("k2", [3, 3, 8, 8])
    let b1 = try g.parameter("b1", [8])
    let h = try (x.conv2d(k1, stride: 2, padding: 1) + b1).relu()        // [8, 6, 6, 8]
    let back = try h.convTranspose2d(k1, stride: 2, padding: 1)          // [8, 12, 12, 2]
    let h2 = try h.conv2d(k2, stride: 1, padding: 1).tanh()              // [8, 6, 6, 8]
    let loss = try (back - x).square().mean() + h2.square().mean()
    try g.output("loss", loss)
    var params: [String: [Float]] = [:]
    for (k, p) in g.parameters.enumerated() { params[p.name] = testValues(g[p.node].elementCount, seed: 40 + UInt64(k), -0.3, 0.3) }
    let (interp, jit) = try trainBoth(g, params: params, inputs: { step in ["x": testValues(8 * 12 * 12 * 2, seed: 900 + UInt64(step), 0, 1)] },
                                      steps: 20, lr: 0.01)
    #expect(jit.last! < jit.first!, "the loss falls: \(jit)")
    for (a, b) in zip(interp, jit) { #expect(relativeDifference(a, b) < 1e-4, "interpreter \(interp)\nJIT \(jit)") }
}
