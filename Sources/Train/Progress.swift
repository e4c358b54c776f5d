import Foundation
import Models

/// The loss terms and schedule values of one training iteration.
public struct StepRecord: Equatable, Sendable {
    /// 1-based: the number of iterations completed once this one is done.
    public var iteration: Int
    /// The model's loss terms (`GenerativeModel.lossTerms`) in its order, with their values.
    public var terms: [Term]
    public var lambda: Double
    public var c: Double
    public var learningRate: Double
    /// The global gradient norm before clipping (steps built with clipping only).
    public var gradNorm: Float?

    public struct Term: Equatable, Sendable {
        public var term: LossTerm
        public var value: Float
        public init(_ term: LossTerm, _ value: Float) { self.term = term; self.value = value }
    }

    public init(iteration: Int, terms: [Term], lambda: Double, c: Double, learningRate: Double, gradNorm: Float? = nil) {
        self.iteration = iteration; self.terms = terms
        self.lambda = lambda; self.c = c; self.learningRate = learningRate; self.gradNorm = gradNorm
    }
    /// A record of the standard terms (`LossTerm.standard`).
    public init(iteration: Int, loss: Float, recon: Float, kl: Float, sparsity: Float, elbo: Float,
                lambda: Double, c: Double, learningRate: Double, gradNorm: Float? = nil) {
        self.init(iteration: iteration, terms: zip(LossTerm.standard, [loss, recon, kl, sparsity, elbo]).map { Term($0, $1) },
                  lambda: lambda, c: c, learningRate: learningRate, gradNorm: gradNorm)
    }

    /// The value of the term named `name`, if the model has it.
    public subscript(term name: String) -> Float? { terms.first { $0.term.name == name }?.value }
    // The terms every model has (the trainer checks the train graph outputs them).
    public var loss: Float { self[term: GraphNames.loss] ?? .nan }
    public var recon: Float { self[term: GraphNames.recon] ?? .nan }
    public var kl: Float { self[term: GraphNames.kl] ?? .nan }
    public var sparsity: Float { self[term: GraphNames.sparsity] ?? .nan }
    public var elbo: Float { self[term: GraphNames.elbo] ?? .nan }
    public var isFinite: Bool { terms.allSatisfy { $0.value.isFinite } }
    /// "loss 1.5, recon 1.2, …" over the progress line's terms (`separator` between them).
    public func termsText(separator: String = ", ", format: (Float) -> String = { "\($0)" }) -> String {
        terms.filter(\.term.inProgressLine).map { "\($0.term.name) \(format($0.value))" }.joined(separator: separator)
    }
}

/// A one-line progress display on stderr: iteration/total, it/s, ETA and the loss terms. On a
/// terminal the line is redrawn in place (`\r`, at most ~10 times a second); otherwise (CI logs,
/// files) a plain line is printed every `plainEvery` seconds and at 10 % steps.
public final class ProgressBar {
    public let total: Int
    let isTTY: Bool
    let plainEvery: Double
    let startIteration: Int
    let start = Date()
    var lastDraw = Date.distantPast
    var lastPlainFraction = -1
    var lastLineLength = 0
    /// Write hook (stderr by default); tests capture it.
    var sink: (String) -> Void
    /// Appended to every line until replaced (the training loop's collapse diagnostics).
    public var note: String?
    /// Show λ and c (VSC's warm-up and spike sharpness) beside lr; other kinds have only lr.
    public var showsSpikeSchedule = true

    public init(total: Int, startIteration: Int = 0, isTTY: Bool? = nil, plainEvery: Double = 10,
                sink: ((String) -> Void)? = nil) {
        self.total = total
        self.startIteration = startIteration
        self.isTTY = isTTY ?? (isatty(2) != 0)
        self.plainEvery = plainEvery
        self.sink = sink ?? { s in FileHandle.standardError.write(s.data(using: .utf8)!) }
    }

    /// Iterations per second since the bar started.
    public func rate(at iteration: Int) -> Double {
        let dt = Date().timeIntervalSince(start)
        return dt > 0 ? Double(iteration - startIteration) / dt : 0
    }

    public func line(_ r: StepRecord, rate: Double) -> String {
        let width = String(total).count
        let frac = total > 0 ? Double(r.iteration) / Double(total) : 1
        let eta = rate > 0 ? Double(total - r.iteration) / rate : .nan
        let pct = String(format: "%3.0f%%", 100 * frac)
        let it = String(repeating: " ", count: max(0, width - String(r.iteration).count)) + "\(r.iteration)"
        var s = "\(pct) \(it)/\(total)  \(fmt(rate, 1)) it/s  ETA \(duration(eta))"
        s += "  " + r.termsText(separator: "  ") { fmt($0) }
        if showsSpikeSchedule { s += "  λ \(fmt(r.lambda, 3))  c \(fmt(r.c, 4))" }
        s += "  lr \(fmt(r.learningRate, 3))"
        if let note { s += "  " + note }
        return s
    }

    public func update(_ r: StepRecord, force: Bool = false) {
        let now = Date()
        let rate = rate(at: r.iteration)
        if isTTY {
            guard force || now.timeIntervalSince(lastDraw) >= 0.1 || r.iteration == total else { return }
            lastDraw = now
            let l = line(r, rate: rate)
            let pad = String(repeating: " ", count: max(0, lastLineLength - l.count))
            lastLineLength = l.count
            sink("\r" + l + pad)
        } else {
            let tenth = total > 0 ? (10 * r.iteration) / total : 10
            guard force || now.timeIntervalSince(lastDraw) >= plainEvery || tenth > lastPlainFraction || r.iteration == total
            else { return }
            lastDraw = now
            lastPlainFraction = tenth
            sink(line(r, rate: rate) + "\n")
        }
    }

    /// Ends the line on a terminal.
    public func finish() { if isTTY && lastLineLength > 0 { sink("\n"); lastLineLength = 0 } }
    /// Prints a message on its own line (clearing a redrawn bar first).
    public func message(_ s: String) {
        if isTTY && lastLineLength > 0 { sink("\r" + String(repeating: " ", count: lastLineLength) + "\r"); lastLineLength = 0 }
        sink(s + "\n")
    }
}

func fmt(_ v: Float) -> String { fmt(Double(v), 4) }
func fmt(_ v: Double, _ digits: Int) -> String {
    guard v.isFinite else { return v.isNaN ? "nan" : (v < 0 ? "-inf" : "inf") }
    if v != 0 && (Swift.abs(v) >= 1e6 || Swift.abs(v) < 1e-3) { return String(format: "%.\(digits)e", v) }
    let mag = v == 0 ? 0 : Int(Foundation.log10(Swift.abs(v)))
    return String(format: "%.\(max(0, digits - max(0, mag)))f", v)
}
func duration(_ s: Double) -> String {
    guard s.isFinite, s >= 0 else { return "--:--" }
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%02d:%02d", t / 60, t % 60)
}

/// `DIR/metrics.jsonl`: one JSON object per logged iteration — iteration, `timestamp` (Unix
/// seconds), `time` (training seconds summed over the run and the runs it resumed), the loss
/// terms, λ, c, lr and it/s — and one per test evaluation (iteration, timestamp, time and `test_*`
/// fields). Each line is written with one `write` call, so a killed run leaves only whole lines.
public final class MetricsWriter {
    public let path: String
    let fd: Int32

    /// Opens (creating) the file. With `keepThrough`, lines of iterations after it are dropped
    /// first (a resumed run rewrites what the killed run logged past its checkpoint); without it
    /// the file is truncated.
    public init(path: String, keepThrough: Int? = nil) throws {
        self.path = path
        var kept = ""
        if let keep = keepThrough, let old = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in old.split(separator: "\n") {
                guard let d = line.data(using: .utf8),
                      let obj = try? JSONSerialization.jsonObject(with: d) as? [String: Any],
                      let it = (obj["iteration"] as? NSNumber)?.intValue, it <= keep else { continue }
                kept += line + "\n"
            }
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TrainError("\(path): cannot open for writing: \(errnoText())") }
        if !kept.isEmpty { try writeAll(kept) }
    }
    deinit { close(fd) }

    /// One line: the record, then `extra` fields (diagnostics) in their order.
    public func log(_ r: StepRecord, time: Double, itPerSec: Double, extra: [(String, Double)] = []) throws {
        let fields: [(String, String)] = [
            ("iteration", "\(r.iteration)"), ("timestamp", json(Date().timeIntervalSince1970)), ("time", json(time)),
        ] + r.terms.map { ($0.term.name, json(Double($0.value))) } + [
            ("lambda", json(r.lambda)), ("c", json(r.c)), ("lr", json(r.learningRate)), ("it_per_s", json(itPerSec)),
        ] + extra.map { ($0.0, json($0.1)) }
        try writeAll("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}\n")
    }

    /// One test-evaluation line: iteration, timestamp, time and `test_<name>` per field.
    public func logTest(iteration: Int, time: Double, fields: [(name: String, value: Double)]) throws {
        let all = [("iteration", "\(iteration)"), ("timestamp", json(Date().timeIntervalSince1970)), ("time", json(time))]
            + fields.map { ("test_" + $0.name, json($0.value)) }
        try writeAll("{" + all.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}\n")
    }

    func json(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }

    func writeAll(_ s: String) throws {
        let bytes = Array(s.utf8)
        var done = 0
        while done < bytes.count {
            let r = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if r < 0 { if errno == EINTR { continue }; throw TrainError("\(path): write failed: \(errnoText())") }
            done += r
        }
    }
}
