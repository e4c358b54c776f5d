import Testing
@testable import IR

/// The traits declared in `Op.traits` agree with the ops' reference semantics: a trait that is
/// wrong (an op called commutative that is not, a transcendental called cheap) fails here.
struct OpTraitsTests {
    static let samples: [(Double, Double)] = [(0.7, -1.3), (2.5, 0.4), (-0.2, 3.1), (1, 1), (0, 2)]

    @Test(arguments: BinaryOp.allCases)
    func binaryCommutativityMatchesSemantics(_ op: BinaryOp) {
        let swaps = Self.samples.allSatisfy { x, y in Elementwise.binary(op, x, y) == Elementwise.binary(op, y, x) }
        #expect(Op.binary(op).isCommutative == swaps, "\(op): declared \(Op.binary(op).isCommutative), semantics \(swaps)")
    }

    @Test(arguments: CompareOp.allCases)
    func compareCommutativityMatchesSemantics(_ op: CompareOp) {
        let swaps = Self.samples.allSatisfy { x, y in Elementwise.compare(op, x, y) == Elementwise.compare(op, y, x) }
        #expect(Op.compare(op).isCommutative == swaps, "\(op)")
    }

    /// "Cheap" means no transcendental function: the cheap unary ops are polynomials of degree
    /// ≤ 2 away from their kinks (third finite difference 0), every other one is not.
    @Test(arguments: UnaryOp.allCases)
    func cheapUnaryOpsArePiecewiseQuadratic(_ op: UnaryOp) {
        let x = 2.0, h = 0.1
        let f = { (t: Double) in Elementwise.unary(op, t) }
        let third = f(x + 3 * h) - 3 * f(x + 2 * h) + 3 * f(x + h) - f(x)
        let quadratic = Swift.abs(third) < 1e-9
        #expect(Op.unary(op).isCheapElementwise == quadratic, "\(op): declared cheap \(Op.unary(op).isCheapElementwise), third difference \(third)")
        #expect(Op.unary(op).isElementwise)
    }

    @Test func leavesViewsAndFeedNames() {
        #expect(Op.parameter("w").feedName == "w" && Op.input("x").feedName == "x")
        #expect(Op.constant(.splat(1)).feedName == nil && Op.constant(.splat(1)).isLeaf)
        #expect(Op.arg(0).isLeaf && !Op.randomNormal(seed: 1).isLeaf)
        #expect(Op.reshape.isView && !Op.broadcast.isView && !Op.transpose([1, 0]).isView)
        #expect(Op.select.isCheapElementwise && !Op.binary(.pow).isCheapElementwise)
        #expect(!Op.reduce(.sum, axes: [0]).isElementwise && !Op.matmul(MatmulAttrs()).isElementwise)
    }

    @Test func matmulDimsAndFlops() {
        // A [3, 4] (or Aᵀ stored [4, 3]), B [4, 5] (or Bᵀ stored [5, 4]): m 3, n 5, k 4.
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let m = MatmulAttrs(transA: ta, transB: tb)
            let d = m.dims(a: ta ? [4, 3] : [3, 4], b: tb ? [5, 4] : [4, 5])
            #expect(d.m == 3 && d.n == 5 && d.k == 4, "transA \(ta) transB \(tb): \(d)")
            #expect(m.flops(a: ta ? [4, 3] : [3, 4], b: tb ? [5, 4] : [4, 5]) == 120)
        }
    }
}
