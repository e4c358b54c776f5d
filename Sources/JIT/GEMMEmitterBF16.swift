import IR

// The bf16 GEMM (`MatmulPrecision.bf16`): each product op(A)·op(B) runs as two functions.
//
// 1. `gemm.bf16.<shape>.convert(args, begin, end)` rounds both operands to bfloat16 (round to
//    nearest even, `vcvtne2ps2bf16`) into the layouts `vdpbf16ps` reads: 32-bit words that each
//    hold a pair of k (k = 2p in the low half, 2p + 1 in the high half; when K is odd the last
//    pair's high half is zero):
//      A (args[3]): op(A) as rows × pairs, word [r·P + p] (P = ⌈K/2⌉); as pairs × rows, word
//                   [p·R + r], when A is stored transposed (then a pair of k is two rows of A,
//                   interleaved without a transpose). R = M rounded up to 48, the rows past M zero.
//      B (args[4]): panels of 32 columns of op(B), panel q at word q·32·P, and in it pair p's 32
//                   columns side by side (word [q·32·P + p·32 + j]); columns past N are zero.
//    Its work items are A's 16-row blocks, then B's panels; the pool splits them.
// 2. `gemm.bf16.<shape>` (same ABI and tiling as the fp32 entry point, GEMMPlan) runs the
//    blocked loops over the converted operands, which the chunks share and only read: no packing
//    in the loops (A is read in place, 12 padded rows at a time; B's panels are already packed).
//
// Converting the whole operands once costs one read of A and B and a half-size write, against
// packing them again in every chunk; the products are summed in Float32, in the same order
// whichever thread runs a chunk, so bf16 results are deterministic too.
extension GEMMEmitter {
    /// Loads args[slot] as a `type*` named `%name`.
    mutating func argument(_ name: String, slot: Int, type: String) {
        emit("%\(name).pp = getelementptr inbounds i8*, i8** %args, i64 \(slot)")
        emit("%\(name).raw = load i8*, i8** %\(name).pp, align 8")
        emit("%\(name) = bitcast i8* %\(name).raw to \(type)*")
    }

    /// The entry point and the conversion function of a bf16 plan.
    mutating func buildBF16(_ plan: GEMMPlan, name: String) -> String {
        precondition(plan.precision == .bf16 && plan.kc % 2 == 0)
        metadataBaseLimit = nextMetadata + GEMMEmitter.metadataNodes
        let s = plan.shape, mr = GEMMPlan.mr, nr = GEMMPlan.nr, pairs = plan.kPairs
        lines = ["define void @\(name)(i8** noalias %args, i64 %begin, i64 %end) {", "entry:"]
        argument("c", slot: 2, type: "float")
        argument("ap", slot: 3, type: "i32")
        argument("bp", slot: 4, type: "i32")
        if plan.epilogue != .none { argument("bias", slot: GEMMEmitter.biasSlot, type: "float") }
        let (m0, m1, n0, n1) = chunkBounds(plan)
        let (aRowStride, aPairStride) = plan.bf16AStrides
        let micro = plan.microkernels[0].name
        loop("jc", from: n0, to: n1, step: plan.nc) { e, jc in
            let ncValid = e.min("\(plan.nc)", e.sub(n1, jc))
            e.loop("pc", from: "0", to: "\(s.k)", step: plan.kc) { e, pc in
                let depth = e.min("\(plan.kc)", e.sub("\(s.k)", pc))
                let blockPairs = e.binary("ashr", e.add(depth, "1"), "1"), pair0 = e.binary("ashr", pc, "1")
                let accumulate = e.compare("ne", pc, "0")
                e.loop("ic", from: m0, to: m1, step: plan.mc) { e, ic in
                    let mcValid = e.min("\(plan.mc)", e.sub(m1, ic))
                    e.loop("jr", from: "0", to: ncValid, step: nr) { e, jr in
                        let columns = e.min("\(nr)", e.sub(ncValid, jr))
                        // jc and jr are multiples of NR: the panel of column jc + jr.
                        let panel = e.binary("ashr", e.add(jc, jr), "5")
                        let bPanel = e.element("%bp", e.add(e.mul(panel, "\(nr * pairs)"), e.mul(pair0, "\(nr)")), type: "i32")
                        e.loop("ir", from: "0", to: mcValid, step: mr) { e, ir in
                            let rows = e.min("\(mr)", e.sub(mcValid, ir))
                            let row = e.add(ic, ir)
                            // Rows are read 12 at a time; the converted A has rows up to a multiple of 48.
                            let aTile = e.element("%ap", e.add(e.mul(row, "\(aRowStride)"), e.mul(pair0, "\(aPairStride)")), type: "i32")
                            let cTile = e.element("%c", e.add(e.mul(row, "\(s.n)"), e.add(jc, jr)))
                            e.emit("call void @\(micro)(i32* \(aTile), i32* \(bPanel), float* \(cTile), i64 \(blockPairs), "
                                   + "i64 \(rows), i64 \(columns), i1 \(accumulate)"
                                   + e.epilogueArguments(plan, column: e.add(jc, jr), pc: pc) + ")")
                        }
                    }
                }
            }
        }
        emit("ret void")
        lines.append("}")
        lines.append("")
        conversionFunction(plan)
        return finishedText(name)
    }

    // MARK: Conversion
    //
    // Every path is vector code: ragged edges (the panel across column N, the block across row
    // M, the last K < 32 of a row) are emitted once with constant lane masks, since N, M and K
    // are constants of the function and only the last panel or block is ragged.

    /// A typed `<16 x i1>` constant operand: the first `lanes` lanes true.
    static func laneMask(_ lanes: Int) -> String {
        "<16 x i1> <" + (0..<16).map { "i1 \($0 < lanes ? "true" : "false")" }.joined(separator: ", ") + ">"
    }

    /// The 16 floats at `pointer`, of which only the first `valid` (a constant) are read and the
    /// rest are zero: a masked load never touches the lanes it leaves out, so no read leaves the
    /// matrix.
    mutating func loadFloats(_ pointer: String, valid: Int) -> String {
        if valid <= 0 { return "zeroinitializer" }
        let x = fresh("x"), p = vectorPointer(pointer)
        if valid >= 16 {
            emit("\(x) = load <16 x float>, <16 x float>* \(p), align 4")
        } else {
            emit("\(x) = call <16 x float> @llvm.masked.load.v16f32.p0v16f32(<16 x float>* \(p), i32 4, "
                 + "\(GEMMEmitter.laneMask(valid)), <16 x float> zeroinitializer)")
        }
        return x
    }

    /// Two vectors of 16 floats (k = 2p and k = 2p + 1 of 16 rows or columns) as 16 pair words.
    mutating func interleavedPairs(even: String, odd: String) -> String {
        let c = fresh("cv"), i = fresh("il"), w = fresh("w")
        emit("\(c) = call <32 x i16> @llvm.x86.avx512bf16.cvtne2ps2bf16.512(<16 x float> \(odd), <16 x float> \(even))")
        // The conversion puts its second operand (even k) in lanes 0–15 and odd k in 16–31.
        let mask = (0..<16).flatMap { [$0, $0 + 16] }.map { "i32 \($0)" }.joined(separator: ", ")
        emit("\(i) = shufflevector <32 x i16> \(c), <32 x i16> undef, <32 x i32> <\(mask)>")
        emit("\(w) = bitcast <32 x i16> \(i) to <16 x i32>")
        return w
    }

    /// The 32 consecutive floats along k at `source`, of which the first `valid` are read (the
    /// rest zero), as 16 pair words.
    mutating func consecutivePairs(_ source: String, valid: Int = 32) -> String {
        let lo = loadFloats(source, valid: Swift.min(valid, 16)), hi = loadFloats(element(source, "16"), valid: valid - 16)
        let c = fresh("cv"), w = fresh("w")
        emit("\(c) = call <32 x i16> @llvm.x86.avx512bf16.cvtne2ps2bf16.512(<16 x float> \(hi), <16 x float> \(lo))")
        emit("\(w) = bitcast <32 x i16> \(c) to <16 x i32>")
        return w
    }

    /// Stores 16 words at base[index], or only the first `lanes` of them (a masked store).
    mutating func storeWords(_ value: String, at base: String, _ index: String, align: Int, lanes: Int = 16) {
        let p = fresh("pw")
        emit("\(p) = bitcast i32* \(element(base, index, type: "i32")) to <16 x i32>*")
        if lanes >= 16 {
            emit("store <16 x i32> \(value), <16 x i32>* \(p), align \(align)")
        } else {
            emit("call void @llvm.masked.store.v16i32.p0v16i32(<16 x i32> \(value), <16 x i32>* \(p), i32 \(align), "
                 + "\(GEMMEmitter.laneMask(lanes)))")
        }
    }

    /// `gemm.bf16.<shape>.convert`: items begin..<end (see the file's comment).
    mutating func conversionFunction(_ plan: GEMMPlan) {
        let name = GEMMEmitter.conversionFunctionName(plan)
        lines += ["define void @\(name)(i8** noalias %args, i64 %begin, i64 %end) {", "entry:"]
        argument("a", slot: 0, type: "float")
        argument("b", slot: 1, type: "float")
        argument("ap", slot: 3, type: "i32")
        argument("bp", slot: 4, type: "i32")
        let aBlocks = plan.paddedRows / 16
        loop("item", from: "%begin", to: "%end") { e, item in
            e.branch(e.compare("slt", item, "\(aBlocks)"), then: { e in
                e.convertABlock(plan, block: item)
            }, otherwise: { e in
                e.convertBPanel(plan, panel: e.sub(item, "\(aBlocks)"))
            })
        }
        emit("ret void")
        lines.append("}")
    }

    /// Rows 16·block ..< 16·block + 16 of op(A) into the converted A (rows past M zero).
    mutating func convertABlock(_ plan: GEMMPlan, block: String) {
        let s = plan.shape, pairs = plan.kPairs, r0 = mul(block, "16")
        if s.transA {
            // Word [p·R + r]: pair p of 16 rows is rows 2p and 2p + 1 of A, interleaved; `rows`
            // of the 16 exist.
            let blockBody = { (e: inout GEMMEmitter, rows: Int) in
                let column = e.element("%a", r0)
                e.loop("cap", from: "0", to: "\(s.k / 2)", step: 1) { e, p in
                    let k0 = e.mul(p, "\(2 * s.m)")
                    let x = e.loadFloats(e.element(column, k0), valid: rows)
                    let y = e.loadFloats(e.element(column, e.add(k0, "\(s.m)")), valid: rows)
                    e.storeWords(e.interleavedPairs(even: x, odd: y), at: "%ap", e.add(e.mul(p, "\(plan.paddedRows)"), r0), align: 64)
                }
                if s.k % 2 == 1 {
                    let x = e.loadFloats(e.element(column, "\((s.k - 1) * s.m)"), valid: rows)
                    e.storeWords(e.interleavedPairs(even: x, odd: "zeroinitializer"), at: "%ap",
                                 e.add("\(s.k / 2 * plan.paddedRows)", r0), align: 64)
                }
            }
            branch(compare("slt", block, "\(s.m / 16)"), then: { e in blockBody(&e, 16) }, otherwise: { e in
                // The block across row M, then blocks of padding rows only.
                e.branch(e.compare("eq", block, "\(s.m / 16)"), then: { e in blockBody(&e, s.m % 16) },
                         otherwise: { e in blockBody(&e, 0) })
            })
        } else {
            // Word [r·P + p]: a row of op(A) is a row of A, 32 floats → 16 pairs at a time, the
            // last K mod 32 with masks.
            let k32 = s.k / 32 * 32, tail = s.k - k32
            loop("car", from: "0", to: "16", step: 1) { e, r in
                let row = e.add(r0, r)
                let destination = e.element("%ap", e.mul(row, "\(pairs)"), type: "i32")
                e.branch(e.compare("slt", row, "\(s.m)"), then: { e in
                    let source = e.element("%a", e.mul(row, "\(s.k)"))
                    e.loop("cak", from: "0", to: "\(k32)", step: 32) { e, k0 in
                        e.storeWords(e.consecutivePairs(e.element(source, k0)), at: destination, e.binary("ashr", k0, "1"), align: 4)
                    }
                    if tail > 0 {
                        e.storeWords(e.consecutivePairs(e.element(source, "\(k32)"), valid: tail), at: destination, "\(k32 / 2)",
                                     align: 4, lanes: (tail + 1) / 2)
                    }
                }, otherwise: { e in
                    e.loop("caz", from: "0", to: "\(pairs / 16 * 16)", step: 16) { e, p in
                        e.storeWords("zeroinitializer", at: destination, p, align: 4)
                    }
                    if pairs % 16 > 0 {
                        e.storeWords("zeroinitializer", at: destination, "\(pairs / 16 * 16)", align: 4, lanes: pairs % 16)
                    }
                })
            }
        }
    }

    /// Panel `panel` (columns 32·panel ..< 32·panel + 32) of op(B) into the converted B (columns
    /// past N zero).
    mutating func convertBPanel(_ plan: GEMMPlan, panel: String) {
        let s = plan.shape, nr = GEMMPlan.nr, pairs = plan.kPairs
        let j0 = mul(panel, "\(nr)")
        let destination = element("%bp", mul(panel, "\(nr * pairs)"), type: "i32")
        /// The panel with its first `columns` columns present.
        let body = { (e: inout GEMMEmitter, columns: Int) in
            if s.transB {
                // B is n×k: column j of op(B) is row j of B. 32 k of 16 columns at a time: 16
                // rows of pairs, transposed in registers into 16 pairs of 16 columns; `validK`
                // of the 32 k exist (the last chunk may be short).
                let chunk = { (e: inout GEMMEmitter, k0: String, validK: Int) in
                    for half in 0..<(nr / 16) {
                        var rows: [String] = []
                        for t in 0..<16 {
                            let column = 16 * half + t
                            let words = column < columns
                                ? e.consecutivePairs(e.element("%b", e.add(e.mul(e.add(j0, "\(column)"), "\(s.k)"), k0)), valid: validK)
                                : "zeroinitializer"
                            let f = e.fresh("asf")
                            e.emit("\(f) = bitcast <16 x i32> \(words) to <16 x float>")
                            rows.append(f)
                        }
                        let transposed = e.transpose16(rows)
                        let p0 = e.binary("ashr", k0, "1")
                        for t in 0..<((validK + 1) / 2) {
                            let w = e.fresh("asw")
                            e.emit("\(w) = bitcast <16 x float> \(transposed[t]) to <16 x i32>")
                            e.storeWords(w, at: destination, e.add(e.mul(e.add(p0, "\(t)"), "\(nr)"), "\(16 * half)"), align: 64)
                        }
                    }
                }
                let k32 = s.k / 32 * 32
                e.loop("cbk", from: "0", to: "\(k32)", step: 32) { e, k0 in chunk(&e, k0, 32) }
                if s.k > k32 { chunk(&e, "\(k32)", s.k - k32) }
            } else {
                // B is k×n: pair p of the panel's columns is rows 2p and 2p + 1 of B, interleaved.
                let rowPair = { (e: inout GEMMEmitter, p: String, hasOdd: Bool) in
                    for half in 0..<(nr / 16) {
                        let valid = Swift.max(0, Swift.min(16, columns - 16 * half))
                        let row = e.element("%b", e.add(e.mul(p, "\(2 * s.n)"), e.add(j0, "\(16 * half)")))
                        let x = e.loadFloats(row, valid: valid)
                        let y = hasOdd ? e.loadFloats(e.element(row, "\(s.n)"), valid: valid) : "zeroinitializer"
                        e.storeWords(e.interleavedPairs(even: x, odd: y), at: destination,
                                     e.add(e.mul(p, "\(nr)"), "\(16 * half)"), align: 64)
                    }
                }
                e.loop("cbp", from: "0", to: "\(s.k / 2)", step: 1) { e, p in rowPair(&e, p, true) }
                if s.k % 2 == 1 { rowPair(&e, "\(s.k / 2)", false) }
            }
        }
        if s.n % nr == 0 {
            body(&self, nr)
        } else {
            branch(compare("slt", panel, "\(s.n / nr)"), then: { e in body(&e, nr) }, otherwise: { e in body(&e, s.n % nr) })
        }
    }
}
