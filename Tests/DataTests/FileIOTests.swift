import Foundation
import Testing
@testable import Data

/// The reader every data file (and checkpoint) goes through refuses what is not a regular file
/// and stops at its size bound, instead of blocking on a FIFO or reading /dev/zero forever.
@Suite struct FileIOTests {
    @Test func refusesAFIFOWithoutBlocking() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        let fifo = dir + "/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        let e = try #require(dataError { try readFileBytes(fifo) })
        #expect(e.file == fifo && e.message.contains("FIFO"), "\(e)")
    }

    @Test func refusesDevicesAndDirectories() throws {
        let e = try #require(dataError { try readFileBytes("/dev/zero") })
        #expect(e.message.contains("device"), "\(e)")
        let dir = makeTempDir(); defer { removeDir(dir) }
        #expect(dataError { try readFileBytes(dir) }?.message.contains("directory") == true)
    }

    @Test func stopsAtTheSizeLimitEvenWhenCompressed() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        let path = dir + "/zeros.gz"
        try writeGzipFile(path, [UInt8](repeating: 0, count: 3 << 20))   // 3 MiB of zeros, a few KiB on disk
        #expect(try readFileBytes(path).count == 3 << 20)
        let e = try #require(dataError { try readFileBytes(path, limit: 1 << 20) })
        #expect(e.message.contains("more than \(1 << 20) bytes"), "\(e)")
    }
}
