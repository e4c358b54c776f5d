import Foundation
import Passes
import Testing
@testable import Models

let docsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("docs")

/// docs/spec-reference.md is the key table, rendered: stale when the table changes.
@Test func specReferenceIsCurrent() throws {
    let url = docsDir.appendingPathComponent("spec-reference.md")
    let generated = SpecKeys.markdown()
    if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" { try generated.write(to: url, atomically: true, encoding: .utf8) }
    let current = try String(contentsOf: url, encoding: .utf8)
    #expect(current == generated, "docs/spec-reference.md is stale: run UPDATE_GOLDEN=1 swift test --filter specReference")
}

/// The parser allows exactly the table's keys: a key the table lists parses (where it applies),
/// one it does not is refused with the table's keys listed.
@Test func theParserTakesItsKeysFromTheTable() throws {
    #expect(SpecKeys.names(under: "").contains("activation"))
    #expect(SpecKeys.names(under: "schedules.learning_rate[]") == ["until", "lr"])
    let bad = minimalSpec + "\nprior: {alpha: 0.2, pseudo: 3}\n"
    do { _ = try parseSpec(yaml: bad, file: "s.yaml"); Issue.record("an unknown key parsed") } catch let e as SpecError {
        #expect(e.key == "prior.pseudo")
        #expect(e.message.contains(SpecKeys.names(under: "prior").joined(separator: ", ")))
    }
    // Every path in the table is unique, and every parent is itself a key (or the document).
    let paths = SpecKeys.all.map(\.path)
    #expect(Set(paths).count == paths.count)
    for k in SpecKeys.all where !k.parent.isEmpty {
        #expect(paths.contains(k.parent.replacingOccurrences(of: "[]", with: "")), "\(k.path)'s parent")
    }
}

@Test func activationAndOptimizerKeys() throws {
    let s = try parseSpec(yaml: minimalSpec + "\nactivation: tanh\noptimizer: {kind: adam, beta1: 0.8, epsilon: 1.0e-7}\n")
    #expect(s.activation == .tanh)
    #expect(s.optimizer == .adam(beta1: 0.8, beta2: 0.999, epsilon: 1e-7))
    #expect(try parseSpec(yaml: minimalSpec + "\noptimizer: sgd\n").optimizer == .sgd)
    #expect(try parseSpec(yaml: minimalSpec).optimizer == .adam() && parseSpec(yaml: minimalSpec).activation == .relu)
    #expect(throws: SpecError.self) { try parseSpec(yaml: minimalSpec + "\noptimizer: {kind: sgd, beta1: 0.5}\n") }
    #expect(throws: SpecError.self) { try parseSpec(yaml: minimalSpec + "\noptimizer: rmsprop\n") }
    #expect(throws: SpecError.self) { try parseSpec(yaml: minimalSpec + "\nactivation: gelu\n") }
    // tanh layers in the graph; sgd: no Adam state in the train step.
    let tanhSpec = try parseSpec(yaml: minimalSpec + "\nactivation: tanh\n")
    let g = try makeModel(tanhSpec).trainGraph(batch: 2)
    #expect(g.nodes.contains { $0.op == .unary(.tanh) && $0.location?.scope == "enc.h0" })
    #expect(!g.nodes.contains { $0.op == .unary(.relu) && $0.location?.scope == "enc.h0" })
}
