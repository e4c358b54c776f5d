/// Element types. Every graph computes in one floating-point type; comparisons yield 0/1 in it.
public enum DType: String, Hashable, Sendable, CaseIterable {
    case f32, f64

    public var byteSize: Int { self == .f32 ? 4 : 8 }
}

/// A static shape: the extent of each axis. `[]` is a scalar.
public typealias Shape = [Int]

extension Array where Element == Int {
    /// Number of elements of a shape.
    public var elementCount: Int { reduce(1, *) }
}

/// The Swift (or IR text) location that created a node, as `#fileID:#line`.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public init(file: String, line: Int) { self.file = file; self.line = line }
    public var description: String { "\(file):\(line)" }
}

/// Index of a node in its graph. Nodes are appended in topological order, so every input of node
/// `i` has an index below `i`.
public typealias NodeID = Int

/// A build-time error: a shape mismatch, an invalid attribute, a malformed graph. It names the op
/// and the source location that built it.
public struct IRError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var location: SourceLocation?
    public init(_ message: String, at location: SourceLocation? = nil) {
        self.message = message; self.location = location
    }
    public var description: String {
        if let l = location { return "\(l): error: \(message)" }
        return "error: \(message)"
    }
}

func shapeString(_ s: Shape) -> String { "[" + s.map(String.init).joined(separator: ",") + "]" }
