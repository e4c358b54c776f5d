// Line plots: series with optional error bars and markers, ticked axes, a legend.

/// One line of a plot.
public struct Series {
    public struct Sample {
        public var x: Double, y: Double
        /// Half the error bar's length (e.g. one standard deviation).
        public var error: Double?
        public init(x: Double, y: Double, error: Double? = nil) { self.x = x; self.y = y; self.error = error }
    }
    public var name: String
    public var points: [Sample]
    public var color: Color?
    public var markers: Bool
    public init(name: String, points: [Sample], color: Color? = nil, markers: Bool = false) {
        self.name = name; self.points = points; self.color = color; self.markers = markers
    }
}

/// Axes with ticks and labels, the series drawn in them, and a legend in the emptiest corner.
public struct LinePlot: Chart {
    public var series: [Series]
    public var title = ""
    public var xLabel = "", yLabel = ""
    public var xScale: AxisScale = .linear, yScale: AxisScale = .linear
    /// The size of the axes' box in units.
    public var plotSize = Size(380, 250)
    public var legend = true

    public init(series: [Series], title: String = "", xLabel: String = "", yLabel: String = "") {
        self.series = series; self.title = title; self.xLabel = xLabel; self.yLabel = yLabel
    }

    /// x ticks whose labels leave a gap between them (fewer ticks until they do).
    static func separatedTicks(_ axis: Axis, length: Double) -> [(value: Double, label: String)] {
        var target = max(2, Int(length / 60))
        while true {
            let ticks = axis.ticks(target: target)
            let centres = ticks.compactMap { axis.fraction($0.value).map { $0 * length } }
            let widths = ticks.map { TextMetrics.measure($0.label, font: Style.tick).width }
            let fits = zip(centres.indices.dropFirst(), centres.indices).allSatisfy { k, j in
                centres[k] - centres[j] >= (widths[k] + widths[j]) / 2 + 8
            }
            if fits || target <= 2 { return ticks }
            target -= 1
        }
    }

    var named: [(Int, Series)] { series.enumerated().filter { !$0.element.name.isEmpty }.map { ($0.offset, $0.element) } }

    /// The legend box's size (zero without a legend).
    var legendSize: Size {
        guard legend, !named.isEmpty else { return Size(0, 0) }
        let nameW = named.map { TextMetrics.measure($0.1.name, font: Style.tick).width }.max() ?? 0
        return Size(8 + 20 + 5 + nameW + 8, 6 + Double(named.count) * (TextMetrics.lineHeight(Style.tick) + 1) + 5)
    }

    /// Where the legend goes: the first corner of the axes (top right, top left, bottom right,
    /// bottom left) where it hides no line, else outside the axes on the right.
    func legendBox(frame: Rect, px: (Double) -> Double?, py: (Double) -> Double?) -> Rect? {
        let size = legendSize
        guard size.width > 0 else { return nil }
        // The lines, sampled densely enough that a legend over a segment sees some of it.
        var samples: [Point] = []
        for s in series {
            let ps = s.points.sorted { $0.x < $1.x }.compactMap { p in px(p.x).flatMap { x in py(p.y).map { Point(x, $0) } } }
            samples += ps
            for (a, b) in zip(ps, ps.dropFirst()) {
                for k in 1..<16 { let t = Double(k) / 16; samples.append(Point(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t)) }
            }
        }
        let corners = [Point(frame.maxX - size.width - 6, frame.y + 6), Point(frame.x + 6, frame.y + 6),
                       Point(frame.maxX - size.width - 6, frame.maxY - size.height - 6), Point(frame.x + 6, frame.maxY - size.height - 6)]
        for c in corners {
            let box = Rect(x: c.x, y: c.y, width: size.width, height: size.height)
            if !samples.contains(where: { $0.x >= box.x - 2 && $0.x <= box.maxX + 2 && $0.y >= box.y - 2 && $0.y <= box.maxY + 2 }) { return box }
        }
        return Rect(x: frame.maxX + 10, y: frame.y, width: size.width, height: size.height)
    }

    func drawLegend(in d: inout Drawing, at box: Rect) {
        let tickH = TextMetrics.lineHeight(Style.tick)
        d.rect(box, fill: .white, stroke: Color(hex: 0xBBBBBB), lineWidth: 0.8)
        for (row, (i, s)) in named.enumerated() {
            let y = box.y + 6 + (Double(row) + 0.5) * (tickH + 1)
            let color = s.color ?? seriesColor(i)
            d.line([Point(box.x + 8, y), Point(box.x + 28, y)], color: color, width: 1.6)
            if s.markers { d.circle(Point(box.x + 18, y), radius: 2.8, fill: color) }
            d.text(s.name, at: Point(box.x + 33, y), anchor: .left, font: Style.tick)
        }
    }

    public func drawing() -> Drawing {
        let tickH = TextMetrics.lineHeight(Style.tick), labelH = TextMetrics.lineHeight(Style.label)
        let points = series.flatMap(\.points)
        let xAxis = Axis(covering: points.map(\.x), scale: xScale, pad: 0.03)
        let yAxis = Axis(covering: points.flatMap { p in [p.y - (p.error ?? 0), p.y + (p.error ?? 0)] }, scale: yScale, pad: 0.05)
        let W = plotSize.width, H = plotSize.height
        let xTicks = Self.separatedTicks(xAxis, length: W)
        let yTicks = yAxis.ticks(target: max(2, Int(H / 45)))
        let yTickW = yTicks.map { TextMetrics.measure($0.label, font: Style.tick).width }.max() ?? 0
        let lastXTickW = xTicks.last.map { TextMetrics.measure($0.label, font: Style.tick).width } ?? 0
        let left = (yLabel.isEmpty ? 0 : labelH + 6) + yTickW + 8
        let titleW = title.isEmpty ? 0 : TextMetrics.measure(title, font: Style.panelTitle).width
        let top = (title.isEmpty ? 0 : TextMetrics.lineHeight(Style.panelTitle) + 8) + tickH / 2
        let xLabelY = top + H + 6 + tickH + 6
        let bottom = xLabel.isEmpty ? top + H + 6 + tickH : xLabelY + labelH
        func px(_ v: Double) -> Double? { xAxis.fraction(v).map { left + $0 * W } }
        func py(_ v: Double) -> Double? { yAxis.fraction(v).map { top + (1 - $0) * H } }
        let frame = Rect(x: left, y: top, width: W, height: H)
        let legendBox = legend ? self.legendBox(frame: frame, px: px, py: py) : nil
        let width = max(left + W + lastXTickW / 2, left + W / 2 + titleW / 2, titleW, legendBox?.maxX ?? 0) + 4
        var d = Drawing(size: Size(width, max(bottom, legendBox?.maxY ?? 0) + 2))

        if !title.isEmpty { d.text(title, at: Point(max(0, left + W / 2 - titleW / 2), 0), font: Style.panelTitle) }
        for t in yTicks {
            guard let y = py(t.value) else { continue }
            d.line([Point(left + 0.5, y), Point(left + W, y)], color: Color(hex: 0xEBEBEB), width: 0.8)
            d.line([Point(left - 4, y), Point(left, y)], color: Style.axisColor, width: 0.8)
            d.text(t.label, at: Point(left - 6, y), anchor: .right, font: Style.tick)
        }
        for t in xTicks {
            guard let x = px(t.value) else { continue }
            d.line([Point(x, top + H), Point(x, top + H + 4)], color: Style.axisColor, width: 0.8)
            d.text(t.label, at: Point(x, top + H + 6), anchor: .top, font: Style.tick)
        }
        for (i, s) in series.enumerated() {
            let color = s.color ?? seriesColor(i)
            var run: [Point] = []
            for p in s.points.sorted(by: { $0.x < $1.x }) {
                guard let x = px(p.x), let y = py(p.y) else { d.line(run, color: color, width: 1.6); run = []; continue }
                run.append(Point(x, y))
                if let e = p.error, e > 0, let y0 = py(p.y - e) ?? py(yAxis.lo), let y1 = py(p.y + e) {
                    d.line([Point(x, y0), Point(x, y1)], color: color, width: 1.2)
                    d.line([Point(x - 3, y0), Point(x + 3, y0)], color: color, width: 1.2)
                    d.line([Point(x - 3, y1), Point(x + 3, y1)], color: color, width: 1.2)
                }
                if s.markers { d.circle(Point(x, y), radius: 2.8, fill: color) }
            }
            d.line(run, color: color, width: 1.6)
        }
        d.rect(frame, stroke: Style.axisColor, lineWidth: 0.8)
        if !xLabel.isEmpty {
            let w = TextMetrics.measure(xLabel, font: Style.label).width
            d.text(xLabel, at: Point(max(0, left + W / 2 - w / 2), xLabelY), font: Style.label)
        }
        if !yLabel.isEmpty { d.text(yLabel, at: Point(0, top + H / 2), anchor: .left, font: Style.label, rotation: .up) }
        if let box = legendBox { drawLegend(in: &d, at: box) }
        return d
    }
}
