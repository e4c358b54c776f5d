// Metrics of a learned representation, as pure functions on row-major matrices (Double
// arithmetic, Float storage). Each has a known answer on synthetic inputs (Tests/EvalTests).

/// A row-major matrix of `rows × columns` values (examples × latent dimensions, sources × latents…).
public struct Matrix: Equatable, Sendable {
    public var rows: Int
    public var columns: Int
    public var values: [Float]
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(rows >= 0 && columns >= 0 && values.count == rows * columns,
                     "Matrix: \(values.count) values do not make \(rows) × \(columns)")
        self.rows = rows; self.columns = columns; self.values = values
    }
    public init(rows: Int, columns: Int, repeating v: Float = 0) {
        self.init(rows: rows, columns: columns, values: [Float](repeating: v, count: rows * columns))
    }
    public subscript(r: Int, c: Int) -> Float {
        get { values[r * columns + c] }
        set { values[r * columns + c] = newValue }
    }
    public func row(_ r: Int) -> ArraySlice<Float> { values[r * columns..<(r + 1) * columns] }
    public func column(_ c: Int) -> [Float] { (0..<rows).map { self[$0, c] } }
    /// The matrix with its columns in the order `order` (order[k] = old column of new column k).
    public func permutingColumns(_ order: [Int]) -> Matrix {
        var m = Matrix(rows: rows, columns: order.count)
        for r in 0..<rows { for (k, c) in order.enumerated() { m[r, k] = self[r, c] } }
        return m
    }
    /// Rows as nested arrays (for JSON).
    public var nested: [[Float]] { (0..<rows).map { Array(row($0)) } }
}

// MARK: Active dimensions

/// Which latent dimensions a model uses, over a set of encodings.
public struct ActiveDimensions: Equatable, Sendable {
    /// Indices of the active dimensions (ascending).
    public var indices: [Int]
    /// Mean over examples of the number of dimensions active for that example.
    public var perExampleMean: Double
    /// Number of dimensions active for each example.
    public var perExample: [Int]
    /// Dimensions active for more than `alwaysOnFraction` of the examples (ascending): a sparse
    /// code's dimensions switch with what is in the image, so these are the ones that do not
    /// (issue 13's "stuck on", measured by activity rather than by γ = 1 exactly).
    public var alwaysOn: [Int]
    public var count: Int { indices.count }
    public static let alwaysOnFraction = 0.99
}

/// The ActiveDimensions of per-dimension on-counts over `n` examples.
private func activeDimensions(onCount: [Int], perExample: [Int], n: Int, active: (Int) -> Bool) -> ActiveDimensions {
    let J = onCount.count
    return ActiveDimensions(indices: (0..<J).filter { n > 0 && active($0) }, perExampleMean: mean(perExample.map(Double.init)),
                            perExample: perExample,
                            alwaysOn: (0..<J).filter { n > 0 && Double(onCount[$0]) > ActiveDimensions.alwaysOnFraction * Double(n) })
}

/// VSC: a dimension is active if its spike probability γ exceeds `threshold` (0.5) for at least
/// `fraction` (1 %) of the examples; per example, the dimensions with γ > threshold are counted.
/// `gamma` is examples × J.
public func activeDimensions(gamma: Matrix, threshold: Float = 0.5, fraction: Double = 0.01) -> ActiveDimensions {
    let n = gamma.rows, J = gamma.columns
    var onCount = [Int](repeating: 0, count: J)
    var perExample = [Int](repeating: 0, count: n)
    for i in 0..<n {
        for j in 0..<J where gamma[i, j] > threshold { onCount[j] += 1; perExample[i] += 1 }
    }
    let need = fraction * Double(n)
    return activeDimensions(onCount: onCount, perExample: perExample, n: n) { onCount[$0] > 0 && Double(onCount[$0]) >= need }
}

/// β-VAE: a dimension is active if its posterior variance exp(logvar) is below `threshold` (0.5)
/// on average over the examples; per example, the dimensions whose variance is below the
/// threshold for that example are counted. `logvar` is examples × J.
public func activeDimensions(logvar: Matrix, threshold: Double = 0.5) -> ActiveDimensions {
    let n = logvar.rows, J = logvar.columns
    var sum = [Double](repeating: 0, count: J)
    var perExample = [Int](repeating: 0, count: n), onCount = [Int](repeating: 0, count: J)
    for i in 0..<n {
        for j in 0..<J {
            let v = exp(Double(logvar[i, j]))
            sum[j] += v
            if v < threshold { perExample[i] += 1; onCount[j] += 1 }
        }
    }
    return activeDimensions(onCount: onCount, perExample: perExample, n: n) { sum[$0] / Double(n) < threshold }
}

/// The latent posterior means the correlation analysis uses: γ ⊙ μ for VSC, μ for a β-VAE.
public func posteriorMeans(mu: Matrix, gamma: Matrix?) -> Matrix {
    guard let gamma else { return mu }
    precondition(gamma.rows == mu.rows && gamma.columns == mu.columns)
    return Matrix(rows: mu.rows, columns: mu.columns, values: zip(mu.values, gamma.values).map { $0 * $1 })
}

// MARK: Correlation

/// Pearson correlation of two equally long series in Double; 0 when either is constant (or the
/// series has fewer than two values), never NaN.
public func pearson(_ a: [Double], _ b: [Double]) -> Double {
    let n = min(a.count, b.count)
    guard n >= 2 else { return 0 }
    let ma = a.prefix(n).reduce(0, +) / Double(n), mb = b.prefix(n).reduce(0, +) / Double(n)
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for i in 0..<n {
        let da = a[i] - ma, db = b[i] - mb
        sab += da * db; saa += da * da; sbb += db * db
    }
    // Relative tolerance: a column of one repeated Float value can leave rounding residue.
    let tiny = 1e-12
    guard saa > tiny * max(1, ma * ma) * Double(n), sbb > tiny * max(1, mb * mb) * Double(n) else { return 0 }
    let r = sab / (saa * sbb).squareRoot()
    return r.isFinite ? min(1, max(-1, r)) : 0
}

/// |correlation| between each source (rows) and each latent (columns).
///
/// - Parameters:
///   - sources: examples × S ground-truth source values.
///   - latents: examples × J latent values (posterior means).
///   - present: optional mask, examples × S: source s is correlated only over the examples where
///     `present[i, s]` holds (Smiley: its attribute is present). Nil: all examples.
/// - Returns: S × J, every entry in [0, 1]; a source or latent that is constant over its examples
///   gives 0.
public func absoluteCorrelation(sources: Matrix, latents: Matrix, present: [[Bool]]? = nil) -> Matrix {
    precondition(sources.rows == latents.rows, "sources and latents need the same examples")
    let n = sources.rows, S = sources.columns, J = latents.columns
    if let present { precondition(present.count == n && present.allSatisfy { $0.count == S }, "presence mask shape") }
    var out = Matrix(rows: S, columns: J)
    let latentColumns = (0..<J).map { j in (0..<n).map { Double(latents[$0, j]) } }
    for s in 0..<S {
        let rows = present.map { p in (0..<n).filter { p[$0][s] } } ?? Array(0..<n)
        let src = rows.map { Double(sources[$0, s]) }
        for j in 0..<J {
            let lat = rows.map { latentColumns[j][$0] }
            out[s, j] = Float(abs(pearson(src, lat)))
        }
    }
    return out
}

/// Expands per-attribute presence flags (examples × A) into a per-source mask (examples × S) with
/// `attributeOfSource[s]` the attribute of source s.
public func sourcePresence(flags: [Bool], attributes: Int, attributeOfSource: [Int]) -> [[Bool]] {
    precondition(attributes > 0 && flags.count % attributes == 0)
    return (0..<flags.count / attributes).map { i in attributeOfSource.map { flags[i * attributes + $0] } }
}

// MARK: Grouping and scores

/// The column order of fig. 3: each latent is grouped with the source it correlates with most;
/// groups follow the sources' order; within a group, latents by decreasing |corr|; latents whose
/// column is all (near) zero — collapsed dimensions — go last, in index order.
/// Returns `order` with order[k] = the latent shown in column k.
public func groupingPermutation(_ corr: Matrix, zero: Float = 1e-6) -> [Int] {
    var keyed: [(source: Int, value: Float, latent: Int)] = []
    var dead: [Int] = []
    for j in 0..<corr.columns {
        var best = -1, bv: Float = -1
        for s in 0..<corr.rows where corr[s, j] > bv { bv = corr[s, j]; best = s }
        if best < 0 || bv <= zero { dead.append(j) } else { keyed.append((best, bv, j)) }
    }
    keyed.sort { ($0.source, -$0.value, $0.latent) < ($1.source, -$1.value, $1.latent) }
    return keyed.map(\.latent) + dead
}

/// Per-source best and second-best |corr| over the latents, and their means.
public struct DisentanglementScore: Equatable, Sendable {
    /// For each source: the latent with the highest |corr|, that value, and the second highest.
    public var bestLatent: [Int]
    public var best: [Float]
    public var secondBest: [Float]
    /// Mean over sources of the best |corr|.
    public var meanBest: Double
    /// Mean over sources of best − second best (a correlation analogue of MIG): 1 when every
    /// source has its own perfectly correlated latent and no other latent tracks it.
    public var meanGap: Double
}

/// Scores an S × J |corr| matrix. With a single latent the second best is 0.
public func disentanglementScore(_ corr: Matrix) -> DisentanglementScore {
    var bestLatent: [Int] = [], best: [Float] = [], second: [Float] = []
    for s in 0..<corr.rows {
        var b: Float = 0, b2: Float = 0, bi = 0
        for j in 0..<corr.columns {
            let v = corr[s, j]
            if v > b { b2 = b; b = v; bi = j } else if v > b2 { b2 = v }
        }
        bestLatent.append(bi); best.append(b); second.append(b2)
    }
    return DisentanglementScore(bestLatent: bestLatent, best: best, secondBest: second,
                                meanBest: mean(best.map(Double.init)),
                                meanGap: mean(zip(best, second).map { Double($0 - $1) }))
}

// MARK: Per-class means

/// The mean of each column of `values` (examples × J) over the examples of each class:
/// classes × J, a class without examples giving a row of zeros.
public func classMeans(_ values: Matrix, labels: [Int], classes: Int) -> Matrix {
    precondition(labels.count == values.rows)
    var out = Matrix(rows: classes, columns: values.columns)
    var n = [Int](repeating: 0, count: classes)
    var acc = [Double](repeating: 0, count: classes * values.columns)
    for (i, l) in labels.enumerated() where l >= 0 && l < classes {
        n[l] += 1
        for j in 0..<values.columns { acc[l * values.columns + j] += Double(values[i, j]) }
    }
    for c in 0..<classes where n[c] > 0 {
        for j in 0..<values.columns { out[c, j] = Float(acc[c * values.columns + j] / Double(n[c])) }
    }
    return out
}

func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
