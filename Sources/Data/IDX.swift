// IDX files (the MNIST / Fashion-MNIST container) and the Fashion-MNIST loader.

/// The contents of an IDX file of unsigned bytes: its dimensions and its data.
public struct IDXArray {
    /// Dimension sizes, outermost first (images: [count, rows, cols]; labels: [count]).
    public var dims: [Int]
    /// The values, row-major.
    public var values: [UInt8]
}

/// Reads an IDX file of unsigned bytes (type code 0x08), gzipped or plain.
///
/// The header is two zero bytes, the type code, the number of dimensions, then one big-endian
/// 32-bit size per dimension. When `expectedDims` is given the file's dimension count must equal it
/// (3 for images, 1 for labels).
///
/// - Throws: `DataError` naming the file and byte offset for a wrong magic number, unsupported
///   type, truncated header or data, or trailing bytes (offsets are into the decompressed data).
public func readIDX(path: String, expectedDims: Int? = nil) throws -> IDXArray {
    let bytes = try readFileBytes(path)
    return try parseIDX(bytes, file: path, expectedDims: expectedDims)
}

/// Parses IDX bytes already in memory (`file` is used in error messages).
public func parseIDX(_ bytes: [UInt8], file: String, expectedDims: Int? = nil) throws -> IDXArray {
    var r = ByteReader(bytes, file: file)
    let magic = try r.u32BE("IDX magic number")
    let digits = String(magic, radix: 16)
    let hex = "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    guard magic >> 16 == 0 else {
        throw DataError(file: file, offset: 0, "wrong magic number \(hex): not an IDX file (expected 0x00000801 or 0x00000803)")
    }
    let type = (magic >> 8) & 0xFF, nd = Int(magic & 0xFF)
    guard type == 0x08 else {
        throw DataError(file: file, offset: 2, "IDX type code 0x\(String(type, radix: 16)) is not supported (only unsigned bytes, 0x08)")
    }
    if let e = expectedDims, nd != e {
        throw DataError(file: file, offset: 3, "wrong magic number \(hex): \(nd) dimensions where \(e) were expected (\(e == 1 ? "labels: 0x00000801" : "images: 0x0000080\(e)"))")
    }
    guard nd >= 1 else { throw DataError(file: file, offset: 3, "IDX file with 0 dimensions") }
    var dims: [Int] = []
    var total = 1
    for k in 0..<nd {
        let at = r.offset
        let d = Int(try r.u32BE("dimension \(k + 1) of \(nd)"))
        dims.append(d)
        let (t, overflow) = total.multipliedReportingOverflow(by: d)
        guard !overflow, t <= 1 << 40 else { throw DataError(file: file, offset: at, "implausible dimensions \(dims)") }
        total = t
    }
    let dataStart = r.offset
    if r.remaining < total {
        throw DataError(file: file, offset: bytes.count,
                        "data truncated: dimensions \(dims.map(String.init).joined(separator: "×")) need \(total) bytes from offset \(dataStart), file has only \(r.remaining)")
    }
    if r.remaining > total {
        throw DataError(file: file, offset: dataStart + total,
                        "\(r.remaining - total) unexpected bytes after the data (dimensions \(dims.map(String.init).joined(separator: "×")))")
    }
    return IDXArray(dims: dims, values: Array(bytes[dataStart...]))
}

/// Reads an IDX image file and its label file into a `Dataset` with pixels scaled to [0, 1]
/// (value / 255). Labels must all be below `classCount` and there must be one per image.
///
/// - Throws: `DataError` naming the file and offset, including when the label count differs from
///   the image count.
public func readIDXDataset(images: String, labels: String, name: String, classCount: Int = 10,
                           classNames: [String]? = nil) throws -> Dataset {
    let img = try readIDX(path: images, expectedDims: 3)
    let lab = try readIDX(path: labels, expectedDims: 1)
    let n = img.dims[0], h = img.dims[1], w = img.dims[2]
    guard h > 0, w > 0 else {
        throw DataError(file: images, offset: 8, "images of \(h)×\(w) pixels: an image data set needs at least one row and one column")
    }
    guard lab.dims[0] == n else {
        throw DataError(file: labels, offset: 4,
                        "label count \(lab.dims[0]) disagrees with image count \(n) in \(images)")
    }
    var ls = [Int](repeating: 0, count: n)
    for i in 0..<n {
        let l = Int(lab.values[i])
        guard l < classCount else {
            throw DataError(file: labels, offset: 8 + i, "label \(l) of example \(i) is not below the class count \(classCount)")
        }
        ls[i] = l
    }
    let x = img.values.map { Float($0) / 255 }
    return Dataset(name: name, count: n, dim: h * w, x: x, labels: ls, imageShape: (h, w), classNames: classNames)
}

/// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 28×28 grey images of clothing in 10 classes,
/// 60,000 for training and 10,000 for testing.
public enum FashionMNIST {
    /// Where Debian's package `dataset-fashion-mnist` installs the original gzipped IDX files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"

    /// The class names, indexed by label.
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// The image and label file paths of a split in `directory`: `train-images-idx3-ubyte.gz`
    /// and so on, preferring the gzipped name when both exist.
    public static func files(split: DataSplit, directory: String = defaultDirectory) -> (images: String, labels: String) {
        let stem = split == .train ? "train" : "t10k"
        func pick(_ base: String) -> String {
            let gz = "\(directory)/\(base).gz", plain = "\(directory)/\(base)"
            return fileExists(gz) || !fileExists(plain) ? gz : plain
        }
        return (pick("\(stem)-images-idx3-ubyte"), pick("\(stem)-labels-idx1-ubyte"))
    }

    /// Loads a split: pixels scaled to [0, 1], labels 0…9, image shape 28×28, name
    /// "fashion-mnist/train" or "fashion-mnist/test".
    ///
    /// - Parameter directory: the folder with the IDX files; defaults to `defaultDirectory`.
    /// - Throws: `DataError` if the folder is missing (saying to `apt-get install
    ///   dataset-fashion-mnist`), or if a file is missing or malformed.
    public static func load(split: DataSplit, directory: String? = nil) throws -> Dataset {
        let dir = directory ?? defaultDirectory
        guard isDirectory(dir) else {
            let hint = directory == nil || dir == defaultDirectory
                ? "Fashion-MNIST is not installed: run `apt-get install dataset-fashion-mnist` (it installs the IDX files in \(defaultDirectory)), or pass the folder that holds them"
                : "no such folder; it should hold the Fashion-MNIST IDX files (train-images-idx3-ubyte.gz, …). Debian's package `dataset-fashion-mnist` installs them in \(defaultDirectory)"
            throw DataError(file: dir, hint)
        }
        let f = files(split: split, directory: dir)
        for p in [f.images, f.labels] where !fileExists(p) {
            throw DataError(file: p, "missing Fashion-MNIST file (reinstall with `apt-get install --reinstall dataset-fashion-mnist`, or check the folder)")
        }
        return try readIDXDataset(images: f.images, labels: f.labels, name: "fashion-mnist/\(split.rawValue)",
                                  classCount: 10, classNames: classNames)
    }
}
