import Foundation
import Testing
@testable import Train
import Models
import Runtime

/// Run folders keep what is saved in them (issue 14): a folder holding a run is refused unless
/// --resume or --overwrite says what to do, two runs never share a folder, stale temporaries
/// from killed writes are removed by the next write, and a failed run says truthfully what exists.
@Suite(.serialized) struct RunFolderTests {
    let spec = try! parseSpec(yaml: tinyVSCYAML)
    let data = syntheticData(count: 120)

    @Test func aFolderHoldingARunIsRefusedUnlessResumeOrOverwrite() throws {
        let model = try makeModel(spec)
        let dir = scratchDir("guard")
        _ = try Trainer(model: model, data: data, backend: interp, options: quiet(dir) { $0.iterations = 5 }).run()
        let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/checkpoint.safetensors"))
        do {
            _ = try Trainer(model: model, data: data, backend: interp, options: quiet(dir) { $0.iterations = 5 }).run()
            Issue.record("a second run into the same folder was accepted")
        } catch let e as TrainError {
            #expect(e.message.contains("already holds a run") && e.message.contains("--resume") && e.message.contains("--overwrite"), "\(e)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/checkpoint.safetensors")) == before, "nothing saved is lost")
        let resumed = try Trainer(model: model, data: data, backend: interp, options: quiet(dir) { $0.iterations = 8; $0.resume = true }).run()
        #expect(resumed.startIteration == 5 && resumed.iterations == 8)
        let over = try Trainer(model: model, data: data, backend: interp, options: quiet(dir) { $0.iterations = 3; $0.overwrite = true }).run()
        #expect(over.startIteration == 0 && over.iterations == 3)
        #expect(try Checkpoint.load(path: dir + "/checkpoint.safetensors").metadata["iteration"] == "3")
    }

    @Test func twoRunsCannotHoldOneFolder() throws {
        let dir = scratchDir("lock")
        let first = try RunFolderLock(folder: dir)
        #expect(throws: TrainError.self) { _ = try RunFolderLock(folder: dir) }
        let model = try makeModel(spec)
        do {
            _ = try Trainer(model: model, data: data, backend: interp, options: quiet(dir) { $0.iterations = 2 }).run()
            Issue.record("a run started in a locked folder")
        } catch let e as TrainError {
            #expect(e.message.contains("another training run"), "\(e)")
        }
        first.release()
        let again = try RunFolderLock(folder: dir)   // free once released
        again.release()
    }

    @Test func theNextWriteRemovesStaleTemporaries() throws {
        let dir = scratchDir("stale")
        let path = dir + "/checkpoint.safetensors"
        for k in 0..<3 { #expect(FileManager.default.createFile(atPath: dir + "/.checkpoint.safetensors.tmp-1234-\(k)", contents: Data([1, 2, 3]))) }
        #expect(FileManager.default.createFile(atPath: dir + "/.other.tmp-1", contents: Data([1])))
        try Checkpoint.atomicWrite([0, 1, 2, 3], to: path, failAfterBytes: nil)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(names == [".other.tmp-1", "checkpoint.safetensors"], "\(names)")
    }

    @Test func aFailureBeforeTheFirstCheckpointSaysNoneExists() throws {
        var s = spec
        s.schedules.c = .linear(start: 1, end: -1, iterations: 11)   // log(c) is −inf at iteration 6
        s.checkpointEvery = 50
        let dir = scratchDir("nan-early")
        do {
            _ = try Trainer(model: LogCModel(spec: s), data: data, backend: interp, options: quiet(dir)).run()
            Issue.record("training did not stop")
        } catch let e as TrainError {
            #expect(e.message.contains("no checkpoint was written yet") && !e.message.contains("is intact"), "\(e)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/checkpoint.safetensors"))
    }

    @Test func specNamesAreOnePathComponent() throws {
        for bad in ["../../../x", "a/b", ".hidden", "", "sp ace"] {
            #expect(throws: SpecError.self, "\(bad)") { try parseSpec(yaml: "name: \"\(bad)\"\nkind: vae\ndata: smiley\nhidden: [8]\nlatent: 4\n") }
        }
        #expect(try parseSpec(yaml: "name: vsc-smiley_1.5\nkind: vae\ndata: smiley\nhidden: [8]\nlatent: 4\n").name == "vsc-smiley_1.5")
    }
}

extension RunFolderTests {
    /// --resume refuses what eval refuses (one validation) and an Adam step count that is not a
    /// Float32-exact integer (3e38 trapped `Int(Float)` before).
    @Test func resumeRefusesNonFiniteTensorsAndAHugeAdamStep() throws {
        let model = try makeModel(spec)
        let dir = scratchDir("resume-validate")
        _ = try Trainer(model: model, data: data, backend: interp, options: quiet(dir) { $0.iterations = 2 }).run()
        let path = dir + "/checkpoint.safetensors"
        let good = try Checkpoint.load(path: path)
        for (tensor, value, fragment) in [("adam.t", Float(3e38), "not a step count"), ("enc.h0.w", Float.nan, "index 0")] {
            var ck = good
            ck.tensors[tensor]!.values[0] = value
            try ck.write(to: path)
            let t = try Trainer(model: model, data: data, backend: interp, options: quiet(dir) { $0.iterations = 4; $0.resume = true })
            #expect { try t.run() } throws: { e in "\(e)".contains("cannot resume") && "\(e)".contains(fragment) }
        }
    }
}

extension RunFolderTests {
    /// A checkpoint trained with another seed (`vsc train --seed N`, resumed without it) is refused,
    /// naming both seeds: the seed decides the graph's noise and the Smiley data, so continuing
    /// would silently train a different run. The same seed resumes.
    @Test func resumeRefusesAnotherSeed() throws {
        let model = try makeModel(spec)
        let dir = scratchDir("resume-seed")
        _ = try Trainer(model: model, data: data, backend: interp, options: quiet(dir) { $0.iterations = 2; $0.seed = 7 }).run()
        let other = try Trainer(model: model, data: data, backend: interp, options: quiet(dir) { $0.iterations = 4; $0.resume = true })
        #expect { try other.run() } throws: { e in
            "\(e)".contains("cannot resume") && "\(e)".contains("trained with seed 7") && "\(e)".contains("--seed 7")
        }
        let same = try Trainer(model: model, data: data, backend: interp, options: quiet(dir) { $0.iterations = 4; $0.resume = true; $0.seed = 7 })
        #expect(try same.run().iterations == 4)
    }
}
