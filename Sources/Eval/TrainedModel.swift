// Loading a trained model from its checkpoint, and the evaluation error type.

import Data
import Foundation
import IR
import Passes
import Models
import Runtime
import Train

/// An evaluation error; the message is complete (file, tensor, option).
public struct EvalError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "error: " + message }
}

/// A model restored from a checkpoint: its spec (from the checkpoint's metadata, or given), the
/// model, and its parameters by name (Adam state dropped).
public struct TrainedModel {
    public var spec: ModelSpec
    public var model: any GenerativeModel
    public var parameters: [String: [Float]]
    public var metadata: [String: String]
    /// The iteration the checkpoint was written at (nil if not recorded).
    public var iteration: Int?
    /// The run's total iterations (the schedules' horizon), from the metadata or the spec.
    public var totalIterations: Int

    public init(spec: ModelSpec, parameters: [String: [Float]], metadata: [String: String] = [:]) throws {
        self.init(model: try makeModel(spec), parameters: parameters, metadata: metadata)
    }

    init(model: any GenerativeModel, parameters: [String: [Float]], metadata: [String: String]) {
        spec = model.spec
        self.model = model
        self.parameters = parameters
        self.metadata = metadata
        iteration = metadata["iteration"].flatMap(Int.init)
        totalIterations = metadata["total_iterations"].flatMap(Int.init) ?? spec.iterations
    }

    /// Loads `path`; the spec is the YAML text stored in the metadata unless `spec` is given, and
    /// either way its seed is the run's (metadata "seed") when the checkpoint records one.
    public static func load(checkpoint path: String, spec: ModelSpec? = nil) throws -> TrainedModel {
        let ck = try Checkpoint.load(path: path)
        var s: ModelSpec
        if let spec { s = spec } else {
            guard let text = ck.metadata["spec"], !text.isEmpty else {
                throw EvalError("\(path): the checkpoint stores no spec text in its metadata; pass the spec with --spec")
            }
            do { s = try parseSpec(yaml: text, file: "\(path) (metadata \"spec\")", defaultName: ck.metadata["spec_name"]) }
            catch let e as SpecError { throw EvalError(e.description) }
        }
        // The run's seed: `vsc train --seed N` trains with N (its Smiley data, its graph's noise)
        // but stores the spec file's text, whose seed may be another.
        if let seed = ck.metadata["seed"].flatMap(UInt64.init) { s.seed = seed }
        // Every parameter of the model's three graphs, validated as --resume validates them.
        let model = try makeModel(s)
        var expected: [(name: String, shape: [Int])] = []
        for g in [try model.trainGraph(batch: 1), try model.encodeGraph(batch: 1), try model.decodeGraph(batch: 1)] {
            expected += g.parameters.map { ($0.name, g[$0.node].shape) }
        }
        let params = try ck.validated(expected, context: path)
        return TrainedModel(model: model, parameters: params, metadata: ck.metadata)
    }
}
