// Rows of images, each row labelled on its left, with optional column headers.

/// Something that lays itself out as a drawing with its top-left corner at (0, 0).
public protocol Chart {
    func drawing() -> Drawing
}

/// Rows of same-sized images (reconstructions, samples, traversals).
public struct ImageGrid: Chart {
    public struct Row {
        /// Lines of the row's label.
        public var label: [String]
        public var images: [RasterImage]
        /// Framed in red (e.g. the unaltered image).
        public var highlighted: Set<Int>
        public init(label: [String], images: [RasterImage], highlighted: Set<Int> = []) {
            self.label = label; self.images = images; self.highlighted = highlighted
        }
    }
    public var rows: [Row]
    public var columnHeaders: [String]
    /// The size each image is drawn at, in units.
    public var imageSize: Size
    public var gap = 6.0

    public init(rows: [Row], columnHeaders: [String] = [], imageSize: Size) {
        self.rows = rows; self.columnHeaders = columnHeaders; self.imageSize = imageSize
    }

    public func drawing() -> Drawing {
        let labelH = TextMetrics.lineHeight(Style.label), headerH = TextMetrics.lineHeight(Style.tick)
        let labelW = rows.flatMap(\.label).map { TextMetrics.measure($0, font: Style.label).width }.max() ?? 0
        let columns = max(columnHeaders.count, rows.map(\.images.count).max() ?? 0)
        let pitchX = imageSize.width + gap
        let x0 = labelW + 12
        let y0 = columnHeaders.isEmpty ? 3 : headerH + 4
        let rowHeights = rows.map { max(imageSize.height, Double($0.label.count) * labelH) + gap }
        let headerW = columnHeaders.enumerated().map { x0 + Double($0.offset) * pitchX + max(imageSize.width, TextMetrics.measure($0.element, font: Style.tick).width) }.max() ?? 0
        let width = max(x0 + Double(columns) * pitchX, headerW) + 3
        var d = Drawing(size: Size(width, y0 + rowHeights.reduce(0, +) + 3))
        for (k, header) in columnHeaders.enumerated() {
            d.text(header, at: Point(x0 + Double(k) * pitchX + imageSize.width / 2, 0), anchor: .top, font: Style.tick)
        }
        var y = y0
        for (r, row) in rows.enumerated() {
            for (i, line) in row.label.enumerated() {
                d.text(line, at: Point(0, y + Double(i) * labelH), font: Style.label)
            }
            for (k, img) in row.images.enumerated() {
                let box = Rect(x: x0 + Double(k) * pitchX, y: y, width: imageSize.width, height: imageSize.height)
                d.image(img, in: box)
                if row.highlighted.contains(k) {
                    d.rect(Rect(x: box.x - 1.5, y: box.y - 1.5, width: box.width + 3, height: box.height + 3), stroke: .red, lineWidth: 2)
                }
            }
            y += rowHeights[r]
        }
        return d
    }
}
