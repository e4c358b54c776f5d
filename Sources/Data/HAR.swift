// UCI "Human Activity Recognition Using Smartphones" (Anguita et al. 2013) reader.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The UCI HAR data set: 561 features per window of smartphone accelerometer and gyroscope
/// signals, 6 activities; 7,352 training and 2,947 test examples in the UCI archive.
///
/// The archive lays the files out as `UCI HAR Dataset/train/X_train.txt`, `train/y_train.txt`,
/// `test/X_test.txt`, `test/y_test.txt`: one example per line, features separated by spaces,
/// labels 1…6 one per line. `load` accepts the archive's top folder (with `train/` and `test/`)
/// or a folder holding the four files directly. Files may also be gzipped (`X_train.txt.gz`).
///
/// **Normalisation.** The paper models HAR with a Gaussian likelihood, whose per-feature mean and
/// variance the decoder learns; features on wildly different scales make that fit slow and
/// ill-conditioned. `load(split:directory:normalize:)` therefore standardises every feature with
/// the *training* split's statistics: `x' = (x − mean_train) / sd_train` (population sd; a
/// constant feature is only centred). The test split uses the training statistics too, so no test
/// information leaks into the transform. Pass `normalize: false` for the raw values (the archive's
/// features are already scaled to [−1, 1]), or use `FeatureNormalization` directly.
public enum UCIHAR {
    /// Features per example.
    public static let featureCount = 561

    /// Activity names indexed by label (the file's label minus one).
    public static let classNames = ["WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS",
                                    "SITTING", "STANDING", "LAYING"]

    /// The feature and label files of a split in `directory` (archive layout or flat).
    public static func files(split: DataSplit, directory: String) -> (x: String, y: String) {
        let s = split.rawValue
        func pick(_ base: String) -> String {
            for cand in ["\(directory)/\(s)/\(base)", "\(directory)/\(base)",
                         "\(directory)/\(s)/\(base).gz", "\(directory)/\(base).gz"] where fileExists(cand) {
                return cand
            }
            return "\(directory)/\(s)/\(base)"
        }
        return (pick("X_\(s).txt"), pick("y_\(s).txt"))
    }

    /// Loads a split with labels 0…5 (file labels minus one), standardised with the training
    /// statistics unless `normalize` is false (see the type's documentation).
    /// - Throws: `DataError` naming the file and line for missing files, non-numeric text, a wrong
    ///   number of features on a line, labels outside 1…6, or line counts that disagree.
    public static func load(split: DataSplit, directory: String, normalize: Bool = true) throws -> Dataset {
        guard isDirectory(directory) else {
            throw DataError(file: directory, "no such folder; it should hold the UCI HAR files (train/X_train.txt, train/y_train.txt, test/X_test.txt, test/y_test.txt). The archive is at https://archive.ics.uci.edu/dataset/240")
        }
        var data = try loadRaw(split: split, directory: directory)
        if normalize {
            let stats = split == .train ? FeatureNormalization.fit(data)
                                        : FeatureNormalization.fit(try loadRaw(split: .train, directory: directory))
            stats.apply(to: &data)
        }
        return data
    }

    /// Loads a split without normalisation.
    public static func loadRaw(split: DataSplit, directory: String) throws -> Dataset {
        let f = files(split: split, directory: directory)
        return try read(features: f.x, labels: f.y, name: "uci-har/\(split.rawValue)")
    }

    /// Reads one features file and its labels file (raw values, labels 0…5).
    public static func read(features: String, labels: String, name: String = "uci-har",
                            featureCount: Int = UCIHAR.featureCount, classCount: Int = 6) throws -> Dataset {
        let x = try readNumberTable(path: features, columns: featureCount)
        let yTable = try readNumberTable(path: labels, columns: 1)
        let n = x.count / featureCount
        var y = [Int](repeating: 0, count: yTable.count)
        for (i, v) in yTable.enumerated() {
            guard v == v.rounded(), v >= 1, v <= Double(classCount) else {
                throw DataError(file: labels, line: i + 1, "label \(v) is not an integer in 1…\(classCount)")
            }
            y[i] = Int(v) - 1
        }
        guard y.count == n else {
            throw DataError(file: labels, line: min(y.count, n) + 1,
                            "label count \(y.count) disagrees with the \(n) examples in \(features)")
        }
        return Dataset(name: name, count: n, dim: featureCount, x: x.map(Float.init), labels: y,
                       classNames: classCount == 6 ? classNames : nil)
    }
}

/// Reads a text file of whitespace-separated numbers, `columns` per non-empty line, row after row.
/// Blank lines (and a missing final newline) are allowed; a line with another count, a token that
/// is not a finite number, or a NUL byte is an error naming the file, the line and the column.
public func readNumberTable(path: String, columns: Int) throws -> [Double] {
    var bytes = try readFileBytes(path)
    bytes.append(0)  // strtod needs a terminator; no token can run past it
    var out: [Double] = []
    out.reserveCapacity(bytes.count / 8)
    try bytes.withUnsafeBufferPointer { buf in
        let base = buf.baseAddress!
        let n = buf.count - 1
        var pos = 0, line = 1
        while pos < n {
            // One line: [pos, end)
            var end = pos
            while end < n && base[end] != 0x0A { end += 1 }
            var k = pos, found = 0
            while true {
                while k < end && (base[k] == 0x20 || base[k] == 0x09 || base[k] == 0x0D) { k += 1 }
                if k >= end { break }
                var t = k
                while t < end && base[t] != 0x20 && base[t] != 0x09 && base[t] != 0x0D { t += 1 }
                let token = String(decoding: UnsafeBufferPointer(start: base + k, count: min(t - k, 40)), as: UTF8.self)
                if base[k] == 0 || memchr(base + k, 0, t - k) != nil {
                    throw DataError(file: path, line: line, column: k - pos + 1, "NUL byte in text (binary file?)")
                }
                var stop: UnsafeMutablePointer<CChar>? = nil
                let v = UnsafeRawPointer(base + k).withMemoryRebound(to: CChar.self, capacity: t - k + 1) { p in
                    strtod(p, &stop)
                }
                let consumed = stop.map { UnsafeRawPointer($0) - UnsafeRawPointer(base + k) } ?? 0
                if consumed != t - k || !v.isFinite {
                    throw DataError(file: path, line: line, column: k - pos + 1,
                                    "non-numeric text \"\(token)\" (line \(line), byte offset \(k))")
                }
                found += 1
                if found > columns {
                    throw DataError(file: path, line: line, column: k - pos + 1,
                                    "more than \(columns) values on line \(line)")
                }
                out.append(v)
                k = t
            }
            if found != 0 && found != columns {
                throw DataError(file: path, line: line, "line \(line) has \(found) values, expected \(columns)")
            }
            pos = end + 1
            line += 1
        }
    }
    return out
}
