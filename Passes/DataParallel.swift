import IR

/// Where one process sits in a data-parallel run: rank `rank` of `ranks`, each running the same
/// train step on `batch` examples (the per-rank batch). The global batch is `ranks · batch`, and
/// rank r's examples are rows r·batch ..< (r+1)·batch of the single-process minibatch.
///
/// Semantics (what makes N ranks equal one process at the global batch): every rank computes its
/// loss as a mean over its own examples; its gradients are summed over the ranks by `allreduce`
/// and scaled by 1/N before the optimiser, which is the gradient of the mean over the global batch
/// for every loss that is a batch mean of per-example terms plus terms that do not depend on the
/// batch (VSC, β-VAE: both). Terms coupling the examples of a batch (β-TCVAE's minibatch-weighted
/// estimate) are computed per rank and differ from the single-process run. The noise of a random
/// node whose leading extent is the batch is the rank's rows of the global batch's noise
/// (`partitionNoise`), so each rank's noise stream depends on its rank and the union over ranks is
/// the single-process noise.
public struct DataParallel: Hashable, Sendable {
    public var rank: Int
    public var ranks: Int
    public var batch: Int
    public init(rank: Int, ranks: Int, batch: Int) { self.rank = rank; self.ranks = ranks; self.batch = batch }

    /// Rank r's noise: every random node of `g` whose leading extent is the per-rank batch is drawn
    /// at the global batch ([ranks·batch, …], the single-process stream of the same seed and key)
    /// and sliced to the rank's rows. The other random nodes are left as they are (the same on
    /// every rank, as in one process). `g` is not changed.
    public func partitionNoise(_ g: Graph) throws -> Graph {
        guard ranks > 1 else { return g }
        var rb = GraphRebuilder(g)
        for (i, n) in g.nodes.enumerated() {
            switch n.op {
            case .randomUniform, .randomNormal:
                guard let lead = n.shape.first, lead == batch else { try rb.copy(i); continue }
                let global = [ranks * batch] + n.shape.dropFirst()
                let whole = try rb.new.add(n.op, inputs: n.inputs.map { rb.map[$0]! }, shape: global, dtype: n.dtype,
                                           location: n.location)
                let start = [rank * batch] + n.shape.dropFirst().map { _ in 0 }
                let end = [(rank + 1) * batch] + n.shape.dropFirst()
                rb.map[i] = try rb.new.add(.slice(start: start, end: end), inputs: [whole], location: n.location)
            default:
                try rb.copy(i)
            }
        }
        rb.finishOutputs()
        return rb.new
    }
}

/// Gathers the gradients' all-reduces into a few contiguous buckets, so the backends send a few
/// large messages instead of one per parameter, and the first gradients the backward pass
/// finishes start their reduction first.
///
/// Every `allreduce` node is a candidate (the train-step builder puts one on each gradient). They
/// are ordered by where their operand is computed (graph order is the schedule: the last layer's
/// gradients come first in the backward pass) and cut greedily into buckets of at least
/// `max(minimumBucketBytes, total / maxBuckets)` bytes. A bucket is
/// `allreduce(concat(reshape(g₁, [n₁]), reshape(g₂, [n₂]), …))`, placed right after its last
/// gradient; each original all-reduce becomes `reshape(slice(bucket))`, placed where it was (just
/// before the optimiser reads it). A backend that reduces non-blocking (the JIT) starts a bucket at
/// its node and waits before its first reader, overlapping the rest of the backward pass.
/// A graph without all-reduces is returned unchanged (single-process programs).
public enum BucketAllReduce {
    public static let maxBuckets = 4
    public static let minimumBucketBytes = 1 << 20

    public static func run(_ g: Graph, maxBuckets: Int = BucketAllReduce.maxBuckets,
                           minimumBucketBytes: Int = BucketAllReduce.minimumBucketBytes) throws -> Graph {
        // Candidates: all-reduces not already over a bucket (a 1-D concat), by operand position.
        let candidates = g.nodes.indices.filter { i in
            guard g[i].op == .allReduce else { return false }
            if case .concat = g[g[i].inputs[0]].op, g[i].shape.count == 1 { return false }
            return true
        }.sorted { g[$0].inputs[0] < g[$1].inputs[0] }
        guard candidates.count > 1 else { return g }
        let bytes = { (i: NodeID) in g[i].elementCount * g[i].dtype.byteSize }
        let total = candidates.reduce(0) { $0 + bytes($1) }
        let target = max(minimumBucketBytes, (total + maxBuckets - 1) / max(1, maxBuckets))
        var buckets: [[NodeID]] = [[]]
        var filled = 0
        for i in candidates {
            if filled >= target { buckets.append([]); filled = 0 }
            buckets[buckets.count - 1].append(i)
            filled += bytes(i)
        }
        // A bucket is emitted after its last gradient, so each of its all-reduces must come after
        // that (true for the train-step builder's graphs); a bucket of one stays as it is.
        buckets = buckets.filter { b in
            let last = b.map { g[$0].inputs[0] }.max()!
            return b.count > 1 && b.allSatisfy { $0 > last }
        }
        guard !buckets.isEmpty else { return g }
        var bucketAfter: [NodeID: Int] = [:]          // last gradient → bucket
        var member: [NodeID: (bucket: Int, offset: Int)] = [:]
        for (k, b) in buckets.enumerated() {
            bucketAfter[b.map { g[$0].inputs[0] }.max()!] = k
            var off = 0
            for i in b { member[i] = (k, off); off += g[i].elementCount }
        }
        var rb = GraphRebuilder(g)
        var bucketNode = [NodeID](repeating: -1, count: buckets.count)
        for (i, n) in g.nodes.enumerated() {
            if let m = member[i] {
                // The original all-reduce: its slice of the bucket, in its shape.
                let count = n.elementCount
                let piece = try rb.new.add(.slice(start: [m.offset], end: [m.offset + count]), inputs: [bucketNode[m.bucket]],
                                           location: n.location)
                rb.map[i] = n.shape == [count] ? piece : try rb.new.add(.reshape, inputs: [piece], shape: n.shape, location: n.location)
            } else {
                try rb.copy(i)
            }
            if let k = bucketAfter[i] {
                let flat = try buckets[k].map { a -> NodeID in
                    let x = rb.map[g[a].inputs[0]]!, count = g[a].elementCount
                    return g[a].shape == [count] ? x : try rb.new.add(.reshape, inputs: [x], shape: [count], location: g[a].location)
                }
                let joined = try rb.new.add(.concat(axis: 0), inputs: flat, location: g[buckets[k][0]].location)
                bucketNode[k] = try rb.new.add(.allReduce, inputs: [joined], location: g[buckets[k][0]].location)
            }
        }
        rb.finishOutputs()
        return rb.new
    }

    /// Bytes one rank contributes to the all-reduces of one run of `g` (each all-reduce's payload;
    /// the buffers the backends hand to MPI). A ring all-reduce over N ranks moves 2(N−1)/N times
    /// this through each rank's link (`ringBytesPerRank`).
    public static func bytesPerStep(_ g: Graph) -> Int {
        g.nodes.filter { $0.op == .allReduce }.reduce(0) { $0 + $1.elementCount * $1.dtype.byteSize }
    }

    /// The bytes a ring all-reduce of `payload` bytes sends (and receives) per rank over N ranks.
    public static func ringBytesPerRank(payload: Int, ranks: Int) -> Double {
        ranks <= 1 ? 0 : 2 * Double(ranks - 1) / Double(ranks) * Double(payload)
    }

    /// The buckets of `g` (all-reduce nodes, in graph order) and their payload bytes.
    public static func buckets(_ g: Graph) -> [(node: NodeID, bytes: Int)] {
        g.nodes.indices.filter { g[$0].op == .allReduce }.map { ($0, g[$0].elementCount * g[$0].dtype.byteSize) }
    }
}
