import IR

/// Where a loop nest reads or writes: element = offset + Σ idx[d]·strides[d] over the iteration
/// dimensions (stride 0 = broadcast along that dimension).
struct Access: Hashable {
    var offset: Int
    var strides: [Int]
}

/// One instruction of a loop-nest body, in SSA order (operands are earlier indices).
enum KernelOp: Hashable {
    /// Load from pointer slot `slot` (slot 0 is the output) through an affine access.
    case load(slot: Int, Access)
    case constant(Double)
    case unary(UnaryOp, Int)
    case binary(BinaryOp, Int, Int)
    case compare(CompareOp, Int, Int)
    case select(Int, Int, Int)
    /// Counter-based random numbers (see `CounterRNG`), counter = linear output index; the key
    /// is read from pointer slot `keySlot` (a scalar), 0 when absent.
    case random(normal: Bool, seed: UInt64, keySlot: Int?)
}

/// A static loop nest: for idx in `shape`, out[out(idx)] = body(idx), or, with `reduce`,
/// out[out(idx)] ⊕= body(idx) where `out` has stride 0 along the reduced dimensions. This is what
/// every non-GEMM node of a program lowers to (fused kernels, standalone elementwise ops, views
/// that must be materialised, concat pieces, random draws).
struct LoopNest: Hashable {
    var shape: [Int]
    var ops: [KernelOp]
    var result: Int
    var out: Access
    var reduce: ReduceOp?
    /// Elements per output element of a `mean`.
    var reduceCount: Int = 1
    /// Number of pointer slots (output included).
    var slots: Int

    var reducedDims: [Bool] { out.strides.map { $0 == 0 && reduce != nil } }

    /// Moves reduced dimensions innermost (kept ones first, each group in its original order), so
    /// that reductions accumulate in a register over the innermost loop.
    mutating func reducedInnermost() {
        guard reduce != nil else { return }
        let r = reducedDims
        if reducesLeadingDimsOfContiguousRows { return }
        let order = (0..<shape.count).filter { !r[$0] } + (0..<shape.count).filter { r[$0] }
        shape = order.map { shape[$0] }
        out.strides = order.map { out.strides[$0] }
        for i in ops.indices {
            if case .load(let s, var a) = ops[i] { a.strides = order.map { a.strides[$0] }; ops[i] = .load(slot: s, a) }
        }
    }

    /// A reduction over leading dimensions only (a broadcast's gradient: bias sums over the batch,
    /// the column sums of a pairwise [B, B, J] tensor) whose loads walk the last dimension
    /// contiguously (or not at all). It keeps its order and accumulates in memory, row after row,
    /// with the kept dimensions innermost — contiguous, vectorisable — rather than in a register
    /// down each column with a stride of a whole row (500 ms against 40 for β-TCVAE's [500, 500, 60] on 2 cores).
    var reducesLeadingDimsOfContiguousRows: Bool {
        let r = reducedDims
        guard reduce != nil, let firstKept = r.firstIndex(of: false), firstKept > 0,
              r[firstKept...].allSatisfy({ !$0 }) else { return false }
        // Only where the gather hurts: a row of at least 1,024 kept elements and a million in all.
        // Memory accumulation adds in f32 (the register path in f64): small reductions keep the
        // more precise path.
        let kept = shape[firstKept...].reduce(1, *)
        guard kept >= 1024, kept * shape[..<firstKept].reduce(1, *) >= 1 << 20 else { return false }
        let last = shape.count - 1
        return ops.allSatisfy { op in
            if case .load(_, let a) = op { return a.strides[last] <= 1 }
            return true
        }
    }

    /// Drops extent-1 dimensions and merges neighbours that every access walks contiguously, so
    /// an elementwise kernel becomes one flat loop and a broadcast a 2-D one.
    mutating func collapse() {
        var accesses: [Access] = ops.compactMap { if case .load(_, let a) = $0 { return a }; return nil } + [out]
        var dims = Array(0..<shape.count).filter { shape[$0] != 1 }
        func project(_ a: Access) -> Access { Access(offset: a.offset, strides: dims.map { a.strides[$0] }) }
        var newShape = dims.map { shape[$0] }
        accesses = accesses.map(project)
        let red = dims.map { reducedDims[$0] }
        var reds = red
        var d = newShape.count - 2
        while d >= 0 {
            let mergeable = reds[d] == reds[d + 1] && accesses.allSatisfy { $0.strides[d] == $0.strides[d + 1] * newShape[d + 1] }
            if mergeable {
                newShape[d] *= newShape[d + 1]
                newShape.remove(at: d + 1); reds.remove(at: d + 1)
                for k in accesses.indices {
                    accesses[k].strides[d] = accesses[k].strides[d + 1]
                    accesses[k].strides.remove(at: d + 1)
                }
            }
            d -= 1
        }
        dims = []
        var k = 0
        for i in ops.indices { if case .load(let s, _) = ops[i] { ops[i] = .load(slot: s, accesses[k]); k += 1 } }
        out = accesses[k]
        shape = newShape
        if shape.isEmpty { shape = [1]; out.strides = [0]; for i in ops.indices { if case .load(let s, var a) = ops[i] { a.strides = [0]; ops[i] = .load(slot: s, a) } } }
    }

    var elementCount: Int { shape.reduce(1, *) }
    /// Reductions whose reduced dimensions are exactly the last one accumulate in a register and
    /// can split over dimension 0; others accumulate in memory after zeroing the output.
    var registerReduction: Bool {
        guard reduce != nil else { return false }
        let r = reducedDims
        return r.last == true && r.dropLast().allSatisfy { !$0 }
    }
    /// The nest can run as disjoint ranges of dimension 0 on several threads.
    var splittable: Bool { reduce == nil || (registerReduction && shape.count > 1) }
}
