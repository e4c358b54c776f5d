// Colour maps (matplotlib's stops, interpolated linearly) and the line colours of plots.

/// A map from [0, 1] to colours.
public enum Colormap: String, CaseIterable, Sendable {
    /// Black (0) to white (1), as the paper's spike maps.
    case grey
    /// Perceptually uniform dark blue → green → yellow (matplotlib's viridis at 11 stops).
    case viridis
    /// Blue (0) → white (0.5) → red (1), for signed values centred on 0 (ColorBrewer's RdBu, reversed).
    case diverging

    var stops: [UInt32] {
        switch self {
        case .grey: return [0x000000, 0xFFFFFF]
        case .viridis: return [0x440154, 0x482475, 0x414487, 0x355F8D, 0x2A788E, 0x21918C, 0x22A884, 0x44BF70, 0x7AD151, 0xBDDF26, 0xFDE725]
        case .diverging: return [0x053061, 0x2166AC, 0x4393C3, 0x92C5DE, 0xD1E5F0, 0xF7F7F7, 0xFDDBC7, 0xF4A582, 0xD6604D, 0xB2182B, 0x67001F]
        }
    }

    /// The colour at `t` (clamped to [0, 1]; NaN → the 0 colour).
    public func color(_ t: Double) -> Color {
        let s = stops
        let v = t.isFinite ? min(1, max(0, t)) : 0
        let p = v * Double(s.count - 1)
        let i = min(s.count - 2, Int(p)), f = p - Double(i)
        let a = Color(hex: s[i]), b = Color(hex: s[i + 1])
        return Color(a.r + (b.r - a.r) * f, a.g + (b.g - a.g) * f, a.b + (b.b - a.b) * f)
    }
}

/// Line colours for series (matplotlib's tab10), cycled.
public func seriesColor(_ i: Int) -> Color {
    let tab10: [UInt32] = [0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD, 0x8C564B, 0xE377C2, 0x7F7F7F, 0xBCBD22, 0x17BECF]
    return Color(hex: tab10[((i % tab10.count) + tab10.count) % tab10.count])
}
