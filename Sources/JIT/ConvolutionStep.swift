import CBLAS
import IR
import Runtime

/// A convolution node in a JIT program (`conv2d`, `conv_transpose2d`, `conv2d_filter_grad`):
/// Runtime's im2col / col2im (`Convolution`, the interpreter's own code) and a single-threaded
/// `cblas_sgemm`, split over the JIT's pool. conv2d and conv_transpose2d split by image (each
/// image's rows of the scratch matrix and of the result are its own); the filter gradient, a
/// sum over all images, fills the scratch by image and then splits the product by filter column.
/// The scratch matrix [N·OH·OW, KH·KW·C] is the step's own buffer, allocated with the program.
struct ConvolutionStep {
    enum Kind { case conv2d, convTranspose2d, filterGrad }
    var kind: Kind
    var geometry: ConvGeometry
    /// The operands as the op takes them, the result, the im2col scratch.
    var a: UnsafeMutablePointer<Float>?, b: UnsafeMutablePointer<Float>?, out: UnsafeMutablePointer<Float>?
    var cols: UnsafeMutablePointer<Float>
    /// Steps with fewer multiply-adds than this run on the calling thread alone.
    static let minimumSplitWork = 1 << 20

    init?(_ op: Op, geometry: ConvGeometry, scratch: UnsafeMutablePointer<Float>) {
        switch op {
        case .conv2d: kind = .conv2d
        case .convTranspose2d: kind = .convTranspose2d
        case .conv2dFilterGrad: kind = .filterGrad
        default: return nil
        }
        self.geometry = geometry
        cols = scratch
    }

    /// Runs the step, on `pool` when it is large enough to split.
    func run(_ pool: ParallelFor, args: UnsafeMutablePointer<UnsafeMutableRawPointer?>) {
        let g = geometry
        let split = g.flops / 2 >= ConvolutionStep.minimumSplitWork && pool.threadCount > 1
        switch kind {
        case .conv2d, .convTranspose2d:
            if split && g.n >= 2 {
                pool.run(ConvolutionStep.byImage, args: args, count: g.n, chunks: pool.threadCount, alignment: 1, serialBelow: 2)
            } else {
                runImages(0..<g.n)
            }
        case .filterGrad:
            let field = g.kh * g.kw * g.c, rows = g.n * g.oh * g.ow
            if field == 0 || g.f == 0 { return }
            if rows == 0 { out!.update(repeating: 0, count: field * g.f); return }
            if split && g.n >= 2 {
                pool.run(ConvolutionStep.im2colByImage, args: args, count: g.n, chunks: pool.threadCount, alignment: 1, serialBelow: 2)
            } else {
                Convolution.im2col(UnsafePointer(a!), cols, g, images: 0..<g.n)
            }
            if split && g.f >= 2 {
                pool.run(ConvolutionStep.filterColumns, args: args, count: g.f, chunks: pool.threadCount, alignment: 1, serialBelow: 2)
            } else {
                filterGradColumns(0..<g.f)
            }
        }
    }

    func runImages(_ images: Range<Int>) {
        switch kind {
        case .conv2d: Convolution.conv2d(UnsafePointer(a!), UnsafePointer(b!), out!, cols: cols, geometry, images: images)
        case .convTranspose2d: Convolution.convTranspose2d(UnsafePointer(a!), UnsafePointer(b!), out!, cols: cols, geometry, images: images)
        case .filterGrad: preconditionFailure("the filter gradient is not split by image")
        }
    }

    /// dW[:, columns] = colsᵀ · dy[:, columns] (the scratch already filled).
    func filterGradColumns(_ columns: Range<Int>) {
        let g = geometry, field = g.kh * g.kw * g.c, rows = g.n * g.oh * g.ow
        if columns.isEmpty { return }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(field), Int32(columns.count), Int32(rows), 1,
                    cols, Int32(field), b! + columns.lowerBound, Int32(g.f), 0, out! + columns.lowerBound, Int32(g.f))
    }

    /// The pool's kernels: `args[0]` is the `ConvolutionStep`.
    static func step(_ args: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> ConvolutionStep {
        args![0]!.assumingMemoryBound(to: ConvolutionStep.self).pointee
    }
    static let byImage: ParallelKernel = { args, begin, end in step(args).runImages(Int(begin)..<Int(end)) }
    static let im2colByImage: ParallelKernel = { args, begin, end in
        let s = step(args)
        Convolution.im2col(UnsafePointer(s.a!), s.cols, s.geometry, images: Int(begin)..<Int(end))
    }
    static let filterColumns: ParallelKernel = { args, begin, end in step(args).filterGradColumns(Int(begin)..<Int(end)) }
}
