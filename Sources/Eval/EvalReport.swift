// What `vsc eval` measures (report.json's schema), its options, and writing it.

import Data
import Foundation
import IR
import Passes
import Models
import Runtime
import Train
import Plot

public struct EvalOptions {
    /// Where report.json and the figures go (created if missing).
    public var outDir: String
    /// Noise draws per test example for the ELBO.
    public var samples: Int = 1
    /// Batch size of the encode and train programs.
    public var batchSize: Int = 500
    /// Seed of the figures' random draws (conditional generation).
    public var seed: UInt64 = 0
    /// Write the figures.
    public var figures: Bool = true
    /// The files written per figure (png for looking, svg / pdf for papers).
    public var figureFormats: [FigureFormat] = [.png, .svg]
    /// Recorded in the report.
    public var backendName: String = "jit"
    public var checkpointPath: String = ""
    /// The training split of a labelled test set: its codes fit the linear probe, scored on the
    /// test set's codes (nil: no probe).
    public var probeTrain: Dataset? = nil
    public init(outDir: String, samples: Int = 1, batchSize: Int = 500, seed: UInt64 = 0, figures: Bool = true,
                figureFormats: [FigureFormat] = [.png, .svg], backendName: String = "jit", checkpointPath: String = "") {
        self.outDir = outDir; self.samples = samples; self.batchSize = batchSize; self.seed = seed
        self.figures = figures; self.figureFormats = figureFormats; self.backendName = backendName; self.checkpointPath = checkpointPath
    }
}

/// Everything `vsc eval` measures; written as report.json (snake_case keys).
public struct EvalReport: Codable {
    public struct Active: Codable {
        /// How "active" is decided.
        public var criterion: String
        public var count: Int
        public var indices: [Int]
        /// Mean over test examples of the number of dims active for that example (and min/max).
        public var perExampleMean: Double
        public var perExampleMin: Int
        public var perExampleMax: Int
        /// Dims active for more than 99 % of the test examples (`ActiveDimensions.alwaysOn`).
        public var alwaysOn: [Int]
    }
    public struct SourceScore: Codable {
        public var source: String
        public var bestLatent: Int
        public var best: Float
        public var secondBest: Float
    }
    /// A sources × latents |corr| metric: the masked posterior mean (`disentanglement`), the
    /// authors' fig. 3 metric (`paper_metric`, A) or the emitted-code metric (`emitted_code_metric`, B).
    public struct Disentanglement: Codable {
        /// Which metric, and how it is computed.
        public var metric: String
        /// What was correlated.
        public var latents: String
        public var meanBestAbsCorr: Double
        public var meanGap: Double
        public var perSource: [SourceScore]
        public var sources: [String]
        /// |corr|, sources × latents in latent index order.
        public var matrix: [[Float]]
        /// The figure's column order (latent indices).
        public var columnOrder: [Int]
        public var examplesPerSource: [Int]
        /// (A) only: the c and the seed of the spike-and-slab sample correlated (λ = 1).
        public var sampleC: Double? = nil
        public var sampleSeed: UInt64? = nil
        /// (B) of a spike-and-slab model only: the same scores with μ in place of 1[γ > 0.5]·μ on
        /// the active dims — what switching dims off for some examples costs the metric. Close to
        /// the masked scores, a low gap comes from how sources share dims, not from the spikes.
        public var unmaskedMeanBestAbsCorr: Double? = nil
        public var unmaskedMeanGap: Double? = nil
    }
    public struct AttributeScore: Codable {
        public var attribute: String
        /// The latent whose indicator correlates most with the attribute's presence flag.
        public var bestLatent: Int
        /// Whether that latent is among the active dims.
        public var bestLatentActive: Bool
        public var bestAbsCorr: Float
        /// The signed corr of that latent: negative means it codes the attribute's absence.
        public var signedCorr: Float
        /// "presence" or "absence" (the sign in words).
        public var codes: String
    }
    /// (C): presence recovery.
    public struct PresenceRecovery: Codable {
        public var metric: String
        /// What is correlated with each 0/1 presence flag (γ or |μ|).
        public var indicator: String
        /// Mean over attributes of the best |corr|.
        public var meanBestAbsCorr: Double
        public var perAttribute: [AttributeScore]
        public var attributes: [String]
        /// Signed corr, attributes × latents in latent index order.
        public var matrix: [[Float]]
        /// Pearson corr(number of attributes present, number of dims active) over the test examples.
        public var activeVsAttributesCorr: Double
        /// Sources whose attribute is present, per test example (18·p on average): set against the
        /// active dims per example, how many sources each used dim must carry.
        public var sourcesPresentPerExample: Double
    }
    public struct SpikeMap: Codable {
        public var quantity: String
        public var rows: [String]
        public var matrix: [[Float]]
    }
    public var checkpoint: String
    public var specName: String
    public var modelKind: String
    public var iteration: Int?
    public var latentDim: Int
    public var data: String
    public var testExamples: Int
    public var backend: String
    public var elbo: ELBOEstimate
    public var activeDims: Active
    /// The project's original metric, the "masked posterior mean": |corr| of γ⊙μ (VSC) or μ with
    /// each source over the examples where its attribute is present (kept for comparability).
    public var disentanglement: Disentanglement?
    /// (A) the authors' fig. 3 metric: |corr(|S·V|, |z sample|)| over all examples, λ = 1.
    public var paperMetric: Disentanglement?
    /// (B) the masked metric on the emitted code (1[γ > 0.5]·μ or μ), active dims only.
    public var emittedCodeMetric: Disentanglement?
    /// (C) presence recovery and corr(#present, #active).
    public var presenceRecovery: PresenceRecovery?
    public var spikeMap: SpikeMap?
    /// The linear probe on the codes of a labelled set (`vsc eval --probe`), if asked for.
    public var linearProbe: LinearProbeReport? = nil
    /// PNG file name → what it shows.
    public var figures: [String: String]
    public var seconds: Double
}

/// Writes the report as pretty, key-sorted JSON with snake_case keys (non-finite numbers as strings).
public func writeReport(_ report: EvalReport, to path: String) throws {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    e.keyEncodingStrategy = .convertToSnakeCase
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    try e.encode(report).write(to: URL(fileURLWithPath: path))
}
