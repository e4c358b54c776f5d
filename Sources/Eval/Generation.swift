// Image figures made by decoding altered codes: reconstructions, conditional generation (fig. 6),
// toggling and traversal (fig. 7).

import SeededRandom
import Data
import Plot

struct GenerationFigures {
    let runner: ModelRunner
    let test: Dataset
    let enc: Encodings
    let h: Int, w: Int
    let header: String
    let seed: UInt64

    /// Images are drawn about 64 units high, whatever their pixel size.
    var imageSize: Size { let s = max(1, 64 / Double(h)); return Size(Double(w) * s, Double(h) * s) }
    func raster(_ v: [Float]) -> RasterImage { RasterImage(grey: v[...], height: h, width: w) }
    func image(_ i: Int) -> RasterImage { raster(Array(test.example(i))) }
    func figure(_ title: [String], columnHeaders: [String] = [], rows: [ImageGrid.Row]) -> Drawing {
        Figure(title: title, charts: [ImageGrid(rows: rows, columnHeaders: columnHeaders, imageSize: imageSize)]).drawing()
    }
    func decode(_ codes: [[Float]]) throws -> [RasterImage] {
        let out = try runner.decode(codes.flatMap { $0 })
        let d = h * w
        return (0..<codes.count).map { raster(Array(out[$0 * d..<($0 + 1) * d])) }
    }
    func className(_ i: Int) -> String? {
        guard let l = test.labels?[i] else { return nil }
        return test.classNames.flatMap { l < $0.count ? $0[l] : nil } ?? "class \(l)"
    }
    func dims(_ s: [Int], max n: Int = 10) -> String {
        s.isEmpty ? "none" : s.prefix(n).map(String.init).joined(separator: ",") + (s.count > n ? ",…" : "")
    }

    /// Inputs above, reconstructions below.
    func reconstructions(count: Int = 10) throws -> Drawing {
        let idx = Array(0..<min(count, test.count))
        let recon = try decode(idx.map { enc.code($0) })
        return figure(["Reconstructions: inputs (top), decoder means (bottom)", header],
                      columnHeaders: idx.map { "#\($0)" },
                      rows: [.init(label: ["input"], images: idx.map(image)),
                             .init(label: ["reconstruction"], images: recon)])
    }

    /// Examples for rows: one per class for labelled data (up to `n`), otherwise the first ones.
    func pickExamples(_ n: Int) -> [Int] {
        if let labels = test.labels {
            var seen = Set<Int>(), out: [Int] = []
            for (i, l) in labels.enumerated() where !seen.contains(l) && !enc.activeSet(i).isEmpty {
                seen.insert(l); out.append(i)
                if out.count == n { break }
            }
            if !out.isEmpty { return out }
        }
        let withActive = (0..<test.count).filter { !enc.activeSet($0).isEmpty }
        return Array((withActive.isEmpty ? Array(0..<test.count) : withActive).prefix(n))
    }

    /// Fig. 6: per row, one encoded example: its input, its reconstruction, then samples that keep
    /// its inactive dims at 0 and draw each active dim j as μ_j + s_j·ε (s_j: the spread of dim j
    /// over the test encodings where it is active).
    func conditional(rows: Int = 4, samples: Int = 8) throws -> Drawing {
        var rng = Xoshiro256(seed: seed, stream: 0x636F_6E64)  // "cond"
        let spread = enc.codeSpread()
        var figRows: [ImageGrid.Row] = []
        for i in pickExamples(rows) {
            let base = enc.code(i), act = enc.activeSet(i)
            var codes = [base]
            for _ in 0..<samples {
                var z = base
                for j in act { z[j] = enc.mu[i, j] + spread[j] * Float(rng.nextNormal()) }
                codes.append(z)
            }
            let imgs = try decode(codes)
            var label = ["test #\(i)"]
            if let c = className(i) { label.append(c) }
            label.append("\(act.count) active dims")
            figRows.append(.init(label: label, images: [image(i)] + imgs, highlighted: [0]))
        }
        return figure(["Conditional generation: sampling only along each example's active dims",
                       header, "columns: input (red), reconstruction, \(samples) samples"],
                      columnHeaders: ["input", "recon."] + (1...samples).map { "sample \($0)" }, rows: figRows)
    }

    /// Two examples A and B whose active sets overlap but differ (labelled data: different
    /// classes; Fashion-MNIST: a T-shirt and a shirt, as the paper).
    func pickPair() -> (Int, Int) {
        let n = min(test.count, 1000)
        let sets = (0..<n).map { Set(enc.activeSet($0)) }
        var a = 0
        if let labels = test.labels, test.classNames?.first?.lowercased().hasPrefix("t-shirt") == true {
            // The paper's pair: a T-shirt and a shirt, preferring active sets that overlap but differ.
            let ts = Array((0..<n).filter { labels[$0] == 0 && !sets[$0].isEmpty }.prefix(100))
            let ss = Array((0..<n).filter { labels[$0] == 6 && !sets[$0].isEmpty }.prefix(100))
            for need in [2, 1, 0] {
                for t in ts {
                    if let s = ss.first(where: { !sets[$0].isDisjoint(with: sets[t]) && sets[$0].symmetricDifference(sets[t]).count >= need }) {
                        return (t, s)
                    }
                }
            }
        }
        // A: an example with at least the median number of active dims.
        let counts = sets.map(\.count).sorted()
        let median = counts.isEmpty ? 0 : counts[counts.count / 2]
        a = (0..<n).first { sets[$0].count >= max(1, median) } ?? 0
        func ok(_ i: Int, need: Int) -> Bool {
            guard i != a else { return false }
            if let l = test.labels, l[i] == l[a] { return false }
            return !sets[i].isDisjoint(with: sets[a]) && sets[i].symmetricDifference(sets[a]).count >= need
        }
        for need in [2, 1] {
            let cands = (0..<n).filter { ok($0, need: need) }
            if let b = cands.min(by: { (sets[$0].symmetricDifference(sets[a]).count, $0) < (sets[$1].symmetricDifference(sets[a]).count, $1) }) {
                return (a, b)
            }
        }
        return (a, a == 0 ? min(1, test.count - 1) : 0)
    }

    /// Fig. 7: rows of (left) single shared active dims traversed over ±2 spreads around each
    /// example's value and (right) dims active in one example but not the other switched off in it
    /// or switched on (at values around the other's).
    func traversal(steps: Int = 7, maxDims: Int = 2) throws -> Drawing {
        let (a, b) = pickPair()
        let spread = enc.codeSpread()
        let sa = enc.activeSet(a), sb = enc.activeSet(b)
        let shared = sa.filter { sb.contains($0) }
        let onlyA = sa.filter { !sb.contains($0) }, onlyB = sb.filter { !sa.contains($0) }
        func name(_ i: Int, _ tag: String) -> String { tag + " = #\(i)" + (className(i).map { " " + $0 } ?? "") }
        var rows: [ImageGrid.Row] = []
        let ra = try decode([enc.code(a), enc.code(b)])
        rows.append(.init(label: [name(a, "A"), "active: " + dims(sa)], images: [image(a), ra[0]]))
        rows.append(.init(label: [name(b, "B"), "active: " + dims(sb)], images: [image(b), ra[1]]))
        let ts = (0..<steps).map { -2 + 4 * Float($0) / Float(max(1, steps - 1)) }
        // Traversals of shared dims (or A's, if none are shared), in A and in B.
        let traverse = Array((shared.isEmpty ? sa : shared).prefix(maxDims))
        for j in traverse {
            for (i, tag) in [(a, "A"), (b, "B")] where enc.isActive(i, j) {
                let base = enc.code(i)
                let codes = ts.map { t -> [Float] in var z = base; z[j] = base[j] + t * spread[j]; return z }
                rows.append(.init(label: ["\(tag): vary dim \(j)", "−2 to +2 spread"], images: try decode(codes),
                                  highlighted: [steps / 2]))
            }
        }
        // Toggles: A's own dims off; B's own dims on in A.
        for j in onlyA.prefix(maxDims) {
            var z = enc.code(a); z[j] = 0
            rows.append(.init(label: ["A: dim \(j) off", "(active in A only)"], images: [ra[0]] + (try decode([z])), highlighted: [0]))
        }
        for j in onlyB.prefix(maxDims) {
            let base = enc.code(a), centre = enc.mu[b, j]
            let codes = [-1, -0.5, 0, 0.5, 1].map { (t: Float) -> [Float] in var z = base; z[j] = centre + t * spread[j]; return z }
            rows.append(.init(label: ["A: dim \(j) on", "(B's value ±1 spread)"], images: [ra[0]] + (try decode(codes)), highlighted: [0]))
        }
        if onlyA.isEmpty && onlyB.isEmpty {
            rows.append(.init(label: ["no dim is active in", "one but not the other"], images: []))
        }
        return figure(["Traversal and toggling of single latent dims (red: unaltered)", header,
                       "rows 1–2: input, reconstruction; then altered reconstructions"], rows: rows)
    }
}
