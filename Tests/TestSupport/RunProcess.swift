// Helpers shared by test targets (a library, not a test target: test targets cannot import each
// other).

import Foundation

/// Runs `exe` with `args` to completion: its exit status, standard output and standard error (the
/// tests that call Python or Graphviz).
public func runProcess(_ exe: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out; p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
