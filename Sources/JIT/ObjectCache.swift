// ObjectCache: compiled modules' machine code on disk, so a second process skips LLVM.
//
// Compiling the paper net's whole train step (≈200 kernels and the emitted GEMMs) takes LLVM's O3
// and code generation seconds; the result depends only on the module's text, the requested symbols,
// LLVM's version and the host CPU (name and feature string). An entry is keyed by a 128-bit hash of
// exactly those, and holds the relocatable object file LLVM emitted for the module, which the
// engine hands to ORC's object linking layer instead of the IR.
//
// File format (one file per key, `<key>.o` in the directory):
//   bytes 0..<8    magic "VSCJITO1" (the "1" is the format version: bump it when the layout or
//                  the way objects are produced changes)
//   bytes 8..<16   object length, little-endian UInt64
//   bytes 16..<24  FNV-1a 64 checksum of the object, little-endian
//   bytes 24..<56  the key (32 lowercase hex digits) — a file renamed by hand does not load
//   bytes 56...    the object file
// A file that does not match (truncated, corrupt, wrong key, a different format) is removed and
// the module is compiled again: a bad cache can cost time, never a wrong program or a crash in
// the linker. Writes go to a unique temporary name and are renamed into place, so two processes
// (e.g. MPI ranks) compiling the same module at once both succeed.

import Foundation

/// A directory of compiled objects; see the file header for the key and the format.
public struct JITObjectCache: Sendable {
    public let directory: URL
    /// The most entries kept: storing one more removes the least recently used (by mtime; a hit
    /// touches its file).
    public let maxEntries: Int

    static let magic = Array("VSCJITO1".utf8)
    static let headerSize = 56

    public init(directory: URL, maxEntries: Int = 64) {
        self.directory = directory
        self.maxEntries = maxEntries
    }

    /// The cache the `vsc` command uses: `$VSC_JIT_CACHE` if set (a directory, or `off` / `0` /
    /// empty for none), else `$XDG_CACHE_HOME/vsc/jit`, else `~/.cache/vsc/jit`.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> JITObjectCache? {
        if let v = env["VSC_JIT_CACHE"] {
            if v.isEmpty || v == "off" || v == "0" { return nil }
            return JITObjectCache(directory: URL(fileURLWithPath: v, isDirectory: true))
        }
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0, isDirectory: true) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache", isDirectory: true)
        return JITObjectCache(directory: base.appendingPathComponent("vsc/jit", isDirectory: true))
    }

    /// The key of a module: 32 hex digits over the format, LLVM's version, the host and the text.
    public static func key(moduleIR: String, symbols: [String], host: HostTarget, llvmVersion: String) -> String {
        var parts = [String(decoding: magic, as: UTF8.self), llvmVersion, host.triple, host.cpuName, host.features]
        parts += symbols
        parts.append(moduleIR)
        var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x8422_2325_cbf2_9ce4
        for part in parts {
            for byte in part.utf8 { (a, b) = mix(a, b, byte) }
            (a, b) = mix(a, b, 0xff)  // a separator no UTF-8 text contains
        }
        return hex(a) + hex(b)
    }

    /// The object stored under `key`, or nil (absent or invalid — an invalid file is removed).
    func load(key: String) -> [UInt8]? {
        let url = file(key)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        let bytes = [UInt8](data)
        guard bytes.count >= Self.headerSize, Array(bytes[0..<8]) == Self.magic,
              readUInt64(bytes, at: 8) == UInt64(bytes.count - Self.headerSize),
              String(decoding: bytes[24..<56], as: UTF8.self) == key
        else { remove(key: key); return nil }
        let object = Array(bytes[Self.headerSize...])
        guard readUInt64(bytes, at: 16) == Self.checksum(object) else { remove(key: key); return nil }
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: url.path)
        return object
    }

    /// Stores `object` under `key` (atomically), then trims the directory to `maxEntries`.
    /// Failures (read-only home, full disk) are silent: the cache is an optimisation.
    func store(key: String, object: [UInt8]) {
        let fm = FileManager.default
        guard (try? fm.createDirectory(at: directory, withIntermediateDirectories: true)) != nil else { return }
        var bytes = Self.magic
        bytes += le(UInt64(object.count)) + le(Self.checksum(object)) + Array(key.utf8) + object
        let tmp = directory.appendingPathComponent(".\(key).\(ProcessInfo.processInfo.processIdentifier).\(UInt32.random(in: 0...UInt32.max)).tmp")
        guard fm.createFile(atPath: tmp.path, contents: Data(bytes)) else { return }
        if rename(tmp.path, file(key).path) != 0 { try? fm.removeItem(at: tmp); return }
        trim()
    }

    func remove(key: String) { try? FileManager.default.removeItem(at: file(key)) }

    func file(_ key: String) -> URL { directory.appendingPathComponent(key + ".o") }

    private func trim() {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory.path) else { return }
        let entries = names.filter { $0.hasSuffix(".o") }.map { directory.appendingPathComponent($0) }
        guard entries.count > maxEntries else { return }
        let dated = entries.map { url in
            (url, (try? fm.attributesOfItem(atPath: url.path)[.modificationDate] as? Date) ?? .distantPast)
        }.sorted { $0.1 < $1.1 }
        for (url, _) in dated.prefix(entries.count - maxEntries) { try? fm.removeItem(at: url) }
    }

    static func checksum(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return h
    }
}

/// Two 64-bit FNV-1a-style lanes with different primes and seeds: a 128-bit content key.
@inline(__always)
private func mix(_ a: UInt64, _ b: UInt64, _ byte: UInt8) -> (UInt64, UInt64) {
    ((a ^ UInt64(byte)) &* 0x100_0000_01b3, (b ^ UInt64(byte)) &* 0x9E37_79B9_7F4A_7C15 ^ (b >> 29))
}

private func hex(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

private func le(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

private func readUInt64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
    (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
}
