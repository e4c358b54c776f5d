import SeededRandom
import IR
import Passes

/// The result of `gradCheck`: per differentiated parameter, the worst relative error between the
/// symbolic gradient and central finite differences.
public struct GradCheckReport: CustomStringConvertible, Sendable {
    public struct Entry: Sendable {
        public var name: String
        /// max over checked elements of |a − n| / max(|a|, |n|, floor) (see `gradCheck`).
        public var worstRelativeError: Double
        /// The element (flat index) where the worst error occurred, with both values.
        public var worstIndex: Int
        public var analytic: Double
        public var numeric: Double
        /// Elements compared (all of them, or the seeded sample).
        public var elementsChecked: Int
        public var elementCount: Int
    }
    /// In graph order of the parameters; only parameters the loss depends on.
    public var parameters: [Entry]
    /// The loss value at the feeds (summed if the loss is not a scalar).
    public var loss: Double
    /// The denominator floor used.
    public var floor: Double

    /// The worst relative error over all parameters (0 when there are none).
    public var worst: Double { parameters.map(\.worstRelativeError).max() ?? 0 }

    public var description: String {
        let w = max(9, parameters.map(\.name.count).max() ?? 0)
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
        var out = pad("parameter", w) + "  worst rel. error  checked/elements  (at: analytic vs numeric)\n"
        for e in parameters {
            out += pad(e.name, w) + "  " + pad(shortNumber(e.worstRelativeError), 16) + "  "
                + pad("\(e.elementsChecked)/\(e.elementCount)", 16)
                + "  ([\(e.worstIndex)]: \(shortNumber(e.analytic)) vs \(shortNumber(e.numeric)))\n"
        }
        return out
    }
}

fileprivate func shortNumber(_ x: Double) -> String {
    if x == 0 || !x.isFinite { return "\(x)" }
    // Three significant digits in exponent form.
    var e = 0, m = Swift.abs(x)
    while m >= 10 { m /= 10; e += 1 }
    while m < 1 { m *= 10; e -= 1 }
    let r = (m * 100).rounded() / 100
    return (x < 0 ? "-" : "") + "\(r)e\(e)"
}

/// Checks the symbolic gradient (`Passes.grad`) of output `loss` against central finite differences,
/// both evaluated in Float64 (`Interpreter<Double>`, whatever the graph's dtype).
///
/// - For every parameter the loss depends on, each element (or, with `maxElementsPerParameter`, a
///   seeded sample of that many distinct elements; `seed` picks them) is moved by ±`epsilon` and the
///   numeric derivative is (L(x+h) − L(x−h)) / ((x+h) − (x−h)) (the actual representable step).
/// - relative error = |a − n| / max(|a|, |n|, floor), with floor = 1e-3 · max(1, |L|).
///   Why the floor: each Float64 loss evaluation carries a rounding error of a few ulps of the
///   loss, δL ≈ 3e-16·|L| (measured on the MLP samples), so the difference quotient has an absolute
///   noise of ≈ δL / ε ≈ 3e-10·|L| (ε = 1e-6), and the worst over thousands of elements a few times
///   that. Dividing by 1e-3·|L| keeps pure rounding noise below ≈ 1e-6 relative; gradient components
///   of magnitude ≥ 1e-3·|L| are compared truly relatively, smaller ones in absolute terms. In
///   PyTorch's terms the check is |a − n| ≤ atol + rtol·max(|a|, |n|) with rtol = tolerance and
///   atol = tolerance·1e-3·max(1, |L|) — about 1e-9·|L| for tolerance 1e-6 (PyTorch's gradcheck
///   defaults are atol 1e-5, rtol 1e-3).
/// - A non-scalar loss is checked as the sum of its elements (the gradient's seed is ones).
/// - `feeds` must give every parameter and input (as for `Interpreter.run`).
public func gradCheck(graph: Graph, loss: String, feeds: [String: [Double]], maxElementsPerParameter: Int? = nil,
                      seed: UInt64, epsilon: Double = 1e-6) throws -> GradCheckReport {
    guard let lossID = graph.output(loss) else {
        throw IRError("gradcheck: the graph @\(graph.name) has no output \"\(loss)\" (outputs: \(graph.outputs.map(\.name).joined(separator: ", ")))")
    }
    let live = graph.live(from: [lossID])
    let params = graph.parameters.filter { live[$0.node] }

    // Symbolic gradients, on a copy (grad appends to the graph it is given).
    let withGrads = graph.copy()
    let grads = try grad(of: lossID, wrt: params.map(\.node), in: withGrads)
    withGrads.removeOutputs()
    withGrads.setOutput("loss", lossID)
    for (k, gk) in grads.enumerated() { withGrads.setOutput("grad.\(k)", gk) }
    let symbolic = try Interpreter<Double>(withGrads).run(feeds)

    // The forward graph with just the loss as output.
    let forward = graph.copy()
    forward.removeOutputs()
    forward.setOutput("loss", lossID)
    let interp = Interpreter<Double>(forward)
    func lossAt(_ f: [String: [Double]]) throws -> Double { try interp.run(f)["loss"]!.reduce(0, +) }

    let l0 = symbolic["loss"]!.reduce(0, +)
    let floor = 1e-3 * max(1, Swift.abs(l0))
    var rng = SplitMix64(seed: seed)
    var entries: [GradCheckReport.Entry] = []
    var work = feeds
    for (k, p) in params.enumerated() {
        let analytic = symbolic["grad.\(k)"]!
        let n = analytic.count
        guard let original = feeds[p.name], original.count == n else {
            throw RuntimeError("gradcheck: no (or misshapen) value fed for parameter \"\(p.name)\"", node: p.node)
        }
        var indices = Array(0..<n)
        if let m = maxElementsPerParameter, m < n {
            // Seeded partial Fisher–Yates: m distinct elements, then in increasing order.
            for i in 0..<m { indices.swapAt(i, i + Int(rng.next() % UInt64(n - i))) }
            indices = Array(indices[0..<m]).sorted()
        }
        var entry = GradCheckReport.Entry(name: p.name, worstRelativeError: 0, worstIndex: indices.first ?? 0,
                                          analytic: 0, numeric: 0, elementsChecked: indices.count, elementCount: n)
        for i in indices {
            let x = original[i]
            let xp = x + epsilon, xm = x - epsilon
            work[p.name]![i] = xp
            let lp = try lossAt(work)
            work[p.name]![i] = xm
            let lm = try lossAt(work)
            work[p.name]![i] = x
            let numeric = (lp - lm) / (xp - xm)
            let a = analytic[i]
            let err = Swift.abs(a - numeric) / max(Swift.abs(a), Swift.abs(numeric), floor)
            // Keep the first NaN if any; otherwise the largest error (the first element to start with).
            let worse = !entry.worstRelativeError.isNaN && (i == indices.first || err.isNaN || err > entry.worstRelativeError)
            if worse {
                entry.worstRelativeError = err; entry.worstIndex = i; entry.analytic = a; entry.numeric = numeric
            }
        }
        entries.append(entry)
    }
    return GradCheckReport(parameters: entries, loss: l0, floor: floor)
}
