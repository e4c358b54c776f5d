// Axis scales and tick choice ("nice" steps of 1, 2, 2.5 and 5 × 10^k), and the figures' type sizes.

import Foundation

/// The fonts every chart uses.
public enum Style {
    public static let title = Font(size: 15, bold: true)
    public static let subtitle = Font(size: 12)
    public static let panelTitle = Font(size: 13, bold: true)
    public static let label = Font(size: 12)
    public static let tick = Font(size: 10.5)
    public static let small = Font(size: 9.5)
    public static let axisColor = Color.darkGrey
}

/// How values map to positions along an axis.
public enum AxisScale: Sendable {
    case linear
    /// Base-10 logarithmic (values ≤ 0 are not drawn).
    case log
}

/// A value range and its scale; maps values to [0, 1].
public struct Axis: Sendable {
    public var lo: Double, hi: Double
    public var scale: AxisScale

    /// The range of `values` (finite ones; positive ones for log), padded by `pad` of its width on
    /// each side; a single value gets a range around it.
    public init(covering values: [Double], scale: AxisScale = .linear, pad: Double = 0.04) {
        self.scale = scale
        let v = values.filter { $0.isFinite && (scale == .linear || $0 > 0) }
        guard var a = v.min(), var b = v.max() else { lo = 0; hi = 1; return }
        if scale == .log { a = Foundation.log10(a); b = Foundation.log10(b) }
        if a == b { let d = a == 0 ? 1 : Swift.abs(a) * 0.1; a -= d; b += d }
        let d = (b - a) * pad
        a -= d; b += d
        if scale == .log { a = pow(10, a); b = pow(10, b) }
        lo = a; hi = b
    }
    public init(lo: Double, hi: Double, scale: AxisScale = .linear) { self.lo = lo; self.hi = hi; self.scale = scale }

    /// The position of `v` in [0, 1] (nil if it cannot be drawn).
    public func fraction(_ v: Double) -> Double? {
        guard v.isFinite else { return nil }
        switch scale {
        case .linear: return (v - lo) / (hi - lo)
        case .log:
            guard v > 0 else { return nil }
            return (Foundation.log10(v) - Foundation.log10(lo)) / (Foundation.log10(hi) - Foundation.log10(lo))
        }
    }

    /// Tick values inside the range, about `target` of them, with their labels.
    public func ticks(target: Int = 6) -> [(value: Double, label: String)] {
        switch scale {
        case .linear:
            let step = niceStep((hi - lo) / Double(max(1, target)))
            let first = (lo / step).rounded(.up), last = (hi / step).rounded(.down)
            guard first <= last else { return [] }
            let decimals = max(0, -Int(Foundation.floor(Foundation.log10(step) + 1e-9)) + (isQuarter(step) ? 1 : 0))
            return stride(from: first, through: last, by: 1).map { k in
                let v = k * step
                return (v, formatTick(v, decimals: decimals))
            }
        case .log:
            let a = Int(Foundation.floor(Foundation.log10(lo))), b = Int(Foundation.ceil(Foundation.log10(hi)))
            let mantissas: [Double] = b - a <= 2 ? [1, 2, 5] : b - a <= 4 ? [1, 3] : [1]
            var out: [(Double, String)] = []
            for e in a...b {
                for m in mantissas {
                    let v = m * pow(10, Double(e))
                    if v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9) { out.append((v, formatTick(v, decimals: max(0, -e)))) }
                }
            }
            return out
        }
    }

    func isQuarter(_ step: Double) -> Bool {
        let m = step / pow(10, Foundation.floor(Foundation.log10(step)))
        return Swift.abs(m - 2.5) < 1e-6
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ `raw`.
func niceStep(_ raw: Double) -> Double {
    guard raw > 0, raw.isFinite else { return 1 }
    let p = pow(10, Foundation.floor(Foundation.log10(raw)))
    for m in [1, 2, 2.5, 5, 10] where m * p >= raw * (1 - 1e-9) { return m * p }
    return 10 * p
}

/// A tick label: fixed decimals, "−" for minus, exponent form for very large or small values.
func formatTick(_ v: Double, decimals: Int) -> String {
    let a = Swift.abs(v)
    var s: String
    if a != 0 && (a >= 1e6 || a < 1e-4) { s = String(format: "%.0e", v) }
    else { s = String(format: "%.\(min(decimals, 6))f", v) }
    if s.hasPrefix("-") { s = (Double(s) == 0 ? "" : "−") + s.dropFirst() }
    return s
}
