import Testing
import IR
import Passes
import Runtime

/// One convolution's sizes for the gradient checks: an odd input (5 × 7), a 3 × 3 kernel.
struct ConvCase: CustomTestStringConvertible, Sendable {
    var stride: Int, padding: Int, channels: Int
    var batch = 2, height = 5, width = 7, kernel = 3, filters = 2
    var testDescription: String { "stride \(stride), padding \(padding), \(channels) channel(s)" }
    var attrs: ConvAttrs { ConvAttrs(stride: stride, padding: padding) }
    var outHeight: Int { attrs.outputExtent(input: height, kernel: kernel, axis: 0)! }
    var outWidth: Int { attrs.outputExtent(input: width, kernel: kernel, axis: 1)! }
    var input: Shape { [batch, height, width, channels] }
    var filter: Shape { [kernel, kernel, channels, filters] }
    var output: Shape { [batch, outHeight, outWidth, filters] }

    /// Stride 1 and 2, padding 0 and 1, 1 and 3 channels.
    static let all: [ConvCase] = [1, 2].flatMap { s in [0, 1].flatMap { p in [1, 3].map { ConvCase(stride: s, padding: p, channels: $0) } } }
}

// The three convolution ops' VJPs (each one's are the other two) against central finite
// differences in Float64, over every case of `ConvCase.all`.
@Suite struct ConvolutionGradients {
    @Test(arguments: ConvCase.all)
    func conv2d(_ c: ConvCase) throws {
        let g = Graph(name: "conv2d")
        let x = try g.parameter("x", c.input), k = try g.parameter("filter", c.filter)
        try g.output("loss", weightedSum(x.conv2d(k, stride: c.stride, padding: c.padding)))
        try expectGradientsMatch(g)
    }

    /// The transpose back to the 5 × 7 input, which at stride 2 is not the builder's default size
    /// (the output-padding case).
    @Test(arguments: ConvCase.all)
    func convTranspose2d(_ c: ConvCase) throws {
        let g = Graph(name: "conv_transpose2d")
        let y = try g.parameter("y", c.output), k = try g.parameter("filter", c.filter)
        let x = try y.convTranspose2d(k, stride: c.stride, padding: c.padding, outputSize: [c.height, c.width])
        #expect(x.shape == c.input)
        try g.output("loss", weightedSum(x))
        try expectGradientsMatch(g)
    }

    @Test(arguments: ConvCase.all)
    func filterGrad(_ c: ConvCase) throws {
        let g = Graph(name: "conv2d_filter_grad")
        let x = try g.parameter("x", c.input), dy = try g.parameter("dy", c.output)
        let dw = try x.conv2dFilterGrad(dy, kernel: [c.kernel, c.kernel], stride: c.stride, padding: c.padding)
        #expect(dw.shape == c.filter)
        try g.output("loss", weightedSum(dw))
        try expectGradientsMatch(g)
    }

    /// A two-layer conv net with a nonlinearity between (the VJPs chained through each other).
    @Test func convReluConvTranspose() throws {
        let g = Graph(name: "conv_chain")
        let x = try g.parameter("x", [2, 6, 6, 3])
        let k1 = try g.parameter("k1", [4, 4, 3, 4]), k2 = try g.parameter("k2", [4, 4, 3, 4])
        let h = try x.conv2d(k1, stride: 2, padding: 1).tanh()
        let back = try h.convTranspose2d(k2, stride: 2, padding: 1)
        #expect(back.shape == [2, 6, 6, 3])
        try g.output("loss", weightedSum(back))
        try expectGradientsMatch(g)
    }
}
