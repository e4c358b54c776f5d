import Testing
@testable import Data

@Suite struct PNGTests {
    @Test func gridLayoutAndRoundTrip() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        // Three 2×3 images: all black, all white, a ramp.
        let imgs: [Float] = [Float](repeating: 0, count: 6) + [Float](repeating: 1, count: 6) + [0, 0.2, 0.4, 0.6, 0.8, 1]
        let g = imageGrid(images: imgs, h: 2, w: 3, columns: 2, padding: 1, scale: 2)
        #expect(g.width == 2 * 6 + 3 && g.height == 2 * 4 + 3)
        #expect(g.pixels[0] == 128)                       // padding
        #expect(g.pixels[1 * g.width + 1] == 0)           // first image
        #expect(g.pixels[1 * g.width + 8] == 255)         // second image
        #expect(g.pixels[(6 + 3) * g.width + 1 + 5] == 255)  // ramp's last pixel, scaled ×2
        #expect(g.pixels[6 * g.width + 1 + 5] == 102)        // ramp's (0, 2) = 0.4
        let p = dir + "/g.png"
        try writePNG(path: p, width: g.width, height: g.height, pixels: g.pixels, channels: 1)
        let r = try readPNG(path: p)
        #expect(r.width == g.width && r.height == g.height && r.pixels == g.pixels)
        // RGB.
        let rgb = imageGridRGB(images: [1, 0, 0, 0, 1, 0], h: 1, w: 2, columns: 1, padding: 0)
        try writePNG(path: p, width: rgb.width, height: rgb.height, pixels: rgb.pixels, channels: 3)
        #expect(try readPNG(path: p, channels: 3).pixels == [255, 0, 0, 0, 255, 0])
    }

    @Test func errorsNameTheFile() {
        let e = dataError { try writePNG(path: "/nonexistent/dir/x.png", width: 1, height: 1, pixels: [0]) }
        #expect(e?.description.contains("/nonexistent/dir/x.png") == true)
        #expect(dataError { try writePNG(path: "/tmp/x.png", width: 2, height: 1, pixels: [0]) } != nil)
        #expect(dataError { try readPNG(path: "/nonexistent.png") } != nil)
    }
}
