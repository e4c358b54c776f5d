import Foundation
import Models

/// What a VSC run's collapse looks like, measured on one minibatch while training (the audit's
/// failure modes, each visible as it happens): the prior collapsing to one pseudo-input, the code
/// losing its sparsity or its dimensions, spikes locked at γ = 1, KL explosions.
public struct CollapseDiagnostics: Equatable, Sendable {
    /// Pseudo-inputs that are the argmax of the selection for at least 2 % of the batch.
    public var pseudoInputsInUse: Int
    public var pseudoInputs: Int
    /// Entropy (bits) of the batch-mean normalised selection weights: log₂ U when the prior is
    /// used evenly, 0 when one component takes every example.
    public var selectionEntropyBits: Double
    /// Mean over the batch of the entropy (bits) of each example's normalised weights: how soft
    /// each example's choice is.
    public var exampleSelectionEntropyBits: Double
    /// Mean number of dimensions with γ > 0.5 per example, and dimensions with γ > 0.5 for at
    /// least 1 % of the batch.
    public var activePerExample: Double
    public var activeDims: Int
    /// The expected number of switched-off dimensions (γ ≤ 0.5) that a spike draw turns on, per
    /// example: Σ γ over them. Noise the decoder must learn to ignore; with the spike-logit
    /// penalty at ε = 0.01 it is about 3.5 (γ ≈ 0.06 on each of 50-odd dimensions).
    public var spuriousPerExample: Double
    /// Dimensions with γ > 0.999 for more than 99 % of the batch (the relu head's lock).
    public var stuckOn: Int
    /// Dimensions the prior components switch on (γ_u > 0.5 for some u).
    public var priorActiveDims: Int
    public var latent: Int

    public static let inUseFraction = 0.02, activeFraction = 0.01, stuckFraction = 0.99

    /// From the train graph's diagnostic outputs: `selection` [B, U], `gamma` [B, J], `priorGamma` [U, J].
    public init(selection: UnsafeBufferPointer<Float>, gamma: UnsafeBufferPointer<Float>,
                priorGamma: UnsafeBufferPointer<Float>, batch: Int, pseudoInputs u: Int, latent j: Int) {
        precondition(selection.count == batch * u && gamma.count == batch * j && priorGamma.count == u * j)
        var argmaxCount = [Int](repeating: 0, count: u)
        var usage = [Double](repeating: 0, count: u)
        var exampleEntropy = 0.0
        for b in 0..<batch {
            let row = (0..<u).map { Double(selection[b * u + $0]) }
            let total = row.reduce(0, +)
            guard total > 0, total.isFinite else { continue }
            var best = 0
            for k in 0..<u where row[k] > row[best] { best = k }
            argmaxCount[best] += 1
            for k in 0..<u {
                let w = row[k] / total
                usage[k] += w / Double(batch)
                if w > 0 { exampleEntropy -= w * Foundation.log2(w) / Double(batch) }
            }
        }
        pseudoInputs = u
        pseudoInputsInUse = argmaxCount.filter { Double($0) >= Self.inUseFraction * Double(batch) }.count
        selectionEntropyBits = usage.filter { $0 > 0 }.reduce(0) { $0 - $1 * Foundation.log2($1) }
        exampleSelectionEntropyBits = exampleEntropy
        var on = [Int](repeating: 0, count: j), stuck = [Int](repeating: 0, count: j)
        var perExample = 0, spurious = 0.0
        for b in 0..<batch {
            for d in 0..<j {
                let g = gamma[b * j + d]
                if g > 0.5 { on[d] += 1; perExample += 1 } else { spurious += Double(g) }
                if g > 0.999 { stuck[d] += 1 }
            }
        }
        activePerExample = batch > 0 ? Double(perExample) / Double(batch) : 0
        spuriousPerExample = batch > 0 ? spurious / Double(batch) : 0
        activeDims = on.filter { $0 > 0 && Double($0) >= Self.activeFraction * Double(batch) }.count
        stuckOn = stuck.filter { Double($0) > Self.stuckFraction * Double(batch) }.count
        priorActiveDims = (0..<j).filter { d in (0..<u).contains { priorGamma[$0 * j + d] > 0.5 } }.count
        latent = j
    }

    /// The fields of a metrics.jsonl line.
    public var fields: [(String, Double)] {
        [("pseudo_inputs_in_use", Double(pseudoInputsInUse)), ("selection_entropy_bits", selectionEntropyBits),
         ("example_selection_entropy_bits", exampleSelectionEntropyBits), ("active_per_example", activePerExample),
         ("spurious_per_example", spuriousPerExample),
         ("active_dims", Double(activeDims)), ("stuck_on_dims", Double(stuckOn)), ("prior_active_dims", Double(priorActiveDims))]
    }

    /// For the progress line.
    public var summary: String {
        "pseudo \(pseudoInputsInUse)/\(pseudoInputs) (\(String(format: "%.1f", selectionEntropyBits)) bits)  active \(String(format: "%.1f", activePerExample))/ex (+\(String(format: "%.1f", spuriousPerExample)) spurious) \(activeDims)/\(latent)"
            + (stuckOn > 0 ? "  STUCK-ON \(stuckOn)" : "")
    }
}

/// What the logging window (the iterations since the last metrics line) saw.
public struct WindowStatistics: Equatable, Sendable {
    /// The largest batch-mean KL, and the median KL of the window (a spike is max ≫ median).
    public var maxKL: Float = -.infinity
    public var klValues: [Float] = []
    /// The largest pre-clipping global gradient norm, and how many steps were clipped.
    public var maxGradNorm: Float?
    public var clippedSteps = 0

    public init() {}
    public mutating func add(kl: Float, gradNorm: Float?, clip: Double?) {
        maxKL = max(maxKL, kl)
        klValues.append(kl)
        if let gradNorm {
            maxGradNorm = max(maxGradNorm ?? 0, gradNorm)
            if let clip, Double(gradNorm) > clip { clippedSteps += 1 }
        }
    }
    public var medianKL: Float { klValues.isEmpty ? .nan : klValues.sorted()[klValues.count / 2] }
}
