import ArgumentParser
import Data
import Foundation

/// `vsc data`: make, inspect and picture data sets.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Make the Smiley data set, and inspect or picture data sets.",
        discussion: "Data names understood here and in model specs (`data:`): a data set file written by `vsc data smiley`; "
            + DataSetName.helpText + ".\n\nExamples:\n  vsc data smiley --count 2000 --out smiley.vscd\n  vsc data show smiley.vscd --out grid.png\n  vsc data info fashion-mnist --split test",
        subcommands: [SmileyCmd.self, Show.self, Info.self])

    struct SmileyCmd: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "smiley",
            abstract: "Generate a Smiley sparse data set (32×32 binary images with ground-truth sources) and write it to a file.",
            discussion: """
                Each example is a head of radius 10 with four attributes — eyes (3 sources), mouth (5), \
                hat (6), bow tie (4) — each present with probability p. All 18 sources are drawn from \
                N(0, 0.5²) for every example and stored with the 4 presence flags. The same seed always \
                gives the same examples, and example i does not depend on --count. The paper used 60000 \
                training and 20000 test examples with p = 0.5.

                Example:
                  vsc data smiley --count 2000 --seed 3 --out smiley.vscd
                """)
        @Option(help: "Number of examples.") var count: Int = 60_000
        @Option(help: "Random seed.") var seed: UInt64 = 1
        @Option(help: "Probability that each attribute is present.") var p: Double = 0.5
        @Option(help: "Standard deviation of every source value.") var sourceSd: Double = 0.5
        @Option(help: "Output file (vsc data set format, bit-packed pixels).") var out: String

        func validate() throws {
            guard count > 0 else { throw ValidationError("--count must be positive") }
            guard (0...1).contains(p) else { throw ValidationError("--p must be in [0, 1]") }
            guard sourceSd >= 0, sourceSd.isFinite else { throw ValidationError("--source-sd must be ≥ 0") }
        }

        func run() throws {
            var config = SmileyConfig(p: p)
            config.sourceSD = sourceSd
            let start = Date()
            let d = Smiley.generate(count: count, seed: seed, config: config)
            let elapsed = Date().timeIntervalSince(start)
            try DatasetFile.write(d, to: out)
            let bytes = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? NSNumber)?.intValue ?? 0
            print("wrote \(out): \(d.count) Smiley examples, 32×32, seed \(seed), p \(p), \(bytes) bytes (generated in \(String(format: "%.2f", elapsed)) s)")
            printSummary(d)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a PNG grid of the first examples of a data set.",
            discussion: """
                DATA is a data set file (from `vsc data smiley`), `fashion-mnist`, `fashion-mnist:DIR` or \
                `smiley[:N]`. Pixels are shown white = 1, black = 0, on a grey grid, enlarged by --scale. \
                For Smiley sets the attributes of each shown example are listed.

                Examples:
                  vsc data show smiley.vscd --out grid.png --count 16
                  vsc data show fashion-mnist --split test --out fmnist.png
                """)
        @Argument(help: "The data set: a file, or a data name such as fashion-mnist.") var data: String
        @Option(help: "Output PNG file.") var out: String
        @Option(help: "Number of examples to show.") var count: Int = 64
        @Option(help: "Index of the first example to show.") var start: Int = 0
        @Option(help: "Images per grid row.") var columns: Int = 8
        @Option(help: "Enlargement factor (nearest neighbour).") var scale: Int = 4
        @Option(help: "Padding between images, in grid pixels.") var padding: Int = 2
        @OptionGroup var splitOption: SplitOption

        func validate() throws {
            guard count > 0, columns > 0, scale > 0, padding >= 0, start >= 0 else {
                throw ValidationError("--count, --columns and --scale must be positive; --padding and --start ≥ 0")
            }
            // Bounds that keep the grid's pixel arithmetic far from overflow and the PNG a sane size.
            guard count <= 100_000, columns <= 4096, scale <= 32, padding <= 256 else {
                throw ValidationError("--count ≤ 100000, --columns ≤ 4096, --scale ≤ 32 and --padding ≤ 256")
            }
        }

        func run() throws {
            let d = try DataSource.load(data, split: splitOption.split)
            guard let shape = d.imageShape else {
                throw ValidationError("\(data): \(d.name) is not an image data set (no image shape); nothing to show")
            }
            guard start < d.count else { throw ValidationError("--start \(start) is beyond the \(d.count) examples") }
            let idx = Array(start..<min(start + count, d.count))
            let images = d.batch(indices: idx)
            let g = imageGrid(images: images, h: shape.h, w: shape.w, columns: columns, padding: padding, scale: scale)
            try writePNG(path: out, width: g.width, height: g.height, pixels: g.pixels, channels: 1)
            print("wrote \(out): \(g.width)×\(g.height) grid of \(idx.count) examples (\(idx.first!)…\(idx.last!)) of \(d.name), \(columns) per row")
            if d.presencePerExample == 4 {
                for (r, i) in idx.enumerated() {
                    let flags = d.presence(of: i)
                    let names = SmileyAttribute.allCases.map { flags[flags.startIndex + $0.rawValue] ? $0.name : "-" }
                    print(String(format: "  #%-5d row %d col %d: ", i, r / columns + 1, r % columns + 1) + names.joined(separator: " "))
                }
            } else if let labels = d.labels {
                let names = d.classNames
                let shown = idx.map { i in names.map { $0[labels[i]] } ?? String(labels[i]) }
                print("  labels: " + shown.joined(separator: ", "))
            }
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a summary of a data set: counts, shape, labels or attribute rates and source statistics.",
            discussion: """
                Examples:
                  vsc data info smiley.vscd
                  vsc data info fashion-mnist --split test
                """)
        @Argument(help: "The data set: a file, or a data name such as fashion-mnist.") var data: String
        @OptionGroup var splitOption: SplitOption

        func run() throws {
            let d = try DataSource.load(data, split: splitOption.split)
            let shape = d.imageShape.map { "\($0.h)×\($0.w) images" } ?? "\(d.dim) features"
            print("\(d.name): \(d.count) examples, \(shape)")
            if let lo = d.x.min(), let hi = d.x.max() { print("  values in [\(lo), \(hi)]") }
            printSummary(d)
        }
    }
}

/// Prints label counts, or Smiley attribute rates and source statistics.
private func printSummary(_ d: Dataset) {
    if let counts = d.labelCounts() {
        for (l, n) in counts.enumerated() {
            print("  label \(l)\(d.classNames.map { " (\($0[l]))" } ?? ""): \(n)")
        }
    }
    guard d.count > 0 else { return }
    if d.presencePerExample == 4, let p = d.presence {
        for a in SmileyAttribute.allCases {
            let n = (0..<d.count).filter { p[$0 * 4 + a.rawValue] }.count
            let label = a.name.padding(toLength: 7, withPad: " ", startingAt: 0)
            print("  \(label) present in " + String(format: "%6.2f%% of examples", 100 * Double(n) / Double(d.count)))
        }
        let bare = (0..<d.count).filter { !d.presence(of: $0).contains(true) }.count
        print("  no attribute: \(bare) examples")
    }
    if d.sourcesPerExample == SmileyAttribute.sourceCount, let s = d.sources {
        let k = SmileyAttribute.sourceCount
        var sds: [Double] = []
        for j in 0..<k {
            var m = 0.0, m2 = 0.0
            for i in 0..<d.count { let v = Double(s[i * k + j]); m += v; m2 += v * v }
            let n = Double(d.count)
            sds.append(n > 1 ? ((m2 - m * m / n) / (n - 1)).squareRoot() : 0)
        }
        print(String(format: "  source sd: min %.3f, mean %.3f, max %.3f over 18 sources",
                     sds.min()!, sds.reduce(0, +) / Double(k), sds.max()!))
    }
}
