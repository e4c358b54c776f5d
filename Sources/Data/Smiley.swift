// The Smiley sparse data set (supplementary E of the paper), with the mean shapes of the authors'
// generator as restated in shared/SMILEY.md.
//
// Coordinates follow that document: rows y = 1…32 from the top, columns x = 1…32 from the left,
// a pixel's centre at its integer coordinates. Images are stored row-major (index (y-1)*32 + (x-1)).
// Rounding is halves away from zero everywhere (Swift's `.rounded()`).

#if canImport(Glibc)
import SeededRandom
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The four Smiley attributes, in the order of `Dataset.presence` and of the blocks of
/// `Dataset.sources` (eyes 0–2, mouth 3–7, hat 8–13, bow tie 14–17).
public enum SmileyAttribute: Int, CaseIterable, Sendable {
    case eyes, mouth, hat, bowTie

    /// Total source values per example (3 + 5 + 6 + 4).
    public static let sourceCount = 18

    /// Lower-case name ("eyes", "mouth", "hat", "bowtie").
    public var name: String {
        switch self {
        case .eyes: return "eyes"
        case .mouth: return "mouth"
        case .hat: return "hat"
        case .bowTie: return "bowtie"
        }
    }

    /// Names of this attribute's sources, in storage order.
    public var sourceNames: [String] {
        switch self {
        case .eyes: return ["eyes.separation", "eyes.y", "eyes.radius"]
        case .mouth: return ["mouth.length", "mouth.width", "mouth.x", "mouth.y", "mouth.smile"]
        case .hat: return ["hat.x", "hat.y", "hat.brimWidth", "hat.brimHeight", "hat.crownWidth", "hat.crownHeight"]
        case .bowTie: return ["bowtie.x", "bowtie.y", "bowtie.width", "bowtie.height"]
        }
    }

    /// Positions of this attribute's sources within an example's 18 source values.
    public var sourceRange: Range<Int> {
        switch self {
        case .eyes: return 0..<3
        case .mouth: return 3..<8
        case .hat: return 8..<14
        case .bowTie: return 14..<18
        }
    }

    /// Names of all 18 sources in storage order.
    public static var allSourceNames: [String] { allCases.flatMap(\.sourceNames) }

    /// The attribute each of the 18 sources belongs to.
    public static var attributeOfSource: [SmileyAttribute] {
        allCases.flatMap { a in Array(repeating: a, count: a.sourceRange.count) }
    }
}

/// Every number of the Smiley generator. The defaults reproduce the paper's data set: head radius
/// 10, sources N(0, 0.5²) scaled inside each shape so the effective standard deviations are those
/// of supplementary E, each attribute present with probability 0.5.
///
/// Each shape is written `base + scale·v` with `v` the stored (unscaled) source value.
public struct SmileyConfig: Sendable {
    /// Images are `side × side` (the geometry is laid out for 32).
    public static let side = 32

    /// Probability that each attribute is present, in `SmileyAttribute` order (eyes, mouth, hat, bow tie).
    public var presenceProbability: [Double] = [0.5, 0.5, 0.5, 0.5]
    /// Standard deviation of every source value v (before the per-shape scaling).
    public var sourceSD: Double = 0.5

    /// The head: pixels within `radius` of (`centerX`, `centerY`) are 1.
    public struct Head: Sendable {
        public var centerX = 16.5, centerY = 16.5, radius = 10.0
        public init() {}
    }
    /// Eyes (sources v1 separation, v2 vertical position, v3 radius): two holes of radius
    /// `radius + radiusScale·v3` centred at x = `centerX ∓ (separation + separationScale·v1)`,
    /// y = `y + yScale·v2`.
    public struct Eyes: Sendable {
        public var centerX = 16.5, y = 14.0, separation = 4.0, radius = 2.0
        public var separationScale = 1.0, yScale = 1.0, radiusScale = 1.0
        public init() {}
    }
    /// Mouth (v1 length, v2 width, v3 x, v4 y, v5 smile): a rectangular hole `length + lengthScale·v1`
    /// wide and `width + widthScale·v2` high centred at (`x + xScale·v3`, `y + yScale·v4`), plus two
    /// single-pixel holes each side at rows round(cy + innerSmile·v5) and round(cy + outerSmile·v5).
    public struct Mouth: Sendable {
        public var length = 4.0, width = 2.0, x = 16.0, y = 22.0
        public var lengthScale = 1.0, widthScale = 1.0, xScale = 0.5, yScale = 0.5
        public var innerSmile = 1.0, outerSmile = 1.4
        public init() {}
    }
    /// Hat (v1 x, v2 y, v3 brim width, v4 brim height, v5 crown width, v6 crown height), drawn as 1:
    /// a brim `brimWidth + brimWidthScale·v3` by `brimHeight + brimHeightScale·v4` centred at
    /// (`x + xScale·v1`, `y + yScale·v2`), and a crown `crownWidth + crownWidthScale·v5` wide on the
    /// same centre from row round(top − (`crownHeight + crownHeightScale·v6`)) down to the brim's top.
    /// Row arithmetic happens on a canvas padded by `padAbove` rows, as the original did.
    public struct Hat: Sendable {
        public var x = 16.5, y = 6.0, brimWidth = 15.0, brimHeight = 2.0, crownWidth = 10.0, crownHeight = 2.0
        public var xScale = 1.0, yScale = 1.0, brimWidthScale = 3.0, brimHeightScale = 2.0
        public var crownWidthScale = 2.0, crownHeightScale = 1.0
        public var padAbove = 5
        public init() {}
    }
    /// Bow tie (v1 x, v2 y, v3 width, v4 height), OR-ed into the image: `template` resized
    /// (bicubic with antialiasing, MATLAB `imresize` semantics) to ceil(`height + heightScale·v4`) rows
    /// by ceil(`width + widthScale·v3`) columns, min–max rescaled to [0, 1] and rounded, with its
    /// top-left pixel at row round(cy − h/2), column round(cx − w/2) for the unrounded h, w and
    /// (cx, cy) = (`x + xScale·v1`, `y + yScale·v2`).
    public struct BowTie: Sendable {
        public var x = 16.5, y = 29.0, width = 12.0, height = 5.0
        public var xScale = 0.5, yScale = 1.0, widthScale = 3.0, heightScale = 2.0
        /// The template: `#` = 1, anything else = 0; all rows the same length.
        public var template: [String] = [
            ".................",
            "###...........###",
            "#####.......#####",
            "#######...#######",
            "#################",
            "#################",
            "#################",
            "#######...#######",
            "#####.......#####",
            "###...........###",
            ".................",
        ]
        public init() {}
    }

    public var head = Head()
    public var eyes = Eyes()
    public var mouth = Mouth()
    public var hat = Hat()
    public var bowTie = BowTie()

    /// The paper's settings.
    public init() {}

    /// The paper's settings with every attribute present with probability `p`.
    public init(p: Double) {
        presenceProbability = [p, p, p, p]
    }
}

/// The Smiley generator.
public enum Smiley {
    /// Generates `count` examples from `seed`. Example *i* depends only on `(seed, i, config)`, so
    /// the first examples of a larger set equal a smaller set made with the same seed.
    ///
    /// Per example: 4 uniform draws decide presence (eyes, mouth, hat, bow tie; present when
    /// u < p), then 18 normal draws N(0, sourceSD²) give the sources — all drawn whether or not the
    /// attribute is present. Sources are stored as Float32 and the image is rendered from the
    /// stored values, so `render(presence:sources:)` on a stored example reproduces its image.
    ///
    /// - Returns: a `Dataset` named "smiley" with `x` (count × 1024, values 0/1), `presence`
    ///   (count × 4) and `sources` (count × 18), image shape 32×32.
    public static func generate(count: Int, seed: UInt64, config: SmileyConfig = SmileyConfig()) -> Dataset {
        precondition(count >= 0, "count must be ≥ 0")
        precondition(config.presenceProbability.count == 4, "presenceProbability needs 4 values")
        let side = SmileyConfig.side, dim = side * side
        var x = [Float](repeating: 0, count: count * dim)
        var sources = [Float](repeating: 0, count: count * SmileyAttribute.sourceCount)
        var presence = [Bool](repeating: false, count: count * 4)
        let renderer = Renderer(config)
        x.withUnsafeMutableBufferPointer { xp in
            var flags = [Bool](repeating: false, count: 4)
            var v = [Double](repeating: 0, count: SmileyAttribute.sourceCount)
            for i in 0..<count {
                var rng = Xoshiro256(seed: seed, stream: UInt64(i))
                for a in 0..<4 { flags[a] = rng.nextUniform() < config.presenceProbability[a] }
                for k in 0..<v.count {
                    let f = Float(config.sourceSD * rng.nextNormal())
                    sources[i * v.count + k] = f
                    v[k] = Double(f)
                }
                for a in 0..<4 { presence[i * 4 + a] = flags[a] }
                renderer.render(presence: flags, sources: v,
                                into: UnsafeMutableBufferPointer(rebasing: xp[i * dim..<(i + 1) * dim]))
            }
        }
        return Dataset(name: "smiley", count: count, dim: dim, x: x, sources: sources, presence: presence,
                       imageShape: (side, side),
                       classNames: nil)
    }

    /// Renders one 32×32 image (row-major, 0/1) from presence flags (eyes, mouth, hat, bow tie)
    /// and the 18 unscaled source values in `SmileyAttribute` order.
    public static func render(presence: [Bool], sources: [Double], config: SmileyConfig = SmileyConfig()) -> [Float] {
        precondition(presence.count == 4 && sources.count == SmileyAttribute.sourceCount,
                     "render needs 4 presence flags and 18 sources")
        var img = [Float](repeating: 0, count: SmileyConfig.side * SmileyConfig.side)
        img.withUnsafeMutableBufferPointer { Renderer(config).render(presence: presence, sources: sources, into: $0) }
        return img
    }

    /// The bare head: the image of an example with no attribute present.
    public static func head(config: SmileyConfig = SmileyConfig()) -> [Float] {
        Renderer(config).head
    }

    /// The bow tie as drawn for sizes `h × w` (unrounded, as computed from the sources): the
    /// template resized to ceil(h) × ceil(w) by `imresizeBicubic`, min–max rescaled, rounded.
    /// Returns nil when a size is not positive.
    public static func bowTiePatch(height h: Double, width w: Double, config: SmileyConfig = SmileyConfig())
        -> (pixels: [UInt8], rows: Int, cols: Int)? {
        Renderer(config).bowTiePatch(h: h, w: w)
    }

    /// MATLAB-compatible `imresize(A, [outRows outCols], 'bicubic')` of a row-major `rows × cols`
    /// image: Keys cubic kernel (a = −0.5), antialiasing when shrinking (kernel widened by 1/scale
    /// and scaled), input coordinates `u = x/scale + 0.5·(1 − 1/scale)`, edges mirrored
    /// (symmetric padding), weights normalised to sum 1, and the dimension with the smaller scale
    /// resized first.
    public static func imresizeBicubic(_ a: [Double], rows: Int, cols: Int, outRows: Int, outCols: Int,
                                       antialiasing: Bool = true) -> [Double] {
        precondition(a.count == rows * cols && rows > 0 && cols > 0 && outRows > 0 && outCols > 0)
        let sr = Double(outRows) / Double(rows), sc = Double(outCols) / Double(cols)
        let rowW = contributions(inLength: rows, outLength: outRows, scale: sr, antialiasing: antialiasing)
        let colW = contributions(inLength: cols, outLength: outCols, scale: sc, antialiasing: antialiasing)
        func alongRows(_ src: [Double], _ r: Int, _ c: Int) -> [Double] {
            var out = [Double](repeating: 0, count: outRows * c)
            for o in 0..<outRows {
                let (w, idx) = (rowW.weights[o], rowW.indices[o])
                for j in 0..<c {
                    var s = 0.0
                    for p in 0..<w.count { s += w[p] * src[idx[p] * c + j] }
                    out[o * c + j] = s
                }
            }
            return out
        }
        func alongCols(_ src: [Double], _ r: Int, _ c: Int) -> [Double] {
            var out = [Double](repeating: 0, count: r * outCols)
            for i in 0..<r {
                for o in 0..<outCols {
                    let (w, idx) = (colW.weights[o], colW.indices[o])
                    var s = 0.0
                    for p in 0..<w.count { s += w[p] * src[i * c + idx[p]] }
                    out[i * outCols + o] = s
                }
            }
            return out
        }
        if sr <= sc {
            return alongCols(alongRows(a, rows, cols), outRows, cols)
        } else {
            return alongRows(alongCols(a, rows, cols), rows, outCols)
        }
    }

    /// The Keys cubic convolution kernel with a = −0.5 (MATLAB's `cubic`).
    static func cubic(_ x: Double) -> Double {
        let ax = abs(x), ax2 = ax * ax, ax3 = ax2 * ax
        if ax <= 1 { return 1.5 * ax3 - 2.5 * ax2 + 1 }
        if ax <= 2 { return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2 }
        return 0
    }

    /// Per output pixel: weights and 0-based input indices (MATLAB `contributions`).
    static func contributions(inLength: Int, outLength: Int, scale: Double, antialiasing: Bool)
        -> (weights: [[Double]], indices: [[Int]]) {
        var kernelWidth = 4.0
        let shrink = scale < 1 && antialiasing
        if shrink { kernelWidth /= scale }
        let p = Int(kernelWidth.rounded(.up)) + 2
        var weights: [[Double]] = [], indices: [[Int]] = []
        let period = 2 * inLength
        for x in 1...outLength {
            let u = Double(x) / scale + 0.5 * (1 - 1 / scale)
            let left = Int((u - kernelWidth / 2).rounded(.down))
            var w = [Double](repeating: 0, count: p), idx = [Int](repeating: 0, count: p)
            var sum = 0.0
            for k in 0..<p {
                let j = left + k  // 1-based input index, possibly outside 1...inLength
                w[k] = shrink ? scale * cubic(scale * (u - Double(j))) : cubic(u - Double(j))
                sum += w[k]
                // Mirror: aux = [1…n, n…1], index aux(mod(j − 1, 2n) + 1).
                let m = ((j - 1) % period + period) % period
                idx[k] = m < inLength ? m : period - 1 - m
            }
            for k in 0..<p { w[k] /= sum }
            weights.append(w)
            indices.append(idx)
        }
        return (weights, indices)
    }

    /// Bow tie patches by integer size (the resize depends only on the rounded-up output size).
    final class PatchCache {
        var patches: [Int: (pixels: [UInt8], rows: Int, cols: Int)] = [:]
    }

    /// Precomputed pieces for rendering with one configuration (not shared between threads).
    struct Renderer {
        let c: SmileyConfig
        let cache = PatchCache()
        let head: [Float]
        let template: [Double]
        let tRows: Int, tCols: Int

        init(_ config: SmileyConfig) {
            c = config
            let n = SmileyConfig.side
            var h = [Float](repeating: 0, count: n * n)
            for y in 1...n {
                for x in 1...n {
                    let dx = Double(x) - config.head.centerX, dy = Double(y) - config.head.centerY
                    if (dx * dx + dy * dy).squareRoot() <= config.head.radius { h[(y - 1) * n + (x - 1)] = 1 }
                }
            }
            head = h
            let rows = config.bowTie.template.count
            let cols = config.bowTie.template.first?.utf8.count ?? 0
            precondition(rows > 0 && cols > 0 && config.bowTie.template.allSatisfy { $0.utf8.count == cols },
                         "bow tie template rows must be non-empty and of equal length")
            tRows = rows
            tCols = cols
            template = config.bowTie.template.flatMap { row in row.utf8.map { $0 == UInt8(ascii: "#") ? 1.0 : 0.0 } }
        }

        func render(presence: [Bool], sources v: [Double], into img: UnsafeMutableBufferPointer<Float>) {
            for k in 0..<head.count { img[k] = head[k] }
            if presence[SmileyAttribute.bowTie.rawValue] { drawBowTie(v[14..<18], img) }
            if presence[SmileyAttribute.eyes.rawValue] { drawEyes(v[0..<3], img) }
            if presence[SmileyAttribute.mouth.rawValue] { drawMouth(v[3..<8], img) }
            if presence[SmileyAttribute.hat.rawValue] { drawHat(v[8..<14], img) }
        }

        /// Sets pixel (x, y) (1-based) if it is inside the image.
        @inline(__always) func set(_ img: UnsafeMutableBufferPointer<Float>, x: Int, y: Int, _ value: Float) {
            let n = SmileyConfig.side
            if x >= 1 && x <= n && y >= 1 && y <= n { img[(y - 1) * n + (x - 1)] = value }
        }

        func fillRect(_ img: UnsafeMutableBufferPointer<Float>, x0: Int, x1: Int, y0: Int, y1: Int, _ value: Float) {
            let n = SmileyConfig.side
            let xa = max(x0, 1), xb = min(x1, n), ya = max(y0, 1), yb = min(y1, n)
            guard xa <= xb, ya <= yb else { return }
            for y in ya...yb { for x in xa...xb { img[(y - 1) * n + (x - 1)] = value } }
        }

        func drawEyes(_ s: ArraySlice<Double>, _ img: UnsafeMutableBufferPointer<Float>) {
            let o = s.startIndex
            let e = c.eyes
            let sep = e.separation + e.separationScale * s[o + 0]
            let cy = e.y + e.yScale * s[o + 1]
            let r = e.radius + e.radiusScale * s[o + 2]
            guard r >= 0 else { return }
            let n = SmileyConfig.side
            for cx in [e.centerX - sep, e.centerX + sep] {
                let ya = max(1, Int((cy - r).rounded(.down)) - 1), yb = min(n, Int((cy + r).rounded(.up)) + 1)
                let xa = max(1, Int((cx - r).rounded(.down)) - 1), xb = min(n, Int((cx + r).rounded(.up)) + 1)
                guard ya <= yb, xa <= xb else { continue }
                for y in ya...yb {
                    for x in xa...xb {
                        let dx = Double(x) - cx, dy = Double(y) - cy
                        if (dx * dx + dy * dy).squareRoot() <= r { img[(y - 1) * n + (x - 1)] = 0 }
                    }
                }
            }
        }

        func drawMouth(_ s: ArraySlice<Double>, _ img: UnsafeMutableBufferPointer<Float>) {
            let o = s.startIndex
            let m = c.mouth
            let lx = m.length + m.lengthScale * s[o + 0]
            let ly = m.width + m.widthScale * s[o + 1]
            let px = m.x + m.xScale * s[o + 2], py = m.y + m.yScale * s[o + 3]
            let stx = Int((px - lx / 2).rounded()), enx = Int((px + lx / 2).rounded())
            let sty = Int((py - ly / 2).rounded()), eny = Int((py + ly / 2).rounded())
            fillRect(img, x0: stx, x1: enx, y0: sty, y1: eny, 0)
            let sy1 = Int((py + m.innerSmile * s[o + 4]).rounded())
            let sy2 = Int((py + m.outerSmile * s[o + 4]).rounded())
            set(img, x: enx + 1, y: sy1, 0)
            set(img, x: enx + 2, y: sy2, 0)
            set(img, x: stx - 1, y: sy1, 0)
            set(img, x: stx - 2, y: sy2, 0)
        }

        func drawHat(_ s: ArraySlice<Double>, _ img: UnsafeMutableBufferPointer<Float>) {
            let o = s.startIndex
            let h = c.hat
            let cx = h.x + h.xScale * s[o + 0], cy = h.y + h.yScale * s[o + 1]
            let bw = h.brimWidth + h.brimWidthScale * s[o + 2], bh = h.brimHeight + h.brimHeightScale * s[o + 3]
            let pad = h.padAbove
            // Rows on the padded canvas (image row + pad), as the original computed them.
            let stx = Int((cx - bw / 2).rounded()), enx = Int((cx + bw / 2).rounded())
            let styP = Int((cy - bh / 2).rounded()) + pad, enyP = Int((cy + bh / 2).rounded()) + pad
            fillRect(img, x0: stx, x1: enx, y0: styP - pad, y1: enyP - pad, 1)
            let cw = h.crownWidth + h.crownWidthScale * s[o + 4], ch = h.crownHeight + h.crownHeightScale * s[o + 5]
            let topP = max(Int((Double(styP) - ch).rounded()), 1)
            let cx0 = Int((cx - cw / 2).rounded()), cx1 = Int((cx + cw / 2).rounded())
            fillRect(img, x0: cx0, x1: cx1, y0: topP - pad, y1: styP - pad, 1)
        }

        func bowTiePatch(h: Double, w: Double) -> (pixels: [UInt8], rows: Int, cols: Int)? {
            guard h.isFinite, w.isFinite else { return nil }
            guard h > 0, w > 0, h < 4096, w < 4096 else { return nil }
            let rows = Int(h.rounded(.up)), cols = Int(w.rounded(.up))
            let key = rows << 12 | cols
            if let p = cache.patches[key] { return p }
            let r = Smiley.imresizeBicubic(template, rows: tRows, cols: tCols, outRows: rows, outCols: cols)
            let lo = r.min()!, hi = r.max()!
            var px = [UInt8](repeating: 0, count: r.count)
            for k in 0..<r.count {
                var g: Double
                if hi > lo {
                    // MATLAB mat2gray: imlincomb(1/(hi−lo), A, −lo/(hi−lo)), clipped to [0, 1].
                    let delta = 1 / (hi - lo)
                    g = delta * r[k] + (-lo * delta)
                } else {
                    g = r[k]
                }
                g = min(max(g, 0), 1)
                px[k] = g.rounded() >= 1 ? 1 : 0
            }
            cache.patches[key] = (px, rows, cols)
            return (px, rows, cols)
        }

        func drawBowTie(_ s: ArraySlice<Double>, _ img: UnsafeMutableBufferPointer<Float>) {
            let o = s.startIndex
            let b = c.bowTie
            let cx = b.x + b.xScale * s[o + 0], cy = b.y + b.yScale * s[o + 1]
            let w = b.width + b.widthScale * s[o + 2], h = b.height + b.heightScale * s[o + 3]
            guard let patch = bowTiePatch(h: h, w: w) else { return }
            let stx = Int((cx - w / 2).rounded()), sty = Int((cy - h / 2).rounded())
            for i in 0..<patch.rows {
                for j in 0..<patch.cols where patch.pixels[i * patch.cols + j] != 0 {
                    set(img, x: stx + j, y: sty + i, 1)
                }
            }
        }
    }
}
