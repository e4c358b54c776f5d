import ArgumentParser
import Eval
import Foundation
import Plot
import Train

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Plot a run's loss and metric curves from RUN/metrics.jsonl.",
        discussion: """
            Writes RUN/curves.png and RUN/curves.svg (or the formats --figure-format names), one \
            panel each against the iteration: the loss terms that stay positive (log scale when \
            they span more than a decade), the signed ones (the ELBO; the loss and reconstruction \
            term too under a Gaussian likelihood), test metrics (test_* fields) if the run logged \
            any, and the collapse diagnostics (active dimensions, pseudo-inputs in use) if present.

            Examples:
              vsc plot runs/tiny
              vsc plot runs/tiny --figure-format pdf --out figures/tiny-curves
            """)

    @Argument(help: "The run folder (written by 'vsc train').") var runFolder: String
    @Option(help: "Output file name without extension (default: RUN/curves).") var out: String?
    @OptionGroup var figureFormatOption: FigureFormatOption

    func run() throws {
        let log: MetricsLog
        do { log = try MetricsLog.read(path: runFolder + "/metrics.jsonl") } catch let e as TrainError { throw CLIError(e.message) }
        let name = URL(fileURLWithPath: runFolder).standardizedFileURL.lastPathComponent
        let base = out ?? runFolder + "/curves"
        let trained = log.trainingIterations
        let first = trained.first ?? 0, last = trained.last ?? 0
        let figure = runCurvesFigure(log, title: ["Training curves: \(name)", "\(trained.count) logged iterations, \(first) to \(last); from \(runFolder)/metrics.jsonl"])
        do {
            for file in try figure.write(to: base, formats: figureFormatOption.formats) {
                print(URL(fileURLWithPath: base).deletingLastPathComponent().path + "/" + file)
            }
        } catch let e as PlotError { throw CLIError(e.description) }
    }
}
