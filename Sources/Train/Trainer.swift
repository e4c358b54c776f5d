import Data
import Foundation
import IR
import Models
import Passes
import Runtime
import SeededRandom

/// Makes an executable program from a graph: the backend is a parameter of training
/// (`{ InterpreterProgram($0) }` for the interpreter; the LLVM JIT provides another).
public typealias BackendFactory = (Graph) throws -> Program

/// A data-parallel run whose ranks differ (`checkRanksAgree`). Every rank raises it, with the same
/// message, right after the same all-gather, so the job can end cleanly on every rank — no
/// MPI_Abort, whose concurrent calls from several ranks can leave OpenMPI's runtime waiting.
public struct RanksDisagree: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "error: " + message }
}

/// An error of the training loop; the message is complete (file, iteration, node).
public struct TrainError: Error, CustomStringConvertible {
    public var message: String
    /// For a non-finite loss: the iteration (1-based) and the first node producing NaN/Inf.
    public var iteration: Int?
    public var node: NodeID?
    public init(_ message: String, iteration: Int? = nil, node: NodeID? = nil) {
        self.message = message; self.iteration = iteration; self.node = node
    }
    public var description: String { "error: " + message }
}

/// How a run is driven (everything else comes from the model's spec).
public struct TrainOptions {
    /// Total iterations (overrides the spec's `iterations`).
    public var iterations: Int?
    /// Where `checkpoint.safetensors` and `metrics.jsonl` go (created if missing).
    public var outDir: String
    /// Checkpoint interval in iterations (overrides the spec's `checkpoint_every`); one is also
    /// written at the end.
    public var checkpointEvery: Int?
    /// Continue from `outDir/checkpoint.safetensors`.
    public var resume: Bool
    /// Start over in an `outDir` that already holds a run (its checkpoint and metrics are
    /// replaced). Without it (or `resume`) such a folder is refused, so re-running a spec never
    /// wipes a finished run.
    public var overwrite: Bool
    /// Overrides the spec's seed (parameter initialisation and data order).
    public var seed: UInt64?
    /// Write a metrics line every this many iterations (and at the last one).
    public var logEvery: Int
    /// Show the progress bar on stderr.
    public var showProgress: Bool
    /// Run every step with the program's NaN/Inf check on (otherwise the loss terms are checked
    /// every step and a bad step is replayed with the check on to name the node).
    public var alwaysCheckFinite: Bool
    /// The spec's YAML text, stored in checkpoints' metadata.
    public var specText: String?
    /// The backend's name, stored in checkpoints (resuming is bit-exact on the same backend).
    public var backendName: String
    /// Rewrites the train-step graph before the backend compiles it (the optimisation pipeline,
    /// e.g. `{ try PassManager.default.run($0).graph }`); nil runs it as built.
    public var optimize: ((Graph) throws -> Graph)?
    /// Polled after every iteration: a signal number stops the run there, with a checkpoint of
    /// that iteration (the CLI passes `TrainingInterrupt.pendingSignal`); nil never stops.
    public var stopRequested: (() -> Int32?)?
    /// Test metrics of the current parameters (test ELBO, active dims, …), called every
    /// `evalEvery` iterations and at the end; they go to `metrics.jsonl` (keys prefixed `test_`),
    /// the event file and the progress output. Evaluation lives above training (Eval), so the
    /// caller supplies it; nil: none.
    public var evaluate: ((_ parameters: [String: [Float]], _ iteration: Int) throws -> [(name: String, value: Double)])?
    /// Overrides the spec's `eval_every`.
    public var evalEvery: Int?
    /// Also write the logged scalars to a TensorBoard event file in `outDir`.
    public var tensorBoard: Bool = true

    public init(outDir: String, iterations: Int? = nil, checkpointEvery: Int? = nil, resume: Bool = false,
                overwrite: Bool = false, seed: UInt64? = nil, logEvery: Int = 10, showProgress: Bool = true,
                alwaysCheckFinite: Bool = false, specText: String? = nil, backendName: String = "interp",
                optimize: ((Graph) throws -> Graph)? = nil, stopRequested: (() -> Int32?)? = nil) {
        self.outDir = outDir; self.iterations = iterations; self.checkpointEvery = checkpointEvery
        self.resume = resume; self.overwrite = overwrite; self.seed = seed; self.logEvery = logEvery; self.showProgress = showProgress
        self.alwaysCheckFinite = alwaysCheckFinite; self.specText = specText; self.backendName = backendName
        self.optimize = optimize; self.stopRequested = stopRequested
    }
}

extension GenerativeModel {
    /// The whole training step as one graph: the model's train graph, its gradients and the Adam
    /// update, with the spec's gradient clipping (`schedules.clip_grad_norm`). The one definition
    /// `vsc train`, `vsc compile` and `vsc bench` share.
    /// With `dataParallel` over N > 1 ranks, `batch` is the per-rank batch and the step sums the
    /// gradients over the ranks (`buildTrainStep`).
    public func trainStepGraph(batch: Int, dataParallel: DataParallel? = nil) throws -> Graph {
        try trainStepGraph(of: try trainGraph(batch: batch), dataParallel: dataParallel)
    }

    /// The training step built on `forward`, a train graph of this model (left unchanged).
    public func trainStepGraph(of forward: Graph, dataParallel: DataParallel? = nil) throws -> Graph {
        try buildTrainStep(forward, loss: GraphNames.loss, optimizer: spec.optimizer,
                           clipNorm: spec.schedules.clipGradNorm, dataParallel: dataParallel)
    }
}

/// What a finished run reports.
public struct TrainSummary {
    /// Iterations completed in total (including those before a resume) and in this run.
    public var iterations: Int
    public var startIteration: Int
    /// The last iteration's loss terms.
    public var last: StepRecord?
    /// The mean of each loss term over the first and the last 10 % of this run's iterations.
    public var firstLosses: StepRecord?
    public var lastLosses: StepRecord?
    /// Training iterations per second (this run; graph building and compiling excluded).
    public var iterationsPerSecond: Double
    public var seconds: Double
    /// Seconds to build the train-step graph and create the program.
    public var setupSeconds: Double
    public var checkpointPath: String
    public var metricsPath: String
    /// The signal that stopped the run early (its checkpoint holds `iterations`), or nil.
    public var interruptedBy: Int32? = nil
}

/// The training loop. The whole step — forward, backward, Adam update — is one program built once
/// (`trainGraph` → `buildTrainStep` with Adam); its `new.*` outputs are carried into the parameter
/// and moment buffers after every run, so an iteration is: pick a minibatch (seeded data order),
/// write it into the "x" buffer, write the schedule values ("lambda", "c", "lr", "step",
/// "adam.t"), run, read the loss terms.
///
///     let trainer = try Trainer(model: model, data: trainSet, backend: { InterpreterProgram($0) },
///                               options: TrainOptions(outDir: "runs/vsc-smiley-tiny"))
///     let summary = try trainer.run()
public final class Trainer {
    public let model: GenerativeModel
    public let spec: ModelSpec
    /// The model's loss terms, read from the step's outputs each iteration.
    let lossTerms: [LossTerm]
    public let data: Dataset
    public let options: TrainOptions
    /// The train-step graph (after `options.optimize`) and its program.
    public let stepGraph: Graph
    public let program: Program
    public let totalIterations: Int
    public let checkpointEvery: Int
    public let seed: UInt64
    public var checkpointPath: String { options.outDir + "/" + RunFiles.checkpoint }
    public let evalEvery: Int
    /// Training seconds of the runs before this one (a resumed checkpoint's `train_seconds`).
    var secondsBefore = 0.0
    /// When this run's loop started (nil before `run`).
    var runStart: Date?
    /// Seconds spent training, summed over every run of this folder (resumes included).
    public var trainingSeconds: Double { secondsBefore + (runStart.map { Date().timeIntervalSince($0) } ?? 0) }
    public var metricsPath: String { options.outDir + "/" + RunFiles.metrics }
    /// Called after every iteration with its loss terms; throwing stops the run at once (no final
    /// checkpoint: this is how tests simulate a killed run).
    public var onStep: ((StepRecord) throws -> Void)?
    /// Where progress and messages go (stderr by default).
    public var progressSink: ((String) -> Void)?

    /// The ranks of a data-parallel run (`mpirun -np N vsc train`; rank 0 of 1 otherwise). Rank r
    /// trains on rows r·localBatch ..< (r+1)·localBatch of the single-process minibatch; only
    /// rank 0 writes files.
    public let world: Collective.World
    /// Examples per step on this rank: the spec's batch split over the ranks.
    public let localBatch: Int
    /// Set in `step` under MPI: some rank was asked to stop (a signal), so every rank stops
    /// after this iteration.
    var stopAgreed = false
    /// The structural hash of the forward train graph (what the ranks compare before training;
    /// 0 in one process).
    let forwardGraphHash: UInt64

    /// Names of the parameters the step updates, and of all the state a checkpoint holds.
    public let parameterNames: [String]
    public let momentNames: [String]
    public let setupSeconds: Double

    /// The state the next iteration starts from.
    public internal(set) var iteration = 0
    var adamT = 0
    var order: DataOrder
    /// The state at the last checkpoint (or the start), for replaying a step that went non-finite.
    var anchor: State?
    /// The iteration of the checkpoint file this run wrote or resumed from (nil: none yet).
    var savedIteration: Int?
    /// What a failed run leaves on disk, truthfully.
    var checkpointNote: String {
        if let k = savedIteration { return "the last checkpoint (\(checkpointPath), iteration \(k)) is intact" }
        return "no checkpoint was written yet (the first is due at iteration \(min(checkpointEvery, totalIterations)))"
    }

    struct State {
        var iteration: Int
        var adamT: Int
        var order: DataOrder
        var tensors: [String: [Float]]
    }

    public init(model: GenerativeModel, data: Dataset, backend: BackendFactory, options: TrainOptions) throws {
        let t0 = Date()
        self.model = model
        spec = model.spec
        self.data = data
        self.options = options
        totalIterations = options.iterations ?? spec.iterations
        checkpointEvery = max(1, options.checkpointEvery ?? spec.checkpointEvery)
        evalEvery = max(1, options.evalEvery ?? spec.evalEvery)
        seed = options.seed ?? spec.seed
        guard totalIterations >= 0 else { throw TrainError("iterations must be ≥ 0, got \(totalIterations)") }
        guard data.count > 0 else { throw TrainError("the training set \"\(data.name)\" is empty") }
        guard data.dim == spec.inputDim else {
            throw TrainError("the training set \"\(data.name)\" has \(data.dim) features per example, the spec \"\(spec.name)\" expects input_dim \(spec.inputDim)")
        }
        world = Collective.world
        guard spec.batchSize % world.size == 0 else {
            throw TrainError("rank \(world.rank): batch_size \(spec.batchSize) of the spec \"\(spec.name)\" does not split over \(world.size) ranks"
                             + " (the global batch is the spec's, each rank takes batch_size / ranks examples): choose a multiple of \(world.size)")
        }
        localBatch = spec.batchSize / world.size
        let forward = try model.trainGraph(batch: localBatch)
        forwardGraphHash = world.isDistributed ? forward.structuralHash : 0
        let parallel = world.isDistributed ? DataParallel(rank: world.rank, ranks: world.size, batch: localBatch) : nil
        let raw = try model.trainStepGraph(of: forward, dataParallel: parallel)
        let step = try options.optimize?(raw) ?? raw
        stepGraph = step
        program = try backend(step)
        program.carryOutputs(prefix: TrainStepNames.updatedPrefix)
        let carried = Set(program.carries.map(\.leaf))
        parameterNames = step.parameters.map(\.name).filter { carried.contains($0) }
        // Adam's moments (none with optimizer sgd).
        momentNames = parameterNames.flatMap { [TrainStepNames.adamFirstMoment($0), TrainStepNames.adamSecondMoment($0)] }
            .filter { step.leaf(named: $0) != nil }
        guard let xb = program.buffer(GraphNames.x), xb.count == localBatch * data.dim else {
            throw TrainError("the train-step program has no input \"x\" of \(localBatch) × \(data.dim) values")
        }
        lossTerms = model.lossTerms
        for t in LossTerm.standard where !lossTerms.contains(where: { $0.name == t.name }) {
            throw TrainError("the model's lossTerms omit \"\(t.name)\" (every model logs \(LossTerm.standard.map(\.name).joined(separator: ", ")))")
        }
        for name in Set(lossTerms.map(\.name)).union(LossTerm.standard.map(\.name)).sorted() where step.output(name) == nil {
            throw TrainError("the model's train graph has no output \"\(name)\"")
        }
        order = DataOrder(count: data.count, seed: seed ^ 0x6461_7461_6f72_6472)  // "dataordr"

        // Initial state: seeded parameters, zero moments.
        let (data, spec, seed) = (self.data, self.spec, self.seed)
        let initial = try model.initialParameters(seed: seed) { n in
            guard n <= data.count else {
                throw TrainError("the spec \"\(spec.name)\" initialises parameters from \(n) training examples, the training set \"\(data.name)\" has \(data.count)")
            }
            var picker = DataOrder(count: data.count, seed: seed ^ 0x7073_6575_646f_696e)  // "pseudoin"
            let d = data.dim
            var rows = [Float](); rows.reserveCapacity(n * d)
            for e in picker.next(n) { rows += data.x[(e * d)..<((e + 1) * d)] }
            return rows
        }
        for p in step.parameters {
            guard let v = initial[p.name] else { throw TrainError("the model gives no initial value for parameter \"\(p.name)\"") }
            try program.set(p.name, v)
        }
        for m in momentNames { program.buffer(m)?.update(repeating: 0) }
        setupSeconds = Date().timeIntervalSince(t0)
    }

    // MARK: One step

    /// The loss terms of iteration `i` (0-based), which must be the next one. Exactly what an
    /// uninterrupted run does, so replays and resumes reproduce it.
    func step(checkFinite: Bool) throws -> StepRecord {
        let i = iteration
        let sv = schedule(spec, iteration: i)
        if spec.schedules.freshAdamAtDrop, i > 0,
           learningRatePhase(spec, iteration: i) != learningRatePhase(spec, iteration: i - 1) {
            for m in momentNames { program.buffer(m)?.update(repeating: 0) }
            adamT = 0
        }
        // The single-process minibatch; this rank's rows of it.
        let idx = order.next(spec.batchSize)[(world.rank * localBatch)..<((world.rank + 1) * localBatch)]
        let d = data.dim
        let xb = program.buffer(GraphNames.x)!
        data.x.withUnsafeBufferPointer { src in
            for (r, e) in idx.enumerated() {
                (xb.baseAddress! + r * d).update(from: src.baseAddress! + e * d, count: d)
            }
        }
        for f in scalarFeeds(sv, iteration: i, datasetSize: data.count) { setScalar(f.name, f.value) }
        setScalar(TrainStepNames.learningRate, sv.learningRate)
        adamT += 1
        setScalar(TrainStepNames.adamStep, Double(adamT))
        program.checkFinite = checkFinite
        defer { program.checkFinite = false }
        try program.run()
        iteration += 1
        var values = lossTerms.map { out($0.name) }
        if world.isDistributed {
            // The loss terms are means over this rank's examples: their mean over the ranks is the
            // global batch's. One small blocking all-reduce also carries the stop votes, so every
            // rank stops after the same iteration.
            var buf = values + [options.stopRequested?() != nil ? 1 : 0]
            buf.withUnsafeMutableBufferPointer { Collective.allreduceSum($0.baseAddress!, count: $0.count) }
            values = buf.dropLast().map { $0 / Float(world.size) }
            stopAgreed = buf.last! > 0
        }
        return StepRecord(iteration: iteration, terms: zip(lossTerms, values).map { .init($0, $1) },
                          lambda: sv.lambda, c: sv.c, learningRate: sv.learningRate,
                          gradNorm: program.output(gradNormOutput).flatMap { $0.first })
    }

    let gradNormOutput = TrainStepNames.gradNorm

    /// The collapse diagnostics of the last step's minibatch, if the model's train graph has the
    /// diagnostic outputs (VSC).
    public func diagnostics() -> CollapseDiagnostics? {
        typealias D = GraphNames.Diagnostic
        guard let sel = program.output(D.selection.output), let gamma = program.output(D.gamma.output),
              let prior = program.output(D.priorGamma.output) else { return nil }
        let u = spec.prior.pseudoInputs, j = spec.latent, b = localBatch
        guard sel.count == b * u, gamma.count == b * j, prior.count == u * j else { return nil }
        return CollapseDiagnostics(selection: sel, gamma: gamma, priorGamma: prior, batch: b, pseudoInputs: u, latent: j)
    }

    func setScalar(_ name: String, _ v: Double) {
        if let b = program.buffer(name), b.count == 1 { b[0] = Float(v) }
    }
    func out(_ name: String) -> Float { program.output(name).flatMap { $0.first } ?? .nan }

    // MARK: The loop

    public func run() throws -> TrainSummary {
        // Under MPI only rank 0 writes (folder, lock, checkpoints, metrics, events, progress).
        let writes = world.rank == 0
        if writes { try FileManager.default.createDirectory(atPath: options.outDir, withIntermediateDirectories: true) }
        let lock = writes ? try RunFolderLock(folder: options.outDir) : nil
        defer { lock?.release() }
        if writes && !options.resume && !options.overwrite {
            let held = [checkpointPath, metricsPath].filter { FileManager.default.fileExists(atPath: $0) }
            if !held.isEmpty {
                throw TrainError("\(options.outDir) already holds a run (\(held.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")));"
                                 + " pass --resume to continue it, --overwrite to start over (replacing its files), or choose another --out")
            }
        }
        let sink = progressSink
        func say(_ s: String) { (sink ?? { FileHandle.standardError.write($0.data(using: .utf8)!) })(s + "\n") }
        if options.resume {
            let ck: Checkpoint
            if writes {
                guard FileManager.default.fileExists(atPath: checkpointPath) else {
                    throw TrainError("\(checkpointPath): no checkpoint to resume from")
                }
                ck = try Checkpoint.load(path: checkpointPath)
                if world.isDistributed { _ = Collective.broadcastFromRank0(try ck.encoded()) }
            } else {
                // Rank 0 reads the checkpoint and sends it: the other ranks need no shared folder.
                ck = try Checkpoint.decode(Collective.broadcastFromRank0(nil), file: "\(checkpointPath) (from rank 0)")
            }
            try restore(from: ck, file: checkpointPath)
            savedIteration = iteration
            if writes, let old = ck.metadata["spec"], let cur = options.specText, !old.isEmpty, old != cur {
                say("warning: the spec differs from the one the checkpoint was trained with")
            }
            if writes, let b = ck.metadata["backend"], b != options.backendName {
                say("note: the checkpoint was written by the \(b) backend; resuming on \(options.backendName) is not bit-exact")
            }
        }
        let start = iteration
        if world.isDistributed { try checkRanksAgree(start: start) }
        var interruptedBy: Int32?
        let metrics = writes ? try MetricsWriter(path: metricsPath, keepThrough: options.resume ? start : nil) : nil
        let bar = options.showProgress && writes ? ProgressBar(total: totalIterations, startIteration: start, sink: sink) : nil
        bar?.showsSpikeSchedule = spec.kind.facts.hasSpikes
        let events = options.tensorBoard && writes ? try EventFileWriter(folder: options.outDir) : nil
        anchor = capture()
        let t0 = Date()
        runStart = t0
        var lastLogTime = t0, lastLogIteration = start
        var records: [StepRecord] = []
        var last: StepRecord?
        var window = WindowStatistics()
        defer { bar?.finish() }
        // Writes the current state and makes it the anchor a non-finite step is replayed from.
        func saveCheckpoint() throws {
            let s = capture()
            if writes { try checkpoint().write(to: checkpointPath) }
            anchor = s
            savedIteration = s.iteration
        }

        while iteration < totalIterations {
            let r: StepRecord
            do { r = try step(checkFinite: options.alwaysCheckFinite) }
            catch let e as RuntimeError where e.node != nil {
                throw TrainError("training stopped at iteration \(iteration + 1): \(e.message)\n  \(checkpointNote)",
                                 iteration: iteration + 1, node: e.node)
            }
            if !r.isFinite { try diagnoseNonFinite(r) }
            last = r
            records.append(r)
            window.add(kl: r.kl, gradNorm: r.gradNorm, clip: spec.schedules.clipGradNorm)
            let now = Date()
            if r.iteration % max(1, options.logEvery) == 0 || r.iteration == totalIterations {
                let rate = Double(r.iteration - lastLogIteration) / max(now.timeIntervalSince(lastLogTime), 1e-9)
                var extra: [(String, Double)] = [("max_kl_window", Double(window.maxKL)), ("median_kl_window", Double(window.medianKL))]
                if let g = r.gradNorm {
                    extra += [("grad_norm", Double(g)), ("max_grad_norm_window", Double(window.maxGradNorm ?? g)),
                              ("clipped_steps_window", Double(window.clippedSteps))]
                }
                var note = "maxKL \(fmt(window.maxKL))"
                if let d = diagnostics() { extra += d.fields; note = d.summary + "  " + note }
                bar?.note = note
                try metrics?.log(r, time: trainingSeconds, itPerSec: rate, extra: extra)
                try events?.scalars(r.terms.map { ("train/" + $0.term.name, Double($0.value)) }
                                    + [("schedule/lambda", r.lambda), ("schedule/c", r.c), ("schedule/lr", r.learningRate)]
                                    + extra.map { ("diagnostics/" + $0.0, $0.1) }, step: r.iteration)
                lastLogTime = now; lastLogIteration = r.iteration
                window = WindowStatistics()
            }
            bar?.update(r)
            if writes, let evaluate = options.evaluate, r.iteration % evalEvery == 0 || r.iteration == totalIterations {
                let t = Date()
                let fields = try evaluate(currentParameters(), r.iteration)
                try metrics?.logTest(iteration: r.iteration, time: trainingSeconds, fields: fields)
                try events?.scalars(fields.map { ("test/" + $0.name, $0.value) }, step: r.iteration)
                let shown = fields.prefix(4).map { "\($0.name) \(fmt($0.value, 4))" }.joined(separator: "  ")
                bar?.message("test @ \(r.iteration): \(shown)  (\(fmt(Date().timeIntervalSince(t), 2)) s)")
            }
            try onStep?(r)
            if r.iteration % checkpointEvery == 0 || r.iteration == totalIterations { try saveCheckpoint() }
            if let sig = world.isDistributed ? (stopAgreed ? options.stopRequested?() ?? SIGTERM : nil) : options.stopRequested?() {
                if savedIteration != iteration { try saveCheckpoint() }
                interruptedBy = sig
                break
            }
        }
        let seconds = Date().timeIntervalSince(t0)
        if iteration == start && writes {
            // Nothing to do (already trained that far): still leave a checkpoint.
            try checkpoint().write(to: checkpointPath)
        }
        let k = max(1, records.count / 10)
        return TrainSummary(iterations: iteration, startIteration: start, last: last,
                            firstLosses: Trainer.mean(records.prefix(k)), lastLosses: Trainer.mean(records.suffix(k)),
                            iterationsPerSecond: seconds > 0 ? Double(iteration - start) / seconds : 0,
                            seconds: seconds, setupSeconds: setupSeconds,
                            checkpointPath: checkpointPath, metricsPath: metricsPath, interruptedBy: interruptedBy)
    }

    /// Before the first step of a data-parallel run: every rank must train the same thing from the
    /// same state. Each rank contributes its spec hash, forward-graph hash, parameter count
    /// (tensors and values), per-rank batch, iterations and first iteration; a rank differing from
    /// rank 0 stops every rank with an error naming it (every rank sees every rank's values, so all
    /// of them decide the same).
    func checkRanksAgree(start: Int) throws {
        let fields = ["spec hash", "graph hash", "parameter tensors", "parameter values", "per-rank batch",
                      "iterations", "first iteration", "seed"]
        let values = parameterNames.reduce(0) { $0 + (program.buffer($1)?.count ?? 0) }
        let mine: [UInt64] = [fnv1a(options.specText ?? spec.name), forwardGraphHash, UInt64(parameterNames.count),
                              UInt64(values), UInt64(localBatch), UInt64(totalIterations), UInt64(start), seed]
        let all = Collective.allgather(mine)
        for (r, theirs) in all.enumerated() where theirs != all[0] {
            let k = zip(theirs, all[0]).enumerated().first { $0.element.0 != $0.element.1 }!.offset
            throw RanksDisagree("rank \(r) of \(world.size) disagrees with rank 0 on the \(fields[k]) (\(theirs[k]) vs \(all[0][k]))"
                                + ": every rank must run the same spec, build and checkpoint; no rank trained")
        }
    }

    /// The parameters as they are now (no Adam state).
    public func currentParameters() -> [String: [Float]] {
        var p: [String: [Float]] = [:]
        for n in parameterNames { p[n] = program.values(n) }
        return p
    }

    static func mean<C: Collection>(_ rs: C) -> StepRecord? where C.Element == StepRecord {
        guard let lastR = rs.reversed().first else { return nil }
        let n = Float(rs.count)
        let terms = lastR.terms.indices.map { k in
            StepRecord.Term(lastR.terms[k].term, rs.map { $0.terms[k].value }.reduce(0, +) / n)
        }
        return StepRecord(iteration: lastR.iteration, terms: terms, lambda: lastR.lambda, c: lastR.c,
                          learningRate: lastR.learningRate, gradNorm: lastR.gradNorm)
    }
}
