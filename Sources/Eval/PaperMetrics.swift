// The three metrics of VSC-AUDIT.md §2 (F4), beside the project's masked posterior-mean metric in
// Metrics.swift, as pure functions on row-major matrices:
//   (A) the authors' fig. 3 metric: |corr(|S·V|, |z|)| over all examples, z one spike-and-slab sample;
//   (B) the masked continuous metric on the code the decoder sees, active dims only;
//   (C) presence recovery: how well some latent's spike (VSC) or |μ| (β-VAE) tells whether each
//       attribute is there, with the sign of that latent, and corr(#present, #active).
// The masked posterior-mean metric ignores presence (VSC's distinctive capability) and leaks
// through switched-off dims, because Pearson correlation is blind to the tiny scale of γ ⊙ μ there;
// these three separate presence detection (A, C) from continuous disentanglement (B).

import SeededRandom
import Data

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: The spike-and-slab sample (for A)

/// The logistic sigmoid in Double, without overflow for large |x|.
func sigmoid(_ x: Double) -> Double {
    x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
}

/// The stream base of `spikeAndSlabSample`'s generators ("zsam" in the high bits): example i draws
/// from stream base + i, so its noise depends on (seed, i) only — the same for any prefix of the
/// test set — and is unrelated to the figures' streams.
public let spikeAndSlabSampleStream: UInt64 = 0x7A73_616D_0000_0000

/// One draw of the latent code per example, as the model's encoder emits it at λ = 1 (the
/// authors' `encode` returns this z, and fig. 3 correlates it):
/// VSC (`gamma` given): z = sigmoid(c·(η − 1 + γ)) ⊙ (μ + σ ⊙ ε); β-VAE (`gamma` nil): z = μ + σ ⊙ ε;
/// with σ = exp(logvar / 2), η ~ U(0, 1), ε ~ N(0, 1).
///
/// The noise comes from `Xoshiro256(seed: seed, stream: spikeAndSlabSampleStream + i)` for
/// example i, dims in order, η before ε (VSC), so the sample is reproducible from `seed`.
/// `c` is the relaxed spike's sharpness (the run's final c); all matrices are examples × J.
public func spikeAndSlabSample(mu: Matrix, logvar: Matrix, gamma: Matrix?, c: Double, seed: UInt64) -> Matrix {
    precondition(logvar.rows == mu.rows && logvar.columns == mu.columns, "mu and logvar shapes")
    if let gamma { precondition(gamma.rows == mu.rows && gamma.columns == mu.columns, "mu and gamma shapes") }
    var z = Matrix(rows: mu.rows, columns: mu.columns)
    for i in 0..<mu.rows {
        var rng = Xoshiro256(seed: seed, stream: spikeAndSlabSampleStream &+ UInt64(i))
        for j in 0..<mu.columns {
            let spike = gamma.map { g in sigmoid(c * (rng.nextUniform() - 1 + Double(g[i, j]))) } ?? 1
            let slab = Double(mu[i, j]) + exp(Double(logvar[i, j]) / 2) * rng.nextNormal()
            z[i, j] = Float(spike * slab)
        }
    }
    return z
}

// MARK: (A) the authors' fig. 3 metric

/// S·V: each source value times its attribute's presence (examples × S), so an absent attribute's
/// sources are 0. Needed because a Smiley data set stores a drawn value for every source, present
/// or not (`Smiley.generate`); the authors' sources are 0 when the attribute is absent.
/// `present` is examples × S (`sourcePresence`).
public func presenceGatedSources(_ sources: Matrix, present: [[Bool]]) -> Matrix {
    precondition(present.count == sources.rows && present.allSatisfy { $0.count == sources.columns }, "presence mask shape")
    var out = sources
    for i in 0..<sources.rows { for s in 0..<sources.columns where !present[i][s] { out[i, s] = 0 } }
    return out
}

/// The authors' fig. 3 matrix exactly (Smiley_example.ipynb): A[s, j] = |corr(|S_s·V_s|, |z_j|)|
/// over ALL examples (no mask), with `z` one sample of the code (`spikeAndSlabSample`).
///
/// Because of the absolute values and the zeros of absent attributes, this rewards a latent that
/// merely switches on (or off) with the attribute: four pure presence indicators score ≈ 0.68 on
/// Smiley's statistics (VSC-AUDIT F4). It tests the paper's claim, not continuous disentanglement.
/// Returns S × J in [0, 1].
public func authorsCorrelation(sources: Matrix, present: [[Bool]], sample z: Matrix) -> Matrix {
    let gated = presenceGatedSources(sources, present: present)
    let absSources = Matrix(rows: gated.rows, columns: gated.columns, values: gated.values.map { abs($0) })
    let absZ = Matrix(rows: z.rows, columns: z.columns, values: z.values.map { abs($0) })
    return absoluteCorrelation(sources: absSources, latents: absZ)
}

// MARK: (B) the masked metric on the emitted code

/// The code the decoder actually sees, restricted to the active dims: VSC (`gamma` given)
/// 1[γ > `threshold`]·μ, β-VAE μ; every column not in `active` (`ActiveDimensions.indices`) is 0.
///
/// Zeroing the switched-off dims matters because Pearson correlation ignores scale: γ ⊙ μ with
/// γ ≈ 1e-8 (or a collapsed β-VAE μ ≈ 0 that still depends on the input) correlates with the
/// sources as well as a used dim would, though the decoder never sees it. A zero column is
/// constant, so `absoluteCorrelation` gives it exactly 0.
public func emittedCode(mu: Matrix, gamma: Matrix?, active: [Int], threshold: Float = 0.5) -> Matrix {
    if let gamma { precondition(gamma.rows == mu.rows && gamma.columns == mu.columns, "mu and gamma shapes") }
    let keep = Set(active)
    var out = Matrix(rows: mu.rows, columns: mu.columns)
    for i in 0..<mu.rows {
        for j in 0..<mu.columns where keep.contains(j) {
            if let gamma, gamma[i, j] <= threshold { continue }
            out[i, j] = mu[i, j]
        }
    }
    return out
}

/// Metric (B): the project's masked |corr| (each source over the examples where its attribute is
/// present) between the sources and `emittedCode(...)`. Columns of inactive dims are 0.
/// Returns S × J in [0, 1].
public func emittedCodeCorrelation(sources: Matrix, present: [[Bool]], mu: Matrix, gamma: Matrix?, active: [Int]) -> Matrix {
    absoluteCorrelation(sources: sources, latents: emittedCode(mu: mu, gamma: gamma, active: active), present: present)
}

// MARK: (C) presence recovery

/// How well the latents detect each attribute's presence.
public struct PresenceRecovery: Equatable, Sendable {
    /// Signed corr(presence flag of attribute a, indicator of latent j): A × J.
    public var signed: Matrix
    /// For each attribute: the latent with the highest |corr|, that |corr|, and its signed corr
    /// (negative: the latent is on when the attribute is ABSENT, i.e. it codes absence).
    public var bestLatent: [Int]
    public var best: [Float]
    public var signedBest: [Float]
    /// Mean over attributes of the best |corr|.
    public var meanBest: Double
}

/// The quantity whose correlation with presence is measured: γ for VSC (the spike probability,
/// what decides whether a dim is on), |μ| for a β-VAE (a dim "on" is one far from the prior mean).
public func presenceIndicators(mu: Matrix, gamma: Matrix?) -> Matrix {
    if let gamma { return gamma }
    return Matrix(rows: mu.rows, columns: mu.columns, values: mu.values.map { abs($0) })
}

/// Metric (C): per attribute a, max over latents j of |corr(presence_a, indicator_j)|, with the
/// sign of the best latent's corr. `presence` is examples × A flags (row-major, as
/// `Dataset.presence`); `indicators` is examples × J (`presenceIndicators`). A latent constant over
/// the examples scores 0. The sign is reported because an absence-coded representation (a dim on
/// for the images WITHOUT the attribute, VSC-AUDIT F3) scores as high as a presence-coded one.
public func presenceRecovery(presence: [Bool], attributes: Int, indicators: Matrix) -> PresenceRecovery {
    precondition(attributes > 0 && presence.count == indicators.rows * attributes, "presence flags shape")
    let n = indicators.rows, J = indicators.columns
    let latentColumns = (0..<J).map { j in (0..<n).map { Double(indicators[$0, j]) } }
    var signed = Matrix(rows: attributes, columns: J)
    var bestLatent: [Int] = [], best: [Float] = [], signedBest: [Float] = []
    for a in 0..<attributes {
        let flag = (0..<n).map { presence[$0 * attributes + a] ? 1.0 : 0.0 }
        var bi = 0, b: Float = 0
        for j in 0..<J {
            let r = Float(pearson(flag, latentColumns[j]))
            signed[a, j] = r
            if abs(r) > b { b = abs(r); bi = j }
        }
        bestLatent.append(bi); best.append(b); signedBest.append(J > 0 ? signed[a, bi] : 0)
    }
    return PresenceRecovery(signed: signed, bestLatent: bestLatent, best: best, signedBest: signedBest,
                            meanBest: mean(best.map(Double.init)))
}

/// Pearson corr(number of attributes present, number of active dims) over the examples:
/// `presentCount[i]` attributes present in example i, `activeCount[i]` dims active for it
/// (`ActiveDimensions.perExample`). A sparse code that spends dims on what is in the image gives
/// a positive value; an absence-coded one a negative value (VSC-AUDIT §2).
public func activeVsAttributesCorrelation(presentCount: [Int], activeCount: [Int]) -> Double {
    precondition(presentCount.count == activeCount.count, "one count per example on each side")
    return pearson(presentCount.map(Double.init), activeCount.map(Double.init))
}

/// The number of attributes present in each example, from examples × A flags.
public func presentAttributeCounts(presence: [Bool], attributes: Int) -> [Int] {
    precondition(attributes > 0 && presence.count % attributes == 0, "presence flags shape")
    return (0..<presence.count / attributes).map { i in (0..<attributes).filter { presence[i * attributes + $0] }.count }
}

/// The mean number of sources whose attribute is present, per example: flags row-major
/// (example, attribute), `sourcesPerAttribute[a]` the sources attribute a carries.
public func sourcesPresentPerExample(presence: [Bool], sourcesPerAttribute: [Int]) -> Double {
    let a = sourcesPerAttribute.count
    precondition(a > 0 && presence.count % a == 0, "presence flags shape")
    let n = presence.count / a
    guard n > 0 else { return 0 }
    let total = presence.indices.reduce(0) { $0 + (presence[$1] ? sourcesPerAttribute[$1 % a] : 0) }
    return Double(total) / Double(n)
}
