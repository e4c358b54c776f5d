import Foundation
import Data
import Testing
@testable import Models

/// The repository's Samples/ folder, found from this file's path.
let samplesDir: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("Samples").path
}()

let minimalSpec = """
    kind: vsc
    data: smiley
    hidden: [16]
    latent: 4
    """

/// The SpecError a YAML text raises (fails the test if it parses).
func specError(_ yaml: String) -> SpecError? {
    do { _ = try parseSpec(yaml: yaml, file: "t.yaml"); Issue.record("expected a spec error"); return nil }
    catch let e as SpecError { return e }
    catch { Issue.record("unexpected error \(error)"); return nil }
}

@Suite struct SpecTests {
    @Test(arguments: ["vsc-smiley", "betavae-smiley", "vsc-fashion", "betavae-fashion", "vsc-har", "vsc-celeba",
                      "vsc-smiley-tiny", "betavae-smiley-tiny", "vsc-fashion-tiny", "vsc-har-tiny"])
    func shippedSpecParses(_ name: String) throws {
        let spec = try loadSpec(path: samplesDir + "/\(name).yaml")
        #expect(spec.name == name)
        _ = try makeModel(spec)
    }

    /// Every budget spec (the README's main job and its baselines) parses, builds, and is named
    /// after its file, so `vsc train` writes to runs/<file name>.
    @Test func budgetSpecsParse() throws {
        let dir = samplesDir + "/budget"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 7)
        for f in files {
            let spec = try loadSpec(path: dir + "/" + f)
            #expect(spec.name + ".yaml" == f)
            _ = try makeModel(spec)
        }
    }

    /// D.2's CelebA: 32×32×3 = 3,072 inputs from the image geometry, J = 300.
    @Test func celebASpecAndImageGeometry() throws {
        let c = try loadSpec(path: samplesDir + "/vsc-celeba.yaml")
        #expect(c.data.dataset == .imageFolder && c.data.options == DataSetOptions(imageSize: 32, channels: 3))
        #expect(c.inputDim == 3072 && c.latent == 300 && c.iterations == 500_000 && c.hidden == [3000])
        let grey = try parseSpec(yaml: "data: {name: images, path: x, size: 8, channels: 1}\nhidden: [4]\nlatent: 2\n")
        #expect(grey.inputDim == 64)
        let size = try #require(specError("data: {name: smiley, size: 8}\nhidden: [4]\nlatent: 2\n"))
        #expect(size.key == "data.size" && size.line == 1 && size.message.contains("only for image data sets (images)"))
        let ch = try #require(specError("data: {name: images, path: x,\n  channels: 2}\nhidden: [4]\nlatent: 2\n"))
        #expect(ch.key == "data.channels" && ch.line == 2 && ch.message.contains("1 (grey) or 3 (RGB)"))
    }

    @Test func paperNumbers() throws {
        let s = try loadSpec(path: samplesDir + "/vsc-smiley.yaml")
        #expect(s.hidden == [3000] && s.latent == 60 && s.prior.pseudoInputs == 20 && s.prior.alpha == 0.01)
        #expect(s.batchSize == 500 && s.iterations == 200_000)
        #expect(s.schedules.warmupIterations == 50_000 && s.schedules.rampIterations == 10_000)
        #expect(s.schedules.learningRate == [.init(until: 60_000, lr: 5e-4), .init(until: nil, lr: 5e-5)])
        let f = try loadSpec(path: samplesDir + "/vsc-fashion.yaml")
        #expect(f.inputDim == 784 && f.iterations == 70_000 && f.schedules.warmupIterations == 15_000)
        let h = try loadSpec(path: samplesDir + "/vsc-har.yaml")
        #expect(h.inputDim == 561 && h.data.dataset == .har)
        let b = try loadSpec(path: samplesDir + "/betavae-smiley.yaml")
        #expect(b.kind == .vae(beta: 1) && b.schedules.learningRate == [.init(until: nil, lr: 5e-5)])
    }

    @Test func defaults() throws {
        let s = try parseSpec(yaml: minimalSpec, file: "m.yaml", defaultName: "m")
        #expect(s.name == "m" && s.kind == .vsc && s.inputDim == 1024 && s.likelihood == .gaussian && s.spike == .relu)
        #expect(s.prior == ModelSpec.Prior(alpha: 0.5, pseudoInputs: 100, selection: .init(a: 60, b: 0.5)))
        #expect(s.schedules.c == .linear(start: 50, end: 200, iterations: 0))
        #expect(s.inputNormalisation == .none && s.warmupForm == .paper && s.batchSize == 100)
    }

    @Test func unknownKeyNamesKeyAndLine() throws {
        let e = specError(minimalSpec + "\nprior:\n  alpha: 0.1\n  alhpa: 0.2\n")
        #expect(e?.key == "prior.alhpa")
        #expect(e?.line == 7)
        #expect(e?.description.hasPrefix("t.yaml:7:") == true)
        #expect(e?.description.contains("unknown key") == true)
        #expect(specError(minimalSpec + "\nlatnet: 3\n")?.key == "latnet")
    }

    @Test func badValues() throws {
        let a = specError(minimalSpec + "\nprior: {alpha: 1.5}\n")
        #expect(a?.key == "prior.alpha" && a?.line == 5 && a?.message.contains("(0, 1)") == true)
        let n = specError(minimalSpec.replacingOccurrences(of: "latent: 4", with: "latent: -3"))
        #expect(n?.key == "latent" && n?.line == 4)
        let h = specError(minimalSpec.replacingOccurrences(of: "hidden: [16]", with: "hidden: [16, 0]"))
        #expect(h?.key == "hidden[1]" && h?.line == 3)
        let l = specError(minimalSpec + "\nlikelihood: poisson\n")
        #expect(l?.key == "likelihood" && l?.message.contains("gaussian, bernoulli") == true)
        let lr = specError(minimalSpec + "\nschedules:\n  learning_rate:\n    - {until: 100, lr: 1e-3}\n    - {until: 50, lr: 1e-4}\n")
        #expect(lr?.key == "schedules.learning_rate[1].until" && lr?.line == 8)
        #expect(specError(minimalSpec + "\nbeta: 4\n")?.key == "beta")
        #expect(specError(minimalSpec.replacingOccurrences(of: "vsc", with: "vae") + "\nprior: {alpha: 0.1}\n")?.key == "prior")
        #expect(specError(minimalSpec + "\nkind: vae\n")?.message.contains("duplicate") == true)
    }

    @Test func wrongTypes() throws {
        let t = specError(minimalSpec.replacingOccurrences(of: "latent: 4", with: "latent: [4]"))
        #expect(t?.key == "latent" && t?.message.contains("integer") == true && t?.line == 4)
        let h = specError(minimalSpec.replacingOccurrences(of: "hidden: [16]", with: "hidden: {a: 1}"))
        #expect(h?.key == "hidden" && h?.line == 3)
        let p = specError(minimalSpec + "\nprior: 3\n")
        #expect(p?.key == "prior" && p?.message.contains("mapping") == true)
        let b = specError(minimalSpec + "\nschedules: {fresh_adam_at_drop: maybe}\n")
        #expect(b?.key == "schedules.fresh_adam_at_drop")
        let y = specError("kind: [vsc\n")
        #expect(y?.message.contains("YAML") == true)
    }

    @Test func cForms() throws {
        #expect(try parseSpec(yaml: minimalSpec + "\nschedules: {c: 100}\n").schedules.c == .fixed(100))
        #expect(try parseSpec(yaml: minimalSpec + "\nschedules: {c: {fixed: 100}}\n").schedules.c == .fixed(100))
        #expect(try parseSpec(yaml: minimalSpec + "\nschedules: {c: {start: 10, end: 20, iterations: 5}}\n").schedules.c
                == .linear(start: 10, end: 20, iterations: 5))
    }

    @Test func schedules() throws {
        let s = try parseSpec(yaml: minimalSpec + """

            iterations: 101
            schedules:
              warmup_iterations: 10
              ramp_iterations: 20
              learning_rate: [{until: 50, lr: 1e-3}, {lr: 1e-4}]
            """)
        #expect(schedule(s, iteration: 0) == ScheduleValues(lambda: 0, c: 50, learningRate: 1e-3))
        #expect(schedule(s, iteration: 9).lambda == 0)
        #expect(schedule(s, iteration: 20).lambda == 0.5)
        #expect(schedule(s, iteration: 30).lambda == 1)
        #expect(schedule(s, iteration: 50) == ScheduleValues(lambda: 1, c: 125, learningRate: 1e-4))
        #expect(schedule(s, iteration: 100).c == 200 && schedule(s, iteration: 500).c == 200)
        #expect(learningRatePhase(s, iteration: 49) == 0 && learningRatePhase(s, iteration: 50) == 1)
        let none = try parseSpec(yaml: minimalSpec)
        #expect(schedule(none, iteration: 0).lambda == 1)
    }

    /// loadSpec refuses a FIFO (it would block), a device and an oversized file before reading.
    @Test func loadSpecRefusesWhatIsNotARegularYAMLFile() throws {
        let dir = NSTemporaryDirectory() + "vsc-spec-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(mkfifo(dir + "/pipe.yaml", 0o600) == 0)
        #expect { try loadSpec(path: dir + "/pipe.yaml") } throws: { "\($0)".contains("not a regular file") }
        #expect { try loadSpec(path: "/dev/zero") } throws: { "\($0)".contains("not a regular file") }
        #expect { try loadSpec(path: dir) } throws: { "\($0)".contains("directory") }
        let big = dir + "/big.yaml"
        #expect(FileManager.default.createFile(atPath: big, contents: Data(repeating: 0x20, count: maxSpecBytes + 1)))
        #expect { try loadSpec(path: big) } throws: { "\($0)".contains("at most \(maxSpecBytes) bytes") }
    }
}
