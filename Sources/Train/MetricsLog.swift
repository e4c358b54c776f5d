// Reading back `metrics.jsonl` (written by MetricsWriter), for plotting a run's curves.

import Foundation

/// The lines of a run's metrics.jsonl as columns.
public struct MetricsLog: Equatable {
    /// Every field name, in the order the lines give them (new names of later lines appended).
    public var fields: [String] = []
    /// The loss terms: the fields MetricsWriter writes between "time" and "lambda".
    public var lossTerms: [String] = []
    /// One per line.
    public var iterations: [Int] = []
    /// Per field, one value per line (nil: absent or null).
    public var values: [String: [Double?]] = [:]

    public init() {}

    /// Parses the text of a metrics.jsonl file; `path` names it in errors.
    public init(text: String, path: String) throws {
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw TrainError("\(path):\(n + 1): not a JSON object")
            }
            guard let it = (obj["iteration"] as? NSNumber)?.intValue else { throw TrainError("\(path):\(n + 1): no \"iteration\"") }
            // JSON objects are unordered for the parser; the key order is read from the text.
            let keys = Self.keysInOrder(String(line))
            if n == 0, let t = keys.firstIndex(of: "time"), let l = keys.firstIndex(of: "lambda"), t < l {
                lossTerms = Array(keys[(t + 1)..<l])
            }
            for k in keys where k != "iteration" && values[k] == nil {
                fields.append(k)
                values[k] = [Double?](repeating: nil, count: iterations.count)
            }
            iterations.append(it)
            for k in fields { values[k]!.append((obj[k] as? NSNumber)?.doubleValue) }
        }
    }

    /// The iterations of the lines that log a training step (they carry the loss terms; the test
    /// evaluations' lines carry only `test_*` fields).
    public var trainingIterations: [Int] {
        guard let first = lossTerms.first, let column = values[first] else { return iterations }
        return zip(iterations, column).compactMap { $1 == nil ? nil : $0 }
    }

    /// Reads `path`.
    public static func read(path: String) throws -> MetricsLog {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TrainError("\(path): cannot read the run's metrics (is this a run folder written by 'vsc train'?)")
        }
        let log = try MetricsLog(text: text, path: path)
        guard !log.iterations.isEmpty else { throw TrainError("\(path): no logged iterations yet") }
        return log
    }

    /// The keys of a flat JSON object line, in order (MetricsWriter's keys need no unescaping).
    static func keysInOrder(_ line: String) -> [String] {
        var keys: [String] = []
        var rest = Substring(line)
        while let open = rest.firstIndex(of: "\"") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "\"") else { break }
            let key = String(after[..<close])
            rest = after[after.index(after: close)...]
            if rest.drop(while: { $0 == " " }).first == ":" { keys.append(key) }
        }
        return keys
    }
}
