// A figure: title lines above a grid of panels (charts), with a white margin.

/// Title lines (the first bold, the rest the figure's details, wrapped to the figure's width)
/// above panels laid out `columns` to a row.
public struct Figure {
    public var title: [String]
    public var panels: [Drawing]
    public var columns: Int
    public var margin = 14.0, gap = 24.0

    public init(title: [String], panels: [Drawing], columns: Int = 1) {
        self.title = title; self.panels = panels; self.columns = max(1, columns)
    }
    public init(title: [String], charts: [Chart], columns: Int = 1) {
        self.init(title: title, panels: charts.map { $0.drawing() }, columns: columns)
    }

    public func drawing() -> Drawing {
        let gridRows = (panels.count + columns - 1) / columns
        var columnW = [Double](repeating: 0, count: columns), rowH = [Double](repeating: 0, count: gridRows)
        for (i, p) in panels.enumerated() {
            columnW[i % columns] = max(columnW[i % columns], p.size.width)
            rowH[i / columns] = max(rowH[i / columns], p.size.height)
        }
        let contentW = columnW.reduce(0, +) + gap * Double(max(0, columns - 1))
        let wrapW = max(contentW, 560)
        var lines: [(String, Font, Color)] = []
        for (i, t) in title.enumerated() {
            let font = i == 0 ? Style.title : Style.subtitle
            for l in TextMetrics.wrap(t, font: font, width: wrapW) { lines.append((l, font, i == 0 ? .black : Style.axisColor)) }
        }
        let titleW = lines.map { TextMetrics.measure($0.0, font: $0.1).width }.max() ?? 0
        let titleH = lines.map { TextMetrics.lineHeight($0.1) + 2 }.reduce(0, +)
        let top = margin + titleH + (lines.isEmpty ? 0 : 12)
        let contentH = rowH.reduce(0, +) + gap * Double(max(0, gridRows - 1))
        var d = Drawing(size: Size(max(contentW, titleW) + 2 * margin, top + contentH + margin))
        var y = margin
        for (text, font, color) in lines {
            d.text(text, at: Point(margin, y), font: font, color: color)
            y += TextMetrics.lineHeight(font) + 2
        }
        for (i, p) in panels.enumerated() {
            let c = i % columns, r = i / columns
            let x = margin + columnW[..<c].reduce(0, +) + gap * Double(c)
            let y = top + rowH[..<r].reduce(0, +) + gap * Double(r)
            d.place(p, at: Point(x, y))
        }
        return d
    }
}
