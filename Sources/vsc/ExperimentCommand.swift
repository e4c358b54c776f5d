import ArgumentParser
import Experiment
import Foundation
import Models
import Train

struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Run a grid of specs declared in an experiment file, resumably, and report it.",
        discussion: """
            Examples:
              vsc experiment run Samples/experiments/tiny.yaml --out runs/exp-tiny
              vsc experiment report runs/exp-tiny
            """,
        subcommands: [Run.self, Report.self])

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train, checkpoint and evaluate every cell of an experiment into DIR/cells/<cell>/.",
            discussion: """
                An experiment file names a base spec (or one per kind), spec keys fixed for every \
                cell (set), an iteration budget, a grid over spec keys (kind, latent, prior.alpha, \
                beta, seed, …: their product, or a list of products) and the evaluations (elbo, \
                figures, probe). Each cell writes spec.yaml (vsc train --spec reproduces it), its \
                checkpoint, metrics.jsonl, eval/report.json, and last a `done` marker. Run the \
                same command again after a kill or Ctrl-C: finished cells are skipped and the \
                interrupted one resumes from its checkpoint. Progress shows cells done / total \
                and the ETA. --variant picks a named variant of the file (e.g. budget).

                Examples:
                  vsc experiment run Samples/experiments/tiny.yaml --out runs/exp-tiny
                  vsc experiment run Samples/experiments/fig3-smiley.yaml --variant budget
                """)

        @Argument(help: "The experiment file (YAML).") var file: String
        @Option(help: "Output folder (default: runs/experiments/<name>[-<variant>]).") var out: String?
        @Option(help: "A variant the file declares under `variants:` (e.g. budget).") var variant: String?
        @OptionGroup var backendOption: BackendOption
        @Flag(help: "List the cells and their specs' key values, and stop.") var dryRun = false
        @Flag(help: "No per-cell training progress bar.") var quiet = false

        func run() throws {
            let experiment: Experiment
            do { experiment = try loadExperiment(path: file, variant: variant) }
            catch let e as SpecError { throw CLIError(e.description) }
            let outDir = out ?? "runs/experiments/\(experiment.name)" + (variant.map { "-\($0)" } ?? "")
            if dryRun {
                print("\(experiment.name)\(variant.map { " (variant \($0))" } ?? ""): \(experiment.cells.count) cells")
                for c in experiment.cells {
                    print("  \(c.id): \(c.spec.kind.facts.name), latent \(c.spec.latent), \(c.spec.iterations) iterations, seed \(c.spec.seed)")
                }
                return
            }
            var options = ExperimentRunOptions(outDir: outDir, backend: try backendOption.factory(for: nil),
                                               backendName: backendOption.backend.rawValue)
            // Each cell's spec may set `precision` (unless --precision overrides it).
            let backendOption = backendOption
            options.backendForSpec = { spec in try backendOption.factory(for: spec) }
            options.showTrainingProgress = !quiet
            options.stopRequested = { TrainingInterrupt.pendingSignal }
            TrainingInterrupt.installHandlers()
            let summary: ExperimentRunSummary
            do { summary = try runExperiment(experiment, options: options) }
            catch let e as ExperimentError { throw CLIError(e.message) }
            catch let e as TrainError { throw CLIError(e.message) }
            catch let e as CheckpointError { throw CLIError(e.message) }
            if let sig = summary.interruptedBy {
                print("stopped by \(TrainingInterrupt.name(sig)): \(summary.skipped.count + summary.finished.count) of \(summary.total) cells done")
                print("  continue with: vsc experiment run \(file)\(variant.map { " --variant \($0)" } ?? "") --out \(outDir)")
                throw ExitCode(128 + sig)
            }
            print("\(experiment.name): \(summary.total) cells done (\(summary.finished.count) in this run, \(summary.skipped.count) before)")
            print("  report with: vsc experiment report \(outDir)")
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write DIR/results.csv, DIR/results.md (mean ± sd over seeds) and the figures of an experiment folder.",
            discussion: """
                Reads every finished cell's eval/report.json. results.csv has one row per cell \
                (its grid values, test ELBO, active dims, the Smiley |corr| metrics); results.md \
                the mean ± sample sd over the `seed` key per configuration. Figures: \
                elbo-vs-KEY for every swept numeric key (fig. 1: α, β; error bars over seeds) and, \
                on Smiley, correlation-grid (figs. 3 / 9: one row per model, one column per d_z).

                Examples:
                  vsc experiment report runs/exp-tiny
                  vsc experiment report runs/exp-tiny --figure-format png,svg,pdf
                """)

        @Argument(help: "The experiment folder (vsc experiment run's --out).") var dir: String
        @OptionGroup var figureFormatOption: FigureFormatOption

        func run() throws {
            let s: ExperimentReportSummary
            do { s = try writeExperimentReport(dir: dir, formats: figureFormatOption.formats) }
            catch let e as ExperimentError { throw CLIError(e.message) }
            print("\(dir): \(s.cellsDone) of \(s.cellsTotal) cells done")
            for f in s.files { print("  " + dir + "/" + f) }
            for n in s.notes { print("  note: " + n) }
        }
    }
}
