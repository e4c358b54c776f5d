// Running an experiment: each cell trains, checkpoints and evaluates into DIR/cells/<id>/ through
// the Train and Eval libraries, in process. A cell is finished when DIR/cells/<id>/done exists; it
// is written (atomically) only after the cell's evaluation, so a killed run, started again, skips
// the finished cells, resumes the interrupted one from its checkpoint and never redoes a cell.

import Data
import Foundation
import IR
import Models
import Passes
import Eval
import Train

/// An experiment run's error; the message is complete (folder, cell, file).
public struct ExperimentError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "error: " + message }
}

public struct ExperimentRunOptions {
    /// The experiment's folder: experiment.json, and cells/<id>/ per cell.
    public var outDir: String
    public var backend: BackendFactory
    /// The backend of a cell's spec (nil: `backend` for every cell); the CLI's honours the
    /// spec's `precision` key. Throws when the spec's settings cannot run.
    public var backendForSpec: ((ModelSpec) throws -> BackendFactory)?
    public var backendName: String
    /// The pass pipeline training and evaluation run (the CLI's default pipeline).
    public var optimize: ((Graph) throws -> Graph)?
    /// Batch size of the evaluation programs.
    public var evalBatchSize: Int = 500
    /// Show each cell's training progress bar.
    public var showTrainingProgress: Bool = true
    /// Polled after every training iteration (the CLI passes `TrainingInterrupt.pendingSignal`).
    public var stopRequested: (() -> Int32?)?
    /// Stop after this many cells were finished in this run (tests simulating a killed run).
    public var stopAfterCells: Int?
    /// Progress lines (cells done / total, ETA) and notes.
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init(outDir: String, backend: @escaping BackendFactory, backendName: String,
                optimize: ((Graph) throws -> Graph)? = { try PassManager.default.run($0).graph }) {
        self.outDir = outDir; self.backend = backend; self.backendName = backendName; self.optimize = optimize
    }
}

/// What a run did.
public struct ExperimentRunSummary {
    /// Cells finished before this run started (skipped), and trained or completed in this run.
    public var skipped: [String] = []
    public var finished: [String] = []
    public var total: Int
    /// The signal that stopped the run, if one did.
    public var interruptedBy: Int32?
    public var complete: Bool { skipped.count + finished.count == total }
}

/// The experiment's record in its folder (experiment.json): which cells, with which grid values.
public struct ExperimentManifest: Codable {
    public struct Cell: Codable { public var id: String; public var values: [GridValue] }
    public var name: String
    public var file: String
    public var variant: String?
    public var gridKeys: [String]
    public var evaluations: [String]
    public var cells: [Cell]
}

public enum ExperimentFolder {
    public static func manifest(_ dir: String) -> String { dir + "/experiment.json" }
    public static func cell(_ dir: String, _ id: String) -> String { dir + "/cells/" + id }
    public static func done(_ cellDir: String) -> String { cellDir + "/done" }
    public static func report(_ cellDir: String) -> String { cellDir + "/eval/report.json" }

    public static func readManifest(_ dir: String) throws -> ExperimentManifest {
        let path = manifest(dir)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExperimentError("\(path): no such file; \(dir) is not an experiment folder (vsc experiment run EXP.yaml --out \(dir) makes one)")
        }
        let d = JSONDecoder(); d.keyDecodingStrategy = .convertFromSnakeCase
        do { return try d.decode(ExperimentManifest.self, from: data) } catch {
            throw ExperimentError("\(path): not an experiment manifest (\(error))")
        }
    }
}

/// Writes `data` to `path` through a temporary file and a rename: readers see the old file or the
/// whole new one, never a part.
func writeAtomically(_ data: Data, to path: String) throws {
    let tmp = path + ".tmp-\(getpid())"
    do {
        try data.write(to: URL(fileURLWithPath: tmp))
        if rename(tmp, path) != 0 { throw ExperimentError("\(path): cannot rename \(tmp) into place: \(String(cString: strerror(errno)))") }
    } catch let e as ExperimentError { throw e } catch { throw ExperimentError("\(path): cannot write (\(error.localizedDescription))") }
}

/// Runs `experiment` into `options.outDir`: each unfinished cell in order.
public func runExperiment(_ experiment: Experiment, options: ExperimentRunOptions) throws -> ExperimentRunSummary {
    let fm = FileManager.default
    let dir = options.outDir
    try fm.createDirectory(atPath: dir + "/cells", withIntermediateDirectories: true)
    // One run per experiment folder (the cells' trainers lock their own folders too).
    let lock = try RunFolderLock(folder: dir)
    defer { lock.release() }
    // The manifest names the cells; a folder holding another experiment's cells is refused below
    // cell by cell (a cell's spec.yaml must be this experiment's).
    let manifest = ExperimentManifest(name: experiment.name, file: experiment.file, variant: experiment.variant,
                                      gridKeys: experiment.gridKeys, evaluations: experiment.evaluations.map(\.rawValue),
                                      cells: experiment.cells.map { .init(id: $0.id, values: $0.values) })
    if let old = try? ExperimentFolder.readManifest(dir), old.name != manifest.name || old.variant != manifest.variant {
        throw ExperimentError("\(dir) holds the experiment \"\(old.name)\"\(old.variant.map { " (variant \($0))" } ?? ""), not \"\(manifest.name)\"\(manifest.variant.map { " (variant \($0))" } ?? ""); choose another --out")
    }
    let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]; enc.keyEncodingStrategy = .convertToSnakeCase
    try writeAtomically(try enc.encode(manifest), to: ExperimentFolder.manifest(dir))

    var summary = ExperimentRunSummary(total: experiment.cells.count)
    let total = experiment.cells.count
    for c in experiment.cells where fm.fileExists(atPath: ExperimentFolder.done(ExperimentFolder.cell(dir, c.id))) { summary.skipped.append(c.id) }
    options.log("experiment \(experiment.name)\(experiment.variant.map { " (variant \($0))" } ?? ""): \(total) cells, \(summary.skipped.count) already done; folder \(dir)")
    var cellSeconds: [Double] = []
    for (k, cell) in experiment.cells.enumerated() {
        let cellDir = ExperimentFolder.cell(dir, cell.id)
        if summary.skipped.contains(cell.id) { continue }
        if let n = options.stopAfterCells, summary.finished.count >= n { break }
        // A stop asked for during the last cell's evaluation ends the run before the next cell.
        if let sig = options.stopRequested?() {
            summary.interruptedBy = sig
            return summary
        }
        let t0 = Date()
        let done = summary.skipped.count + summary.finished.count
        options.log("[\(done)/\(total) done] cell \(k + 1) of \(total): \(cell.id)")
        if let sig = try runCell(cell, in: cellDir, experiment: experiment, options: options) {
            summary.interruptedBy = sig
            options.log("stopped by signal \(sig) in cell \(cell.id); run the same command again to resume (finished cells are skipped)")
            return summary
        }
        summary.finished.append(cell.id)
        cellSeconds.append(Date().timeIntervalSince(t0))
        let doneNow = summary.skipped.count + summary.finished.count
        let mean = cellSeconds.reduce(0, +) / Double(cellSeconds.count)
        options.log("[\(doneNow)/\(total) done] \(cell.id) in \(clock(cellSeconds.last!)); ETA \(clock(mean * Double(total - doneNow)))")
    }
    return summary
}

/// "1:02:03" or "02:03".
func clock(_ s: Double) -> String {
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%02d:%02d", t / 60, t % 60)
}

/// Trains (or resumes) and evaluates one cell; returns the signal that stopped it, if any.
func runCell(_ cell: ExperimentCell, in cellDir: String, experiment: Experiment, options: ExperimentRunOptions) throws -> Int32? {
    let fm = FileManager.default
    try fm.createDirectory(atPath: cellDir, withIntermediateDirectories: true)
    let specPath = cellDir + "/spec.yaml"
    if let old = try? String(contentsOfFile: specPath, encoding: .utf8), old != cell.specText {
        throw ExperimentError("\(specPath): this cell was started with another spec (the experiment file or its base changed since);"
                              + " remove \(cellDir) to redo it, or run into another --out")
    }
    try writeAtomically(Data(cell.specText.utf8), to: specPath)
    let checkpoint = cellDir + "/checkpoint.safetensors"
    let resume = fm.fileExists(atPath: checkpoint)
    let spec = cell.spec
    let data = try loadSpecData(spec)
    let model = try makeModel(spec)
    let backend = try options.backendForSpec?(spec) ?? options.backend
    let trainer = try Trainer(model: model, data: data.train, backend: backend,
                              options: TrainOptions(outDir: cellDir, resume: resume, overwrite: !resume,
                                                    showProgress: options.showTrainingProgress, specText: cell.specText,
                                                    backendName: options.backendName, optimize: options.optimize,
                                                    stopRequested: options.stopRequested))
    if resume { options.log("  resuming from \(checkpoint)") }
    let s = try trainer.run()
    if let sig = s.interruptedBy { return sig }

    let trained = try TrainedModel.load(checkpoint: checkpoint)
    var evalOptions = EvalOptions(outDir: cellDir + "/eval", batchSize: options.evalBatchSize, figures: experiment.evaluations.contains(.figures),
                                  backendName: options.backendName, checkpointPath: checkpoint)
    if experiment.evaluations.contains(.probe) { evalOptions.probeTrain = data.train }
    _ = try evaluate(trained, test: data.test, backend: backend, options: evalOptions)
    try writeAtomically(Data("finished \(ISO8601DateFormatter().string(from: Date())); iterations \(s.iterations)\n".utf8),
                        to: ExperimentFolder.done(cellDir))
    return nil
}
