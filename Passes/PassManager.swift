import IR

// MARK: - Passes and the pass manager
//
// A pass is a name and a function from graph to graph. Graphs are append-only and hash-consed, so a
// pass never mutates its input: it rebuilds a new graph (`GraphRebuilder`), which also gives CSE for
// free. The pass manager runs an ordered pipeline, verifies the IR after every pass (naming the pass
// that broke it), optionally checks that the IR round-trips through its text form, dumps the IR
// after chosen passes (`// IR Dump After <Pass> (<name>)`, each dump valid IR text that parses
// back) and collects statistics before/after each pass (`--pass-stats`).

/// One graph-to-graph transformation.
public struct Pass: Sendable {
    /// The name used in textual pipelines and `--dump-ir-after` (`fuse-elementwise`).
    public var name: String
    /// The name shown in dump headers (`FuseElementwise`).
    public var title: String
    public var run: @Sendable (Graph) throws -> Graph

    public init(_ name: String, title: String? = nil, _ run: @escaping @Sendable (Graph) throws -> Graph) {
        self.name = name
        self.title = title ?? name.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        self.run = run
    }

    public static let simplify = Pass("simplify", title: "Simplify") { try Simplify.run($0) }
    public static let cse = Pass("cse", title: "CSE") { try CSE.run($0) }
    public static let dce = Pass("dce", title: "DCE") { try DCE.run($0) }
    public static let fuseElementwise = Pass("fuse-elementwise", title: "FuseElementwise") { try FuseElementwise.run($0) }
    public static let fuseGemmEpilogue = Pass("fuse-gemm-epilogue", title: "FuseGemmEpilogue") { try FuseGemmEpilogue.run($0) }
    /// Data-parallel steps only (no change without `allreduce` nodes): see `BucketAllReduce`.
    public static let bucketAllReduce = Pass("bucket-allreduce", title: "BucketAllReduce") { try BucketAllReduce.run($0) }

    /// Every pass known to textual pipelines, by name.
    public static let registry: [String: Pass] = Dictionary(uniqueKeysWithValues:
        [simplify, cse, dce, fuseElementwise, fuseGemmEpilogue, bucketAllReduce].map { ($0.name, $0) })
}

/// An error raised by the pass manager: an unknown pass name, or a pass that produced invalid IR
/// (the message names the pass and carries the verifier's message).
public struct PassError: Error, CustomStringConvertible, Sendable {
    public var pass: String?
    public var message: String
    public init(pass: String?, _ message: String) { self.pass = pass; self.message = message }
    public var description: String {
        if let p = pass { return "error: after pass '\(p)': \(message)" }
        return "error: \(message)"
    }
}

/// Size statistics of a graph, as `--pass-stats` prints them.
///
/// - `nodes`: every node of the graph (leaves included, fused bodies counted as one node).
/// - `executable`: nodes that launch work at run time: every node except leaves (parameter,
///   input, constant) and views (`reshape`, which aliases its operand). So fused kernels, matmuls
///   and every remaining unfused op (elementwise, broadcast, transpose, slice, concat, reduce,
///   random) count one each.
/// - `kernels`: fused-kernel nodes; `matmuls`: matmul nodes (with or without epilogue).
/// - `bytes`: bytes of all buffers (every non-view node, leaves included), with no reuse.
/// - `peakBytes`: peak live bytes of the intermediate arena as planned by `PlanMemory`.
/// - `flops`: floating-point operations of one run (see `MemoryPlan.flops`).
public struct GraphStats: Equatable, Sendable {
    public var nodes: Int
    public var executable: Int
    public var kernels: Int
    public var matmuls: Int
    public var bytes: Int
    public var peakBytes: Int
    public var flops: Int

    public init(_ g: Graph) {
        nodes = g.count
        var ex = 0, k = 0, m = 0, b = 0
        for n in g.nodes {
            if n.op.isView { continue }
            b += n.elementCount * n.dtype.byteSize
            if n.op.isLeaf { continue }
            ex += 1
            if case .fused = n.op { k += 1 }
            if case .matmul = n.op { m += 1 }
        }
        executable = ex; kernels = k; matmuls = m; bytes = b
        let plan = PlanMemory.plan(g)
        peakBytes = plan.peakBytes
        flops = plan.flops
    }
}

/// One row of `--pass-stats`: the graph's statistics after `pass` (nil: the input).
public struct PassStatsRow: Sendable {
    public var pass: String?
    public var stats: GraphStats
    /// Whether the pass changed the printed IR.
    public var changed: Bool
}

/// Runs an ordered pipeline of passes with verification, dumps and statistics.
///
///     var pm = try PassManager(pipeline: "simplify,cse,dce,fuse-elementwise,fuse-gemm-epilogue")
///     pm.dumpIRAfter = ["all"]
///     let result = try pm.run(graph)
///     print(result.graph, result.dumps.map(\.text).joined(), PassManager.formatStats(result.stats))
public struct PassManager: Sendable {
    public var passes: [Pass]
    /// Pass names (or titles) after which to dump the IR; `"all"` dumps after every pass.
    public var dumpIRAfter: Set<String> = []
    /// Only dump after passes that changed the IR (MLIR's `-mlir-print-ir-after-change`).
    public var dumpOnlyIfChanged = false
    /// Runs `Graph.verify()` and the fused-kernel contract check after every pass (default on).
    public var verifyEachPass = true
    /// Also checks print → parse → print after every pass (slower; used by tests and `--verify-roundtrip`).
    public var verifyRoundTrip = false
    /// Collects `GraphStats` before the pipeline and after every pass.
    public var collectStats = false
    /// Called with each dump as soon as it is made (for streaming to stderr); dumps are also returned.
    public var dumpHandler: (@Sendable (String) -> Void)?

    /// The default optimisation pipeline. `bucket-allreduce` comes last (it places each bucket
    /// after its last gradient in the final schedule) and changes nothing in a single-process step.
    public static let defaultPipeline = "simplify,cse,dce,fuse-elementwise,fuse-gemm-epilogue,bucket-allreduce"
    public static var `default`: PassManager { try! PassManager(pipeline: defaultPipeline) }

    public init(_ passes: [Pass]) { self.passes = passes }
    public init(pipeline: String) throws { passes = try PassManager.parsePipeline(pipeline) }

    /// Parses `simplify,cse,dce` (commas and/or spaces; surrounding `builtin(…)` not needed).
    public static func parsePipeline(_ text: String) throws -> [Pass] {
        let names = text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" }).map(String.init)
        return try names.map { name in
            guard let p = Pass.registry[name] ?? Pass.registry.values.first(where: { $0.title == name }) else {
                throw PassError(pass: nil, "unknown pass '\(name)' in pipeline '\(text)' (known: \(Pass.registry.keys.sorted().joined(separator: ", ")))")
            }
            return p
        }
    }

    public struct Result {
        public var graph: Graph
        /// `(pass name, dump text)`; each text starts with `// IR Dump After …` and parses as IR.
        public var dumps: [(pass: String, text: String)]
        /// The input's statistics first (pass nil), then one row per pass (if `collectStats`).
        public var stats: [PassStatsRow]
    }

    /// Runs the pipeline on `g` (which is not changed).
    public func run(_ g: Graph) throws -> Result {
        if verifyEachPass { try check(g, after: nil) }
        var cur = g
        var dumps: [(String, String)] = []
        var stats: [PassStatsRow] = []
        if collectStats { stats.append(PassStatsRow(pass: nil, stats: GraphStats(g), changed: false)) }
        let dumpAll = dumpIRAfter.contains("all")
        for p in passes {
            let before = IRPrinter.print(cur)
            let next: Graph
            do { next = try p.run(cur) }
            catch let e as PassError { throw e }
            catch { throw PassError(pass: p.name, "the pass failed: \(error)") }
            if verifyEachPass { try check(next, after: p.name) }
            let text = IRPrinter.print(next)
            let changed = text != before
            if collectStats { stats.append(PassStatsRow(pass: p.name, stats: GraphStats(next), changed: changed)) }
            if (dumpAll || dumpIRAfter.contains(p.name) || dumpIRAfter.contains(p.title)) && (changed || !dumpOnlyIfChanged) {
                let d = PassManager.dumpHeader(p) + text
                dumps.append((p.name, d))
                dumpHandler?(d)
            }
            cur = next
        }
        return Result(graph: cur, dumps: dumps, stats: stats)
    }

    /// `// IR Dump After FuseElementwise (fuse-elementwise)` and a newline.
    public static func dumpHeader(_ p: Pass) -> String { "// IR Dump After \(p.title) (\(p.name))\n" }

    /// Verifies `g`: the graph verifier, the fused-kernel contract of every kernel and epilogue,
    /// and (if asked) the print → parse → print round trip. Errors name the pass (`after`).
    public func check(_ g: Graph, after pass: String?) throws {
        let who = pass ?? "(input)"
        do { try g.verify() } catch {
            throw PassError(pass: pass, "IR verification failed\(pass == nil ? " on the input" : ""): \(error)")
        }
        for (i, n) in g.nodes.enumerated() {
            var body: FusedKernel?
            var epilogue = false
            switch n.op {
            case .fused(let k): body = k
            case .matmul(let m): body = m.epilogue; epilogue = true
            default: break
            }
            guard let k = body else { continue }
            if let problem = FusedKernelContract.violation(k, epilogue: epilogue) {
                throw PassError(pass: pass, "\(who == "(input)" ? "input: " : "")%\(i) = \(n.op.name): kernel body breaks the fused-kernel contract: \(problem)")
            }
        }
        if verifyRoundTrip {
            let text = IRPrinter.print(g)
            let back: Graph
            do { back = try IRParser.parse(text, file: "<after \(who)>") } catch {
                throw PassError(pass: pass, "printed IR does not parse back: \(error)")
            }
            if IRPrinter.print(back) != text {
                throw PassError(pass: pass, "printed IR does not round-trip (print → parse → print differs)")
            }
        }
    }

    /// The `--pass-stats` table, one line per row, each starting with `//` (so it can precede IR).
    public static func formatStats(_ rows: [PassStatsRow]) -> String {
        func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
            s.count >= w ? s : (left ? s + String(repeating: " ", count: w - s.count) : String(repeating: " ", count: w - s.count) + s)
        }
        var out = "// Pass statistics (executable = every node except parameters, inputs, constants and reshape views)\n"
        out += "// " + pad("after pass", 20, left: true) + pad("nodes", 8) + pad("exec", 8) + pad("kernels", 9)
            + pad("matmuls", 9) + pad("bytes", 12) + pad("peak", 12) + pad("flops", 14) + "\n"
        for r in rows {
            let s = r.stats
            let name = (r.pass ?? "(input)") + (r.pass != nil && !r.changed ? " (no change)" : "")
            out += "// " + pad(name, 20, left: true) + pad("\(s.nodes)", 8) + pad("\(s.executable)", 8)
                + pad("\(s.kernels)", 9) + pad("\(s.matmuls)", 9) + pad("\(s.bytes)", 12) + pad("\(s.peakBytes)", 12)
                + pad("\(s.flops)", 14) + "\n"
        }
        if let first = rows.first?.stats, let last = rows.last?.stats, rows.count > 1, last.executable > 0 {
            let ratio = Double(first.executable) / Double(last.executable)
            out += "// executable nodes: \(first.executable) → \(last.executable) (\(format2(ratio))× fewer)\n"
        }
        return out
    }

    static func format2(_ x: Double) -> String {
        let r = (x * 100).rounded() / 100
        return "\(r)"
    }
}

// MARK: - Rebuilding graphs

/// Builds a new graph from an old one node by node, keeping the old node's location, remapping
/// inputs and outputs. Re-adding nodes to the hash-consed graph merges identical ones (CSE).
public struct GraphRebuilder {
    public let old: Graph
    public let new: Graph
    /// Old node id → new node id (nil until mapped).
    public var map: [NodeID?]

    public init(_ old: Graph) {
        self.old = old
        new = Graph(name: old.name)
        map = Array(repeating: nil, count: old.count)
    }

    /// Adds `old[id]` with its inputs remapped (they must be mapped already).
    @discardableResult
    public mutating func copy(_ id: NodeID) throws -> NodeID {
        let n = old[id]
        let r = try new.add(n.op, inputs: n.inputs.map { map[$0]! }, shape: n.shape, dtype: n.dtype, location: n.location)
        map[id] = r
        return r
    }

    /// Copies the outputs of the old graph (every output node must be mapped).
    public func finishOutputs() {
        for o in old.outputs { new.setOutput(o.name, map[o.node]!) }
    }
}

/// The graph with only the nodes in `keep` (plus every parameter and input), in the same order.
func compact(_ g: Graph, keep: [Bool]) throws -> Graph {
    var rb = GraphRebuilder(g)
    for (i, n) in g.nodes.enumerated() {
        switch n.op {
        case .parameter, .input: try rb.copy(i)
        default: if keep[i] { try rb.copy(i) }
        }
    }
    rb.finishOutputs()
    return rb.new
}
