/// A problem with a data file: it names the file and, where it applies, the byte offset or the
/// line (and column) at which the problem was found.
///
/// The description reads like a compiler diagnostic:
/// `train-images-idx3-ubyte.gz: byte offset 16: data truncated: ...` or
/// `X_train.txt:3:17: non-numeric text "abc"`.
public struct DataError: Error, CustomStringConvertible {
    /// The file concerned (as given by the caller).
    public var file: String
    /// Byte offset into the file (for gzipped files: into the decompressed stream), if known.
    public var offset: Int?
    /// 1-based line number for text files, if known.
    public var line: Int?
    /// 1-based column (byte) within `line`, if known.
    public var column: Int?
    /// What is wrong.
    public var message: String

    /// An error about `file` at an optional byte offset or line/column.
    public init(file: String, offset: Int? = nil, line: Int? = nil, column: Int? = nil, _ message: String) {
        self.file = file
        self.offset = offset
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        if let line {
            if let column { return "\(file):\(line):\(column): \(message)" }
            return "\(file):\(line): \(message)"
        }
        if let offset { return "\(file): byte offset \(offset): \(message)" }
        return "\(file): \(message)"
    }
}
