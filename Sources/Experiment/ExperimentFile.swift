// An experiment file: a base spec, spec keys fixed for every cell, a grid over spec keys, an
// iteration budget and the evaluations to run. Each cell is a complete spec (the base with the
// cell's values written into its YAML tree), parsed by the spec parser itself: grid keys are spec
// keys, so the spec parser is the one owner of what a key means and which values it takes.

import Foundation
import Models
import Yams

/// What an experiment runs on each cell after training.
public enum ExperimentEvaluation: String, CaseIterable, Sendable {
    /// `vsc eval`'s report without figures: test ELBO, active dims, the Smiley |corr| metrics.
    case elbo
    /// The same, with the cell's figures (correlation matrices, spike maps, image rows).
    case figures
    /// The linear probe on the codes (labelled data sets): `vsc eval --probe`.
    case probe
}

/// One value of one grid key in a cell: the spec key path and the value as the experiment file
/// wrote it.
public struct GridValue: Equatable, Sendable, Codable {
    public var key: String
    public var value: String
}

/// One cell of an experiment: its folder name, its grid values and its complete spec.
public struct ExperimentCell: Sendable {
    /// The folder name under the experiment's `cells/`: `kind-vsc_latent-18_seed-1`.
    public var id: String
    public var values: [GridValue]
    /// The cell's spec as YAML: what its checkpoint stores and `vsc train --spec` reproduces.
    public var specText: String
    public var spec: ModelSpec
    public func value(_ key: String) -> String? { values.first { $0.key == key }?.value }
}

/// A parsed experiment file (one variant of it).
public struct Experiment: Sendable {
    public var file: String
    public var name: String
    /// The variant chosen (`variants.NAME`), nil: the file's top level.
    public var variant: String?
    /// Grid keys in the order the file names them (over every grid block).
    public var gridKeys: [String]
    public var cells: [ExperimentCell]
    public var evaluations: [ExperimentEvaluation]
    /// The variants the file declares.
    public var variants: [String]
}

/// Reads an experiment file (at most `maxSpecBytes`, as a spec). See `parseExperiment(yaml:file:variant:)`.
public func loadExperiment(path: String, variant: String? = nil) throws -> Experiment {
    try parseExperiment(yaml: try readYAMLFile(path: path, what: "experiment"), file: path, variant: variant)
}

/// Parses an experiment (YAML):
///
/// ```yaml
/// name: fig3-smiley            # default: the file name without extension
/// base: ../vsc-smiley.yaml     # the base spec, relative to this file; or one per kind:
/// #  base: {vsc: a.yaml, vae: b.yaml, betatcvae: c.yaml}  (the cell's `kind` picks it)
/// set: {batch_size: 500}       # spec keys fixed for every cell (dotted paths: prior.alpha)
/// iterations: 20000            # the iteration budget of every cell (the spec key `iterations`)
/// grid:                        # spec key → list of values: the cells are their product
///   kind: [vsc, vae]
///   latent: [18, 60]
///   seed: [1, 2, 3]
/// #  or a list of such mappings: the union of their products (fig. 1: α for VSC, β for the VAE)
/// evaluations: [elbo]          # elbo (report.json) | figures (and the cell's figures) | probe (the linear probe)
/// variants:                    # named overrides of base, set (merged), iterations, grid, evaluations
///   budget: {iterations: 2000, set: {hidden: [500]}}
/// ```
/// Errors are `SpecError`s naming this file, the line and the key; a value the spec parser
/// refuses is reported at the grid or `set` entry that wrote it, with the parser's message.
public func parseExperiment(yaml: String, file: String = "<experiment>", variant: String? = nil) throws -> Experiment {
    let root = try composeYAML(yaml, file: file, what: "experiment file")
    let defaultName = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
    return try ExperimentReader(file: file).read(root, defaultName: defaultName, variant: variant)
}

struct ExperimentReader {
    let file: String
    var folder: String { (file as NSString).deletingLastPathComponent }

    static let topKeys = ["name", "description", "base", "set", "iterations", "grid", "evaluations", "variants"]
    static let variantKeys = ["description", "base", "set", "iterations", "grid", "evaluations"]

    func error(_ node: Node?, _ key: String, _ message: String) -> SpecError {
        SpecError(file: file, line: node?.mark?.line ?? 0, column: node?.mark?.column ?? 0, key: key, message: message)
    }

    /// A mapping's entries in order, unknown and duplicate keys refused.
    func entries(_ node: Node, _ path: String, allowed: [String]?) throws -> [(key: String, keyNode: Node, value: Node)] {
        guard let m = node.mapping else {
            throw error(node, path, "expected a mapping" + (allowed.map { " of keys (\($0.joined(separator: ", ")))" } ?? "") + ", got \(describe(node))")
        }
        var out: [(key: String, keyNode: Node, value: Node)] = []
        for (k, v) in m {
            guard let name = k.scalar?.string else { throw error(k, path, "keys must be plain names") }
            let full = path.isEmpty ? name : path + "." + name
            if let allowed, !allowed.contains(name) { throw error(k, full, "unknown key (allowed here: \(allowed.joined(separator: ", ")))") }
            if out.contains(where: { $0.key == name }) { throw error(k, full, "duplicate key") }
            out.append((name, k, v))
        }
        return out
    }

    func describe(_ n: Node) -> String { describeYAML(n) }

    /// The experiment's settings after applying a variant.
    struct Settings {
        var base: Node?
        var set: [(key: String, keyNode: Node, value: Node)] = []
        var iterations: Node?
        var grid: Node?
        var evaluations: Node?
    }

    func read(_ root: Node, defaultName: String, variant: String?) throws -> Experiment {
        let top = try entries(root, "", allowed: Self.topKeys)
        func get(_ k: String) -> Node? { top.first { $0.key == k }?.value }
        let name = try get("name").map { n -> String in
            guard let s = n.scalar?.string, !s.isEmpty else { throw error(n, "name", "expected a name, got \(describe(n))") }
            return s
        } ?? defaultName
        var s = Settings(base: get("base"), iterations: get("iterations"), grid: get("grid"), evaluations: get("evaluations"))
        if let setNode = get("set") { s.set = try entries(setNode, "set", allowed: nil) }
        let variants = try get("variants").map { try entries($0, "variants", allowed: nil) } ?? []
        if let v = variant {
            guard let vn = variants.first(where: { $0.key == v }) else {
                throw error(get("variants") ?? root, "variants",
                            "no variant \"\(v)\"" + (variants.isEmpty ? " (this file declares none)" : " (declared: \(variants.map(\.key).joined(separator: ", ")))"))
            }
            let over = try entries(vn.value, "variants.\(v)", allowed: Self.variantKeys)
            for (k, _, value) in over {
                switch k {
                case "base": s.base = value
                case "iterations": s.iterations = value
                case "grid": s.grid = value
                case "evaluations": s.evaluations = value
                case "set":
                    for e in try entries(value, "variants.\(v).set", allowed: nil) {
                        if let i = s.set.firstIndex(where: { $0.key == e.key }) { s.set[i] = e } else { s.set.append(e) }
                    }
                default: break
                }
            }
        }
        guard s.base != nil else { throw error(root, "base", "missing (the base spec file, relative to this file, or {kind: file, …})") }
        if let it = s.iterations {
            guard let v = it.scalar.flatMap({ Int($0.string.replacingOccurrences(of: "_", with: "")) }), v > 0 else {
                throw error(it, "iterations", "expected a positive integer (the iteration budget of every cell), got \(describe(it))")
            }
        }
        let evaluations: [ExperimentEvaluation] = try s.evaluations.map { n in
            guard let seq = n.sequence else { throw error(n, "evaluations", "expected a list of \(ExperimentEvaluation.allCases.map(\.rawValue).joined(separator: ", ")), got \(describe(n))") }
            return try seq.map { e in
                guard let v = e.scalar.flatMap({ ExperimentEvaluation(rawValue: $0.string) }) else {
                    throw error(e, "evaluations", "expected one of \(ExperimentEvaluation.allCases.map(\.rawValue).joined(separator: ", ")), got \(describe(e))")
                }
                return v
            }
        } ?? [.elbo]

        // The grid: one product (a mapping) or the union of several (a list of mappings).
        var blocks: [[(key: String, keyNode: Node, values: [Node])]] = []
        if let g = s.grid {
            let maps: [(Node, String)] = g.sequence.map { seq in seq.enumerated().map { ($1, "grid[\($0)]") } } ?? [(g, "grid")]
            for (m, path) in maps {
                var block: [(key: String, keyNode: Node, values: [Node])] = []
                for (k, kn, v) in try entries(m, path, allowed: nil) {
                    guard let seq = v.sequence, !seq.isEmpty else {
                        throw error(v, path + "." + k, "expected a non-empty list of values, got \(describe(v))")
                    }
                    block.append((k, kn, Array(seq)))
                }
                blocks.append(block)
            }
        } else { blocks = [[]] }
        var gridKeys: [String] = []
        for b in blocks { for e in b where !gridKeys.contains(e.key) { gridKeys.append(e.key) } }

        // Cells: the product of each block, in file order, duplicates (same values) once.
        var cells: [ExperimentCell] = []
        for block in blocks {
            var combos: [[(key: String, keyNode: Node, value: Node)]] = [[]]
            for e in block { combos = combos.flatMap { c in e.values.map { c + [(e.key, e.keyNode, $0)] } } }
            for combo in combos {
                let cell = try makeCell(combo, settings: s, experimentName: Self.folderSafe(name))
                if !cells.contains(where: { $0.id == cell.id }) { cells.append(cell) }
            }
        }
        return Experiment(file: file, name: name, variant: variant, gridKeys: gridKeys, cells: cells,
                          evaluations: evaluations, variants: variants.map(\.key))
    }

    /// The value as the cell's folder name and the report show it.
    func valueText(_ n: Node) -> String {
        if let s = n.scalar { return s.string }
        return ((try? Yams.serialize(node: n, mappingStyle: .flow)) ?? describe(n)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func folderSafe(_ s: String) -> String {
        // The characters a spec name allows, so the cell's id can name its run.
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
        return String(s.map { allowed.contains($0) ? $0 : "." })
    }

    func makeCell(_ combo: [(key: String, keyNode: Node, value: Node)], settings s: Settings, experimentName: String) throws -> ExperimentCell {
        // The base: one file, or one per kind (the kind the grid or `set` gives the cell).
        let baseNode = s.base!
        let basePath: String
        let baseKey: String
        if let file = baseNode.scalar?.string {
            basePath = file; baseKey = "base"
        } else {
            let byKind = try entries(baseNode, "base", allowed: nil)
            let kindNode = combo.first { $0.key == "kind" }?.value ?? s.set.first { $0.key == "kind" }?.value
            guard let kind = kindNode?.scalar?.string ?? (byKind.count == 1 ? byKind[0].key : nil) else {
                throw error(baseNode, "base", "one base per kind needs the cell's kind: name `kind` in the grid or in `set`")
            }
            guard let e = byKind.first(where: { $0.key == kind }) else {
                throw error(kindNode ?? baseNode, "kind", "no base spec for kind \"\(kind)\" (base names: \(byKind.map(\.key).joined(separator: ", ")))")
            }
            guard let f = e.value.scalar?.string else { throw error(e.value, "base." + kind, "expected a spec file name, got \(describe(e.value))") }
            basePath = f; baseKey = "base." + kind
        }
        let resolved = basePath.hasPrefix("/") ? basePath : (folder.isEmpty ? basePath : folder + "/" + basePath)
        let keyLine = baseNode.scalar != nil ? baseNode : (try entries(baseNode, "base", allowed: nil).first { "base." + $0.key == baseKey }?.value ?? baseNode)
        let baseText: String
        do { baseText = try String(contentsOfFile: resolved, encoding: .utf8) } catch {
            throw self.error(keyLine, baseKey, "cannot read the base spec \(resolved) (\(error.localizedDescription))")
        }
        var tree = try composeYAML(baseText, file: resolved, what: "base spec")
        // Who wrote each key, for errors: set entries, the budget, then the grid.
        var writers: [(key: String, node: Node, path: String)] = []
        for e in s.set { try assign(&tree, e.key, e.value, at: e.keyNode, path: "set." + e.key); writers.append((e.key, e.value, "set." + e.key)) }
        if let it = s.iterations { try assign(&tree, "iterations", it, at: it, path: "iterations"); writers.append(("iterations", it, "iterations")) }
        for e in combo { try assign(&tree, e.key, e.value, at: e.keyNode, path: "grid." + e.key); writers.append((e.key, e.value, "grid." + e.key)) }

        let values = combo.map { GridValue(key: $0.key, value: valueText($0.value)) }
        let id = values.isEmpty ? "base" : values.map { Self.folderSafe($0.key) + "-" + Self.folderSafe($0.value) }.joined(separator: "_")
        // The run's name (checkpoints, reports): the experiment's and the cell's, whatever the base says.
        if var m = tree.mapping {
            m["name"] = Node(String((experimentName + "." + id).prefix(128)))
            tree = .mapping(m)
        }
        let body: String
        do { body = try Yams.serialize(node: tree, width: 200) } catch {
            throw self.error(keyLine, baseKey, "cannot write the cell's spec (\(error))")
        }
        let text = "# Cell \(id) of the experiment \(file) (base \(resolved)).\n"
            + "# Reproduce: vsc train --spec spec.yaml --out DIR && vsc eval --checkpoint DIR/checkpoint.safetensors\n" + body
        let spec: ModelSpec
        do { spec = try parseSpec(yaml: text, file: resolved, defaultName: ((resolved as NSString).lastPathComponent as NSString).deletingPathExtension) }
        catch let e as SpecError {
            // Blame the entry that wrote the key, in this file; else the base.
            if let w = writers.last(where: { e.key == $0.key || e.key.hasPrefix($0.key + ".") || e.key.hasPrefix($0.key + "[") }) {
                throw error(w.node, w.path, "cell \(id): \(e.message)")
            }
            if e.key.isEmpty || e.message.contains("unknown key"), let w = writers.last(where: { $0.key.split(separator: ".").first.map(String.init) == e.key.split(separator: ".").first.map(String.init) }) {
                throw error(w.node, w.path, "cell \(id): \(e.message)")
            }
            throw error(keyLine, baseKey, "cell \(id): the base spec with this cell's values does not parse: \(e.key.isEmpty ? "" : e.key + ": ")\(e.message)")
        }
        return ExperimentCell(id: id, values: values, specText: text, spec: spec)
    }

    /// Writes `value` at the dotted spec key `key` of `tree`, creating mappings on the way.
    func assign(_ tree: inout Node, _ key: String, _ value: Node, at node: Node, path: String) throws {
        let parts = key.split(separator: ".").map(String.init)
        guard !parts.isEmpty, !parts.contains(where: \.isEmpty) else { throw error(node, path, "not a spec key path") }
        func set(_ n: inout Node, _ i: Int) throws {
            guard var m = n.mapping else {
                throw error(node, path, "the base spec's \(parts[..<i].joined(separator: ".")) is \(describe(n)), not a mapping: write it whole (e.g. `\(parts[..<i].joined(separator: ".")): {…}`)")
            }
            if i == parts.count - 1 { m[parts[i]] = value } else {
                var child = m[parts[i]] ?? Node.mapping(Node.Mapping([]))
                try set(&child, i + 1)
                m[parts[i]] = child
            }
            n = .mapping(m)
        }
        try set(&tree, 0)
    }
}
