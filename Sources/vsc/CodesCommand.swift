import ArgumentParser
import Data
import Eval
import Foundation
import Models
import Train

/// Loads the trained model of a checkpoint, turning its errors into CLI errors.
func loadTrained(_ path: String, spec: String?) throws -> TrainedModel {
    do { return try TrainedModel.load(checkpoint: path, spec: try spec.map { try readSpec($0).0 }) }
    catch let e as CheckpointError { throw CLIError(e.description) }
    catch let e as EvalError { throw CLIError(e.description) }
}

/// Writes tensors (row-major Float32, `[rows, columns]`) and metadata as a safetensors file.
func writeArrays(_ arrays: [(name: String, rows: Int, columns: Int, values: [Float])], metadata: [String: String], to path: String) throws {
    var file = Checkpoint(metadata: metadata)
    for a in arrays { file.tensors[a.name] = .init(shape: [a.rows, a.columns], values: a.values) }
    do { try file.write(to: path) } catch let e as CheckpointError { throw CLIError(e.description) }
}

/// `vsc encode`: the posterior of every example of a data set, as arrays numpy can open.
struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode a data set with a trained model; write μ, log σ², γ and a sample of the code as safetensors.",
        discussion: """
            Writes OUT (safetensors, Float32, row i = example i): "mu" and "logvar" [N, J], the \
            recognition net's slab; "gamma" [N, J], the spike probabilities (VSC); "z" [N, J], one \
            sample of the code — spike-and-slab at λ = 1 and the run's final c for VSC, Gaussian \
            for the β-VAEs — drawn with --seed; with --reconstructions, "xmean" [N, D], the \
            decoder's mean of the posterior-mean code (γ⊙μ, or μ). The metadata names the model, \
            the iteration, the data and c. Open it with numpy: \
            safetensors.numpy.load_file(OUT). docs/checkpoint-format.md describes the layout.

            Examples:
              vsc encode runs/tiny --out codes.safetensors
              vsc encode runs/tiny --data smiley:200 --reconstructions --out c.safetensors
            """)

    @OptionGroup var checkpointOption: CheckpointOption
    @Option(help: "The model spec (default: the YAML stored in the checkpoint).") var spec: String?
    @Option(help: "Data to encode: a data name or file (default: the spec's test set).") var data: String?
    @Option(help: "Split of a named data set (with --data).") var split: DataSplit = .test
    @Option(help: "Encode only the first N examples.") var count: Int?
    @Option(help: "Output file (safetensors).") var out: String
    @Option(help: "Seed of the sample \"z\".") var seed: UInt64 = 0
    @Flag(help: "Also decode the posterior-mean codes (\"xmean\").") var reconstructions = false
    @OptionGroup var backendOption: BackendOption
    @OptionGroup var batchSizeOption: BatchSizeOption

    func validate() throws {
        if let n = count, n < 1 { throw ValidationError("--count must be ≥ 1, got \(n)") }
    }

    func run() throws {
        let path = checkpointOption.path
        let trained = try loadTrained(path, spec: spec)
        var set: Dataset
        do { set = try data.map { try DataSource.load($0, split: split) } ?? loadSpecData(trained.spec).test }
        catch { throw CLIError("\(error)") }
        if let n = count { set = set.prefix(n) }
        guard set.dim == trained.spec.inputDim else {
            throw CLIError("\(set.name) has \(set.dim) features per example; \(trained.spec.name) expects \(trained.spec.inputDim)")
        }
        let runner = ModelRunner(trained, backend: try backendOption.factory(for: trained.spec), batchSize: batchSizeOption.value ?? 500)
        let enc: Encodings
        do { enc = try runner.encode(set.x, count: set.count) } catch let e as EvalError { throw CLIError(e.description) }
        let c = schedule(trained.spec, iteration: max(0, trained.totalIterations - 1)).c
        let z = spikeAndSlabSample(mu: enc.mu, logvar: enc.logvar, gamma: enc.gamma, c: c, seed: seed)
        let n = set.count, J = trained.spec.latent
        var arrays: [(name: String, rows: Int, columns: Int, values: [Float])] = [
            ("mu", n, J, enc.mu.values), ("logvar", n, J, enc.logvar.values), ("z", n, J, z.values)]
        if let g = enc.gamma { arrays.append(("gamma", n, J, g.values)) }
        if reconstructions {
            do { arrays.append(("xmean", n, trained.spec.inputDim, try runner.decode(enc.posteriorMeans.values))) }
            catch let e as EvalError { throw CLIError(e.description) }
        }
        let metadata = ["format": "vsc-codes", "checkpoint": path, "spec_name": trained.spec.name,
                        "model_kind": trained.spec.kind.facts.name, "iteration": trained.iteration.map(String.init) ?? "",
                        "data": set.name, "examples": "\(n)", "c": "\(c)", "seed": "\(seed)",
                        "z": trained.spec.kind.facts.hasSpikes ? "spike-and-slab sample at lambda = 1 and c" : "Gaussian sample mu + exp(logvar / 2) * eps"]
        try writeArrays(arrays, metadata: metadata, to: out)
        print("wrote \(out): " + arrays.map { "\($0.name) [\($0.rows), \($0.columns)]" }.joined(separator: ", ")
              + " of \(set.name) (\(trained.spec.name), iteration \(trained.iteration.map(String.init) ?? "?"))")
    }
}

/// `vsc decode`: the decoder's mean for codes from a safetensors file (e.g. `vsc encode`'s).
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode latent codes with a trained model; write the likelihood's mean as safetensors.",
        discussion: """
            Reads the [N, J] tensor --tensor of --codes (a safetensors file: `vsc encode`'s, or one \
            written by numpy with safetensors.numpy.save_file({"z": z}, path)), or N codes drawn from \
            the prior with --prior-samples N (β-VAE: N(0, I); VSC: a pseudo-input component is not \
            sampled — use codes), and writes "xmean" [N, D] to OUT: the Gaussian likelihood's mean, or \
            the Bernoulli's probabilities.

            Examples:
              vsc decode runs/tiny --codes codes.safetensors --out images.safetensors
              vsc decode runs/tiny --codes codes.safetensors --tensor mu --out m.safetensors
            """)

    @OptionGroup var checkpointOption: CheckpointOption
    @Option(help: "The model spec (default: the YAML stored in the checkpoint).") var spec: String?
    @Option(help: "A safetensors file holding the codes.") var codes: String
    @Option(help: "The [N, J] tensor of --codes to decode.") var tensor: String = "z"
    @Option(help: "Output file (safetensors).") var out: String
    @OptionGroup var backendOption: BackendOption

    func run() throws {
        let trained = try loadTrained(checkpointOption.path, spec: spec)
        let file: Checkpoint
        do { file = try Checkpoint.load(path: codes) } catch let e as CheckpointError { throw CLIError(e.description) }
        let J = trained.spec.latent
        guard let t = file.tensors[tensor] else {
            throw CLIError("\(codes): no tensor \"\(tensor)\" (it holds \(file.tensors.keys.sorted().joined(separator: ", ")))")
        }
        guard t.shape.count == 2, t.shape[1] == J else {
            throw CLIError("\(codes): tensor \"\(tensor)\" has shape \(t.shape); \(trained.spec.name) decodes [N, \(J)] codes")
        }
        let runner = ModelRunner(trained, backend: try backendOption.factory(for: trained.spec))
        let x: [Float]
        do { x = try runner.decode(t.values) } catch let e as EvalError { throw CLIError(e.description) }
        try writeArrays([("xmean", t.shape[0], trained.spec.inputDim, x)],
                        metadata: ["format": "vsc-decoded", "checkpoint": checkpointOption.path, "spec_name": trained.spec.name,
                                   "codes": codes, "tensor": tensor], to: out)
        print("wrote \(out): xmean [\(t.shape[0]), \(trained.spec.inputDim)] decoded from \(codes) \"\(tensor)\"")
    }
}
