import Foundation
import IR

/// The decoder's output layer and its log-likelihood p(x | z) (supplementary A.1).
/// - gaussian: heads "<name>.mean" and "<name>.logvar"; −log p = ½ Σ_d [log 2π + log σ²_d + (x_d − μ_d)² / σ²_d].
/// - bernoulli: head "<name>.logits"; −log p = Σ_d [softplus(l_d) − x_d·l_d] (stable in l).
public struct LikelihoodHead {
    public var kind: ModelSpec.Likelihood
    public var name: String
    public var inputs: Int
    public var outputs: Int
    public init(_ kind: ModelSpec.Likelihood, name: String, inputs: Int, outputs: Int) {
        self.kind = kind; self.name = name; self.inputs = inputs; self.outputs = outputs
    }

    /// The distribution's parameters from the last hidden layer.
    public struct Output { public var mean: Tensor; public var logvar: Tensor?; public var logits: Tensor? }

    public func callAsFunction(_ h: Tensor, _ ctx: ModelContext, file: String = #fileID, line: Int = #line) throws -> Output {
        switch kind {
        case .gaussian:
            let mean = try Dense(name + ".mean", inputs, outputs)(h, ctx, file: file, line: line)
            let logvar = try Dense(name + ".logvar", inputs, outputs)(h, ctx, file: file, line: line)
            return Output(mean: mean, logvar: logvar, logits: nil)
        case .bernoulli:
            let logits = try Dense(name + ".logits", inputs, outputs)(h, ctx, file: file, line: line)
            return Output(mean: try logits.sigmoid(file: file, line: line), logvar: nil, logits: logits)
        }
    }

    /// −log p(x | z) per example, [batch].
    public func negativeLogLikelihood(_ out: Output, _ x: Tensor) throws -> Tensor {
        switch kind {
        case .gaussian:
            let lv = out.logvar!
            let sq = try (x - out.mean).square()
            let perDim = (lv + sq * (try lv.neg().exp()) + Foundation.log(2 * Double.pi)) * 0.5
            return try perDim.sum(axes: [-1])
        case .bernoulli:
            let l = out.logits!
            return try (l.softplus() - x * l).sum(axes: [-1])
        }
    }
}
