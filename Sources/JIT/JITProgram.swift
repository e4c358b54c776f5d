import CBLAS
import Foundation
import IR
import Passes
import Runtime

/// The LLVM JIT backend: one compiled program per graph. Every non-GEMM node (fused kernels,
/// standalone elementwise ops, materialised views, concat pieces, random draws) becomes a loop
/// nest lowered to LLVM IR, optimised at O3 for the host CPU and compiled by ORC LLJIT in ONE
/// module. Matmuls run our own GEMM, emitted into the same module per shape (`GEMMEmitter`,
/// `gemm: .jit`), or `cblas_sgemm` (`gemm: .blas`); their fused epilogue runs as a JIT kernel
/// right after.
/// Buffers are allocated once at construction; `run()` walks a flat array of steps calling
/// function pointers — no per-op Swift dispatch on graph structures, no allocation, no
/// dictionary lookups. Large kernels split dimension 0 across the two cores.
public final class JITProgram: Program {
    public let graph: Graph
    public var carries: [(output: String, leaf: String)] = [] { didSet { resolveCarries() } }
    public var checkFinite = false
    /// False: every step runs on the calling thread alone (one-core measurements).
    public var usesThreadPool = true
    /// Seconds spent building, optimising and compiling the module (0 on a cache hit).
    public private(set) var compileSeconds: Double = 0
    /// The compiled module (keeps the machine code alive).
    public let module: CompiledModule
    /// Number of JIT kernels and GEMM calls in the schedule.
    public private(set) var kernelCount = 0, gemmCount = 0
    /// GEMMs split over the thread pool (the rest run as one single-threaded call).
    public private(set) var splitGEMMCount = 0
    /// What computes the matmuls: our emitted GEMM or OpenBLAS.
    public let gemmKernel: GEMMKernel
    /// The matmuls' operand precision (bf16 only with `gemm: .jit`; everything else is Float32).
    public let matmulPrecision: MatmulPrecision
    /// The LLVM function of each distinct matmul shape (empty with `gemm: .blas`).
    public private(set) var gemmFunctionNames: [String] = []
    /// Where every buffer lives (one arena for intermediates, planned once).
    public let memoryPlan: MemoryPlan
    /// The loop nest of each kernel function, by kernel index (tests check what LLVM made of them).
    private(set) var kernelNests: [LoopNest] = []
    /// Each kernel's LLVM function name (`kernelName`), by kernel index.
    public private(set) var kernelNames: [String] = []

    private var buffers: [UnsafeMutablePointer<Float>?]
    private var owned: [UnsafeMutablePointer<Float>] = []
    private var steps: [Step] = []
    private var argArrays: [UnsafeMutablePointer<UnsafeMutableRawPointer?>] = []
    private var gemms: [UnsafeMutablePointer<GEMMSplit>] = []
    private var gemmArgs: [UnsafeMutablePointer<UnsafeMutableRawPointer?>] = []
    /// The convolution steps and their argument arrays (`ConvolutionStep.swift`).
    private var convolutions: [UnsafeMutablePointer<ConvolutionStep>] = []
    private var convolutionArgs: [UnsafeMutablePointer<UnsafeMutableRawPointer?>] = []
    /// The all-reduce requests, one per `allreduce` node (`Collective.swift`).
    private var allReduces: [UnsafeMutablePointer<AllReduceRequest>] = []
    /// The argument blocks of the emitted GEMMs (A, B, C, then the pack buffers); each is also its
    /// step's `args`.
    private var jitGEMMArgs: [UnsafeMutablePointer<UnsafeMutableRawPointer?>] = []
    /// For each kernel step, the node whose buffer each pointer slot holds (to re-bind pointers
    /// when an output is redirected into a leaf's buffer).
    private var argNodes: [[NodeID?]] = []
    /// Outputs written in place into the leaf they replace (no copy after the run).
    public private(set) var inPlaceCarries = 0
    private var leafIndex: [String: NodeID] = [:]
    private var outputIndex: [String: NodeID] = [:]
    /// The emitted GEMMs' scratch (`GEMMPlan.scratchWords`): fp32, packed A and B for each chunk;
    /// bf16, the converted A and B.
    private var packBuffers: [UnsafeMutableRawPointer] = []
    private var carryCopies: [(src: UnsafeMutablePointer<Float>, dst: UnsafeMutablePointer<Float>, count: Int)] = []

    struct Step {
        /// `allReduceStart` / `allReduceTest` / `allReduceWait`: a bucket's non-blocking all-reduce
        /// (`allReduce`), started at its node, progressed after every later step, finished before
        /// its first reader.
        enum Kind { case kernel, gemm, convolution, allReduceStart, allReduceTest, allReduceWait }
        var kind: Kind
        var node: NodeID
        var kernel: ParallelKernel?
        var args: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        var n0: Int = 0
        var parallel = false
        var alignment = 1
        /// The GEMM (operands and shape), as this thread or the pool's chunks run it.
        var gemm: UnsafeMutablePointer<GEMMSplit>?
        /// Split over the pool (false: too small to split, one call on this thread).
        var splitAcrossPool = false
        /// The convolution (operands, geometry, scratch).
        var convolution: UnsafeMutablePointer<ConvolutionStep>?
        /// The emitted GEMM (nil: `cblas_sgemm` through `gemm`); it runs tiles 0..<n0 of its
        /// split dimension, in `chunks` pieces when split across the pool.
        var jitGEMM: ParallelKernel?
        var chunks = 2
        /// bf16: the function rounding both operands into the scratch before `jitGEMM` runs, and
        /// its work items (`GEMMPlan.conversionItems`).
        var convertOperands: ParallelKernel?
        var conversionItems = 0
        /// The bias node of a GEMM that finishes its tiles itself (`TileEpilogue`).
        var tileEpilogueBias: NodeID?
        /// The all-reduce (buffers, MPI request) of an `allReduce*` step.
        var allReduce: UnsafeMutablePointer<AllReduceRequest>?
    }

    /// The process-wide engine (LLVM is initialised once).
    static let sharedEngine: Result<LLVMEngine, Error> = Result { try LLVMEngine() }
    /// Keeps every program's machine code in `cache` (nil: off, the default for library users
    /// and tests), so the next process compiling the same program links it instead (`vsc` turns
    /// it on; `VSC_JIT_CACHE` chooses the folder).
    public static func useObjectCache(_ cache: JITObjectCache?) {
        (try? sharedEngine.get())?.objectCache = cache
    }
    static let cacheLock = NSLock()
    /// Compiled modules by the graph's structure and the kernels' names (the names come from
    /// locations, which the structural hash leaves out).
    struct CacheKey: Hashable {
        var structure: UInt64; var kernelNames: [String]; var gemm: GEMMKernel; var precision: MatmulPrecision
    }
    nonisolated(unsafe) static var cache: [CacheKey: CompiledModule] = [:]

    /// The LLVM function name of kernel `k`, first used for `node`: `k3.n35.enc.h0.relu`, the
    /// kernel's index, then the IR node it computes and that node's name (`enc.h0.relu`, or its
    /// op outside a model's named parts), so `vsc ir llvm` and profilers point back at the IR.
    static func kernelName(_ k: Int, node: NodeID, in graph: Graph) -> String {
        let n = graph[node]
        let what = n.location?.nodeName(n.op.name) ?? n.op.name
        let legal = String(what.unicodeScalars.map { c -> Character in
            c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "." || c == "_") ? Character(c) : "_"
        })
        return "k\(k).n\(node).\(legal)"
    }

    /// The whole program against the memory budget before anything is allocated: a batch of 10⁶
    /// is an error naming the sizes, not a failed allocation.
    static func checkMemory(_ plan: MemoryPlan, budget: Int) throws {
        if plan.arenaBytes > budget - plan.persistentBytes {
            throw LoweringError(description: "the program needs \(plan.arenaBytes) bytes of intermediates and \(plan.persistentBytes) bytes of parameters,"
                                + " inputs and constants, over the memory budget of \(budget) bytes (TensorBudget.maxBytes):"
                                + " reduce the batch size or the layer sizes")
        }
    }

    /// Compiles `graph` (Float32) after running `pipeline` on it (nil: compile as is). Throws
    /// `JITError` (naming the kernel and its IR) if LLVM rejects a kernel, `LoweringError` for an
    /// op the backend cannot lower, `PassError` if a pass fails.
    /// `gemm` chooses what computes the matmuls (default: our own kernel on AVX-512 hosts);
    /// `precision: .bf16` rounds their operands to bfloat16 (needs `gemm: .jit` and AVX512_BF16,
    /// else a `LoweringError` saying so).
    public convenience init(_ input: Graph, pipeline: PassManager? = .default, gemm: GEMMKernel = .hostDefault,
                            precision: MatmulPrecision = .fp32) throws {
        try self.init(input, pipeline: pipeline, gemm: gemm, precision: precision, kernelTextTransform: nil)
    }

    /// `kernelTextTransform` rewrites each kernel's LLVM IR before compiling (tests use it to
    /// break a kernel on purpose); programs built with it (or the two test switches below) bypass
    /// the cache. `gemmPacksA` builds
    /// the emitted GEMMs with A packed (`GEMMPlan.packsA`, for tests of that path);
    /// `tileEpilogues: false` runs every matmul epilogue as a kernel (tests and measurements of
    /// `TileEpilogue`).
    init(_ input: Graph, pipeline: PassManager?, gemm: GEMMKernel = .hostDefault, precision: MatmulPrecision = .fp32,
         gemmPacksA: Bool = false, tileEpilogues: Bool = true, kernelTextTransform: ((Int, String) -> String)?) throws {
        if let reason = precision.unsupportedReason(gemm: gemm) { throw LoweringError(description: reason) }
        let graph = try pipeline.map { try $0.run(input).graph } ?? input
        self.graph = graph
        gemmKernel = gemm
        matmulPrecision = precision
        buffers = Array(repeating: nil, count: graph.count)
        for (i, n) in graph.nodes.enumerated() where n.dtype != .f32 {
            throw LoweringError(description: "the JIT runs Float32 graphs; \(describeNode(graph, i)) is \(n.dtype.rawValue)")
        }
        // 1. Buffers: leaves and constants own theirs, intermediates share one planned arena,
        //    reshapes alias their operand.
        let plan = PlanMemory.plan(graph)
        memoryPlan = plan
        // The convolutions run one after another, so they share one im2col scratch matrix,
        // counted against the budget with the arena.
        let scratchCount = graph.nodes.compactMap { n in
            ConvGeometry.of(n.op, operands: n.inputs.map { graph[$0].shape }, result: n.shape).map(Convolution.scratchCount)
        }.max()
        try JITProgram.checkMemory(plan, budget: TensorBudget.maxBytes - (scratchCount ?? 0) * 4)
        let arena = JITProgram.allocate(max(plan.arenaBytes / 4, 1))
        owned.append(arena)
        for (i, n) in graph.nodes.enumerated() {
            switch plan.storage[i] {
            case .alias:
                buffers[i] = buffers[plan.aliasOf[i]]
            case .arena:
                precondition(plan.offset[i] % 4 == 0)
                buffers[i] = arena + plan.offset[i] / 4
            case .persistent, .constant:
                let p = JITProgram.allocate(max(n.elementCount, 1))
                owned.append(p)
                buffers[i] = p
                if case .constant(let c) = n.op { for k in 0..<n.elementCount { p[k] = Float(c[k]) } }
                if let s = n.op.feedName { leafIndex[s] = i }
            }
        }
        for o in graph.outputs { outputIndex[o.name] = o.node }
        // 2. Lower every computing node to loop nests (deduplicated into kernel functions).
        var nests: [LoopNest] = [], nestIndex: [LoopNest: Int] = [:]
        var schedule: [(node: NodeID, nest: Int?, slots: [NodeID?])] = []
        func addNest(_ nest: LoopNest, node: NodeID, slots: [NodeID?]) {
            let k: Int
            if let e = nestIndex[nest] { k = e } else { k = nests.count; nests.append(nest); nestIndex[nest] = k }
            schedule.append((node, k, slots))
        }
        for (i, n) in graph.nodes.enumerated() where n.elementCount > 0 {
            do {
                switch n.op {
                case .parameter, .input, .constant, .reshape, .arg:
                    continue
                case .conv2d, .convTranspose2d, .conv2dFilterGrad, .allReduce:
                    schedule.append((i, nil, []))
                case .matmul(let m):
                    schedule.append((i, nil, []))
                    if let e = m.epilogue, !(gemm == .jit && tileEpilogues && JITProgram.tileEpilogue(of: n) != .none) {
                        let nest = try lowerBody(e.nodes, result: e.result, argSlots: Array(0..<(n.inputs.count - 1)),
                                                 slots: n.inputs.count - 1)
                        addNest(nest, node: i, slots: [i] + n.inputs.dropFirst(2).map { Optional($0) })
                    }
                case .fused(let k):
                    let nest = try lowerBody(k.nodes, result: k.result, argSlots: Array(1..<(n.inputs.count + 1)),
                                             slots: n.inputs.count + 1)
                    addNest(nest, node: i, slots: [i] + n.inputs.map { Optional($0) })
                case .concat(let axis):
                    let ost = strides(n.shape)
                    var offset = 0
                    for j in n.inputs {
                        let s = graph[j].shape
                        let body = [Node(op: .arg(0), dtype: .f32, shape: s, inputs: [])]
                        let nest = try lowerBody(body, result: 0, argSlots: [1], slots: 2,
                                                 out: Access(offset: offset * ost[axis], strides: ost))
                        if s.elementCount > 0 { addNest(nest, node: i, slots: [i, j]) }
                        offset += s[axis]
                    }
                case .randomUniform, .randomNormal, .broadcast, .transpose, .slice, .unary, .binary, .compare,
                     .select, .reduce:
                    let body = standaloneBody(graph, i)
                    let nest = try lowerBody(body, result: body.count - 1, argSlots: Array(1..<(n.inputs.count + 1)),
                                             slots: n.inputs.count + 1)
                    addNest(nest, node: i, slots: [i] + n.inputs.map { Optional($0) })
                }
            } catch let e as LoweringError {
                throw LoweringError(description: "\(e.description)\n  in \(describeNode(graph, i))")
            }
        }
        kernelNests = nests
        // The emitted GEMMs, one function per distinct shape.
        // A plan per shape and tile epilogue.
        struct Variant: Hashable { var shape: GEMMShape; var epilogue: TileEpilogue }
        func variant(_ n: Node) -> Variant? {
            guard let shape = JITProgram.gemmShape(of: n, in: graph) else { return nil }
            return Variant(shape: shape, epilogue: tileEpilogues ? JITProgram.tileEpilogue(of: n) : .none)
        }
        var gemmPlans: [Variant: GEMMPlan] = [:]
        if gemm == .jit {
            for p in schedule where p.nest == nil {
                // Steps without a nest are matmuls and convolutions; only matmuls get an emitted GEMM.
                guard let v = variant(graph[p.node]) else { continue }
                if gemmPlans[v] == nil && v.shape.k > 0 {
                    gemmPlans[v] = GEMMPlan(v.shape, packsA: gemmPacksA, precision: precision, epilogue: v.epilogue)
                }
            }
        }
        let plans = gemmPlans.values.sorted { GEMMEmitter.functionName($0) < GEMMEmitter.functionName($1) }
        gemmFunctionNames = plans.map { GEMMEmitter.functionName($0) }
        let conversionNames = plans.filter { $0.precision == .bf16 }.map(GEMMEmitter.conversionFunctionName)
        // 3. One module, compiled once (cached by the graph's structure and kernel names).
        kernelNames = [String](repeating: "", count: nests.count)
        for p in schedule.reversed() { if let k = p.nest { kernelNames[k] = JITProgram.kernelName(k, node: p.node, in: graph) } }
        let kernelNames = kernelNames
        let key = CacheKey(structure: graph.structuralHash, kernelNames: kernelNames, gemm: gemm, precision: precision)
        JITProgram.cacheLock.lock()
        let cached = kernelTextTransform == nil && !gemmPacksA && tileEpilogues ? JITProgram.cache[key] : nil
        JITProgram.cacheLock.unlock()
        if let c = cached {
            module = c
        } else {
            let engine = try JITProgram.sharedEngine.get()
            let gemmCode = GEMMEmitter.functions(plans, metadataBase: nests.count * Emitter.metadataNodes)
            let kernels = nests.enumerated().map { k, n in
                let text = Emitter.function(n, name: kernelNames[k], metadataBase: k * Emitter.metadataNodes)
                return kernelTextTransform?(k, text) ?? text
            } + gemmCode.entries
            let microkernels = gemmCode.microkernels.sorted { $0.key.name < $1.key.name }.map(\.value)
            let names = kernelNames + gemmFunctionNames
            let start = Date()
            do {
                module = try engine.compile(moduleIR: JITProgram.moduleText(kernels + microkernels), name: "graph_\(graph.name)",
                                            symbols: names + conversionNames)
            } catch let e as JITError {
                let gemmNodes = { (plan: GEMMPlan) in
                    schedule.filter { $0.nest == nil && variant(graph[$0.node]) == Variant(shape: plan.shape, epilogue: plan.epilogue) }.map(\.node)
                }
                // Alone, a GEMM's entry point needs its microkernels.
                let standalone = kernels.enumerated().map { k, text in
                    guard k >= nests.count else { return text }
                    let plan = plans[k - nests.count]
                    return ([text] + plan.microkernels.map { gemmCode.microkernels[$0]! })
                        .joined(separator: "\n")
                }
                throw JITProgram.pinpoint(e, kernels: standalone, names: names, engine: engine, graph: graph,
                                          nodesOf: { k in k < nests.count ? schedule.filter { $0.nest == k }.map(\.node)
                                                                          : gemmNodes(plans[k - nests.count]) })
            }
            compileSeconds = Date().timeIntervalSince(start)
            if kernelTextTransform == nil && !gemmPacksA && tileEpilogues {
                JITProgram.cacheLock.lock(); JITProgram.cache[key] = module; JITProgram.cacheLock.unlock()
            }
        }
        // 4. The schedule. The emitted GEMMs share one set of scratch buffers (steps run one at a
        //    time), each slot as large as the largest plan's (`GEMMPlan.scratchWords`).
        for slot in 0..<(plans.map(\.scratchWords.count).max() ?? 0) {
            let p = JITProgram.allocate(plans.map { slot < $0.scratchWords.count ? $0.scratchWords[slot] : 0 }.max()!)
            owned.append(p)
            packBuffers.append(UnsafeMutableRawPointer(p))
        }
        let convolutionScratch = scratchCount.map { count -> UnsafeMutablePointer<Float> in
            let p = JITProgram.allocate(max(count, 1)); owned.append(p); return p
        }
        for p in schedule {
            let n = graph[p.node]
            if let k = p.nest {
                let nest = nests[k]
                let args = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: p.slots.count)
                argArrays.append(args)
                argNodes.append(p.slots)
                let fn: ParallelKernel = try module.function(kernelNames[k])
                let parallel = nest.splittable && nest.elementCount >= 32_768 && nest.shape[0] >= 2
                steps.append(Step(kind: .kernel, node: p.node, kernel: fn, args: args, n0: nest.shape[0],
                                  parallel: parallel, alignment: nest.shape.count == 1 ? 16 : 1))
                kernelCount += 1
            } else if case .matmul(let m) = n.op {
                let (rows, columns, depth) = m.dims(a: graph[n.inputs[0]].shape, b: graph[n.inputs[1]].shape)
                let gemm = UnsafeMutablePointer<GEMMSplit>.allocate(capacity: 1)
                gemm.initialize(to: GEMMSplit(transA: m.transA, transB: m.transB, m: rows, n: columns, k: depth,
                                              a: nil, b: nil, c: nil, byRows: rows >= columns))
                gemms.append(gemm)
                // Not in `argArrays`: those pair with `argNodes`, kernel by kernel.
                let args = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 1)
                args[0] = UnsafeMutableRawPointer(gemm)
                gemmArgs.append(args)
                if let v = variant(n), let plan = gemmPlans[v] {
                    let jitArgs = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: GEMMEmitter.argumentCount)
                    jitArgs.initialize(repeating: nil, count: GEMMEmitter.argumentCount)
                    for (slot, buffer) in packBuffers.enumerated() { jitArgs[3 + slot] = buffer }
                    jitGEMMArgs.append(jitArgs)
                    let split = rows * columns * depth >= GEMMSplit.minimumWork && plan.splitTiles >= 2
                    if split { splitGEMMCount += 1 }
                    let convert: ParallelKernel? = plan.precision == .bf16
                        ? try module.function(GEMMEmitter.conversionFunctionName(plan)) : nil
                    steps.append(Step(kind: .gemm, node: p.node, args: jitArgs, n0: plan.splitTiles, gemm: gemm,
                                      splitAcrossPool: split, jitGEMM: try module.function(GEMMEmitter.functionName(plan)),
                                      chunks: plan.chunks, convertOperands: convert, conversionItems: plan.conversionItems,
                                      tileEpilogueBias: plan.epilogue == .none ? nil : n.inputs[2]))
                } else {
                    let split = rows * columns * depth >= GEMMSplit.minimumWork && max(rows, columns) >= 2 * GEMMSplit.alignment
                    if split { splitGEMMCount += 1 }
                    steps.append(Step(kind: .gemm, node: p.node, args: args, n0: rows >= columns ? rows : columns,
                                      gemm: gemm, splitAcrossPool: split))
                }
                gemmCount += 1
            } else if let geometry = ConvGeometry.of(n.op, operands: n.inputs.map { graph[$0].shape }, result: n.shape) {
                let conv = UnsafeMutablePointer<ConvolutionStep>.allocate(capacity: 1)
                conv.initialize(to: ConvolutionStep(n.op, geometry: geometry, scratch: convolutionScratch!)!)
                convolutions.append(conv)
                let args = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 1)
                args[0] = UnsafeMutableRawPointer(conv)
                convolutionArgs.append(args)
                steps.append(Step(kind: .convolution, node: p.node, args: args, convolution: conv))
            } else if n.op == .allReduce {
                let r = UnsafeMutablePointer<AllReduceRequest>.allocate(capacity: 1)
                r.initialize(to: AllReduceRequest(count: n.elementCount))
                allReduces.append(r)
                steps.append(Step(kind: .allReduceStart, node: p.node, allReduce: r))
            }
        }
        steps = JITProgram.placeAllReduceWaits(steps, graph: graph, plan: plan)
        bindPointers()
    }

    /// Puts each all-reduce's wait just before the first step reading its result (directly or
    /// through a reshape), or at the end, and a test (MPI progress) after every step while one is
    /// in flight, so the reduction runs while the rest of the backward pass computes.
    static func placeAllReduceWaits(_ steps: [Step], graph: Graph, plan: MemoryPlan) -> [Step] {
        guard steps.contains(where: { $0.kind == .allReduceStart }) else { return steps }
        var out: [Step] = [], pending: [Step] = []
        for s in steps {
            let reads = Set(graph[s.node].inputs.map { plan.aliasOf[$0] >= 0 ? plan.aliasOf[$0] : $0 })
            for p in pending where reads.contains(p.node) {
                out.append(Step(kind: .allReduceWait, node: p.node, allReduce: p.allReduce))
            }
            pending.removeAll { reads.contains($0.node) }
            out.append(s)
            if s.kind == .allReduceStart { pending.append(s) }
            else if let first = pending.first { out.append(Step(kind: .allReduceTest, node: first.node, allReduce: first.allReduce)) }
        }
        for p in pending { out.append(Step(kind: .allReduceWait, node: p.node, allReduce: p.allReduce)) }
        return out
    }

    /// Seconds this program's runs spent waiting for all-reduces (communication the backward pass
    /// did not hide), since it was built or `resetAllReduceWait()`. 0 on one rank.
    public var allReduceWaitSeconds: Double {
        Double(allReduces.reduce(UInt64(0)) { $0 + $1.pointee.waitNanoseconds }) / 1e9
    }
    public func resetAllReduceWait() { for r in allReduces { r.pointee.waitNanoseconds = 0 } }
    /// Bytes this program hands to MPI per run (the all-reduces' payloads).
    public var allReduceBytes: Int { allReduces.reduce(0) { $0 + $1.pointee.count * 4 } }

    /// Fills every kernel's pointer slots and every GEMM's operands from `buffers`.
    private func bindPointers() {
        for (args, nodes) in zip(argArrays, argNodes) {
            for (s, id) in nodes.enumerated() { args[s] = id.map { UnsafeMutableRawPointer(buffers[$0]!) } }
        }
        for k in steps.indices where steps[k].kind == .gemm {
            let n = graph[steps[k].node]
            let g = steps[k].gemm!
            g.pointee.a = buffers[n.inputs[0]]; g.pointee.b = buffers[n.inputs[1]]; g.pointee.c = buffers[steps[k].node]
            if steps[k].jitGEMM != nil, let args = steps[k].args {
                args[0] = UnsafeMutableRawPointer(g.pointee.a); args[1] = UnsafeMutableRawPointer(g.pointee.b)
                args[2] = UnsafeMutableRawPointer(g.pointee.c)
                if let bias = steps[k].tileEpilogueBias { args[GEMMEmitter.biasSlot] = UnsafeMutableRawPointer(buffers[bias]!) }
            }
        }
        for k in steps.indices where steps[k].kind == .convolution {
            let n = graph[steps[k].node], c = steps[k].convolution!
            c.pointee.a = buffers[n.inputs[0]]; c.pointee.b = buffers[n.inputs[1]]; c.pointee.out = buffers[steps[k].node]
        }
        for k in steps.indices where steps[k].kind == .allReduceStart {
            let r = steps[k].allReduce!
            r.pointee.send = buffers[graph[steps[k].node].inputs[0]]; r.pointee.recv = buffers[steps[k].node]
        }
    }

    /// True if node `p` (an output replacing leaf `l`) can write straight into `l`'s buffer: it is
    /// a same-index elementwise loop (each element read from `l` at the index it writes), and no
    /// node after it reads `l`. Adam's "new.w" kernels are; the copy after each run disappears.
    private func canWriteInPlace(_ p: NodeID, into l: NodeID) -> Bool {
        let n = graph[p]
        guard n.shape == graph[l].shape, memoryPlan.storage[p] == .arena else { return false }
        if case .fused(let k) = n.op {
            if case .reduce = k.nodes[k.result].op { return false }
        } else if !n.op.isElementwise {
            return false
        }
        let readsL = { (i: NodeID) in self.graph[i].inputs.contains { $0 == l || self.memoryPlan.aliasOf[$0] == l } }
        return !((p + 1)..<graph.count).contains(where: readsL)
    }

    deinit {
        for p in owned { free(p) }
        for a in argArrays { a.deallocate() }
        for s in gemms { s.deallocate() }
        for a in gemmArgs { a.deallocate() }
        for c in convolutions { c.deallocate() }
        for a in convolutionArgs { a.deallocate() }
        for a in jitGEMMArgs { a.deallocate() }
        for r in allReduces { r.deallocate() }
    }

    static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        var raw: UnsafeMutableRawPointer?
        precondition(posix_memalign(&raw, 64, count * 4) == 0, "out of memory allocating \(count * 4) bytes")
        let p = raw!.bindMemory(to: Float.self, capacity: count)
        p.initialize(repeating: 0, count: count)
        return p
    }

    /// The LLVM module for a list of kernel functions: the math library, then the kernels.
    static func moduleText(_ kernels: [String]) -> String {
        MathLibrary.declarations + MathLibrary.functions + GEMMEmitter.declarations + kernels.map { "\n" + $0 }.joined()
    }

    /// When the whole module fails, compiles each kernel alone to name the one LLVM rejects, with
    /// the graph nodes it computes and its IR.
    static func pinpoint(_ e: JITError, kernels: [String], names: [String], engine: LLVMEngine, graph: Graph,
                         nodesOf: (Int) -> [NodeID]) -> JITError {
        for (k, text) in kernels.enumerated() {
            do { _ = try engine.compile(moduleIR: moduleText([text]), name: names[k], symbols: [names[k]]) }
            catch let ek as JITError {
                let nodes = nodesOf(k).map { describeNode(graph, $0) }.joined(separator: "\n")
                return JITError(module: "kernel \(names[k]) of graph @\(graph.name)", stage: ek.stage,
                                message: ek.message + "\n--- it computes ---\n" + nodes, irExcerpt: ek.irExcerpt)
            } catch { continue }
        }
        return e
    }

    /// The module text and its O3-optimised form for `graph` (for `vsc ir llvm`).
    public static func llvmIR(for graph: Graph, pipeline: PassManager? = .default) throws -> (before: String, after: String) {
        let p = try JITProgram(graph, pipeline: pipeline)
        return (p.module.irBefore, p.module.irAfter)
    }

    private func resolveCarries() {
        var rebound = false
        for c in carries {
            guard let o = outputIndex[c.output], let l = leafIndex[c.leaf], buffers[o] != buffers[l],
                  canWriteInPlace(o, into: l) else { continue }
            buffers[o] = buffers[l]
            for i in graph.nodes.indices where memoryPlan.aliasOf[i] == o { buffers[i] = buffers[l] }
            rebound = true
            inPlaceCarries += 1
        }
        if rebound { bindPointers() }
        carryCopies = carries.compactMap { c in
            guard let o = outputIndex[c.output], let l = leafIndex[c.leaf], let src = buffers[o], let dst = buffers[l],
                  src != dst else { return nil }
            return (src, dst, graph[l].elementCount)
        }
    }

    public func buffer(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        guard let i = leafIndex[name] else { return nil }
        return UnsafeMutableBufferPointer(start: buffers[i], count: graph[i].elementCount)
    }

    public func output(_ name: String) -> UnsafeBufferPointer<Float>? {
        guard let i = outputIndex[name] else { return nil }
        return UnsafeBufferPointer(start: buffers[i], count: graph[i].elementCount)
    }

    public func run() throws { try run(profile: nil as UnsafeMutablePointer<[UInt64]>?) }

    /// Time spent in each step of the schedule, accumulated over `profile(runs:)`.
    public struct StepProfile {
        public var node: NodeID
        /// A GEMM or a convolution (im2col and a GEMM).
        public var isGEMM: Bool
        public var seconds: Double
        /// FLOPs of the step (2mnk for a GEMM or a convolution, else 0).
        public var flops: Double
    }

    /// Runs the program `runs` times timing every step (a profile by kernel; the timing itself
    /// adds a clock read per step).
    public func profile(runs: Int) throws -> [StepProfile] {
        var ns = [UInt64](repeating: 0, count: steps.count)
        for _ in 0..<runs { try run(profile: &ns) }
        return steps.indices.map { k in
            let s = steps[k]
            let f = s.gemm.map { g in 2 * Double(g.pointee.m) * Double(g.pointee.n) * Double(g.pointee.k) }
                ?? s.convolution.map { Double($0.pointee.geometry.flops) } ?? 0
            // A convolution step is im2col and one sgemm: profiled with the GEMMs.
            return StepProfile(node: s.node, isGEMM: s.kind == .gemm || s.kind == .convolution, seconds: Double(ns[k]) / 1e9 / Double(max(runs, 1)), flops: f)
        }
    }

    private func run(profile: UnsafeMutablePointer<[UInt64]>?) throws {
        let pool = ParallelFor.shared
        BLASThreads.use(1)
        for (index, s) in steps.enumerated() {
            let t0 = profile == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            switch s.kind {
            case .kernel:
                if s.parallel && usesThreadPool {
                    pool.run(s.kernel!, args: s.args, count: s.n0, chunks: 2, alignment: s.alignment, serialBelow: 2)
                } else {
                    s.kernel!(s.args, 0, Int64(s.n0))
                }
            case .gemm:
                if let convert = s.convertOperands {
                    // bf16: both operands rounded into the shared scratch first (GEMMEmitterBF16).
                    if s.splitAcrossPool && usesThreadPool {
                        pool.run(convert, args: s.args, count: s.conversionItems, chunks: GEMMPlan.maxChunks, alignment: 1, serialBelow: 2)
                    } else {
                        convert(s.args, 0, Int64(s.conversionItems))
                    }
                }
                if let f = s.jitGEMM {
                    // Whole tiles of the split dimension, in the plan's chunks (the emitted GEMM
                    // picks its pack buffers by chunk; see GEMMEmitter).
                    if s.splitAcrossPool && usesThreadPool {
                        pool.run(f, args: s.args, count: s.n0, chunks: s.chunks, alignment: 1, serialBelow: 2)
                    } else {
                        f(s.args, 0, Int64(s.n0))
                    }
                } else if s.splitAcrossPool && usesThreadPool {
                    pool.run(GEMMSplit.chunk, args: s.args, count: s.n0, chunks: pool.threadCount,
                             alignment: GEMMSplit.alignment, serialBelow: 2)
                } else {
                    s.gemm!.pointee.run(0, s.n0)
                }
            case .convolution:
                s.convolution!.pointee.run(pool, args: s.args!)
            case .allReduceStart:
                s.allReduce!.pointee.start()
            case .allReduceTest:
                s.allReduce!.pointee.test()
            case .allReduceWait:
                s.allReduce!.pointee.wait()
            }
            if let p = profile { p.pointee[index] += DispatchTime.now().uptimeNanoseconds - t0 }
            if checkFinite && s.kind != .allReduceStart && s.kind != .allReduceTest { try checkStep(s) }
        }
        for c in carryCopies { c.dst.update(from: c.src, count: c.count) }
    }

    /// The tile epilogue of matmul node `n` (`.none` without an epilogue, or with one that is not
    /// a bias add and relu).
    static func tileEpilogue(of n: Node) -> TileEpilogue {
        guard case .matmul(let m) = n.op, let e = m.epilogue else { return .none }
        return TileEpilogue.of(e, rows: n.shape[0], columns: n.shape[1]) ?? .none
    }

    /// The GEMM shape of matmul node `n` (nil for any other op).
    static func gemmShape(of n: Node, in graph: Graph) -> GEMMShape? {
        guard case .matmul(let m) = n.op else { return nil }
        let (rows, columns, depth) = m.dims(a: graph[n.inputs[0]].shape, b: graph[n.inputs[1]].shape)
        return GEMMShape(transA: m.transA, transB: m.transB, m: rows, n: columns, k: depth)
    }

    private func checkStep(_ s: Step) throws {
        let count = graph[s.node].elementCount
        let p = buffers[s.node]!
        for k in 0..<count where !p[k].isFinite {
            throw RuntimeError("non-finite value \(p[k]) at element \(k) of \(describeNode(graph, s.node))", node: s.node)
        }
    }
}

/// A GEMM, run whole or split into blocks of C's rows (or columns), each one single-threaded
/// `cblas_sgemm` on a thread of the JIT's pool (`BLASThreads`: OpenBLAS's own threads are not used on the JIT
/// path). Row blocks of C come from row blocks of op(A), column blocks from column blocks of op(B);
/// the leading dimensions stay the full matrices', so no data moves.
struct GEMMSplit {
    var transA: Bool, transB: Bool
    var m: Int, n: Int, k: Int
    var a: UnsafeMutablePointer<Float>?, b: UnsafeMutablePointer<Float>?, c: UnsafeMutablePointer<Float>?
    var byRows: Bool
    /// GEMMs with fewer multiply-adds (m·n·k) than this run as one call: splitting costs a wake-up.
    static let minimumWork = 1 << 20
    /// Block boundaries are multiples of this (whole vectors for column blocks).
    static let alignment = 16

    /// The pool's kernel: `args[0]` is the `GEMMSplit`; computes rows (or columns) begin..<end of C.
    static let chunk: ParallelKernel = { args, begin, end in
        args![0]!.assumingMemoryBound(to: GEMMSplit.self).pointee.run(Int(begin), Int(end))
    }

    func run(_ begin: Int, _ end: Int) {
        let lda = Int32(transA ? m : k), ldb = Int32(transB ? k : n), ldc = Int32(n)
        let ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans
        if byRows {
            cblas_sgemm(CblasRowMajor, ta, tb, Int32(end - begin), Int32(n), Int32(k), 1,
                        a! + (transA ? begin : begin * k), lda, b, ldb, 0, c! + begin * n, ldc)
        } else {
            cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(end - begin), Int32(k), 1,
                        a, lda, b! + (transB ? begin * k : begin), ldb, 0, c! + begin, ldc)
        }
    }
}
