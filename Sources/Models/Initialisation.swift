/// A small seeded generator (SplitMix64) for parameter initialisation: reproducible across
/// platforms and independent of Swift's `SystemRandomNumberGenerator`.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }
    /// Standard normal (Box–Muller).
    public mutating func normal() -> Double {
        let u1 = max(uniform(), 0x1p-60), u2 = uniform()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * .pi * u2)
    }
}

import Foundation

/// How a parameter starts.
public enum Initialiser: Equatable, Sendable {
    /// Glorot/Xavier uniform, U(−√(6/(fanIn+fanOut)), +…): layers followed by no activation.
    case xavierUniform(fanIn: Int, fanOut: Int)
    /// He/Kaiming uniform, U(−√(6/fanIn), +…): layers followed by a ReLU.
    case heUniform(fanIn: Int)
    case constant(Double)
    case uniform(low: Double, high: Double)

    /// `count` seeded values. The stream depends on the run's seed and the parameter's name only,
    /// so adding a parameter does not change the others' initial values.
    public func values(count: Int, seed: UInt64, name: String) -> [Float] {
        var rng = SplitMix64(seed: seed ^ fnv1a(name))
        switch self {
        case .constant(let v): return Array(repeating: Float(v), count: count)
        case .xavierUniform(let i, let o):
            let r = (6.0 / Double(i + o)).squareRoot()
            return (0..<count).map { _ in Float(-r + 2 * r * rng.uniform()) }
        case .heUniform(let i):
            let r = (6.0 / Double(i)).squareRoot()
            return (0..<count).map { _ in Float(-r + 2 * r * rng.uniform()) }
        case .uniform(let lo, let hi):
            return (0..<count).map { _ in Float(lo + (hi - lo) * rng.uniform()) }
        }
    }
}

func fnv1a(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}
