import Foundation
import IR

/// The decoder's output layer and its log-likelihood p(x | z) (supplementary A.1).
/// - gaussian: heads "<name>.mean" and "<name>.logvar"; −log p = ½ Σ_d [log 2π + log σ²_d + (x_d − μ_d)² / σ²_d].
/// - bernoulli: head "<name>.logits"; −log p = Σ_d [softplus(l_d) − x_d·l_d] (stable in l).
///
/// The Gaussian head's log-variance is floored at `minimumLogVariance`: on binary data (Smiley)
/// the likelihood is unbounded as σ² → 0, and without a floor the decoder drives log σ² toward
/// −∞ until exp(−log σ²) overflows (seen at iteration 1,500 of the paper's Smiley network).
public struct LikelihoodHead {
    /// log σ² ≥ −6 (σ ≥ 0.05): at most −2.08 nats per dimension from the variance term.
    public static let minimumLogVariance = -6.0
    public var kind: ModelSpec.Likelihood
    public var name: String
    public var inputs: Int
    public var outputs: Int
    /// A convolutional head (the decoder list's last layer), applied once per head under the
    /// head's name and flattened to [batch, outputs]; nil: dense heads `inputs → outputs`.
    public var convolution: Conv2D?
    public init(_ kind: ModelSpec.Likelihood, name: String, inputs: Int, outputs: Int) {
        self.kind = kind; self.name = name; self.inputs = inputs; self.outputs = outputs
    }

    /// The distribution's parameters from the last hidden layer.
    public struct Output { public var mean: Tensor; public var logvar: Tensor?; public var logits: Tensor? }

    public func callAsFunction(_ h: Tensor, _ ctx: ModelContext) throws -> Output {
        switch kind {
        case .gaussian:
            let mean = try layer(".mean", h, ctx)
            let head = Dense(name + ".logvar", inputs, outputs)
            // The −6 floor belongs to the log-variance head: same part, same location.
            let logvar = try ctx.part(head.name, file: head.declaredAt.file, line: head.declaredAt.line) { at in
                try layer(".logvar", h, ctx).maximum(LikelihoodHead.minimumLogVariance, file: at.file, line: at.line)
            }
            return Output(mean: mean, logvar: logvar, logits: nil)
        case .bernoulli:
            let head = Dense(name + ".logits", inputs, outputs)
            let logits = try layer(".logits", h, ctx)
            let mean = try ctx.part(head.name, file: head.declaredAt.file, line: head.declaredAt.line) { at in
                try logits.sigmoid(file: at.file, line: at.line)
            }
            return Output(mean: mean, logvar: nil, logits: logits)
        }
    }

    /// The head `name + suffix` on the decoder's last hidden layer: dense, or the convolution,
    /// its image output flattened to [batch, outputs].
    func layer(_ suffix: String, _ h: Tensor, _ ctx: ModelContext) throws -> Tensor {
        guard var conv = convolution else { return try Dense(name + suffix, inputs, outputs)(h, ctx) }
        conv.name = name + suffix
        let y = try conv(h, ctx)
        return try ctx.part(conv.name) { at in try y.reshape([y.shape[0], y.shape.dropFirst().reduce(1, *)], file: at.file, line: at.line) }
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
