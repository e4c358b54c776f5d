// A figure as a list of marks (rectangles, lines, text, raster images) on a page measured in
// units (1 unit = 1 PNG pixel at scale 1, 1 pt in PDF/SVG). Charts lay marks out; the renderers
// replay the same list to PNG, SVG or PDF, so every format shows the same content, and tests can
// read the layout (text boxes) without rasterising anything.

/// A point on the page (y grows downwards).
public struct Point: Equatable, Sendable {
    public var x: Double, y: Double
    public init(_ x: Double, _ y: Double) { self.x = x; self.y = y }
}

/// A width and height in units.
public struct Size: Equatable, Sendable {
    public var width: Double, height: Double
    public init(_ width: Double, _ height: Double) { self.width = width; self.height = height }
}

/// An axis-aligned rectangle.
public struct Rect: Equatable, Sendable {
    public var x: Double, y: Double, width: Double, height: Double
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
    public var maxX: Double { x + width }
    public var maxY: Double { y + height }
    public var midX: Double { x + width / 2 }
    public var midY: Double { y + height / 2 }
    /// Whether the two overlap by more than `tolerance` in both directions (touching is not overlap).
    public func overlaps(_ o: Rect, tolerance: Double = 0.01) -> Bool {
        min(maxX, o.maxX) - max(x, o.x) > tolerance && min(maxY, o.maxY) - max(y, o.y) > tolerance
    }
    /// Whether `o` lies inside (with `tolerance` of slack).
    public func contains(_ o: Rect, tolerance: Double = 0.01) -> Bool {
        o.x >= x - tolerance && o.y >= y - tolerance && o.maxX <= maxX + tolerance && o.maxY <= maxY + tolerance
    }
    public func offsetBy(_ dx: Double, _ dy: Double) -> Rect { Rect(x: x + dx, y: y + dy, width: width, height: height) }
}

/// An sRGB colour, components in [0, 1].
public struct Color: Equatable, Hashable, Sendable {
    public var r: Double, g: Double, b: Double
    public init(_ r: Double, _ g: Double, _ b: Double) { self.r = r; self.g = g; self.b = b }
    /// From 0xRRGGBB.
    public init(hex: UInt32) {
        self.init(Double((hex >> 16) & 0xFF) / 255, Double((hex >> 8) & 0xFF) / 255, Double(hex & 0xFF) / 255)
    }
    public static let white = Color(1, 1, 1), black = Color(0, 0, 0)
    public static let grey = Color(hex: 0x8C8C8C), darkGrey = Color(hex: 0x333333), red = Color(hex: 0xD62728)
    /// As bytes (rounded, clamped).
    public var bytes: (UInt8, UInt8, UInt8) {
        func byte(_ v: Double) -> UInt8 { UInt8((min(1, max(0, v.isFinite ? v : 0)) * 255).rounded()) }
        return (byte(r), byte(g), byte(b))
    }
    /// "#rrggbb".
    public var hexString: String {
        let (r, g, b) = bytes
        let digits = Array("0123456789abcdef")
        return "#" + [r, g, b].map { String([digits[Int($0 >> 4)], digits[Int($0 & 15)]]) }.joined()
    }
}

/// A font of the figures' one family (DejaVu Sans, which covers Greek and the maths symbols).
public struct Font: Equatable, Hashable, Sendable {
    public var size: Double
    public var bold: Bool
    public init(size: Double, bold: Bool = false) { self.size = size; self.bold = bold }
    public static let family = "DejaVu Sans"
}

/// An RGB raster (row-major, 3 bytes per pixel), drawn scaled into a rectangle without smoothing.
public struct RasterImage: Equatable, Sendable {
    public var width: Int, height: Int
    public var rgb: [UInt8]
    public init(width: Int, height: Int, rgb: [UInt8]) {
        precondition(width > 0 && height > 0 && rgb.count == width * height * 3, "RasterImage: \(rgb.count) bytes do not make \(width)×\(height) RGB")
        self.width = width; self.height = height; self.rgb = rgb
    }
    /// A grey image from `h*w` values in [0, 1] (NaN → black).
    public init(grey values: ArraySlice<Float>, height h: Int, width w: Int) {
        precondition(values.count == h * w, "RasterImage: \(values.count) values do not make \(h)×\(w)")
        var px = [UInt8](repeating: 0, count: h * w * 3)
        for (k, v) in values.enumerated() {
            let b = v.isFinite ? UInt8((min(1, max(0, v)) * 255).rounded()) : 0
            px[3 * k] = b; px[3 * k + 1] = b; px[3 * k + 2] = b
        }
        self.init(width: w, height: h, rgb: px)
    }
}

/// Text placed on the page: `box` is its logical extent (after rotation), `baseline` the distance
/// from the top of the unrotated text to its baseline.
public struct TextMark: Equatable, Sendable {
    public enum Rotation: Equatable, Sendable {
        case none
        /// Turned 90° anticlockwise: reads bottom to top (a y-axis label).
        case up
    }
    public var text: String
    public var font: Font
    public var color: Color
    public var box: Rect
    public var baseline: Double
    public var rotation: Rotation
}

/// One thing drawn.
public enum Mark: Equatable, Sendable {
    case rect(Rect, fill: Color?, stroke: Color?, lineWidth: Double)
    /// A polyline; `closed` joins the last point to the first.
    case line([Point], color: Color, width: Double, closed: Bool)
    case circle(center: Point, radius: Double, fill: Color)
    case text(TextMark)
    case image(RasterImage, Rect)
}

/// Where a text's anchor point is: which of its box's corners, edge midpoints or centre.
public enum Anchor: Sendable {
    case topLeft, top, topRight, left, center, right, bottomLeft, bottom, bottomRight

    var fractions: (Double, Double) {
        switch self {
        case .topLeft: return (0, 0)
        case .top: return (0.5, 0)
        case .topRight: return (1, 0)
        case .left: return (0, 0.5)
        case .center: return (0.5, 0.5)
        case .right: return (1, 0.5)
        case .bottomLeft: return (0, 1)
        case .bottom: return (0.5, 1)
        case .bottomRight: return (1, 1)
        }
    }
}

/// A page and the marks on it, in drawing order.
public struct Drawing: Equatable, Sendable {
    public var size: Size
    public var marks: [Mark] = []
    public init(size: Size) { self.size = size }

    /// Every text mark, in drawing order.
    public var texts: [TextMark] {
        marks.compactMap { if case .text(let t) = $0 { return t } else { return nil } }
    }

    /// Pairs of texts whose boxes overlap (a legible figure has none).
    public var overlappingTexts: [(String, String)] {
        let t = texts
        var out: [(String, String)] = []
        for i in t.indices { for j in t.indices where j > i && t[i].box.overlaps(t[j].box) { out.append((t[i].text, t[j].text)) } }
        return out
    }

    /// Texts that stick out of the page.
    public var textsOffPage: [String] {
        let page = Rect(x: 0, y: 0, width: size.width, height: size.height)
        return texts.filter { !page.contains($0.box) }.map(\.text)
    }

    public mutating func rect(_ r: Rect, fill: Color? = nil, stroke: Color? = nil, lineWidth: Double = 1) {
        marks.append(.rect(r, fill: fill, stroke: stroke, lineWidth: lineWidth))
    }
    public mutating func line(_ points: [Point], color: Color = .black, width: Double = 1, closed: Bool = false) {
        guard points.count >= 2 else { return }
        marks.append(.line(points, color: color, width: width, closed: closed))
    }
    public mutating func circle(_ center: Point, radius: Double, fill: Color) {
        marks.append(.circle(center: center, radius: radius, fill: fill))
    }
    public mutating func image(_ image: RasterImage, in r: Rect) { marks.append(.image(image, r)) }

    /// Places `text` so that its box's `anchor` is at `at`; returns the box.
    @discardableResult
    public mutating func text(_ text: String, at: Point, anchor: Anchor = .topLeft, font: Font,
                              color: Color = .black, rotation: TextMark.Rotation = .none) -> Rect {
        let box = TextMetrics.box(text, font: font, at: at, anchor: anchor, rotation: rotation)
        let m = TextMetrics.measure(text, font: font)
        marks.append(.text(TextMark(text: text, font: font, color: color, box: box, baseline: m.baseline, rotation: rotation)))
        return box
    }

    /// Copies `other`'s marks, shifted by (dx, dy).
    public mutating func place(_ other: Drawing, at origin: Point) {
        let dx = origin.x, dy = origin.y
        for m in other.marks {
            switch m {
            case .rect(let r, let f, let s, let w): marks.append(.rect(r.offsetBy(dx, dy), fill: f, stroke: s, lineWidth: w))
            case .line(let ps, let c, let w, let closed):
                marks.append(.line(ps.map { Point($0.x + dx, $0.y + dy) }, color: c, width: w, closed: closed))
            case .circle(let p, let r, let f): marks.append(.circle(center: Point(p.x + dx, p.y + dy), radius: r, fill: f))
            case .text(var t): t.box = t.box.offsetBy(dx, dy); marks.append(.text(t))
            case .image(let img, let r): marks.append(.image(img, r.offsetBy(dx, dy)))
            }
        }
    }
}

/// Errors of writing figures.
public struct PlotError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ d: String) { description = d }
}
