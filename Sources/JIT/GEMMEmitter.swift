import Foundation
import IR

/// Which code computes a program's matmuls.
public enum GEMMKernel: String, CaseIterable, Sendable {
    /// `cblas_sgemm` (OpenBLAS), single-threaded calls split over the JIT's pool.
    case blas
    /// Our own packed, cache- and register-blocked kernel, emitted as LLVM IR for each matmul
    /// shape (`GEMMEmitter`). Written for AVX-512 (`<16 x float>`); on other hosts LLVM splits
    /// the vectors and it stays correct, only slower than OpenBLAS.
    case jit

    /// `jit` where LLVM reports avx512f for the host, else `blas` (AVX2-only hosts keep
    /// OpenBLAS, whose AVX2 kernels our 16-wide code would not beat there).
    public static var hostDefault: GEMMKernel { HostTarget.host.hasAVX512F ? .jit : .blas }
}

extension MatmulPrecision {
    /// Why a program cannot compute its matmuls in this precision with `gemm` on `host` (nil: it
    /// can). Names the CLI flag and the spec key, which both end up here.
    public func unsupportedReason(gemm: GEMMKernel, host: HostTarget = .host) -> String? {
        switch self {
        case .fp32: return nil
        case .bf16:
            if gemm != .jit {
                return "precision bf16 (--precision bf16 / spec key `precision: bf16`) needs the JIT's own GEMM (--gemm jit):"
                    + " OpenBLAS has no bf16 GEMM"
            }
            if !host.hasAVX512BF16 {
                return "precision bf16 (--precision bf16 / spec key `precision: bf16`) needs a CPU with AVX512_BF16, and LLVM"
                    + " reports no +avx512bf16 for this one (\(host.cpuName)): use precision fp32"
            }
            return nil
        }
    }
}

/// What the emitted GEMM applies to a C tile after its last K block, before storing it: the
/// matmul's fused epilogue when that is exactly a bias add (`add(product, broadcast(b))`, b of
/// C's column count), optionally followed by relu — the forward dense layers. The tile is then
/// finished while in registers, and no kernel sweeps C again; any other epilogue runs as a JIT
/// kernel after the GEMM. Bitwise the same as the separate kernel: one fadd (and relu's
/// select) on the same fp32 sum.
public enum TileEpilogue: String, Hashable, Sendable {
    case none, bias, biasRelu

    /// The tile form of `epilogue` (a fused body whose arg 0 is the [rows, columns] product), or
    /// nil when it is anything else.
    static func of(_ epilogue: FusedKernel, rows: Int, columns: Int) -> TileEpilogue? {
        let nodes = epilogue.nodes
        var sum = nodes[epilogue.result], relu = false
        if case .unary(.relu) = sum.op { relu = true; sum = nodes[sum.inputs[0]] }
        guard case .binary(.add) = sum.op, nodes.count == (relu ? 5 : 4) else { return nil }
        func isProduct(_ n: Node) -> Bool { if case .arg(0) = n.op { return n.shape == [rows, columns] } else { return false } }
        func isBias(_ n: Node) -> Bool {
            guard case .broadcast = n.op, n.shape == [rows, columns], case .arg(1) = nodes[n.inputs[0]].op else { return false }
            return nodes[n.inputs[0]].shape == [columns]
        }
        let (x, y) = (nodes[sum.inputs[0]], nodes[sum.inputs[1]])
        guard (isProduct(x) && isBias(y)) || (isBias(x) && isProduct(y)) else { return nil }
        return relu ? .biasRelu : .bias
    }
}

/// A matmul as the GEMM kernel sees it: C[m×n] = op(A)[m×k] · op(B)[k×n], row-major, with
/// op(A) = Aᵀ when `transA` (A stored k×m), op(B) = Bᵀ when `transB` (B stored n×k); C is
/// overwritten (beta = 0). Every field is a constant of the emitted function.
public struct GEMMShape: Hashable, Sendable, CustomStringConvertible {
    public var transA: Bool, transB: Bool
    public var m: Int, n: Int, k: Int
    public init(transA: Bool, transB: Bool, m: Int, n: Int, k: Int) {
        self.transA = transA; self.transB = transB; self.m = m; self.n = n; self.k = k
    }
    /// `NT 500x784x3000` (m×n×k).
    public var description: String { "\(transA ? "T" : "N")\(transB ? "T" : "N") \(m)x\(n)x\(k)" }
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
}

/// The blocking of one GEMM shape (GotoBLAS/BLIS structure, sizes for Zen 5: 48 KiB L1D,
/// 1 MiB L2 per core):
///
///     for jc in this chunk's columns, by NC          (B block KC×NC, from L2/L3)
///       for pc in 0..<K, by KC                        (C accumulates over K blocks in order)
///         pack B[pc.., jc..] into panels of NR columns
///         for ic in this chunk's rows, by MC          (A block MC×KC stays in L2)
///           pack A[ic.., pc..] into panels of MR rows (or read A in place, below)
///           for jr by NR: for ir by MR:               (B micro-panel KC×NR stays in L1)
///             microkernel: a 12×32 tile of C in 24 zmm accumulators
///
/// By default A is not packed: the microkernel broadcasts A's values straight from the matrix
/// (its strides are constants of the emitted code, so every address is a base plus a
/// displacement), and only a last, partial panel of rows is copied (zero-padded) so that no read
/// leaves the matrix. Measured on the paper net's shapes (one thread) that beat packing A
/// everywhere: by 5–15 % at 480×512×256 and 1–10 % at the 500×3000×784 class, most where N is
/// small and the packing was amortised over few column panels. `packsA: true` keeps the packed
/// path (tests run it).
///
/// The pool splits C's columns (or rows, when there are more rows than columns) into up to
/// `maxChunks` disjoint runs of whole tiles, claimed one at a time by whichever of its two
/// threads is free: when another process slows one core, the other core takes more chunks
/// instead of waiting for a fixed half (OpenBLAS's static split waits). Each chunk packs into
/// its own buffers. Every element of C is summed in the same order (k-blocks in order, k within
/// a block in order) whichever thread runs its chunk, so results are bitwise deterministic.
public struct GEMMPlan: Hashable, Sendable {
    public let shape: GEMMShape
    /// Rows and columns of the register tile (NR = two 16-float vectors).
    public static let mr = 12, nr = 32
    /// Upper bounds of the cache blocks (the plan balances the blocks under them).
    static let kcMax = 256, mcMax = 144, ncMax = 1024
    /// K block; M block (a multiple of MR); N block (a multiple of NR).
    public let kc: Int, mc: Int, nc: Int
    /// True: A is packed into MR-row panels; false: read in place (see the type's comment).
    public let packsA: Bool
    /// True: the threads split C's columns (in NR panels); false: its rows (in MR panels).
    public let splitColumns: Bool
    /// Tiles along the split dimension: the pool runs `begin..<end` of these.
    public let splitTiles: Int
    /// Chunks of tiles the pool hands out (see the type's comment); at most `maxChunks`.
    public let chunks: Int
    public static let maxChunks = 8
    /// fp32: FMAs on Float32 operands. bf16: both operands are first rounded to bfloat16 pairs
    /// (a separate conversion function, see `GEMMEmitter.buildBF16`), then `vdpbf16ps`.
    public let precision: MatmulPrecision
    /// Applied to C's tiles after the last K block (`TileEpilogue`); args[`GEMMEmitter.biasSlot`]
    /// holds the bias.
    public let epilogue: TileEpilogue

    public init(_ s: GEMMShape, packsA: Bool = false, precision: MatmulPrecision = .fp32, epilogue: TileEpilogue = .none) {
        shape = s
        self.precision = precision
        self.epilogue = epilogue
        let mr = GEMMPlan.mr, nr = GEMMPlan.nr
        func roundUp(_ x: Int, _ q: Int) -> Int { (x + q - 1) / q * q }
        func balanced(_ extent: Int, max: Int, multiple: Int) -> Int {
            let blocks = Swift.max(1, (extent + max - 1) / max)
            return roundUp(Swift.max(1, (extent + blocks - 1) / blocks), multiple)
        }
        // bf16 steps over k in pairs (one `vdpbf16ps` multiplies two k), so K blocks are even
        // and a pair never straddles two blocks.
        kc = balanced(s.k, max: GEMMPlan.kcMax, multiple: precision == .bf16 ? 2 : 1)
        // Splitting columns duplicates A's packing in both threads, splitting rows B's: split
        // the larger of the two dimensions, which also balances better.
        splitColumns = s.n >= s.m
        splitTiles = splitColumns ? (s.n + nr - 1) / nr : (s.m + mr - 1) / mr
        chunks = Swift.max(1, Swift.min(GEMMPlan.maxChunks, splitTiles))
        let tilesPerChunk = (splitTiles + chunks - 1) / chunks
        let chunkRows = splitColumns ? s.m : tilesPerChunk * mr
        let chunkColumns = splitColumns ? tilesPerChunk * nr : s.n
        mc = balanced(chunkRows, max: GEMMPlan.mcMax, multiple: mr)
        nc = balanced(chunkColumns, max: GEMMPlan.ncMax, multiple: nr)
        // bf16 reads the converted A in place (its rows padded), so it never packs A.
        self.packsA = precision == .fp32 && packsA
    }

    /// Floats of the packed-A and packed-B buffers one thread needs (fp32).
    public var packedAFloats: Int { mc * kc }
    public var packedBFloats: Int { nc * kc }

    /// bf16: pairs of k (the last one zero-padded when K is odd), rows of the converted op(A)
    /// (padded to a multiple of 48: whole 12-row tiles for the microkernel, whole 16-row blocks
    /// for the conversion), and 32-column panels of the converted op(B).
    public var kPairs: Int { (shape.k + 1) / 2 }
    public var paddedRows: Int { (shape.m + 47) / 48 * 48 }
    public var columnPanels: Int { (shape.n + GEMMPlan.nr - 1) / GEMMPlan.nr }
    /// bf16: work items of the conversion function: 16-row blocks of op(A), then B's panels.
    public var conversionItems: Int { paddedRows / 16 + columnPanels }

    /// The 4-byte words of each scratch buffer the emitted function takes in args[3...]: fp32,
    /// a packed-A and a packed-B buffer for each chunk; bf16, the converted A and B, which the
    /// chunks share (they only read them).
    public var scratchWords: [Int] {
        switch precision {
        case .fp32: return Array(repeating: [packedAFloats, packedBFloats], count: chunks).flatMap { $0 }
        case .bf16: return [paddedRows * kPairs, columnPanels * GEMMPlan.nr * kPairs]
        }
    }

    /// Floats between A's consecutive rows and between consecutive k of one row, as the
    /// microkernel reads A in place.
    var aStrides: (row: Int, k: Int) { shape.transA ? (1, shape.m) : (shape.k, 1) }

    /// The microkernel reading packed A panels (always needed: a partial last panel of rows is
    /// packed even when A is read in place).
    var packedMicrokernel: GEMMEmitter.Microkernel { .init(aRowStride: 1, aKStride: GEMMPlan.mr, ldc: shape.n, epilogue: epilogue) }
    /// The microkernel reading A in place (nil when A is packed).
    var directMicrokernel: GEMMEmitter.Microkernel? {
        packsA ? nil : .init(aRowStride: aStrides.row, aKStride: aStrides.k, ldc: shape.n, epilogue: epilogue)
    }
    /// bf16: the converted op(A)'s strides in pairs (rows × pairs, or pairs × rows when A is
    /// transposed: see `GEMMEmitter.buildBF16`).
    var bf16AStrides: (row: Int, pair: Int) { shape.transA ? (1, paddedRows) : (kPairs, 1) }
    /// The microkernels this plan's entry point calls.
    var microkernels: [GEMMEmitter.Microkernel] {
        switch precision {
        case .fp32: return [packedMicrokernel] + (directMicrokernel.map { [$0] } ?? [])
        case .bf16: return [.init(aRowStride: bf16AStrides.row, aKStride: bf16AStrides.pair, ldc: shape.n, precision: .bf16, epilogue: epilogue)]
        }
    }
}

/// Writes the GEMM functions of the JIT: for each shape one entry point
/// `void @name(i8** %args, i64 %begin, i64 %end)` (the `ParallelKernel` ABI) computing the tiles
/// begin..<end along `GEMMPlan.splitColumns`' dimension, with
///   args[0] = A, args[1] = B, args[2] = C,
///   args[3 + 2c], args[4 + 2c] = packed A, packed B of chunk c (c < `GEMMPlan.maxChunks`),
///   args[`biasSlot`] = the bias of a tile epilogue.
/// The pool runs it as `ParallelFor.run(count: splitTiles, chunks: plan.chunks, alignment: 1)`,
/// whose chunk c starts at tile ⌊c·tiles/chunks⌋; the function recovers c from `begin` as
/// ⌈begin·chunks/tiles⌉, so two chunks running at once never share a pack buffer (a call for
/// the whole range is chunk 0). Microkernels are shared between shapes with equal strides.
struct GEMMEmitter {
    var lines: [String] = []
    var tmp = 0
    /// The next free metadata number, the loop IDs handed out by `loop` (each pointing at the
    /// two property nodes written after the entry point: no vectorising, no unrolling), and the
    /// first number past this function's range.
    var nextMetadata = 0
    var plainLoops: [Int] = []
    var metadataBaseLimit = Int.max

    /// A microkernel's constants: A's strides (floats between rows, between k) and C's row
    /// stride. Its name spells them: `vsc_gemm_micro.a784x1.c3000`.
    /// bf16 microkernels (`vsc_gemm_bf16_micro.…`) step over pairs of k, and A's strides count
    /// pairs (one 32-bit word holds a pair of bfloat16).
    struct Microkernel: Hashable {
        var aRowStride: Int, aKStride: Int, ldc: Int
        var precision: MatmulPrecision = .fp32
        var epilogue: TileEpilogue = .none
        var name: String {
            "vsc_gemm\(precision == .bf16 ? "_bf16" : "")_micro.a\(aRowStride)x\(aKStride).c\(ldc)" + GEMMEmitter.suffix(epilogue)
        }
    }

    /// Metadata numbers one GEMM (entry point and microkernels) may use.
    static let metadataNodes = 64

    /// args[biasSlot]: the bias of a plan with a tile epilogue.
    static let biasSlot = 3 + 2 * GEMMPlan.maxChunks
    static let argumentCount = biasSlot + 1

    mutating func fresh(_ hint: String = "t") -> String { tmp += 1; return "%\(hint)\(tmp)" }
    mutating func emit(_ s: String) { lines.append("  " + s) }
    mutating func label(_ l: String) { lines.append(l + ":") }

    /// The LLVM function name of a shape's GEMM: `gemm.NT.m500.n784.k3000` (fp32),
    /// `gemm.bf16.NT.m500.n784.k3000`.
    static func functionName(_ s: GEMMShape) -> String { functionName(s, precision: .fp32) }
    static func functionName(_ s: GEMMShape, precision: MatmulPrecision) -> String {
        "gemm.\(precision == .bf16 ? "bf16." : "")\(s.transA ? "T" : "N")\(s.transB ? "T" : "N").m\(s.m).n\(s.n).k\(s.k)"
    }
    /// A plan's entry point: the shape's name, and `.bias` / `.biasRelu` with a tile epilogue.
    static func functionName(_ plan: GEMMPlan) -> String { functionName(plan.shape, precision: plan.precision) + suffix(plan.epilogue) }
    static func suffix(_ epilogue: TileEpilogue) -> String { epilogue == .none ? "" : "." + epilogue.rawValue }
    /// bf16: the function converting a plan's operands (`gemm.bf16.NT….convert`).
    static func conversionFunctionName(_ plan: GEMMPlan) -> String { functionName(plan) + ".convert" }

    /// The GEMM code of a module: one entry point per plan (in order), and each distinct
    /// microkernel once (shapes with the same A strides and C row stride share one: the paper
    /// net's ~15 shapes need about half as many). Metadata nodes are numbered from
    /// `metadataBase` up (the module's loop kernels take the numbers below it): `metadataNodes`
    /// per entry point, then `microkernelMetadataNodes` per microkernel.
    static func functions(_ plans: [GEMMPlan], metadataBase: Int) -> (entries: [String], microkernels: [Microkernel: String]) {
        let entries = plans.enumerated().map { g, plan in
            var e = GEMMEmitter()
            e.nextMetadata = metadataBase + g * metadataNodes
            switch plan.precision {
            case .fp32: return e.build(plan, name: functionName(plan))
            case .bf16: return e.buildBF16(plan, name: functionName(plan))
            }
        }
        let keys = Set(plans.flatMap(\.microkernels)).sorted { $0.name < $1.name }
        var microkernels: [Microkernel: String] = [:]
        for (i, key) in keys.enumerated() {
            var e = GEMMEmitter()
            microkernels[key] = e.microkernel(key, metadataBase: metadataBase + plans.count * metadataNodes + i * microkernelMetadataNodes)
        }
        return (entries, microkernels)
    }

    static let microkernelMetadataNodes = 3

    /// Declarations every module with GEMMs needs (once per module).
    static let declarations = """
    declare <16 x float> @llvm.fma.v16f32(<16 x float>, <16 x float>, <16 x float>)
    declare <16 x float> @llvm.masked.load.v16f32.p0v16f32(<16 x float>*, i32, <16 x i1>, <16 x float>)
    declare void @llvm.masked.store.v16f32.p0v16f32(<16 x float>, <16 x float>*, i32, <16 x i1>)
    declare void @llvm.prefetch.p0i8(i8*, i32, i32, i32)
    declare <16 x float> @llvm.x86.avx512bf16.dpbf16ps.512(<16 x float>, <16 x i32>, <16 x i32>)
    declare <32 x i16> @llvm.x86.avx512bf16.cvtne2ps2bf16.512(<16 x float>, <16 x float>)
    declare void @llvm.masked.store.v16i32.p0v16i32(<16 x i32>, <16 x i32>*, i32, <16 x i1>)

    """

    // MARK: Small IR helpers

    /// `for i in start..<end step step { body(i) }` (start, end: i64 constants or values; the
    /// body may contain loops of its own). Skipped entirely when start ≥ end.
    mutating func loop(_ tag: String, from start: String, to end: String, step: Int = 1,
                       _ body: (inout GEMMEmitter, String) -> Void) {
        let t = String(fresh(tag).dropFirst())
        let ok = fresh()
        emit("\(ok) = icmp slt i64 \(start), \(end)")
        emit("br i1 \(ok), label %\(t).pre, label %\(t).exit")
        label("\(t).pre")
        emit("br label %\(t).head")
        label("\(t).head")
        let i = "%\(t).i"
        emit("\(i) = phi i64 [ \(start), %\(t).pre ], [ %\(t).next, %\(t).latch ]")
        body(&self, i)
        emit("br label %\(t).latch")
        label("\(t).latch")
        emit("%\(t).next = add nsw i64 \(i), \(step)")
        emit("%\(t).c = icmp slt i64 %\(t).next, \(end)")
        // No vectorising or unrolling of these loops (packing and blocking): O3 turned the strided
        // copies into gathers and scatters in several unrolled versions, 90 % of a shape's code
        // and of its compile time, for loops that move a few % of the data the FMAs use.
        let id = nextMetadata
        nextMetadata += 1
        plainLoops.append(id)
        emit("br i1 %\(t).c, label %\(t).head, label %\(t).exit, !llvm.loop !\(id)")
        label("\(t).exit")
    }

    /// `if condition { then } else { otherwise }` (condition: an i1 value).
    mutating func branch(_ condition: String, then: (inout GEMMEmitter) -> Void, otherwise: (inout GEMMEmitter) -> Void) {
        let t = String(fresh("if").dropFirst())
        emit("br i1 \(condition), label %\(t).then, label %\(t).else")
        label("\(t).then")
        then(&self)
        emit("br label %\(t).end")
        label("\(t).else")
        otherwise(&self)
        emit("br label %\(t).end")
        label("\(t).end")
    }

    mutating func binary(_ op: String, _ a: String, _ b: String) -> String {
        let r = fresh(); emit("\(r) = \(op) i64 \(a), \(b)"); return r
    }
    mutating func add(_ a: String, _ b: String) -> String { binary("add nsw", a, b) }
    mutating func sub(_ a: String, _ b: String) -> String { binary("sub nsw", a, b) }
    mutating func mul(_ a: String, _ b: String) -> String { binary("mul nsw", a, b) }

    /// The function's text, followed by the loop metadata its `plainLoops` point at (LLVM must
    /// neither vectorise nor unroll them).
    mutating func finishedText(_ name: String) -> String {
        let properties = nextMetadata
        precondition(properties + 2 <= metadataBaseLimit, "GEMM \(name) needs more metadata nodes")
        for id in plainLoops { lines.append("!\(id) = distinct !{!\(id), !\(properties), !\(properties + 1)}") }
        lines.append("!\(properties) = !{!\"llvm.loop.vectorize.enable\", i1 false}")
        lines.append("!\(properties + 1) = !{!\"llvm.loop.unroll.disable\"}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// This chunk's rows m0..<m1 and columns n0..<n1 of C: chunk indices `%begin..<%end` count
    /// NR-column panels when the plan splits columns, MR-row strips otherwise.
    mutating func chunkBounds(_ plan: GEMMPlan) -> (m0: String, m1: String, n0: String, n1: String) {
        let s = plan.shape
        if plan.splitColumns {
            return ("0", "\(s.m)", mul("%begin", "\(GEMMPlan.nr)"), min(mul("%end", "\(GEMMPlan.nr)"), "\(s.n)"))
        }
        return (mul("%begin", "\(GEMMPlan.mr)"), min(mul("%end", "\(GEMMPlan.mr)"), "\(s.m)"), "0", "\(s.n)")
    }
    mutating func min(_ a: String, _ b: String) -> String {
        let c = fresh(), r = fresh()
        emit("\(c) = icmp slt i64 \(a), \(b)")
        emit("\(r) = select i1 \(c), i64 \(a), i64 \(b)")
        return r
    }
    mutating func compare(_ predicate: String, _ a: String, _ b: String) -> String {
        let r = fresh("cmp"); emit("\(r) = icmp \(predicate) i64 \(a), \(b)"); return r
    }
    mutating func element(_ base: String, _ index: String, type: String = "float") -> String {
        let p = fresh("p"); emit("\(p) = getelementptr inbounds \(type), \(type)* \(base), i64 \(index)"); return p
    }
    mutating func copy(from src: String, to dst: String) {
        let v = fresh("v")
        emit("\(v) = load float, float* \(src), align 4")
        emit("store float \(v), float* \(dst), align 4")
    }
    mutating func vectorPointer(_ p: String) -> String {
        let v = fresh("pv"); emit("\(v) = bitcast float* \(p) to <16 x float>*"); return v
    }

    /// The microkernel call's trailing arguments for a tile epilogue: the bias at the tile's first
    /// column, and whether this K block (starting at `pc`) is the last one.
    mutating func epilogueArguments(_ plan: GEMMPlan, column: String, pc: String) -> String {
        guard plan.epilogue != .none else { return "" }
        let last = compare("sge", add(pc, "\(plan.kc)"), "\(plan.shape.k)")
        return ", float* \(element("%bias", column)), i1 \(last)"
    }

    // MARK: The entry point of one shape

    mutating func build(_ plan: GEMMPlan, name: String) -> String {
        metadataBaseLimit = nextMetadata + GEMMEmitter.metadataNodes
        let s = plan.shape
        lines = ["define void @\(name)(i8** noalias %args, i64 %begin, i64 %end) {", "entry:"]
        // The chunk this call is (see the type's comment), and its pack buffers.
        emit("%chunk.n = mul nsw i64 %begin, \(plan.chunks)")
        emit("%chunk.r = add nsw i64 %chunk.n, \(plan.splitTiles - 1)")
        emit("%chunk = udiv i64 %chunk.r, \(plan.splitTiles)")
        emit("%pa.slot = add nsw i64 %chunk, %chunk")
        emit("%pa.index = add nsw i64 %pa.slot, 3")
        emit("%pb.index = add nsw i64 %pa.slot, 4")
        for (v, slot) in [("a", "0"), ("b", "1"), ("c", "2"), ("pa", "%pa.index"), ("pb", "%pb.index")]
            + (plan.epilogue == .none ? [] : [("bias", "\(GEMMEmitter.biasSlot)")]) {
            emit("%\(v).pp = getelementptr inbounds i8*, i8** %args, i64 \(slot)")
            emit("%\(v).raw = load i8*, i8** %\(v).pp, align 8")
            emit("%\(v) = bitcast i8* %\(v).raw to float*")
        }
        let mr = GEMMPlan.mr, nr = GEMMPlan.nr
        let (m0, m1, n0, n1) = chunkBounds(plan)
        let (aRowStride, aKStride) = plan.aStrides
        loop("jc", from: n0, to: n1, step: plan.nc) { e, jc in
            let ncValid = e.min("\(plan.nc)", e.sub(n1, jc))
            e.loop("pc", from: "0", to: "\(s.k)", step: plan.kc) { e, pc in
                let depth = e.min("\(plan.kc)", e.sub("\(s.k)", pc))
                let accumulate = e.compare("ne", pc, "0")
                e.packB(plan, jc: jc, columns: ncValid, pc: pc, depth: depth)
                e.loop("ic", from: m0, to: m1, step: plan.mc) { e, ic in
                    let mcValid = e.min("\(plan.mc)", e.sub(m1, ic))
                    // Packed: every panel of the block. In place: only a last, partial panel
                    // (into the first panel of the buffer).
                    let fullRows = e.binary("sub nsw", mcValid, e.binary("srem", mcValid, "\(mr)"))
                    e.loop("pa", from: plan.packsA ? "0" : fullRows, to: mcValid, step: mr) { e, ir in
                        let panel = e.element("%pa", plan.packsA ? e.mul(ir, "\(plan.kc)") : "0")
                        e.packAPanel(plan, panel: panel, row0: e.add(ic, ir), rows: e.min("\(mr)", e.sub(mcValid, ir)), pc: pc, depth: depth)
                    }
                    e.loop("jr", from: "0", to: ncValid, step: nr) { e, jr in
                        let columns = e.min("\(nr)", e.sub(ncValid, jr))
                        let bPanel = e.element("%pb", e.mul(jr, "\(plan.kc)"))
                        e.loop("ir", from: "0", to: mcValid, step: mr) { e, ir in
                            let rows = e.min("\(mr)", e.sub(mcValid, ir))
                            let row = e.add(ic, ir), column = e.add(jc, jr)
                            let cTile = e.element("%c", e.add(e.mul(row, "\(s.n)"), column))
                            let tail = "float* \(bPanel), float* \(cTile), i64 \(depth), i64 \(rows), i64 \(columns), i1 \(accumulate)"
                                + e.epilogueArguments(plan, column: column, pc: pc) + ")"
                            let packed = plan.packedMicrokernel.name
                            if let direct = plan.directMicrokernel?.name {
                                e.branch(e.compare("eq", rows, "\(mr)"), then: { e in
                                    let a = e.element("%a", e.add(e.mul(row, "\(aRowStride)"), e.mul(pc, "\(aKStride)")))
                                    e.emit("call void @\(direct)(float* \(a), " + tail)
                                }, otherwise: { e in
                                    e.emit("call void @\(packed)(float* %pa, " + tail)
                                })
                            } else {
                                let aPanel = e.element("%pa", e.mul(ir, "\(plan.kc)"))
                                e.emit("call void @\(packed)(float* \(aPanel), " + tail)
                            }
                        }
                    }
                }
            }
        }
        emit("ret void")
        lines.append("}")
        return finishedText(name)
    }

    /// Packs op(A)[row0..<row0+rows, pc..<pc+depth] into the MR-row panel at `panel`: for each
    /// k, the MR rows' values side by side (what the microkernel broadcasts); rows past `rows`
    /// are zero.
    mutating func packAPanel(_ plan: GEMMPlan, panel: String, row0: String, rows: String, pc: String, depth: String) {
        let mr = GEMMPlan.mr
        let (rowStride, kStride) = plan.aStrides
        // A full panel: for each k, MR loads at constant offsets and MR consecutive stores (the
        // SLP vectoriser makes vector stores of them, and vector loads where A's rows are
        // contiguous, i.e. transposed A).
        branch(compare("eq", rows, "\(mr)"), then: { e in
            let src = e.element("%a", e.add(e.mul(row0, "\(rowStride)"), e.mul(pc, "\(kStride)")))
            e.loop("pak", from: "0", to: depth, step: 1) { e, k in
                let from = e.element(src, e.mul(k, "\(kStride)")), to = e.element(panel, e.mul(k, "\(mr)"))
                for r in 0..<mr { e.copy(from: e.element(from, "\(r * rowStride)"), to: e.element(to, "\(r)")) }
            }
        }, otherwise: { e in
            e.loop("par", from: "0", to: rows, step: 1) { e, r in
                let src = e.element("%a", e.add(e.mul(e.add(row0, r), "\(rowStride)"), e.mul(pc, "\(kStride)")))
                e.loop("pak", from: "0", to: depth, step: 1) { e, k in
                    e.copy(from: e.element(src, e.mul(k, "\(kStride)")), to: e.element(panel, e.add(e.mul(k, "\(mr)"), r)))
                }
            }
            // Rows past the matrix are zero.
            e.loop("paz", from: rows, to: "\(mr)", step: 1) { e, r in
                e.loop("pazk", from: "0", to: depth, step: 1) { e, k in
                    e.emit("store float 0.0, float* \(e.element(panel, e.add(e.mul(k, "\(mr)"), r))), align 4")
                }
            }
        })
    }

    /// Packs op(B)[pc..<pc+depth, jc..<jc+columns] into panels of NR columns: panel q at
    /// %pb + q·NR·KC holds, for each k, its NR columns (two vectors the microkernel loads).
    /// Columns past `columns` are zero.
    mutating func packB(_ plan: GEMMPlan, jc: String, columns: String, pc: String, depth: String) {
        let s = plan.shape, nr = GEMMPlan.nr
        loop("pb", from: "0", to: columns, step: nr) { e, jr in
            let panel = e.element("%pb", e.mul(jr, "\(plan.kc)"))
            let panelColumns = e.min("\(nr)", e.sub(columns, jr))
            let column0 = e.add(jc, jr)
            if s.transB {
                // B is n×k: column j of op(B) is row j of B. A full panel goes in 16×16 blocks:
                // 16 vector loads along k from 16 rows of B, a transpose in registers, 16
                // vector stores into 16 k-rows of the panel; k mod 16 is copied one by one.
                e.branch(e.compare("eq", panelColumns, "\(nr)"), then: { e in
                    let depth16 = e.binary("and", depth, "-16")
                    e.loop("pbkb", from: "0", to: depth16, step: 16) { e, k0 in
                        for half in 0..<(nr / 16) {
                            var rows: [String] = []
                            for j in 0..<16 {
                                let src = e.element("%b", e.add(e.mul(e.add(column0, "\(16 * half + j)"), "\(s.k)"), e.add(pc, k0)))
                                let x = e.fresh("row"), p = e.vectorPointer(src)
                                e.emit("\(x) = load <16 x float>, <16 x float>* \(p), align 4")
                                rows.append(x)
                            }
                            let columns = e.transpose16(rows)
                            for k in 0..<16 {
                                let dst = e.element(panel, e.add(e.mul(e.add(k0, "\(k)"), "\(nr)"), "\(16 * half)"))
                                e.emit("store <16 x float> \(columns[k]), <16 x float>* \(e.vectorPointer(dst)), align 64")
                            }
                        }
                    }
                    e.loop("pbk", from: depth16, to: depth, step: 1) { e, k in
                        let to = e.element(panel, e.mul(k, "\(nr)"))
                        for c in 0..<nr {
                            e.copy(from: e.element("%b", e.add(e.mul(e.add(column0, "\(c)"), "\(s.k)"), e.add(pc, k))),
                                   to: e.element(to, "\(c)"))
                        }
                    }
                }, otherwise: { e in
                    e.loop("pbc", from: "0", to: panelColumns, step: 1) { e, c in
                        let src = e.element("%b", e.add(e.mul(e.add(column0, c), "\(s.k)"), pc))
                        e.loop("pbk", from: "0", to: depth, step: 1) { e, k in
                            e.copy(from: e.element(src, k), to: e.element(panel, e.add(e.mul(k, "\(nr)"), c)))
                        }
                    }
                })
            } else {
                // B is k×n: a k-row of the panel is NR consecutive floats of B; a full panel
                // copies two vectors per k.
                e.branch(e.compare("eq", panelColumns, "\(nr)"), then: { e in
                    e.loop("pbk", from: "0", to: depth, step: 1) { e, k in
                        let src = e.element("%b", e.add(e.mul(e.add(pc, k), "\(s.n)"), column0))
                        let dst = e.element(panel, e.mul(k, "\(nr)"))
                        for v in 0..<(nr / 16) {
                            let x = e.fresh("x"), from = e.vectorPointer(e.element(src, "\(16 * v)"))
                            e.emit("\(x) = load <16 x float>, <16 x float>* \(from), align 4")
                            e.emit("store <16 x float> \(x), <16 x float>* \(e.vectorPointer(e.element(dst, "\(16 * v)"))), align 64")
                        }
                    }
                }, otherwise: { e in
                    e.loop("pbk", from: "0", to: depth, step: 1) { e, k in
                        let src = e.element("%b", e.add(e.mul(e.add(pc, k), "\(s.n)"), column0))
                        let dst = e.element(panel, e.mul(k, "\(nr)"))
                        e.loop("pbc", from: "0", to: panelColumns, step: 1) { e, c in
                            e.copy(from: e.element(src, c), to: e.element(dst, c))
                        }
                    }
                })
            }
            e.loop("pbz", from: "0", to: depth, step: 1) { e, k in
                e.loop("pbzc", from: panelColumns, to: "\(nr)", step: 1) { e, c in
                    e.emit("store float 0.0, float* \(e.element(panel, e.add(e.mul(k, "\(nr)"), c))), align 4")
                }
            }
        }
    }

    /// The transpose of a 16×16 block given as 16 row vectors: log₂16 = 4 rounds that swap the
    /// off-diagonal b×b blocks of every 2b×2b block (b = 1, 2, 4, 8), each row a two-source
    /// `shufflevector` with a constant mask (vpermt2ps and friends).
    mutating func transpose16(_ rows: [String]) -> [String] {
        var m = rows
        for b in [1, 2, 4, 8] {
            var next = m
            for r in 0..<16 where r & b == 0 {
                // new[r][c] = c&b == 0 ? m[r][c] : m[r+b][c−b];  new[r+b][c] = c&b == 0 ? m[r][c+b] : m[r+b][c].
                let upper = (0..<16).map { c in c & b == 0 ? c : 16 + c - b }
                let lower = (0..<16).map { c in c & b == 0 ? c + b : 16 + c }
                for (target, mask) in [(r, upper), (r + b, lower)] {
                    let x = fresh("tr")
                    emit("\(x) = shufflevector <16 x float> \(m[r]), <16 x float> \(m[r + b]), <16 x i32> <"
                         + mask.map { "i32 \($0)" }.joined(separator: ", ") + ">")
                    next[target] = x
                }
            }
            m = next
        }
        return m
    }

    // MARK: The microkernel

    /// `@name(a, b, c, kc, rows, columns, accumulate)`: the C tile at c (rows ≤ 12, columns ≤ 32,
    /// row stride `ldc`) = [C tile +] Σ_{k<kc} A(r, k) · b[k·32 + j], A(r, k) at
    /// a[r·aRowStride + k·aKStride] (constants: every address is a base plus a displacement).
    /// The 24 accumulators are `<16 x float>` values live across the k loop (24 of the 32 zmm
    /// registers; the two B vectors take two more, A's values are broadcast from memory); the
    /// loop is unrolled by 4, then single steps for kc mod 4; each product is one `llvm.fma`.
    /// bf16 (`vsc_gemm_bf16_micro.…`): the same with `kc` pairs of k, a and b pointing at pair
    /// words, and one `vdpbf16ps` per accumulator and pair instead of the FMA.
    /// Full tiles store whole vectors; edge tiles store only their rows, with masked vectors.
    /// Its k loops carry `llvm.loop.unroll.disable` (metadata !metadataBase…+2): the main loop is
    /// unrolled by hand, the remainder runs at most 3 times, and O3's own unrolling only
    /// multiplied the code.
    mutating func microkernel(_ key: Microkernel, metadataBase: Int) -> String {
        let (name, aRowStride, aKStride, ldc) = (key.name, key.aRowStride, key.aKStride, key.ldc)
        let mr = GEMMPlan.mr, vectors = GEMMPlan.nr / 16, unroll = 4
        let v16 = "<16 x float>"
        // bf16: A and B hold 32-bit words, each a pair of bfloat16 along k (the even k in the low
        // half), and one `vdpbf16ps` adds both products of a pair to a Float32 accumulator.
        let word = key.precision == .bf16 ? "i32" : "float", wordVector = "<16 x \(word)>"
        // noinline: one copy of the kernel per shape, not one per call site (inlined twice and
        // unrolled further, a shape's code was 4 times larger and took ~1.5 s to compile); a
        // call costs nothing next to the ~10⁵ FMAs it runs.
        lines = ["define internal void @\(name)(\(word)* noalias %a, \(word)* noalias %b, float* noalias %c, "
                 + "i64 %kc, i64 %rows, i64 %columns, i1 %accumulate"
                 + (key.epilogue == .none ? "" : ", float* noalias %bias, i1 %finish") + ") noinline {", "entry:"]
        /// A stored vector as the epilogue finishes it on the last K block (bias: column vector v's
        /// bias values; relu as the kernels compute it: x < 0 ? 0 : x).
        func finished(_ e: inout GEMMEmitter, _ x: String, bias: String) -> String {
            guard key.epilogue != .none else { return x }
            var y = e.fresh("eb")
            e.emit("\(y) = fadd \(v16) \(x), \(bias)")
            if key.epilogue == .biasRelu {
                let negative = e.fresh("neg"), r = e.fresh("relu")
                e.emit("\(negative) = fcmp olt \(v16) \(y), zeroinitializer")
                e.emit("\(r) = select <16 x i1> \(negative), \(v16) zeroinitializer, \(v16) \(y)")
                y = r
            }
            let out = e.fresh("fin")
            e.emit("\(out) = select i1 %finish, \(v16) \(y), \(v16) \(x)")
            return out
        }
        // Prefetch the C tile for writing: with several k-blocks it is read back and added to,
        // from L3 or memory (C is larger than L2), and the loads would otherwise stall the end
        // of every call. A prefetch never faults, so edge rows past C are harmless.
        emit("%c.raw = bitcast float* %c to i8*")
        for r in 0..<mr {
            for offset in [0, 64, 124] {
                let p = fresh("pf")
                emit("\(p) = getelementptr i8, i8* %c.raw, i64 \(4 * r * ldc + offset)")
                emit("call void @llvm.prefetch.p0i8(i8* \(p), i32 1, i32 3, i32 1)")
            }
        }
        emit("%kmain = and i64 %kc, -\(unroll)")
        emit("%has.main = icmp sgt i64 %kmain, 0")
        emit("br i1 %has.main, label %main, label %rest.check")
        /// One k step at `k`: returns the updated accumulators.
        func step(_ e: inout GEMMEmitter, k: String, acc: [[String]], final: [[String]]?) -> [[String]] {
            var acc = acc
            let bRow = e.element("%b", e.mul(k, "\(GEMMPlan.nr)"), type: word)
            var bv: [String] = []
            for v in 0..<vectors {
                let x = e.fresh("bv"), p = e.fresh("pv")
                e.emit("\(p) = bitcast \(word)* \(e.element(bRow, "\(16 * v)", type: word)) to \(wordVector)*")
                // Packed panels are 64-byte aligned: buffers from posix_memalign(64), panels
                // and k-rows at multiples of 32 words.
                e.emit("\(x) = load \(wordVector), \(wordVector)* \(p), align 64")
                bv.append(x)
            }
            let aK = e.element("%a", e.mul(k, "\(aKStride)"), type: word)
            for r in 0..<mr {
                let s = e.fresh("s"), s1 = e.fresh(), splat = e.fresh("splat")
                e.emit("\(s) = load \(word), \(word)* \(e.element(aK, "\(r * aRowStride)", type: word)), align 4")
                e.emit("\(s1) = insertelement \(wordVector) undef, \(word) \(s), i32 0")
                e.emit("\(splat) = shufflevector \(wordVector) \(s1), \(wordVector) undef, <16 x i32> zeroinitializer")
                for v in 0..<vectors {
                    let out = final?[r][v] ?? e.fresh("f")
                    switch key.precision {
                    case .fp32:
                        e.emit("\(out) = call \(v16) @llvm.fma.v16f32(\(v16) \(splat), \(v16) \(bv[v]), \(v16) \(acc[r][v]))")
                    case .bf16:
                        e.emit("\(out) = call \(v16) @llvm.x86.avx512bf16.dpbf16ps.512(\(v16) \(acc[r][v]), <16 x i32> \(splat), <16 x i32> \(bv[v]))")
                    }
                    acc[r][v] = out
                }
            }
            return acc
        }
        func names(_ tag: String) -> [[String]] { (0..<mr).map { r in (0..<vectors).map { v in "%\(tag).\(r).\(v)" } } }
        // Main loop: steps of `unroll`.
        let mainAcc = names("am"), mainOut = names("amo")
        label("main")
        emit("%k = phi i64 [ 0, %entry ], [ %k.next, %main ]")
        for r in 0..<mr { for v in 0..<vectors { emit("\(mainAcc[r][v]) = phi \(v16) [ zeroinitializer, %entry ], [ \(mainOut[r][v]), %main ]") } }
        var acc = mainAcc
        for u in 0..<unroll {
            acc = step(&self, k: u == 0 ? "%k" : add("%k", "\(u)"), acc: acc, final: u == unroll - 1 ? mainOut : nil)
        }
        emit("%k.next = add nuw nsw i64 %k, \(unroll)")
        emit("%k.more = icmp slt i64 %k.next, %kmain")
        emit("br i1 %k.more, label %main, label %rest.check, !llvm.loop !\(metadataBase)")
        // Remainder: kc mod 4 single steps.
        let checkAcc = names("ac"), restAcc = names("ar"), restOut = names("aro"), storeAcc = names("as")
        label("rest.check")
        for r in 0..<mr { for v in 0..<vectors {
            emit("\(checkAcc[r][v]) = phi \(v16) [ zeroinitializer, %entry ], [ \(mainOut[r][v]), %main ]")
        } }
        emit("%has.rest = icmp slt i64 %kmain, %kc")
        emit("br i1 %has.rest, label %rest, label %store")
        label("rest")
        emit("%kr = phi i64 [ %kmain, %rest.check ], [ %kr.next, %rest ]")
        for r in 0..<mr { for v in 0..<vectors {
            emit("\(restAcc[r][v]) = phi \(v16) [ \(checkAcc[r][v]), %rest.check ], [ \(restOut[r][v]), %rest ]")
        } }
        _ = step(&self, k: "%kr", acc: restAcc, final: restOut)
        emit("%kr.next = add nuw nsw i64 %kr, 1")
        emit("%kr.more = icmp slt i64 %kr.next, %kc")
        emit("br i1 %kr.more, label %rest, label %store, !llvm.loop !\(metadataBase + 1)")
        label("store")
        for r in 0..<mr { for v in 0..<vectors {
            emit("\(storeAcc[r][v]) = phi \(v16) [ \(checkAcc[r][v]), %rest.check ], [ \(restOut[r][v]), %rest ]")
        } }
        emit("%full.r = icmp eq i64 %rows, \(mr)")
        emit("%full.c = icmp eq i64 %columns, \(GEMMPlan.nr)")
        emit("%full = and i1 %full.r, %full.c")
        emit("br i1 %full, label %full.store, label %edge.store")
        // Full tile: plain vector stores, after adding C's earlier k-blocks when accumulating.
        label("full.store")
        emit("br i1 %accumulate, label %full.add, label %full.set")
        for adding in [true, false] {
            label(adding ? "full.add" : "full.set")
            let bias = key.epilogue == .none ? [] : (0..<vectors).map { v -> String in
                let b = fresh("bias")
                emit("\(b) = load \(v16), \(v16)* \(vectorPointer(element("%bias", "\(16 * v)"))), align 4")
                return b
            }
            for r in 0..<mr {
                for v in 0..<vectors {
                    let pv = vectorPointer(element("%c", "\(r * ldc + 16 * v)"))
                    var out = storeAcc[r][v]
                    if adding {
                        let old = fresh("old"), sum = fresh("sum")
                        emit("\(old) = load \(v16), \(v16)* \(pv), align 4")
                        emit("\(sum) = fadd \(v16) \(old), \(out)")
                        out = sum
                    }
                    if !bias.isEmpty { out = finished(&self, out, bias: bias[v]) }
                    emit("store \(v16) \(out), \(v16)* \(pv), align 4")
                }
            }
            emit("ret void")
        }
        // Edge tile: rows below `rows`, and each vector's lanes below `columns` (a lane mask).
        label("edge.store")
        var masks: [String] = []
        for v in 0..<vectors {
            let lanes = sub("%columns", "\(16 * v)")
            let c0 = fresh(), l0 = fresh(), c1 = fresh(), l1 = fresh()
            emit("\(c0) = icmp slt i64 \(lanes), 0")
            emit("\(l0) = select i1 \(c0), i64 0, i64 \(lanes)")
            emit("\(c1) = icmp sgt i64 \(l0), 16")
            emit("\(l1) = select i1 \(c1), i64 16, i64 \(l0)")
            let bit = fresh(), ones = fresh(), m16 = fresh(), mask = fresh("mask")
            emit("\(bit) = shl i64 1, \(l1)")
            emit("\(ones) = sub i64 \(bit), 1")
            emit("\(m16) = trunc i64 \(ones) to i16")
            emit("\(mask) = bitcast i16 \(m16) to <16 x i1>")
            masks.append(mask)
        }
        let edgeBias = key.epilogue == .none ? [] : (0..<vectors).map { v -> String in
            let b = fresh("bias")
            emit("\(b) = call \(v16) @llvm.masked.load.v16f32.p0v16f32(\(v16)* \(vectorPointer(element("%bias", "\(16 * v)"))), "
                 + "i32 4, <16 x i1> \(masks[v]), \(v16) zeroinitializer)")
            return b
        }
        for r in 0..<mr {
            let inside = fresh("row")
            emit("\(inside) = icmp slt i64 \(r), %rows")
            emit("br i1 \(inside), label %edge.\(r), label %done")
            label("edge.\(r)")
            for v in 0..<vectors {
                let pv = vectorPointer(element("%c", "\(r * ldc + 16 * v)"))
                let old = fresh("old"), sum = fresh("sum"), out = fresh("out")
                emit("\(old) = call \(v16) @llvm.masked.load.v16f32.p0v16f32(\(v16)* \(pv), i32 4, <16 x i1> \(masks[v]), \(v16) zeroinitializer)")
                emit("\(sum) = fadd \(v16) \(old), \(storeAcc[r][v])")
                emit("\(out) = select i1 %accumulate, \(v16) \(sum), \(v16) \(storeAcc[r][v])")
                let stored = edgeBias.isEmpty ? out : finished(&self, out, bias: edgeBias[v])
                emit("call void @llvm.masked.store.v16f32.p0v16f32(\(v16) \(stored), \(v16)* \(pv), i32 4, <16 x i1> \(masks[v]))")
            }
        }
        emit("br label %done")
        label("done")
        emit("ret void")
        lines.append("}")
        let (mainLoop, restLoop, noUnroll) = (metadataBase, metadataBase + 1, metadataBase + 2)
        lines.append("!\(mainLoop) = distinct !{!\(mainLoop), !\(noUnroll)}")
        lines.append("!\(restLoop) = distinct !{!\(restLoop), !\(noUnroll)}")
        lines.append("!\(noUnroll) = !{!\"llvm.loop.unroll.disable\"}")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The FMA throughput this thread gets right now: a JIT-compiled loop of 24 independent
/// `<16 x float>` FMA chains (registers only, no memory traffic), the ceiling any fp32 kernel
/// can reach here. Benchmarks report GEMM speeds against it, measured in the same run, so a
/// figure from a busy or throttled machine still says how close to the hardware a kernel is.
public enum FMAPeak {
    static let chains = 24
    static let name = "vsc_fma_peak"

    /// `void vsc_fma_peak(i64 n, float* out)`: n iterations of one FMA per chain.
    static var moduleText: String {
        var lines = ["declare <16 x float> @llvm.fma.v16f32(<16 x float>, <16 x float>, <16 x float>)",
                     "define void @\(name)(i64 %n, float* %out) {", "entry:", "  br label %loop", "loop:",
                     "  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]"]
        for c in 0..<chains {
            lines.append("  %a\(c) = phi <16 x float> [ zeroinitializer, %entry ], [ %b\(c), %loop ]")
        }
        // x·a + y with x just below 1: the chains stay finite for any n.
        for c in 0..<chains {
            lines.append("  %b\(c) = call <16 x float> @llvm.fma.v16f32(<16 x float> %a\(c), "
                         + "<16 x float> <float 0x3FEFFFFFC0000000" + String(repeating: ", float 0x3FEFFFFFC0000000", count: 15) + ">, "
                         + "<16 x float> <float 0x3F1A36E2E0000000" + String(repeating: ", float 0x3F1A36E2E0000000", count: 15) + ">)")
        }
        lines += ["  %i.next = add nuw nsw i64 %i, 1", "  %more = icmp slt i64 %i.next, %n",
                  "  br i1 %more, label %loop, label %exit", "exit:"]
        var sum = "%b0"
        for c in 1..<chains { lines.append("  %s\(c) = fadd <16 x float> \(sum), %b\(c)"); sum = "%s\(c)" }
        lines += ["  %e = extractelement <16 x float> \(sum), i32 0", "  store float %e, float* %out, align 4", "  ret void", "}"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// GFLOP/s of one thread over about `seconds`, timed on `clock` (CLOCK_THREAD_CPUTIME_ID:
    /// CPU seconds of this thread, which time slices lost to other processes do not inflate).
    public static func measure(seconds: Double = 0.2, clock: clockid_t) throws -> Double {
        let module = try JITProgram.sharedEngine.get().compile(moduleIR: moduleText, name: name, symbols: [name])
        typealias Loop = @convention(c) (Int64, UnsafeMutablePointer<Float>) -> Void
        let run: Loop = try module.function(name)
        var out: Float = 0
        func now() -> Double { var t = timespec(); clock_gettime(clock, &t); return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9 }
        var n: Int64 = 1 << 16, elapsed = 0.0
        while true {
            let t = now()
            run(n, &out)
            elapsed = now() - t
            if elapsed >= seconds / 4 { break }
            n *= 4
        }
        // The best of three at the calibrated length.
        var best = elapsed
        for _ in 0..<2 {
            let t = now()
            run(n, &out)
            best = Swift.min(best, now() - t)
        }
        return Double(n) * Double(chains) * 32 / best / 1e9
    }
}
