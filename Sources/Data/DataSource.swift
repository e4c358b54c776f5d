// Resolving the data names used in model specs and on the command line.

/// Turns a data name into a `Dataset`:
///
/// | name                         | data                                                        |
/// |------------------------------|-------------------------------------------------------------|
/// | `fashion-mnist`              | Fashion-MNIST from `FashionMNIST.defaultDirectory`          |
/// | `fashion-mnist:DIR`          | Fashion-MNIST IDX files in DIR                              |
/// | `har:DIR` or `uci-har:DIR`   | UCI HAR in DIR, standardised with training statistics       |
/// | `smiley`                     | Smiley generated on the fly: 60,000 train (seed 1) / 20,000 test (seed 2), as in the paper |
/// | `smiley:N`                   | the same with N examples                                    |
/// | `images:DIR`                 | PNG/JPEG files in DIR, centre-cropped to 32×32 RGB (`ImageFolder`) |
/// | a data set file              | a file written by `vsc data smiley` (`DatasetFile`); split ignored |
/// | a directory                  | Fashion-MNIST if it holds `train-images-idx3-ubyte[.gz]`, UCI HAR if it holds `X_train.txt` (or `train/X_train.txt`) |
public enum DataSource {
    /// Loads `name` (see the table above) for `split`.
    /// - Throws: `DataError` for unknown names, missing files and malformed data.
    public static func load(_ name: String, split: DataSplit = .train) throws -> Dataset {
        let (kind, arg) = splitName(name)
        if let d = DataSetName(named: kind) { return try d.descriptor.load(split, arg, DataSetOptions()) }
        if isDirectory(name) {
            let f = FashionMNIST.files(split: .train, directory: name)
            if fileExists(f.images) { return try FashionMNIST.load(split: split, directory: name) }
            if fileExists(UCIHAR.files(split: .train, directory: name).x) { return try UCIHAR.load(split: split, directory: name) }
            throw DataError(file: name, "folder holds neither Fashion-MNIST IDX files nor UCI HAR text files")
        }
        if fileExists(name) { return try DatasetFile.read(name) }
        throw DataError(file: name, "no such file, and not a known data name (\(DataSetName.allCases.map { "\($0.rawValue), \($0.rawValue):\($0.descriptor.argument)" }.joined(separator: ", ")))")
    }

    /// Splits `kind:argument` (a bare path such as `./x:y` or `/a:b` is not split).
    static func splitName(_ name: String) -> (String, String?) {
        guard let colon = name.firstIndex(of: ":"), !name.hasPrefix("/"), !name.hasPrefix(".") else {
            return (name.lowercased(), nil)
        }
        return (name[..<colon].lowercased(), String(name[name.index(after: colon)...]))
    }
}
