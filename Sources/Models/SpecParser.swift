import Data
import Foundation
import Yams

/// A spec file that does not parse or holds a bad value. The description names the file, the
/// line and column, and the key: `vsc.yaml:7:10: error: prior.alpha: must be in (0, 1), got 1.5`.
public struct SpecError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int
    public var column: Int
    /// The dotted key path (`prior.selection.a`, `schedules.learning_rate[1].lr`); "" for the document.
    public var key: String
    public var message: String
    public init(file: String, line: Int, column: Int, key: String, message: String) {
        self.file = file; self.line = line; self.column = column; self.key = key; self.message = message
    }
    public var description: String {
        "\(file):\(line):\(column): error: " + (key.isEmpty ? "" : "\(key): ") + message
    }
}

/// The largest spec file `loadSpec` reads (1 MiB; the paper's specs are under 2 KiB).
public let maxSpecBytes = 1 << 20

/// Reads a spec file. See `parseSpec(yaml:file:)`.
public func loadSpec(path: String) throws -> ModelSpec {
    let text = try readYAMLFile(path: path, what: "spec")
    let base = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    return try parseSpec(yaml: text, file: path, defaultName: base)
}

/// The text of a YAML file (`what`: "spec", "experiment"), refusing what is not a regular file of
/// at most `maxSpecBytes` before reading it: a FIFO would block forever and a device never ends.
public func readYAMLFile(path: String, what: String) throws -> String {
    func refuse(_ m: String) -> SpecError { SpecError(file: path, line: 0, column: 0, key: "", message: m) }
    if let a = try? FileManager.default.attributesOfItem(atPath: path) {
        if let t = a[.type] as? FileAttributeType, t != .typeRegular {
            throw refuse(t == .typeDirectory ? "is a directory, not a \(what) file" : "is not a regular file (\(t.rawValue)): a \(what) must be a YAML file")
        }
        if let n = (a[.size] as? NSNumber)?.intValue, n > maxSpecBytes {
            throw refuse("is \(n) bytes; a \(what) is at most \(maxSpecBytes) bytes of YAML")
        }
    }
    do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
        throw refuse("cannot read the \(what) file (\(error.localizedDescription))")
    }
}

/// The YAML tree of `yaml`; a syntax error or an empty document is a `SpecError` naming `file`,
/// the line and the column.
public func composeYAML(_ yaml: String, file: String, what: String) throws -> Node {
    let root: Node?
    do { root = try Yams.compose(yaml: yaml) } catch let e as YamlError {
        var line = 0, col = 0, problem = "\(e)"
        switch e {
        case .scanner(_, let p, let m, _), .parser(_, let p, let m, _): line = m.line; col = m.column; problem = p
        default: break
        }
        throw SpecError(file: file, line: line, column: col, key: "", message: "not valid YAML: \(problem)")
    }
    guard let root else { throw SpecError(file: file, line: 1, column: 1, key: "", message: "the \(what) is empty") }
    return root
}

/// Parses a spec (YAML). Every key, its type and its default:
///
/// ```yaml
/// name: vsc-smiley            # string; default: the file name without extension
/// kind: vsc                   # vsc | vae | betatcvae                     (default vsc)
/// beta: 1                     # vae: KL weight β > 0; betatcvae: TC weight ≥ 0 (default 1)
/// #  alpha: 1, gamma: 1       # betatcvae only: MI and dimension-wise KL weights ≥ 0 (default 1)
/// data: smiley                # smiley | fashion-mnist | har | images, or a mapping:
/// #  data: {name: smiley, path: DIR, count: 20000, test_count: 2000, p: 0.5}
/// #  path: folder/file of the data set (default: the data module's);
/// #  count, test_count, p: Smiley only (defaults 20000, 2000, 0.5)
/// #  data: {name: images, path: DIR, size: 32, channels: 3}: a folder of PNG/JPEG images, each
/// #  centre-cropped and resized to size × size, grey (1) or RGB (3) (defaults 32, 3)
/// input_dim: 1024             # > 0; default by data set: smiley 1024, fashion-mnist 784, har 561, images size²·channels
/// hidden: [3000]              # list of hidden layer sizes, each > 0, at least one (required)
/// latent: 60                  # J > 0 (required)
/// likelihood: gaussian        # gaussian (mean and log-variance heads) | bernoulli (default gaussian)
/// spike: relu                 # vsc only: relu (log γ = −relu(−v), the paper) | logsigmoid (log γ = −softplus(−v))
/// spike_bias: -3              # vsc only: the spike head's initial bias (default: relu −1, logsigmoid 0)
/// spike_logit_penalty: 0.01   # vsc only: ε·Σ_j v_j² on the spike logits in the loss, > 0 (default: none)
/// prior:                      # vsc only
///   alpha: 0.5                # prior spike probability α ∈ (0, 1)       (default 0.5)
///   pseudo_inputs: 100        # U > 0                                      (default 100)
///   selection: {kind: authors} # authors: sigmoid layer, L2-normalised (the authors' code; default)
///                             # | paper: A.3's ReLU layer, unit sum, u* = sigmoid(a·(u − b)):
///   #  selection: {kind: paper, a: 60, b: 0.5}   # a > 0, b ∈ (0, 1) (defaults 60, 0.5)
///                             # | mixture: no classifier, the mixture prior's bound
///                             #   −log (1/U) Σ_u exp(−KL_u) (responsibilities softmax(−KL_u))
///   spike_sharpness: 10       # ν > 0 of the bounded prior spike sigmoid(ν(γ_u − ½)), or none
///                             # (the raw γ_u, the paper)                   (default 10)
///   pseudo_input_init: uniform # uniform in (0, 1) | training_images: U distinct training
///                             # images drawn with the run's seed         (default uniform)
///   sparsity: selected        # γ̄ of the selected pseudo-input (eq. 4) | every_pseudo_input:
///                             # mean over u of J·KL(γ̄_u ‖ α) (section 3.2) (default selected)
/// slab_bounds: {logvar: 8, mu: 10}  # vsc only: soft bounds L·tanh(·/L) on the slabs inside the
///                             # prior term, or none                         (default {8, 10})
/// schedules:
///   warmup_iterations: 0      # spike pre-training with λ = 0 (Algorithm 1's N_warmup) ≥ 0 (default 0)
///   ramp_iterations: 0        # then λ rises linearly 0 → 1 over this many iterations ≥ 0 (default 0)
///   c: {start: 50, end: 200, iterations: 0}  # linear; iterations 0 = the whole run (default)
///   #  or c: 100 / c: {fixed: 100} (the authors' code)
///   learning_rate: 1.0e-3     # a number, or phases [{until: 60000, lr: 5.0e-4}, {lr: 5.0e-5}]
///                             # (`until` exclusive and increasing; the last phase may omit it)
///   fresh_adam_at_drop: false # reset Adam's moments at each phase change (the authors' code)
///   clip_grad_norm: 100       # global-norm gradient clipping bound > 0, or none
///   regulariser_warmup: 0     # KL annealing: the regulariser weighted min(1, t/N) (default 0: off)
///                             # (default: 100 for vsc, none for vae)
///   sparsity_warmup: 500      # VSC: the sparsity term's own warm-up ≥ 0 (default: regulariser_warmup's)
/// input_normalisation: none   # the encoder's view of x: none | unit_l2 (each input scaled to unit
///                             # L2 norm, authors' code) | signed (2x − 1); the likelihood sees x
/// warmup_form: paper          # paper: slab N(λμ, λσ² + 1 − λ) | authors: N(λμ, (σ²)^λ)
/// batch_size: 100             # > 0 (default 100)
/// iterations: 10000           # > 0 (default 10000)
/// seed: 0                     # ≥ 0 (default 0)
/// checkpoint_every: 1000      # > 0 (default: min(1000, iterations))
/// eval_every: 1000            # > 0 (default: min(1000, iterations))
/// ```
/// Unknown keys, duplicate keys, wrong types and bad values are `SpecError`s naming the file,
/// the line and the key.
public func parseSpec(yaml: String, file: String = "<spec>", defaultName: String? = nil) throws -> ModelSpec {
    let root = try composeYAML(yaml, file: file, what: "spec")
    return try SpecReader(file: file).read(root, defaultName: defaultName ?? "model")
}

/// A YAML node as error messages name it: "\"text\"", "a mapping", "a list".
public func describeYAML(_ n: Node) -> String {
    switch n {
    case .scalar(let s): return "\"\(s.string)\""
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    case .alias: return "an alias"
    }
}

/// Walks the composed YAML tree, checking each key against what it expects.
struct SpecReader {
    let file: String

    func error(_ node: Node?, _ key: String, _ message: String) -> SpecError {
        SpecError(file: file, line: node?.mark?.line ?? 0, column: node?.mark?.column ?? 0, key: key, message: message)
    }

    /// A mapping's entries by key, with unknown and duplicate keys refused.
    struct Fields {
        let reader: SpecReader
        let path: String
        let node: Node
        var entries: [String: (key: Node, value: Node)] = [:]
        func full(_ k: String) -> String { path.isEmpty ? k : path + "." + k }
        subscript(_ k: String) -> Node? { entries[k]?.value }
        func keyNode(_ k: String) -> Node? { entries[k]?.key }
    }

    func fields(_ node: Node, _ path: String, allowed: [String]) throws -> Fields {
        guard let m = node.mapping else {
            throw error(node, path, "expected a mapping of keys (\(allowed.joined(separator: ", "))), got \(describe(node))")
        }
        var f = Fields(reader: self, path: path, node: node)
        for (k, v) in m {
            guard let name = k.scalar?.string else { throw error(k, path, "keys must be plain names") }
            let full = f.full(name)
            guard allowed.contains(name) else {
                throw error(k, full, "unknown key (allowed here: \(allowed.joined(separator: ", ")))")
            }
            if f.entries[name] != nil { throw error(k, full, "duplicate key") }
            f.entries[name] = (k, v)
        }
        return f
    }

    func describe(_ n: Node) -> String { describeYAML(n) }

    func int(_ n: Node, _ key: String, min lo: Int? = nil) throws -> Int {
        guard let s = n.scalar, let v = Int(s.string.replacingOccurrences(of: "_", with: "")) else {
            throw error(n, key, "expected an integer, got \(describe(n))")
        }
        if let lo, v < lo { throw error(n, key, lo == 1 ? "must be positive, got \(v)" : "must be ≥ \(lo), got \(v)") }
        return v
    }
    func double(_ n: Node, _ key: String) throws -> Double {
        guard let s = n.scalar, let v = Double(s.string.replacingOccurrences(of: "_", with: "")), v.isFinite else {
            throw error(n, key, "expected a number, got \(describe(n))")
        }
        return v
    }
    func positive(_ n: Node, _ key: String) throws -> Double {
        let v = try double(n, key)
        guard v > 0 else { throw error(n, key, "must be positive, got \(v)") }
        return v
    }
    func open01(_ n: Node, _ key: String) throws -> Double {
        let v = try double(n, key)
        guard v > 0 && v < 1 else { throw error(n, key, "must be in (0, 1), got \(v)") }
        return v
    }
    /// `none` (nil), or a value read by `read`.
    func optional<T>(_ n: Node, _ key: String, _ read: (Node, String) throws -> T) throws -> T? {
        if n.scalar?.string == "none" { return nil }
        return try read(n, key)
    }
    func string(_ n: Node, _ key: String) throws -> String {
        guard let s = n.scalar else { throw error(n, key, "expected a string, got \(describe(n))") }
        return s.string
    }
    func bool(_ n: Node, _ key: String) throws -> Bool {
        guard let s = n.scalar else { throw error(n, key, "expected true or false, got \(describe(n))") }
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(n, key, "expected true or false, got \(describe(n))")
        }
    }
    func choice<E: RawRepresentable>(_ n: Node, _ key: String, _: E.Type, _ all: [E]) throws -> E where E.RawValue == String {
        let s = try string(n, key)
        guard let v = E(rawValue: s) else {
            throw error(n, key, "expected one of \(all.map(\.rawValue).joined(separator: ", ")), got \"\(s)\"")
        }
        return v
    }

    /// A data-set name (or alias) from the data-set table.
    func dataSet(_ n: Node, _ key: String) throws -> DataSetName {
        let s = try string(n, key)
        guard let d = DataSetName(named: s) else {
            throw error(n, key, "expected one of \(DataSetName.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(s)\"")
        }
        return d
    }

    static let topKeys = ["name", "kind"] + ModelSpec.Kind.ownKeys + ["data", "input_dim", "hidden", "latent", "likelihood", "spike",
                          "spike_bias", "spike_logit_penalty", "prior", "schedules", "input_normalisation", "warmup_form", "slab_bounds", "batch_size", "iterations",
                          "seed", "checkpoint_every", "eval_every"]

    func read(_ root: Node, defaultName: String) throws -> ModelSpec {
        let f = try fields(root, "", allowed: Self.topKeys)
        let name = try f["name"].map { n -> String in
            let v = try string(n, "name")
            // The name becomes a folder (runs/<name>) and file names: one path component only.
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
            guard !v.isEmpty, v.count <= 128, !v.hasPrefix("."), v.allSatisfy({ allowed.contains($0) }) else {
                throw error(n, "name", "must be 1–128 letters, digits, '.', '_' or '-', not starting with '.' (it names the run folder), got \"\(v)\"")
            }
            return v
        } ?? defaultName

        let kind = try readKind(f)

        // data
        guard let dataNode = f["data"] else { throw error(root, "data", "missing (\(DataSetName.namesText))") }
        var data: ModelSpec.DataSpec
        if dataNode.scalar != nil {
            data = .init(dataset: try dataSet(dataNode, "data"))
        } else {
            let d = try fields(dataNode, "data", allowed: ["name", "path", "count", "test_count", "p", "size", "channels"])
            guard let n = d["name"] else { throw error(dataNode, "data.name", "missing (\(DataSetName.namesText))") }
            data = .init(dataset: try dataSet(n, "data.name"))
            data.path = try d["path"].map { try string($0, "data.path") }
            for k in ["count", "test_count", "p"] where d[k] != nil && data.dataset != .smiley {
                throw error(d.keyNode(k), "data." + k, "only for the smiley data set")
            }
            for k in ["size", "channels"] where d[k] != nil && !data.dataset.descriptor.takesImageGeometry {
                throw error(d.keyNode(k), "data." + k, "only for image data sets (\(DataSetName.allCases.filter { $0.descriptor.takesImageGeometry }.map(\.rawValue).joined(separator: ", ")))")
            }
            if let s = d["size"] { data.options.imageSize = try int(s, "data.size", min: 1) }
            if let c = d["channels"] {
                data.options.channels = try int(c, "data.channels", min: 1)
                guard [1, 3].contains(data.options.channels) else { throw error(c, "data.channels", "must be 1 (grey) or 3 (RGB), got \(data.options.channels)") }
            }
            if let c = d["count"] { data.count = try int(c, "data.count", min: 1) }
            if let c = d["test_count"] { data.testCount = try int(c, "data.test_count", min: 1) }
            if let p = d["p"] {
                data.p = try double(p, "data.p")
                guard (0...1).contains(data.p) else { throw error(p, "data.p", "must be in [0, 1], got \(data.p)") }
            }
        }
        let defaultDim = data.dataset.descriptor.takesImageGeometry ? data.options.inputDim : data.dataset.descriptor.inputDim
        let inputDim = try f["input_dim"].map { try int($0, "input_dim", min: 1) } ?? defaultDim

        guard let hn = f["hidden"] else { throw error(root, "hidden", "missing (a list of hidden layer sizes)") }
        var hidden: [Int] = []
        if let seq = hn.sequence {
            for (i, e) in seq.enumerated() { hidden.append(try int(e, "hidden[\(i)]", min: 1)) }
            if hidden.isEmpty { throw error(hn, "hidden", "needs at least one layer") }
        } else if hn.scalar != nil {
            hidden = [try int(hn, "hidden", min: 1)]
        } else { throw error(hn, "hidden", "expected a list of sizes, got \(describe(hn))") }

        guard let ln = f["latent"] else { throw error(root, "latent", "missing (the number of latent dimensions J)") }
        let latent = try int(ln, "latent", min: 1)
        let likelihood = try f["likelihood"].map {
            try choice($0, "likelihood", ModelSpec.Likelihood.self, [.gaussian, .bernoulli])
        } ?? .gaussian
        let spike = try f["spike"].map { try choice($0, "spike", ModelSpec.SpikeHead.self, [.relu, .logsigmoid]) } ?? .relu

        // prior
        var prior = ModelSpec.Prior()
        if let pn = f["prior"] {
            let p = try fields(pn, "prior", allowed: ["alpha", "pseudo_inputs", "selection", "spike_sharpness", "pseudo_input_init", "sparsity"])
            if let a = p["alpha"] { prior.alpha = try open01(a, "prior.alpha") }
            if let u = p["pseudo_inputs"] { prior.pseudoInputs = try int(u, "prior.pseudo_inputs", min: 1) }
            if let sn = p["selection"] {
                let s = try fields(sn, "prior.selection", allowed: ["kind", "a", "b"])
                if let k = s["kind"] {
                    prior.selection.kind = try choice(k, "prior.selection.kind", ModelSpec.SelectionKind.self, ModelSpec.SelectionKind.allCases)
                }
                for k in ["a", "b"] where s[k] != nil && prior.selection.kind != .paper {
                    throw error(s.keyNode(k), "prior.selection." + k, "only for selection kind paper (A.3's sigmoid(a·(u − b)))")
                }
                if let a = s["a"] { prior.selection.a = try positive(a, "prior.selection.a") }
                if let b = s["b"] { prior.selection.b = try open01(b, "prior.selection.b") }
            }
            if let i = p["pseudo_input_init"] {
                prior.pseudoInputInit = try choice(i, "prior.pseudo_input_init", ModelSpec.PseudoInputInit.self, ModelSpec.PseudoInputInit.allCases)
            }
            if let f = p["sparsity"] {
                prior.sparsity = try choice(f, "prior.sparsity", ModelSpec.SparsityForm.self, ModelSpec.SparsityForm.allCases)
            }
            if let nu = p["spike_sharpness"] { prior.spikeSharpness = try optional(nu, "prior.spike_sharpness") { try positive($0, $1) } }
        }

        let iterations = try f["iterations"].map { try int($0, "iterations", min: 1) } ?? 10_000

        // schedules
        var sched = ModelSpec.Schedules()
        if kind == .vsc { sched.clipGradNorm = ModelSpec.defaultClipGradNorm }
        if let sn = f["schedules"] {
            let s = try fields(sn, "schedules", allowed: ["warmup_iterations", "ramp_iterations", "c", "learning_rate", "fresh_adam_at_drop", "clip_grad_norm", "regulariser_warmup", "sparsity_warmup"])
            if let n = s["regulariser_warmup"] { sched.regulariserWarmup = try int(n, "schedules.regulariser_warmup", min: 0) }
            if let n = s["sparsity_warmup"] { sched.sparsityWarmup = try int(n, "schedules.sparsity_warmup", min: 0) }
            if let cn = s["clip_grad_norm"] { sched.clipGradNorm = try optional(cn, "schedules.clip_grad_norm") { try positive($0, $1) } }
            if let w = s["warmup_iterations"] { sched.warmupIterations = try int(w, "schedules.warmup_iterations", min: 0) }
            if let r = s["ramp_iterations"] { sched.rampIterations = try int(r, "schedules.ramp_iterations", min: 0) }
            if let cn = s["c"] { sched.c = try cSchedule(cn) }
            if let lr = s["learning_rate"] { sched.learningRate = try learningRate(lr) }
            if let b = s["fresh_adam_at_drop"] { sched.freshAdamAtDrop = try bool(b, "schedules.fresh_adam_at_drop") }
        }

        let norm = try f["input_normalisation"].map {
            try choice($0, "input_normalisation", ModelSpec.InputNormalisation.self, ModelSpec.InputNormalisation.allCases)
        } ?? .none
        var slabBounds: ModelSpec.SlabBounds? = kind == .vsc ? ModelSpec.SlabBounds() : nil
        if let bn = f["slab_bounds"] {
            slabBounds = try optional(bn, "slab_bounds") { n, key in
                let b = try fields(n, key, allowed: ["logvar", "mu"])
                var v = ModelSpec.SlabBounds()
                if let l = b["logvar"] { v.logvar = try positive(l, key + ".logvar") }
                if let m = b["mu"] { v.mu = try positive(m, key + ".mu") }
                return v
            }
        }
        let warm = try f["warmup_form"].map { try choice($0, "warmup_form", ModelSpec.WarmupForm.self, [.paper, .authors]) } ?? .paper
        let batch = try f["batch_size"].map { try int($0, "batch_size", min: 1) } ?? 100
        let seed = try f["seed"].map { try int($0, "seed", min: 0) } ?? 0
        let ckpt = try f["checkpoint_every"].map { try int($0, "checkpoint_every", min: 1) } ?? min(1000, iterations)
        let evalEvery = try f["eval_every"].map { try int($0, "eval_every", min: 1) } ?? min(1000, iterations)

        var r = ModelSpec(name: name, kind: kind, data: data, inputDim: inputDim, hidden: hidden, latent: latent,
                         likelihood: likelihood, spike: spike, prior: prior, schedules: sched,
                         inputNormalisation: norm, warmupForm: warm, slabBounds: slabBounds, batchSize: batch, iterations: iterations,
                         seed: UInt64(seed), checkpointEvery: ckpt, evalEvery: evalEvery)
        r.spikeBias = try f["spike_bias"].map { try double($0, "spike_bias") }
        r.spikeLogitPenalty = try f["spike_logit_penalty"].map { try positive($0, "spike_logit_penalty") }
        return r
    }

    func cSchedule(_ n: Node) throws -> ModelSpec.CSchedule {
        let key = "schedules.c"
        if n.scalar != nil { return .fixed(try positive(n, key)) }
        let c = try fields(n, key, allowed: ["start", "end", "iterations", "fixed"])
        if let fx = c["fixed"] {
            for k in ["start", "end", "iterations"] where c[k] != nil {
                throw error(c.keyNode(k), key + "." + k, "cannot be combined with schedules.c.fixed")
            }
            return .fixed(try positive(fx, key + ".fixed"))
        }
        let start = try c["start"].map { try positive($0, key + ".start") } ?? 50
        let end = try c["end"].map { try positive($0, key + ".end") } ?? 200
        let its = try c["iterations"].map { try int($0, key + ".iterations", min: 0) } ?? 0
        return .linear(start: start, end: end, iterations: its)
    }

    func learningRate(_ n: Node) throws -> [ModelSpec.LearningRatePhase] {
        let key = "schedules.learning_rate"
        if n.scalar != nil { return [.init(until: nil, lr: try positive(n, key))] }
        guard let seq = n.sequence, !seq.isEmpty else {
            throw error(n, key, "expected a number or a list of phases {until, lr}, got \(describe(n))")
        }
        var phases: [ModelSpec.LearningRatePhase] = []
        for (i, e) in seq.enumerated() {
            let k = "\(key)[\(i)]"
            let p = try fields(e, k, allowed: ["until", "lr"])
            guard let lr = p["lr"] else { throw error(e, k + ".lr", "missing") }
            let until = try p["until"].map { try int($0, k + ".until", min: 1) }
            if until == nil && i != seq.count - 1 {
                throw error(e, k + ".until", "missing (only the last phase may omit it)")
            }
            if let u = until, let prev = phases.last?.until, u <= prev {
                throw error(p["until"], k + ".until", "must be greater than the previous phase's (\(prev)), got \(u)")
            }
            phases.append(.init(until: until, lr: try positive(lr, k + ".lr")))
        }
        return phases
    }
}
