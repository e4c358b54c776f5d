import ArgumentParser
import Foundation
import Testing
import JIT
import Models
@testable import vsc

/// Every command reachable from `vsc`, with its path ("vsc ir opt").
func allCommands(_ c: ParsableCommand.Type = VSC.self, path: [String] = []) -> [(path: [String], type: ParsableCommand.Type)] {
    let name = c.configuration.commandName ?? c._commandName
    let here = path + [name]
    return [(here, c)] + c.configuration.subcommands.flatMap { allCommands($0, path: here) }
}

@Test func everyCommandsHelpHasAnExample() {
    let commands = allCommands()
    #expect(commands.count >= 15)
    for (path, type) in commands {
        let help = VSC.helpMessage(for: type, columns: 200)
        let invocation = path.joined(separator: " ")
        // An example is a line of the help that runs this very command.
        let examples = help.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix(invocation) }
        #expect(help.contains("Example"), "\(invocation) --help has no example")
        #expect(!examples.isEmpty, "\(invocation) --help shows no line starting with '\(invocation)'")
        // At the width of a terminal, every line of the examples block is a whole command.
        let lines = VSC.helpMessage(for: type, columns: 80).split(separator: "\n", omittingEmptySubsequences: false)
        if let start = lines.firstIndex(where: { $0.hasPrefix("Example") }) {
            for line in lines[(start + 1)...].prefix(while: { !$0.isEmpty }) {
                #expect(line.hasPrefix("  vsc "), "\(invocation) --help: an example wraps at 80 columns: '\(line)'")
            }
        }
    }
}

@Test func versionIsAvailable() {
    #expect(VSC.configuration.version == VSC.version)
    #expect(!VSC.version.isEmpty)
}

/// The option names that mean the same thing everywhere: no command spells them another way.
@Test func oneSpellingPerConcept() {
    for (path, type) in allCommands() {
        let help = VSC.helpMessage(for: type, columns: 200)
        for old in ["--batch ", "--backends", "--steps", "--interp-steps"] {
            #expect(!help.contains(old), "\(path.joined(separator: " ")) --help still shows \(old)")
        }
    }
}

@Test func choicesAreValidatedWithTheValidValuesListed() throws {
    do {
        _ = try VSC.parseAsRoot(["bench", "--backend", "cuda"])
        Issue.record("bench --backend cuda was accepted")
    } catch {
        let message = VSC.message(for: error)
        #expect(message.contains("interp") && message.contains("jit"), "\(message)")
    }
    do {
        _ = try VSC.parseAsRoot(["bench", "--backends", "interp,cuda"])
        Issue.record("bench --backends interp,cuda was accepted")
    } catch {
        #expect(VSC.message(for: error).contains("valid: interp, jit"))
    }
    do {
        _ = try VSC.parseAsRoot(["data", "info", "smiley", "--split", "validation"])
        Issue.record("--split validation was accepted")
    } catch {
        #expect(VSC.message(for: error).contains("train"))
    }
}

@Test func oldSpellingsStillParse() throws {
    let bench = try #require(try VSC.parseAsRoot(["bench", "--steps", "5", "--backends", "jit", "--batch", "8"]) as? BenchCommand)
    #expect(bench.steps == 5)
    #expect(try bench.selectedBackends() == [.jit])
    #expect(bench.batch == 8)
    let compile = try #require(try VSC.parseAsRoot(["compile", "--spec", "x.yaml", "--batch", "3"]) as? CompileCommand)
    #expect(compile.batchSizeOption.value == 3)
}

@Test func logEveryZeroIsRefused() {
    #expect(throws: (any Error).self) { try VSC.parseAsRoot(["train", "--spec", "x.yaml", "--log-every", "0"]) }
}

@Test func evalTakesARunFolder() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vsc-eval-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let eval = try #require(try VSC.parseAsRoot(["eval", dir.path]) as? EvalCommand)
    #expect(eval.checkpointOption.path == dir.path + "/checkpoint.safetensors")
    #expect(CheckpointOption.checkpointPath("a/b.safetensors") == "a/b.safetensors")
    #expect(throws: (any Error).self) { try VSC.parseAsRoot(["eval"]) }
    #expect(throws: (any Error).self) { try VSC.parseAsRoot(["eval", dir.path, "--checkpoint", "c.safetensors"]) }
}

@Test func cliErrorsSayErrorOnce() {
    #expect(CLIError("error: x").message == "error: x")
    #expect(CLIError("f.ir:1:2: error: x").message == "f.ir:1:2: error: x")
    #expect(CLIError("f.vscd: truncated").message == "error: f.vscd: truncated")
}

/// `--gemm jit|blas` (what computes the JIT's matmuls) on the commands that build programs, with
/// the host's default (jit exactly when LLVM reports avx512f) when it is not given.
@Test func gemmChoiceParsesOnTrainAndBench() throws {
    let train = try #require(try VSC.parseAsRoot(["train", "--spec", "x.yaml", "--gemm", "blas"]) as? TrainCommand)
    #expect(train.backendOption.gemmOption.kernel == .blas)
    let bench = try #require(try VSC.parseAsRoot(["bench", "--gemm", "jit"]) as? BenchCommand)
    #expect(bench.gemmOption.kernel == .jit)
    let plain = try #require(try VSC.parseAsRoot(["bench"]) as? BenchCommand)
    #expect(plain.gemmOption.kernel == GEMMKernel.hostDefault)
    #expect(GEMMKernel.hostDefault == (HostTarget.host.hasAVX512F ? .jit : .blas))
    do {
        _ = try VSC.parseAsRoot(["train", "--spec", "x.yaml", "--gemm", "mkl"])
        Issue.record("--gemm mkl was accepted")
    } catch {
        let message = VSC.message(for: error)
        #expect(message.contains("blas") && message.contains("jit"), "\(message)")
    }
    #expect(throws: (any Error).self) { try VSC.parseAsRoot(["bench", "--gemm-shapes", "--gemm-threads", "3"]) }
}

/// `--precision fp32|bf16` on the commands that build programs: it overrides the spec's
/// `precision` key, and combinations that cannot run are refused while parsing, naming the flag
/// (bf16 with OpenBLAS computing the matmuls, or on the interpreter).
@Test func precisionParsesAndOverridesTheSpecKey() throws {
    var spec = try parseSpec(yaml: "name: p\ndata: smiley\nhidden: [8]\nlatent: 2\nprecision: bf16\n", file: "p.yaml", defaultName: "p")
    #expect(spec.precision == .bf16)
    let train = try #require(try VSC.parseAsRoot(["train", "--spec", "x.yaml", "--precision", "fp32"]) as? TrainCommand)
    #expect(train.backendOption.precisionOption.resolved(spec: spec) == .fp32)
    let plain = try #require(try VSC.parseAsRoot(["train", "--spec", "x.yaml"]) as? TrainCommand)
    #expect(plain.backendOption.precisionOption.resolved(spec: spec) == .bf16)
    spec.precision = .fp32
    #expect(plain.backendOption.precisionOption.resolved(spec: spec) == .fp32)
    #expect(plain.backendOption.precisionOption.resolved(spec: nil) == .fp32)
    let bench = try #require(try VSC.parseAsRoot(["bench", "--precision", "fp32"]) as? BenchCommand)
    #expect(bench.precisionOption.precision == .fp32)
    for arguments in [["train", "--spec", "x.yaml", "--precision", "bf16", "--gemm", "blas"],
                      ["bench", "--precision", "bf16", "--gemm", "blas"]] {
        do {
            _ = try VSC.parseAsRoot(arguments)
            Issue.record("\(arguments) was accepted")
        } catch {
            let message = VSC.message(for: error)
            #expect(message.contains("--gemm jit") && message.contains("--precision bf16"), "\(message)")
        }
    }
    do {
        _ = try VSC.parseAsRoot(["train", "--spec", "x.yaml", "--precision", "bf16", "--backend", "interp"])
        Issue.record("--precision bf16 --backend interp was accepted")
    } catch {
        #expect(VSC.message(for: error).contains("interpreter"))
    }
    #expect(throws: (any Error).self) { try VSC.parseAsRoot(["train", "--spec", "x.yaml", "--precision", "fp16"]) }
    // The spec key refuses other values, naming the key.
    #expect(throws: SpecError.self) { try parseSpec(yaml: "name: p\ndata: smiley\nhidden: [8]\nlatent: 2\nprecision: fp16\n", file: "p.yaml", defaultName: "p") }
}
