import IR

/// Writes a `LoopNest` as an LLVM IR function `void @name(i8** %args, i64 %begin, i64 %end)` that
/// runs dimension 0 over [begin, end). Float ops carry the `reassoc nsz arcp contract afn` flags
/// (reductions vectorise, FMAs form; no `nnan`/`ninf`, so NaN still propagates and is detected).
///
/// Every loop whose iterations are independent carries `llvm.loop.parallel_accesses` over one
/// access group holding the nest's loads and stores: the buffer pointers come out of `%args` with
/// no `noalias`, and in-place kernels (Adam into its parameter, epilogues into their product)
/// really do share a buffer, so without it LLVM either guards the vector loop with overlap checks
/// that always fail or, past 8 buffers, does not vectorise at all. The claim holds by
/// construction: a nest writes each output element once, at the same index it reads any aliased
/// input, and its other inputs are read-only. The exception is a memory reduction: its loops over
/// reduced dimensions accumulate into the same elements (a real loop-carried dependence) and get
/// no annotation; its loops over kept dimensions still do.
struct Emitter {
    let fm = FastMath.safe
    var lines: [String] = []
    var tmp = 0
    /// The access group of the nest's memory operations (nil: no loop of the nest is parallel).
    var accessGroup: String?

    mutating func fresh(_ hint: String = "t") -> String { tmp += 1; return "%\(hint)\(tmp)" }
    mutating func emit(_ s: String) { lines.append("  " + s) }
    mutating func label(_ l: String) { lines.append(l + ":") }

    static func floatLiteral(_ v: Double) -> String {
        let f = Float(v)
        if f.isNaN { return "0x7FF8000000000000" }
        return "0x" + String(Double(f).bitPattern, radix: 16, uppercase: true).leftPad(16)
    }

    /// The function for `nest`; its metadata nodes are numbered from `metadataBase` up, fewer
    /// than `metadataNodes`, so kernel k of a module takes k·metadataNodes.
    static func function(_ nest: LoopNest, name: String, metadataBase: Int) -> String {
        var e = Emitter()
        return e.build(nest, name: name, metadataBase: metadataBase)
    }
    static let metadataNodes = 16

    /// For each loop of `n` (dimension order), whether its iterations are independent (see the
    /// type's comment): all of them, but a memory reduction's loops over reduced dimensions.
    static func parallelLoops(_ n: LoopNest) -> [Bool] {
        let memReduce = n.reduce != nil && !n.registerReduction
        return memReduce ? n.reducedDims.map { !$0 } : n.shape.map { _ in true }
    }

    mutating func build(_ n: LoopNest, name: String, metadataBase: Int) -> String {
        lines = ["define void @\(name)(i8** noalias %args, i64 %begin, i64 %end) {", "entry:"]
        // Pointers.
        for s in 0..<n.slots {
            emit("%pp\(s) = getelementptr inbounds i8*, i8** %args, i64 \(s)")
            emit("%pr\(s) = load i8*, i8** %pp\(s), align 8")
            emit("%p\(s) = bitcast i8* %pr\(s) to float*")
        }
        // Random stream bases (per op), from the key operand.
        var bases: [Int: String] = [:]
        for (i, op) in n.ops.enumerated() {
            guard case .random(_, let seed, let keySlot) = op else { continue }
            var key = "0"
            if let k = keySlot {
                let kv = fresh("key"), ok1 = fresh(), ok2 = fresh(), ok = fresh(), ki = fresh()
                emit("\(kv) = load float, float* %p\(k), align 4")
                emit("\(ok1) = fcmp oge float \(kv), 0.0")
                emit("\(ok2) = fcmp olt float \(kv), 0x41F0000000000000")
                emit("\(ok) = and i1 \(ok1), \(ok2)")
                emit("\(ki) = fptoui float \(kv) to i32")
                key = fresh()
                emit("\(key) = select i1 \(ok), i32 \(ki), i32 0")
            }
            let lo = UInt32(truncatingIfNeeded: seed), hi = UInt32(truncatingIfNeeded: seed >> 32)
            let m = fresh(), a = fresh(), x = fresh(), b = fresh()
            emit("\(m) = mul i32 \(key), -1640531527")
            emit("\(a) = add i32 \(m), \(Int32(bitPattern: hi))")
            emit("\(x) = call i32 @vsc_mix(i32 \(a))")
            emit("\(b) = xor i32 \(x), \(Int32(bitPattern: lo))")
            let base = fresh("base")
            emit("\(base) = call i32 @vsc_mix(i32 \(b))")
            bases[i] = base
        }
        let rank = n.shape.count
        let memReduce = n.reduce != nil && !n.registerReduction
        let outCount = memReduce ? outputExtent(n) : 0
        if memReduce {
            // Zero (or −∞) the output, then accumulate in memory.
            let initV = n.reduce == .max ? "0xFFF0000000000000" : "0.0"
            loop1D(count: outCount, tag: "init") { e, i in
                let p = e.fresh()
                e.emit("\(p) = getelementptr inbounds float, float* %p0, i64 \(i)")
                e.emit("store float \(initV), float* \(p), align 4")
            }
        }
        // Metadata: !base the access group, !base+1 the parallel_accesses list, !base+2+d loop d.
        let parallel = Emitter.parallelLoops(n)
        precondition(rank + 2 <= Emitter.metadataNodes, "a nest of rank \(rank) needs more metadata nodes")
        let loopIDs = parallel.enumerated().map { d, p in p ? "!\(metadataBase + 2 + d)" : nil }
        if parallel.contains(true) { accessGroup = "!\(metadataBase)" }
        emitLoops(n, dim: 0, rank: rank, idx: [], bases: bases, loopIDs: loopIDs)
        accessGroup = nil
        if memReduce && n.reduce == .mean {
            let inv = Emitter.floatLiteral(1 / Double(n.reduceCount))
            let fm = self.fm
            loop1D(count: outCount, tag: "scale") { e, i in
                let p = e.fresh(), v = e.fresh(), w = e.fresh()
                e.emit("\(p) = getelementptr inbounds float, float* %p0, i64 \(i)")
                e.emit("\(v) = load float, float* \(p), align 4")
                e.emit("\(w) = fmul \(fm) float \(v), \(inv)")
                e.emit("store float \(w), float* \(p), align 4")
            }
        }
        emit("ret void")
        lines.append("}")
        if parallel.contains(true) {
            let (g, p) = (metadataBase, metadataBase + 1)
            lines.append("!\(g) = distinct !{}")
            lines.append("!\(p) = !{!\"llvm.loop.parallel_accesses\", !\(g)}")
            for case let l? in loopIDs { lines.append("\(l) = distinct !{\(l), !\(p)}") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Number of output elements of a memory reduction (product of the kept extents).
    func outputExtent(_ n: LoopNest) -> Int {
        zip(n.shape, n.reducedDims).filter { !$0.1 }.map(\.0).reduce(1, *)
    }

    mutating func loop1D(count: Int, tag: String, body: (inout Emitter, String) -> Void) {
        let t = String(fresh(tag).dropFirst())
        emit("br label %\(t).pre")
        label("\(t).pre")
        emit("br label %\(t).head")
        label("\(t).head")
        let i = "%\(t).i"
        emit("\(i) = phi i64 [ 0, %\(t).pre ], [ %\(t).next, %\(t).head ]")
        body(&self, i)
        emit("%\(t).next = add nuw nsw i64 \(i), 1")
        emit("%\(t).c = icmp slt i64 %\(t).next, \(count)")
        emit("br i1 %\(t).c, label %\(t).head, label %\(t).exit")
        label("\(t).exit")
    }

    /// Emits the loop over dimension `dim` (dimension 0 runs [begin, end)).
    /// `loopIDs[d]`: the loop metadata of dimension d's loop when it is parallel.
    mutating func emitLoops(_ n: LoopNest, dim: Int, rank: Int, idx: [String], bases: [Int: String],
                            loopIDs: [String?]) {
        let L = "L\(dim)"
        let start = dim == 0 ? "%begin" : "0"
        let end = dim == 0 ? "%end" : "\(n.shape[dim])"
        let innermost = dim == rank - 1
        let accumulate = innermost && n.registerReduction
        emit("br label %\(L).pre")
        label("\(L).pre")
        emit("br label %\(L).head")
        label("\(L).head")
        let i = "%i\(dim)"
        let latch = innermost ? "\(L).head" : "\(L).latch"
        lines.append("  \(i) = phi i64 [ \(start), %\(L).pre ], [ %i\(dim).next, %\(latch) ]")
        // Register reductions accumulate in double: the interpreter's reference does, and float
        // sums over thousands of terms drift past the backends' 1e-5 agreement.
        let accInit = n.reduce == .max ? "0xFFF0000000000000" : "0.0"
        if accumulate { lines.append("  %acc = phi double [ \(accInit), %\(L).pre ], [ %acc.next, %\(L).head ]") }
        let idx2 = idx + [i]
        if innermost {
            let v = body(n, idx: idx2, bases: bases)
            if accumulate {
                emit("%acc.v = fpext float \(v) to double")
                switch n.reduce! {
                case .sum, .mean: emit("%acc.next = fadd \(fm) double %acc, %acc.v")
                case .max:
                    emit("%acc.gt = fcmp ugt double %acc.v, %acc")
                    emit("%acc.next = select i1 %acc.gt, double %acc.v, double %acc")
                }
            } else if let r = n.reduce {
                let p = address(slot: 0, n.out, idx2)
                let old = fresh(), new = fresh()
                emit("\(old) = load float, float* \(p), align 4\(groupTag)")
                switch r {
                case .sum, .mean: emit("\(new) = fadd \(fm) float \(old), \(v)")
                case .max:
                    let c = fresh()
                    emit("\(c) = fcmp ugt float \(v), \(old)")
                    emit("\(new) = select i1 \(c), float \(v), float \(old)")
                }
                emit("store float \(new), float* \(p), align 4\(groupTag)")
            } else {
                let p = address(slot: 0, n.out, idx2)
                emit("store float \(v), float* \(p), align 4\(groupTag)")
            }
        } else {
            emitLoops(n, dim: dim + 1, rank: rank, idx: idx2, bases: bases, loopIDs: loopIDs)
            emit("br label %\(L).latch")
            label("\(L).latch")
        }
        emit("%i\(dim).next = add nsw i64 \(i), 1")
        emit("%c\(dim) = icmp slt i64 %i\(dim).next, \(end)")
        let loopMD = loopIDs[dim].map { ", !llvm.loop \($0)" } ?? ""
        emit("br i1 %c\(dim), label %\(L).head, label %\(L).exit\(loopMD)")
        label("\(L).exit")
        if accumulate {
            var d = "%acc.next"
            if n.reduce == .mean {
                emit("%acc.mean = fdiv double %acc.next, \(Double(n.reduceCount))")
                d = "%acc.mean"
            }
            let v = "%acc.f"
            emit("%acc.f = fptrunc double \(d) to float")
            let p = address(slot: 0, n.out, idx2)
            emit("store float \(v), float* \(p), align 4\(groupTag)")
        }
    }

    /// The access-group attachment for a load or store of the nest's loops ("" when none is
    /// parallel).
    var groupTag: String { accessGroup.map { ", !llvm.access.group \($0)" } ?? "" }

    /// Address of slot[offset + Σ idx·strides] (dimensions with stride 0 contribute nothing).
    mutating func address(slot: Int, _ a: Access, _ idx: [String]) -> String {
        var terms: [String] = []
        for (d, s) in a.strides.enumerated() where s != 0 && d < idx.count {
            if s == 1 { terms.append(idx[d]) } else {
                let t = fresh()
                emit("\(t) = mul nsw i64 \(idx[d]), \(s)")
                terms.append(t)
            }
        }
        var acc = "\(a.offset)"
        for (k, t) in terms.enumerated() {
            if k == 0 && a.offset == 0 { acc = t; continue }
            let s = fresh()
            emit("\(s) = add nsw i64 \(acc), \(t)")
            acc = s
        }
        let p = fresh("a")
        emit("\(p) = getelementptr inbounds float, float* %p\(slot), i64 \(acc)")
        return p
    }

    /// The body's value at `idx`.
    mutating func body(_ n: LoopNest, idx: [String], bases: [Int: String]) -> String {
        var v: [String] = []
        for (k, op) in n.ops.enumerated() {
            switch op {
            case .load(let slot, let a):
                let p = address(slot: slot, a, idx)
                let x = fresh("x")
                emit("\(x) = load float, float* \(p), align 4\(groupTag)")
                v.append(x)
            case .constant(let c):
                v.append(Emitter.floatLiteral(c))
            case .unary(let u, let a):
                v.append(unary(u, v[a]))
            case .binary(let b, let x, let y):
                v.append(binary(b, v[x], v[y]))
            case .compare(let c, let x, let y):
                let pred: String
                switch c {
                case .lt: pred = "olt"; case .le: pred = "ole"; case .gt: pred = "ogt"
                case .ge: pred = "oge"; case .eq: pred = "oeq"; case .ne: pred = "une"
                }
                let b = fresh(), r = fresh()
                emit("\(b) = fcmp \(pred) float \(v[x]), \(v[y])")
                emit("\(r) = select i1 \(b), float 1.0, float 0.0")
                v.append(r)
            case .select(let c, let x, let y):
                let b = fresh(), r = fresh()
                emit("\(b) = fcmp une float \(v[c]), 0.0")
                emit("\(r) = select i1 \(b), float \(v[x]), float \(v[y])")
                v.append(r)
            case .random(let normal, _, _):
                // Counter = linear output index = offset + Σ idx·strides of the output access.
                let counter = linearIndex(n.out, idx)
                let c32 = fresh()
                emit("\(c32) = trunc i64 \(counter) to i32")
                let base = bases[k]!
                if !normal {
                    let u = fresh("u")
                    emit("\(u) = call float @vsc_uniform(i32 \(base), i32 \(c32))")
                    v.append(u)
                } else {
                    let c1 = fresh(), c2 = fresh(), u1 = fresh("u"), u2 = fresh("u")
                    emit("\(c1) = shl i32 \(c32), 1")
                    emit("\(c2) = or i32 \(c1), 1")
                    emit("\(u1) = call float @vsc_uniform(i32 \(base), i32 \(c1))")
                    emit("\(u2) = call float @vsc_uniform(i32 \(base), i32 \(c2))")
                    let l = fresh(), m = fresh(), s = fresh(), a = fresh(), cs = fresh(), r = fresh()
                    emit("\(l) = call float @logf(float \(u1))")
                    emit("\(m) = fmul float \(l), -2.0")
                    emit("\(s) = call float @llvm.sqrt.f32(float \(m))")
                    emit("\(a) = fmul float \(Emitter.floatLiteral(Double(2 * Float.pi))), \(u2)")
                    emit("\(cs) = call float @cosf(float \(a))")
                    emit("\(r) = fmul float \(s), \(cs)")
                    v.append(r)
                }
            }
        }
        return v[n.result]
    }

    mutating func linearIndex(_ a: Access, _ idx: [String]) -> String {
        var acc = "\(a.offset)"
        for (d, s) in a.strides.enumerated() where s != 0 {
            let t = fresh(), u = fresh()
            emit("\(t) = mul nsw i64 \(idx[d]), \(s)")
            emit("\(u) = add nsw i64 \(acc), \(t)")
            acc = u
        }
        return acc
    }

    mutating func call(_ f: String, _ x: String) -> String {
        let r = fresh()
        emit("\(r) = call float @\(f)(float \(x))")
        return r
    }

    mutating func unary(_ u: UnaryOp, _ x: String) -> String {
        switch u {
        case .neg:
            let r = fresh(); emit("\(r) = fneg float \(x)"); return r
        case .exp: return call("vsc_exp", x)
        case .log: return call("vsc_log", x)
        case .log1p: return call("vsc_log1p", x)
        case .sqrt: return call("llvm.sqrt.f32", x)
        case .square:
            let r = fresh(); emit("\(r) = fmul \(fm) float \(x), \(x)"); return r
        case .relu:
            let c = fresh(), r = fresh()
            emit("\(c) = fcmp olt float \(x), 0.0")
            emit("\(r) = select i1 \(c), float 0.0, float \(x)")
            return r
        case .sigmoid: return call("vsc_sigmoid", x)
        case .softplus: return call("vsc_softplus", x)
        case .tanh: return call("vsc_tanh", x)
        case .abs: return call("llvm.fabs.f32", x)
        case .step:
            let c = fresh(), n = fresh(), r0 = fresh(), r = fresh()
            emit("\(c) = fcmp ogt float \(x), 0.0")
            emit("\(n) = fcmp uno float \(x), 0.0")
            emit("\(r0) = select i1 \(c), float 1.0, float 0.0")
            emit("\(r) = select i1 \(n), float \(x), float \(r0)")
            return r
        }
    }

    mutating func binary(_ b: BinaryOp, _ x: String, _ y: String) -> String {
        let r = fresh()
        switch b {
        case .add: emit("\(r) = fadd \(fm) float \(x), \(y)")
        case .sub: emit("\(r) = fsub \(fm) float \(x), \(y)")
        case .mul: emit("\(r) = fmul \(fm) float \(x), \(y)")
        case .div: emit("\(r) = fdiv \(fm) float \(x), \(y)")
        case .max, .min:
            let c = fresh()
            emit("\(c) = fcmp \(b == .max ? "uge" : "ule") float \(x), \(y)")
            emit("\(r) = select i1 \(c), float \(x), float \(y)")
        case .pow: emit("\(r) = call float @llvm.pow.f32(float \(x), float \(y))")
        }
        return r
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
