import Foundation
import Testing
import IR
import Runtime
@testable import Models

/// A small conv spec on 8 × 8 × 1 inputs: two convolutions (stride 2, padding 1 and stride 1,
/// padding 0, 3 × 3 kernels), a flatten and a dense layer.
func smallConvSpec(kind: ModelSpec.Kind = .vsc, likelihood: ModelSpec.Likelihood = .gaussian) -> ModelSpec {
    var s = ModelSpec(name: "small-conv", kind: kind, data: .init(dataset: .smiley), inputDim: 64, hidden: [], latent: 3,
                      likelihood: likelihood, prior: .init(alpha: 0.2, pseudoInputs: 2), batchSize: 3, iterations: 10, seed: 3)
    s.encoder = [.conv(.init(filters: 3, kernel: 3, stride: 2, padding: 1)), .conv(.init(filters: 2, kernel: 3)),
                 .flatten, .dense(6)]
    return s
}

@Suite struct ConvSpecTests {
    @Test(arguments: ["convvsc-fashion", "convbetavae-fashion", "convvsc-fashion-tiny", "convvsc-celeba64"])
    func shippedConvSpecParses(_ name: String) throws {
        let spec = try loadSpec(path: samplesDir + "/\(name).yaml")
        #expect(spec.name == name)
        let model = try makeModel(spec)
        let g = try model.trainGraph(batch: 2)
        #expect(g.nodes.contains { if case .conv2d = $0.op { return true } else { return false } })
        #expect(g.nodes.contains { if case .convTranspose2d = $0.op { return true } else { return false } })
    }

    /// The mirrored decoder of the 28 × 28 Fashion-MNIST encoder gives back 28 × 28 × 1 with no
    /// output padding (kernel 4, stride 2, padding 1 halves and doubles exactly).
    @Test func mirroredDecoderOfTheFashionEncoder() throws {
        let spec = try loadSpec(path: samplesDir + "/convvsc-fashion.yaml")
        #expect(spec.encoderInput == [28, 28, 1])
        #expect(spec.hidden.isEmpty)
        let c = { (f: Int) in ConvLayerSpec(filters: f, kernel: 4, stride: 2, padding: 1) }
        #expect(spec.decoderLayers == [.dense(256), .dense(3136), .reshape([7, 7, 64]), .convTranspose(c(32)), .convTranspose(c(1))])
        let shapes = try layerShapes(spec.decoderLayers, input: [spec.latent])
        #expect(shapes.last == [28, 28, 1])
    }

    /// A kernel-3 encoder: 28 → 14 → 7 at stride 2, padding 1, and back 7 → 13 without output
    /// padding; the mirror adds it (13 + 1 = 14, 27 + 1 = 28).
    @Test func mirrorAddsOutputPadding() throws {
        let enc: [LayerSpec] = [.conv(.init(filters: 4, kernel: 3, stride: 2, padding: 1)),
                                .conv(.init(filters: 8, kernel: 3, stride: 2, padding: 1)), .flatten, .dense(16)]
        let dec = try mirroredDecoder(enc, input: [28, 28, 1])
        #expect(dec.contains(.convTranspose(.init(filters: 4, kernel: 3, stride: 2, padding: 1, outputPadding: 1))))
        #expect(try layerShapes(dec, input: [5]).last == [28, 28, 1])
    }

    @Test func explicitDecoderAndLocations() throws {
        let yaml = """
            kind: vae
            data: fashion-mnist
            encoder:
              - {conv: 4, kernel: 4, stride: 2, padding: 1}
              - {flatten: true}
            decoder:
              - {dense: 784}
              - {reshape: [14, 14, 4]}
              - {conv_transpose: 1, kernel: 4, stride: 2, padding: 1}
            latent: 3
            """
        let spec = try parseSpec(yaml: yaml, file: "c.yaml")
        #expect(spec.decoderLayers.count == 3)
        let model = try makeModel(spec)
        let g = try model.trainGraph(batch: 2)
        let text = IRPrinter.print(g)
        #expect(text.contains("enc.h0.conv2d @ c.yaml:4"))
        #expect(text.contains("dec.mean.conv_transpose2d @ c.yaml:9"))
    }

    /// Errors name the layer's index, its key and its line.
    @Test func layerErrorsNameIndexKeyAndLine() throws {
        func check(_ body: String, key: String, line: Int, _ fragment: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
            guard let e = specError("kind: vsc\ndata: fashion-mnist\nlatent: 4\n" + body) else { return }
            #expect(e.key == key, "\(e)", sourceLocation: sourceLocation)
            #expect(e.line == line, "\(e)", sourceLocation: sourceLocation)
            #expect(e.message.contains(fragment), "\(e)", sourceLocation: sourceLocation)
        }
        // A kernel larger than the 7 × 7 input of the second layer, at its line.
        check("encoder:\n  - {conv: 4, kernel: 4, stride: 4}\n  - {conv: 8, kernel: 9}\n  - {flatten: true}\n",
              key: "encoder[1].kernel", line: 6, "does not fit the 7×7 input")
        check("encoder:\n  - {conv: 4}\n", key: "encoder[0].kernel", line: 5, "missing")
        check("encoder:\n  - {conv: 4, kernel: 3, dense: 5}\n", key: "encoder[0]", line: 5, "one kind per layer")
        check("encoder:\n  - {dense: 5, stride: 2}\n", key: "encoder[0].stride", line: 5, "only for conv")
        check("encoder:\n  - {conv: 4, kernel: 3}\n  - {dense: 8}\n", key: "encoder[1].dense", line: 6, "add {flatten: true}")
        check("encoder:\n  - {bogus: 1}\n", key: "encoder[0].bogus", line: 5, "unknown key")
        check("hidden: [8]\nencoder:\n  - {dense: 8}\n", key: "hidden", line: 4, "not both")
        check("encoder:\n  - {dense: 8}\ndecoder:\n  - {dense: 8}\n  - {dense: 100}\n", key: "decoder[1]", line: 8, "784 values")
        check("input_shape: [27, 28, 1]\nencoder:\n  - {conv: 4, kernel: 3}\n", key: "input_shape", line: 4, "input_dim is 784")
        check("encoder:\n  - {conv: 4, kernel: 3}\n  - {conv_transpose: 4, kernel: 3, stride: 2, output_padding: 2}\n",
              key: "encoder[1].output_padding", line: 6, "less than the stride")
        check("encoder: 5\n", key: "encoder", line: 4, "a list of layers")
    }

    /// A shape error the parser cannot see (a spec built in Swift) is an IR error at the layer.
    @Test func swiftBuiltMismatchIsAnErrorNotACrash() throws {
        var spec = smallConvSpec()
        spec.encoder = [.conv(.init(filters: 3, kernel: 20))]
        #expect(throws: (any Error).self) { try makeModel(spec).trainGraph(batch: 2) }
    }

    /// Both model kinds' train graphs on the conv networks: finite differences agree.
    @Test(arguments: [ModelSpec.Kind.vsc, .vae(beta: 2)])
    func convModelsPassGradCheck(_ kind: ModelSpec.Kind) throws {
        try GradCheckTests().check(smallConvSpec(kind: kind), batch: 3, sample: 20)
    }
}
