import Data
import Foundation
import enum IR.MatmulPrecision
import Passes
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

/// Parses a spec (YAML). Its keys, their values and defaults are the key table `SpecKeys.all`
/// (docs/spec-reference.md is generated from it); unknown keys, duplicate keys, wrong types and
/// bad values are `SpecError`s naming the file, the line and the key.
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

    /// The entries of the mapping at `path`, whose allowed keys are the key table's
    /// (`SpecKeys.names(under:)`).
    func fields(_ node: Node, _ path: String) throws -> Fields {
        try fields(node, path, allowed: SpecKeys.names(under: SpecKeys.tablePath(path)))
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

    func read(_ root: Node, defaultName: String) throws -> ModelSpec {
        let f = try fields(root, "")
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
            let d = try fields(dataNode, "data")
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

        let encoderList = try f["encoder"].map { try layers($0, "encoder") }
        let decoderList = try f["decoder"].map { try layers($0, "decoder") }
        if encoderList != nil, let hn = f["hidden"] {
            throw error(f.keyNode("hidden") ?? hn, "hidden", "give either hidden (an MLP) or encoder (a layer list), not both")
        }
        var hidden: [Int] = []
        if encoderList == nil {
            guard let hn = f["hidden"] else {
                throw error(root, "hidden", "missing (a list of hidden layer sizes, or an encoder: layer list)")
            }
            if let seq = hn.sequence {
                for (i, e) in seq.enumerated() { hidden.append(try int(e, "hidden[\(i)]", min: 1)) }
                if hidden.isEmpty { throw error(hn, "hidden", "needs at least one layer") }
            } else if hn.scalar != nil {
                hidden = [try int(hn, "hidden", min: 1)]
            } else { throw error(hn, "hidden", "expected a list of sizes, got \(describe(hn))") }
        }

        guard let ln = f["latent"] else { throw error(root, "latent", "missing (the number of latent dimensions J)") }
        let latent = try int(ln, "latent", min: 1)
        let likelihood = try f["likelihood"].map {
            try choice($0, "likelihood", ModelSpec.Likelihood.self, [.gaussian, .bernoulli])
        } ?? .gaussian
        let spike = try f["spike"].map { try choice($0, "spike", ModelSpec.SpikeHead.self, [.relu, .logsigmoid]) } ?? .relu

        // prior
        var prior = ModelSpec.Prior()
        if let pn = f["prior"] {
            let p = try fields(pn, "prior")
            if let a = p["alpha"] { prior.alpha = try open01(a, "prior.alpha") }
            if let u = p["pseudo_inputs"] { prior.pseudoInputs = try int(u, "prior.pseudo_inputs", min: 1) }
            if let sn = p["selection"] {
                let s = try fields(sn, "prior.selection")
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
            if let k = p["slab"] {
                prior.slab = try choice(k, "prior.slab", ModelSpec.PriorSlab.self, ModelSpec.PriorSlab.allCases)
            }
            if let nu = p["spike_sharpness"] { prior.spikeSharpness = try optional(nu, "prior.spike_sharpness") { try positive($0, $1) } }
        }

        let iterations = try f["iterations"].map { try int($0, "iterations", min: 1) } ?? 10_000

        // schedules
        var sched = ModelSpec.Schedules()
        if kind == .vsc { sched.clipGradNorm = ModelSpec.defaultClipGradNorm }
        if let sn = f["schedules"] {
            let s = try fields(sn, "schedules")
            if let n = s["regulariser_warmup"] { sched.regulariserWarmup = try int(n, "schedules.regulariser_warmup", min: 0) }
            if let n = s["sparsity_warmup"] { sched.sparsityWarmup = try int(n, "schedules.sparsity_warmup", min: 0) }
            if let cn = s["clip_grad_norm"] { sched.clipGradNorm = try optional(cn, "schedules.clip_grad_norm") { try positive($0, $1) } }
            if let w = s["warmup_iterations"] { sched.warmupIterations = try int(w, "schedules.warmup_iterations", min: 0) }
            if let r = s["ramp_iterations"] { sched.rampIterations = try int(r, "schedules.ramp_iterations", min: 0) }
            if let cn = s["c"] { sched.c = try cSchedule(cn) }
            if let lr = s["learning_rate"] { sched.learningRate = try learningRate(lr) }
            if let dn = s["spike_logit_penalty_decay"] {
                let key = "schedules.spike_logit_penalty_decay"
                let d = try fields(dn, key)
                guard let sn = d["start"], let en = d["end"] else { throw error(dn, key, "expected {start: N, end: M}") }
                let (start, end) = (try int(sn, key + ".start", min: 0), try int(en, key + ".end", min: 1))
                guard end > start else { throw error(en, key + ".end", "must be after start (\(start)), got \(end)") }
                guard f["spike_logit_penalty"] != nil else { throw error(dn, key, "decays spike_logit_penalty, which this spec does not set") }
                sched.spikeLogitPenaltyDecay = .init(start: start, end: end)
            }
            if let b = s["fresh_adam_at_drop"] { sched.freshAdamAtDrop = try bool(b, "schedules.fresh_adam_at_drop") }
        }

        let norm = try f["input_normalisation"].map {
            try choice($0, "input_normalisation", ModelSpec.InputNormalisation.self, ModelSpec.InputNormalisation.allCases)
        } ?? .none
        // No bounds by default: a loss on bounded slabs is blind past the bound, and the model
        // moves its means there (README, model notes).
        var slabBounds: ModelSpec.SlabBounds? = nil
        if let bn = f["slab_bounds"] {
            slabBounds = try optional(bn, "slab_bounds") { n, key in
                let b = try fields(n, key)
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
        r.keyLines = keyLines(f)
        r.encoder = encoderList?.layers
        r.decoder = decoderList?.layers
        if let n = f["input_shape"] {
            let key = "input_shape"
            guard let seq = n.sequence, seq.count == 3 else { throw error(n, key, "expected [H, W, C], got \(describe(n))") }
            let shape = try seq.enumerated().map { try layerInt($1, "\(key)[\($0)]", min: 1) }
            guard shape.reduce(1, *) == inputDim else {
                throw error(n, key, "\(shape[0])×\(shape[1])×\(shape[2]) is \(shape.reduce(1, *)) values per example, but input_dim is \(inputDim)")
            }
            r.inputShape = shape
        }
        try checkLayers(r, encoder: encoderList, decoder: decoderList, root: root, fields: f)
        r.activation = try f["activation"].map { try choice($0, "activation", Activation.self, [.relu, .tanh]) } ?? .relu
        r.optimizer = try f["optimizer"].map { try optimizer($0) } ?? .adam()
        r.spikeBias = try f["spike_bias"].map { try double($0, "spike_bias") }
        r.spikeLogitPenalty = try f["spike_logit_penalty"].map { try positive($0, "spike_logit_penalty") }
        r.precision = try f["precision"].map { try choice($0, "precision", MatmulPrecision.self, MatmulPrecision.allCases) } ?? .fp32
        return r
    }

    /// A layer's size (or an image extent): an integer ≥ `lo` and at most 2²⁰, so no product of
    /// three of them overflows.
    func layerInt(_ n: Node, _ key: String, min lo: Int) throws -> Int {
        let v = try int(n, key, min: lo)
        guard v <= 1 << 20 else { throw error(n, key, "must be at most \(1 << 20), got \(v)") }
        return v
    }

    /// A layer list (`encoder`, `decoder`): the layers, and each entry's fields (to locate errors).
    struct LayerList { var layers: [LayerSpec]; var entries: [Fields]; var node: Node }

    /// `[{conv: 32, kernel: 4, stride: 2, padding: 1}, {flatten: true}, {dense: 256}, …]`.
    func layers(_ n: Node, _ key: String) throws -> LayerList {
        let kinds = ["conv", "conv_transpose", "dense", "flatten", "reshape"]
        guard let seq = n.sequence, !seq.isEmpty else {
            throw error(n, key, "expected a list of layers ({conv: 32, kernel: 4, stride: 2, padding: 1}, {flatten: true}, {dense: 256}, …), got \(describe(n))")
        }
        var list = LayerList(layers: [], entries: [], node: n)
        for (i, e) in seq.enumerated() {
            let k = "\(key)[\(i)]"
            let f = try fields(e, k)
            let given = kinds.filter { f[$0] != nil }
            guard given.count == 1 else {
                throw error(e, k, given.isEmpty ? "a layer needs one of \(kinds.joined(separator: ", "))"
                                                 : "one kind per layer, got \(given.joined(separator: " and "))")
            }
            let kind = given[0], value = f[kind]!
            let convKeys = ["kernel", "stride", "padding", "output_padding"]
            if kind != "conv" && kind != "conv_transpose", let extra = convKeys.first(where: { f[$0] != nil }) {
                throw error(f.keyNode(extra), "\(k).\(extra)", "only for conv and conv_transpose layers")
            }
            if kind == "conv", f["output_padding"] != nil {
                throw error(f.keyNode("output_padding"), "\(k).output_padding", "only for conv_transpose layers")
            }
            let layer: LayerSpec
            switch kind {
            case "dense": layer = .dense(try layerInt(value, "\(k).dense", min: 1))
            case "flatten":
                guard try bool(value, "\(k).flatten") else { throw error(value, "\(k).flatten", "must be true (leave the layer out instead)") }
                layer = .flatten
            case "reshape":
                guard let s = value.sequence, s.count == 3 else { throw error(value, "\(k).reshape", "expected [H, W, C], got \(describe(value))") }
                layer = .reshape(try s.enumerated().map { try layerInt($1, "\(k).reshape[\($0)]", min: 1) })
            default:
                guard let kn = f["kernel"] else { throw error(e, "\(k).kernel", "missing (a \(kind) layer needs its kernel size)") }
                let c = ConvLayerSpec(filters: try layerInt(value, "\(k).\(kind)", min: 1), kernel: try layerInt(kn, "\(k).kernel", min: 1),
                                      stride: try f["stride"].map { try layerInt($0, "\(k).stride", min: 1) } ?? 1,
                                      padding: try f["padding"].map { try layerInt($0, "\(k).padding", min: 0) } ?? 0,
                                      outputPadding: try f["output_padding"].map { try layerInt($0, "\(k).output_padding", min: 0) } ?? 0)
                layer = kind == "conv" ? .conv(c) : .convTranspose(c)
            }
            list.layers.append(layer)
            list.entries.append(f)
        }
        return list
    }

    /// Checks that the layer lists fit: the encoder its input, the decoder the latent code, and
    /// that the decoder gives back the data. An error names the layer's entry and key, at its line.
    func checkLayers(_ spec: ModelSpec, encoder: LayerList?, decoder: LayerList?, root: Node, fields f: Fields) throws {
        func located(_ list: LayerList?, _ name: String, _ e: LayerShapeError) -> SpecError {
            let entry = list.flatMap { e.index < $0.entries.count ? $0.entries[e.index] : nil }
            return error(entry?.keyNode(e.key) ?? entry?.node ?? list?.node, "\(name)[\(e.index)].\(e.key)", e.message)
        }
        if let encoder {
            if case .conv = encoder.layers[0], spec.inputShape == nil, spec.defaultInputShape == nil {
                throw error(encoder.entries[0].node, "encoder[0]", "a convolution needs the data as images: give input_shape [H, W, C] (input_dim \(spec.inputDim) is not a square)")
            }
            do { _ = try layerShapes(encoder.layers, input: spec.encoderInput) } catch let e as LayerShapeError { throw located(encoder, "encoder", e) }
            if decoder == nil && !encoder.layers[0].isParameterised {
                throw error(encoder.entries[0].node, "encoder[0]", "the mirrored decoder's heads are the inverse of the first layer: start with conv or dense (or give a decoder)")
            }
        }
        let layers = spec.decoderLayers
        guard let last = layers.last else { return }
        let shapes: [[Int]]
        do { shapes = try layerShapes(layers, input: [spec.latent]) } catch let e as LayerShapeError {
            if decoder != nil { throw located(decoder, "decoder", e) }
            throw error(f.keyNode("encoder"), "encoder", "its mirrored decoder does not fit: \(e)")
        }
        let out = shapes.last!
        let fits: Bool
        switch last {
        case .dense, .conv, .convTranspose: fits = out.reduce(1, *) == spec.inputDim && (out.count == 1 || spec.encoderInput.count != 3 || out == spec.encoderInput)
        case .flatten, .reshape: fits = false
        }
        if !fits {
            let what = last.isParameterised ? "gives \(describeShape(out)) (\(out.reduce(1, *)) values)" : "is a \(last.key), but the last layer is the likelihood's heads (dense, conv or conv_transpose)"
            let want = spec.encoderInput.count == 3 ? describeShape(spec.encoderInput) : "\(spec.inputDim) values"
            let message = "the last layer \(what); the data is \(want)"
            if let decoder { throw error(decoder.entries[layers.count - 1].node, "decoder[\(layers.count - 1)]", message) }
            throw error(f.keyNode("encoder"), "encoder", "its mirrored decoder's " + message)
        }
    }

    /// The line of every key (and of each `hidden` entry) of the document `f`, by key path.
    func keyLines(_ f: Fields) -> ModelSpec.KeyLines {
        var lines: [String: Int] = [:]
        func walk(_ f: Fields) {
            for (k, e) in f.entries {
                let full = f.full(k)
                if let l = e.key.mark?.line { lines[full] = l }
                if let seq = e.value.sequence {
                    for (i, x) in seq.enumerated() { if let l = x.mark?.line { lines["\(full)[\(i)]"] = l } }
                } else if e.value.mapping != nil, let sub = try? fields(e.value, full, allowed: e.value.mapping!.keys.compactMap { $0.scalar?.string }) {
                    walk(sub)
                }
            }
        }
        walk(f)
        return ModelSpec.KeyLines(file: file, lines: lines)
    }

    /// `optimizer: adam | sgd` or `{kind: adam, beta1: 0.9, beta2: 0.999, epsilon: 1.0e-8}`.
    func optimizer(_ n: Node) throws -> Optimizer {
        let key = "optimizer"
        let kindNode: Node?, f: Fields?
        if n.scalar != nil { kindNode = n; f = nil } else { let m = try fields(n, key); kindNode = m["kind"]; f = m }
        let kind = try kindNode.map { try string($0, key + (f == nil ? "" : ".kind")) } ?? "adam"
        func decay(_ k: String, _ d: Double) throws -> Double {
            guard let v = f?[k] else { return d }
            let x = try double(v, key + "." + k)
            guard x >= 0 && x < 1 else { throw error(v, key + "." + k, "must be in [0, 1), got \(x)") }
            return x
        }
        switch kind {
        case "adam":
            return .adam(beta1: try decay("beta1", 0.9), beta2: try decay("beta2", 0.999),
                         epsilon: try f?["epsilon"].map { try positive($0, key + ".epsilon") } ?? 1e-8)
        case "sgd":
            for k in ["beta1", "beta2", "epsilon"] where f?[k] != nil {
                throw error(f?.keyNode(k), key + "." + k, "only for optimizer kind adam")
            }
            return .sgd
        default:
            throw error(kindNode, key + (f == nil ? "" : ".kind"), "expected one of adam, sgd, got \"\(kind)\"")
        }
    }

    func cSchedule(_ n: Node) throws -> ModelSpec.CSchedule {
        let key = "schedules.c"
        if n.scalar != nil { return .fixed(try positive(n, key)) }
        let c = try fields(n, key)
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
            let p = try fields(e, k)
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
