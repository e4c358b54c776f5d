import SeededRandom

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
