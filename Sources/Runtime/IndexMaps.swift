import IR

/// Row-major strides of a shape.
public func strides(_ s: Shape) -> [Int] {
    var st = Array(repeating: 1, count: s.count)
    var acc = 1
    for d in stride(from: s.count - 1, through: 0, by: -1) { st[d] = acc; acc *= s[d] }
    return st
}

/// A map from output flat index to input flat index, walked with an odometer over the output
/// shape: `inStrides[d]` is how far the input index moves when output axis d steps.
protocol IndexMap {
    var outShape: Shape { get }
    var inStrides: [Int] { get }
    var inOffset: Int { get }
}

struct BroadcastMap: IndexMap {
    let outShape: Shape, inStrides: [Int], inOffset = 0
    init(from s: Shape, to t: Shape) {
        outShape = t
        let st = strides(s), off = t.count - s.count
        inStrides = (0..<t.count).map { d in d < off || s[d - off] == 1 ? 0 : st[d - off] }
    }
}

struct TransposeMap: IndexMap {
    let outShape: Shape, inStrides: [Int], inOffset = 0
    init(perm: [Int], outShape: Shape) {
        self.outShape = outShape
        var inShape = Array(repeating: 0, count: perm.count)
        for (o, i) in perm.enumerated() { inShape[i] = outShape[o] }
        let st = strides(inShape)
        inStrides = perm.map { st[$0] }
    }
}

struct SliceMap: IndexMap {
    let outShape: Shape, inStrides: [Int], inOffset: Int
    init(start: [Int], outShape: Shape, inShape: Shape) {
        self.outShape = outShape
        inStrides = strides(inShape)
        inOffset = zip(start, inStrides).map(*).reduce(0, +)
    }
}

func gather<T>(_ x: [T], map: some IndexMap) -> [T] {
    let n = map.outShape.elementCount
    if n == 0 { return [] }
    var out = [T](); out.reserveCapacity(n)
    let rank = map.outShape.count
    if rank == 0 { return [x[map.inOffset]] }
    var idx = Array(repeating: 0, count: rank)
    var src = map.inOffset
    let last = rank - 1, lastExtent = map.outShape[last], lastStride = map.inStrides[last]
    while true {
        var s = src
        for _ in 0..<lastExtent { out.append(x[s]); s += lastStride }
        // Advance the odometer over axes 0..<last.
        var d = last - 1
        while d >= 0 {
            idx[d] += 1; src += map.inStrides[d]
            if idx[d] < map.outShape[d] { break }
            src -= map.inStrides[d] * idx[d]; idx[d] = 0; d -= 1
        }
        if d < 0 { return out }
    }
}

/// Reduces `x` (of `shape`) over `axes`, accumulating in Double (so the Float32 reference is not
/// at the mercy of summation order).
func reduce<T: InterpScalar>(_ x: [T], shape: Shape, axes: [Int], op: ReduceOp, outCount: Int) -> [T] {
    var acc = [Double](repeating: op == .max ? -Double.infinity : 0, count: outCount)
    // Output stride per input axis (0 for reduced axes).
    let outShape = shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
    let ost = strides(outShape)
    var outStride = [Int](); var k = 0
    for d in 0..<shape.count { if axes.contains(d) { outStride.append(0) } else { outStride.append(ost[k]); k += 1 } }
    let rank = shape.count
    if x.isEmpty { return op == .mean ? acc.map { _ in T.nan } : acc.map { T($0) } }
    var idx = Array(repeating: 0, count: rank)
    var o = 0
    for v in x {
        switch op {
        case .sum, .mean: acc[o] += Double(v)
        case .max: if Double(v) > acc[o] || v.isNaN { acc[o] = Double(v) }
        }
        var d = rank - 1
        while d >= 0 {
            idx[d] += 1; o += outStride[d]
            if idx[d] < shape[d] { break }
            o -= outStride[d] * idx[d]; idx[d] = 0; d -= 1
        }
    }
    if op == .mean {
        let n = Double(axes.map { shape[$0] }.reduce(1, *))
        return acc.map { T($0 / n) }
    }
    return acc.map { T($0) }
}
