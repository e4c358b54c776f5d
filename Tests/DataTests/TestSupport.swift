import Foundation
@testable import Data

/// A fresh temporary folder for one test (tests run in parallel).
func makeTempDir(_ tag: String = #function) -> String {
    let safe = tag.filter { $0.isLetter || $0.isNumber }
    let dir = NSTemporaryDirectory() + "vsc-data-\(safe)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func removeDir(_ dir: String) { try? FileManager.default.removeItem(atPath: dir) }

/// The error a throwing expression raised, as `DataError` (nil if it did not throw one).
func dataError<T>(_ body: () throws -> T) -> DataError? {
    do { _ = try body(); return nil } catch let e as DataError { return e } catch { return nil }
}

extension Array where Element == UInt8 {
    mutating func appendBE(_ v: UInt32) { for k in (0..<4).reversed() { append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) } }
}

/// IDX bytes for `n` images of h×w (pixel value = (i*7 + k) % 256) or for labels.
func idxImages(n: Int, h: Int, w: Int) -> [UInt8] {
    var b: [UInt8] = [0, 0, 8, 3]
    b.appendBE(UInt32(n)); b.appendBE(UInt32(h)); b.appendBE(UInt32(w))
    for i in 0..<n { for k in 0..<(h * w) { b.append(UInt8((i * 7 + k) % 256)) } }
    return b
}

func idxLabels(_ labels: [UInt8]) -> [UInt8] {
    var b: [UInt8] = [0, 0, 8, 1]
    b.appendBE(UInt32(labels.count))
    b += labels
    return b
}
