import Foundation
import IR
import Testing
@testable import Models

// Where a model's nodes say they come from: each layer's nodes carry the layer's name and, for a
// spec-built model, the YAML line of the key that declared the layer.

/// A two-layer VSC whose hidden sizes sit on lines of their own.
let locatedSpec = """
    name: located
    kind: vsc
    data: {name: smiley, count: 64, test_count: 16}
    hidden:
      - 12
      - 10
    latent: 4
    likelihood: bernoulli
    spike: logsigmoid
    prior: {pseudo_inputs: 3, selection: {kind: mixture}}
    batch_size: 2
    """

let goldenDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

/// The encoder's nodes of `g` (scopes starting "enc."), one printed instruction a line.
func encoderListing(_ g: Graph) -> String {
    g.nodes.indices.filter { g[$0].location?.scope?.hasPrefix("enc.") == true }
        .map { IRPrinter.instruction(g[$0], id: $0) + "\n" }.joined()
}

@Test func encoderNodesCarryTheirLayersNameAndYAMLLine() throws {
    let spec = try parseSpec(yaml: locatedSpec, file: "located.yaml")
    let g = try makeModel(spec).trainGraph(batch: 2)
    let listing = encoderListing(g)
    let golden = goldenDir.appendingPathComponent("located-encoder.ir")
    if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" { try listing.write(to: golden, atomically: true, encoding: .utf8) }
    let expected = try String(contentsOf: golden, encoding: .utf8)
    #expect(listing == expected, "encoder listing differs from Golden/located-encoder.ir (UPDATE_GOLDEN=1 rewrites it)")

    // Each layer at its own key: hidden[0] on line 5, hidden[1] on line 6, the heads at latent (7).
    func lines(_ scope: String) -> Set<String> {
        Set(g.nodes.compactMap { $0.location }.filter { $0.scope == scope }.map(\.description))
    }
    #expect(lines("enc.h0") == ["located.yaml:5"])
    #expect(lines("enc.h1") == ["located.yaml:6"])
    #expect(lines("enc.mu") == ["located.yaml:7"])
    #expect(lines("enc.logvar") == ["located.yaml:7"])
    #expect(lines("dec.h0") == ["located.yaml:6"])
    #expect(lines("dec.h1") == ["located.yaml:5"])
}

/// The four mis-attributions of issue 18: every encoder node said VSC.swift:32; enc.mu's bias add
/// had the decoder's line, enc.logvar's the warm-up's, a KL constant the loss helper's.
@Test func operatorNodesKeepTheirOwnLayersLocation() throws {
    for (name, spec) in [("spec", try parseSpec(yaml: locatedSpec, file: "located.yaml")),
                         ("swift", { var s = try! parseSpec(yaml: locatedSpec, file: "located.yaml"); s.keyLines = nil; return s }())] {
        let g = try makeModel(spec).trainGraph(batch: 2)
        for head in ["enc.mu", "enc.logvar"] {
            let bias = try #require(g.leaf(named: head + ".b"))
            // The add of x·W and the broadcast bias: the consumer of the bias's broadcast.
            let adds = g.nodes.indices.filter { i in
                if case .binary(.add) = g[i].op { return g[i].inputs.contains { g[$0].inputs == [bias] } }
                return false
            }
            #expect(adds.count == 2, "\(name): \(head) (the data's and the pseudo-inputs')")
            for a in adds {
                #expect(g[a].location?.scope == head, "\(name): \(head)'s bias add is in \(String(describing: g[a].location?.scope))")
                #expect(g[a].location?.file.contains("VSC.swift") != true && g[a].location?.file.contains("SpikeSlab.swift") != true,
                        "\(name): \(head)'s bias add at \(String(describing: g[a].location))")
            }
        }
        // No encoder node is located in the model file's encode call, nor any KL node in the loss helper.
        for n in g.nodes where n.location?.scope?.hasPrefix("enc.h") == true {
            #expect(n.location?.file.hasSuffix("VSC.swift") != true, "\(name): \(IRPrinter.instruction(n, id: 0))")
        }
        for n in g.nodes where n.location?.scope == "kl" {
            #expect(n.location?.file.hasSuffix("Networks.swift") != true, "\(name): \(IRPrinter.instruction(n, id: 0))")
        }
        #expect(g.nodes.contains { $0.location?.scope == "kl" })
    }
}

/// Specs built in Swift keep Swift lines: a layer is where its `Dense` is declared, not applied.
@Test func aLayerBuiltInSwiftIsAtItsCall() throws {
    let g = Graph(name: "t")
    let ctx = ModelContext(graph: g)
    let x = try g.input("x", [2, 3])
    let line = #line + 1
    let layer = Dense("layer", 3, 4, activation: .relu)
    let y = try layer(x, ctx)
    for i in 0...y.id where g[i].location?.scope == "layer" {
        #expect(g[i].location?.line == line)
        #expect(g[i].location?.file.hasSuffix("LocationTests.swift") == true)
    }
    #expect(IRPrinter.instruction(y.node, id: y.id).contains("// layer.relu @ ModelsTests/LocationTests.swift:\(line)"))
}
