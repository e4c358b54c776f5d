/// The data sets the project knows, one row each: what model specs (`data: NAME`), `DataSource`
/// names (`NAME` or `NAME:ARG`) and the CLI's help accept. Adding a data set is a case here, its
/// row in `descriptor`, and its loader's file.
public enum DataSetName: String, CaseIterable, Sendable {
    case smiley
    case fashionMNIST = "fashion-mnist"
    case har
    case imageFolder = "images"

    /// The data set `name` names (its canonical name or an alias, any case), if any.
    public init?(named name: String) {
        let n = name.lowercased()
        guard let d = Self.allCases.first(where: { $0.rawValue == n || $0.descriptor.aliases.contains(n) }) else { return nil }
        self = d
    }

    public var descriptor: DataSetDescriptor {
        switch self {
        case .smiley:
            return DataSetDescriptor(
                aliases: [], inputDim: 1024, argument: "N", requiredPath: nil,
                summary: "the Smiley sparse data set, generated on the fly (`smiley:N`: N examples)",
                load: { split, arg, _ in
                    var count = split == .train ? 60_000 : 20_000
                    if let a = arg {
                        guard let n = Int(a), n > 0 else { throw DataError(file: "smiley:\(a)", "`smiley:N` needs a positive count, got \"\(a)\"") }
                        count = n
                    }
                    return Smiley.generate(count: count, seed: split == .train ? 1 : 2)
                })
        case .fashionMNIST:
            return DataSetDescriptor(
                aliases: ["fashionmnist", "fmnist"], inputDim: 784, argument: "DIR", requiredPath: nil,
                summary: "Fashion-MNIST's IDX files in DIR (default: Debian's dataset-fashion-mnist, \(FashionMNIST.defaultDirectory))",
                load: { split, dir, _ in try FashionMNIST.load(split: split, directory: dir) })
        case .har:
            return DataSetDescriptor(
                aliases: ["uci-har"], inputDim: 561, argument: "DIR",
                requiredPath: "the UCI HAR folder (the archive's \"UCI HAR Dataset\" directory)",
                summary: "the UCI HAR archive folder DIR (required), standardised with the training split's statistics",
                load: { split, dir, _ in
                    guard let dir else { throw DataError(file: "har", "UCI HAR needs a folder: `har:DIR` (no package ships the files)") }
                    return try UCIHAR.load(split: split, directory: dir)
                })
        case .imageFolder:
            return DataSetDescriptor(
                aliases: ["image-folder", "image_folder"], inputDim: DataSetOptions().inputDim, argument: "DIR",
                requiredPath: "a folder of PNG or JPEG images (or train/ and test/ folders of them)",
                summary: "a folder DIR of PNG or JPEG images (required; train/ and test/ subfolders, or a 90/10 split by file name), each centre-cropped and resized to data.size (default 32) with data.channels 1 or 3 (default 3), decoded once and cached in DIR/.vsc-cache",
                load: { split, dir, options in
                    guard let dir else { throw DataError(file: "images", "an image folder needs its path: `images:DIR`, or data.path in a spec") }
                    return try ImageFolder.load(split: split, directory: dir, size: options.imageSize, channels: options.channels)
                },
                takesImageGeometry: true)
        }
    }
}

/// One row of the data-set table.
public struct DataSetDescriptor: Sendable {
    /// Other names accepted for it (lower case).
    public var aliases: [String]
    /// Features per example: a spec's default `input_dim`.
    public var inputDim: Int
    /// What `NAME:ARG` (and a spec's `data.path`) gives the loader: "DIR", "N".
    public var argument: String
    /// What the folder or file must be when the loader cannot do without one (nil: optional).
    public var requiredPath: String?
    /// One line for help texts.
    public var summary: String
    /// Loads a split; `argument` is the part after `NAME:` (a folder, a count), nil for the default;
    /// `options` the spec's image geometry (read by the image loaders only).
    public var load: @Sendable (_ split: DataSplit, _ argument: String?, _ options: DataSetOptions) throws -> Dataset
    /// Whether the spec's `data.size` and `data.channels` apply (the input size is then
    /// size² · channels rather than `inputDim`).
    public var takesImageGeometry = false
}

/// The image geometry a spec gives a data set that decodes images (`data.size`, `data.channels`).
public struct DataSetOptions: Equatable, Sendable {
    /// Images are centre-cropped and resized to `imageSize` × `imageSize`.
    public var imageSize: Int
    /// 1 (grey) or 3 (RGB).
    public var channels: Int
    public init(imageSize: Int = 32, channels: Int = 3) { self.imageSize = imageSize; self.channels = channels }
    /// Features per example.
    public var inputDim: Int { imageSize * imageSize * channels }
}

extension DataSetName {
    /// "smiley, fashion-mnist or har": the names, for error messages.
    public static var namesText: String {
        let n = allCases.map(\.rawValue)
        return n.dropLast().joined(separator: ", ") + " or " + n.last!
    }
    /// One line per data set for help texts: "`har:DIR` (also uci-har): …".
    public static var helpText: String {
        allCases.map { d in
            let x = d.descriptor
            return "`\(d.rawValue)` or `\(d.rawValue):\(x.argument)`" + (x.aliases.isEmpty ? "" : " (also \(x.aliases.joined(separator: ", ")))") + ": \(x.summary)"
        }.joined(separator: "; ")
    }
}
