#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import IR

/// Algebraic simplification and constant folding, to a fixed point.
///
/// The identities are a table of rewrite rules (`Simplify.rules`), each a `Pattern` over the IR and a
/// replacement built from what the pattern bound (tinygrad's `PatternMatcher` style). A sweep
/// rebuilds the graph in order; every node is first constant-folded if all its operands are
/// constants (splat ⊕ splat → splat of any size; dense results up to `Simplify.maxFoldElements`
/// elements), then rewritten by the first matching rule, repeatedly, until no rule applies. Sweeps
/// repeat until the printed graph stops changing. Dead nodes are dropped at the end (parameters and
/// inputs are kept, as in `DCE`).
///
/// Caveats (deliberate; fine for the models we compile, where values are finite):
/// - `x*0 → 0` and `x-x → 0` are wrong for x = ±Inf or NaN (they give NaN), and `x*0` may be -0.
/// - `x+0 → x` turns `-0 + 0 = +0` into `-0`.
/// - `log(exp x) → x` is *more* accurate than the original, which overflows for x > 88 (f32).
/// - `exp(log x) → x` is NOT a rule: it is wrong for x < 0 (NaN) — domains differ.
/// - Folding computes in Double and rounds the result to Float for f32 graphs, so a folded
///   transcendental may differ from the interpreter's Float result by one ulp.
public enum Simplify {
    /// The largest dense constant constant folding creates.
    public static let maxFoldElements = 4096

    public static func run(_ g: Graph) throws -> Graph { try run(g, rules: rules) }

    public static func run(_ g: Graph, rules: [RewriteRule], maxSweeps: Int = 16) throws -> Graph {
        var cur = g
        var text = IRPrinter.print(g, locations: false)
        for _ in 0..<maxSweeps {
            let next = try sweep(cur, rules: rules)
            let t = IRPrinter.print(next, locations: false)
            if t == text { return next }
            cur = next; text = t
        }
        return cur
    }

    /// One bottom-up rewrite of the whole graph.
    static func sweep(_ g: Graph, rules: [RewriteRule]) throws -> Graph {
        var rb = GraphRebuilder(g)
        for i in g.nodes.indices {
            var cur = try rb.copy(i)
            var steps = 0
            rewriting: while steps < 64 {
                steps += 1
                if let f = try fold(cur, in: rb.new) { if f != cur { cur = f; continue rewriting } }
                for r in rules {
                    if let m = r.pattern.match(cur, in: rb.new), let out = try r.rewrite(m) {
                        let a = rb.new[cur], b = rb.new[out]
                        if a.shape != b.shape || a.dtype != b.dtype {
                            throw PassError(pass: "simplify", "rule '\(r.name)' changed the type of %\(cur) from \(IRPrinter.type(a.dtype, a.shape)) to \(IRPrinter.type(b.dtype, b.shape))")
                        }
                        if out != cur { cur = out; continue rewriting }
                    }
                }
                break
            }
            rb.map[i] = cur
        }
        rb.finishOutputs()
        return try compact(rb.new, keep: rb.new.live())
    }

    // MARK: The rule table

    /// Algebraic identities, tried in order (first match wins). `x`, `y` bind any node; `.c(v)`
    /// matches a splat constant of value v (any shape); `.splat("c")` binds any splat constant.
    public static let rules: [RewriteRule] = [BinaryOp.add, .mul, .max, .min].map { b in
        // Canonical order (as CSE's): a constant operand of a commutative op goes right, so the
        // `x ⊕ c` rows below see it.
        RewriteRule("c \(b.rawValue) x → x \(b.rawValue) c", .b(b, .splat("c"), .x)) { m in
            if case .constant = m.graph[m["x"]].op { return nil }
            return try m.add(.binary(b), [m["x"], m["c"]])
        }
    } + [
        // Additive identities.
        RewriteRule("x+0 → x", .b(.add, .x, .c(0))) { $0["x"] },
        RewriteRule("0+x → x", .b(.add, .c(0), .x)) { $0["x"] },
        RewriteRule("x-0 → x", .b(.sub, .x, .c(0))) { $0["x"] },
        RewriteRule("0-x → neg x", .b(.sub, .c(0), .x)) { try $0.add(.unary(.neg), [$0["x"]]) },
        RewriteRule("x-x → 0", .b(.sub, .x, .x)) { try $0.splat(0) },
        RewriteRule("x+neg y → x-y", .b(.add, .x, .u(.neg, .y))) { try $0.add(.binary(.sub), [$0["x"], $0["y"]]) },
        RewriteRule("neg x+y → y-x", .b(.add, .u(.neg, .x), .y)) { try $0.add(.binary(.sub), [$0["y"], $0["x"]]) },
        RewriteRule("x-neg y → x+y", .b(.sub, .x, .u(.neg, .y))) { try $0.add(.binary(.add), [$0["x"], $0["y"]]) },
        // Multiplicative identities.
        RewriteRule("x*1 → x", .b(.mul, .x, .c(1))) { $0["x"] },
        RewriteRule("1*x → x", .b(.mul, .c(1), .x)) { $0["x"] },
        RewriteRule("x*0 → 0", .b(.mul, .x, .c(0))) { try $0.splat(0) },
        RewriteRule("0*x → 0", .b(.mul, .c(0), .x)) { try $0.splat(0) },
        RewriteRule("x*-1 → neg x", .b(.mul, .x, .c(-1))) { try $0.add(.unary(.neg), [$0["x"]]) },
        RewriteRule("-1*x → neg x", .b(.mul, .c(-1), .x)) { try $0.add(.unary(.neg), [$0["x"]]) },
        RewriteRule("neg x*neg y → x*y", .b(.mul, .u(.neg, .x), .u(.neg, .y))) { try $0.add(.binary(.mul), [$0["x"], $0["y"]]) },
        RewriteRule("(x*c1)*c2 → x*(c1·c2) if exact", .b(.mul, .b(.mul, .x, .splat("c1")), .splat("c2"))) { m in
            // Exact when one factor is a power of two (and nothing overflows or underflows).
            let a = m.value("c1"), b = m.value("c2"), p = a * b
            guard isPowerOfTwo(a) || isPowerOfTwo(b), p.isNormal,
                  m.node.dtype != .f32 || Double(Float(p)) == p && Float(p).isNormal else { return nil }
            return try m.add(.binary(.mul), [m["x"], m.splat(p)])
        },
        RewriteRule("neg x*c → x*(-c)", .b(.mul, .u(.neg, .x), .splat("c"))) { m in
            try m.add(.binary(.mul), [m["x"], m.splat(-m.value("c"))])
        },
        RewriteRule("x/1 → x", .b(.div, .x, .c(1))) { $0["x"] },
        RewriteRule("x/-1 → neg x", .b(.div, .x, .c(-1))) { try $0.add(.unary(.neg), [$0["x"]]) },
        RewriteRule("x/2ᵏ → x*2⁻ᵏ", .b(.div, .x, .splat("c"))) { m in
            let c = m.value("c")
            // Only when the reciprocal is exact: c a (normal) power of two.
            guard isPowerOfTwo(c), (1 / c).isNormal, Swift.abs(c) != 1 else { return nil }
            return try m.add(.binary(.mul), [m["x"], m.splat(1 / c)])
        },
        RewriteRule("pow(x,1) → x", .b(.pow, .x, .c(1))) { $0["x"] },
        RewriteRule("pow(x,2) → square x", .b(.pow, .x, .c(2))) { try $0.add(.unary(.square), [$0["x"]]) },
        RewriteRule("pow(x,0) → 1", .b(.pow, .x, .c(0))) { try $0.splat(1) },
        RewriteRule("max(x,x) → x", .b(.max, .x, .x)) { $0["x"] },
        RewriteRule("min(x,x) → x", .b(.min, .x, .x)) { $0["x"] },
        // Unary identities.
        RewriteRule("neg(neg x) → x", .u(.neg, .u(.neg, .x))) { $0["x"] },
        RewriteRule("neg(x-y) → y-x", .u(.neg, .b(.sub, .x, .y))) { try $0.add(.binary(.sub), [$0["y"], $0["x"]]) },
        RewriteRule("log(exp x) → x", .u(.log, .u(.exp, .x))) { $0["x"] },
        RewriteRule("square(neg x) → square x", .u(.square, .u(.neg, .x))) { try $0.add(.unary(.square), [$0["x"]]) },
        RewriteRule("abs(neg x) → abs x", .u(.abs, .u(.neg, .x))) { try $0.add(.unary(.abs), [$0["x"]]) },
        RewriteRule("abs(abs x) → abs x", .u(.abs, .named("a", .u(.abs, .x)))) { $0["a"] },
        RewriteRule("abs(square x) → square x", .u(.abs, .named("s", .u(.square, .x)))) { $0["s"] },
        RewriteRule("relu(relu x) → relu x", .u(.relu, .named("r", .u(.relu, .x)))) { $0["r"] },
        // Select.
        RewriteRule("select(c,x,x) → x", .op(.select, [.any("c"), .x, .x])) { $0["x"] },
        RewriteRule("select(≠0,x,y) → x", .op(.select, [.splat("c"), .x, .y])) { m in
            m.value("c") != 0 && !m.value("c").isNaN ? m["x"] : nil
        },
        RewriteRule("select(0,x,y) → y", .op(.select, [.c(0), .x, .y])) { $0["y"] },
        // Broadcasts.
        RewriteRule("broadcast x to its own shape → x", .op(.broadcast, [.x])) { m in
            m.graph[m["x"]].shape == m.node.shape ? m["x"] : nil
        },
        RewriteRule("broadcast(broadcast x) → broadcast x", .op(.broadcast, [.op(.broadcast, [.x])])) { m in
            try m.add(.broadcast, [m["x"]], shape: m.node.shape)
        },
        RewriteRule("broadcast(splat c) → splat c", .op(.broadcast, [.splat("c")])) { try $0.splat($0.value("c")) },
        // Reshapes.
        RewriteRule("reshape x to its own shape → x", .op(.reshape, [.x])) { m in
            m.graph[m["x"]].shape == m.node.shape ? m["x"] : nil
        },
        RewriteRule("reshape(reshape x) → reshape x", .op(.reshape, [.op(.reshape, [.x])])) { m in
            try m.add(.reshape, [m["x"]], shape: m.node.shape)
        },
        RewriteRule("reshape(splat c) → splat c", .op(.reshape, [.splat("c")])) { try $0.splat($0.value("c")) },
        // Transposes.
        RewriteRule("transpose by the identity → x", .op(.transpose, [.x])) { m in
            guard case .transpose(let p) = m.node.op, p == Array(p.indices) else { return nil }
            return m["x"]
        },
        RewriteRule("transpose(transpose x) → transpose x (composed)", .op(.transpose, [.named("t", .op(.transpose, [.x]))])) { m in
            guard case .transpose(let outer) = m.node.op, case .transpose(let inner) = m.graph[m["t"]].op else { return nil }
            // out[i] = t[outer[i]] = x[inner[outer[i]]]
            let p = outer.map { inner[$0] }
            if p == Array(p.indices) { return m["x"] }
            return try m.add(.transpose(p), [m["x"]])
        },
        RewriteRule("transpose(splat c) → splat c", .op(.transpose, [.splat("c")])) { try $0.splat($0.value("c")) },
        RewriteRule("transpose moving only unit axes → reshape", .op(.transpose, [.x])) { m in
            guard case .transpose(let p) = m.node.op else { return nil }
            let s = m.graph[m["x"]].shape
            // The order of the non-unit axes is unchanged: the data layout is the same.
            let kept = p.filter { s[$0] != 1 }
            guard kept == kept.sorted() else { return nil }
            return try m.add(.reshape, [m["x"]], shape: m.node.shape)
        },
        // Slices and concats.
        RewriteRule("slice of everything → x", .op(.slice, [.x])) { m in
            m.graph[m["x"]].shape == m.node.shape ? m["x"] : nil
        },
        RewriteRule("slice(splat c) → splat c", .op(.slice, [.splat("c")])) { try $0.splat($0.value("c")) },
        RewriteRule("concat of one operand → x", .op(.concat, [.x])) { $0["x"] },
        // Reductions.
        RewriteRule("reduce over no axes → x", .op(.reduce(nil), [.x])) { m in
            guard case .reduce(_, let axes) = m.node.op, axes.isEmpty else { return nil }
            return m["x"]
        },
        RewriteRule("reduce of splat c → splat", .op(.reduce(nil), [.splat("c")])) { m in
            guard case .reduce(let r, let axes) = m.node.op else { return nil }
            let s = m.graph[m.root].inputs.first.map { m.graph[$0].shape } ?? []
            let n = Double(axes.map { s[$0] }.reduce(1, *))
            return try m.splat(r == .sum ? m.value("c") * n : m.value("c"))
        },
        RewriteRule("reduce over unit axes → reshape", .op(.reduce(nil), [.x])) { m in
            guard case .reduce(_, let axes) = m.node.op else { return nil }
            let s = m.graph[m["x"]].shape
            guard axes.allSatisfy({ s[$0] == 1 }) else { return nil }
            return try m.add(.reshape, [m["x"]], shape: m.node.shape)
        },
        RewriteRule("reduce of broadcast over the broadcast axes → x (·n for sum)", .op(.reduce(nil), [.op(.broadcast, [.x])])) { m in
            guard case .reduce(let r, let axes) = m.node.op else { return nil }
            let x = m.graph[m["x"]].shape, t = m.graph[m.graph[m.root].inputs[0]].shape
            let off = t.count - x.count
            // The expanded axes: the leading new ones and the size-1 axes of x that grew.
            let expanded = (0..<t.count).filter { $0 < off || (x[$0 - off] == 1 && t[$0] != 1) }
            let reducedReal = axes.filter { t[$0] != 1 }
            guard reducedReal == expanded.filter({ t[$0] != 1 }) else { return nil }
            // The result keeps x's non-expanded axes: same data as x (up to unit axes).
            var v = m["x"]
            if x != m.node.shape { v = try m.add(.reshape, [v], shape: m.node.shape) }
            if r == .sum {
                let n = Double(axes.map { t[$0] }.reduce(1, *))
                if n != 1 { v = try m.add(.binary(.mul), [v, m.splat(n)]) }
            }
            return v
        },
    ]

    // MARK: Constant folding

    /// Folds `id` if all its operands are constants; returns the constant (or nil).
    static func fold(_ id: NodeID, in g: Graph) throws -> NodeID? {
        let n = g[id]
        if case .constant(.dense(let xs)) = n.op, case .splat(let v) = canonical(xs) {
            return try g.add(.constant(.splat(v)), shape: n.shape, dtype: n.dtype, location: n.location)
        }
        switch n.op {
        case .parameter, .input, .constant, .arg, .randomUniform, .randomNormal, .matmul, .fused: return nil
        default: break
        }
        var splats: [Double] = []
        var allSplat = true
        for i in n.inputs {
            guard case .constant(let v) = g[i].op else { return nil }
            if case .splat(let x) = v { splats.append(x) } else { allSplat = false }
        }
        let loc = n.location
        func round(_ v: Double) -> Double { n.dtype == .f32 ? Double(Float(v)) : v }
        if allSplat && n.op.isElementwise {
            // One element of the op, by the reference semantics (IR's `Semantics`).
            let one = Node(op: n.op, dtype: n.dtype, shape: [], inputs: n.inputs)
            let v = round(Semantics.evaluate(one, splats.map { [$0] }, shapes: splats.map { _ in [] })![0])
            return try g.add(.constant(.splat(v)), shape: n.shape, dtype: n.dtype, location: loc)
        }
        guard n.elementCount <= maxFoldElements, n.inputs.allSatisfy({ g[$0].elementCount <= 16 * maxFoldElements }) else { return nil }
        let ins: [[Double]] = n.inputs.map { i in
            guard case .constant(let v) = g[i].op else { return [] }
            switch v {
            case .splat(let x): return Array(repeating: x, count: g[i].elementCount)
            case .dense(let xs): return xs
            }
        }
        let shapes = n.inputs.map { g[$0].shape }
        guard let out = Semantics.evaluate(n, ins, shapes: shapes) else { return nil }
        let vals = out.map(round)
        return try g.add(.constant(canonical(vals)), shape: n.shape, dtype: n.dtype, location: loc)
    }

    /// A splat if every value has the same bits, else dense.
    static func canonical(_ vs: [Double]) -> ConstantValue {
        if let f = vs.first, vs.allSatisfy({ $0.bitPattern == f.bitPattern }) { return .splat(f) }
        return .dense(vs)
    }
}

/// ±2ᵏ, a normal number (multiplying by it is exact unless the result overflows or underflows).
func isPowerOfTwo(_ c: Double) -> Bool { c.isNormal && c.significand == 1 }



// MARK: - Patterns

/// The kind of op a pattern matches (attributes such as axes or permutations are not matched;
/// a rule's replacement can inspect them).
public enum OpKind: Hashable, Sendable {
    case unary(UnaryOp), binary(BinaryOp), compare(CompareOp), select
    case broadcast, reshape, transpose, slice, concat
    /// A reduction: of the given kind, or of any kind when nil.
    case reduce(ReduceOp?)

    func matches(_ op: Op) -> Bool {
        switch (self, op) {
        case let (.unary(a), .unary(b)): return a == b
        case let (.binary(a), .binary(b)): return a == b
        case let (.compare(a), .compare(b)): return a == b
        case (.select, .select), (.broadcast, .broadcast), (.reshape, .reshape), (.transpose, .transpose),
             (.slice, .slice), (.concat, .concat): return true
        case let (.reduce(a), .reduce(b, _)): return a == nil || a == b
        default: return false
        }
    }
}

/// A pattern over nodes. The same name bound twice must bind the same node (`x - x`).
public indirect enum Pattern: Sendable {
    /// Any node, bound to the name.
    case any(String)
    /// A splat constant with exactly this value (any shape; `0` matches `-0.0` too).
    case c(Double)
    /// Any splat constant; its value is bound to the name.
    case splat(String)
    /// An op of the given kind whose operands match (same count).
    case op(OpKind, [Pattern])
    /// Binds the node matched by the inner pattern to the name.
    case named(String, Pattern)

    public static var x: Pattern { .any("x") }
    public static var y: Pattern { .any("y") }
    public static func u(_ u: UnaryOp, _ p: Pattern) -> Pattern { .op(.unary(u), [p]) }
    public static func b(_ b: BinaryOp, _ p: Pattern, _ q: Pattern) -> Pattern { .op(.binary(b), [p, q]) }

    /// Matches the pattern against node `id` of `g`.
    public func match(_ id: NodeID, in g: Graph) -> Match? {
        var m = Match(graph: g, root: id)
        return bind(id, &m) ? m : nil
    }

    func bind(_ id: NodeID, _ m: inout Match) -> Bool {
        let n = m.graph[id]
        switch self {
        case .any(let name):
            if let prev = m.nodes[name] { return prev == id }
            m.nodes[name] = id; return true
        case .c(let v):
            if case .constant(.splat(let x)) = n.op { return x == v }
            return false
        case .splat(let name):
            guard case .constant(.splat(let x)) = n.op else { return false }
            if let prev = m.values[name] { return prev.bitPattern == x.bitPattern }
            m.values[name] = x; m.nodes[name] = id; return true
        case .op(let k, let ps):
            guard k.matches(n.op), ps.count == n.inputs.count else { return false }
            for (p, i) in zip(ps, n.inputs) where !p.bind(i, &m) { return false }
            return true
        case .named(let name, let p):
            if let prev = m.nodes[name], prev != id { return false }
            m.nodes[name] = id
            return p.bind(id, &m)
        }
    }
}

/// What a pattern bound, and helpers to build the replacement (with the root's location).
public struct Match {
    public let graph: Graph
    /// The matched node.
    public let root: NodeID
    public var nodes: [String: NodeID] = [:]
    public var values: [String: Double] = [:]

    init(graph: Graph, root: NodeID) { self.graph = graph; self.root = root }

    public var node: Node { graph[root] }
    public subscript(_ name: String) -> NodeID { nodes[name]! }
    public func value(_ name: String) -> Double { values[name]! }

    /// A splat constant of the root's shape and dtype.
    public func splat(_ v: Double) throws -> NodeID {
        try graph.add(.constant(.splat(v)), shape: node.shape, dtype: node.dtype, location: node.location)
    }
    /// Adds a node (shape inferred unless given) at the root's location.
    public func add(_ op: Op, _ inputs: [NodeID], shape: Shape? = nil) throws -> NodeID {
        try graph.add(op, inputs: inputs, shape: shape, dtype: node.dtype, location: node.location)
    }
}

/// One row of the rewrite table: a named pattern and its replacement. The replacement returns the
/// node that replaces the match (an existing node or a new one of the same type), or nil when a
/// side condition fails.
public struct RewriteRule: Sendable {
    public var name: String
    public var pattern: Pattern
    public var rewrite: @Sendable (Match) throws -> NodeID?
    public init(_ name: String, _ pattern: Pattern, _ rewrite: @escaping @Sendable (Match) throws -> NodeID?) {
        self.name = name; self.pattern = pattern; self.rewrite = rewrite
    }
}
