/// A parse (or verification) error in IR text, printed as `FILE:LINE:COL: error: message`.
public struct ParseError: Error, CustomStringConvertible, Sendable {
    public var file: String, line: Int, column: Int, message: String
    public var description: String { "\(file):\(line):\(column): error: \(message)" }
}

/// Parses the textual IR written by `IRPrinter`. Values may have any `%name`; the graph's nodes are
/// hash-consed as they are built, so shape errors are reported at the instruction's line and column.
public struct IRParser {
    enum Tok: Equatable {
        case value(String)      // %name
        case global(String)     // @name
        case ident(String)
        case number(Double, String)
        case string(String)
        case punct(Character)
        case comment(String)
        case newline
        case eof
    }
    struct Token { var tok: Tok; var line: Int; var col: Int }

    let file: String
    var toks: [Token] = []
    var pos = 0

    public static func parse(_ text: String, file: String = "<input>") throws -> Graph {
        var p = IRParser(file: file)
        try p.lex(text)
        return try p.parseGraph()
    }

    init(file: String) { self.file = file }

    // MARK: Lexer

    mutating func lex(_ text: String) throws {
        let chars = Array(text.unicodeScalars)
        var i = 0, line = 1, col = 1
        func err(_ m: String) -> ParseError { ParseError(file: file, line: line, column: col, message: m) }
        func isIdent(_ c: Unicode.Scalar) -> Bool {
            c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_" || c == "."
        }
        while i < chars.count {
            let c = chars[i]
            let start = (line, col)
            func push(_ t: Tok) { toks.append(Token(tok: t, line: start.0, col: start.1)) }
            if c == "\n" { push(.newline); i += 1; line += 1; col = 1; continue }
            if c == " " || c == "\t" || c == "\r" { i += 1; col += 1; continue }
            if c == "/" && i + 1 < chars.count && chars[i + 1] == "/" {
                var j = i + 2
                while j < chars.count && chars[j] != "\n" { j += 1 }
                push(.comment(String(String.UnicodeScalarView(chars[(i + 2)..<j])).trimmingSpaces()))
                col += j - i; i = j; continue
            }
            if c == "%" || c == "@" {
                var j = i + 1
                while j < chars.count && isIdent(chars[j]) { j += 1 }
                if j == i + 1 { throw err("expected a name after '\(c)'") }
                let name = String(String.UnicodeScalarView(chars[(i + 1)..<j]))
                push(c == "%" ? .value(name) : .global(name))
                col += j - i; i = j; continue
            }
            if c == "\"" {
                var j = i + 1, s = ""
                while true {
                    guard j < chars.count, chars[j] != "\n" else { throw err("unterminated string") }
                    if chars[j] == "\"" { break }
                    if chars[j] == "\\" && j + 1 < chars.count {
                        let e = chars[j + 1]
                        s += e == "n" ? "\n" : String(e)
                        j += 2; continue
                    }
                    s.unicodeScalars.append(chars[j]); j += 1
                }
                push(.string(s)); col += j + 1 - i; i = j + 1; continue
            }
            if ("0"..."9").contains(c) || (c == "-" && i + 1 < chars.count && (("0"..."9").contains(chars[i + 1]) || chars[i + 1] == "i")) {
                var j = i + 1
                while j < chars.count && (isIdent(chars[j]) || ((chars[j] == "-" || chars[j] == "+") && (chars[j - 1] == "e" || chars[j - 1] == "E"))) { j += 1 }
                let text = String(String.UnicodeScalarView(chars[i..<j]))
                guard let v = Double(text) else { throw err("malformed number '\(text)'") }
                push(.number(v, text)); col += j - i; i = j; continue
            }
            if isIdent(c) {
                var j = i
                while j < chars.count && isIdent(chars[j]) { j += 1 }
                let text = String(String.UnicodeScalarView(chars[i..<j]))
                if text == "inf" || text == "nan" { push(.number(Double(text)!, text)) } else { push(.ident(text)) }
                col += j - i; i = j; continue
            }
            if "=(){}[],:".unicodeScalars.contains(c) { push(.punct(Character(c))); i += 1; col += 1; continue }
            throw err("unexpected character '\(c)'")
        }
        toks.append(Token(tok: .eof, line: line, col: col))
    }

    // MARK: Grammar helpers

    /// The current token; past the end it stays the final eof token, so no grammar rule can
    /// read beyond the input however it advances.
    var cur: Token { toks[Swift.min(pos, toks.count - 1)] }
    func err(_ m: String, _ t: Token? = nil) -> ParseError {
        let t = t ?? cur
        return ParseError(file: file, line: t.line, column: t.col, message: m)
    }
    func describe(_ t: Tok) -> String {
        switch t {
        case .value(let s): return "'%\(s)'"
        case .global(let s): return "'@\(s)'"
        case .ident(let s): return "'\(s)'"
        case .number(_, let s): return "'\(s)'"
        case .string(let s): return "\"\(s)\""
        case .punct(let c): return "'\(c)'"
        case .comment: return "a comment"
        case .newline: return "end of line"
        case .eof: return "end of file"
        }
    }
    mutating func expect(_ c: Character) throws {
        guard cur.tok == .punct(c) else { throw err("expected '\(c)', found \(describe(cur.tok))") }
        pos += 1
    }
    mutating func accept(_ c: Character) -> Bool {
        if cur.tok == .punct(c) { pos += 1; return true }
        return false
    }
    mutating func skipBlankLines() {
        while true {
            if case .newline = cur.tok { pos += 1; continue }
            if case .comment = cur.tok { pos += 1; continue }
            return
        }
    }
    /// End of an instruction line: an optional `// file:line` or `// NAME @ file:line` location
    /// (NAME is the scope followed by `.` and the op's name: `opName`), then a newline.
    mutating func endOfLine(opName: String? = nil) throws -> SourceLocation? {
        var loc: SourceLocation?
        if case .comment(var text) = cur.tok {
            var scope: String?
            if let at = text.range(of: " @ ") {
                let name = String(text[..<at.lowerBound])
                let suffix = "." + (opName ?? "")
                scope = opName != nil && name.hasSuffix(suffix) && name.count > suffix.count ? String(name.dropLast(suffix.count)) : name
                text = String(text[at.upperBound...])
            }
            if let colon = text.lastIndex(of: ":"), let l = Int(text[text.index(after: colon)...]) {
                loc = SourceLocation(file: String(text[..<colon]), line: l, scope: scope)
            }
            pos += 1
        }
        switch cur.tok {
        case .newline: pos += 1
        case .eof: break
        default: throw err("expected end of line, found \(describe(cur.tok))")
        }
        return loc
    }
    mutating func int() throws -> Int {
        guard case .number(let v, let s) = cur.tok, let i = Int(s) else {
            throw err("expected an integer, found \(describe(cur.tok))")
        }
        _ = v; pos += 1; return i
    }
    mutating func intList() throws -> [Int] {
        try expect("[")
        var xs: [Int] = []
        if accept("]") { return xs }
        repeat { xs.append(try int()) } while accept(",")
        try expect("]")
        return xs
    }
    mutating func type() throws -> (DType, Shape) {
        guard case .ident(let t) = cur.tok, let d = DType(rawValue: t) else {
            throw err("expected a type such as f32[2,3], found \(describe(cur.tok))")
        }
        pos += 1
        let s = try intList()
        if s.contains(where: { $0 < 0 }) { throw err("negative extent in type") }
        return (d, s)
    }

    // MARK: Graph

    mutating func parseGraph() throws -> Graph {
        skipBlankLines()
        guard cur.tok == .ident("graph") else { throw err("expected 'graph', found \(describe(cur.tok))") }
        pos += 1
        guard case .global(let name) = cur.tok else { throw err("expected the graph's name '@name'") }
        pos += 1
        try expect("{")
        _ = try endOfLine()
        let g = Graph(name: name)
        var values: [String: NodeID] = [:]
        var outputNames = Set<String>()
        while true {
            skipBlankLines()
            let t = cur
            switch t.tok {
            case .punct("}"):
                pos += 1
                skipBlankLines()
                guard cur.tok == .eof else { throw err("unexpected \(describe(cur.tok)) after the graph") }
                try g.verify()
                return g
            case .ident("output"):
                pos += 1
                guard case .value(let v) = cur.tok else { throw err("expected a value after 'output'") }
                guard let id = values[v] else { throw err("use of undefined value %\(v)") }
                pos += 1
                guard cur.tok == .ident("as") else { throw err("expected 'as' and the output's name") }
                pos += 1
                guard case .string(let oname) = cur.tok else { throw err("expected the output's name as a string") }
                if !outputNames.insert(oname).inserted { throw err("output \"\(oname)\" defined twice") }
                pos += 1
                _ = try endOfLine()
                g.setOutput(oname, id)
            case .value(let v):
                if values[v] != nil { throw err("value %\(v) defined twice") }
                let inst = try instruction(values: values, inFused: false)
                do {
                    values[v] = try g.add(inst.op, inputs: inst.inputs, shape: inst.shape, dtype: inst.dtype,
                                          location: inst.location)
                } catch let e as IRError {
                    throw err(e.message, t)
                }
            case .eof: throw err("unexpected end of file: missing '}'")
            default: throw err("expected an instruction '%name = …', 'output' or '}', found \(describe(t.tok))")
            }
        }
    }

    struct Instruction { var op: Op; var inputs: [NodeID]; var shape: Shape; var dtype: DType; var location: SourceLocation? }

    /// `%v = opname [positional] [(operands)] [{attrs}] : type [{ region }] [// loc]`
    mutating func instruction(values: [String: NodeID], inFused: Bool) throws -> Instruction {
        let start = cur
        pos += 1 // %v
        try expect("=")
        guard case .ident(let opname) = cur.tok else { throw err("expected an op name, found \(describe(cur.tok))") }
        let opTok = cur
        pos += 1
        // Positional operand of leaves.
        var positional: Tok?
        switch cur.tok {
        case .string, .number: positional = cur.tok; pos += 1
        case .punct("[") where opname == "constant":
            pos += 1
            var vs: [Double] = []
            if !accept("]") {
                repeat {
                    guard case .number(let v, _) = cur.tok else { throw err("expected a number, found \(describe(cur.tok))") }
                    vs.append(v); pos += 1
                } while accept(",")
                try expect("]")
            }
            positional = .ident("dense"); denseValues = vs
        default: break
        }
        var inputs: [NodeID] = []
        if accept("(") {
            if !accept(")") {
                repeat {
                    guard case .value(let v) = cur.tok else { throw err("expected an operand '%name', found \(describe(cur.tok))") }
                    guard let id = values[v] else { throw err("use of undefined value %\(v)") }
                    inputs.append(id); pos += 1
                } while accept(",")
                try expect(")")
            }
        }
        var attrs: [String: (Tok, [Int]?, Token)] = [:]
        if accept("{") {
            repeat {
                let at = cur
                guard case .ident(let k) = cur.tok else { throw err("expected an attribute name, found \(describe(cur.tok))") }
                pos += 1
                if attrs[k] != nil { throw err("attribute '\(k)' given twice", at) }
                if accept("=") {
                    if cur.tok == .punct("[") { attrs[k] = (.ident("list"), try intList(), at) }
                    else {
                        switch cur.tok {
                        case .eof, .newline, .punct: throw err("expected a value for attribute '\(k)', found \(describe(cur.tok))")
                        default: attrs[k] = (cur.tok, nil, at); pos += 1
                        }
                    }
                } else {
                    attrs[k] = (.ident("true"), nil, at)
                }
            } while accept(",")
            try expect("}")
        }
        try expect(":")
        let (dtype, shape) = try type()

        func attrList(_ k: String) throws -> [Int] {
            guard let a = attrs.removeValue(forKey: k) else { throw err("\(opname) needs attribute '\(k)'", opTok) }
            guard let l = a.1 else { throw err("attribute '\(k)' must be a list of integers", a.2) }
            return l
        }
        func attrInt(_ k: String) throws -> Int {
            guard let a = attrs.removeValue(forKey: k) else { throw err("\(opname) needs attribute '\(k)'", opTok) }
            guard case .number(_, let s) = a.0, let i = Int(s) else { throw err("attribute '\(k)' must be an integer", a.2) }
            return i
        }
        /// A seed: an integer in 0…2⁶⁴ − 1 (the printer writes UInt64s).
        func attrSeed() throws -> UInt64 {
            guard let a = attrs.removeValue(forKey: "seed") else { throw err("\(opname) needs attribute 'seed'", opTok) }
            guard case .number(_, let s) = a.0, let u = UInt64(s) else { throw err("attribute 'seed' must be an integer in 0…18446744073709551615", a.2) }
            return u
        }
        func flag(_ k: String) -> Bool { attrs.removeValue(forKey: k) != nil }
        func name() throws -> String {
            guard case .string(let s)? = positional else { throw err("\(opname) needs a name string", opTok) }
            return s
        }

        var op: Op
        var hasRegion = false
        switch opname {
        case "parameter": op = .parameter(try name())
        case "input": op = .input(try name())
        case "arg":
            guard inFused else { throw err("'arg' is only valid inside a fused kernel", opTok) }
            guard case .number(_, let s)? = positional, let k = Int(s) else { throw err("arg needs an index", opTok) }
            op = .arg(k)
        case "constant":
            switch positional {
            case .number(let v, _)?: op = .constant(.splat(v))
            case .ident("dense")?: op = .constant(.dense(denseValues))
            default: throw err("constant needs a value", opTok)
            }
        case "random_uniform": op = .randomUniform(seed: try attrSeed())
        case "random_normal": op = .randomNormal(seed: try attrSeed())
        case "matmul":
            op = .matmul(MatmulAttrs(transA: flag("transpose_a"), transB: flag("transpose_b")))
            hasRegion = cur.tok == .punct("{")
        case "broadcast": op = .broadcast
        case "reshape": op = .reshape
        case "transpose": op = .transpose(try attrList("perm"))
        case "slice": op = .slice(start: try attrList("start"), end: try attrList("end"))
        case "concat": op = .concat(axis: try attrInt("axis"))
        case "select": op = .select
        case "allreduce": op = .allReduce
        case "conv2d", "conv_transpose2d", "conv2d_filter_grad":
            let a = ConvAttrs(stride: try attrList("stride"), padding: try attrList("padding"))
            op = opname == "conv2d" ? .conv2d(a) : opname == "conv_transpose2d" ? .convTranspose2d(a) : .conv2dFilterGrad(a)
        case "fused":
            guard !inFused else { throw err("fused kernels do not nest", opTok) }
            op = .fused(FusedKernel(nodes: [], result: 0)); hasRegion = true
        default:
            if let u = UnaryOp(rawValue: opname) { op = .unary(u) }
            else if let b = BinaryOp(rawValue: opname) { op = .binary(b) }
            else if opname.hasPrefix("cmp_"), let c = CompareOp(rawValue: String(opname.dropFirst(4))) { op = .compare(c) }
            else if opname.hasPrefix("reduce_"), let r = ReduceOp(rawValue: String(opname.dropFirst(7))) {
                op = .reduce(r, axes: try attrList("axes"))
            } else { throw err("unknown op '\(opname)'", opTok) }
        }
        if let (k, a) = attrs.first { throw err("unknown attribute '\(k)' for \(opname)", a.2) }
        if positional != nil, !opname.isLeafName { throw err("unexpected literal after \(opname)", opTok) }
        _ = start
        var location: SourceLocation?
        if hasRegion {
            try expect("{")
            location = try endOfLine(opName: op.name)
            let body = try region()
            switch op {
            case .fused: op = .fused(body)
            case .matmul(var m): m.epilogue = body; op = .matmul(m)
            default: break
            }
            _ = try endOfLine()
        } else {
            location = try endOfLine(opName: op.name)
        }
        return Instruction(op: op, inputs: inputs, shape: shape, dtype: dtype, location: location)
    }
    var denseValues: [Double] = []

    /// The body of a fused kernel or epilogue, up to and including its closing brace.
    mutating func region() throws -> FusedKernel {
        var nodes: [Node] = []
        var index: [Node: NodeID] = [:]
        var values: [String: NodeID] = [:]
        while true {
            skipBlankLines()
            let t = cur
            switch t.tok {
            case .ident("yield"):
                pos += 1
                guard case .value(let v) = cur.tok, let id = values[v] else { throw err("yield needs a defined value") }
                pos += 1
                _ = try endOfLine()
                skipBlankLines()
                try expect("}")
                return FusedKernel(nodes: nodes, result: id)
            case .value(let v):
                if values[v] != nil { throw err("value %\(v) defined twice") }
                let inst = try instruction(values: values, inFused: true)
                do {
                    let (dt, sh) = try ShapeInference.infer(inst.op, inputs: inst.inputs.map { (nodes[$0].dtype, nodes[$0].shape) },
                                                            declared: inst.shape, dtype: inst.dtype)
                    let n = Node(op: inst.op, dtype: dt, shape: sh, inputs: inst.inputs, location: inst.location)
                    if let e = index[n] { values[v] = e } else {
                        nodes.append(n); index[n] = nodes.count - 1; values[v] = nodes.count - 1
                    }
                } catch let e as IRError { throw err(e.message, t) }
            default: throw err("expected an instruction or 'yield' in the kernel body, found \(describe(t.tok))")
            }
        }
    }
}

extension String {
    var isLeafName: Bool { self == "parameter" || self == "input" || self == "arg" || self == "constant" }
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
