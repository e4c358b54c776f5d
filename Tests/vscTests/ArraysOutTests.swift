import Foundation
import Testing
import TestSupport
import Train
@testable import vsc

// Arrays out: `vsc encode` / `vsc decode` files that numpy opens, and bench/vsc_torch.py, which
// recomputes `vsc eval`'s test ELBO from a checkpoint in PyTorch.

/// bench/.venv's Python when `bash bench/setup.sh` has made it (torch, safetensors, pyyaml).
let benchPython: String? = {
    let py = repoRoot.appendingPathComponent("bench/.venv/bin/python").path
    guard FileManager.default.isExecutableFile(atPath: py) else { return nil }
    return (try? runProcess(py, ["-c", "import torch, safetensors, yaml, numpy"]).status) == 0 ? py : nil
}()

/// Runs `vsc ARGS` in this process (stdout goes to the test log).
func vsc(_ args: [String]) throws {
    var command = try VSC.parseAsRoot(args)
    try command.run()
}

func scratch(_ tag: String) -> String {
    let d = NSTemporaryDirectory() + "vsc-cli-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

/// The small models the loader is checked on: the paper's head and selector (Gaussian), the
/// budget VSC's choices (logsigmoid, mixture prior, signed inputs, Bernoulli), and a β-VAE.
let loaderSpecs: [(name: String, yaml: String)] = [
    ("vsc-paper", try! String(contentsOf: repoRoot.appendingPathComponent("Samples/vsc-smiley-tiny.yaml"), encoding: .utf8)),
    ("vsc-budget", """
        name: vsc-budget-mini
        kind: vsc
        data: {name: smiley, count: 600, test_count: 100}
        hidden: [48]
        latent: 6
        likelihood: bernoulli
        spike: logsigmoid
        spike_logit_penalty: 0.03
        input_normalisation: signed
        activation: tanh
        optimizer: {kind: adam, beta1: 0.85}
        prior: {alpha: 0.1, pseudo_inputs: 5, selection: {kind: mixture}, pseudo_input_init: training_images}
        schedules: {regulariser_warmup: 10, c: {start: 50, end: 200}}
        batch_size: 50
        iterations: 40
        seed: 4
        """),
    ("betavae-sgd", """
        name: betavae-sgd-mini
        kind: vae
        beta: 2
        data: {name: smiley, count: 400, test_count: 100}
        hidden: [32]
        latent: 5
        likelihood: bernoulli
        optimizer: sgd
        schedules: {learning_rate: 1.0e-2}
        batch_size: 40
        iterations: 40
        """),
    ("betavae", try! String(contentsOf: repoRoot.appendingPathComponent("Samples/betavae-smiley-tiny.yaml"), encoding: .utf8)),
    // Convolutional nets: the filters' layout, NHWC flattening and the mirrored decoder's output
    // padding (kernel 3 at stride 2: 32 → 16 → 8 and back needs it) against PyTorch's own convolutions.
    ("convvsc", """
        name: convvsc-mini
        kind: vsc
        data: {name: smiley, count: 400, test_count: 100}
        encoder:
          - {conv: 3, kernel: 3, stride: 2, padding: 1}
          - {conv: 4, kernel: 3, stride: 2, padding: 1}
          - {flatten: true}
          - {dense: 16}
        latent: 5
        prior: {alpha: 0.2, pseudo_inputs: 3, selection: {kind: paper, a: 60, b: 0.5}}
        batch_size: 20
        iterations: 40
        seed: 2
        """),
    ("convbetavae-decoder", """
        name: convbetavae-mini
        kind: vae
        data: {name: smiley, count: 400, test_count: 100}
        encoder:
          - {conv: 4, kernel: 4, stride: 2, padding: 1}
          - {flatten: true}
        decoder:
          - {dense: 256}
          - {reshape: [8, 8, 4]}
          - {conv_transpose: 4, kernel: 4, stride: 2, padding: 1}
          - {conv: 2, kernel: 3, padding: 1}
          - {conv_transpose: 1, kernel: 3, stride: 2, padding: 1, output_padding: 1}
        latent: 4
        likelihood: bernoulli
        batch_size: 20
        iterations: 40
        """),
]

@Test(arguments: loaderSpecs.map(\.name))
func pythonLoaderReproducesTheTestELBO(name: String) throws {
    let dir = scratch("loader-\(name)")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spec = dir + "/spec.yaml"
    try loaderSpecs.first { $0.name == name }!.yaml.write(toFile: spec, atomically: true, encoding: .utf8)
    try vsc(["train", "--spec", spec, "--out", dir + "/run", "--iterations", "40", "--quiet", "--no-eval", "--no-tensorboard"])
    try vsc(["data", "smiley", "--count", "300", "--seed", "9", "--out", dir + "/test.vscd"])
    try vsc(["eval", dir + "/run", "--data", dir + "/test.vscd", "--no-figures", "--quiet", "--out", dir + "/eval"])
    let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/eval/report.json"))) as! [String: Any]
    let ours = try #require(((report["elbo"] as? [String: Any])?["elbo"] as? NSNumber)?.doubleValue)

    guard let py = benchPython else {
        print("skipped: bench/.venv is missing (bash bench/setup.sh makes it); the PyTorch loader was not run for \(name)")
        return
    }
    let r = try runProcess(py, [repoRoot.appendingPathComponent("bench/vsc_torch.py").path, dir + "/run/checkpoint.safetensors", dir + "/test.vscd"])
    #expect(r.status == 0, "\(r.err)")
    let theirs = try #require((try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])?["elbo"] as? NSNumber).doubleValue
    #expect(abs(theirs - ours) <= 1e-3 * abs(ours), "\(name): vsc eval \(ours), bench/vsc_torch.py \(theirs)")
}

@Test func encodeAndDecodeWriteArraysNumpyOpens() throws {
    let dir = scratch("encode")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spec = repoRoot.appendingPathComponent("Samples/vsc-smiley-tiny.yaml").path
    try vsc(["train", "--spec", spec, "--out", dir + "/run", "--iterations", "20", "--quiet", "--no-eval", "--no-tensorboard"])
    try vsc(["encode", dir + "/run", "--data", "smiley:40", "--reconstructions", "--out", dir + "/codes.safetensors"])
    try vsc(["decode", dir + "/run", "--codes", dir + "/codes.safetensors", "--out", dir + "/x.safetensors"])
    let codes = try Checkpoint.load(path: dir + "/codes.safetensors")
    #expect(codes.tensors.keys.sorted() == ["gamma", "logvar", "mu", "xmean", "z"])
    #expect(codes.tensors["mu"]?.shape == [40, 8] && codes.tensors["xmean"]?.shape == [40, 1024])
    #expect(codes.metadata["format"] == "vsc-codes")
    let decoded = try Checkpoint.load(path: dir + "/x.safetensors")
    #expect(decoded.tensors["xmean"]?.shape == [40, 1024])
    #expect(throws: (any Error).self) { try vsc(["decode", dir + "/run", "--codes", dir + "/codes.safetensors", "--tensor", "xmean", "--out", dir + "/y.safetensors"]) }

    guard let py = benchPython else {
        print("skipped: bench/.venv is missing (bash bench/setup.sh makes it); numpy did not open the files")
        return
    }
    let r = try runProcess(py, ["-c", """
        import sys; from safetensors.numpy import load_file
        c = load_file(sys.argv[1]); x = load_file(sys.argv[2])
        print(c["mu"].shape, c["gamma"].dtype, x["xmean"].shape)
        """, dir + "/codes.safetensors", dir + "/x.safetensors"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.trimmingCharacters(in: .whitespacesAndNewlines) == "(40, 8) float32 (40, 1024)")
}

/// `vsc ir run --feeds` takes real inputs by name (shapes checked) and `--out` writes the outputs.
@Test func irRunTakesFeedsAndWritesOutputs() throws {
    let dir = scratch("ir-run")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let ir = repoRoot.appendingPathComponent("Samples/ir/mlp.ir").path
    try Checkpoint(tensors: ["x": .init(shape: [16, 32], values: [Float](repeating: 0, count: 512))]).write(to: dir + "/zeros.safetensors")
    try Checkpoint(tensors: ["x": .init(shape: [16, 32], values: [Float](repeating: 1, count: 512))]).write(to: dir + "/ones.safetensors")
    try vsc(["ir", "run", ir, "--feeds", dir + "/zeros.safetensors", "--out", dir + "/a.safetensors"])
    try vsc(["ir", "run", ir, "--feeds", dir + "/ones.safetensors", "--out", dir + "/b.safetensors"])
    let a = try Checkpoint.load(path: dir + "/a.safetensors"), b = try Checkpoint.load(path: dir + "/b.safetensors")
    #expect(a.tensors["prediction"]?.shape == [16, 8])
    #expect(a.tensors["prediction"]?.values != b.tensors["prediction"]?.values, "the fed x reaches the outputs")
    try Checkpoint(tensors: ["x": .init(shape: [16, 3], values: [Float](repeating: 0, count: 48))]).write(to: dir + "/bad.safetensors")
    #expect(throws: CLIError.self) { try vsc(["ir", "run", ir, "--feeds", dir + "/bad.safetensors"]) }
}
