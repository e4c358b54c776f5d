// Text through Pango: one layout recipe for measuring and for drawing, so a box measured while
// laying a chart out is the box the text fills on every surface (metric hinting off).

import CCairo
import Foundation

/// A text's logical extent and baseline, in units.
public struct TextSize: Equatable, Sendable {
    public var width: Double, height: Double, baseline: Double
}

public enum TextMetrics {
    /// Pango and fontconfig are used from one thread at a time (tests run in parallel).
    static let lock = NSLock()
    nonisolated(unsafe) static var cache: [String: TextSize] = [:]
    nonisolated(unsafe) static let measuringContext: OpaquePointer = {
        let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1)
        return cairo_create(surface)!
    }()

    /// The logical size of `text` in `font`.
    public static func measure(_ text: String, font: Font) -> TextSize {
        let key = "\(font.size)|\(font.bold)|" + text
        lock.lock(); defer { lock.unlock() }
        if let s = cache[key] { return s }
        let layout = makeLayout(measuringContext, text, font)
        defer { g_object_unref(UnsafeMutableRawPointer(layout)) }
        var logical = PangoRectangle()
        pango_layout_get_extents(layout, nil, &logical)
        let s = TextSize(width: Double(logical.width) / 1024, height: Double(logical.height) / 1024,
                         baseline: Double(pango_layout_get_baseline(layout)) / 1024)
        cache[key] = s
        return s
    }

    /// The height of a line of `font`.
    public static func lineHeight(_ font: Font) -> Double { measure("Ag", font: font).height }

    /// The box `text` takes when its `anchor` sits at `at`.
    public static func box(_ text: String, font: Font, at: Point, anchor: Anchor, rotation: TextMark.Rotation) -> Rect {
        let m = measure(text, font: font)
        let (w, h) = rotation == .none ? (m.width, m.height) : (m.height, m.width)
        let (fx, fy) = anchor.fractions
        return Rect(x: at.x - fx * w, y: at.y - fy * h, width: w, height: h)
    }

    /// Splits `text` at spaces into lines no wider than `width` (a word wider than that stays whole).
    public static func wrap(_ text: String, font: Font, width: Double) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            let candidate = line.isEmpty ? String(word) : line + " " + word
            if !line.isEmpty && measure(candidate, font: font).width > width { lines.append(line); line = String(word) }
            else { line = candidate }
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }

    /// A Pango layout of `text` in `font` for cairo context `cr` (caller unrefs). Callers hold `lock`.
    static func makeLayout(_ cr: OpaquePointer, _ text: String, _ font: Font) -> OpaquePointer {
        let layout = pango_cairo_create_layout(cr)!
        let options = cairo_font_options_create()
        cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
        cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
        pango_cairo_context_set_font_options(pango_layout_get_context(layout), options)
        cairo_font_options_destroy(options)
        pango_layout_context_changed(layout)
        let desc = pango_font_description_new()
        pango_font_description_set_family(desc, Font.family)
        pango_font_description_set_absolute_size(desc, font.size * 1024)
        pango_font_description_set_weight(desc, font.bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL)
        pango_layout_set_font_description(layout, desc)
        pango_font_description_free(desc)
        pango_layout_set_text(layout, text, -1)
        return layout
    }
}
