import Foundation
import Testing
@testable import Train

/// The collapse diagnostics on hand-made minibatches with known answers.
@Suite struct DiagnosticsTests {
    func diagnose(selection: [Float], gamma: [Float], prior: [Float], batch: Int, u: Int, j: Int) -> CollapseDiagnostics {
        selection.withUnsafeBufferPointer { s in
            gamma.withUnsafeBufferPointer { g in
                prior.withUnsafeBufferPointer { p in
                    CollapseDiagnostics(selection: s, gamma: g, priorGamma: p, batch: batch, pseudoInputs: u, latent: j)
                }
            }
        }
    }

    @Test func collapsedPriorAndLockedSpikes() {
        // 100 examples, 4 pseudo-inputs: every example picks #2 hard; 3 dims, dim 0 at γ = 1 for all.
        let (b, u, j) = (100, 4, 3)
        var sel = [Float](repeating: 1e-6, count: b * u)
        for i in 0..<b { sel[i * u + 2] = 1 }
        var gamma = [Float](repeating: 0.01, count: b * j)
        for i in 0..<b { gamma[i * j] = 1 }
        let d = diagnose(selection: sel, gamma: gamma, prior: [0.9, 0.1, 0.1, 0.9, 0.1, 0.1, 0.9, 0.1, 0.1, 0.9, 0.1, 0.1], batch: b, u: u, j: j)
        #expect(d.pseudoInputsInUse == 1)
        #expect(d.selectionEntropyBits < 0.01 && d.exampleSelectionEntropyBits < 0.01)
        #expect(d.stuckOn == 1 && d.activeDims == 1 && d.activePerExample == 1)
        #expect(Swift.abs(d.spuriousPerExample - 0.02) < 1e-6, "two switched-off dims at γ = 0.01 each")
        #expect(d.priorActiveDims == 1)
        #expect(d.summary.contains("STUCK-ON 1"))
    }

    @Test func evenMixtureAndSparseCode() {
        // Examples cycle through the 4 pseudo-inputs (argmax), with soft weights; example i has
        // dim i % 3 on: every dim active, one per example, none stuck.
        let (b, u, j) = (120, 4, 3)
        var sel = [Float](repeating: 0.1, count: b * u)
        for i in 0..<b { sel[i * u + i % u] = 0.7 }
        var gamma = [Float](repeating: 0.01, count: b * j)
        for i in 0..<b { gamma[i * j + i % j] = 0.95 }
        let d = diagnose(selection: sel, gamma: gamma, prior: [Float](repeating: 0.2, count: u * j), batch: b, u: u, j: j)
        #expect(d.pseudoInputsInUse == 4)
        #expect(Swift.abs(d.selectionEntropyBits - 2) < 1e-6, "even usage of 4 components is 2 bits")
        let w = [0.7, 0.1, 0.1, 0.1], h = -w.map { $0 * log2($0) }.reduce(0, +)
        #expect(Swift.abs(d.exampleSelectionEntropyBits - h) < 1e-5)
        #expect(d.activeDims == 3 && d.activePerExample == 1 && d.stuckOn == 0 && d.priorActiveDims == 0)
        #expect(Swift.abs(d.spuriousPerExample - 0.02) < 1e-6 && d.summary.contains("(+0.0 spurious)"))
    }

    @Test func windowTracksTheLargestKLAndClippedSteps() {
        var w = WindowStatistics()
        for (kl, g) in [(5, 10), (6, 300), (120, 2000), (5.5, 20)] as [(Float, Float)] { w.add(kl: kl, gradNorm: g, clip: 100) }
        #expect(w.maxKL == 120 && w.medianKL == 6 && w.clippedSteps == 2 && w.maxGradNorm == 2000)
    }
}
