// A trainer's state: captured and restored in memory (replays), and as a checkpoint (the
// metadata schema lives here: what `checkpoint()` writes, `restore(from:file:)` checks).

import Data
import Foundation
import IR
import Models
import Passes
import Runtime

extension Trainer {
    func capture() -> State {
        var t: [String: [Float]] = [:]
        for n in parameterNames + momentNames { t[n] = program.values(n) }
        return State(iteration: iteration, adamT: adamT, order: order, tensors: t)
    }

    func restore(_ s: State) throws {
        for (n, v) in s.tensors { try program.set(n, v) }
        iteration = s.iteration; adamT = s.adamT; order = s.order
    }

    /// The checkpoint of the current state.
    public func checkpoint() -> Checkpoint {
        var ck = Checkpoint()
        for n in parameterNames + momentNames {
            let node = stepGraph[stepGraph.leaf(named: n)!]
            ck.tensors[n] = .init(shape: node.shape, values: program.values(n)!)
        }
        ck.tensors[TrainStepNames.adamStep] = .init(shape: [], values: [Float(adamT)])
        ck.metadata = [
            "format": "vsc-checkpoint",
            "format_version": Checkpoint.formatVersion,
            "spec": options.specText ?? "",
            "spec_name": spec.name,
            "model_kind": spec.kind.facts.name,
            "iteration": "\(iteration)",
            "total_iterations": "\(totalIterations)",
            "seed": "\(seed)",
            "backend": options.backendName,
            "adam_t": "\(adamT)",
            "data_count": "\(order.count)",
            "data_rng": order.epochStart.text,
            "data_epoch": "\(order.epoch)",
            "data_position": "\(order.position)",
            "train_seconds": "\(trainingSeconds)",
        ]
        return ck
    }

    /// Restores the state saved in `ck` (parameters, moments, Adam step, iteration, data order).
    /// Errors name the file and the missing or misshapen entry.
    public func restore(from ck: Checkpoint, file: String) throws {
        func fail(_ m: String) -> TrainError { TrainError("\(file): cannot resume: \(m)") }
        let meta = ck.metadata
        guard meta["format"] == "vsc-checkpoint" else { throw fail("not a vsc checkpoint (no \"format\": \"vsc-checkpoint\" metadata)") }
        guard meta["format_version"] == Checkpoint.formatVersion else {
            throw fail("format version \(meta["format_version"] ?? "(none)") is not \(Checkpoint.formatVersion)")
        }
        let kind = spec.kind.facts.name
        guard meta["model_kind"] == kind else { throw fail("it holds a \(meta["model_kind"] ?? "(unknown)") model, the spec is \(kind)") }
        guard let it = meta["iteration"].flatMap(Int.init), it >= 0 else { throw fail("metadata \"iteration\" is missing or not an integer") }
        guard let count = meta["data_count"].flatMap(Int.init), count == data.count else {
            throw fail("it was trained on \(meta["data_count"] ?? "?") examples, the data set has \(data.count)")
        }
        guard let rng = meta["data_rng"].flatMap(OrderRNG.init(text:)),
              let epoch = meta["data_epoch"].flatMap(Int.init), let pos = meta["data_position"].flatMap(Int.init) else {
            throw fail("the data-order state (data_rng, data_epoch, data_position) is missing or malformed")
        }
        // The seed decides the graph's noise and the Smiley data: resuming under another would
        // silently continue a different run. (Older checkpoints may lack it.)
        if let saved = meta["seed"].flatMap(UInt64.init), saved != seed {
            throw fail("it was trained with seed \(saved), this run's seed is \(seed): resume with --seed \(saved)")
        }
        // Older checkpoints have no train_seconds: time then counts from this run.
        secondsBefore = meta["train_seconds"].flatMap(Double.init).map { $0.isFinite && $0 >= 0 ? $0 : 0 } ?? 0
        let tensors: [String: [Float]]
        do {
            tensors = try ck.validated((parameterNames + momentNames).map { ($0, stepGraph[stepGraph.leaf(named: $0)!].shape) },
                                       context: "\(file): cannot resume")
        } catch let e as CheckpointError { throw TrainError(e.message) }
        // Adam's step count is stored as a Float32: an integer, exact (≤ 2²⁴), and ≥ 0.
        guard let t = ck.tensors[TrainStepNames.adamStep], t.values.count == 1, t.values[0] >= 0, t.values[0] <= 0x1p24,
              t.values[0] == t.values[0].rounded() else {
            throw fail("tensor \"adam.t\" is missing or not a step count in 0…16777216 (got \(ck.tensors[TrainStepNames.adamStep]?.values.first.map { "\($0)" } ?? "none"))")
        }
        let state = State(iteration: it, adamT: Int(t.values[0]),
                          order: try DataOrder(count: count, epochStart: rng, epoch: epoch, position: pos),
                          tensors: tensors)
        try restore(state)
    }
}
