import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Plot

/// The text of every <text> element of an SVG document, parsed as XML (fails on malformed XML).
func svgTexts(_ svg: String) throws -> [String] {
    final class Collector: NSObject, XMLParserDelegate {
        var texts: [String] = [], current: String?, elements = 0
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            elements += 1
            if name == "text" { current = "" }
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { current? += string }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "text", let c = current { texts.append(c); current = nil }
        }
    }
    let parser = XMLParser(data: Data(svg.utf8))
    let c = Collector()
    parser.delegate = c
    guard parser.parse() else { throw PlotError("SVG is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")") }
    #expect(c.elements > 1)
    return c.texts
}

func temporaryDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plottests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Width and height from a PNG's IHDR chunk.
func pngSize(_ path: String) throws -> (Int, Int) {
    let b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    #expect(b.count > 24 && b[1] == 0x50 && b[2] == 0x4E && b[3] == 0x47, "PNG signature")
    func be(_ k: Int) -> Int { Int(b[k]) << 24 | Int(b[k + 1]) << 16 | Int(b[k + 2]) << 8 | Int(b[k + 3]) }
    return (be(16), be(20))
}

@Suite struct TextTests {
    @Test func measuresRealFontsWithGreekLetters() {
        let a = TextMetrics.measure("α", font: Style.label), ab = TextMetrics.measure("αβ", font: Style.label)
        #expect(a.width > 3 && ab.width > a.width * 1.5)
        #expect(a.height > 10 && a.height < 20 && a.baseline > 0 && a.baseline < a.height)
        // Proportional and case-sensitive: "i" is narrower than "W", "m" than "M".
        #expect(TextMetrics.measure("iii", font: Style.label).width < TextMetrics.measure("WWW", font: Style.label).width)
        #expect(TextMetrics.measure("abc", font: Style.label).width != TextMetrics.measure("ABC", font: Style.label).width)
        #expect(TextMetrics.measure("x", font: Font(size: 24)).width > 1.8 * TextMetrics.measure("x", font: Font(size: 12)).width)
        #expect(TextMetrics.measure("Bold", font: Font(size: 12, bold: true)).width > TextMetrics.measure("Bold", font: Font(size: 12)).width)
    }

    @Test func wrapsAtSpacesWithinTheWidth() {
        let text = "test ELBO against the prior sparsity α for three models over three seeds each"
        let lines = TextMetrics.wrap(text, font: Style.subtitle, width: 200)
        #expect(lines.count > 1)
        #expect(lines.joined(separator: " ") == text)
        for l in lines { #expect(TextMetrics.measure(l, font: Style.subtitle).width <= 200) }
    }

    @Test func anchorsPlaceTheBox() {
        var d = Drawing(size: Size(100, 100))
        let c = d.text("Mid", at: Point(50, 50), anchor: .center, font: Style.label)
        #expect(abs(c.midX - 50) < 1e-9 && abs(c.midY - 50) < 1e-9)
        let up = d.text("rotated", at: Point(0, 50), anchor: .left, font: Style.label, rotation: .up)
        let flat = TextMetrics.measure("rotated", font: Style.label)
        #expect(up.width == flat.height && up.height == flat.width && up.x == 0)
    }
}

@Suite struct AxisTests {
    @Test func linearTicksAreNiceAndInside() {
        let a = Axis(lo: 0, hi: 1)
        #expect(a.ticks(target: 4).map(\.label) == ["0.00", "0.25", "0.50", "0.75", "1.00"])
        #expect(Axis(lo: -0.3, hi: 1.1).ticks(target: 6).map(\.label) == ["−0.25", "0.00", "0.25", "0.50", "0.75", "1.00"])
        #expect(Axis(lo: -0.3, hi: 1.1).ticks(target: 3).map(\.label) == ["0.0", "0.5", "1.0"])
        #expect(Axis(lo: 0, hi: 8000).ticks(target: 4).map(\.label) == ["0", "2000", "4000", "6000", "8000"])
        #expect(Axis(lo: -1, hi: 1).ticks(target: 4).map(\.label) == ["−1.0", "−0.5", "0.0", "0.5", "1.0"])
    }

    @Test func logTicksArePowersOfTen() {
        let a = Axis(lo: 3, hi: 2000, scale: .log)
        #expect(a.ticks().map(\.label) == ["3", "10", "30", "100", "300", "1000"])
        #expect(Axis(lo: 0.3, hi: 4, scale: .log).ticks().map(\.label) == ["0.5", "1", "2"])
        #expect(Axis(lo: 1, hi: 1e6, scale: .log).ticks().map(\.label) == ["1", "10", "100", "1000", "10000", "100000", "1e+06"])
        #expect(a.fraction(-1) == nil && a.fraction(3)! == 0)
    }

    @Test func coveringPadsAndHandlesOneValue() {
        let a = Axis(covering: [2, 4], pad: 0.5)
        #expect(a.lo == 1 && a.hi == 5)
        let one = Axis(covering: [5])
        #expect(one.lo < 5 && one.hi > 5)
        let none = Axis(covering: [.nan])
        #expect(none.lo == 0 && none.hi == 1)
    }
}

@Suite struct ColormapTests {
    @Test func endsAndMiddles() {
        #expect(Colormap.viridis.color(0).hexString == "#440154")
        #expect(Colormap.viridis.color(1).hexString == "#fde725")
        #expect(Colormap.grey.color(0.5).hexString == "#808080")
        #expect(Colormap.diverging.color(0.5).hexString == "#f7f7f7")
        let lo = Colormap.diverging.color(0), hi = Colormap.diverging.color(1)
        #expect(lo.b > lo.r && hi.r > hi.b, "blue for negative, red for positive")
        #expect(Colormap.viridis.color(.nan) == Colormap.viridis.color(0))
    }
}

@Suite struct HeatmapTests {
    func heatmap(rows: Int, columns: Int, labels: (Int) -> String = { "\($0)" }) -> Heatmap {
        var h = Heatmap(values: (0..<(rows * columns)).map { Double($0 % 11) / 10 }, rows: rows, columns: columns,
                        rowLabels: (0..<rows).map { "source \($0)" }, columnLabels: (0..<columns).map(labels))
        h.title = "A heat map"
        h.xLabel = "latent dimension"; h.yLabel = "source"; h.colorbarLabel = "|corr|"
        return h
    }

    @Test func svgCarriesTitleLabelsAndTicks() throws {
        let d = Figure(title: ["Figure title: |corr| with γ, λ, α, β", "details line"], charts: [heatmap(rows: 3, columns: 4)]).drawing()
        let texts = try svgTexts(d.svg())
        for t in ["Figure title: |corr| with γ, λ, α, β", "details line", "A heat map", "latent dimension", "source", "|corr|",
                  "source 0", "source 2", "0", "3", "0.0", "0.5", "1.0"] {
            #expect(texts.contains(t), "missing text \(t)")
        }
        #expect(texts == d.texts.map(\.text))
        #expect(d.overlappingTexts.isEmpty)
        #expect(d.textsOffPage.isEmpty)
    }

    @Test func threeHundredLatentsKeepLabelsLegible() {
        let d = heatmap(rows: 18, columns: 300).drawing()
        #expect(d.overlappingTexts.isEmpty, "\(d.overlappingTexts.prefix(3))")
        #expect(d.textsOffPage.isEmpty)
        // Some but not all latents are labelled, at a regular stride, turned vertical.
        let labels = d.texts.filter { $0.rotation == .up && Int($0.text) != nil }
        #expect(labels.count >= 20 && labels.count < 300)
        #expect(labels.map(\.text).prefix(3) == ["0", "5", "10"] || labels.map(\.text).prefix(3) == ["0", "2", "4"] || labels.map(\.text).prefix(3) == ["0", "10", "20"])
        // Every source is labelled: 18 rows are tall enough for a line each.
        #expect((0..<18).allSatisfy { i in d.texts.contains { $0.text == "source \(i)" } })
        #expect(d.size.width < 1200)
    }

    @Test func manyRowsAreThinnedToo() {
        let d = heatmap(rows: 300, columns: 10).drawing()
        #expect(d.overlappingTexts.isEmpty)
        let rowLabels = d.texts.filter { $0.text.hasPrefix("source ") }
        #expect(rowLabels.count > 10 && rowLabels.count < 300)
    }

    @Test func wideLabelsTurnVertical() {
        let d = heatmap(rows: 4, columns: 12, labels: { "column \($0)" }).drawing()
        #expect(d.texts.filter { $0.text.hasPrefix("column") }.allSatisfy { $0.rotation == .up })
        #expect(d.overlappingTexts.isEmpty)
    }
}

@Suite struct LinePlotTests {
    func plot() -> LinePlot {
        var p = LinePlot(series: [
            Series(name: "VSC", points: [.init(x: 0.1, y: -30, error: 2), .init(x: 0.5, y: -25, error: 1), .init(x: 1, y: -24, error: 3)], markers: true),
            Series(name: "β-VAE", points: [.init(x: 0.1, y: -40), .init(x: 0.5, y: -35), .init(x: 1, y: -36)]),
        ], title: "ELBO against α", xLabel: "α", yLabel: "test ELBO")
        p.plotSize = Size(300, 200)
        return p
    }

    @Test func svgHasAxisLabelsTicksAndLegend() throws {
        let d = plot().drawing()
        let texts = try svgTexts(d.svg())
        for t in ["ELBO against α", "α", "test ELBO", "VSC", "β-VAE", "−40", "−30"] { #expect(texts.contains(t), "missing \(t)") }
        #expect(d.overlappingTexts.isEmpty)
        #expect(d.textsOffPage.isEmpty)
        // Error bars: three vertical lines with two caps for each of VSC's points.
        let lines = d.marks.filter { if case .line(let ps, _, _, _) = $0 { return ps.count == 2 } else { return false } }
        #expect(lines.count >= 9)
        #expect(d.marks.filter { if case .circle = $0 { return true } else { return false } }.count == 3 + 1)
    }

    @Test func xTickLabelsNeverCollide() {
        var p = LinePlot(series: [Series(name: "", points: (0..<50).map { .init(x: Double($0) * 1234.5, y: Double($0)) })])
        p.plotSize = Size(150, 100)
        #expect(p.drawing().overlappingTexts.isEmpty)
    }

    @Test func legendGoesOutsideWhenEveryCornerHoldsData() {
        // An X through the axes touches all four corners.
        var p = LinePlot(series: [Series(name: "up", points: [.init(x: 0, y: 0), .init(x: 1, y: 1)]),
                                  Series(name: "down", points: [.init(x: 0, y: 1), .init(x: 1, y: 0)])])
        p.plotSize = Size(200, 150)
        let d = p.drawing()
        let legend = d.texts.first { $0.text == "up" }!
        let frame = d.marks.compactMap { m -> Rect? in if case .rect(let r, nil, _, _) = m, r.width == 200 { return r } else { return nil } }.first!
        #expect(legend.box.x > frame.maxX)
        #expect(d.textsOffPage.isEmpty)
    }
}

@Suite struct FigureTests {
    @Test func figureSizesAndFilesInEveryFormat() throws {
        let img = RasterImage(grey: [Float](repeating: 0.5, count: 16)[...], height: 4, width: 4)
        let grid = ImageGrid(rows: [.init(label: ["inputs"], images: [img, img], highlighted: [0]), .init(label: ["recon.", "2 lines"], images: [img])],
                             columnHeaders: ["#0", "#1"], imageSize: Size(40, 40))
        let d = Figure(title: ["Images"], charts: [grid]).drawing()
        #expect(d.overlappingTexts.isEmpty)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = try d.write(to: dir + "/grid", formats: FigureFormat.allCases)
        #expect(files == ["grid.png", "grid.svg", "grid.pdf"])
        let (w, h) = try pngSize(dir + "/grid.png")
        #expect(w == d.pngPixelSize.width && h == d.pngPixelSize.height)
        #expect(w == Int((d.size.width * 2).rounded(.up)))
        let pdf = try Data(contentsOf: URL(fileURLWithPath: dir + "/grid.pdf"))
        #expect(pdf.starts(with: Array("%PDF".utf8)))
        let svg = try String(contentsOfFile: dir + "/grid.svg", encoding: .utf8)
        #expect(try svgTexts(svg) == ["Images", "#0", "#1", "inputs", "recon.", "2 lines"])
        #expect(svg.contains("data:image/png;base64,"))
    }

    @Test func panelsAreLaidOutInColumns() {
        var a = Drawing(size: Size(100, 50)); a.rect(Rect(x: 0, y: 0, width: 100, height: 50), fill: .red)
        var b = Drawing(size: Size(60, 80)); b.rect(Rect(x: 0, y: 0, width: 60, height: 80), fill: .black)
        let f = Figure(title: [], panels: [a, b, a], columns: 2)
        let d = f.drawing()
        #expect(d.size == Size(14 + 100 + 24 + 60 + 14, 14 + 80 + 24 + 50 + 14))
        let rects = d.marks.compactMap { m -> Rect? in if case .rect(let r, _, _, _) = m { return r } else { return nil } }
        #expect(rects == [Rect(x: 14, y: 14, width: 100, height: 50), Rect(x: 138, y: 14, width: 60, height: 80),
                          Rect(x: 14, y: 118, width: 100, height: 50)])
    }

    @Test func svgImagesAreEnlargedWithoutSmoothing() {
        // A 2×1 raster drawn 20 × 10 units: embedded at 4 pixels per unit, each pixel a block.
        let img = RasterImage(width: 2, height: 1, rgb: [255, 0, 0, 0, 0, 255])
        let big = Drawing.upscaledForSVG(img, in: Rect(x: 0, y: 0, width: 20, height: 10))
        #expect(big.width == 2 * 16 && big.height == 16)
        #expect(Array(big.rgb[0..<3]) == [255, 0, 0] && Array(big.rgb[(big.width - 1) * 3..<big.width * 3]) == [0, 0, 255])
        #expect(Drawing.upscaledForSVG(img, in: Rect(x: 0, y: 0, width: 0.5, height: 0.25)) == img)
    }

    @Test func textIsEscapedInSVG() throws {
        var d = Drawing(size: Size(200, 40))
        d.text("a < b & \"c\"", at: Point(0, 0), font: Style.label)
        #expect(try svgTexts(d.svg()) == ["a < b & \"c\""])
    }

    @Test func formatListsAreParsedAndUnknownNamesListTheValidOnes() throws {
        #expect(try FigureFormat.parseList("png,svg").get() == [.png, .svg])
        #expect(try FigureFormat.parseList(" PDF , png,pdf").get() == [.pdf, .png])
        guard case .failure(let e) = FigureFormat.parseList("png,jpg") else { Issue.record("jpg accepted"); return }
        #expect(e.description.contains("'jpg'") && e.description.contains("png, svg, pdf"))
        guard case .failure = FigureFormat.parseList("") else { Issue.record("empty list accepted"); return }
    }

    @Test func writingIntoAMissingFolderFailsWithTheFileName() {
        let d = Drawing(size: Size(10, 10))
        #expect(throws: PlotError.self) { try d.write(to: "/nonexistent-dir/x.png", format: .png) }
        do { try d.write(to: "/nonexistent-dir/x.png", format: .png) } catch { #expect("\(error)".contains("/nonexistent-dir/x.png")) }
    }
}
