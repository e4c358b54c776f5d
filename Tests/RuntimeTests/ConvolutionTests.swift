import Testing
import IR
import Runtime

/// Seeded values in (−1, 1).
private func values(_ n: Int, seed: UInt64) -> [Double] {
    let base = CounterRNG.base(seed: seed, key: 0)
    return (0..<n).map { 2 * CounterRNG.uniform(base: base, UInt32($0)) - 1 }
}

/// Geometries (input h × w, kernel, stride, padding, channels in and out), odd and even, with
/// windows that hang over the padding and (stride 3) inputs whose last rows no window reads.
private let geometries: [(h: Int, w: Int, k: Int, s: Int, p: Int, c: Int, f: Int)] = [
    (5, 7, 3, 1, 0, 1, 2), (5, 7, 3, 2, 1, 3, 2), (6, 6, 4, 2, 1, 3, 5), (7, 5, 2, 3, 0, 2, 3),
    (4, 4, 3, 1, 2, 1, 1), (28, 28, 4, 2, 1, 1, 4), (9, 8, 1, 2, 0, 4, 3),
]

/// The interpreter's im2col + GEMM against the direct loops of `ConvolutionReference`, for all
/// three ops, in Float64 (to 1e-12) and Float32.
@Test(arguments: geometries.indices)
func convolutionOpsMatchTheDirectLoops(_ k: Int) throws {
    let t = geometries[k]
    let a = ConvAttrs(stride: t.s, padding: t.p)
    let oh = a.outputExtent(input: t.h, kernel: t.k, axis: 0)!, ow = a.outputExtent(input: t.w, kernel: t.k, axis: 1)!
    let geometry = ConvGeometry(n: 2, h: t.h, w: t.w, c: t.c, kh: t.k, kw: t.k, f: t.f, oh: oh, ow: ow, attrs: a)
    let g = Graph(name: "conv")
    let x = try g.input("x", [2, t.h, t.w, t.c]), w = try g.input("w", [t.k, t.k, t.c, t.f])
    let dy = try g.input("dy", [2, oh, ow, t.f])
    try g.output("y", x.conv2d(w, stride: t.s, padding: t.p))
    try g.output("xt", dy.convTranspose2d(w, stride: t.s, padding: t.p, outputSize: [t.h, t.w]))
    try g.output("dw", x.conv2dFilterGrad(dy, kernel: [t.k, t.k], stride: t.s, padding: t.p))
    let feeds = ["x": values(2 * t.h * t.w * t.c, seed: 1), "w": values(t.k * t.k * t.c * t.f, seed: 2),
                 "dy": values(2 * oh * ow * t.f, seed: 3)]
    let expected = ["y": ConvolutionReference.conv2d(feeds["x"]!, feeds["w"]!, geometry),
                    "xt": ConvolutionReference.convTranspose2d(feeds["dy"]!, feeds["w"]!, geometry),
                    "dw": ConvolutionReference.filterGrad(feeds["x"]!, feeds["dy"]!, geometry)]
    let out64 = try Interpreter<Double>(g).run(feeds)
    let out32 = try Interpreter<Float>(g).run(feeds.mapValues { $0.map(Float.init) })
    for (name, want) in expected {
        let got64 = out64[name]!, got32 = out32[name]!
        #expect(got64.count == want.count)
        let worst64 = zip(got64, want).map { abs($0 - $1) }.max() ?? 0
        let worst32 = zip(got32, want).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst64 < 1e-12, "\(name): Float64 differs by \(worst64)")
        #expect(worst32 < 1e-4, "\(name): Float32 differs by \(worst32)")
    }
}

/// The three ops count the convolution's multiply-adds (what `vsc compile` reports).
@Test func convolutionFlopsAreTheProducts() throws {
    let a = ConvAttrs(stride: 2, padding: 1)
    let geometry = ConvGeometry.of(.conv2d(a), operands: [[8, 28, 28, 1], [4, 4, 1, 32]], result: [8, 14, 14, 32])!
    #expect(geometry.flops == 2 * 8 * 14 * 14 * 16 * 32)
    let back = ConvGeometry.of(.convTranspose2d(a), operands: [[8, 14, 14, 32], [4, 4, 1, 32]], result: [8, 28, 28, 1])!
    #expect(back == geometry)
    let dw = ConvGeometry.of(.conv2dFilterGrad(a), operands: [[8, 28, 28, 1], [8, 14, 14, 32]], result: [4, 4, 1, 32])!
    #expect(dw == geometry)
}
