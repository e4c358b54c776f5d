import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TensorBoard event file (`events.out.tfevents.<time>.<host>.vsc`) that `tensorboard --logdir`
/// reads: scalars by tag and step. Written by hand, no protobuf library: the format is
///   record = uint64 length (LE) · uint32 masked CRC32C(length) · data · uint32 masked CRC32C(data)
/// and each record's data an `Event` protobuf (tensorflow/core/util/event.proto):
///   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
///   Summary { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
/// The first event carries file_version "brain.Event:2". Each record is written with one
/// `write` and the file is not buffered, so TensorBoard sees scalars as training logs them.
public final class EventFileWriter {
    public let path: String
    let fd: Int32

    /// Creates a new event file in `folder` (a resumed run adds a file; TensorBoard merges them).
    public init(folder: String, wallTime: Double = Date().timeIntervalSince1970) throws {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        path = (folder as NSString).appendingPathComponent("events.out.tfevents.\(Int(wallTime)).\(host).vsc")
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TrainError("\(path): cannot open for writing: \(String(cString: strerror(errno)))") }
        var event = Protobuf()
        event.double(1, wallTime)
        event.bytes(3, Array("brain.Event:2".utf8))
        try write(record: event.bytes)
    }
    deinit { close(fd) }

    /// One event at `step` holding a scalar per (tag, value); non-finite values are skipped.
    public func scalars(_ values: [(tag: String, value: Double)], step: Int, wallTime: Double = Date().timeIntervalSince1970) throws {
        var summary = Protobuf()
        for (tag, v) in values where v.isFinite {
            var value = Protobuf()
            value.bytes(1, Array(tag.utf8))
            value.float(2, Float(v))
            summary.bytes(1, value.bytes)
        }
        var event = Protobuf()
        event.double(1, wallTime)
        event.varint(2, UInt64(bitPattern: Int64(step)))
        event.bytes(5, summary.bytes)
        try write(record: event.bytes)
    }

    func write(record data: [UInt8]) throws {
        var out: [UInt8] = []
        let length = withUnsafeBytes(of: UInt64(data.count).littleEndian, Array.init)
        out += length
        out += withUnsafeBytes(of: CRC32C.masked(length).littleEndian, Array.init)
        out += data
        out += withUnsafeBytes(of: CRC32C.masked(data).littleEndian, Array.init)
        var done = 0
        while done < out.count {
            let r = out.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + done, out.count - done) }
            if r < 0 { if errno == EINTR { continue }; throw TrainError("\(path): write failed: \(String(cString: strerror(errno)))") }
            done += r
        }
    }
}

/// The protobuf wire format, the little of it events need: varints, 64- and 32-bit fixed fields
/// and length-delimited bytes, each after its key (field number << 3 | wire type).
struct Protobuf {
    var bytes: [UInt8] = []
    mutating func key(_ field: Int, _ wireType: UInt64) { raw(UInt64(field) << 3 | wireType) }
    mutating func raw(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }
    mutating func varint(_ field: Int, _ v: UInt64) { key(field, 0); raw(v) }
    mutating func double(_ field: Int, _ v: Double) { key(field, 1); bytes += withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) }
    mutating func float(_ field: Int, _ v: Float) { key(field, 5); bytes += withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) }
    mutating func bytes(_ field: Int, _ b: [UInt8]) { key(field, 2); raw(UInt64(b.count)); bytes += b }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), and the "masked" form TFRecord files
/// store: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }
    static func checksum(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data { c = table[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
    static func masked(_ data: [UInt8]) -> UInt32 {
        let c = checksum(data)
        return ((c >> 15) | (c << 17)) &+ 0xA282_EAD8
    }
}
