/// Shape and dtype inference: the single source of truth for what each op accepts. Used by the
/// builder (at build time), the parser and the verifier.
public enum ShapeInference {
    /// The result shape of `op` on inputs of the given types. `declared` is the shape written by
    /// the caller; it is required for ops whose shape is not implied by their inputs (leaves,
    /// random, broadcast, reshape) and checked against the inferred shape for the others.
    public static func infer(_ op: Op, inputs: [(dtype: DType, shape: Shape)], declared: Shape?,
                             dtype declaredType: DType?) throws -> (DType, Shape) {
        func fail(_ m: String) -> IRError { IRError("\(op.name): \(m)") }
        func arity(_ n: Int) throws {
            if inputs.count != n { throw fail("expects \(n) operand(s), got \(inputs.count)") }
        }
        func need() throws -> Shape {
            guard let d = declared else { throw fail("needs an explicit result shape") }
            if d.contains(where: { $0 < 0 }) { throw fail("negative extent in \(shapeString(d))") }
            return d
        }
        let dtype = declaredType ?? inputs.first?.dtype ?? .f32
        for (k, i) in inputs.enumerated() where i.dtype != dtype {
            throw fail("operand \(k) is \(i.dtype.rawValue), expected \(dtype.rawValue)")
        }
        let shape: Shape
        switch op {
        case .parameter(let n), .input(let n):
            try arity(0)
            if n.isEmpty { throw fail("needs a non-empty name") }
            shape = try need()
        case .arg(let k):
            try arity(0)
            if k < 0 { throw fail("negative argument index") }
            shape = try need()
        case .constant(let v):
            try arity(0)
            shape = try need()
            // Checked: the budget check comes after the switch, and the extents are the input's.
            if case .dense(let xs) = v, let n = shape.checkedElementCount, xs.count != n {
                throw fail("\(xs.count) values for shape \(shapeString(shape)) (\(n) elements)")
            }
        case .randomUniform, .randomNormal:
            if inputs.count > 1 { throw fail("takes at most one operand (a scalar key)") }
            if let k = inputs.first, !k.shape.isEmpty { throw fail("key must be a scalar, got \(shapeString(k.shape))") }
            shape = try need()
        case .matmul(let m):
            if inputs.count < 2 { throw fail("expects 2 operands, got \(inputs.count)") }
            let a = inputs[0].shape, b = inputs[1].shape
            guard a.count == 2, b.count == 2 else {
                throw fail("operands must be matrices, got \(shapeString(a)) and \(shapeString(b))")
            }
            let (m1, k1) = m.transA ? (a[1], a[0]) : (a[0], a[1])
            let (k2, n2) = m.transB ? (b[1], b[0]) : (b[0], b[1])
            if k1 != k2 {
                throw fail("inner dimensions differ: \(shapeString(a))\(m.transA ? "ᵀ" : "") · \(shapeString(b))\(m.transB ? "ᵀ" : "") (\(k1) vs \(k2))")
            }
            shape = [m1, n2]
            if let e = m.epilogue {
                try checkBody(e, args: [(dtype, shape)] + inputs.dropFirst(2).map { ($0.dtype, $0.shape) },
                              result: shape, opName: "matmul epilogue")
            } else if inputs.count != 2 {
                throw fail("expects 2 operands, got \(inputs.count)")
            }
        case .broadcast:
            try arity(1)
            let t = try need(), s = inputs[0].shape
            if !isBroadcastable(s, to: t) {
                throw fail("cannot broadcast \(shapeString(s)) to \(shapeString(t))")
            }
            shape = t
        case .reshape:
            try arity(1)
            let t = try need()
            if t.elementCount != inputs[0].shape.elementCount {
                throw fail("cannot reshape \(shapeString(inputs[0].shape)) (\(inputs[0].shape.elementCount) elements) to \(shapeString(t))")
            }
            shape = t
        case .transpose(let perm):
            try arity(1)
            let s = inputs[0].shape
            if perm.sorted() != Array(0..<s.count) {
                throw fail("permutation \(shapeString(perm)) does not fit rank \(s.count)")
            }
            shape = perm.map { s[$0] }
        case .slice(let start, let end):
            try arity(1)
            let s = inputs[0].shape
            guard start.count == s.count, end.count == s.count else {
                throw fail("start/end must have rank \(s.count)")
            }
            for d in 0..<s.count where !(0 <= start[d] && start[d] <= end[d] && end[d] <= s[d]) {
                throw fail("axis \(d): range \(start[d])..<\(end[d]) outside 0..<\(s[d])")
            }
            shape = zip(start, end).map { $1 - $0 }
        case .concat(let axis):
            guard let first = inputs.first else { throw fail("needs at least one operand") }
            guard axis >= 0 && axis < first.shape.count else { throw fail("axis \(axis) out of range for rank \(first.shape.count)") }
            var out = first.shape
            out[axis] = 0
            for (k, i) in inputs.enumerated() {
                var a = i.shape, b = first.shape
                guard a.count == b.count else { throw fail("operand \(k) has rank \(a.count), expected \(b.count)") }
                let (sum, o) = out[axis].addingReportingOverflow(a[axis])
                if o { throw fail("the extents along axis \(axis) add up to more than an Int can count") }
                out[axis] = sum
                a[axis] = 0; b[axis] = 0
                if a != b { throw fail("operand \(k) shape \(shapeString(i.shape)) does not match \(shapeString(first.shape)) off axis \(axis)") }
            }
            shape = out
        case .unary:
            try arity(1)
            shape = inputs[0].shape
        case .binary, .compare:
            try arity(2)
            if inputs[0].shape != inputs[1].shape {
                throw fail("shapes differ: \(shapeString(inputs[0].shape)) vs \(shapeString(inputs[1].shape))")
            }
            shape = inputs[0].shape
        case .select:
            try arity(3)
            if inputs[0].shape != inputs[1].shape || inputs[1].shape != inputs[2].shape {
                throw fail("shapes differ: \(inputs.map { shapeString($0.shape) }.joined(separator: ", "))")
            }
            shape = inputs[1].shape
        case .reduce(_, let axes):
            try arity(1)
            let s = inputs[0].shape
            if axes != Array(Set(axes)).sorted() || axes.contains(where: { $0 < 0 || $0 >= s.count }) {
                throw fail("axes \(shapeString(axes)) must be sorted, distinct and within rank \(s.count)")
            }
            shape = s.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        case .fused(let k):
            guard let d = declared else { throw fail("needs an explicit result shape") }
            try checkBody(k, args: inputs.map { ($0.dtype, $0.shape) }, result: d, opName: "fused")
            shape = d
        case .allReduce:
            // A sum over ranks: the operand's shape (every rank holds the same shape).
            try arity(1)
            shape = inputs[0].shape
        case .conv2d(let a), .convTranspose2d(let a), .conv2dFilterGrad(let a):
            try arity(2)
            do { shape = try convolutionShape(op, a, inputs[0].shape, inputs[1].shape, declared: declared) }
            catch let e as IRError { throw fail(e.message) }
            // The backends lay each output pixel's receptive field out in a scratch matrix
            // [N·OH·OW, KH·KW·C] (im2col): it is held to the tensor budget like a tensor.
            if let g = ConvGeometry.of(op, operands: [inputs[0].shape, inputs[1].shape], result: shape),
               let v = TensorBudget.violation([g.n, g.oh, g.ow, g.kh, g.kw, g.c], dtype) {
                throw fail("its im2col matrix [N·OH·OW, KH·KW·C]: " + v)
            }
        }
        if let d = declared, d != shape {
            throw fail("declared shape \(shapeString(d)) but operands give \(shapeString(shape))")
        }
        if let v = TensorBudget.violation(shape, dtype) { throw fail(v) }
        return (dtype, shape)
    }

    /// The result shape of a convolution op (see `Op.conv2d`), or an error saying which extent
    /// does not fit. conv_transpose2d and conv2d_filter_grad need `declared` (their result is not
    /// implied by the operands) and check that it is consistent.
    static func convolutionShape(_ op: Op, _ a: ConvAttrs, _ s0: Shape, _ s1: Shape, declared: Shape?) throws -> Shape {
        guard a.stride.count == 2, a.padding.count == 2 else {
            throw IRError("stride and padding need two values each ([rows, columns]), got \(shapeString(a.stride)) and \(shapeString(a.padding))")
        }
        if a.stride.contains(where: { $0 < 1 }) { throw IRError("stride \(shapeString(a.stride)) must be at least 1") }
        if a.padding.contains(where: { $0 < 0 }) { throw IRError("padding \(shapeString(a.padding)) must not be negative") }
        guard s0.count == 4, s1.count == 4 else {
            throw IRError("operands must have rank 4, got \(shapeString(s0)) and \(shapeString(s1))")
        }
        /// The output extents of the convolution of x's spatial extents with a kh × kw kernel.
        func outputs(_ h: Int, _ w: Int, _ kh: Int, _ kw: Int) throws -> (Int, Int) {
            guard let oh = a.outputExtent(input: h, kernel: kh, axis: 0),
                  let ow = a.outputExtent(input: w, kernel: kw, axis: 1) else {
                throw IRError("kernel \(kh)×\(kw) does not fit the input \(h)×\(w) with padding \(shapeString(a.padding))")
            }
            return (oh, ow)
        }
        switch op {
        case .conv2d:
            let (x, w) = (s0, s1)
            if x[3] != w[2] { throw IRError("input has \(x[3]) channel(s) (NHWC \(shapeString(x))) but the filter \(shapeString(w)) expects \(w[2]) (filters are [KH, KW, C, F])") }
            if w[0] < 1 || w[1] < 1 { throw IRError("empty kernel \(shapeString(w))") }
            let (oh, ow) = try outputs(x[1], x[2], w[0], w[1])
            return [x[0], oh, ow, w[3]]
        case .convTranspose2d:
            let (y, w) = (s0, s1)
            if y[3] != w[3] { throw IRError("input has \(y[3]) channel(s) (NHWC \(shapeString(y))) but the filter \(shapeString(w)) transposes a convolution to \(w[3]) (filters are [KH, KW, C, F])") }
            if w[0] < 1 || w[1] < 1 { throw IRError("empty kernel \(shapeString(w))") }
            guard let d = declared else { throw IRError("needs an explicit result shape [N, H, W, \(w[2])]") }
            guard d.count == 4, d[0] == y[0], d[3] == w[2], d[1] >= 0, d[2] >= 0 else {
                throw IRError("declared shape \(shapeString(d)) must be [\(y[0]), H, W, \(w[2])]")
            }
            let (oh, ow) = try outputs(d[1], d[2], w[0], w[1])
            if (oh, ow) != (y[1], y[2]) {
                let defaults = (0..<2).map { a.transposedExtent(input: y[1 + $0], kernel: w[$0], axis: $0).map(String.init) ?? "?" }
                throw IRError("a \(d[1])×\(d[2]) result does not convolve back to the \(y[1])×\(y[2]) input (it gives \(oh)×\(ow)); "
                              + "the builder's default is \(defaults[0])×\(defaults[1])")
            }
            return d
        case .conv2dFilterGrad:
            let (x, dy) = (s0, s1)
            if x[0] != dy[0] { throw IRError("batch sizes differ: \(shapeString(x)) and \(shapeString(dy))") }
            guard let d = declared else { throw IRError("needs an explicit result shape [KH, KW, \(x[3]), \(dy[3])]") }
            guard d.count == 4, d[2] == x[3], d[3] == dy[3], d[0] >= 1, d[1] >= 1 else {
                throw IRError("declared shape \(shapeString(d)) must be [KH, KW, \(x[3]), \(dy[3])]")
            }
            let (oh, ow) = try outputs(x[1], x[2], d[0], d[1])
            if (oh, ow) != (dy[1], dy[2]) {
                throw IRError("a \(d[0])×\(d[1]) kernel over the \(x[1])×\(x[2]) input gives \(oh)×\(ow), but the gradient is \(dy[1])×\(dy[2])")
            }
            return d
        default:
            throw IRError("not a convolution")
        }
    }

    /// True if `s` broadcasts to `t` under numpy's right-aligned rule.
    public static func isBroadcastable(_ s: Shape, to t: Shape) -> Bool {
        if s.count > t.count { return false }
        let off = t.count - s.count
        for (i, e) in s.enumerated() where e != 1 && e != t[off + i] { return false }
        return true
    }

    /// Checks a fused body: nodes in topological order, arguments matching the operands, every
    /// node's shape consistent, result of the expected shape.
    static func checkBody(_ k: FusedKernel, args: [(DType, Shape)], result: Shape, opName: String) throws {
        func fail(_ m: String) -> IRError { IRError("\(opName): \(m)") }
        guard k.result >= 0 && k.result < k.nodes.count else { throw fail("result index \(k.result) out of range") }
        for (i, n) in k.nodes.enumerated() {
            if n.inputs.contains(where: { $0 < 0 || $0 >= i }) { throw fail("body node %\(i) uses a later or missing node") }
            switch n.op {
            case .arg(let a):
                guard a < args.count else { throw fail("body uses arg \(a) but the kernel has \(args.count) operand(s)") }
                if args[a].1 != n.shape || args[a].0 != n.dtype {
                    throw fail("arg \(a) declared \(n.dtype.rawValue)\(shapeString(n.shape)), operand is \(args[a].0.rawValue)\(shapeString(args[a].1))")
                }
            case .parameter, .input, .matmul, .fused, .randomUniform, .randomNormal, .concat, .conv2d, .convTranspose2d,
                 .conv2dFilterGrad, .allReduce:
                throw fail("\(n.op.name) cannot appear inside a fused kernel")
            default:
                let ins = n.inputs.map { (k.nodes[$0].dtype, k.nodes[$0].shape) }
                _ = try infer(n.op, inputs: ins, declared: n.shape, dtype: n.dtype)
            }
        }
        if k.nodes[k.result].shape != result {
            throw fail("result has shape \(shapeString(k.nodes[k.result].shape)), node declares \(shapeString(result))")
        }
    }
}
