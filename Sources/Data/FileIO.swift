import CZlib
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The most bytes `readFileBytes` returns (after decompression): 4 GiB, far above every data set
/// the project reads (Smiley at 60,000 images is 63 MB), so a gzip bomb or a mistaken path ends in
/// an error rather than in exhausted memory.
public enum ReadLimit {
    nonisolated(unsafe) public static var maxBytes = 1 << 32
}

/// Reads a whole file into memory. Gzip-compressed files are decompressed transparently (zlib's
/// `gzread` passes plain files through unchanged), so `foo.gz` and `foo` read the same way.
///
/// - Throws: `DataError` if the file cannot be opened, is not a regular file (a FIFO would block
///   forever, /dev/zero never ends), decompresses to more than `limit` bytes, or if a gzip stream
///   is corrupt or ends early (the offset given is into the decompressed data, where reading stopped).
public func readFileBytes(_ path: String, limit: Int = ReadLimit.maxBytes) throws -> [UInt8] {
    var st = stat()
    guard stat(path, &st) == 0 else {
        throw DataError(file: path, "cannot open: \(String(cString: strerror(errno)))")
    }
    switch st.st_mode & S_IFMT {
    case S_IFREG: break
    case S_IFDIR: throw DataError(file: path, "is a directory, not a file")
    case S_IFIFO: throw DataError(file: path, "is a FIFO (named pipe), not a regular file: reading it could block forever")
    case S_IFCHR, S_IFBLK: throw DataError(file: path, "is a device, not a regular file")
    case S_IFSOCK: throw DataError(file: path, "is a socket, not a regular file")
    default: throw DataError(file: path, "is not a regular file")
    }
    guard let gz = gzopen(path, "rb") else {
        throw DataError(file: path, "cannot open: \(String(cString: strerror(errno)))")
    }
    defer { gzclose(gz) }
    gzbuffer(gz, 1 << 17)
    var out: [UInt8] = []
    out.reserveCapacity(min(max(Int(st.st_size), 1 << 12), limit))
    let chunk = 1 << 20
    var buffer = [UInt8](repeating: 0, count: chunk)
    while true {
        let n = buffer.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32(chunk)) }
        if n < 0 {
            var code: Int32 = 0
            let msg = gzerror(gz, &code).map { String(cString: $0) } ?? "zlib error \(code)"
            throw DataError(file: path, offset: out.count,
                            "gzip stream is corrupt or truncated (zlib: \(msg))")
        }
        if n == 0 { break }
        if Int(n) > limit - out.count {
            throw DataError(file: path, offset: out.count,
                            "holds more than \(limit) bytes (after decompression; ReadLimit.maxBytes): not a data file this project reads")
        }
        out.append(contentsOf: buffer[0..<Int(n)])
    }
    // gzread returns 0 both at a clean end and at an early end of a compressed stream; ask zlib.
    var code: Int32 = 0
    let msg = gzerror(gz, &code)
    if code != Z_OK, code != Z_STREAM_END {
        throw DataError(file: path, offset: out.count,
                        "gzip stream is corrupt or truncated (zlib: \(msg.map { String(cString: $0) } ?? "error \(code)"))")
    }
    return out
}

/// Writes `bytes` to `path` (creating or replacing it).
/// - Throws: `DataError` naming the file if it cannot be written completely.
public func writeFileBytes(_ path: String, _ bytes: [UInt8]) throws {
    guard let f = fopen(path, "wb") else {
        throw DataError(file: path, "cannot create: \(String(cString: strerror(errno)))")
    }
    let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
    let closed = fclose(f)
    if written != bytes.count || closed != 0 {
        throw DataError(file: path, offset: written, "write failed: \(String(cString: strerror(errno)))")
    }
}

/// Whether `path` names an existing directory.
public func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

/// Whether `path` names an existing file (or directory).
public func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

/// Little-endian and big-endian readers over a byte array that throw `DataError` (naming the file
/// and offset) instead of reading past the end.
struct ByteReader {
    let bytes: [UInt8]
    let file: String
    var offset = 0

    init(_ bytes: [UInt8], file: String) { self.bytes = bytes; self.file = file }

    var remaining: Int { bytes.count - offset }

    func need(_ n: Int, _ what: String) throws {
        if n < 0 || n > bytes.count - offset {
            throw DataError(file: file, offset: offset,
                            "file truncated: expected \(n) bytes of \(what), only \(bytes.count - offset) left (file has \(bytes.count) bytes)")
        }
    }

    mutating func u32BE(_ what: String) throws -> UInt32 {
        try need(4, what)
        var v: UInt32 = 0
        for k in 0..<4 { v = v << 8 | UInt32(bytes[offset + k]) }
        offset += 4
        return v
    }

    mutating func u32LE(_ what: String) throws -> UInt32 { try littleEndian(what) }
    mutating func u64LE(_ what: String) throws -> UInt64 { try littleEndian(what) }

    /// A little-endian unsigned integer of T's width.
    mutating func littleEndian<T: FixedWidthInteger & UnsignedInteger>(_ what: String) throws -> T {
        let n = T.bitWidth / 8
        try need(n, what)
        var v: T = 0
        for k in (0..<n).reversed() { v = v << 8 | T(bytes[offset + k]) }
        offset += n
        return v
    }

    mutating func take(_ n: Int, _ what: String) throws -> ArraySlice<UInt8> {
        try need(n, what)
        defer { offset += n }
        return bytes[offset..<offset + n]
    }
}

/// Little-endian appenders used by the data set file writer.
extension Array where Element == UInt8 {
    mutating func appendLE(_ v: UInt32) { for k in 0..<4 { append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) } }
    mutating func appendLE(_ v: UInt64) { for k in 0..<8 { append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) } }
}

/// Writes `bytes` gzip-compressed to `path` (zlib's `gzwrite`).
/// - Throws: `DataError` naming the file if it cannot be written.
public func writeGzipFile(_ path: String, _ bytes: [UInt8], level: Int = 6) throws {
    guard let gz = gzopen(path, "wb\(max(0, min(9, level)))") else {
        throw DataError(file: path, "cannot create: \(String(cString: strerror(errno)))")
    }
    var written = 0
    while written < bytes.count {
        let n = min(1 << 20, bytes.count - written)
        let w = bytes.withUnsafeBytes { gzwrite(gz, $0.baseAddress! + written, UInt32(n)) }
        if w <= 0 {
            gzclose(gz)
            throw DataError(file: path, offset: written, "gzip write failed")
        }
        written += Int(w)
    }
    if gzclose(gz) != Z_OK { throw DataError(file: path, "gzip write failed on close") }
}
