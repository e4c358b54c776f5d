import Data
import Eval
import Foundation
import IR
import Models
import Passes
import Testing
import Train

/// Every reader, fed seeded mutants of valid inputs (and the regression inputs that once broke
/// one), must end in a result or a thrown error: never a trap (which would end this process),
/// never a hang. Before each case the input is written to `lastInputPath(format)`, so a crash
/// leaves its reproducer there; copy it into `Regressions/<format>/`.
/// `VSC_FUZZ_COUNT=1000 swift test --filter FuzzTests` runs the larger setting.
@Suite struct FuzzTests {
    struct Outcome: CustomStringConvertible {
        var accepted = 0, refused = 0, slowest = 0.0
        var description: String { "\(accepted + refused) inputs: \(accepted) accepted, \(refused) refused, slowest \(String(format: "%.3f", slowest)) s" }
    }

    static func lastInputPath(_ format: String) -> String { NSTemporaryDirectory() + "vsc-fuzz-last-\(format)" }

    /// Runs `consume` on the regression inputs and on `FuzzSettings.count` mutants of the seeds.
    func fuzz(_ format: String, seeds: [[UInt8]], _ consume: ([UInt8]) throws -> Void) -> Outcome {
        var out = Outcome()
        var m = Mutator(seed: FuzzSettings.seed &+ UInt64(format.utf8.reduce(0) { $0 &* 31 &+ Int($1) }.magnitude))
        let regressions = FuzzSettings.regressions(format).map(\.bytes)
        let mutants = (0..<FuzzSettings.count).map { i in m.mutate(seeds[i % seeds.count]) }
        for input in regressions + mutants {
            FileManager.default.createFile(atPath: Self.lastInputPath(format), contents: Data(input))
            let t0 = Date()
            do { try consume(input); out.accepted += 1 } catch { out.refused += 1 }
            let dt = Date().timeIntervalSince(t0)
            out.slowest = max(out.slowest, dt)
            if dt > 10 { Issue.record("\(format): an input took \(dt) s (saved at \(Self.lastInputPath(format)))") }
        }
        print("fuzz \(format): \(out)")
        return out
    }

    static var samples: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Samples").path
    }

    @Test func irText() throws {
        let dir = Self.samples + "/ir"
        let seeds = try FileManager.default.contentsOfDirectory(atPath: dir).sorted().filter { $0.hasSuffix(".ir") }
            .map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + $0))) }
        let o = fuzz("ir", seeds: seeds) { bytes in
            let g = try IRParser.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.ir")
            try g.verify()
            // What parses prints back and parses to the same graph.
            let again = try IRParser.parse(IRPrinter.print(g), file: "reprinted.ir")
            #expect(again.structuralHash == g.structuralHash, "IR round trip changed the graph")
            _ = try PassManager(pipeline: PassManager.defaultPipeline).run(g)
        }
        #expect(o.refused > 0 && o.accepted > 0, "the mutator should produce both kinds: \(o)")
    }

    @Test func specYAML() throws {
        let seeds = try ["vsc-smiley-tiny.yaml", "betavae-smiley-tiny.yaml", "vsc-fashion-tiny.yaml", "budget/vsc-smiley-15min-logsigmoid.yaml",
                         "convvsc-fashion-tiny.yaml"]
            .map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.samples + "/" + $0))) }
        let o = fuzz("spec", seeds: seeds) { bytes in
            let spec = try parseSpec(yaml: String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml")
            let model = try makeModel(spec)
            _ = try model.trainGraph(batch: spec.batchSize)
            _ = try model.encodeGraph(batch: spec.batchSize)
        }
        #expect(o.refused > 0 && o.accepted > 0, "\(o)")
    }

    @Test func checkpoint() throws {
        let spec = try parseSpec(yaml: """
            name: fuzz-ck
            kind: vsc
            data: {name: smiley, count: 20, test_count: 5}
            input_dim: 16
            hidden: [6]
            latent: 3
            prior: {alpha: 0.3, pseudo_inputs: 2}
            batch_size: 4
            iterations: 10
            """)
        let text = "name: fuzz-ck\nkind: vsc\ndata: {name: smiley, count: 20, test_count: 5}\ninput_dim: 16\nhidden: [6]\nlatent: 3\nprior: {alpha: 0.3, pseudo_inputs: 2}\nbatch_size: 4\niterations: 10\n"
        // The seed: every parameter of the model at its declared shape, so eval accepts it.
        let model = try makeModel(spec)
        let params = model.initialParameters(seed: 1)
        var tensors: [String: Checkpoint.Entry] = [:]
        for g in [try model.trainGraph(batch: 1), try model.encodeGraph(batch: 1), try model.decodeGraph(batch: 1)] {
            for p in g.parameters { tensors[p.name] = Checkpoint.Entry(shape: g[p.node].shape, values: params[p.name]!) }
        }
        let seed = try Checkpoint(tensors: tensors, metadata: ["spec": text, "iteration": "3"]).encoded()
        let path = NSTemporaryDirectory() + "vsc-fuzz-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        FileManager.default.createFile(atPath: path, contents: Data(seed))
        _ = try TrainedModel.load(checkpoint: path)   // the seed itself is accepted
        let o = fuzz("checkpoint", seeds: [seed]) { bytes in
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            _ = try TrainedModel.load(checkpoint: path)
        }
        #expect(o.refused > 0, "\(o)")
    }

    @Test func idx() throws {
        var images: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 4]
        images += (0..<48).map { UInt8($0 * 5 % 256) }
        let labels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 9]
        let o = fuzz("idx", seeds: [images, labels]) { bytes in
            let a = try parseIDX(bytes, file: "fuzz.idx")
            #expect(a.values.count == a.dims.reduce(1, *))
        }
        #expect(o.refused > 0, "\(o)")
    }

    @Test func datasetFile() throws {
        let seed = DatasetFile.encode(Smiley.generate(count: 3, seed: 1))
        let o = fuzz("dataset", seeds: [seed]) { bytes in
            let d = try DatasetFile.decode(bytes, file: "fuzz.vscdata")
            #expect(d.x.count == d.count * d.dim)
        }
        #expect(o.refused > 0, "\(o)")
    }
}
