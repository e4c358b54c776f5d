// LLVMEngine: textual LLVM IR in, callable native function addresses out.
//
// This file knows nothing about the graph IR. The JIT backend lowers fused kernels to LLVM
// textual IR (typed pointers: LLVM 14 crashes on opaque `ptr`), hands it to `compile`, and calls
// the returned addresses through `@convention(c)` function types.
//
// Pipeline of one `compile(moduleIR:name:symbols:)`:
//   parse (LLVMParseIRInContext, in a fresh ThreadSafeContext) → verify (return-status action)
//   → internalise every defined global that is not a requested symbol → set the host triple and
//   data layout → print "before" → LLVMRunPasses("default<O3>", host TargetMachine) → print
//   "after" → rename the requested symbols to engine-unique names → add to the engine's ORC
//   LLJIT under a fresh ResourceTracker → look each symbol up (this is where machine code is
//   generated) → CompiledModule.
// With an `objectCache` (ObjectCache.swift): the module's key (text, symbols, LLVM version, host)
// names the requested symbols (`vsc.c<key>.<name>`); a stored object for the key is linked as it
// is (no parse, no O3, no codegen); otherwise the optimised module is emitted as an object by the
// host target machine, linked, and stored.
//
// Writing IR for this engine (for the emitter):
//   * Typed pointers only (`float*`, `i8**`), never `ptr`.
//   * Float ops need fast-math flags for FMA contraction and for vectorised reductions:
//     write `fadd reassoc nsz arcp contract afn float %a, %b` (`FastMath.finite` is `fast`,
//     which also assumes no NaN/Inf; prefer `FastMath.safe` where log(0) = -inf or NaN
//     propagation matters). The same flags go on calls: `call fast float @llvm.exp.f32(float %x)`.
//   * Add `noalias` to distinct buffer arguments (`float* noalias %x`) so the vectoriser needs no
//     runtime alias checks, and use `i64` induction variables.
//   * Only the names in `symbols` stay external; every other defined function or global is made
//     internal (so O3 may inline and delete it, and names never clash across modules). External
//     declarations (`declare float @expf(float)`, `cblas_sgemm`, ...) resolve against the symbols
//     of this process (libm, OpenBLAS, the Swift runtime) through a process search generator.
//   * The symbol names in the IR you pass are the names you look up; the engine renames them
//     internally (`vsc.m<N>.<name>`) so many modules with the same kernel names coexist.
//
// Thread safety: an engine may be used from any thread; calls are serialised by an internal lock
// (compiles do not run in parallel). Different engines are independent.
// Lifetime: machine code of a module lives exactly as long as its `CompiledModule` (which keeps
// its engine alive); when the CompiledModule is released, its code is removed from the JIT.
// Addresses must not be called after that.

import CLLVM
import Foundation

// MARK: - Errors

/// A failure to compile a module. `description` names the module and the stage, carries LLVM's
/// message, and shows the relevant part of the IR.
public struct JITError: Error, CustomStringConvertible {
    public enum Stage: String, Sendable {
        case initialisation, parse, verify, optimise, codegen, addModule = "add module", lookup, missingSymbol = "missing symbol"
    }
    /// Name of the module (the kernel name the caller gave to `compile`).
    public let module: String
    public let stage: Stage
    /// LLVM's message (or ours for `missingSymbol`).
    public let message: String
    /// The offending IR: the lines around the error for parse errors, else the first lines.
    public let irExcerpt: String

    public var description: String {
        var s = "JIT error in module '\(module)' (\(stage.rawValue)): \(message)"
        if !irExcerpt.isEmpty { s += "\n--- IR ---\n" + irExcerpt }
        return s
    }
}

// MARK: - Fast-math flag spellings for the emitter

/// Fast-math flag spellings to put on float instructions in textual IR (LLVM 14's C builder
/// cannot set them; textual IR can: `fmul contract float %a, %b`).
public enum FastMath {
    /// Everything (`fast` = reassoc nnan ninf nsz arcp contract afn). Assumes no NaN and no Inf:
    /// LLVM may then fold `x != x` to false or `log(0)` comparisons away.
    public static let finite = "fast"
    /// `fast` without nnan/ninf: FMA contraction, reassociation (vectorised reductions),
    /// reciprocal and approximate functions, while NaN and Inf still flow correctly.
    public static let safe = "reassoc nsz arcp contract afn"
    /// Only FMA contraction; results are otherwise exactly IEEE.
    public static let contract = "contract"
}

// MARK: - Host target

/// The host CPU as LLVM sees it, and the one-time native target initialisation.
public struct HostTarget: Sendable {
    public let triple: String
    /// `LLVMGetHostCPUName()`. LLVM 14 does not know Zen 5 (family 0x1A, this machine) and says
    /// "generic"; the features below still enable AVX-512, so vectorisation is unaffected.
    public let cpuName: String
    /// Comma-separated `+feat,-feat` list from `LLVMGetHostCPUFeatures`.
    public let features: String
    public let hasAVX512F: Bool
    public let hasAVX: Bool
    public let hasAVX2: Bool
    public let hasFMA: Bool
    /// AVX512_BF16 (`vdpbf16ps`, `vcvtne2ps2bf16`): what `MatmulPrecision.bf16` needs.
    public let hasAVX512BF16: Bool
    /// Floats per vector register the vectoriser will use at most: 16 (AVX-512), 8 (AVX), 4.
    public var floatVectorWidth: Int { hasAVX512F ? 16 : (hasAVX ? 8 : 4) }

    /// Initialised once per process (global `let`: thread-safe lazy initialisation).
    public static let host: HostTarget = {
        _ = llvmNativeTargetInitialised
        let triple = takeLLVMString(LLVMGetDefaultTargetTriple())
        let cpu = takeLLVMString(LLVMGetHostCPUName())
        let features = takeLLVMString(LLVMGetHostCPUFeatures())
        let set = Set(features.split(separator: ","))
        return HostTarget(triple: triple, cpuName: cpu, features: features,
                          hasAVX512F: set.contains("+avx512f"), hasAVX: set.contains("+avx"), hasAVX2: set.contains("+avx2"),
                          hasFMA: set.contains("+fma"), hasAVX512BF16: set.contains("+avx512bf16"))
    }()
}

/// LLVMInitializeNative* are static inline functions in llvm-c/Target.h; Swift imports them.
private let llvmNativeTargetInitialised: Bool = {
    let a = LLVMInitializeNativeTarget()
    let b = LLVMInitializeNativeAsmPrinter()
    let c = LLVMInitializeNativeAsmParser()
    return a == 0 && b == 0 && c == 0
}()

/// Copies an LLVM-allocated message and frees it.
@inline(__always)
func takeLLVMString(_ p: UnsafeMutablePointer<CChar>?) -> String {
    guard let p else { return "" }
    defer { LLVMDisposeMessage(p) }
    return String(cString: p)
}

/// Consumes an LLVMErrorRef; nil when there was no error.
func takeLLVMError(_ err: LLVMErrorRef?) -> String? {
    guard let err else { return nil }
    let msg = LLVMGetErrorMessage(err)  // consumes err
    defer { LLVMDisposeErrorMessage(msg) }
    return msg.map { String(cString: $0) } ?? "unknown LLVM error"
}

private func makeHostTargetMachine(_ host: HostTarget) throws -> LLVMTargetMachineRef {
    var target: LLVMTargetRef?
    var msg: UnsafeMutablePointer<CChar>?
    if LLVMGetTargetFromTriple(host.triple, &target, &msg) != 0 || target == nil {
        throw JITError(module: "<engine>", stage: .initialisation,
                       message: "no LLVM target for triple \(host.triple): \(takeLLVMString(msg))", irExcerpt: "")
    }
    guard let tm = LLVMCreateTargetMachine(target, host.triple, host.cpuName, host.features,
                                           LLVMCodeGenLevelAggressive, LLVMRelocDefault, LLVMCodeModelJITDefault)
    else {
        throw JITError(module: "<engine>", stage: .initialisation,
                       message: "LLVMCreateTargetMachine failed for \(host.cpuName)", irExcerpt: "")
    }
    return tm
}

// MARK: - Compiled module

/// The result of one compile. Keeps its machine code (and its engine) alive; releasing it
/// removes the code from the JIT.
public final class CompiledModule: @unchecked Sendable {
    public let name: String
    /// Requested symbol → address of its machine code. `unsafeBitCast` to a `@convention(c)` type.
    public let addresses: [String: UInt64]
    /// The module after parsing, with host triple/data layout and internalisation, before O3.
    public var irBefore: String { dumps.before }
    /// The module after `default<O3>` (before the engine's internal renaming).
    public var irAfter: String { dumps.after }
    /// Seconds spent in parse+verify, O3, and code generation + linking (lookup). A module
    /// loaded from the object cache spent its time in the last (reading and linking).
    public let parseSeconds: Double, optimiseSeconds: Double, codegenSeconds: Double
    /// Whether the machine code came from the engine's `objectCache` (LLVM never saw the IR in
    /// this process: `irBefore` and `irAfter` are then computed when first asked for).
    public let fromCache: Bool
    private var ir: (before: String, after: String)?
    private let source: (text: String, symbols: [String])?
    private let irLock = NSLock()
    private var dumps: (before: String, after: String) {
        irLock.lock(); defer { irLock.unlock() }
        if let ir { return ir }
        let made = source.flatMap { try? engine.optimise(moduleIR: $0.text, name: name, symbols: $0.symbols) } ?? ("", "")
        ir = made
        return made
    }
    public var totalSeconds: Double { parseSeconds + optimiseSeconds + codegenSeconds }

    private let engine: LLVMEngine
    private let tracker: LLVMOrcResourceTrackerRef
    /// The object cache's key when the code is linked under the key's names (see `compile`).
    private let cacheKey: String?

    /// `ir`: the dumps, or nil to make them from `source` when asked (a module from the cache).
    init(name: String, addresses: [String: UInt64], ir: (before: String, after: String)?, source: (text: String, symbols: [String])? = nil,
         times: (Double, Double, Double), fromCache: Bool = false, cacheKey: String? = nil,
         engine: LLVMEngine, tracker: LLVMOrcResourceTrackerRef) {
        self.name = name; self.addresses = addresses; self.ir = ir; self.source = source
        (parseSeconds, optimiseSeconds, codegenSeconds) = times
        self.fromCache = fromCache; self.cacheKey = cacheKey
        self.engine = engine; self.tracker = tracker
    }

    deinit { engine.remove(tracker, cacheKey: cacheKey) }

    /// The address of `symbol`, or a JITError naming the module and the known symbols.
    public func address(_ symbol: String) throws -> UInt64 {
        guard let a = addresses[symbol] else {
            throw JITError(module: name, stage: .missingSymbol,
                           message: "'\(symbol)' was not requested; compiled: \(addresses.keys.sorted())", irExcerpt: "")
        }
        return a
    }

    /// `symbol` as a function of type `F` (which must be a `@convention(c)` function type).
    /// Valid while this CompiledModule is alive.
    public func function<F>(_ symbol: String, as type: F.Type = F.self) throws -> F {
        precondition(MemoryLayout<F>.size == MemoryLayout<UInt>.size, "F must be a @convention(c) function type")
        return unsafeBitCast(UInt(try address(symbol)), to: F.self)
    }
}

// MARK: - Engine

/// An ORC LLJIT for the host CPU plus the O3 pipeline. See the file header for the IR contract,
/// thread safety (internally locked) and lifetime (code lives with its CompiledModule).
public final class LLVMEngine: @unchecked Sendable {
    public let host: HostTarget
    /// Data layout string of the host target machine (also set on every module).
    public let dataLayout: String

    private let jit: LLVMOrcLLJITRef
    private let mainDylib: LLVMOrcJITDylibRef
    private let passTM: LLVMTargetMachineRef
    private let lock = NSLock()
    private var counter = 0
    private let sessionErrors: SessionErrorSink
    /// Object-cache keys whose code is linked now, with how many modules use them: their symbol
    /// names are the key's, so a second module with the same key compiles under counter names.
    private var linkedKeys: [String: Int] = [:]
    private var cache: JITObjectCache?

    /// Where compiled modules' machine code is kept across processes (nil: nowhere, the
    /// default). The `vsc` command sets `JITObjectCache.fromEnvironment()`.
    public var objectCache: JITObjectCache? {
        get { lock.lock(); defer { lock.unlock() }; return cache }
        set { lock.lock(); cache = newValue; lock.unlock() }
    }

    /// LLVM's version, part of every object-cache key.
    public static let llvmVersion = LLVM_VERSION_STRING

    /// Messages ORC reported asynchronously (e.g. unresolved symbols during linking).
    final class SessionErrorSink: @unchecked Sendable {
        var messages: [String] = []
        let lock = NSLock()
        func append(_ s: String) { lock.lock(); messages.append(s); lock.unlock() }
        func drain() -> [String] { lock.lock(); defer { messages = []; lock.unlock() }; return messages }
    }

    public init() throws {
        let host = HostTarget.host
        self.host = host
        passTM = try makeHostTargetMachine(host)
        let td = LLVMCreateTargetDataLayout(passTM)
        dataLayout = takeLLVMString(LLVMCopyStringRepOfTargetData(td))
        LLVMDisposeTargetData(td)

        // The JIT's own target machine: same CPU, features and opt level as the pass pipeline.
        // CreateFromTargetMachine consumes (destroys) the TargetMachine it is given.
        let jtmb: LLVMOrcJITTargetMachineBuilderRef
        do {
            let tm2 = try makeHostTargetMachine(host)
            jtmb = LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm2)
        } catch { LLVMDisposeTargetMachine(passTM); throw error }
        let builder = LLVMOrcCreateLLJITBuilder()
        LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb)  // builder takes jtmb
        var j: LLVMOrcLLJITRef?
        if let m = takeLLVMError(LLVMOrcCreateLLJIT(&j, builder)) {  // takes builder
            LLVMDisposeTargetMachine(passTM)
            throw JITError(module: "<engine>", stage: .initialisation, message: "LLVMOrcCreateLLJIT: \(m)", irExcerpt: "")
        }
        jit = j!
        mainDylib = LLVMOrcLLJITGetMainJITDylib(jit)

        sessionErrors = SessionErrorSink()
        LLVMOrcExecutionSessionSetErrorReporter(LLVMOrcLLJITGetExecutionSession(jit), { ctx, err in
            let sink = Unmanaged<SessionErrorSink>.fromOpaque(ctx!).takeUnretainedValue()
            sink.append(takeLLVMError(err) ?? "unknown")
        }, Unmanaged.passUnretained(sessionErrors).toOpaque())

        // Resolve external declarations (expf, logf, cblas_sgemm, ...) against this process.
        var gen: LLVMOrcDefinitionGeneratorRef?
        if let m = takeLLVMError(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
            &gen, LLVMOrcLLJITGetGlobalPrefix(jit), nil, nil)) {
            _ = takeLLVMError(LLVMOrcDisposeLLJIT(jit))
            LLVMDisposeTargetMachine(passTM)
            throw JITError(module: "<engine>", stage: .initialisation, message: "process symbol generator: \(m)", irExcerpt: "")
        }
        LLVMOrcJITDylibAddGenerator(mainDylib, gen)  // dylib takes gen
    }

    deinit {
        // All CompiledModules are gone (each keeps its engine alive), so no code is in use.
        _ = takeLLVMError(LLVMOrcDisposeLLJIT(jit))
        LLVMDisposeTargetMachine(passTM)
    }

    /// Removes a module's code (called by CompiledModule.deinit).
    fileprivate func remove(_ tracker: LLVMOrcResourceTrackerRef, cacheKey: String?) {
        lock.lock(); defer { lock.unlock() }
        _ = takeLLVMError(LLVMOrcResourceTrackerRemove(tracker))
        LLVMOrcReleaseResourceTracker(tracker)
        if let k = cacheKey {
            let left = (linkedKeys[k] ?? 1) - 1
            linkedKeys[k] = left > 0 ? left : nil
        }
    }

    /// Parses, verifies, optimises (O3 for the host) and JIT-compiles `moduleIR`, returning the
    /// addresses of `symbols` (functions or globals defined in it). `name` names the module in
    /// errors and dumps. Never crashes on bad IR: every failure is a `JITError`.
    public func compile(moduleIR: String, name: String, symbols: [String]) throws -> CompiledModule {
        lock.lock(); defer { lock.unlock() }
        _ = sessionErrors.drain()
        // With an object cache, the exported names are the key's (`vsc.c<key>.<symbol>`), the
        // same in every process, so a cached object links as it is. A key already linked in this
        // engine (the same module compiled twice) takes the counter names below instead.
        if let cache {
            let key = JITObjectCache.key(moduleIR: moduleIR, symbols: symbols, host: host, llvmVersion: Self.llvmVersion)
            if linkedKeys[key] == nil {
                return try compileCached(moduleIR: moduleIR, name: name, symbols: symbols, cache: cache, key: key)
            }
        }
        counter += 1
        let uniquePrefix = "vsc.m\(counter)."
        let p = try prepare(moduleIR: moduleIR, name: name, symbols: symbols)
        let fail = { (stage: JITError.Stage, message: String) in
            JITError(module: name, stage: stage, message: message, irExcerpt: irExcerpt(moduleIR, around: nil))
        }

        // 5. Engine-unique names for the exported symbols.
        prefixNames(of: symbols, in: p.module, with: uniquePrefix)

        // 6. Hand over: TSM takes the module, LLJIT takes the TSM.
        let tsm = LLVMOrcCreateNewThreadSafeModule(p.module, p.tsc)!
        p.moduleOwned = false
        let tracker = LLVMOrcJITDylibCreateResourceTracker(mainDylib)!
        if let e = takeLLVMError(LLVMOrcLLJITAddLLVMIRModuleWithRT(jit, tracker, tsm)) {
            LLVMOrcReleaseResourceTracker(tracker)
            throw fail(.addModule, e)
        }

        // 7. Look up (materialises: code generation and linking happen here).
        let addresses = try lookUp(symbols, prefix: uniquePrefix, tracker: tracker, fail: fail)
        let t3 = DispatchTime.now().uptimeNanoseconds
        let sec = { (a: UInt64, b: UInt64) in Double(b - a) / 1e9 }
        return CompiledModule(name: name, addresses: addresses, ir: (p.before, p.after),
                              times: (sec(p.t0, p.t1), sec(p.t1, p.t2), sec(p.t2, t3)), engine: self, tracker: tracker)
    }

    /// `compile` through the object cache: link the stored object for the module's key, or
    /// compile, emit an object with the host target machine (the configuration the JIT's own
    /// compile layer uses), store it and link it. Call with the lock held.
    private func compileCached(moduleIR: String, name: String, symbols: [String], cache: JITObjectCache,
                               key: String) throws -> CompiledModule {
        let prefix = "vsc.c\(key)."
        let t0 = DispatchTime.now().uptimeNanoseconds
        if let object = cache.load(key: key),
           let linked = try? link(object: object, prefix: prefix, symbols: symbols, name: name, moduleIR: moduleIR) {
            let sec = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            linkedKeys[key, default: 0] += 1
            return CompiledModule(name: name, addresses: linked.addresses, ir: nil, source: (moduleIR, symbols), times: (0, 0, sec),
                                  fromCache: true, cacheKey: key, engine: self, tracker: linked.tracker)
        }
        cache.remove(key: key)  // absent, or present but not linkable: compile it afresh

        let p = try prepare(moduleIR: moduleIR, name: name, symbols: symbols)
        prefixNames(of: symbols, in: p.module, with: prefix)
        var msg: UnsafeMutablePointer<CChar>?
        var buf: LLVMMemoryBufferRef?
        if LLVMTargetMachineEmitToMemoryBuffer(passTM, p.module, LLVMObjectFile, &msg, &buf) != 0 || buf == nil {
            throw JITError(module: name, stage: .codegen, message: takeLLVMString(msg), irExcerpt: irExcerpt(moduleIR, around: nil))
        }
        let start = UnsafeRawPointer(LLVMGetBufferStart(buf)!)
        let object = [UInt8](UnsafeRawBufferPointer(start: start, count: LLVMGetBufferSize(buf)))
        LLVMDisposeMemoryBuffer(buf)
        let linked = try link(object: object, prefix: prefix, symbols: symbols, name: name, moduleIR: moduleIR)
        cache.store(key: key, object: object)
        linkedKeys[key, default: 0] += 1
        let t3 = DispatchTime.now().uptimeNanoseconds
        let sec = { (a: UInt64, b: UInt64) in Double(b - a) / 1e9 }
        return CompiledModule(name: name, addresses: linked.addresses, ir: (p.before, p.after),
                              times: (sec(p.t0, p.t1), sec(p.t1, p.t2), sec(p.t2, t3)), cacheKey: key,
                              engine: self, tracker: linked.tracker)
    }

    /// Links an object file under a fresh resource tracker and looks up `symbols` (named
    /// `prefix + symbol` in the object). On failure nothing stays linked.
    private func link(object: [UInt8], prefix: String, symbols: [String], name: String, moduleIR: String)
        throws -> (addresses: [String: UInt64], tracker: LLVMOrcResourceTrackerRef) {
        let fail = { (stage: JITError.Stage, message: String) in
            JITError(module: name, stage: stage, message: message, irExcerpt: irExcerpt(moduleIR, around: nil))
        }
        let buffer = object.withUnsafeBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) {
                LLVMCreateMemoryBufferWithMemoryRangeCopy($0, p.count, name)
            }
        }
        let tracker = LLVMOrcJITDylibCreateResourceTracker(mainDylib)!
        if let e = takeLLVMError(LLVMOrcLLJITAddObjectFileWithRT(jit, tracker, buffer)) {  // takes the buffer
            LLVMOrcReleaseResourceTracker(tracker)
            throw fail(.addModule, e)
        }
        return (try lookUp(symbols, prefix: prefix, tracker: tracker, fail: fail), tracker)
    }

    /// The addresses of `symbols` (named `prefix + symbol` in the JIT). On failure the tracker's
    /// code is removed and the tracker released, and the error carries ORC's session messages.
    private func lookUp(_ symbols: [String], prefix: String, tracker: LLVMOrcResourceTrackerRef,
                        fail: (JITError.Stage, String) -> JITError) throws -> [String: UInt64] {
        var addresses: [String: UInt64] = [:]
        for s in symbols {
            var addr: LLVMOrcExecutorAddress = 0
            let e = takeLLVMError(LLVMOrcLLJITLookup(jit, &addr, prefix + s))
            if e != nil || addr == 0 {
                let session = sessionErrors.drain()
                _ = takeLLVMError(LLVMOrcResourceTrackerRemove(tracker))
                LLVMOrcReleaseResourceTracker(tracker)
                let detail = ([e ?? "address 0 for '\(s)'"] + session).joined(separator: "\n")
                throw fail(.lookup, "looking up '\(s)': \(detail)")
            }
            addresses[s] = addr
        }
        return addresses
    }

    /// Parses and optimises without JIT-compiling; returns (before, after) IR text. For
    /// `vsc ir llvm`-style dumps of kernels that need not run.
    public func optimise(moduleIR: String, name: String, symbols: [String]) throws -> (before: String, after: String) {
        lock.lock(); defer { lock.unlock() }
        let p = try prepare(moduleIR: moduleIR, name: name, symbols: symbols)
        return (p.before, p.after)
    }

    /// The host assembly of the optimised module (nothing is JIT-compiled). For dumps and for
    /// checking what instructions the kernels became (`vfmadd`, zmm registers).
    public func assembly(moduleIR: String, name: String, symbols: [String]) throws -> String {
        lock.lock(); defer { lock.unlock() }
        let p = try prepare(moduleIR: moduleIR, name: name, symbols: symbols)
        var msg: UnsafeMutablePointer<CChar>?
        var buf: LLVMMemoryBufferRef?
        if LLVMTargetMachineEmitToMemoryBuffer(passTM, p.module, LLVMAssemblyFile, &msg, &buf) != 0 || buf == nil {
            throw JITError(module: name, stage: .codegen, message: "\(takeLLVMString(msg))",
                           irExcerpt: irExcerpt(moduleIR, around: nil))
        }
        defer { LLVMDisposeMemoryBuffer(buf) }
        let start = UnsafeRawPointer(LLVMGetBufferStart(buf)!)
        return String(decoding: UnsafeRawBufferPointer(start: start, count: LLVMGetBufferSize(buf)), as: UTF8.self)
    }

    /// A parsed and optimised module; disposes what it still owns.
    private final class Prepared {
        let tsc: LLVMOrcThreadSafeContextRef
        let module: LLVMModuleRef
        var moduleOwned = true  // until a thread-safe module takes it
        var before = "", after = ""
        var t0: UInt64 = 0, t1: UInt64 = 0, t2: UInt64 = 0
        init(tsc: LLVMOrcThreadSafeContextRef, module: LLVMModuleRef) { self.tsc = tsc; self.module = module }
        deinit {
            if moduleOwned { LLVMDisposeModule(module) }
            LLVMOrcDisposeThreadSafeContext(tsc)  // a TSM keeps its own reference
        }
    }

    /// Steps 1–4: parse, verify, internalise, host triple/data layout, O3. Call with the lock held.
    private func prepare(moduleIR: String, name: String, symbols: [String]) throws -> Prepared {
        func fail(_ stage: JITError.Stage, _ message: String, errorLine: Int? = nil) -> JITError {
            JITError(module: name, stage: stage, message: message,
                     irExcerpt: irExcerpt(moduleIR, around: errorLine))
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        // 1. Parse into a fresh thread-safe context. The parse call takes the memory buffer.
        let tsc = LLVMOrcCreateNewThreadSafeContext()!
        let ctx = LLVMOrcThreadSafeContextGetContext(tsc)
        let buffer = moduleIR.withCString { p in
            LLVMCreateMemoryBufferWithMemoryRangeCopy(p, strlen(p), name)
        }
        var module: LLVMModuleRef?
        var msg: UnsafeMutablePointer<CChar>?
        if LLVMParseIRInContext(ctx, buffer, &module, &msg) != 0 || module == nil {
            let text = takeLLVMString(msg).trimmingCharacters(in: .whitespacesAndNewlines)
            if let module { LLVMDisposeModule(module) }
            LLVMOrcDisposeThreadSafeContext(tsc)
            throw fail(.parse, text, errorLine: parseErrorLine(text, bufferName: name))
        }
        let p = Prepared(tsc: tsc, module: module!)
        let m = p.module
        p.t0 = t0

        // 2. Verify.
        msg = nil
        if LLVMVerifyModule(m, LLVMReturnStatusAction, &msg) != 0 {
            throw fail(.verify, takeLLVMString(msg).trimmingCharacters(in: .whitespacesAndNewlines))
        } else if msg != nil { LLVMDisposeMessage(msg) }

        // 3. Requested symbols must be definitions; everything else defined becomes internal.
        let wanted = Set(symbols)
        var found = Set<String>()
        for global in definedGlobals(m) {
            let n = valueName(global)
            if wanted.contains(n) {
                found.insert(n)
                LLVMSetLinkage(global, LLVMExternalLinkage)
            } else if LLVMGetLinkage(global) != LLVMInternalLinkage && LLVMGetLinkage(global) != LLVMPrivateLinkage {
                LLVMSetLinkage(global, LLVMInternalLinkage)
            }
        }
        let missing = symbols.filter { !found.contains($0) }
        if !missing.isEmpty {
            throw fail(.missingSymbol, "not defined in the module: \(missing.joined(separator: ", "))")
        }

        // 4. Host triple and data layout, then O3.
        LLVMSetTarget(m, host.triple)
        LLVMSetDataLayout(m, dataLayout)
        p.before = takeLLVMString(LLVMPrintModuleToString(m))
        p.t1 = DispatchTime.now().uptimeNanoseconds
        let options = LLVMCreatePassBuilderOptions()!
        LLVMPassBuilderOptionsSetLoopVectorization(options, 1)
        LLVMPassBuilderOptionsSetSLPVectorization(options, 1)
        LLVMPassBuilderOptionsSetLoopInterleaving(options, 1)
        LLVMPassBuilderOptionsSetLoopUnrolling(options, 1)
        let passError = takeLLVMError(LLVMRunPasses(m, "default<O3>", passTM, options))
        LLVMDisposePassBuilderOptions(options)
        if let passError { throw fail(.optimise, passError) }
        p.after = takeLLVMString(LLVMPrintModuleToString(m))
        p.t2 = DispatchTime.now().uptimeNanoseconds
        return p
    }
}

// MARK: - Helpers

/// Renames the module's definitions of `symbols` to `prefix + symbol` (the names the JIT looks up).
private func prefixNames(of symbols: [String], in m: LLVMModuleRef, with prefix: String) {
    let wanted = Set(symbols)
    for global in definedGlobals(m) where wanted.contains(valueName(global)) {
        let renamed = prefix + valueName(global)
        LLVMSetValueName2(global, renamed, renamed.utf8.count)
    }
}

private func definedGlobals(_ m: LLVMModuleRef) -> [LLVMValueRef] {
    var out: [LLVMValueRef] = []
    var f = LLVMGetFirstFunction(m)
    while let fn = f { if LLVMIsDeclaration(fn) == 0 { out.append(fn) }; f = LLVMGetNextFunction(fn) }
    var g = LLVMGetFirstGlobal(m)
    while let gv = g { if LLVMIsDeclaration(gv) == 0 { out.append(gv) }; g = LLVMGetNextGlobal(gv) }
    return out
}

private func valueName(_ v: LLVMValueRef) -> String {
    var len = 0
    guard let p = LLVMGetValueName2(v, &len) else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
}

/// "name:LINE:COL: error: ..." → LINE.
private func parseErrorLine(_ message: String, bufferName: String) -> Int? {
    for line in message.split(separator: "\n") {
        let parts = line.split(separator: ":", omittingEmptySubsequences: false)
        // The buffer name may itself contain ':'; take the first all-digit field followed by another.
        for i in 0..<max(0, parts.count - 2) {
            if let l = Int(parts[i + 1]), Int(parts[i + 2]) != nil { return l }
        }
    }
    return nil
}

/// Lines around `line` (1-based), numbered, or the first 40 lines.
func irExcerpt(_ ir: String, around line: Int?, context: Int = 5, head: Int = 40) -> String {
    let lines = ir.split(separator: "\n", omittingEmptySubsequences: false)
    let range: Range<Int>
    if let line, line >= 1, line <= lines.count {
        range = max(0, line - 1 - context)..<min(lines.count, line + context)
    } else {
        range = 0..<min(lines.count, head)
    }
    var out = range.map { i in
        let mark = (line == i + 1) ? ">" : " "
        return "\(mark)\(String(i + 1).leftPadded(4)) | \(lines[i])"
    }
    if range.upperBound < lines.count { out.append("      ... (\(lines.count - range.upperBound) more lines)") }
    return out.joined(separator: "\n")
}

private extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
