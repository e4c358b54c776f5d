// The paper's figures, one function each, drawn with Plot: |corr| matrices (fig. 3 / fig. 9 grid),
// spike maps per class (fig. 5), signed presence correlations, ELBO against α or β with error bars
// over seeds (fig. 1), and a run's loss and metric curves. `vsc eval`, `vsc plot` and experiment
// reports call these; image rows (figs. 6, 7) are in Generation.swift.

import Plot
import Train

/// "0.25" style: two decimals, no Foundation.
func format2(_ v: Double) -> String {
    let neg = v < 0
    let n = Int((abs(v) * 100).rounded())
    let frac = n % 100
    return (neg ? "-" : "") + "\(n / 100)." + (frac < 10 ? "0" : "") + "\(frac)"
}

/// One |corr| matrix of a correlation figure: sources × latents, shown with the latents in `order`.
public struct CorrelationPanel {
    public var matrix: Matrix
    /// Column k of the panel shows latent `order[k]` (e.g. grouped by best source).
    public var order: [Int]
    /// Latents whose labels are drawn in grey.
    public var inactive: Set<Int>
    public var title: String
    public init(matrix: Matrix, order: [Int], inactive: Set<Int> = [], title: String = "") {
        self.matrix = matrix; self.order = order; self.inactive = inactive; self.title = title
    }
}

/// Fig. 3 (one panel) / fig. 9 (a grid of panels, e.g. one per model or α): |corr| between the
/// sources (rows, named, white lines after `groupEnds`) and the latents (columns, labelled with
/// their indices; grey: inactive), viridis from 0 to 1.
public func correlationFigure(_ panels: [CorrelationPanel], sourceNames: [String], groupEnds: [Int],
                              title: [String], columns: Int = 1) -> Drawing {
    let anyInactive = panels.contains { !$0.inactive.isEmpty }
    let charts: [Chart] = panels.map { p in
        var h = Heatmap(values: p.matrix.permutingColumns(p.order).values.map(Double.init), rows: p.matrix.rows,
                        columns: p.order.count, rowLabels: sourceNames, columnLabels: p.order.map(String.init))
        h.title = p.title
        h.xLabel = "latent dimension, grouped by best source" + (anyInactive ? " (grey: inactive)" : "")
        h.yLabel = "source"
        h.colorbarLabel = "|corr|"
        h.rowSeparators = groupEnds
        h.columnLabelColors = p.order.map { p.inactive.contains($0) ? Color.grey : .black }
        return h
    }
    return Figure(title: title, charts: charts, columns: columns).drawing()
}

/// Fig. 5: mean spike probability (or another activity in [0, 1]) per class (rows) and latent
/// dimension (columns), black 0 (never active) to white 1 (always active).
public func spikeMapFigure(_ means: Matrix, classNames: [String], title: [String], legend: String = "mean spike probability") -> Drawing {
    var h = Heatmap(values: means.values.map(Double.init), rows: means.rows, columns: means.columns,
                    rowLabels: classNames, columnLabels: (0..<means.columns).map(String.init))
    h.xLabel = "latent dimension"
    h.yLabel = "class"
    h.colormap = .grey
    h.colorbarLabel = legend
    return Figure(title: title, charts: [h]).drawing()
}

/// Signed correlations in [-1, 1] (rows × latents) on the diverging map: blue negative, white 0,
/// red positive (presence recovery: which latent marks each attribute's presence or absence).
public func signedCorrelationFigure(_ signed: Matrix, rowNames: [String], rowTitle: String, title: [String],
                                    legend: String = "corr") -> Drawing {
    var h = Heatmap(values: signed.values.map(Double.init), rows: signed.rows, columns: signed.columns,
                    rowLabels: rowNames, columnLabels: (0..<signed.columns).map(String.init))
    h.xLabel = "latent dimension"
    h.yLabel = rowTitle
    h.colormap = .diverging
    h.low = -1; h.high = 1
    h.colorbarLabel = legend
    return Figure(title: title, charts: [h]).drawing()
}

/// One model's results along a hyperparameter sweep: per value, the ELBOs of its seeds.
public struct SweepSeries {
    public var name: String
    public var runs: [(value: Double, elbos: [Double])]
    public init(name: String, runs: [(value: Double, elbos: [Double])]) { self.name = name; self.runs = runs }
}

/// Fig. 1: test ELBO against a hyperparameter (α for VSC, β for β-VAE): per model a line through
/// the means over seeds, error bars ± one standard deviation.
public func elboSweepFigure(_ series: [SweepSeries], parameter: String, title: [String], logScale: Bool = false) -> Drawing {
    let lines = series.map { s in
        Series(name: s.name, points: s.runs.sorted { $0.value < $1.value }.map { run in
            let (m, sd) = meanAndDeviation(run.elbos)
            return .init(x: run.value, y: m, error: run.elbos.count > 1 ? sd : nil)
        }, markers: true)
    }
    var plot = LinePlot(series: lines, xLabel: parameter, yLabel: "test ELBO (nats per example)")
    if logScale { plot.xScale = .log }
    return Figure(title: title, charts: [plot]).drawing()
}

/// Mean and sample standard deviation (0 for fewer than two values): the error bars of fig. 1 and
/// the ± of experiment reports.
public func meanAndDeviation(_ v: [Double]) -> (Double, Double) {
    guard !v.isEmpty else { return (.nan, 0) }
    let m = v.reduce(0, +) / Double(v.count)
    guard v.count > 1 else { return (m, 0) }
    return (m, (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot())
}

/// A run's curves from its metrics.jsonl: the loss terms (log scale when they span more than a
/// decade and are positive), test metrics (`test_*` fields) if the run logged any, and the
/// collapse diagnostics (active dimensions, pseudo-inputs in use) if present.
public func runCurvesFigure(_ log: MetricsLog, title: [String]) -> Drawing {
    func series(_ names: [String]) -> [Series] {
        names.compactMap { name in
            guard let column = log.values[name] else { return nil }
            let points = zip(log.iterations, column).compactMap { it, v in v.map { Series.Sample(x: Double(it), y: $0) } }
            return points.isEmpty ? nil : Series(name: name, points: points)
        }
    }
    func panel(_ names: [String], title: String, yLabel: String) -> LinePlot? {
        let s = series(names)
        guard !s.isEmpty else { return nil }
        var p = LinePlot(series: s, title: title, xLabel: "iteration", yLabel: yLabel)
        let ys = s.flatMap(\.points).map(\.y)
        if let lo = ys.min(), let hi = ys.max(), lo > 0, hi / lo > 10 { p.yScale = .log }
        return p
    }
    // Terms that go negative (the ELBO) would flatten the positive ones: they get a panel of their own.
    let signed = log.lossTerms.filter { log.values[$0]?.contains { ($0 ?? 0) < 0 } ?? false }
    let panels = [
        panel(log.lossTerms.filter { !signed.contains($0) }, title: "Training loss terms (positive)", yLabel: "nats per example"),
        panel(signed, title: "Training loss terms (signed)", yLabel: "nats per example"),
        panel(log.fields.filter { $0.hasPrefix("test_") }, title: "Test metrics", yLabel: "value"),
        panel(["active_dims", "active_per_example", "spurious_per_example", "pseudo_inputs_in_use", "stuck_on_dims"], title: "Collapse diagnostics", yLabel: "count"),
    ].compactMap { $0 }
    return Figure(title: title, charts: panels, columns: min(2, max(1, panels.count))).drawing()
}
