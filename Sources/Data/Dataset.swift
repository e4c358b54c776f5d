import SeededRandom

/// A data set in memory: `count` examples of `dim` Float32 features each, row-major, plus what
/// ground truth the source provides.
///
/// - Smiley sets carry `sources` (count × 18 values, see `SmileyAttribute` for their order) and
///   `presence` (count × 4 flags) and have `imageShape` 32×32.
/// - Fashion-MNIST carries `labels` (0…9) and `imageShape` 28×28, pixels scaled to [0, 1].
/// - UCI HAR carries `labels` (0…5, i.e. the file's 1…6 minus one), no image shape.
public struct Dataset {
    /// Number of examples.
    public var count: Int
    /// Features per example.
    public var dim: Int
    /// `count * dim` features, example after example.
    public var x: [Float]
    /// One class label per example, if the source has classes (0-based).
    public var labels: [Int]?
    /// `count * SmileyAttribute.sourceCount` ground-truth source values (Smiley only).
    public var sources: [Float]?
    /// `count * SmileyAttribute.allCases.count` attribute presence flags (Smiley only).
    public var presence: [Bool]?
    /// Height and width when each example is an image stored row-major (`h * w == dim`).
    public var imageShape: (h: Int, w: Int)?
    /// A short name for messages and file headers ("smiley", "fashion-mnist/train", …).
    public var name: String
    /// Human-readable class names indexed by label, if known.
    public var classNames: [String]?

    /// A data set; `x.count` must be `count * dim` (and the optional arrays must match `count`).
    public init(name: String, count: Int, dim: Int, x: [Float], labels: [Int]? = nil,
                sources: [Float]? = nil, presence: [Bool]? = nil,
                imageShape: (h: Int, w: Int)? = nil, classNames: [String]? = nil) {
        precondition(count >= 0 && dim >= 0 && x.count == count * dim,
                     "Dataset \(name): x has \(x.count) values, expected \(count) × \(dim)")
        precondition(labels == nil || labels!.count == count, "Dataset \(name): labels count mismatch")
        if let s = imageShape { precondition(s.h * s.w == dim, "Dataset \(name): image shape \(s) ≠ dim \(dim)") }
        self.name = name
        self.count = count
        self.dim = dim
        self.x = x
        self.labels = labels
        self.sources = sources
        self.presence = presence
        self.imageShape = imageShape
        self.classNames = classNames
    }

    /// Source values per example (`sources.count / count`), or 0 when there are none.
    public var sourcesPerExample: Int { count > 0 ? (sources?.count ?? 0) / count : 0 }
    /// Presence flags per example, or 0 when there are none.
    public var presencePerExample: Int { count > 0 ? (presence?.count ?? 0) / count : 0 }

    /// The features of example `i`.
    public func example(_ i: Int) -> ArraySlice<Float> { x[i * dim..<(i + 1) * dim] }

    /// The source values of example `i` (empty if the set has none).
    public func sources(of i: Int) -> ArraySlice<Float> {
        let k = sourcesPerExample
        guard let s = sources, k > 0 else { return [] }
        return s[i * k..<(i + 1) * k]
    }

    /// The presence flags of example `i` (empty if the set has none).
    public func presence(of i: Int) -> ArraySlice<Bool> {
        let k = presencePerExample
        guard let p = presence, k > 0 else { return [] }
        return p[i * k..<(i + 1) * k]
    }

    /// The features of the given examples, gathered row-major (`indices.count * dim` values).
    public func batch(indices: [Int]) -> [Float] {
        var out = [Float](repeating: 0, count: indices.count * dim)
        batch(indices: indices, into: &out)
        return out
    }

    /// Gathers the given examples into `buffer` (which must hold `indices.count * dim` values),
    /// avoiding an allocation per batch in a training loop.
    public func batch(indices: [Int], into buffer: inout [Float]) {
        precondition(buffer.count >= indices.count * dim, "batch buffer too small")
        let d = dim
        x.withUnsafeBufferPointer { src in
            buffer.withUnsafeMutableBufferPointer { dst in
                for (r, i) in indices.enumerated() {
                    precondition(i >= 0 && i < count, "example index \(i) out of range 0..<\(count)")
                    dst.baseAddress!.advanced(by: r * d).update(from: src.baseAddress!.advanced(by: i * d), count: d)
                }
            }
        }
    }

    /// A new data set made of the given examples (in that order), with all their ground truth.
    public func subset(indices: [Int], name: String? = nil) -> Dataset {
        let ks = sourcesPerExample, kp = presencePerExample
        var s: [Float]? = nil, p: [Bool]? = nil
        if let src = sources, ks > 0 {
            s = []; s!.reserveCapacity(indices.count * ks)
            for i in indices { s!.append(contentsOf: src[i * ks..<(i + 1) * ks]) }
        } else if sources != nil { s = [] }
        if let pr = presence, kp > 0 {
            p = []; p!.reserveCapacity(indices.count * kp)
            for i in indices { p!.append(contentsOf: pr[i * kp..<(i + 1) * kp]) }
        } else if presence != nil { p = [] }
        return Dataset(name: name ?? self.name, count: indices.count, dim: dim, x: batch(indices: indices),
                       labels: labels.map { l in indices.map { l[$0] } }, sources: s, presence: p,
                       imageShape: imageShape, classNames: classNames)
    }

    /// The first `n` examples (or all, if there are fewer).
    public func prefix(_ n: Int) -> Dataset { subset(indices: Array(0..<min(n, count))) }

    /// Splits into the first `n` examples and the rest (e.g. training and validation).
    public func split(at n: Int) -> (first: Dataset, rest: Dataset) {
        let k = max(0, min(n, count))
        return (subset(indices: Array(0..<k)), subset(indices: Array(k..<count)))
    }

    /// The same examples in a seeded random order.
    public func shuffled(seed: UInt64) -> Dataset {
        subset(indices: Dataset.shuffledIndices(count: count, seed: seed))
    }

    /// `0..<count` in a seeded random order (Fisher–Yates over `Xoshiro256`; platform-independent).
    public static func shuffledIndices(count: Int, seed: UInt64) -> [Int] {
        var idx = Array(0..<count)
        var rng = Xoshiro256(seed: seed, stream: 0x5348_5546)  // "SHUF"
        rng.shuffle(&idx)
        return idx
    }

    /// Examples per label (index = label), or nil for an unlabelled set.
    public func labelCounts() -> [Int]? {
        guard let labels else { return nil }
        var counts = [Int](repeating: 0, count: (labels.max() ?? -1) + 1)
        for l in labels where l >= 0 { counts[l] += 1 }
        return counts
    }
}

/// Per-feature standardisation: `x' = (x − mean) / sd`, with statistics fitted on one set (the
/// training split) and applied unchanged to others (the test split), so test data never leak into
/// the transform. Features whose sd is below `minSD` (constant features) are only centred.
public struct FeatureNormalization {
    /// Per-feature mean of the fitted set.
    public var mean: [Float]
    /// Per-feature standard deviation used as divisor (population sd, floored at `minSD`… or 1 for
    /// constant features).
    public var sd: [Float]

    /// Explicit statistics.
    public init(mean: [Float], sd: [Float]) {
        precondition(mean.count == sd.count)
        self.mean = mean
        self.sd = sd
    }

    /// Fits mean and (population) standard deviation of each feature of `data`, in double precision.
    public static func fit(_ data: Dataset, minSD: Double = 1e-8) -> FeatureNormalization {
        let d = data.dim, n = data.count
        var sum = [Double](repeating: 0, count: d), sq = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for j in 0..<d { sum[j] += Double(data.x[i * d + j]) }
        }
        let mean = sum.map { n > 0 ? $0 / Double(n) : 0 }
        for i in 0..<n {
            for j in 0..<d { let c = Double(data.x[i * d + j]) - mean[j]; sq[j] += c * c }
        }
        let sd = sq.map { v -> Double in
            let s = n > 0 ? (v / Double(n)).squareRoot() : 1
            return s < minSD ? 1 : s
        }
        return FeatureNormalization(mean: mean.map(Float.init), sd: sd.map(Float.init))
    }

    /// Standardises `data.x` in place.
    public func apply(to data: inout Dataset) {
        precondition(data.dim == mean.count, "normalisation fitted on \(mean.count) features, data have \(data.dim)")
        let d = data.dim
        for i in 0..<data.count {
            for j in 0..<d { data.x[i * d + j] = (data.x[i * d + j] - mean[j]) / sd[j] }
        }
    }

    /// Maps standardised values back to the original units, in place (`rows × mean.count` values).
    public func invert(_ x: inout [Float]) {
        let d = mean.count
        for i in 0..<x.count / d {
            for j in 0..<d { x[i * d + j] = x[i * d + j] * sd[j] + mean[j] }
        }
    }
}

/// Which part of a data set that ships with a train/test split.
public enum DataSplit: String, CaseIterable, Sendable {
    case train, test
}
