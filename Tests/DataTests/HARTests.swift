import Testing
import Foundation
@testable import Data

@Suite struct HARTests {
    /// Writes a small archive-layout HAR folder: `nTrain` and `nTest` lines of 561 features.
    func fixture(_ dir: String, nTrain: Int = 6, nTest: Int = 3) throws {
        for (split, n) in [("train", nTrain), ("test", nTest)] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(split)", withIntermediateDirectories: true)
            var x = "", y = ""
            for i in 0..<n {
                let values = (0..<561).map { j -> String in
                    let v = Double((i * 31 + j * 7) % 97) / 48.5 - 1  // in [−1, 1]
                    return String(format: "%.7e", v)
                }
                x += "  " + values.joined(separator: " ") + "\n"
                y += "\(i % 6 + 1)\n"
            }
            try x.write(toFile: "\(dir)/\(split)/X_\(split).txt", atomically: true, encoding: .utf8)
            try y.write(toFile: "\(dir)/\(split)/y_\(split).txt", atomically: true, encoding: .utf8)
        }
    }

    @Test func readsArchiveLayoutAndNormalisesWithTrainStatistics() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        try fixture(dir)
        let raw = try UCIHAR.loadRaw(split: .train, directory: dir)
        #expect(raw.count == 6 && raw.dim == 561 && raw.labels! == [0, 1, 2, 3, 4, 5])
        #expect(abs(raw.x[1] - Float(Double(7) / 48.5 - 1)) < 1e-6)
        let train = try UCIHAR.load(split: .train, directory: dir)
        for j in [0, 100, 560] {
            let col = (0..<train.count).map { Double(train.x[$0 * 561 + j]) }
            let mean = col.reduce(0, +) / 6
            let sd = (col.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 6).squareRoot()
            #expect(abs(mean) < 1e-5 && abs(sd - 1) < 1e-4)
        }
        let test = try UCIHAR.load(split: .test, directory: dir)
        let rawTest = try UCIHAR.loadRaw(split: .test, directory: dir)
        let stats = FeatureNormalization.fit(raw)
        #expect(abs(test.x[5] - (rawTest.x[5] - stats.mean[5]) / stats.sd[5]) < 1e-6)
        #expect(test.count == 3 && test.classNames?[5] == "LAYING")
    }

    @Test func nonNumericTextNamesFileLineAndColumn() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        try fixture(dir)
        let p = "\(dir)/train/X_train.txt"
        var lines = try String(contentsOfFile: p, encoding: .utf8).components(separatedBy: "\n")
        lines[2] = "  1.0 2.0 abc" + lines[2].dropFirst(2 + 3 * 14)
        try lines.joined(separator: "\n").write(toFile: p, atomically: true, encoding: .utf8)
        let e = try #require(dataError { try UCIHAR.load(split: .train, directory: dir) })
        #expect(e.file == p && e.line == 3 && e.column == 11)
        #expect(e.description.hasPrefix("\(p):3:11:") && e.description.contains("non-numeric text \"abc"))
    }

    @Test func truncatedLastLine() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        try fixture(dir)
        let p = "\(dir)/test/X_test.txt"
        let text = try String(contentsOfFile: p, encoding: .utf8)
        let cut = text.prefix(text.count - 2000)
        try String(cut[..<cut.lastIndex(of: " ")!]).write(toFile: p, atomically: true, encoding: .utf8)
        let e = try #require(dataError { try UCIHAR.load(split: .test, directory: dir) })
        #expect(e.file == p && e.line == 3 && e.description.contains("expected 561"))
    }

    @Test func labelCountMismatch() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        try fixture(dir)
        let p = "\(dir)/train/y_train.txt"
        try "1\n2\n3\n4\n5\n".write(toFile: p, atomically: true, encoding: .utf8)
        let e = try #require(dataError { try UCIHAR.load(split: .train, directory: dir) })
        #expect(e.file == p && e.line == 6 && e.description.contains("label count 5") && e.description.contains("X_train.txt"))
        // A label outside 1…6.
        try "1\n2\n3\n7\n5\n6\n".write(toFile: p, atomically: true, encoding: .utf8)
        let f = try #require(dataError { try UCIHAR.load(split: .train, directory: dir) })
        #expect(f.line == 4 && f.description.contains(p))
        // Non-numeric label.
        try "1\n2\nsix\n".write(toFile: p, atomically: true, encoding: .utf8)
        let g = try #require(dataError { try UCIHAR.load(split: .train, directory: dir) })
        #expect(g.line == 3 && g.column == 1)
    }

    @Test func missingFilesAndFolder() throws {
        let e = dataError { try UCIHAR.load(split: .train, directory: "/nonexistent/har") }
        #expect(e?.description.contains("/nonexistent/har") == true)
        let dir = makeTempDir(); defer { removeDir(dir) }
        let f = dataError { try UCIHAR.load(split: .test, directory: dir) }
        #expect(f?.description.contains("X_test.txt") == true)
    }

    @Test func flatLayoutAndGzip() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        try fixture(dir)
        let flat = dir + "/flat"
        try FileManager.default.createDirectory(atPath: flat, withIntermediateDirectories: true)
        for s in ["train", "test"] {
            try writeGzipFile("\(flat)/X_\(s).txt.gz", readFileBytes("\(dir)/\(s)/X_\(s).txt"))
            try FileManager.default.copyItem(atPath: "\(dir)/\(s)/y_\(s).txt", toPath: "\(flat)/y_\(s).txt")
        }
        let a = try UCIHAR.load(split: .test, directory: dir), b = try UCIHAR.load(split: .test, directory: flat)
        #expect(a.x == b.x && a.labels! == b.labels!)
    }
}
