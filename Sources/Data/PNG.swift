// PNG output (and input) through libpng's simplified API, plus image grids for figures.

import CPNG

/// Writes an 8-bit PNG with libpng's `png_image_write_to_file`.
///
/// - Parameters:
///   - pixels: `height * width * channels` bytes, row-major, channels interleaved.
///   - channels: 1 (grey) or 3 (RGB).
/// - Throws: `DataError` naming the file with libpng's message if the write fails.
public func writePNG(path: String, width: Int, height: Int, pixels: [UInt8], channels: Int = 1) throws {
    guard channels == 1 || channels == 3 else {
        throw DataError(file: path, "writePNG supports 1 (grey) or 3 (RGB) channels, not \(channels)")
    }
    guard width > 0, height > 0, pixels.count == width * height * channels else {
        throw DataError(file: path, "writePNG: \(pixels.count) bytes do not make a \(width)×\(height)×\(channels) image")
    }
    var image = png_image()
    image.version = UInt32(PNG_IMAGE_VERSION)
    image.width = UInt32(width)
    image.height = UInt32(height)
    image.format = channels == 3 ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY)
    let ok = pixels.withUnsafeBytes { buf in
        png_image_write_to_file(&image, path, 0, buf.baseAddress, Int32(width * channels), nil)
    }
    let message = pngMessage(&image)
    png_image_free(&image)
    if ok == 0 { throw DataError(file: path, "cannot write PNG: \(message)") }
}

/// Reads a PNG into 8-bit grey (channels 1) or RGB (channels 3) pixels, converting as needed.
/// - Throws: `DataError` naming the file with libpng's message if it is not a readable PNG.
public func readPNG(path: String, channels: Int = 1) throws -> (pixels: [UInt8], width: Int, height: Int) {
    guard channels == 1 || channels == 3 else { throw DataError(file: path, "readPNG supports 1 or 3 channels") }
    var image = png_image()
    image.version = UInt32(PNG_IMAGE_VERSION)
    guard png_image_begin_read_from_file(&image, path) != 0 else {
        let m = pngMessage(&image)
        png_image_free(&image)
        throw DataError(file: path, "cannot read PNG: \(m)")
    }
    image.format = channels == 3 ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY)
    let w = Int(image.width), h = Int(image.height)
    var pixels = [UInt8](repeating: 0, count: w * h * channels)
    let ok = pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, Int32(w * channels), nil) }
    let m = pngMessage(&image)
    png_image_free(&image)
    if ok == 0 { throw DataError(file: path, "cannot read PNG: \(m)") }
    return (pixels, w, h)
}

private func pngMessage(_ image: inout png_image) -> String {
    withUnsafeBytes(of: &image.message) { raw in
        let bytes = raw.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Converts a value in [0, 1] to a byte (clamped; NaN gives 0).
@inline(__always) public func toByte(_ v: Float) -> UInt8 {
    guard v == v else { return 0 }
    return UInt8((min(max(v, 0), 1) * 255).rounded())
}

/// Lays `n` grey images (`n*h*w` values in [0, 1], row-major, image after image) out in a grid.
///
/// - Parameters:
///   - columns: images per row of the grid (rows follow from `n`).
///   - padding: pixels of `background` between images and around the border.
///   - scale: each image pixel becomes a `scale × scale` block (nearest neighbour), for viewing.
///   - background: the grey level of the padding (default mid-grey, so white and black images
///     both stand out).
/// - Returns: grey pixels ready for `writePNG(…, channels: 1)`.
public func imageGrid(images: [Float], h: Int, w: Int, columns: Int, padding: Int = 1, scale: Int = 1,
                      background: UInt8 = 128) -> (pixels: [UInt8], width: Int, height: Int) {
    let g = imageGridRGB(images: images.flatMap { [$0, $0, $0] }, h: h, w: w, columns: columns, padding: padding,
                         scale: scale, background: (background, background, background))
    var grey = [UInt8](repeating: 0, count: g.width * g.height)
    for k in 0..<grey.count { grey[k] = g.pixels[3 * k] }
    return (grey, g.width, g.height)
}

/// Lays `n` RGB images (`n*h*w*3` values in [0, 1], row-major with channels interleaved) out in
/// a grid; see `imageGrid` for the parameters. Returns RGB pixels for `writePNG(…, channels: 3)`.
public func imageGridRGB(images: [Float], h: Int, w: Int, columns: Int, padding: Int = 1, scale: Int = 1,
                         background: (UInt8, UInt8, UInt8) = (128, 128, 128)) -> (pixels: [UInt8], width: Int, height: Int) {
    precondition(h > 0 && w > 0 && columns > 0 && padding >= 0 && scale > 0, "imageGrid: bad geometry")
    precondition(images.count % (h * w * 3) == 0, "imageGrid: \(images.count) values are not whole \(h)×\(w) RGB images")
    let n = images.count / (h * w * 3)
    let cols = max(1, min(columns, n))
    let rows = max(1, (n + cols - 1) / cols)
    let cw = w * scale, ch = h * scale
    let width = cols * cw + (cols + 1) * padding, height = rows * ch + (rows + 1) * padding
    var px = [UInt8](repeating: 0, count: width * height * 3)
    for k in 0..<(width * height) {
        px[3 * k] = background.0; px[3 * k + 1] = background.1; px[3 * k + 2] = background.2
    }
    for i in 0..<n {
        let gx = padding + (i % cols) * (cw + padding), gy = padding + (i / cols) * (ch + padding)
        for y in 0..<ch {
            for x in 0..<cw {
                let src = ((i * h + y / scale) * w + x / scale) * 3
                let dst = ((gy + y) * width + gx + x) * 3
                for c in 0..<3 { px[dst + c] = toByte(images[src + c]) }
            }
        }
    }
    return (px, width, height)
}

/// Enlarges an image by an integer factor (nearest neighbour).
public func upscale(pixels: [UInt8], width: Int, height: Int, channels: Int = 1, factor: Int)
    -> (pixels: [UInt8], width: Int, height: Int) {
    precondition(factor > 0 && pixels.count == width * height * channels)
    let W = width * factor, H = height * factor
    var out = [UInt8](repeating: 0, count: W * H * channels)
    for y in 0..<H {
        for x in 0..<W {
            let s = ((y / factor) * width + x / factor) * channels, d = (y * W + x) * channels
            for c in 0..<channels { out[d + c] = pixels[s + c] }
        }
    }
    return (out, W, H)
}
