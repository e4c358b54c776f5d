import IR
import Data
import Foundation
import Models

/// The training and test sets a spec's `data` section names.
public struct SpecData {
    public var train: Dataset
    public var test: Dataset
    public init(train: Dataset, test: Dataset) { self.train = train; self.test = test }
}

/// Loads the data set of `spec.data` and splits it into training and test sets:
/// - `smiley`: generated in memory from `seed` (default: the spec's seed), `count` training and
///   `test_count` test images with attribute probability `p` (the test images are the next ones
///   of the same seeded stream); with `data.path`, a data-set file written by `vsc data` is read
///   instead and its first `count` examples train, the next `test_count` test.
/// - `fashion-mnist`: the IDX files in `data.path` (default: the Debian package's folder), its
///   own train/test split, pixels in [0, 1].
/// - `har`: the UCI HAR archive folder `data.path` (required), its own split, every feature
///   standardised with the training split's statistics (see `UCIHAR`).
/// - `images`: the PNG/JPEG folder `data.path` (required), centre-cropped and resized to
///   `data.size` with `data.channels` (see `ImageFolder`).
///
/// The spec's `input_normalisation` (e.g. `unit_l2`) is applied by the model inside its graphs, so
/// training, evaluation and encoding all see the same transform; the data are returned as loaded.
/// Errors name the file or the spec key.
public func loadSpecData(_ spec: ModelSpec, seed: UInt64? = nil) throws -> SpecData {
    let d = spec.data
    let result: SpecData
    if d.dataset == .smiley {
        if let path = d.path {
            let all = try DatasetFile.read(path)
            guard all.count >= d.count + 1 else {
                throw TrainError("\(path): holds \(all.count) examples; data.count asks for \(d.count) training examples plus a test set")
            }
            let (train, rest) = all.split(at: d.count)
            result = SpecData(train: train, test: rest.prefix(d.testCount))
        } else {
            // Generated in memory: refuse before allocating what the machine cannot hold.
            let perExample = spec.inputDim * 4 + 22 * 4 + 4   // pixels, sources, presence
            let (n, o1) = d.count.addingReportingOverflow(d.testCount)
            let (bytes, o2) = n.multipliedReportingOverflow(by: perExample)
            if o1 || o2 || bytes > TensorBudget.maxBytes {
                throw TrainError("spec \"\(spec.name)\": data.count \(d.count) + data.test_count \(d.testCount) Smiley examples need "
                                 + (o1 || o2 ? "more than Int.max" : "\(bytes)") + " bytes, over the memory budget of \(TensorBudget.maxBytes) bytes"
                                 + " (TensorBudget.maxBytes, half the machine's memory)")
            }
            let all = Smiley.generate(count: n, seed: seed ?? spec.seed, config: SmileyConfig(p: d.p))
            let (train, test) = all.split(at: d.count)
            result = SpecData(train: train, test: test)
        }
    } else {
        // Every other data set: its loader from the data-set table, its own train/test split.
        let table = d.dataset.descriptor
        if let what = table.requiredPath, d.path == nil {
            throw TrainError("spec \"\(spec.name)\": data.path must name \(what)")
        }
        result = SpecData(train: try table.load(.train, d.path, d.options), test: try table.load(.test, d.path, d.options))
    }
    guard result.train.dim == spec.inputDim else {
        throw TrainError("spec \"\(spec.name)\": input_dim is \(spec.inputDim) but the \(d.dataset.rawValue) examples have \(result.train.dim) features")
    }
    return result
}
