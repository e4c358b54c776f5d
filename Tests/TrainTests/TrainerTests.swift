import SeededRandom
import Data
import Foundation
import IR
import Models
import Runtime
import Testing
@testable import Train

/// A VSC small enough to train in a debug build in seconds.
let tinyVSCYAML = """
name: vsc-test-tiny
kind: vsc
data: {name: smiley, count: 120, test_count: 20}
input_dim: 16
hidden: [12]
latent: 4
likelihood: bernoulli
prior: {alpha: 0.3, pseudo_inputs: 3}
schedules:
  warmup_iterations: 3
  ramp_iterations: 5
  c: {start: 50, end: 200}
  learning_rate:
    - {until: 12, lr: 3.0e-3}
    - {lr: 1.0e-3}
  fresh_adam_at_drop: true
batch_size: 10
iterations: 20
seed: 3
checkpoint_every: 10
"""

/// Binary 16-pixel "images": one of four prototypes with a few flipped pixels.
func syntheticData(count: Int, seed: UInt64 = 9) -> Dataset {
    var rng = Xoshiro256(seed: seed)
    let protos: [[Float]] = (0..<4).map { k in (0..<16).map { ($0 / 4 == k || $0 % 4 == k) ? 1 : 0 } }
    var x: [Float] = []
    for _ in 0..<count {
        let p = protos[rng.nextInt(below: 4)]
        x += p.map { rng.nextUniform() < 0.05 ? 1 - $0 : $0 }
    }
    return Dataset(name: "synthetic", count: count, dim: 16, x: x)
}

let interp: BackendFactory = { InterpreterProgram($0) }

func quiet(_ dir: String, _ o: (inout TrainOptions) -> Void = { _ in }) -> TrainOptions {
    var opts = TrainOptions(outDir: dir, logEvery: 1, showProgress: false, specText: tinyVSCYAML)
    o(&opts)
    return opts
}

struct Killed: Error {}

@Suite(.serialized) struct TrainerTests {
    let spec = try! parseSpec(yaml: tinyVSCYAML)
    let data = syntheticData(count: 120)

    /// A stop request (SIGINT/SIGTERM in the CLI) ends the run after the current iteration with a
    /// checkpoint of that iteration, and resuming from it reproduces the uninterrupted run bit for bit.
    @Test func interruptCheckpointsAndResumesBitForBit() throws {
        let model = try makeModel(spec)
        let dirA = scratchDir("uninterrupted-int")
        let a = try Trainer(model: model, data: data, backend: interp, options: quiet(dirA))
        var lossesA: [StepRecord] = []
        a.onStep = { lossesA.append($0) }
        _ = try a.run()

        let dirB = scratchDir("interrupted")
        var stop: Int32?
        let b = try Trainer(model: model, data: data, backend: interp, options: quiet(dirB) { $0.stopRequested = { stop } })
        b.onStep = { r in if r.iteration == 13 { stop = SIGTERM } }
        let sb = try b.run()
        #expect(sb.interruptedBy == SIGTERM && sb.iterations == 13)
        #expect(try Checkpoint.load(path: dirB + "/checkpoint.safetensors").metadata["iteration"] == "13",
                "the stop writes a checkpoint of the iteration it stopped at (13), not the last periodic one (10)")

        let c = try Trainer(model: model, data: data, backend: interp, options: quiet(dirB) { $0.resume = true })
        var lossesC: [StepRecord] = []
        c.onStep = { lossesC.append($0) }
        let sc = try c.run()
        #expect(sc.startIteration == 13 && sc.iterations == 20 && sc.interruptedBy == nil)
        #expect(lossesC == Array(lossesA.suffix(7)))
        let ckA = try Checkpoint.load(path: dirA + "/checkpoint.safetensors")
        let ckC = try Checkpoint.load(path: dirB + "/checkpoint.safetensors")
        for (n, t) in ckA.tensors { #expect(ckC.tensors[n]!.values.map(\.bitPattern) == t.values.map(\.bitPattern), "\(n)") }
    }

    /// Sizes from a spec are checked against the memory budget before anything is allocated: a
    /// Smiley set of 10⁹ test examples is an error that says how much was asked (the JIT's
    /// program-wide check is in JITBackendTests).
    @Test func specSizesOverTheMemoryBudgetAreErrors() throws {
        var big = try parseSpec(yaml: tinyVSCYAML)
        big.data.testCount = 1_000_000_000
        #expect { try loadSpecData(big) } throws: { e in "\(e)".contains("data.test_count") && "\(e)".contains("memory budget") }
        big.data.count = Int.max
        #expect { try loadSpecData(big) } throws: { "\($0)".contains("more than Int.max") }
    }

    /// The installed handler turns a real SIGINT into a pending stop request (no exit).
    @Test func signalHandlerRecordsTheSignal() throws {
        TrainingInterrupt.reset()
        TrainingInterrupt.installHandlers()
        #expect(TrainingInterrupt.pendingSignal == nil)
        // Process-directed, as a Ctrl-C is: any thread that does not block SIGINT runs the handler.
        kill(getpid(), SIGINT)
        let deadline = Date().addingTimeInterval(5)
        while TrainingInterrupt.pendingSignal == nil && Date() < deadline { usleep(1000) }
        #expect(TrainingInterrupt.pendingSignal == SIGINT)
        #expect(TrainingInterrupt.name(SIGINT) == "SIGINT" && TrainingInterrupt.name(SIGTERM) == "SIGTERM")
        TrainingInterrupt.reset()
        for s in TrainingInterrupt.signals { signal(s, SIG_DFL) }
    }

    @Test func killAndResumeReproducesTheUninterruptedLosses() throws {
        let model = try makeModel(spec)
        // Uninterrupted: 20 iterations.
        let dirA = scratchDir("uninterrupted")
        let a = try Trainer(model: model, data: data, backend: interp, options: quiet(dirA))
        var lossesA: [StepRecord] = []
        a.onStep = { lossesA.append($0) }
        _ = try a.run()
        #expect(lossesA.count == 20)

        // Killed at iteration 14 (checkpoint at 10), then resumed to 20.
        let dirB = scratchDir("killed")
        let b = try Trainer(model: model, data: data, backend: interp, options: quiet(dirB))
        var lossesB: [StepRecord] = []
        b.onStep = { r in lossesB.append(r); if r.iteration == 14 { throw Killed() } }
        #expect(throws: Killed.self) { try b.run() }
        #expect(try Checkpoint.load(path: dirB + "/checkpoint.safetensors").metadata["iteration"] == "10")

        let c = try Trainer(model: model, data: data, backend: interp, options: quiet(dirB) { $0.resume = true })
        var lossesC: [StepRecord] = []
        c.onStep = { lossesC.append($0) }
        let summary = try c.run()
        #expect(summary.startIteration == 10 && summary.iterations == 20)
        #expect(lossesC.map(\.iteration) == Array(11...20))
        // Bit for bit: every loss term of every resumed iteration (this crosses the lr drop with a
        // fresh Adam at 12 and the end of the λ ramp).
        for (r, ref) in zip(lossesC, lossesA.suffix(10)) {
            #expect(r == ref, "iteration \(r.iteration): \(r) vs \(ref)")
        }
        // The killed run's own iterations 11–14 agree too (same state, same data order).
        #expect(Array(lossesB[10..<14]) == Array(lossesA[10..<14]))
        // Final parameters identical.
        let ckA = try Checkpoint.load(path: dirA + "/checkpoint.safetensors")
        let ckC = try Checkpoint.load(path: dirB + "/checkpoint.safetensors")
        for (n, t) in ckA.tensors { #expect(ckC.tensors[n]!.values.map(\.bitPattern) == t.values.map(\.bitPattern), "\(n)") }
        #expect(ckA.metadata["data_rng"] == ckC.metadata["data_rng"])
        // Metrics: iterations 1…20 once each (the killed run's lines past 10 were replaced).
        let lines = try String(contentsOfFile: dirB + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        let its = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }.map { $0["iteration"] as! Int }
        #expect(its == Array(1...20))
    }

    @Test func resumingWithoutACheckpointOrFromAGarbledOneIsAClearError() throws {
        let model = try makeModel(spec)
        let dir = scratchDir("nockpt")
        let t = try Trainer(model: model, data: data, backend: interp, options: quiet(dir) { $0.resume = true })
        #expect { try t.run() } throws: { "\($0)".contains("no checkpoint to resume from") }
        // A garbled checkpoint: named file, what is wrong.
        try Data("{\"not\": \"a checkpoint\"}".utf8).write(to: URL(fileURLWithPath: dir + "/checkpoint.safetensors"))
        let t2 = try Trainer(model: model, data: data, backend: interp, options: quiet(dir) { $0.resume = true })
        #expect { try t2.run() } throws: { e in
            "\(e)".contains(dir + "/checkpoint.safetensors") && "\(e)".contains("not a valid checkpoint")
        }
        // A valid safetensors file of another model: named tensor missing.
        try Checkpoint(tensors: ["w": .init(shape: [1], values: [1])],
                       metadata: ["format": "vsc-checkpoint", "format_version": "1", "model_kind": "vsc", "iteration": "3",
                                  "data_count": "120", "data_rng": "1,2,3,4", "data_epoch": "0", "data_position": "0"])
            .write(to: dir + "/checkpoint.safetensors")
        let t3 = try Trainer(model: model, data: data, backend: interp, options: quiet(dir) { $0.resume = true })
        #expect { try t3.run() } throws: { e in "\(e)".contains("cannot resume") && "\(e)".contains("is missing") }
    }

    @Test func tinyVSCLossDecreases() throws {
        var s = spec
        s.iterations = 150
        s.schedules.learningRate = [.init(until: nil, lr: 3e-3)]
        let model = try makeModel(s)
        let dir = scratchDir("decrease")
        let t = try Trainer(model: model, data: syntheticData(count: 400), backend: interp,
                            options: quiet(dir) { $0.logEvery = 10 })
        let summary = try t.run()
        let first = summary.firstLosses!.loss, last = summary.lastLosses!.loss
        #expect(last < first * 0.85, "loss \(first) → \(last)")
        #expect(summary.lastLosses!.recon < summary.firstLosses!.recon)
        let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 15)
        let obj = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        for k in ["iteration", "time", "loss", "recon", "kl", "sparsity", "elbo", "lambda", "c", "lr", "it_per_s",
                  "max_kl_window", "pseudo_inputs_in_use", "selection_entropy_bits", "active_per_example",
                  "active_dims", "stuck_on_dims", "spurious_per_example"] {
            #expect(obj[k] != nil, "metrics field \(k)")
        }
    }

    @Test func nonFiniteLossStopsNamingTheNodeAndIteration() throws {
        // c runs 1 → −1 over 11 iterations: log(c) is −inf at iteration 6 (c = 0).
        var s = spec
        s.schedules.c = .linear(start: 1, end: -1, iterations: 11)
        s.checkpointEvery = 4
        let model = LogCModel(spec: s)
        let dir = scratchDir("nan")
        let t = try Trainer(model: model, data: data, backend: interp, options: quiet(dir))
        do {
            _ = try t.run()
            Issue.record("training did not stop")
        } catch let e as TrainError {
            let text = "\(e)"
            #expect(e.iteration == 6, "\(text)")
            #expect(text.contains("iteration 6"), "\(text)")
            #expect(text.contains("= log("), "names the log node: \(text)")
            let g = try model.trainGraph(batch: 10)
            let logNode = g.nodes.first { $0.op == .unary(.log) }!
            #expect(text.contains("  // \(logNode.location!)") && text.contains("TrainTests/TrainerTests.swift:"),
                    "with its source line: \(text)")
            #expect(text.contains("is intact"), "\(text)")
        }
        let ck = try Checkpoint.load(path: dir + "/checkpoint.safetensors")
        #expect(ck.metadata["iteration"] == "4")
        #expect(ck.tensors["w"]!.values.allSatisfy { $0.isFinite })
    }

    @Test func progressLinesForLogs() {
        var out: [String] = []
        let bar = ProgressBar(total: 100, isTTY: false, plainEvery: 1e9, sink: { out.append($0) })
        for i in 1...100 {
            bar.update(StepRecord(iteration: i, loss: 1, recon: 0.5, kl: 0.25, sparsity: 0.125, elbo: -0.75, lambda: 1, c: 50, learningRate: 1e-3))
        }
        // One line per 10 % (plus the first), each ending in a newline, no carriage returns.
        #expect(out.count == 11)
        #expect(out.allSatisfy { $0.hasSuffix("\n") && !$0.contains("\r") })
        #expect(out.last!.contains("100/100") && out.last!.contains("it/s") && out.last!.contains("ETA")
                && out.last!.contains("recon 0.5000") && out.last!.contains("kl") && out.last!.contains("sparsity"))
        var tty: [String] = []
        let bar2 = ProgressBar(total: 3, isTTY: true, sink: { tty.append($0) })
        bar2.update(StepRecord(iteration: 1, loss: 1, recon: 1, kl: 0, sparsity: 0, elbo: -1, lambda: 1, c: 1, learningRate: 1))
        bar2.finish()
        #expect(tty.first!.hasPrefix("\r") && tty.last == "\n")
    }
}

/// A user-defined model whose KL term is log(c): non-finite once the c schedule reaches 0.
struct LogCModel: GenerativeModel {
    let spec: ModelSpec
    func trainGraph(batch: Int) throws -> Graph {
        let g = Graph(name: "logc")
        let x = try g.input("x", [batch, spec.inputDim])
        let c = try g.input("c", [])
        _ = try g.input("lambda", []); _ = try g.input("step", [])
        let w = try g.parameter("w", [spec.inputDim, 2])
        let h = try x.matmul(w)
        let recon = try h.square().mean()
        let kl = try c.log()
        let zero = try g.constant(0)
        try g.output("loss", recon + kl)
        try g.output("recon", recon)
        try g.output("kl", kl)
        try g.output("sparsity", zero)
        try g.output("elbo", -(recon + kl))
        return g
    }
    func encodeGraph(batch: Int) throws -> Graph { Graph() }
    func decodeGraph(batch: Int) throws -> Graph { Graph() }
    func initialParameters(seed: UInt64) -> [String: [Float]] {
        ["w": (0..<(spec.inputDim * 2)).map { Float($0 % 5) * 0.1 - 0.2 }]
    }
}

@Suite struct SpecDataTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func smileySpecLoadsAndTrains() throws {
        var spec = try loadSpec(path: SpecDataTests.repo + "/Samples/vsc-smiley-tiny.yaml")
        spec.data.count = 200
        spec.data.testCount = 50
        let data = try loadSpecData(spec)
        #expect(data.train.count == 200 && data.test.count == 50)
        #expect(data.train.dim == 1024 && data.train.imageShape?.h == 32)
        // Same seed, same images; the test images differ from the training ones.
        #expect(try loadSpecData(spec).train.x == data.train.x)
        #expect(Array(data.test.x.prefix(1024)) != Array(data.train.x.prefix(1024)))
        let dir = scratchDir("smiley-spec")
        let t = try Trainer(model: try makeModel(spec), data: data.train, backend: interp,
                            options: quiet(dir) { $0.iterations = 3; $0.specText = "(test)" })
        let s = try t.run()
        #expect(s.iterations == 3 && s.last!.isFinite)
        let ck = try Checkpoint.load(path: dir + "/checkpoint.safetensors")
        #expect(ck.metadata["iteration"] == "3" && ck.metadata["model_kind"] == "vsc" && ck.metadata["spec_name"] == "vsc-smiley-tiny")
        // Parameters and both Adam moments of each, plus the step.
        #expect(ck.tensors.count == 3 * t.parameterNames.count + 1)
        #expect(ck.tensors["adam.t"]!.values == [3])
    }

    /// A spec pointing at a generated folder of PNG and JPEG images (mixed sizes, one grey)
    /// loads through the data-set table and trains (issue 17).
    @Test func anImageFolderSpecTrains() throws {
        let dir = scratchDir("image-folder")
        for split in ["train", "test"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + split, withIntermediateDirectories: true)
            for i in 0..<12 {
                let (w, h) = (8 + i % 3 * 4, 10 + i % 2 * 6)
                let channels = i == 5 ? 1 : 3
                let px = (0..<(w * h * channels)).map { UInt8(min(255, ($0 * 7 + i * 20) % 200)) }
                let path = dir + "/\(split)/\(i)" + (i % 2 == 0 ? ".png" : ".jpg")
                if i % 2 == 0 { try writePNG(path: path, width: w, height: h, pixels: px, channels: channels) }
                else { try ImageFolder.writeJPEG(path: path, width: w, height: h, pixels: px, channels: channels) }
            }
        }
        let spec = try parseSpec(yaml: "name: faces\nkind: vsc\ndata: {name: images, path: \(dir), size: 6, channels: 3}\nhidden: [8]\nlatent: 3\nlikelihood: bernoulli\nprior: {pseudo_inputs: 2}\nbatch_size: 4\niterations: 5\n")
        #expect(spec.inputDim == 108)
        let data = try loadSpecData(spec)
        #expect(data.train.count == 12 && data.test.count == 12 && data.train.dim == 108)
        let run = scratchDir("image-folder-run")
        let s = try Trainer(model: try makeModel(spec), data: data.train, backend: interp,
                            options: quiet(run) { $0.specText = "(test)" }).run()
        #expect(s.iterations == 5 && s.last!.isFinite)
    }

    @Test func betaVAETrainsToo() throws {
        var spec = try parseSpec(yaml: tinyVSCYAML.replacingOccurrences(of: "kind: vsc", with: "kind: vae\nbeta: 2")
            .replacingOccurrences(of: "prior: {alpha: 0.3, pseudo_inputs: 3}\n", with: ""))
        spec.iterations = 30
        let dir = scratchDir("vae")
        let s = try Trainer(model: try makeModel(spec), data: syntheticData(count: 100), backend: interp, options: quiet(dir)).run()
        #expect(s.last!.sparsity == 0)
        #expect(s.lastLosses!.loss < s.firstLosses!.loss)
        #expect(try Checkpoint.load(path: dir + "/checkpoint.safetensors").metadata["model_kind"] == "vae(beta=2.0)")
    }

    @Test func wrongInputDimIsAClearError() throws {
        let spec = try parseSpec(yaml: tinyVSCYAML)
        #expect { try Trainer(model: try makeModel(spec), data: Dataset(name: "d", count: 3, dim: 5, x: Array(repeating: 0, count: 15)),
                              backend: interp, options: quiet(scratchDir("dim"))) }
            throws: { "\($0)".contains("5 features") && "\($0)".contains("input_dim 16") }
    }
}

/// A model with a loss term of its own (as β-TCVAE's total correlation will be): it outputs
/// "kl_twice" from its train graph and lists it in `lossTerms`; the trainer, the progress line
/// and metrics.jsonl pick it up with no change outside the model.
struct ModelWithExtraTerm: GenerativeModel {
    let base: any GenerativeModel
    var spec: ModelSpec { base.spec }
    var lossTerms: [LossTerm] = LossTerm.standard + [LossTerm("kl_twice")]
    func trainGraph(batch: Int) throws -> Graph {
        let g = try base.trainGraph(batch: batch)
        let two = try g.add(.constant(.splat(2)), shape: [], dtype: .f32)
        g.setOutput("kl_twice", try g.add(.binary(.mul), inputs: [g.output(GraphNames.kl)!, two]))
        return g
    }
    func encodeGraph(batch: Int) throws -> Graph { try base.encodeGraph(batch: batch) }
    func decodeGraph(batch: Int) throws -> Graph { try base.decodeGraph(batch: batch) }
    func initialParameters(seed: UInt64) -> [String: [Float]] { base.initialParameters(seed: seed) }
}

@Test func aModelsOwnLossTermIsLogged() throws {
    let spec = try parseSpec(yaml: tinyVSCYAML)
    let dir = scratchDir("extra-term")
    var lines: [String] = []
    let t = try Trainer(model: ModelWithExtraTerm(base: try makeModel(spec)), data: syntheticData(count: 120), backend: interp,
                        options: quiet(dir) { $0.iterations = 3 })
    let s = try t.run()
    let last = try #require(s.last)
    #expect(last.terms.map(\.term.name) == ["loss", "recon", "kl", "sparsity", "elbo", "kl_twice"])
    #expect(abs(try #require(last[term: "kl_twice"]) - 2 * last.kl) <= 1e-5 * max(1, abs(last.kl)))
    #expect(s.lastLosses?[term: "kl_twice"] != nil)
    lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
    #expect(lines.count == 3)
    for l in lines {
        let o = try #require(try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any])
        let kl = try #require(o["kl"] as? Double), twice = try #require(o["kl_twice"] as? Double)
        #expect(abs(twice - 2 * kl) <= 1e-5 * max(1, abs(kl)))
    }
    let bar = ProgressBar(total: 3, isTTY: false, sink: { _ in })
    #expect(bar.line(last, rate: 1).contains("kl_twice "))
    // Every model logs the standard terms: a list without them is refused, naming the first missing.
    var partial = ModelWithExtraTerm(base: try makeModel(spec))
    partial.lossTerms = [LossTerm("loss"), LossTerm("kl_twice")]
    #expect { _ = try Trainer(model: partial, data: syntheticData(count: 120), backend: interp, options: quiet(scratchDir("partial-terms"))) }
        throws: { "\($0)".contains("omit \"recon\"") }
}
