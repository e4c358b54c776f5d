// A tiny RGB canvas with a built-in 5×7 bitmap font, for labelled figures written as PNG.

import Data

/// An RGB colour.
public struct RGB: Equatable, Sendable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
    public static let white = RGB(255, 255, 255), black = RGB(0, 0, 0), grey = RGB(128, 128, 128)
    public static let lightGrey = RGB(220, 220, 220), red = RGB(220, 40, 40)
}

/// The built-in 5×7 font: digits, letters (lower case drawn as capitals), common punctuation and
/// a few Greek letters. Each glyph is 7 rows of 5 bits (bit 4 = leftmost column); characters
/// advance 6 pixels (× scale). Unknown characters draw as "?".
public enum BitmapFont {
    public static let glyphWidth = 5, glyphHeight = 7, advance = 6

    static let glyphs: [Character: [UInt8]] = {
        let table: [(Character, [UInt8])] = [
            ("0", [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E]), ("1", [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E]),
            ("2", [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F]), ("3", [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E]),
            ("4", [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02]), ("5", [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E]),
            ("6", [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E]), ("7", [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08]),
            ("8", [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E]), ("9", [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C]),
            ("A", [0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11]), ("B", [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E]),
            ("C", [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E]), ("D", [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C]),
            ("E", [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F]), ("F", [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10]),
            ("G", [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F]), ("H", [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11]),
            ("I", [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E]), ("J", [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C]),
            ("K", [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11]), ("L", [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F]),
            ("M", [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11]), ("N", [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11]),
            ("O", [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E]), ("P", [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10]),
            ("Q", [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D]), ("R", [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11]),
            ("S", [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E]), ("T", [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04]),
            ("U", [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E]), ("V", [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04]),
            ("W", [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A]), ("X", [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11]),
            ("Y", [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04]), ("Z", [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F]),
            (" ", [0, 0, 0, 0, 0, 0, 0]), (".", [0, 0, 0, 0, 0, 0x0C, 0x0C]), (",", [0, 0, 0, 0, 0x0C, 0x04, 0x08]),
            ("-", [0, 0, 0, 0x1F, 0, 0, 0]), ("+", [0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0]),
            ("=", [0, 0, 0x1F, 0, 0x1F, 0, 0]), ("(", [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02]),
            (")", [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08]), (":", [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0]),
            ("/", [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0]), ("%", [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03]),
            ("|", [0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04]), ("_", [0, 0, 0, 0, 0, 0, 0x1F]),
            ("<", [0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02]), (">", [0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08]),
            ("*", [0, 0x04, 0x15, 0x0E, 0x15, 0x04, 0]), ("[", [0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E]),
            ("]", [0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E]), ("'", [0x04, 0x04, 0x08, 0, 0, 0, 0]),
            ("?", [0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04]), ("!", [0x04, 0x04, 0x04, 0x04, 0x04, 0, 0x04]),
            ("#", [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A]), (";", [0, 0x0C, 0x0C, 0, 0x0C, 0x04, 0x08]), ("γ", [0, 0x11, 0x11, 0x0A, 0x04, 0x0A, 0x04]),
            ("μ", [0, 0x11, 0x11, 0x11, 0x13, 0x1D, 0x10]), ("λ", [0x08, 0x04, 0x04, 0x0A, 0x0A, 0x11, 0x11]),
            ("β", [0x0C, 0x12, 0x12, 0x1C, 0x12, 0x12, 0x1C]), ("σ", [0, 0, 0x0F, 0x12, 0x12, 0x12, 0x0C]),
            ("±", [0x04, 0x04, 0x1F, 0x04, 0x04, 0, 0x1F]), ("×", [0, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0]),
            ("⊙", [0, 0x0E, 0x11, 0x15, 0x11, 0x0E, 0]), ("→", [0, 0x04, 0x02, 0x1F, 0x02, 0x04, 0]),
            ("…", [0, 0, 0, 0, 0, 0, 0x15]), ("·", [0, 0, 0, 0x04, 0, 0, 0]), ("≈", [0, 0x08, 0x15, 0x02, 0x08, 0x15, 0x02]),
        ]
        return Dictionary(uniqueKeysWithValues: table)
    }()

    /// The 7 row bitmaps of a character (lower case → capitals; unknown → "?").
    public static func glyph(_ c: Character) -> [UInt8] {
        if let g = glyphs[c] { return g }
        if let g = glyphs[Character(c.uppercased())] { return g }
        return glyphs["?"]!
    }

    /// Width in pixels of `text` drawn at `scale` (no trailing gap).
    public static func width(_ text: String, scale: Int = 1) -> Int {
        text.isEmpty ? 0 : (text.count * advance - 1) * scale
    }
    /// Height in pixels of a line at `scale`.
    public static func height(scale: Int = 1) -> Int { glyphHeight * scale }
}

/// An RGB image being drawn; `write(to:)` saves it as PNG.
public struct Canvas {
    public let width: Int, height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGB = .white) {
        precondition(width > 0 && height > 0)
        self.width = width; self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, w: width, h: height, background)
    }

    public subscript(x: Int, y: Int) -> RGB {
        get { let k = (y * width + x) * 3; return RGB(pixels[k], pixels[k + 1], pixels[k + 2]) }
        set {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            let k = (y * width + x) * 3
            pixels[k] = newValue.r; pixels[k + 1] = newValue.g; pixels[k + 2] = newValue.b
        }
    }

    public mutating func fill(x: Int, y: Int, w: Int, h: Int, _ c: RGB) {
        let x0 = max(0, x), x1 = min(width, x + w), y0 = max(0, y), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 { for xx in x0..<x1 { self[xx, yy] = c } }
    }

    /// A one-pixel rectangle outline.
    public mutating func frame(x: Int, y: Int, w: Int, h: Int, _ c: RGB) {
        fill(x: x, y: y, w: w, h: 1, c); fill(x: x, y: y + h - 1, w: w, h: 1, c)
        fill(x: x, y: y, w: 1, h: h, c); fill(x: x + w - 1, y: y, w: 1, h: h, c)
    }

    /// Draws `text` with its top-left corner at (x, y). `vertical` rotates it 90° clockwise (it
    /// reads top to bottom; (x, y) is then the top-left of a block `height(scale)` wide).
    public mutating func text(_ text: String, x: Int, y: Int, scale: Int = 1, color: RGB = .black, vertical: Bool = false) {
        let H = BitmapFont.glyphHeight
        for (k, ch) in text.enumerated() {
            let g = BitmapFont.glyph(ch)
            for gy in 0..<H {
                for gx in 0..<BitmapFont.glyphWidth where g[gy] & (0x10 >> UInt8(gx)) != 0 {
                    let (px, py) = vertical ? (x + (H - 1 - gy) * scale, y + (k * BitmapFont.advance + gx) * scale)
                                            : (x + (k * BitmapFont.advance + gx) * scale, y + gy * scale)
                    fill(x: px, y: py, w: scale, h: scale, color)
                }
            }
        }
    }

    /// Draws a grey image (`h*w` values in [0, 1]) at (x, y), each pixel a `scale × scale` block.
    public mutating func image(_ v: ArraySlice<Float>, h: Int, w: Int, x: Int, y: Int, scale: Int = 1) {
        precondition(v.count == h * w)
        let base = v.startIndex
        for iy in 0..<h {
            for ix in 0..<w {
                let b = toByte(v[base + iy * w + ix])
                fill(x: x + ix * scale, y: y + iy * scale, w: scale, h: scale, RGB(b, b, b))
            }
        }
    }

    public func write(to path: String) throws {
        try writePNG(path: path, width: width, height: height, pixels: pixels, channels: 3)
    }
}

/// Colour maps from [0, 1] to RGB.
public enum Colormap: Sendable {
    /// Black (0) to white (1), as the paper's spike maps.
    case grey
    /// Perceptually uniform dark blue → green → yellow (matplotlib's viridis, piecewise linear).
    case viridis

    public func color(_ v: Float) -> RGB {
        let t = v.isFinite ? min(1, max(0, v)) : 0
        switch self {
        case .grey:
            let b = toByte(t); return RGB(b, b, b)
        case .viridis:
            let stops: [(Float, Float, Float)] = [(68, 1, 84), (72, 40, 120), (62, 74, 137), (49, 104, 142), (38, 130, 142),
                                                  (31, 158, 137), (53, 183, 121), (109, 205, 89), (180, 222, 44), (253, 231, 37)]
            let p = t * Float(stops.count - 1)
            let i = min(stops.count - 2, Int(p)), f = p - Float(i)
            let a = stops[i], b = stops[i + 1]
            func mix(_ x: Float, _ y: Float) -> UInt8 { UInt8((x + (y - x) * f).rounded()) }
            return RGB(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
        }
    }
}
