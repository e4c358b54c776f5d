import Foundation
import Testing
@testable import JIT

// The object cache (Sources/JIT/ObjectCache.swift): a second engine links what the first one
// compiled, a bad file is recompiled rather than linked, and the key separates what must differ.

/// y[i] = expf(x[i]) * scale — calls into the process (libm) and reads a global, so the cached
/// object carries relocations to both.
private let expScaleIR = """
@scale = internal constant float 3.0
declare float @expf(float)
define void @expscale(float* noalias %x, float* noalias %y, i64 %n) {
entry:
  %empty = icmp sle i64 %n, 0
  br i1 %empty, label %exit, label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %px = getelementptr inbounds float, float* %x, i64 %i
  %py = getelementptr inbounds float, float* %y, i64 %i
  %vx = load float, float* %px, align 4
  %e = call float @expf(float %vx)
  %s = load float, float* @scale, align 4
  %r = fmul float %e, %s
  store float %r, float* %py, align 4
  %next = add nuw nsw i64 %i, 1
  %done = icmp eq i64 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
"""

private typealias ExpScaleFn = @convention(c) (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, Int64) -> Void

private func temporaryCache(_ name: String, maxEntries: Int = 64) -> JITObjectCache {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vsc-objcache-\(name)-\(UUID().uuidString)")
    return JITObjectCache(directory: dir, maxEntries: maxEntries)
}

/// Runs `expscale` of `module` on a fixed input and returns the output.
private func run(_ module: CompiledModule) throws -> [Float] {
    let f = try module.function("expscale", as: ExpScaleFn.self)
    var x: [Float] = (0..<37).map { Float($0) * 0.1 - 1.5 }
    var y = [Float](repeating: 0, count: x.count)
    x.withUnsafeMutableBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in f(xp.baseAddress, yp.baseAddress, Int64(xp.count)) } }
    return y
}

private let expected: [Float] = (0..<37).map { expf(Float($0) * 0.1 - 1.5) * 3 }

@Test func aSecondEngineLinksTheStoredObject() throws {
    let cache = temporaryCache("hit")
    defer { try? FileManager.default.removeItem(at: cache.directory) }
    let first = try LLVMEngine()
    first.objectCache = cache
    let compiled = try first.compile(moduleIR: expScaleIR, name: "expscale", symbols: ["expscale"])
    #expect(!compiled.fromCache && compiled.irAfter.contains("@"))
    #expect(try run(compiled) == expected)
    let key = JITObjectCache.key(moduleIR: expScaleIR, symbols: ["expscale"], host: first.host, llvmVersion: LLVMEngine.llvmVersion)
    #expect(FileManager.default.fileExists(atPath: cache.file(key).path))

    let second = try LLVMEngine()
    second.objectCache = cache
    let linked = try second.compile(moduleIR: expScaleIR, name: "expscale", symbols: ["expscale"])
    #expect(linked.fromCache)
    #expect(linked.optimiseSeconds == 0)
    #expect(linked.irAfter == compiled.irAfter && linked.irBefore == compiled.irBefore, "dumps are made on demand")
    #expect(try run(linked) == expected)
}

@Test func aCorruptOrTruncatedEntryIsCompiledAgain() throws {
    let cache = temporaryCache("corrupt")
    defer { try? FileManager.default.removeItem(at: cache.directory) }
    let engine = try LLVMEngine()
    engine.objectCache = cache
    _ = try engine.compile(moduleIR: expScaleIR, name: "expscale", symbols: ["expscale"])
    let key = JITObjectCache.key(moduleIR: expScaleIR, symbols: ["expscale"], host: engine.host, llvmVersion: LLVMEngine.llvmVersion)
    let path = cache.file(key).path
    let good = try #require(FileManager.default.contents(atPath: path))

    var flipped = [UInt8](good)
    flipped[flipped.count / 2] ^= 0x5a                    // checksum mismatch
    let damaged: [[UInt8]] = [flipped, Array(good.prefix(good.count / 3)), Array(good.prefix(10)), []]
    for bytes in damaged {
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        #expect(cache.load(key: key) == nil, "a damaged entry (\(bytes.count) bytes) must not load")
        let fresh = try LLVMEngine()
        fresh.objectCache = cache
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let m = try fresh.compile(moduleIR: expScaleIR, name: "expscale", symbols: ["expscale"])
        #expect(!m.fromCache)
        #expect(try run(m) == expected)
        #expect(FileManager.default.contents(atPath: path) == good, "the entry is stored again, valid")
    }
}

@Test func theSameModuleTwiceInOneEngineKeepsBothAlive() throws {
    let cache = temporaryCache("twice")
    defer { try? FileManager.default.removeItem(at: cache.directory) }
    let engine = try LLVMEngine()
    engine.objectCache = cache
    var a: CompiledModule? = try engine.compile(moduleIR: expScaleIR, name: "expscale", symbols: ["expscale"])
    let b = try engine.compile(moduleIR: expScaleIR, name: "expscale", symbols: ["expscale"])
    #expect(try run(a!) == expected)
    a = nil                                                // releasing one leaves the other linked
    #expect(try run(b) == expected)
    let c = try engine.compile(moduleIR: expScaleIR, name: "expscale", symbols: ["expscale"])
    #expect(try run(c) == expected)
}

@Test func theKeySeparatesTextSymbolsHostAndLLVM() {
    let host = HostTarget.host
    let base = JITObjectCache.key(moduleIR: expScaleIR, symbols: ["expscale"], host: host, llvmVersion: "14.0.6")
    #expect(base.count == 32 && base.allSatisfy { $0.isHexDigit })
    #expect(base == JITObjectCache.key(moduleIR: expScaleIR, symbols: ["expscale"], host: host, llvmVersion: "14.0.6"))
    let otherHost = HostTarget(triple: host.triple, cpuName: host.cpuName, features: host.features + ",-avx512f",
                               hasAVX512F: false, hasAVX: host.hasAVX, hasAVX2: host.hasAVX2, hasFMA: host.hasFMA, hasAVX512BF16: false)
    let variants = [
        JITObjectCache.key(moduleIR: expScaleIR + " ", symbols: ["expscale"], host: host, llvmVersion: "14.0.6"),
        JITObjectCache.key(moduleIR: expScaleIR, symbols: ["expscale", "x"], host: host, llvmVersion: "14.0.6"),
        JITObjectCache.key(moduleIR: expScaleIR, symbols: ["expscale"], host: otherHost, llvmVersion: "14.0.6"),
        JITObjectCache.key(moduleIR: expScaleIR, symbols: ["expscale"], host: host, llvmVersion: "15.0.0"),
    ]
    #expect(Set(variants + [base]).count == 5)
}

@Test func theDirectoryComesFromTheEnvironment() {
    #expect(JITObjectCache.fromEnvironment(["VSC_JIT_CACHE": "off"]) == nil)
    #expect(JITObjectCache.fromEnvironment(["VSC_JIT_CACHE": ""]) == nil)
    #expect(JITObjectCache.fromEnvironment(["VSC_JIT_CACHE": "/tmp/x"])?.directory.path == "/tmp/x")
    #expect(JITObjectCache.fromEnvironment(["XDG_CACHE_HOME": "/var/c"])?.directory.path == "/var/c/vsc/jit")
    #expect(JITObjectCache.fromEnvironment([:])?.directory.path.hasSuffix(".cache/vsc/jit") == true)
}

@Test func storingBeyondTheLimitRemovesTheOldest() throws {
    let cache = temporaryCache("trim", maxEntries: 3)
    defer { try? FileManager.default.removeItem(at: cache.directory) }
    let keys = (0..<5).map { String(format: "%032x", $0) }
    for (i, k) in keys.enumerated() {
        cache.store(key: k, object: [UInt8](repeating: UInt8(i), count: 100))
        // Distinct modification times, oldest first.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: Double(i - 10))],
                                              ofItemAtPath: cache.file(k).path)
    }
    #expect(cache.load(key: keys[0]) == nil && cache.load(key: keys[1]) == nil)
    #expect(cache.load(key: keys[4]) == [UInt8](repeating: 4, count: 100))
}
