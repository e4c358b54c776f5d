import Foundation
import Testing
@testable import Eval
import Models
import Runtime
import Train

/// `vsc eval` validates a checkpoint as `--resume` does (issue 14): declared shapes, every value
/// finite; the error names the tensor and the first bad index, never a `test ELBO nan`.
@Suite struct CheckpointValidationTests {
    let yaml = "name: tiny\nkind: vsc\ndata: {name: smiley, count: 40, test_count: 20}\ninput_dim: 16\nhidden: [8]\nlatent: 3\nprior: {pseudo_inputs: 2}\nbatch_size: 4\n"

    func write(_ edit: (inout [String: Checkpoint.Entry]) -> Void) throws -> String {
        let spec = try parseSpec(yaml: yaml)
        let model = try makeModel(spec)
        var shapes: [String: [Int]] = [:]
        for g in [try model.trainGraph(batch: 1), try model.encodeGraph(batch: 1)] {
            for p in g.parameters { shapes[p.name] = g[p.node].shape }
        }
        var tensors: [String: Checkpoint.Entry] = [:]
        for (n, v) in model.initialParameters(seed: 1) { tensors[n] = .init(shape: shapes[n]!, values: v) }
        edit(&tensors)
        let path = NSTemporaryDirectory() + "vsc-eval-ckpt-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).safetensors"
        try Checkpoint(tensors: tensors, metadata: ["spec": yaml]).write(to: path)
        return path
    }

    @Test func aValidCheckpointLoads() throws {
        let m = try TrainedModel.load(checkpoint: try write { _ in })
        #expect(m.parameters["enc.h0.w"]?.count == 16 * 8)
    }

    /// `vsc train --seed N` stores the spec file's text (its own seed) and N in the metadata:
    /// the loaded model is the run's — seed N, so its Smiley split and graph noise are the run's.
    @Test func theCheckpointsSeedReplacesTheSpecTexts() throws {
        let path = try write { _ in }
        let specSeed = try parseSpec(yaml: yaml).seed
        #expect(try TrainedModel.load(checkpoint: path).spec.seed == specSeed && specSeed != 5)
        var ck = try Checkpoint.load(path: path)
        ck.metadata["seed"] = "5"
        try ck.write(to: path)
        #expect(try TrainedModel.load(checkpoint: path).spec.seed == 5)
    }

    @Test func nonFiniteValuesAreRefusedNamingTensorAndIndex() throws {
        for bad in [Float.nan, .infinity, -.infinity] {
            let path = try write { $0["dec.h0.b"]!.values[5] = bad }
            #expect { try TrainedModel.load(checkpoint: path) } throws: { e in
                let t = "\(e)"
                return t.contains(path) && t.contains("\"dec.h0.b\"") && t.contains("index 5") && t.contains("finite")
            }
        }
    }

    /// Finite but absurd parameters (1e30) load, and the ELBO that overflows is an error naming
    /// the examples and the largest parameter, not a printed "nan".
    @Test func aNonFiniteELBOIsAnErrorNotANumber() throws {
        let path = try write { t in for k in t.keys where k.hasPrefix("dec.") { t[k]!.values = t[k]!.values.map { _ in 1e30 } } }
        let m = try TrainedModel.load(checkpoint: path)
        let runner = ModelRunner(m, backend: { InterpreterProgram($0) }, batchSize: 4)
        let x = (0..<8 * 16).map { Float($0 % 2) }
        #expect { _ = try runner.elbo(x, count: 8) } throws: { e in
            let t = "\(e)"
            return t.contains("not finite on examples 0…3") && t.contains("1e+30") && t.contains("dec.")
        }
    }

    /// Eval runs the optimised graphs (the pipeline's fused kernels), as training does, and
    /// their results agree with the graphs as built.
    @Test func evalProgramsAreOptimised() throws {
        let m = try TrainedModel.load(checkpoint: try write { _ in })
        let fast = ModelRunner(m, backend: { InterpreterProgram($0) }, batchSize: 4)
        let plain = ModelRunner(m, backend: { InterpreterProgram($0) }, batchSize: 4, optimize: nil)
        let x = (0..<8 * 16).map { Float(($0 * 7) % 3) / 2 }
        for kind in ["encode", "train"] {
            let g = try fast.program(kind, batch: 4).graph, raw = try plain.program(kind, batch: 4).graph
            let fused = g.nodes.filter { if case .fused = $0.op { return true } else { return false } }.count
            #expect(fused > 0 && g.count < raw.count, "\(kind): \(fused) kernels, \(g.count) vs \(raw.count) nodes")
        }
        let a = try fast.encode(x, count: 8), b = try plain.encode(x, count: 8)
        #expect(zip(a.mu.values, b.mu.values).allSatisfy { Swift.abs($0 - $1) < 1e-4 })
    }

    @Test func aTransposedTensorIsRefused() throws {
        let path = try write { $0["enc.h0.w"]!.shape = [8, 16] }
        #expect { try TrainedModel.load(checkpoint: path) } throws: { e in
            "\(e)".contains("\"enc.h0.w\" has shape [8, 16], the model's is [16, 8]")
        }
    }

    @Test func aMissingParameterIsNamed() throws {
        let path = try write { $0["pseudo_inputs"] = nil }
        #expect { try TrainedModel.load(checkpoint: path) } throws: { e in "\(e)".contains("\"pseudo_inputs\" is missing") }
    }
}
