import IR

/// The three convolution ops (`conv2d`, `conv_transpose2d`, `conv2d_filter_grad`; NHWC, filters
/// [KH, KW, C, F]) as im2col + one GEMM each, over raw buffers so the interpreter and the JIT run
/// the same code. im2col lays the receptive field of every output pixel out as a row of
/// `cols` [N·OH·OW, KH·KW·C] (zeros where the window hangs over the padding); with NHWC each
/// in-bounds run of kernel columns is one contiguous copy of whole channel vectors. Then
///
///     conv2d:             y  [N·OH·OW, F]   = cols · W          (W as [KH·KW·C, F])
///     conv_transpose2d:   cols              = y · Wᵀ, then col2im (scatter-add into x, the adjoint of im2col)
///     conv2d_filter_grad: dW [KH·KW·C, F]   = colsᵀ · dy
///
/// `images` ranges let a caller split the first two over threads by image (their rows of `cols`
/// and of the result are disjoint); the filter gradient sums over every image. The loops are
/// `@inlinable` so the JIT's calls specialise them for Float (a generic call across modules
/// would add each element through a protocol witness).
public enum Convolution {
    /// Elements of the im2col scratch matrix of `g` (shape inference holds it to the tensor budget).
    public static func scratchCount(_ g: ConvGeometry) -> Int { g.n * g.oh * g.ow * g.kh * g.kw * g.c }

    /// Columns of the im2col matrix (the length of one receptive field).
    @inlinable @usableFromInline static func fieldLength(_ g: ConvGeometry) -> Int { g.kh * g.kw * g.c }

    /// Fills the rows of `cols` for `images` from x [N, H, W, C].
    @inlinable public static func im2col<T: InterpScalar>(_ x: UnsafePointer<T>, _ cols: UnsafeMutablePointer<T>, _ g: ConvGeometry,
                                                images: Range<Int>) {
        let field = fieldLength(g), rowC = g.kw * g.c
        for b in images {
            for i in 0..<g.oh {
                for j in 0..<g.ow {
                    let row = cols + ((b * g.oh + i) * g.ow + j) * field
                    // The kernel columns v whose input column j·s − p + v lies inside x: one run.
                    let iw0 = j * g.strideW - g.padW
                    let v0 = max(0, -iw0), v1 = min(g.kw, g.w - iw0)
                    for u in 0..<g.kh {
                        let ih = i * g.strideH - g.padH + u
                        let dst = row + u * rowC
                        guard ih >= 0 && ih < g.h && v0 < v1 else {
                            dst.update(repeating: 0, count: rowC); continue
                        }
                        if v0 > 0 { dst.update(repeating: 0, count: v0 * g.c) }
                        dst.advanced(by: v0 * g.c).update(from: x + ((b * g.h + ih) * g.w + iw0 + v0) * g.c, count: (v1 - v0) * g.c)
                        if v1 < g.kw { dst.advanced(by: v1 * g.c).update(repeating: 0, count: (g.kw - v1) * g.c) }
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col` for `images`: x [N, H, W, C] = Σ of every row's entries at the
    /// pixels they were copied from (x's rows of those images are overwritten, not added to).
    @inlinable public static func col2im<T: InterpScalar>(_ cols: UnsafePointer<T>, _ x: UnsafeMutablePointer<T>, _ g: ConvGeometry,
                                                images: Range<Int>) {
        let field = fieldLength(g), rowC = g.kw * g.c, image = g.h * g.w * g.c
        if images.isEmpty { return }
        (x + images.lowerBound * image).update(repeating: 0, count: images.count * image)
        for b in images {
            for i in 0..<g.oh {
                for j in 0..<g.ow {
                    let row = cols + ((b * g.oh + i) * g.ow + j) * field
                    let iw0 = j * g.strideW - g.padW
                    let v0 = max(0, -iw0), v1 = min(g.kw, g.w - iw0)
                    if v0 >= v1 { continue }
                    for u in 0..<g.kh {
                        let ih = i * g.strideH - g.padH + u
                        guard ih >= 0 && ih < g.h else { continue }
                        let src = row + u * rowC + v0 * g.c
                        let dst = x + ((b * g.h + ih) * g.w + iw0 + v0) * g.c
                        for k in 0..<((v1 - v0) * g.c) { dst[k] += src[k] }
                    }
                }
            }
        }
    }

    /// y [N, OH, OW, F] of `images` = conv2d(x, w); `cols` is scratch of `scratchCount(g)`.
    @inlinable public static func conv2d<T: InterpScalar>(_ x: UnsafePointer<T>, _ w: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>,
                                                cols: UnsafeMutablePointer<T>, _ g: ConvGeometry, images: Range<Int>) {
        let rows = g.oh * g.ow, field = fieldLength(g)
        if images.isEmpty || rows == 0 || g.f == 0 { return }
        let first = images.lowerBound * rows
        // No input channels: a sum of nothing (and BLAS refuses a zero inner dimension).
        if field == 0 { (y + first * g.f).update(repeating: 0, count: images.count * rows * g.f); return }
        im2col(x, cols, g, images: images)
        T.gemm(transA: false, transB: false, m: images.count * rows, n: g.f, k: field,
               a: cols + first * field, b: w, c: y + first * g.f)
    }

    /// x [N, H, W, C] of `images` = conv_transpose2d(y, w), y [N, OH, OW, F].
    @inlinable public static func convTranspose2d<T: InterpScalar>(_ y: UnsafePointer<T>, _ w: UnsafePointer<T>, _ x: UnsafeMutablePointer<T>,
                                                         cols: UnsafeMutablePointer<T>, _ g: ConvGeometry, images: Range<Int>) {
        let rows = g.oh * g.ow, field = fieldLength(g)
        if images.isEmpty { return }
        let first = images.lowerBound * rows
        if rows > 0 && field > 0 {
            if g.f > 0 {
                T.gemm(transA: false, transB: true, m: images.count * rows, n: field, k: g.f,
                       a: y + first * g.f, b: w, c: cols + first * field)
            } else {
                (cols + first * field).update(repeating: 0, count: images.count * rows * field)
            }
        }
        col2im(cols, x, g, images: images)
    }

    /// dw [KH, KW, C, F] = conv2d_filter_grad(x, dy), summed over every image.
    @inlinable public static func filterGrad<T: InterpScalar>(_ x: UnsafePointer<T>, _ dy: UnsafePointer<T>, _ dw: UnsafeMutablePointer<T>,
                                                    cols: UnsafeMutablePointer<T>, _ g: ConvGeometry) {
        let field = fieldLength(g), rows = g.n * g.oh * g.ow
        if field == 0 || g.f == 0 { return }
        if rows == 0 { dw.update(repeating: 0, count: field * g.f); return }
        im2col(x, cols, g, images: 0..<g.n)
        T.gemm(transA: true, transB: false, m: field, n: g.f, k: rows, a: cols, b: dy, c: dw)
    }

    /// The value of a convolution node from its operand values (the interpreter's path).
    public static func evaluate<T: InterpScalar>(_ n: Node, _ ins: [[T]], shapes: [Shape]) -> [T] {
        let g = ConvGeometry.of(n.op, operands: shapes, result: n.shape)!
        var out = [T](repeating: 0, count: n.elementCount)
        var cols = [T](repeating: 0, count: max(scratchCount(g), 1))
        ins[0].withUnsafeBufferPointer { a in ins[1].withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { o in cols.withUnsafeMutableBufferPointer { s in
                guard let pa = a.baseAddress, let pb = b.baseAddress, let po = o.baseAddress else { return }
                switch n.op {
                case .conv2d: conv2d(pa, pb, po, cols: s.baseAddress!, g, images: 0..<g.n)
                case .convTranspose2d: convTranspose2d(pa, pb, po, cols: s.baseAddress!, g, images: 0..<g.n)
                case .conv2dFilterGrad: filterGrad(pa, pb, po, cols: s.baseAddress!, g)
                default: preconditionFailure("not a convolution: \(n.op.name)")
                }
            } }
        } }
        return out
    }
}

/// The convolutions as direct loops over the definition (`Op.conv2d`), accumulated in Double:
/// the reference the tests hold im2col + GEMM (both backends) against.
public enum ConvolutionReference {
    /// Calls `body` for every kernel tap of the convolution of geometry `g` that lands inside x:
    /// x's pixel (b, ih, iw) and y's pixel (b, i, j) as flat pixel indices, and the tap u·KW + v
    /// (the caller loops over the channels).
    static func forEachTap(_ g: ConvGeometry, _ body: (_ xPixel: Int, _ yPixel: Int, _ tap: Int) -> Void) {
        for b in 0..<g.n { for i in 0..<g.oh { for j in 0..<g.ow { for u in 0..<g.kh { for v in 0..<g.kw {
            let ih = i * g.strideH - g.padH + u, iw = j * g.strideW - g.padW + v
            guard ih >= 0 && ih < g.h && iw >= 0 && iw < g.w else { continue }
            body((b * g.h + ih) * g.w + iw, (b * g.oh + i) * g.ow + j, u * g.kw + v)
        } } } } }
    }

    public static func conv2d<T: BinaryFloatingPoint>(_ x: [T], _ w: [T], _ g: ConvGeometry) -> [T] {
        var y = [Double](repeating: 0, count: g.n * g.oh * g.ow * g.f)
        forEachTap(g) { xp, yp, tap in
            for ch in 0..<g.c { for f in 0..<g.f { y[yp * g.f + f] += Double(x[xp * g.c + ch]) * Double(w[(tap * g.c + ch) * g.f + f]) } }
        }
        return y.map { T($0) }
    }

    public static func convTranspose2d<T: BinaryFloatingPoint>(_ y: [T], _ w: [T], _ g: ConvGeometry) -> [T] {
        var x = [Double](repeating: 0, count: g.n * g.h * g.w * g.c)
        forEachTap(g) { xp, yp, tap in
            for ch in 0..<g.c { for f in 0..<g.f { x[xp * g.c + ch] += Double(y[yp * g.f + f]) * Double(w[(tap * g.c + ch) * g.f + f]) } }
        }
        return x.map { T($0) }
    }

    public static func filterGrad<T: BinaryFloatingPoint>(_ x: [T], _ dy: [T], _ g: ConvGeometry) -> [T] {
        var dw = [Double](repeating: 0, count: g.kh * g.kw * g.c * g.f)
        forEachTap(g) { xp, yp, tap in
            for ch in 0..<g.c { for f in 0..<g.f { dw[(tap * g.c + ch) * g.f + f] += Double(x[xp * g.c + ch]) * Double(dy[yp * g.f + f]) } }
        }
        return dw.map { T($0) }
    }
}
