// Writing a Drawing: PNG and PDF through Cairo surfaces, SVG as XML written here so that text
// stays <text> (searchable, editable in a paper; Cairo's SVG surface turns glyphs into paths).

import CCairo
import Foundation

/// A file format for figures.
public enum FigureFormat: String, CaseIterable, Sendable {
    case png, svg, pdf

    /// Parses "png,svg" (order kept, duplicates dropped); the error names the first unknown value.
    public static func parseList(_ text: String) -> Result<[FigureFormat], PlotError> {
        let valid = allCases.map(\.rawValue).joined(separator: ", ")
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { return .failure(PlotError("no figure format given (valid: \(valid))")) }
        var out: [FigureFormat] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = part.trimmingCharacters(in: .whitespaces).lowercased()
            guard let f = FigureFormat(rawValue: name) else {
                return .failure(PlotError("unknown figure format '\(name)' (valid: \(valid); comma-separated, e.g. png,svg)"))
            }
            if !out.contains(f) { out.append(f) }
        }
        return .success(out)
    }
}

extension Drawing {
    /// PNG pixels per unit: figures are laid out in units and rasterised at twice that.
    public static let pngScale = 2.0

    /// Writes `base` + "." + format for each format; returns the file names (last path component).
    @discardableResult
    public func write(to base: String, formats: [FigureFormat]) throws -> [String] {
        try formats.map { f in
            let path = base + "." + f.rawValue
            try write(to: path, format: f)
            return URL(fileURLWithPath: path).lastPathComponent
        }
    }

    public func write(to path: String, format: FigureFormat) throws {
        switch format {
        case .png: try writePNG(to: path)
        case .pdf: try writePDF(to: path)
        case .svg:
            do { try svg().write(toFile: path, atomically: true, encoding: .utf8) }
            catch { throw PlotError("\(path): cannot write SVG: \(error.localizedDescription)") }
        }
    }

    /// The pixel size of the PNG.
    public var pngPixelSize: (width: Int, height: Int) {
        (Int((size.width * Self.pngScale).rounded(.up)), Int((size.height * Self.pngScale).rounded(.up)))
    }

    func writePNG(to path: String) throws {
        let (w, h) = pngPixelSize
        let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(w), Int32(h))!
        defer { cairo_surface_destroy(surface) }
        let cr = cairo_create(surface)!
        defer { cairo_destroy(cr) }
        cairo_scale(cr, Self.pngScale, Self.pngScale)
        replay(on: cr)
        cairo_surface_flush(surface)
        let status = cairo_surface_write_to_png(surface, path)
        guard status == CAIRO_STATUS_SUCCESS else { throw PlotError("\(path): cannot write PNG: \(String(cString: cairo_status_to_string(status)))") }
    }

    func writePDF(to path: String) throws {
        let surface = cairo_pdf_surface_create(path, size.width, size.height)!
        let cr = cairo_create(surface)!
        replay(on: cr)
        cairo_destroy(cr)
        cairo_surface_finish(surface)
        let status = cairo_surface_status(surface)
        cairo_surface_destroy(surface)
        guard status == CAIRO_STATUS_SUCCESS else { throw PlotError("\(path): cannot write PDF: \(String(cString: cairo_status_to_string(status)))") }
    }

    /// Draws every mark on `cr` (white background first).
    func replay(on cr: OpaquePointer) {
        TextMetrics.lock.lock(); defer { TextMetrics.lock.unlock() }
        // The whole surface: a PNG's last pixel row or column may reach past the page.
        cairo_set_source_rgb(cr, 1, 1, 1)
        cairo_paint(cr)
        func source(_ c: Color) { cairo_set_source_rgb(cr, c.r, c.g, c.b) }
        for mark in marks {
            switch mark {
            case .rect(let r, let fill, let stroke, let lw):
                cairo_rectangle(cr, r.x, r.y, r.width, r.height)
                if let f = fill { source(f); stroke == nil ? cairo_fill(cr) : cairo_fill_preserve(cr) }
                if let s = stroke { source(s); cairo_set_line_width(cr, lw); cairo_stroke(cr) }
            case .line(let ps, let color, let width, let closed):
                cairo_move_to(cr, ps[0].x, ps[0].y)
                for p in ps.dropFirst() { cairo_line_to(cr, p.x, p.y) }
                if closed { cairo_close_path(cr) }
                source(color); cairo_set_line_width(cr, width)
                cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
                cairo_stroke(cr)
            case .circle(let c, let r, let fill):
                cairo_new_sub_path(cr)
                cairo_arc(cr, c.x, c.y, r, 0, 2 * Double.pi)
                source(fill); cairo_fill(cr)
            case .text(let t):
                cairo_save(cr)
                source(t.color)
                if t.rotation == .up {
                    cairo_translate(cr, t.box.x, t.box.maxY)
                    cairo_rotate(cr, -Double.pi / 2)
                } else {
                    cairo_translate(cr, t.box.x, t.box.y)
                }
                cairo_move_to(cr, 0, 0)
                let layout = TextMetrics.makeLayout(cr, t.text, t.font)
                pango_cairo_show_layout(cr, layout)
                g_object_unref(UnsafeMutableRawPointer(layout))
                cairo_restore(cr)
            case .image(let img, let r):
                let surface = Self.cairoSurface(img)
                cairo_save(cr)
                cairo_translate(cr, r.x, r.y)
                cairo_scale(cr, r.width / Double(img.width), r.height / Double(img.height))
                cairo_set_source_surface(cr, surface, 0, 0)
                cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST)
                cairo_rectangle(cr, 0, 0, Double(img.width), Double(img.height))
                cairo_fill(cr)
                cairo_restore(cr)
                cairo_surface_destroy(surface)
            }
        }
    }

    /// A Cairo RGB24 surface holding `img` (caller destroys).
    static func cairoSurface(_ img: RasterImage) -> OpaquePointer {
        let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(img.width), Int32(img.height))!
        cairo_surface_flush(surface)
        let stride = Int(cairo_image_surface_get_stride(surface))
        let data = cairo_image_surface_get_data(surface)!
        for y in 0..<img.height {
            let row = UnsafeMutableRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
            for x in 0..<img.width {
                let k = (y * img.width + x) * 3
                row[x] = UInt32(img.rgb[k]) << 16 | UInt32(img.rgb[k + 1]) << 8 | UInt32(img.rgb[k + 2])
            }
        }
        cairo_surface_mark_dirty(surface)
        return surface
    }

    /// `img` as PNG bytes (for embedding in SVG).
    static func pngBytes(_ img: RasterImage) -> [UInt8] {
        final class Sink { var bytes: [UInt8] = [] }
        let sink = Sink()
        let surface = cairoSurface(img)
        defer { cairo_surface_destroy(surface) }
        _ = cairo_surface_write_to_png_stream(surface, { closure, data, length in
            let sink = Unmanaged<Sink>.fromOpaque(closure!).takeUnretainedValue()
            sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
            return CAIRO_STATUS_SUCCESS
        }, Unmanaged.passUnretained(sink).toOpaque())
        return sink.bytes
    }

    /// `img` enlarged (nearest neighbour) to about 4 pixels per unit of `r`: SVG renderers that
    /// ignore image-rendering (librsvg) smooth a scaled image, which blurs heat-map cells.
    static func upscaledForSVG(_ img: RasterImage, in r: Rect) -> RasterImage {
        func factor(_ units: Double, _ pixels: Int) -> Int { max(1, min(16, Int((4 * units / Double(pixels)).rounded(.up)))) }
        var kx = factor(r.width, img.width), ky = factor(r.height, img.height)
        while kx * ky * img.width * img.height > 1 << 20 && max(kx, ky) > 1 { kx = max(1, kx / 2); ky = max(1, ky / 2) }
        guard kx > 1 || ky > 1 else { return img }
        let w = img.width * kx, h = img.height * ky
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let s = ((y / ky) * img.width + x / kx) * 3, d = (y * w + x) * 3
                px[d] = img.rgb[s]; px[d + 1] = img.rgb[s + 1]; px[d + 2] = img.rgb[s + 2]
            }
        }
        return RasterImage(width: w, height: h, rgb: px)
    }

    /// The drawing as an SVG document (text as <text> elements in DejaVu Sans).
    public func svg() -> String {
        func n(_ v: Double) -> String {
            let r = (v * 100).rounded() / 100
            return r == r.rounded() ? String(Int(r)) : String(r)
        }
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" \
            width="\(n(size.width))pt" height="\(n(size.height))pt" viewBox="0 0 \(n(size.width)) \(n(size.height))">
            <rect x="0" y="0" width="\(n(size.width))" height="\(n(size.height))" fill="#ffffff"/>

            """
        for mark in marks {
            switch mark {
            case .rect(let r, let fill, let stroke, let lw):
                out += "<rect x=\"\(n(r.x))\" y=\"\(n(r.y))\" width=\"\(n(r.width))\" height=\"\(n(r.height))\" fill=\"\(fill?.hexString ?? "none")\""
                if let s = stroke { out += " stroke=\"\(s.hexString)\" stroke-width=\"\(n(lw))\"" }
                out += "/>\n"
            case .line(let ps, let color, let width, let closed):
                out += "<\(closed ? "polygon" : "polyline") points=\"" + ps.map { "\(n($0.x)),\(n($0.y))" }.joined(separator: " ")
                    + "\" fill=\"none\" stroke=\"\(color.hexString)\" stroke-width=\"\(n(width))\" stroke-linejoin=\"round\"/>\n"
            case .circle(let c, let r, let fill):
                out += "<circle cx=\"\(n(c.x))\" cy=\"\(n(c.y))\" r=\"\(n(r))\" fill=\"\(fill.hexString)\"/>\n"
            case .text(let t):
                let style = "font-family=\"\(Font.family), sans-serif\" font-size=\"\(n(t.font.size))\"" + (t.font.bold ? " font-weight=\"bold\"" : "")
                    + " fill=\"\(t.color.hexString)\" xml:space=\"preserve\""
                if t.rotation == .up {
                    out += "<text transform=\"translate(\(n(t.box.x)),\(n(t.box.maxY))) rotate(-90)\" x=\"0\" y=\"\(n(t.baseline))\" \(style)>"
                } else {
                    out += "<text x=\"\(n(t.box.x))\" y=\"\(n(t.box.y + t.baseline))\" \(style)>"
                }
                out += xmlEscape(t.text) + "</text>\n"
            case .image(let img, let r):
                let data = Data(Self.pngBytes(Self.upscaledForSVG(img, in: r))).base64EncodedString()
                out += "<image x=\"\(n(r.x))\" y=\"\(n(r.y))\" width=\"\(n(r.width))\" height=\"\(n(r.height))\" preserveAspectRatio=\"none\" "
                    + "image-rendering=\"optimizeSpeed\" style=\"image-rendering:pixelated\" xlink:href=\"data:image/png;base64,\(data)\"/>\n"
            }
        }
        return out + "</svg>\n"
    }
}

/// `s` with XML's special characters escaped.
func xmlEscape(_ s: String) -> String {
    var out = ""
    for ch in s {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(ch)
        }
    }
    return out
}
