// The project's seeded random number generators and string hash, defined once for every module
// (data generation, parameter initialisation, data order, gradient checks, evaluation samples):
// deterministic on every platform and Swift version (Swift's own `SystemRandomNumberGenerator`
// and `shuffle` make no such promise). The IR's counter-based noise (`CounterRNG`) is separate:
// both backends compute it per element.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SplitMix64 (Steele, Lea & Flood 2014): a 64-bit generator used here to expand a seed into the
/// state of `Xoshiro256` and to mix seeds with stream numbers.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's whole state.
    public var state: UInt64

    /// A generator starting from `state`.
    public init(state: UInt64) { self.state = state }
    /// The same: a generator whose first state is `seed` (no mixing).
    public init(seed: UInt64) { self.state = seed }

    /// The SplitMix64 finaliser: a bijective 64-bit mix.
    @inlinable public static func mix(_ z0: UInt64) -> UInt64 {
        var z = z0
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next 64 random bits.
    @inlinable public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    @inlinable public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A standard normal draw (Box–Muller, one value per pair of uniforms).
    @inlinable public mutating func normal() -> Double {
        let u1 = max(uniform(), 0x1p-60), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

/// xoshiro256** (Blackman & Vigna 2018), seeded through SplitMix64, with uniform and normal
/// draws. `Xoshiro256(seed:stream:)` gives independent-looking streams for the same seed, so
/// example *i* of a data set can be generated from `(seed, i)` alone.
public struct Xoshiro256: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    @usableFromInline var spareNormal: Double? = nil

    /// A generator whose state is expanded from `seed` (and the optional `stream` number).
    public init(seed: UInt64, stream: UInt64 = 0) {
        var sm = SplitMix64(state: SplitMix64.mix(SplitMix64.mix(seed) ^ stream))
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    /// A generator with exactly this state (not all zero), e.g. one restored from a checkpoint.
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        (s0, s1, s2, s3) = state
    }

    /// The four state words (the spare normal draw, if any, is not part of it).
    public var state: (UInt64, UInt64, UInt64, UInt64) { (s0, s1, s2, s3) }

    /// The next 64 random bits.
    @inlinable public mutating func next() -> UInt64 {
        let m = s1 &* 5
        let result = ((m << 7) | (m >> 57)) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform double in [0, 1) with 53 random bits.
    @inlinable public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform integer in `0..<n` (n > 0), by Lemire's unbiased multiply-and-reject method.
    @inlinable public mutating func nextInt(below n: Int) -> Int {
        precondition(n > 0, "nextInt(below:) needs n > 0")
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// A standard normal draw (Box–Muller; the second value of each pair is kept for the next call).
    @inlinable public mutating func nextNormal() -> Double {
        if let z = spareNormal { spareNormal = nil; return z }
        var u1 = 0.0
        repeat { u1 = nextUniform() } while u1 == 0
        let u2 = nextUniform()
        let r = (-2 * log(u1)).squareRoot()
        let theta = 2 * Double.pi * u2
        spareNormal = r * sin(theta)
        return r * cos(theta)
    }

    /// A normal draw with the given mean and standard deviation.
    @inlinable public mutating func nextNormal(mean: Double, sd: Double) -> Double {
        mean + sd * nextNormal()
    }

    /// A deterministic Fisher–Yates shuffle of `array` (the same on every platform).
    public mutating func shuffle<T>(_ array: inout [T]) {
        var i = array.count
        while i > 1 {
            let j = nextInt(below: i)
            i -= 1
            array.swapAt(i, j)
        }
    }
}

/// The 64-bit FNV-1a hash of a string's UTF-8 bytes: stable across runs and platforms (Swift's
/// `Hasher` is seeded per process), for deriving per-name streams and cache keys.
@inlinable public func fnv1a(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}
