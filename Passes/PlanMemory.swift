import IR

/// Where each node's value lives when the graph runs in graph order (the schedule), as plain data
/// for a backend that allocates **one arena** once and never allocates during a run.
///
/// Per node `i` (all arrays have one entry per node, indexed by NodeID):
/// - `storage[i]`: `Storage.arena` — a slice of the arena at byte `offset[i]`, `bytes[i]` long;
///   `.persistent` — a parameter or input: the program owns its buffer (fed by name, outlives runs);
///   `.constant` — a constant: materialised once by the backend next to the persistent buffers;
///   `.alias` — a view (`reshape`): shares the storage of node `aliasOf[i]` (the root of the
///   chain of views, which is never itself an alias), with the same byte layout.
/// - `offset[i]`: byte offset into the arena for `.arena` nodes, else -1 (for an alias of an
///   arena node, `offset[i]` repeats the root's offset, for convenience).
/// - `aliasOf[i]`: for `.alias`, the node whose storage is shared; else -1.
/// - `bytes[i]`: `elementCount × dtype.byteSize` of the node's value.
/// - `lastUse[i]`: the index of the last node reading the value (through views), `count` for
///   graph outputs (they stay live to the end and are never overwritten), `i` if unused.
///
/// Liveness: the buffer of node i is live from step i through `lastUse` (inclusive), so a node never
/// writes over one of its own operands (kernels need not be in-place safe). An `allreduce`'s
/// operand lives as long as its result (the JIT reduces it in the background). Buffers are placed
/// first-fit, lowest offset, each aligned to `alignment` bytes.
public struct MemoryPlan: Equatable, Sendable {
    public enum Storage: Int, Sendable { case arena, persistent, constant, alias }

    public var storage: [Storage]
    public var offset: [Int]
    public var aliasOf: [Int]
    public var bytes: [Int]
    public var lastUse: [Int]
    /// Alignment of every arena offset, in bytes.
    public var alignment: Int
    /// Size of the arena to allocate, in bytes.
    public var arenaBytes: Int
    /// The most arena bytes live at once (aligned sizes), ≤ `arenaBytes` (fragmentation).
    public var peakBytes: Int
    /// The sum of every arena buffer's aligned size: the memory needed without reuse.
    public var totalBufferBytes: Int
    /// Bytes of parameters, inputs and constants (outside the arena).
    public var persistentBytes: Int
    /// Floating-point operations of one run: 2·m·n·k per matmul plus its epilogue; per element of
    /// the result, 1 per elementwise op (transcendentals count 1 too); a reduction costs one op per
    /// element of its operand; fused kernels sum their body's ops (broadcasts, args and constants
    /// are free); random numbers 1 per element; data movement (broadcast, transpose, slice,
    /// concat, reshape) 0.
    public var flops: Int
}

public enum PlanMemory {
    /// Plans `g`'s buffers in graph order.
    public static func plan(_ g: Graph, alignment: Int = 64) -> MemoryPlan {
        let count = g.count
        var storage = [MemoryPlan.Storage](repeating: .arena, count: count)
        var aliasOf = Array(repeating: -1, count: count)
        var bytes = Array(repeating: 0, count: count)
        var flops = 0
        for (i, n) in g.nodes.enumerated() {
            bytes[i] = n.elementCount * n.dtype.byteSize
            if n.op.feedName != nil {
                storage[i] = .persistent
            } else if case .constant = n.op {
                storage[i] = .constant
            } else if n.op.isView {
                storage[i] = .alias
                let src = n.inputs[0]
                aliasOf[i] = storage[src] == .alias ? aliasOf[src] : src
            }
            flops += nodeFlops(n, g)
        }
        // Last use of each storage root (views extend their root's life).
        var lastUse = Array(0..<count)
        for (i, n) in g.nodes.enumerated() {
            for j in n.inputs {
                let r = aliasOf[j] >= 0 ? aliasOf[j] : j
                lastUse[j] = max(lastUse[j], i)
                lastUse[r] = max(lastUse[r], i)
            }
        }
        for o in g.outputs {
            lastUse[o.node] = count
            if aliasOf[o.node] >= 0 { lastUse[aliasOf[o.node]] = count }
        }
        // A backend may run an all-reduce non-blocking (started at its node, finished before its
        // first reader), reading its operand all that time: the operand lives as long as the result.
        for (i, n) in g.nodes.enumerated() where n.op == .allReduce {
            let j = n.inputs[0], r = aliasOf[j] >= 0 ? aliasOf[j] : j
            lastUse[j] = max(lastUse[j], lastUse[i])
            lastUse[r] = max(lastUse[r], lastUse[i])
        }

        func aligned(_ b: Int) -> Int { (b + alignment - 1) / alignment * alignment }
        var offset = Array(repeating: -1, count: count)
        // Live arena allocations, sorted by offset: (offset, size, lastUse).
        var live: [(off: Int, size: Int, end: Int)] = []
        var arena = 0, peak = 0, total = 0, persistent = 0
        for i in 0..<count {
            switch storage[i] {
            case .persistent, .constant: persistent += bytes[i]; continue
            case .alias: continue
            case .arena: break
            }
            live.removeAll { $0.end < i }
            let size = aligned(bytes[i])
            total += size
            var off = 0
            for a in live {
                if a.off - off >= size { break }
                off = max(off, a.off + a.size)
            }
            offset[i] = off
            live.append((off, size, lastUse[i]))
            live.sort { $0.off < $1.off }
            arena = max(arena, off + size)
            peak = max(peak, live.reduce(0) { $0 + $1.size })
        }
        for i in 0..<count where storage[i] == .alias && storage[aliasOf[i]] == .arena { offset[i] = offset[aliasOf[i]] }
        return MemoryPlan(storage: storage, offset: offset, aliasOf: aliasOf, bytes: bytes, lastUse: lastUse,
                          alignment: alignment, arenaBytes: arena, peakBytes: peak, totalBufferBytes: total,
                          persistentBytes: persistent, flops: flops)
    }

    /// FLOPs of one node (see `MemoryPlan.flops`).
    public static func nodeFlops(_ n: Node, _ g: Graph) -> Int {
        flops(n) { g[n.inputs[$0]].shape }
    }

    /// FLOPs of a node of a graph or of a kernel body: 2mnk for a product, one per element for
    /// elementwise ops and random numbers, one per operand element for a reduction, 0 for leaves
    /// and data movement. `operand(i)` is the shape of the node's i-th input.
    static func flops(_ n: Node, operand: (Int) -> Shape) -> Int {
        switch n.op {
        case .matmul(let m):
            return m.flops(a: operand(0), b: operand(1)) + (m.epilogue.map(kernelFlops) ?? 0)
        case .unary, .binary, .compare, .select, .randomUniform, .randomNormal:
            return n.elementCount
        case .reduce:
            return operand(0).elementCount
        case .fused(let k):
            return kernelFlops(k)
        case .conv2d, .convTranspose2d, .conv2dFilterGrad:
            // The same multiply-adds for all three (im2col and col2im move data only).
            return ConvGeometry.of(n.op, operands: [operand(0), operand(1)], result: n.shape)?.flops ?? 0
        case .parameter, .input, .constant, .arg, .broadcast, .reshape, .transpose, .slice, .concat:
            return 0
        case .allReduce:
            // Communication, not arithmetic (the bytes are reported by `AllReduceBuckets.bytesPerStep`).
            return 0
        }
    }

    static func kernelFlops(_ k: FusedKernel) -> Int {
        k.nodes.reduce(0) { acc, n in acc + flops(n) { k.nodes[n.inputs[$0]].shape } }
    }
}

extension PlanMemory {
    /// A readable listing of a plan (one line per node), as golden tests and `--pass-stats` show it.
    public static func describe(_ p: MemoryPlan, _ g: Graph) -> String {
        var out = "// memory plan: arena \(p.arenaBytes) bytes, peak \(p.peakBytes), without reuse \(p.totalBufferBytes), persistent \(p.persistentBytes), flops \(p.flops), alignment \(p.alignment)\n"
        for i in 0..<g.count {
            let n = g[i]
            var line = "%\(i) \(n.op.name) \(IRPrinter.type(n.dtype, n.shape)): "
            let live = p.lastUse[i] == g.count ? "\(i)..end" : "\(i)...\(p.lastUse[i])"
            switch p.storage[i] {
            case .arena: line += "arena offset=\(p.offset[i]) bytes=\(p.bytes[i]) live=\(live)"
            case .persistent: line += "persistent bytes=\(p.bytes[i])"
            case .constant: line += "constant bytes=\(p.bytes[i])"
            case .alias: line += "alias of %\(p.aliasOf[i])" + (p.offset[i] >= 0 ? " offset=\(p.offset[i])" : "")
            }
            out += line + "\n"
        }
        return out
    }
}
