// A matrix as coloured cells with row and column labels, axis labels and a colour bar.

/// A labelled heat map. Labels never overlap: when a row or column is thinner than a line of
/// text, only every 2nd, 5th, 10th, … label is drawn; column labels turn vertical when they are
/// wider than a cell.
public struct Heatmap: Chart {
    /// `rows × columns` values, row-major (NaN: a light grey cell).
    public var values: [Double]
    public var rows: Int, columns: Int
    public var rowLabels: [String]
    public var columnLabels: [String]
    /// Per-column label colours (default: black).
    public var columnLabelColors: [Color] = []
    public var title = ""
    public var xLabel = "", yLabel = ""
    public var colormap: Colormap = .viridis
    /// The values at the colour map's ends.
    public var low = 0.0, high = 1.0
    public var colorbarLabel = ""
    /// White lines after these rows and before these columns (e.g. between groups).
    public var rowSeparators: [Int] = [], columnSeparators: [Int] = []
    /// Cell size in units (default: from the matrix size, so that the grid is about 760 × 440 at most).
    public var cellWidth: Double?, cellHeight: Double?

    public init(values: [Double], rows: Int, columns: Int, rowLabels: [String], columnLabels: [String]) {
        precondition(values.count == rows * columns, "Heatmap: \(values.count) values do not make \(rows) × \(columns)")
        self.values = values; self.rows = rows; self.columns = columns
        self.rowLabels = rowLabels; self.columnLabels = columnLabels
    }

    /// The smallest of 1, 2, 5, 10, 20, 50, … such that that many cells of side `cell` hold `need` units.
    static func labelStride(need: Double, cell: Double) -> Int {
        var s = 1
        for k in 0... {
            let candidates = [1, 2, 5].map { $0 * s }
            if let c = candidates.first(where: { Double($0) * cell >= need }) { return c }
            s *= 10
            if k > 8 { return s }
        }
        return s
    }

    public func drawing() -> Drawing {
        let cw = cellWidth ?? min(26, max(3, 760 / Double(max(1, columns))))
        let ch = cellHeight ?? min(22, max(3, 440 / Double(max(1, rows))))
        let tickH = TextMetrics.lineHeight(Style.tick), labelH = TextMetrics.lineHeight(Style.label)
        let rowStride = Self.labelStride(need: tickH + 1, cell: ch)
        let shownRows = (0..<min(rows, rowLabels.count)).filter { $0 % rowStride == 0 }
        let shownColumnsAll = (0..<min(columns, columnLabels.count))
        let maxColumnW = shownColumnsAll.map { TextMetrics.measure(columnLabels[$0], font: Style.tick).width }.max() ?? 0
        let horizontal = maxColumnW + 4 <= cw
        let columnStride = horizontal ? 1 : Self.labelStride(need: tickH + 1, cell: cw)
        let shownColumns = shownColumnsAll.filter { $0 % columnStride == 0 }

        let yLabelW = yLabel.isEmpty ? 0 : labelH + 6
        let rowLabelW = shownRows.map { TextMetrics.measure(rowLabels[$0], font: Style.tick).width }.max() ?? 0
        let gridX = yLabelW + rowLabelW + 6
        let titleW = title.isEmpty ? 0 : TextMetrics.measure(title, font: Style.panelTitle).width
        let gridY = (title.isEmpty ? 0 : TextMetrics.lineHeight(Style.panelTitle) + 8) + tickH / 2
        let gridW = Double(columns) * cw, gridH = Double(rows) * ch
        let barLabelW = colorbarLabel.isEmpty ? 0 : TextMetrics.measure(colorbarLabel, font: Style.label).width
        let barX = gridX + gridW + 14, barW = 14.0, barH = max(gridH, 100, barLabelW + 10)
        let bar = Axis(lo: low, hi: high)
        let barTicks = bar.ticks(target: max(2, Int(barH / 40)))
        let barTickW = barTicks.map { TextMetrics.measure($0.label, font: Style.tick).width }.max() ?? 0
        let barLabelX = barX + barW + 5 + barTickW + 6
        let right = colorbarLabel.isEmpty ? barLabelX : barLabelX + labelH
        let columnLabelsY = gridY + gridH + 4
        let columnLabelsH = shownColumns.isEmpty ? 0 : horizontal ? tickH : maxColumnW
        let xLabelY = columnLabelsY + columnLabelsH + 6
        let xLabelW = xLabel.isEmpty ? 0 : TextMetrics.measure(xLabel, font: Style.label).width
        let bottom = xLabel.isEmpty ? columnLabelsY + columnLabelsH : xLabelY + labelH
        let width = max(right, titleW, gridX + xLabelW) + 2
        var d = Drawing(size: Size(width, max(gridY + barH + tickH / 2, bottom) + 2))

        if !title.isEmpty {
            let x = min(max(0, gridX + gridW / 2 - titleW / 2), width - titleW)
            d.text(title, at: Point(x, 0), font: Style.panelTitle)
        }
        // Cells: one raster pixel per cell, scaled up without smoothing.
        var px = [UInt8](repeating: 0, count: rows * columns * 3)
        for (k, v) in values.enumerated() {
            let c = v.isNaN ? Color(hex: 0xDDDDDD) : colormap.color((v - low) / (high - low))
            let (r, g, b) = c.bytes
            px[3 * k] = r; px[3 * k + 1] = g; px[3 * k + 2] = b
        }
        if rows > 0 && columns > 0 {
            d.image(RasterImage(width: columns, height: rows, rgb: px), in: Rect(x: gridX, y: gridY, width: gridW, height: gridH))
        }
        for s in rowSeparators where s > 0 && s < rows {
            let y = gridY + Double(s) * ch
            d.line([Point(gridX, y), Point(gridX + gridW, y)], color: .white, width: 2)
        }
        for s in columnSeparators where s > 0 && s < columns {
            let x = gridX + Double(s) * cw
            d.line([Point(x, gridY), Point(x, gridY + gridH)], color: .white, width: 2)
        }
        d.rect(Rect(x: gridX, y: gridY, width: gridW, height: gridH), stroke: Style.axisColor, lineWidth: 0.8)
        for r in shownRows {
            d.text(rowLabels[r], at: Point(gridX - 5, gridY + (Double(r) + 0.5) * ch), anchor: .right, font: Style.tick)
        }
        for k in shownColumns {
            let color = k < columnLabelColors.count ? columnLabelColors[k] : .black
            d.text(columnLabels[k], at: Point(gridX + (Double(k) + 0.5) * cw, columnLabelsY), anchor: .top, font: Style.tick,
                   color: color, rotation: horizontal ? .none : .up)
        }
        if !xLabel.isEmpty {
            let x = min(max(0, gridX + gridW / 2 - xLabelW / 2), width - xLabelW)
            d.text(xLabel, at: Point(x, xLabelY), font: Style.label)
        }
        if !yLabel.isEmpty {
            d.text(yLabel, at: Point(0, gridY + gridH / 2), anchor: .left, font: Style.label, rotation: .up)
        }
        // Colour bar: `high` at the top.
        let steps = 256
        var barPx = [UInt8](repeating: 0, count: steps * 3)
        for i in 0..<steps {
            let (r, g, b) = colormap.color(1 - Double(i) / Double(steps - 1)).bytes
            barPx[3 * i] = r; barPx[3 * i + 1] = g; barPx[3 * i + 2] = b
        }
        d.image(RasterImage(width: 1, height: steps, rgb: barPx), in: Rect(x: barX, y: gridY, width: barW, height: barH))
        d.rect(Rect(x: barX, y: gridY, width: barW, height: barH), stroke: Style.axisColor, lineWidth: 0.8)
        for t in barTicks {
            guard let f = bar.fraction(t.value) else { continue }
            let y = gridY + (1 - f) * barH
            d.line([Point(barX + barW, y), Point(barX + barW + 3, y)], color: Style.axisColor, width: 0.8)
            d.text(t.label, at: Point(barX + barW + 5, y), anchor: .left, font: Style.tick)
        }
        if !colorbarLabel.isEmpty {
            d.text(colorbarLabel, at: Point(barLabelX, gridY + barH / 2), anchor: .left, font: Style.label, rotation: .up)
        }
        return d
    }
}
