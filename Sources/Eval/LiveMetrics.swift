// Test metrics while training (`eval_every`): the few numbers one watches, cheap enough to
// compute every few hundred iterations. `vsc eval` reports the same quantities in full.

import Data
import Foundation
import Models
import Train

/// The test metrics of `parameters` (the model of `spec`) on `test`: the test ELBO and its terms
/// (one sample, λ = 1, the run's final c), the active dimensions (count and per example) and, on
/// Smiley, the masked posterior mean's |corr| with the sources (best and gap, the `disentanglement`
/// of report.json) and presence recovery (C). Names without a prefix; the trainer adds `test_`.
public func liveTestMetrics(spec: ModelSpec, parameters: [String: [Float]], test: Dataset,
                            backend: @escaping BackendFactory, batchSize: Int = 500) throws -> [(name: String, value: Double)] {
    let trained = try TrainedModel(spec: spec, parameters: parameters)
    let runner = ModelRunner(trained, backend: backend, batchSize: batchSize)
    let e = try runner.elbo(test.x, count: test.count)
    let enc = try runner.encode(test.x, count: test.count)
    let act = enc.gamma.map { activeDimensions(gamma: $0) } ?? activeDimensions(logvar: enc.logvar)
    var out: [(name: String, value: Double)] = [("elbo", e.elbo), ("recon", e.recon), ("kl", e.kl),
                                               ("active_dims", Double(act.count)), ("active_per_example", act.perExampleMean)]
    if let src = test.sources, let pres = test.presence, test.sourcesPerExample == SmileyAttribute.sourceCount,
       test.presencePerExample == SmileyAttribute.allCases.count {
        let A = SmileyAttribute.allCases.count
        let mask = sourcePresence(flags: pres, attributes: A, attributeOfSource: SmileyAttribute.attributeOfSource.map(\.rawValue))
        let corr = absoluteCorrelation(sources: Matrix(rows: test.count, columns: SmileyAttribute.sourceCount, values: src),
                                       latents: enc.posteriorMeans, present: mask)
        let score = disentanglementScore(corr)
        let presence = presenceRecovery(presence: pres, attributes: A, indicators: presenceIndicators(mu: enc.mu, gamma: enc.gamma))
        out += [("disentanglement_best", score.meanBest), ("disentanglement_gap", score.meanGap),
                ("presence_recovery", presence.meanBest)]
    }
    return out
}
