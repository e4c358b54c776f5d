/// The counter-based random numbers behind `random_uniform` / `random_normal`. Both backends
/// implement exactly this, so a program gives the same noise on either: element `i` of a node
/// with seed `s` and key `k` (its scalar operand, 0 when absent) is a pure function of (s, k, i).
public enum CounterRNG {
    /// A 32-bit integer finaliser with good avalanche ("lowbias32").
    @inlinable public static func mix(_ x0: UInt32) -> UInt32 {
        var x = x0
        x ^= x >> 16; x &*= 0x7feb352d
        x ^= x >> 15; x &*= 0x846ca68b
        x ^= x >> 16
        return x
    }
    /// The per-node stream base for a seed and key (computed once per execution of the node).
    @inlinable public static func base(seed: UInt64, key: UInt32) -> UInt32 {
        mix(UInt32(truncatingIfNeeded: seed) ^ mix(UInt32(truncatingIfNeeded: seed >> 32) &+ key &* 0x9e3779b9))
    }
    /// 32 random bits for counter `i` of a stream.
    @inlinable public static func bits(base: UInt32, _ i: UInt32) -> UInt32 {
        mix(mix(base ^ i) &+ i)
    }
    /// A uniform number in (0, 1): 24 random bits, centred in their interval.
    @inlinable public static func uniform(base: UInt32, _ i: UInt32) -> Double {
        (Double(bits(base: base, i) >> 8) + 0.5) * 0x1p-24
    }
    /// The key operand's value as the integer the stream uses.
    @inlinable public static func key(_ v: Double) -> UInt32 {
        v.isFinite && v >= 0 && v < 4294967296 ? UInt32(v) : 0
    }
}
/// Normal numbers: element i is Box–Muller on uniforms 2i and 2i+1:
/// sqrt(−2·log u₁)·cos(2π·u₂), evaluated in the graph's dtype.
