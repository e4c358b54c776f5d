// `vsc experiment report DIR`: the finished cells' report.json files as one table (results.csv,
// one row per cell), the mean ± sd over seeds (results.md), and the paper's figures drawn with
// the plotting functions of Sources/Eval/Figures.swift: test ELBO against each swept numeric key
// (fig. 1: α, β) and the |corr| matrices side by side, one row per model, one column per d_z
// (figs. 3 and 9).

import Data
import Eval
import Foundation
import Plot

/// One column of results.csv: a number read from a cell's report.json.
public struct ResultColumn {
    public var name: String
    public var read: (EvalReport) -> Double?
    /// The columns, in table order; those no cell has are left out.
    public static let all: [ResultColumn] = [
        .init(name: "test_elbo") { $0.elbo.elbo },
        .init(name: "recon") { $0.elbo.recon },
        .init(name: "kl") { $0.elbo.kl },
        .init(name: "active_dims") { Double($0.activeDims.count) },
        .init(name: "active_per_example") { $0.activeDims.perExampleMean },
        .init(name: "always_on") { Double($0.activeDims.alwaysOn.count) },
        .init(name: "paper_best") { $0.paperMetric?.meanBestAbsCorr },
        .init(name: "paper_gap") { $0.paperMetric?.meanGap },
        .init(name: "emitted_best") { $0.emittedCodeMetric?.meanBestAbsCorr },
        .init(name: "emitted_gap") { $0.emittedCodeMetric?.meanGap },
        .init(name: "presence_best") { $0.presenceRecovery?.meanBestAbsCorr },
        .init(name: "probe_accuracy") { $0.linearProbe?.accuracy },
    ]
}

/// What `writeExperimentReport` wrote.
public struct ExperimentReportSummary {
    public var cellsDone: Int
    public var cellsTotal: Int
    /// Files written, relative to the folder.
    public var files: [String]
    /// Figures that could not be drawn, and why.
    public var notes: [String]
}

/// Reads a cell's report.json (snake_case keys, non-finite numbers as strings).
public func readEvalReport(_ path: String) throws -> EvalReport {
    guard let data = FileManager.default.contents(atPath: path) else { throw ExperimentError("\(path): no such file") }
    let d = JSONDecoder()
    d.keyDecodingStrategy = .convertFromSnakeCase
    d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    do { return try d.decode(EvalReport.self, from: data) } catch { throw ExperimentError("\(path): not a report.json (\(error))") }
}

/// The key whose values are repeats of one configuration: the report averages over it.
public let seedKey = "seed"

public func writeExperimentReport(dir: String, formats: [FigureFormat] = [.png, .svg]) throws -> ExperimentReportSummary {
    let manifest = try ExperimentFolder.readManifest(dir)
    var rows: [(cell: ExperimentManifest.Cell, report: EvalReport)] = []
    for c in manifest.cells {
        let cd = ExperimentFolder.cell(dir, c.id)
        guard FileManager.default.fileExists(atPath: ExperimentFolder.done(cd)) else { continue }
        rows.append((c, try readEvalReport(ExperimentFolder.report(cd))))
    }
    let columns = ResultColumn.all.filter { col in rows.contains { col.read($0.report) != nil } }
    let keys = manifest.gridKeys
    func value(_ c: ExperimentManifest.Cell, _ k: String) -> String { c.values.first { $0.key == k }?.value ?? "" }
    func num(_ v: Double?) -> String { v.map { $0.isFinite ? String(format: "%.6f", $0) : "\($0)" } ?? "" }
    func csvField(_ s: String) -> String { s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }

    var files: [String] = [], notes: [String] = []
    // results.csv: one row per finished cell, in the experiment's cell order.
    var csv = (["cell"] + keys + ["iteration"] + columns.map(\.name)).map(csvField).joined(separator: ",") + "\n"
    for (c, r) in rows {
        csv += ([c.id] + keys.map { value(c, $0) } + [r.iteration.map(String.init) ?? ""] + columns.map { num($0.read(r)) })
            .map(csvField).joined(separator: ",") + "\n"
    }
    try writeAtomically(Data(csv.utf8), to: dir + "/results.csv"); files.append("results.csv")

    // results.md: mean ± sd over seeds per configuration (the grid values other than the seed).
    let configKeys = keys.filter { $0 != seedKey }
    var groups: [(config: [String], rows: [EvalReport])] = []
    for (c, r) in rows {
        let k = configKeys.map { value(c, $0) }
        if let i = groups.firstIndex(where: { $0.config == k }) { groups[i].rows.append(r) } else { groups.append((k, [r])) }
    }
    var md = "# \(manifest.name)\(manifest.variant.map { " (variant \($0))" } ?? "")\n\n"
    md += "\(rows.count) of \(manifest.cells.count) cells done; experiment file `\(manifest.file)`. "
    md += keys.contains(seedKey) ? "Mean ± sample standard deviation over seeds (n: the seeds done).\n\n" : "One run per configuration.\n\n"
    md += "| " + (configKeys + ["n"] + columns.map(\.name)).joined(separator: " | ") + " |\n"
    md += "|" + String(repeating: "---|", count: configKeys.count + 1 + columns.count) + "\n"
    for g in groups {
        let cells = columns.map { col -> String in
            let v = g.rows.compactMap { col.read($0) }
            guard !v.isEmpty else { return "" }
            let (m, sd) = meanAndDeviation(v)
            return v.count > 1 ? String(format: "%.3f ± %.3f", m, sd) : String(format: "%.3f", m)
        }
        md += "| " + (g.config + ["\(g.rows.count)"] + cells).joined(separator: " | ") + " |\n"
    }
    try writeAtomically(Data(md.utf8), to: dir + "/results.md"); files.append("results.md")

    func save(_ d: Drawing, _ name: String) throws {
        do { files += try d.write(to: dir + "/" + name, formats: formats) } catch let e as PlotError { throw ExperimentError(e.description) }
    }

    // Fig. 1: test ELBO against each numeric swept key, one line per configuration of the others.
    for key in configKeys {
        let withKey = rows.filter { !value($0.cell, key).isEmpty }
        let values = Set(withKey.compactMap { Double(value($0.cell, key)) })
        guard values.count >= 2, withKey.allSatisfy({ Double(value($0.cell, key)) != nil }) else { continue }
        let others = configKeys.filter { $0 != key }
        var series: [SweepSeries] = []
        for (c, r) in withKey {
            let name = others.map { "\($0)=\(value(c, $0))" }.filter { !$0.hasSuffix("=") }.joined(separator: ", ")
            let x = Double(value(c, key))!
            var s = series.first { $0.name == (name.isEmpty ? "all" : name) } ?? SweepSeries(name: name.isEmpty ? "all" : name, runs: [])
            if let i = s.runs.firstIndex(where: { $0.value == x }) { s.runs[i].elbos.append(r.elbo.elbo) } else { s.runs.append((x, [r.elbo.elbo])) }
            if let i = series.firstIndex(where: { $0.name == s.name }) { series[i] = s } else { series.append(s) }
        }
        guard series.contains(where: { $0.runs.count >= 2 }) else { continue }   // no line: each model has one value
        let lo = values.min()!, hi = values.max()!
        try save(elboSweepFigure(series, parameter: key,
                                 title: ["\(manifest.name): test ELBO against \(key)", keys.contains(seedKey) ? "mean ± one sd over seeds" : "one run per point"],
                                 logScale: lo > 0 && hi / lo >= 10),
                 "elbo-vs-" + key)
    }

    // Figs. 3 / 9: the authors' |corr| matrix (A) per cell, one row per model (the configuration
    // without d_z), one column per d_z (`latent`); the lowest-numbered seed of each.
    if rows.contains(where: { $0.report.paperMetric != nil }) {
        let latentKey = "latent"
        let rowKeys = configKeys.filter { $0 != latentKey }
        // "kind=vae, beta=4": the keys a cell has (a union of grids leaves the others empty).
        func rowName(_ c: ExperimentManifest.Cell) -> String {
            rowKeys.filter { !value(c, $0).isEmpty }.map { "\($0)=\(value(c, $0))" }.joined(separator: ", ")
        }
        var rowNames: [String] = [], colNames: [String] = []
        for (c, _) in rows {
            let rn = rowName(c), cn = value(c, latentKey)
            if !rowNames.contains(rn) { rowNames.append(rn) }
            if !colNames.contains(cn) { colNames.append(cn) }
        }
        var panels: [CorrelationPanel] = [], missing: [String] = []
        var sources: [String] = []
        for rn in rowNames {
            for cn in colNames {
                let match = rows.filter { rowName($0.cell) == rn && value($0.cell, latentKey) == cn }
                    .min { (Int(value($0.cell, seedKey)) ?? 0) < (Int(value($1.cell, seedKey)) ?? 0) }
                guard let (c, r) = match, let a = r.paperMetric, !a.matrix.isEmpty else { missing.append([rn, cn.isEmpty ? "" : "latent=\(cn)"].filter { !$0.isEmpty }.joined(separator: ", ")); continue }
                sources = a.sources
                let m = Matrix(rows: a.matrix.count, columns: a.matrix[0].count, values: a.matrix.flatMap { $0 })
                let inactive = Set(0..<r.latentDim).subtracting(r.activeDims.indices)
                panels.append(CorrelationPanel(matrix: m, order: a.columnOrder, inactive: inactive,
                                               title: [rn, cn.isEmpty ? "" : "d_z = \(cn)", value(c, seedKey).isEmpty ? "" : "seed \(value(c, seedKey))"].filter { !$0.isEmpty }.joined(separator: ", ")))
            }
        }
        if missing.isEmpty {
            try save(correlationFigure(panels, sourceNames: sources, groupEnds: SmileyAttribute.allCases.map(\.sourceRange.upperBound),
                                       title: ["\(manifest.name): the authors' fig. 3 metric |corr(|S·V|, |z|)| per cell",
                                               "rows: \(rowKeys.isEmpty ? "the model" : rowKeys.joined(separator: ", ")); columns: \(colNames.count > 1 ? "d_z" : "one per row")"],
                                       columns: max(1, colNames.count)),
                     "correlation-grid")
        } else {
            notes.append("correlation-grid not drawn: no finished Smiley cell for " + missing.joined(separator: "; "))
        }
    }
    return ExperimentReportSummary(cellsDone: rows.count, cellsTotal: manifest.cells.count, files: files, notes: notes)
}
