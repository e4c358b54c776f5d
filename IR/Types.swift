import Foundation
/// Element types. Every graph computes in one floating-point type; comparisons yield 0/1 in it.
public enum DType: String, Hashable, Sendable, CaseIterable {
    case f32, f64

    public var byteSize: Int { self == .f32 ? 4 : 8 }
}

/// The arithmetic of a program's matrix products. Only the matmuls' operands change: every other
/// op, the parameters and the optimiser state stay in the graph's own type whatever this says.
/// The spec key `precision` and the CLI's `--precision` both parse into this type.
public enum MatmulPrecision: String, Hashable, Sendable, CaseIterable {
    /// Float32 operands and products (the default).
    case fp32
    /// Operands rounded to bfloat16 (8 significant bits, round to nearest even) while they are
    /// packed, products summed in Float32 (`vdpbf16ps`): twice the multiply rate of fp32 FMAs;
    /// each operand moves by up to 2⁻⁸ of itself (fp32: 2⁻²⁴), a product by up to 2⁻⁷. Needs the JIT's own
    /// GEMM on a host with AVX512_BF16.
    case bf16
}

/// A static shape: the extent of each axis. `[]` is a scalar.
public typealias Shape = [Int]

extension Array where Element == Int {
    /// Number of elements of a shape.
    public var elementCount: Int { reduce(1, *) }
    /// The number of elements, or nil if an extent is negative or the product overflows `Int`:
    /// what shapes read from input (IR text, specs, files) go through before anything multiplies
    /// them unchecked.
    public var checkedElementCount: Int? {
        var n = 1
        for e in self {
            guard e >= 0 else { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: e)
            if o { return nil }
            n = p
        }
        return n
    }
}

/// The largest tensor a graph may declare, in bytes (default: half the machine's memory). Shapes
/// above it are refused when the node is built, naming the node, instead of failing when the
/// backend allocates.
public enum TensorBudget {
    nonisolated(unsafe) public static var maxBytes: Int = {
        let half = ProcessInfo.processInfo.physicalMemory / 2
        return half > UInt64(Int.max) ? Int.max : Int(half)
    }()
    /// An error text if `shape` of `dtype` is uncountable or over the budget, else nil.
    public static func violation(_ shape: Shape, _ dtype: DType) -> String? {
        guard let n = shape.checkedElementCount else {
            return "shape \(shapeString(shape)) has a negative extent or more elements than an Int can count"
        }
        let (bytes, o) = n.multipliedReportingOverflow(by: dtype.byteSize)
        if o || bytes > maxBytes {
            return "shape \(shapeString(shape)) (\(n) elements) needs \(o ? "more than Int.max" : "\(bytes)") bytes, over the tensor budget of \(maxBytes) bytes (TensorBudget.maxBytes)"
        }
        return nil
    }
}

/// Where a node comes from: the Swift (`#fileID:#line`), YAML or IR-text line that created it,
/// and the named part of the model it belongs to (`scope`, a layer such as "enc.h0"; see
/// `Graph.scoped`). Printed IR names a scoped node after both: `// enc.h0.matmul @ file:line`.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var scope: String?
    public init(file: String, line: Int, scope: String? = nil) { self.file = file; self.line = line; self.scope = scope }
    /// `file:line`, as error messages start.
    public var description: String { "\(file):\(line)" }
    /// The name of a node of op `opName` built here: "enc.h0.matmul", or nil outside a scope.
    public func nodeName(_ opName: String) -> String? { scope.map { $0 + "." + opName } }
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
