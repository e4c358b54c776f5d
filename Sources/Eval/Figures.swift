// The paper's figures as labelled PNGs: |corr| heatmap (fig. 3/9), per-class spike map (fig. 5),
// image rows for reconstructions, conditional generation (fig. 6) and toggling/traversal (fig. 7).

import Data

/// A heatmap of a matrix with values in [0, 1]: row labels on the left, column labels below
/// (vertical), axis titles, title lines above, and a colour bar with ticks on the right.
public struct HeatmapFigure {
    public var matrix: Matrix
    public var rowLabels: [String]
    public var columnLabels: [String]
    public var title: [String]
    public var xTitle: String
    public var yTitle: String
    public var colormap: Colormap
    public var legendTitle: String
    /// Draw a line after these rows (e.g. between attribute groups) and before these columns.
    public var rowSeparators: [Int]
    public var columnSeparators: [Int]
    /// Cell side in pixels (nil: chosen from the matrix size).
    public var cell: Int?
    /// Per-column label colours (default black).
    public var columnLabelColors: [RGB] = []

    public init(matrix: Matrix, rowLabels: [String], columnLabels: [String], title: [String], xTitle: String,
                yTitle: String, colormap: Colormap = .viridis, legendTitle: String = "",
                rowSeparators: [Int] = [], columnSeparators: [Int] = [], cell: Int? = nil) {
        self.matrix = matrix; self.rowLabels = rowLabels; self.columnLabels = columnLabels; self.title = title
        self.xTitle = xTitle; self.yTitle = yTitle; self.colormap = colormap; self.legendTitle = legendTitle
        self.rowSeparators = rowSeparators; self.columnSeparators = columnSeparators; self.cell = cell
    }

    public func render() -> Canvas {
        let m = matrix
        // Cells: rows 18 px high (row labels at scale 2) unless there are many; columns as narrow as
        // the column labels allow: horizontal at scale 2 if the figure stays ≤ ~1000 px, else
        // horizontal at scale 1, else vertical.
        let cellH = self.cell ?? (m.rows > 60 ? 10 : 18)
        let rs = cellH >= 16 ? 2 : 1               // row label scale
        let base = self.cell ?? (m.columns > 80 ? 10 : m.columns > 40 ? 14 : 18)
        let w2 = columnLabels.map { BitmapFont.width($0, scale: 2) }.max() ?? 0
        let w1 = columnLabels.map { BitmapFont.width($0, scale: 1) }.max() ?? 0
        let cell: Int, ls: Int, verticalColumns: Bool
        if max(base, w2 + 6) * m.columns <= 1000 { cell = max(base, w2 + 6); ls = 2; verticalColumns = false }
        else if max(base, w1 + 5) * m.columns <= 1200 { cell = max(base, w1 + 5); ls = 1; verticalColumns = false }
        else { cell = base; ls = base >= 16 ? 2 : 1; verticalColumns = true }
        let ts = 2                                  // title scale
        let lh = BitmapFont.height(scale: ls), th = BitmapFont.height(scale: ts)
        let margin = 12, gap = 8
        let rowLabelW = rowLabels.map { BitmapFont.width($0, scale: rs) }.max() ?? 0
        let colLabelH = verticalColumns ? (columnLabels.map { BitmapFont.width($0, scale: ls) }.max() ?? 0) : BitmapFont.height(scale: ls)
        let gridW = m.columns * cell, gridH = m.rows * cellH
        let titleH = title.count * (th + 6)
        let barW = 20, tickW = BitmapFont.width("0.00", scale: 2)
        let legendW = gap * 2 + barW + 4 + tickW + gap
        let yTitleW = yTitle.isEmpty ? 0 : th + gap
        let gx = margin + yTitleW + rowLabelW + gap
        let gy = margin + titleH + (legendTitle.isEmpty ? 0 : th + 10)
        let width0 = gx + gridW + legendW + margin
        let titleW = (title + [legendTitle]).map { BitmapFont.width($0, scale: ts) }.max() ?? 0
        let width = max(width0, margin * 2 + titleW, margin * 2 + BitmapFont.width(xTitle, scale: ts))
        let height = gy + max(gridH, 84) + gap + colLabelH + gap + (xTitle.isEmpty ? 0 : th) + margin
        var c = Canvas(width: width, height: height)

        for (i, line) in title.enumerated() { c.text(line, x: margin, y: margin + i * (th + 6), scale: ts) }
        // Cells.
        for r in 0..<m.rows {
            for k in 0..<m.columns { c.fill(x: gx + k * cell, y: gy + r * cellH, w: cell, h: cellH, colormap.color(m[r, k])) }
        }
        c.frame(x: gx - 1, y: gy - 1, w: gridW + 2, h: gridH + 2, .black)
        for s in rowSeparators where s > 0 && s < m.rows { c.fill(x: gx, y: gy + s * cellH - 1, w: gridW, h: 2, .white) }
        for s in columnSeparators where s > 0 && s < m.columns { c.fill(x: gx + s * cell - 1, y: gy, w: 2, h: gridH, .white) }
        // Row labels, right-aligned against the grid, centred on the row.
        for (r, label) in rowLabels.enumerated() where r < m.rows {
            c.text(label, x: gx - gap - BitmapFont.width(label, scale: rs), y: gy + r * cellH + (cellH - BitmapFont.height(scale: rs)) / 2, scale: rs)
        }
        // Column labels, vertical, starting just below the grid.
        for (k, label) in columnLabels.enumerated() where k < m.columns {
            let color = k < columnLabelColors.count ? columnLabelColors[k] : .black
            if verticalColumns {
                c.text(label, x: gx + k * cell + (cell - lh) / 2, y: gy + gridH + gap, scale: ls, color: color, vertical: true)
            } else {
                c.text(label, x: gx + k * cell + (cell - BitmapFont.width(label, scale: ls) + 1) / 2, y: gy + gridH + gap, scale: ls, color: color)
            }
        }
        if !xTitle.isEmpty {
            let w = BitmapFont.width(xTitle, scale: ts)
            c.text(xTitle, x: max(margin, gx + (gridW - w) / 2), y: gy + gridH + gap + colLabelH + gap, scale: ts)
        }
        if !yTitle.isEmpty {
            let w = BitmapFont.width(yTitle, scale: ts)
            c.text(yTitle, x: margin, y: max(gy, gy + (gridH - w) / 2), scale: ts, vertical: true)
        }
        // Colour bar: 0 at the bottom, 1 at the top.
        let bx = gx + gridW + gap * 2, bh = max(gridH, 84)
        if !legendTitle.isEmpty { c.text(legendTitle, x: min(bx, width - margin - BitmapFont.width(legendTitle, scale: ts)), y: gy - th - 8, scale: ts) }
        for yy in 0..<bh { c.fill(x: bx, y: gy + yy, w: barW, h: 1, colormap.color(Float(bh - 1 - yy) / Float(max(1, bh - 1)))) }
        c.frame(x: bx - 1, y: gy - 1, w: barW + 2, h: bh + 2, .black)
        for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let yy = gy + Int((1 - t) * Double(bh - 1))
            c.fill(x: bx + barW, y: yy, w: 4, h: 1, .black)
            let label = t == 0 ? "0" : t == 1 ? "1" : String(format2(t))
            c.text(label, x: bx + barW + 6, y: min(max(gy, yy - 7), gy + bh - 14), scale: 2)
        }
        return c
    }
}

/// Rows of images, each row with a label on its left; optional column headers above, title lines
/// on top. Used for reconstructions, conditional generation and traversals.
public struct ImageRowsFigure {
    public struct Row {
        public var label: [String]
        public var images: [[Float]]
        /// Draw a red frame around these images (e.g. the unaltered one).
        public var highlighted: Set<Int>
        public init(label: [String], images: [[Float]], highlighted: Set<Int> = []) {
            self.label = label; self.images = images; self.highlighted = highlighted
        }
    }
    public var title: [String]
    public var columnHeaders: [String]
    public var rows: [Row]
    public var h: Int, w: Int
    public var scale: Int

    public init(title: [String], columnHeaders: [String] = [], rows: [Row], h: Int, w: Int, scale: Int = 3) {
        self.title = title; self.columnHeaders = columnHeaders; self.rows = rows; self.h = h; self.w = w; self.scale = scale
    }

    public func render() -> Canvas {
        let ts = 2, ls = 2, margin = 12, gap = 6, pad = 4
        let th = BitmapFont.height(scale: ts), lh = BitmapFont.height(scale: ls)
        let iw = w * scale, ih = h * scale
        let labelW = rows.flatMap(\.label).map { BitmapFont.width($0, scale: ls) }.max() ?? 0
        let cols = max(1, rows.map(\.images.count).max() ?? 1)
        let headerLines = columnHeaders.isEmpty ? 0 : 1
        // Column headers may be wider than an image: they are drawn at scale 1 if needed.
        let hs = columnHeaders.allSatisfy { BitmapFont.width($0, scale: 2) <= iw + pad } ? 2 : 1
        let titleH = title.count * (th + 6)
        let x0 = margin + labelW + gap * 2
        let y0 = margin + titleH + headerLines * (BitmapFont.height(scale: hs) + gap)
        let rowH = max(ih, rows.map { $0.label.count }.max().map { $0 * (lh + 4) } ?? 0) + pad
        let titleW = title.map { BitmapFont.width($0, scale: ts) }.max() ?? 0
        let width = max(x0 + cols * (iw + pad) + margin, margin * 2 + titleW)
        let height = y0 + rows.count * rowH + margin
        var c = Canvas(width: width, height: height)
        for (i, line) in title.enumerated() { c.text(line, x: margin, y: margin + i * (th + 6), scale: ts) }
        for (k, hdr) in columnHeaders.enumerated() where k < cols {
            c.text(hdr, x: x0 + k * (iw + pad), y: margin + titleH, scale: hs)
        }
        for (r, row) in rows.enumerated() {
            let y = y0 + r * rowH
            for (i, line) in row.label.enumerated() { c.text(line, x: margin, y: y + i * (lh + 4) + 2, scale: ls) }
            for (k, img) in row.images.enumerated() {
                let x = x0 + k * (iw + pad)
                c.image(img[...], h: h, w: w, x: x, y: y, scale: scale)
                if row.highlighted.contains(k) {
                    c.frame(x: x - 2, y: y - 2, w: iw + 4, h: ih + 4, .red)
                    c.frame(x: x - 1, y: y - 1, w: iw + 2, h: ih + 2, .red)
                }
            }
        }
        return c
    }
}

/// "0.25" style: two decimals, no Foundation.
func format2(_ v: Double) -> String {
    let neg = v < 0
    let n = Int((abs(v) * 100).rounded())
    let frac = n % 100
    return (neg ? "-" : "") + "\(n / 100)." + (frac < 10 ? "0" : "") + "\(frac)"
}

// MARK: The paper's figures

/// Fig. 3/9: |corr| between the sources (rows, with their names) and the latents (columns, in
/// `order`, labelled with their indices); lines separate the attribute groups.
/// Inactive latents' labels are drawn in grey.
public func correlationFigure(_ corr: Matrix, sourceNames: [String], order: [Int], inactive: Set<Int> = [],
                              groupEnds: [Int], title: [String]) -> Canvas {
    var f = HeatmapFigure(matrix: corr.permutingColumns(order), rowLabels: sourceNames, columnLabels: order.map(String.init),
                          title: title, xTitle: "latent dim, grouped by best source" + (inactive.isEmpty ? "" : " (grey: inactive)"),
                          yTitle: "source", colormap: .viridis, legendTitle: "|corr|", rowSeparators: groupEnds)
    f.columnLabelColors = order.map { inactive.contains($0) ? RGB(150, 150, 150) : .black }
    return f.render()
}

/// Fig. 5: mean spike probability per class (rows: class names) and latent dimension (columns),
/// black 0 (always inactive) to white 1 (always active).
public func spikeMapFigure(_ means: Matrix, classNames: [String], title: [String], legend: String = "mean spike prob.") -> Canvas {
    HeatmapFigure(matrix: means, rowLabels: classNames, columnLabels: (0..<means.columns).map(String.init),
                  title: title, xTitle: "latent dimension", yTitle: "class", colormap: .grey, legendTitle: legend).render()
}
