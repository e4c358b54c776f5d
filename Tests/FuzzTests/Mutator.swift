import SeededRandom
import Foundation
import Models

/// Seeded mutations of one input, in the style of a grammar-blind fuzzer: byte flips, inserts,
/// deletions, duplicated spans, truncation, and — the ones that found most crashes — numbers
/// replaced by extreme values (0, −1, 2³¹, 2⁶³ − 1, 1e309, nan, …). One to three per mutant.
struct Mutator {
    var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    static let extremes = ["0", "-1", "1", "-0", "255", "65536", "2147483647", "2147483648", "4294967296",
                           "9223372036854775807", "-9223372036854775808", "18446744073709551615",
                           "1e9", "1e30", "1e309", "-1e309", "nan", "inf", "0.5", "1000000"]

    mutating func int(_ n: Int) -> Int { n <= 1 ? 0 : Int(rng.next() % UInt64(n)) }

    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var b = input
        for _ in 0...int(2) { b = once(b) }
        return b
    }

    mutating func once(_ b: [UInt8]) -> [UInt8] {
        var b = b
        if b.isEmpty { return [UInt8(truncatingIfNeeded: rng.next())] }
        switch int(8) {
        case 0:  // flip a bit
            let i = int(b.count); b[i] ^= 1 << UInt8(int(8))
        case 1:  // random byte
            b[int(b.count)] = UInt8(truncatingIfNeeded: rng.next())
        case 2:  // insert bytes
            let i = int(b.count + 1)
            b.insert(contentsOf: (0...int(4)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: i)
        case 3:  // delete a span
            let i = int(b.count), n = min(b.count - i, 1 + int(16)); b.removeSubrange(i..<i + n)
        case 4:  // duplicate a span
            let i = int(b.count), n = min(b.count - i, 1 + int(64)); b.insert(contentsOf: b[i..<i + n], at: i)
        case 5:  // truncate
            b = Array(b.prefix(int(b.count)))
        default:  // replace a decimal number (text) or a 4/8-byte field (binary) by an extreme value
            b = replaceNumber(b)
        }
        return b
    }

    mutating func replaceNumber(_ b: [UInt8]) -> [UInt8] {
        let digits = b.indices.filter { (48...57).contains(b[$0]) && ($0 == 0 || !(48...57).contains(b[$0 - 1])) }
        let binary = b.contains(0)
        if binary || digits.isEmpty {
            var b = b
            let width = int(2) == 0 ? 4 : 8
            guard b.count >= width else { return b }
            let at = int(b.count - width + 1)
            let values: [UInt64] = [0, 1, 0xFFFF_FFFF, 0x8000_0000, 0x7FFF_FFFF_FFFF_FFFF, UInt64.max, 0x7F80_0000, 0x7FC0_0000]
            let v = values[int(values.count)]
            for k in 0..<width { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            return b
        }
        let start = digits[int(digits.count)]
        var end = start
        while end < b.count, (48...57).contains(b[end]) || b[end] == UInt8(ascii: ".") { end += 1 }
        var out = b
        out.replaceSubrange(start..<end, with: Array(Mutator.extremes[int(Mutator.extremes.count)].utf8))
        return out
    }
}

/// How many mutants per format (`VSC_FUZZ_COUNT`, default 200: seconds in CI) and the base seed
/// (`VSC_FUZZ_SEED`, default 1).
enum FuzzSettings {
    static var count: Int { ProcessInfo.processInfo.environment["VSC_FUZZ_COUNT"].flatMap(Int.init) ?? 200 }
    static var seed: UInt64 { ProcessInfo.processInfo.environment["VSC_FUZZ_SEED"].flatMap(UInt64.init) ?? 1 }
    /// The folder of regression inputs for `format` (files that once crashed or hung a reader).
    static func regressions(_ format: String) -> [(name: String, bytes: [UInt8])] {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        let dir = url.appendingPathComponent("Regressions/\(format)").path
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return names.compactMap { n in FileManager.default.contents(atPath: dir + "/" + n).map { (n, [UInt8]($0)) } }
    }
}
