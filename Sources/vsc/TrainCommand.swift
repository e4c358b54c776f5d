import ArgumentParser
import Eval
import Foundation
import IR
import JIT
import Models
import Passes
import Runtime
import Train

/// Reads a spec file, returning the parsed spec and its text (stored in checkpoints).
func readSpec(_ path: String) throws -> (ModelSpec, String) {
    do {
        let spec = try loadSpec(path: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return (spec, text)
    } catch let e as SpecError { throw CLIError(e.description) }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model from a spec: one compiled train-step program, checkpoints, metrics, progress.",
        discussion: """
            Writes DIR/checkpoint.safetensors (parameters, Adam state, iteration, data-order RNG; \
            safetensors layout, written atomically) every --checkpoint-every iterations and at the \
            end, DIR/metrics.jsonl (one JSON object per logged iteration, and one per test \
            evaluation with test_* keys, every --eval-every iterations) and a TensorBoard event file \
            (tensorboard --logdir DIR: train/*, schedule/*, diagnostics/*, test/*). A DIR that already \
            holds a run is refused unless --resume or --overwrite says what to do with it, and two \
            runs never write into one DIR at once. --resume continues \
            from DIR's checkpoint and gives the same losses, bit for bit, as an uninterrupted run \
            on the same backend. A non-finite loss stops training with an error naming the first \
            node that produced NaN/Inf and the iteration; the last checkpoint stays intact. Ctrl-C \
            or SIGTERM stops after the current iteration with a checkpoint of it (exit status \
            128 + the signal); a second Ctrl-C ends at once.

            Data-parallel over MPI: `mpirun -np N vsc train --spec S --out D` runs N ranks (a single process \
            needs no mpirun). The spec's batch_size is the global batch, split N ways (it must \
            divide); rank r trains on its rows of the single-process minibatch with its rows of the \
            noise, the gradients are averaged by an all-reduce before the update, so N ranks follow \
            the single-process run. Only rank 0 writes files and prints. A rank that fails or \
            disagrees with rank 0 (spec, graph, parameters) stops every rank, naming itself. Each \
            rank takes its share of the host's cores (one thread with 2 ranks on 2 cores).

            Examples:
              vsc train --spec Samples/vsc-smiley-tiny.yaml --out runs/tiny
              vsc train --spec Samples/vsc-smiley-tiny.yaml --out runs/tiny --resume
            """)

    @Option(help: "The model spec (YAML).") var spec: String
    @Option(help: "Total iterations (default: the spec's).") var iterations: Int?
    @OptionGroup var backendOption: BackendOption
    @Option(help: "Output folder (default: runs/<spec name>).") var out: String?
    @Flag(help: "Continue from the checkpoint in the output folder.") var resume = false
    @Flag(help: "Start over in an output folder that already holds a run (replaces its checkpoint and metrics).")
    var overwrite = false
    @Option(help: "Checkpoint every N iterations (default: the spec's).") var checkpointEvery: Int?
    @Option(help: "Seed for initialisation, noise and data order (default: the spec's).") var seed: UInt64?
    @Option(help: "Write a metrics line every N iterations (N ≥ 1).") var logEvery: Int = 10
    @Option(help: "Evaluate the test ELBO and metrics every N iterations and at the end (default: the spec's eval_every).")
    var evalEvery: Int?
    @Flag(help: "No test evaluation while training.") var noEval = false
    @Flag(inversion: .prefixedNo, help: "Write a TensorBoard event file into the output folder.") var tensorboard = true
    @OptionGroup var pipelineOptions: PipelineOptions
    @Flag(help: "Check every node for NaN/Inf on every step (otherwise only the loss; a bad step is replayed with checks).")
    var checkFinite = false
    @Flag(help: "No progress bar.") var quiet = false

    func validate() throws {
        if resume && overwrite { throw ValidationError("--resume and --overwrite exclude each other: continue the run, or start it over") }
        if let n = iterations, n < 0 { throw ValidationError("--iterations must be ≥ 0, got \(n)") }
        if let n = checkpointEvery, n < 1 { throw ValidationError("--checkpoint-every must be ≥ 1, got \(n)") }
        // 0 used to log every iteration (it was clamped to 1), the opposite of what it reads as.
        if let n = evalEvery, n < 1 { throw ValidationError("--eval-every must be ≥ 1, got \(n) (--no-eval turns evaluation off)") }
        if logEvery < 1 { throw ValidationError("--log-every must be ≥ 1, got \(logEvery) (metrics are always written; raise N to write fewer)") }
    }

    func run() throws {
        // A single process never touches MPI.
        guard Collective.launchedByMPI else { return try train(world: nil) }
        let world = Collective.start()
        do {
            try train(world: world)
            Collective.finalize()
        } catch let e as ExitCode {
            // Stopped by a signal, on every rank at the same iteration, with a checkpoint.
            Collective.finalize()
            throw e
        } catch let e as RanksDisagree {
            // Every rank found the same disagreement: rank 0 names it and all end together.
            // (The barrier: no rank exits — and so has mpirun stop the job — before rank 0 wrote.)
            if world.rank == 0 { FileHandle.standardError.write(Data("vsc train: \(e.message)\n".utf8)) }
            Collective.barrier()
            Collective.finalize()
            throw ExitCode(1)
        } catch {
            // Stop every rank now: they would wait for this one in the next all-reduce.
            let message = (error as? CLIError)?.message ?? "\(error)"
            FileHandle.standardError.write(Data("vsc train: rank \(world.rank) of \(world.size): \(message)\n".utf8))
            Collective.abort(1)
        }
    }

    func train(world: Collective.World?) throws {
        let rank = world?.rank ?? 0, ranks = world?.size ?? 1
        let quiet = self.quiet || rank != 0
        var (spec, text) = try readSpec(self.spec)
        if let s = seed { spec.seed = s }
        let backend = backendOption.backend.rawValue
        // Ranks sharing a host split its cores: the JIT's 2-thread pool and OpenBLAS's threads.
        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, world?.localSize ?? 1))
        if world != nil { BLASThreads.limitAll(to: threads) }
        let baseFactory = try backendOption.factory(for: spec)
        let factory: BackendFactory = { g in
            let p = try baseFactory(g)
            if threads < 2, world != nil, let j = p as? JITProgram { j.usesThreadPool = false }
            return p
        }
        let pipeline: PassManager?
        do { pipeline = pipelineOptions.passes == "none" ? nil : try pipelineOptions.passManager() }
        catch let e as PassError { throw CLIError(e.message) }
        let outDir = out ?? "runs/\(spec.name)"

        let t0 = Date()
        let data: SpecData
        do { data = try loadSpecData(spec) }
        catch let e as TrainError { throw CLIError(e.message) }
        catch { throw CLIError("\(error)") }
        let model = try makeModel(spec)
        let loadSeconds = Date().timeIntervalSince(t0)
        var options = TrainOptions(outDir: outDir, iterations: iterations, checkpointEvery: checkpointEvery,
                                   resume: resume, overwrite: overwrite, seed: seed, logEvery: logEvery, showProgress: !quiet,
                                   alwaysCheckFinite: checkFinite, specText: text, backendName: backend,
                                   optimize: pipeline.map { pm in { g in
                                       let r = try pm.run(g)
                                       if pm.collectStats { FileHandle.standardError.write(Data(PassManager.formatStats(r.stats).utf8)) }
                                       return r.graph
                                   } },
                                   stopRequested: { TrainingInterrupt.pendingSignal })
        options.evalEvery = evalEvery
        options.tensorBoard = tensorboard
        if !noEval {
            let test = data.test, evalSpec = spec
            options.evaluate = { parameters, _ in
                do { return try liveTestMetrics(spec: evalSpec, parameters: parameters, test: test, backend: factory) }
                catch let e as EvalError { throw TrainError("test evaluation: \(e.message)") }
            }
        }
        let trainer: Trainer
        let summary: TrainSummary
        do {
            trainer = try Trainer(model: model, data: data.train, backend: factory, options: options)
            let stats = GraphStats(trainer.stepGraph)
            log("vsc train: \(spec.name) (\(spec.kind.facts.name)) on \(data.train.name): \(data.train.count) examples × \(data.train.dim), batch \(spec.batchSize)")
            log("  train step: \(stats.nodes) nodes (\(stats.executable) executable, \(stats.matmuls) matmuls, \(stats.kernels) fused kernels), peak \(bytes(stats.peakBytes)), \(flops(stats.flops)) FLOPs/step; backend \(backendOption.describe(spec: spec))")
            log("  setup: data \(String(format: "%.2f", loadSeconds)) s, graph + compile \(String(format: "%.2f", trainer.setupSeconds)) s")
            if ranks > 1 {
                let payload = BucketAllReduce.bytesPerStep(trainer.stepGraph)
                log("  data-parallel: \(ranks) ranks × batch \(trainer.localBatch) (global \(spec.batchSize)), \(threads) thread(s) per rank;"
                    + " all-reduce \(bytes(payload))/step in \(BucketAllReduce.buckets(trainer.stepGraph).count) bucket(s)")
            }
            TrainingInterrupt.installHandlers()
            summary = try trainer.run()
        } catch let e as TrainError { throw CLIError(e.message) }
        catch let e as PassError { throw CLIError(e) }
        catch let e as CheckpointError { throw CLIError(e.message) }

        if rank != 0 {
            if let sig = summary.interruptedBy { throw ExitCode(128 + sig) }
            return
        }
        if let sig = summary.interruptedBy {
            print("\(spec.name): stopped by \(TrainingInterrupt.name(sig)) after iteration \(summary.iterations) of \(trainer.totalIterations);"
                  + " checkpoint written (\(summary.checkpointPath))")
            print("  continue with: \(ranks > 1 ? "mpirun -np \(ranks) " : "")vsc train --spec \(self.spec)\(seed.map { " --seed \($0)" } ?? "") --out \(outDir) --resume")
            throw ExitCode(128 + sig)
        }
        if summary.iterations == summary.startIteration {
            print("\(spec.name): already trained for \(summary.iterations) iterations; nothing to do (raise --iterations to continue)")
            print("  checkpoint: \(summary.checkpointPath)")
            return
        }
        print("trained \(spec.name): iterations \(summary.startIteration + 1)…\(summary.iterations) of \(summary.iterations) on \(backend)"
              + (summary.startIteration > 0 ? " (resumed at \(summary.startIteration))" : ""))
        if let l = summary.last {
            print("  final: " + l.terms.map { "\($0.term.name) \(f($0.value))" }.joined(separator: "  "))
        }
        if let a = summary.firstLosses, let b = summary.lastLosses, summary.iterations > summary.startIteration {
            print("  mean loss over the first / last 10 %: \(f(a.loss)) → \(f(b.loss))" + (b.loss < a.loss ? " (decreased)" : " (did not decrease)"))
        }
        print("  \(String(format: "%.1f", summary.iterationsPerSecond)) it/s (\(String(format: "%.1f", summary.seconds)) s for \(summary.iterations - summary.startIteration) iterations)")
        if ranks > 1 {
            // Rank 0's time blocked in communication: the JIT's waits for its buckets (what the
            // backward pass did not hide) plus the blocking all-reduces (the interpreter's
            // gradients, every step's loss terms).
            let steps = Double(max(1, summary.iterations - summary.startIteration))
            let waits = (trainer.program as? JITProgram)?.allReduceWaitSeconds ?? 0
            print("  communication (rank 0): \(String(format: "%.2f", (waits + Collective.blockingSeconds) / steps * 1000)) ms/step waiting"
                  + " (\(String(format: "%.2f", waits / steps * 1000)) in bucket waits), \(bytes(BucketAllReduce.bytesPerStep(trainer.stepGraph)))/step all-reduced")
        }
        print("  checkpoint: \(summary.checkpointPath)")
        print("  metrics:    \(summary.metricsPath)")
    }

    func log(_ s: String) { if !quiet { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) } }
    func f(_ v: Float) -> String { String(format: "%.4f", Double(v)) }
}

func bytes(_ n: Int) -> String {
    let d = Double(n)
    if d >= 0x1p30 { return String(format: "%.2f GiB", d / 0x1p30) }
    if d >= 0x1p20 { return String(format: "%.2f MiB", d / 0x1p20) }
    if d >= 0x1p10 { return String(format: "%.1f KiB", d / 0x1p10) }
    return "\(n) B"
}

func flops(_ n: Int) -> String {
    let d = Double(n)
    if d >= 1e9 { return String(format: "%.2f G", d / 1e9) }
    if d >= 1e6 { return String(format: "%.2f M", d / 1e6) }
    if d >= 1e3 { return String(format: "%.1f k", d / 1e3) }
    return "\(n)"
}
