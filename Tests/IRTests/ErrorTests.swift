import Foundation
import Testing
@testable import IR

/// Parses `text`, expecting a ParseError at `line`:`column` whose message contains `fragment`.
func expectParseError(_ text: String, line: Int, column: Int? = nil, _ fragment: String,
                      sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    do {
        _ = try IRParser.parse(text, file: "bad.ir")
        Issue.record("expected a parse error containing '\(fragment)'", sourceLocation: sourceLocation)
    } catch let e as ParseError {
        #expect(e.file == "bad.ir", sourceLocation: sourceLocation)
        #expect(e.line == line, "\(e)", sourceLocation: sourceLocation)
        if let c = column { #expect(e.column == c, "\(e)", sourceLocation: sourceLocation) }
        #expect(e.message.contains(fragment), "\(e)", sourceLocation: sourceLocation)
        #expect(e.description.hasPrefix("bad.ir:\(e.line):\(e.column): error: "), sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

@Test func malformedIRNamesLineAndColumn() {
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2,3]\n  %1 = frobnicate(%0) : f32[2,3]\n}\n",
                     line: 3, column: 8, "unknown op 'frobnicate'")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2,3]\n  %1 = exp(%7) : f32[2,3]\n}\n",
                     line: 3, "undefined value %7")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2,3]\n  %1 = exp(%0) : f32[2,4]\n}\n",
                     line: 3, column: 3, "declared shape [2,4] but operands give [2,3]")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2,3]\n  %1 = input \"y\" : f32[3,3]\n  %2 = add(%0, %1) : f32[2,3]\n}\n",
                     line: 4, "shapes differ")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2,3]\n  %1 = matmul(%0, %0) : f32[2,3]\n}\n",
                     line: 3, "inner dimensions differ")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2,3\n}\n", line: 2, column: 27, "expected ']'")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2,3]\n", line: 3, "missing '}'")
    expectParseError("graph @g {\n  %0 = input \"x\" : q8[2]\n}\n", line: 2, column: 20, "expected a type")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2]\n  %0 = exp(%0) : f32[2]\n}\n", line: 3, "defined twice")
    expectParseError("graph @g {\n  %0 = input \"x : f32[2]\n}\n", line: 2, "unterminated string")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2]\n  %1 = reduce_sum(%0) {axis=[0]} : f32[]\n}\n",
                     line: 3, "needs attribute 'axes'")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2]\n  %1 = exp(%0) {bogus=1} : f32[2]\n}\n",
                     line: 3, "unknown attribute 'bogus'")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2]\n  %1 = input \"x\" : f32[3]\n}\n", line: 3, "already used")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2]\n  output %0 as \"o\"\n  output %0 as \"o\"\n}\n", line: 4, "defined twice")
    expectParseError("graph @g {\n  %0 = arg 0 : f32[2]\n}\n", line: 2, "only valid inside a fused kernel")
    expectParseError("graph @g {\n  %0 = constant [1, 2] : f32[3]\n}\n", line: 2, "2 values for shape [3]")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2]\n  %1 = fused(%0) : f32[2] {\n    %0 = arg 1 : f32[2]\n    yield %0\n  }\n}\n",
                     line: 3, "arg 1")
    expectParseError("", line: 1, "expected 'graph'")
    expectParseError("graph @g {\n}\ntrailing\n", line: 3, "after the graph")
}

@Test func shapeErrorFromSwiftNamesOpAndLine() throws {
    let g = Graph()
    let x = try g.input("x", [4, 3]), w = try g.parameter("w", [4, 2])
    var caught: IRError?
    let expectedLine = #line + 1
    do { _ = try x.matmul(w) } catch let e as IRError { caught = e }
    let e = try #require(caught)
    #expect(e.message.contains("matmul"))
    #expect(e.message.contains("inner dimensions differ"))
    #expect(e.location == IR.SourceLocation(file: "IRTests/ErrorTests.swift", line: expectedLine))
    #expect(e.description.hasPrefix("IRTests/ErrorTests.swift:\(expectedLine): error: matmul"))
}

@Test func operatorShapeErrorIsThrownByNextNamedCall() throws {
    let g = Graph()
    let a = try g.input("a", [4, 3]), b = try g.input("b", [5])
    var caught: IRError?
    let expectedLine = #line + 1
    do { _ = try (a + b).relu() } catch let e as IRError { caught = e }
    let e = try #require(caught)
    #expect(e.message.contains("add: shapes [4,3] and [5] do not broadcast"))
    #expect(e.location?.line == expectedLine)
    // The error is consumed: the graph is usable again.
    _ = try a.relu()
}

@Test func operatorsBroadcastAndTakeConsumerLocation() throws {
    let g = Graph()
    let a = try g.input("a", [4, 3]), b = try g.parameter("b", [3])
    let line = #line + 1
    let y = try (a * b + 1.0).exp()
    let sum = g[y.node.inputs[0]]
    #expect(sum.shape == [4, 3])
    #expect(sum.location?.line == line)
    #expect(IRPrinter.print(g).contains("broadcast"))
}

@Test func verifierRejectsBrokenGraphs() throws {
    let g = Graph()
    _ = try g.input("x", [2])
    #expect(throws: IRError.self) { _ = try g.add(.unary(.exp), inputs: [5]) }
    #expect(throws: IRError.self) { _ = try g.add(.reduce(.sum, axes: [1, 0]), inputs: [0]) }
    #expect(throws: IRError.self) { _ = try g.add(.transpose([0, 0]), inputs: [0]) }
    #expect(throws: IRError.self) { _ = try g.add(.slice(start: [1], end: [3]), inputs: [0]) }
    #expect(throws: IRError.self) { _ = try g.add(.broadcast, inputs: [0], shape: [3, 3]) }
    #expect(throws: IRError.self) { _ = try g.add(.reshape, inputs: [0], shape: [3]) }
    try g.verify()
}

@Test func onlyOperatorBuiltNodesBorrowALocation() throws {
    let g = try IRParser.parse("graph @g {\n  %0 = parameter \"w\" : f32[3]\n  output %0 as \"w\"\n}\n")
    let w = Tensor(g, g.leaf(named: "w")!)
    let line = #line + 1
    let y = try ((w * 2.0) + w).exp()
    #expect(g[w.id].location == nil, "a parsed leaf keeps having no location")
    let sum = g[y.node.inputs[0]], product = g[sum.inputs[0]]
    #expect(sum.location?.line == line)
    #expect(product.location?.line == line, "nested operator nodes borrow the consumer's line too")
}

/// Sizes and numbers read from IR text are checked before anything multiplies or converts them
/// (issue 14): a clean, located error, never a trap.
@Test func oversizedShapesAndBadSeedsAreLocatedErrors() {
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[4611686018427387904,4]\n}\n",
                     line: 2, "more elements than an Int can count")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[100000,100000,100000]\n}\n",
                     line: 2, "over the tensor budget")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[9223372036854775807,1]\n  %1 = concat(%0, %0) {axis=0} : f32[2,1]\n}\n",
                     line: 2, "tensor budget")
    expectParseError("graph @g {\n  %0 = random_normal() {seed=-1} : f32[2]\n}\n", line: 2, "attribute 'seed' must be an integer in 0…")
}

@Test func seedsAboveIntMaxRoundTrip() throws {
    let g = try IRParser.parse("graph @g {\n  %0 = random_normal() {seed=18446744073709551615} : f32[2]\n  output %0 as \"y\"\n}\n")
    let again = try IRParser.parse(IRPrinter.print(g))
    #expect(IRPrinter.print(again) == IRPrinter.print(g))
    #expect(g.nodes.contains { $0.op == .randomNormal(seed: .max) })
}

@Test func concatExtentsThatOverflowAreRefused() throws {
    let g = Graph(name: "concat")
    let a = try g.input("a", [1 << 20])
    // The budget check runs on the sum; the overflow check before it is what a 2⁶² + 2⁶² sum hits.
    #expect(throws: IRError.self) { _ = try g.concat(Array(repeating: a, count: 1 << 13), axis: 0) }
}

@Test func convolutionShapeErrorsAreLocated() throws {
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2,8,8,3]\n  %1 = input \"w\" : f32[4,4,1,8]\n  %2 = conv2d(%0, %1) {stride=[2,2], padding=[1,1]} : f32[2,4,4,8]\n}\n",
                     line: 4, "input has 3 channel(s)")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2,8,8,3]\n  %1 = input \"w\" : f32[4,4,3,8]\n  %2 = conv2d(%0, %1) {stride=[2,2], padding=[1,1]} : f32[2,5,4,8]\n}\n",
                     line: 4, "declared shape [2,5,4,8] but operands give [2,4,4,8]")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2,8,8,3]\n  %1 = input \"w\" : f32[4,4,3,8]\n  %2 = conv2d(%0, %1) {stride=[0,2], padding=[1,1]} : f32[2,4,4,8]\n}\n",
                     line: 4, "stride [0,2] must be at least 1")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2,2,2,3]\n  %1 = input \"w\" : f32[4,4,3,8]\n  %2 = conv2d(%0, %1) {stride=[1,1], padding=[0,0]} : f32[2,1,1,8]\n}\n",
                     line: 4, "kernel 4×4 does not fit the input 2×2")
    expectParseError("graph @g {\n  %0 = input \"y\" : f32[2,4,4,8]\n  %1 = input \"w\" : f32[4,4,3,8]\n  %2 = conv_transpose2d(%0, %1) {stride=[2,2], padding=[1,1]} : f32[2,12,12,3]\n}\n",
                     line: 4, "does not convolve back to the 4×4 input")
    expectParseError("graph @g {\n  %0 = input \"x\" : f32[2,8,8,3]\n  %1 = input \"w\" : f32[4,4,3,8]\n  %2 = conv2d(%0, %1) {stride=[2,2]} : f32[2,4,4,8]\n}\n",
                     line: 4, "needs attribute 'padding'")
    // From Swift: the builder call's line.
    let g = Graph()
    let x = try g.input("x", [2, 8, 8, 3]), w = try g.parameter("w", [3, 3, 2, 4])
    let expectedLine = #line + 1
    let e = try #require(throws: IRError.self) { try x.conv2d(w, stride: 2, padding: 1) }
    #expect(e.location == IR.SourceLocation(file: "IRTests/ErrorTests.swift", line: expectedLine))
    #expect(e.message.hasPrefix("conv2d: input has 3 channel(s)"))
}

/// A convolution whose im2col matrix would not fit the tensor budget is refused when built (its
/// tensors alone fit), not when a backend allocates.
@Test func convolutionScratchIsHeldToTheBudget() throws {
    let g = Graph()
    let x = try g.input("x", [1, 4096, 4096, 1]), w = try g.parameter("w", [512, 512, 1, 1])
    let e = try #require(throws: IRError.self) { try x.conv2d(w) }
    #expect(e.message.contains("im2col matrix"), "\(e)")
    #expect(e.message.contains("tensor budget"), "\(e)")
}
