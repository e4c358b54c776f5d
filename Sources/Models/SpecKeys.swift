// Every key a spec file may hold, in one table: the parser takes the keys it allows from here
// (`SpecReader.fields`), and docs/spec-reference.md is generated from it (`SpecKeys.markdown`;
// a test fails when the file is stale, UPDATE_GOLDEN=1 rewrites it), so the two cannot drift.

/// One key of a spec: its dotted path ("prior.selection.kind"; list entries "schedules.
/// learning_rate[].lr"), the values it takes, its default and what it does.
public struct SpecKey: Sendable {
    public var path: String
    public var values: String
    public var defaultValue: String
    public var help: String
    init(_ path: String, _ values: String, _ defaultValue: String, _ help: String) {
        self.path = path; self.values = values; self.defaultValue = defaultValue; self.help = help
    }
    /// The key's own name, the path's last component.
    public var name: String { String(path.split(separator: ".").last ?? "") }
    /// The path of the mapping holding it ("" for the document).
    public var parent: String { path.split(separator: ".").dropLast().joined(separator: ".") }
}

public enum SpecKeys {
    public static let all: [SpecKey] = [
        SpecKey("name", "string: letters, digits, `.`, `_`, `-`", "the file name without extension", "The run's name: `vsc train` writes to runs/<name> by default."),
        SpecKey("kind", "`vsc` · `vae` (also `betavae`) · `betatcvae`", "`vsc`", "The model: Variational Sparse Coding, β-VAE, or β-TCVAE (Chen et al. 2018)."),
        SpecKey("beta", "number > 0 (vae), ≥ 0 (betatcvae)", "1", "vae: the KL's weight β; betatcvae: the total correlation's weight."),
        SpecKey("alpha", "number ≥ 0", "1", "betatcvae only: the index-code mutual information's weight."),
        SpecKey("gamma", "number ≥ 0", "1", "betatcvae only: the dimension-wise KL's weight."),
        SpecKey("data", "`smiley` · `fashion-mnist` · `har` · `images`, or a mapping", "required", "The data set (see `vsc data --help` for the names)."),
        SpecKey("data.name", "a data set name", "required", "The data set, when `data` is a mapping."),
        SpecKey("data.path", "folder or file", "the data module's default", "Where the files are (Fashion-MNIST's IDX folder, the UCI HAR folder)."),
        SpecKey("data.count", "integer > 0", "20000", "smiley only: training images."),
        SpecKey("data.test_count", "integer > 0", "2000", "smiley only: test images (the next ones of the same stream)."),
        SpecKey("data.p", "number in [0, 1]", "0.5", "smiley only: the probability of each attribute."),
        SpecKey("data.size", "integer > 0", "32", "images only: each image is centre-cropped and resized to size × size."),
        SpecKey("data.channels", "`1` · `3`", "3", "images only: grey (1) or RGB (3)."),
        SpecKey("input_dim", "integer > 0", "the data set's (smiley 1024, fashion-mnist 784, har 561, images size²·channels)", "Features per example."),
        SpecKey("hidden", "list of integers > 0 (or one integer)", "required unless `encoder`", "Hidden layer sizes of the encoder (the decoder mirrors them). Each entry's line locates its layer's nodes in printed IR (`enc.h0`)."),
    ] + [
        SpecKey("input_shape", "list [H, W, C] of integers > 0", "images: [size, size, channels]; else [√D, √D, 1] when input_dim D is a square", "One example as an image (rows hold row-major pixels, channels interleaved: NHWC), for an encoder that starts with a convolution. H·W·C must be input_dim."),
        SpecKey("encoder", "list of layers", "none: the MLP of `hidden`", "The encoder as layers instead of `hidden`, e.g. `[{conv: 32, kernel: 4, stride: 2, padding: 1}, {flatten: true}, {dense: 256}]`; layer k is `enc.h<k>`, located at its entry. The heads (μ, log σ², the spike) stay dense from the last layer (flattened)."),
        SpecKey("decoder", "list of layers", "the encoder's mirror image", "The decoder from the latent code to the data; its last layer is the likelihood's heads (a dense layer of input_dim, or a (transposed) convolution to the image's channels and size). Mirrored: a dense layer to the encoder's last width (and a reshape), then each encoder layer's inverse in reverse order (dense → dense to its input width, conv → conv_transpose to its input's channels and size, flatten → reshape)."),
    ] + ["encoder", "decoder"].flatMap(layerKeys) + [
        SpecKey("activation", "`relu` · `tanh`", "`relu`", "The hidden layers' activation, encoder and decoder."),
        SpecKey("latent", "integer > 0", "required", "J, the latent dimensions."),
        SpecKey("likelihood", "`gaussian` · `bernoulli`", "`gaussian`", "p(x|z): mean and log-variance heads (log-variance floored at −6), or logits."),
        SpecKey("spike", "`relu` · `logsigmoid`", "`relu`", "vsc only: the spike head, log γ = −relu(−v) (the paper) or −softplus(−v) (keeps a gradient at γ = 1)."),
        SpecKey("spike_bias", "number", "relu −1, logsigmoid 0", "vsc only: the spike head's initial bias."),
        SpecKey("spike_logit_penalty", "number > 0", "none", "vsc only: ε·Σ_j v_j² on the spike logits in the loss (not the ELBO)."),
        SpecKey("prior", "mapping", "the defaults below", "vsc only: the pseudo-input prior."),
        SpecKey("prior.alpha", "number in (0, 1)", "0.5", "The prior spike probability α of the sparsity term."),
        SpecKey("prior.pseudo_inputs", "integer > 0", "100", "U, the number of pseudo-inputs."),
        SpecKey("prior.selection", "mapping", "`{kind: authors}`", "How each example weighs the pseudo-inputs."),
        SpecKey("prior.selection.kind", "`authors` · `paper` · `mixture`", "`authors`", "authors: a sigmoid layer, L2-normalised (the authors' code); paper: A.3's ReLU layer, unit sum, sigmoid(a·(u − b)); mixture: no classifier, the mixture prior's bound −log (1/U) Σ_u exp(−KL_u)."),
        SpecKey("prior.selection.a", "number > 0", "60", "paper only: the selector's sharpness a."),
        SpecKey("prior.selection.b", "number in (0, 1)", "0.5", "paper only: the selector's offset b."),
        SpecKey("prior.spike_sharpness", "number > 0, or `none`", "10", "ν of the bounded prior spikes sigmoid(ν(γ_u − ½)); none: the raw γ_u (the paper)."),
        SpecKey("prior.pseudo_input_init", "`uniform` · `training_images`", "`uniform`", "Pseudo-inputs start uniform in (0, 1), or as U distinct training images."),
        SpecKey("prior.sparsity", "`selected` · `every_pseudo_input`", "`selected`", "The sparsity term on the selected pseudo-input's γ̄ (eq. 4), or the mean over u of J·KL(γ̄_u ‖ α)."),
        SpecKey("prior.slab", "`pseudo_inputs` · `standard`", "`pseudo_inputs`", "Each prior component's slab: the recognition model's at the pseudo-input (section 3.2), or N(0, 1) with only the spikes from the pseudo-input (the classical spike-and-slab prior)."),
        SpecKey("slab_bounds", "mapping, or `none`", "`none`", "vsc only: soft bounds L·tanh(·/L) on the slabs inside the KL the loss trains on (the reported KL and ELBO stay the true ones). Past the bound the loss no longer sees the slab means: a model trained so moves them there (README, model notes)."),
        SpecKey("slab_bounds.logvar", "number > 0", "8", "The bound on log σ²."),
        SpecKey("slab_bounds.mu", "number > 0", "10", "The bound on μ."),
        SpecKey("schedules", "mapping", "the defaults below", "What changes over the run."),
        SpecKey("schedules.warmup_iterations", "integer ≥ 0", "0", "Spike pre-training with λ = 0 (Algorithm 1's N_warmup)."),
        SpecKey("schedules.ramp_iterations", "integer ≥ 0", "0", "Then λ rises linearly 0 → 1 over this many iterations."),
        SpecKey("schedules.c", "number, or mapping", "`{start: 50, end: 200}`", "The relaxed spike's sharpness c: a number is fixed."),
        SpecKey("schedules.c.start", "number > 0", "50", "c at the first iteration."),
        SpecKey("schedules.c.end", "number > 0", "200", "c at the end of its ramp."),
        SpecKey("schedules.c.iterations", "integer ≥ 0", "0 (the whole run)", "The ramp's length."),
        SpecKey("schedules.c.fixed", "number > 0", "none", "A constant c (the authors' code); excludes start, end, iterations."),
        SpecKey("schedules.learning_rate", "number, or list of phases", "1.0e-3", "The learning rate, or phases [{until: N, lr: X}, …, {lr: Y}]."),
        SpecKey("schedules.learning_rate[].until", "integer > 0, increasing", "required but in the last phase", "The phase ends before this iteration."),
        SpecKey("schedules.learning_rate[].lr", "number > 0", "required", "The phase's learning rate."),
        SpecKey("schedules.fresh_adam_at_drop", "`true` · `false`", "`false`", "Reset Adam's moments at each phase change (the authors' code)."),
        SpecKey("schedules.clip_grad_norm", "number > 0, or `none`", "vsc 100, others none", "Global-norm gradient clipping."),
        SpecKey("schedules.regulariser_warmup", "integer ≥ 0", "0 (off)", "KL annealing: the regulariser weighted min(1, t/N)."),
        SpecKey("schedules.sparsity_warmup", "integer ≥ 0", "regulariser_warmup's", "vsc: the sparsity term's own warm-up."),
        SpecKey("schedules.spike_logit_penalty_decay", "mapping", "none", "vsc with spike_logit_penalty: the penalty's weight falls linearly from 1 at `start` to 0 at `end`."),
        SpecKey("schedules.spike_logit_penalty_decay.start", "integer ≥ 0", "required", "The last iteration at full weight."),
        SpecKey("schedules.spike_logit_penalty_decay.end", "integer > start", "required", "The first iteration without the penalty."),
        SpecKey("optimizer", "`adam` · `sgd`, or a mapping", "`adam`", "The update rule of the train step."),
        SpecKey("optimizer.kind", "`adam` · `sgd`", "`adam`", "Adam (Kingma & Ba, with bias correction) or plain gradient descent."),
        SpecKey("optimizer.beta1", "number in [0, 1)", "0.9", "adam only: the first moment's decay."),
        SpecKey("optimizer.beta2", "number in [0, 1)", "0.999", "adam only: the second moment's decay."),
        SpecKey("optimizer.epsilon", "number > 0", "1.0e-8", "adam only: added to √v̂."),
        SpecKey("input_normalisation", "`none` · `unit_l2` · `signed`", "`none`", "The encoder's view of x: as is, each row scaled to unit L2 norm (the authors' code), or 2x − 1. The likelihood always sees x."),
        SpecKey("warmup_form", "`paper` · `authors`", "`paper`", "vsc only: the warm-up's slab N(λμ, λσ² + 1 − λ) or N(λμ, (σ²)^λ)."),
        SpecKey("batch_size", "integer > 0", "100", "Examples per training step."),
        SpecKey("iterations", "integer > 0", "10000", "Training iterations (the schedules' horizon)."),
        SpecKey("seed", "integer ≥ 0", "0", "Initialisation, noise and data order."),
        SpecKey("checkpoint_every", "integer > 0", "min(1000, iterations)", "Checkpoint interval."),
        SpecKey("eval_every", "integer > 0", "min(1000, iterations)", "Test-set evaluation interval while training (metrics.jsonl `test_*`, TensorBoard `test/*`)."),
        SpecKey("precision", "`fp32` · `bf16`", "`fp32`", "The JIT's matmul operands: bf16 rounds them to bfloat16 (8 significant bits) with Float32 sums (AVX512_BF16 `vdpbf16ps`, about twice fp32's speed); parameters, Adam's state and every other op stay Float32. Needs `--gemm jit` and a CPU with AVX512_BF16; the interpreter ignores it. `--precision` overrides it."),
    ]

    /// The keys of one entry of a layer list (`encoder[]`, `decoder[]`): its kind (one of
    /// conv, conv_transpose, dense, flatten, reshape) and a convolution's sizes.
    static func layerKeys(_ list: String) -> [SpecKey] {
        [
            SpecKey("\(list)[].conv", "integer > 0", "–", "A convolution (cross-correlation, no dilation) to this many channels, then the `activation` (none in the decoder's last layer, the heads)."),
            SpecKey("\(list)[].conv_transpose", "integer > 0", "–", "A transposed convolution to this many channels."),
            SpecKey("\(list)[].dense", "integer > 0", "–", "A fully connected layer of this width (its input flat)."),
            SpecKey("\(list)[].flatten", "`true`", "–", "[H, W, C] → [H·W·C]."),
            SpecKey("\(list)[].reshape", "list [H, W, C]", "–", "A flat input → this image shape."),
            SpecKey("\(list)[].kernel", "integer > 0", "required for conv, conv_transpose", "The square kernel's side."),
            SpecKey("\(list)[].stride", "integer > 0", "1", "conv, conv_transpose: the stride, rows and columns."),
            SpecKey("\(list)[].padding", "integer ≥ 0", "0", "conv, conv_transpose: zero padding of the convolution's input, each side."),
            SpecKey("\(list)[].output_padding", "integer ≥ 0, < stride", "0", "conv_transpose only: extra rows and columns at the bottom and right of the output (a stride-s convolution maps s input sizes to one)."),
        ]
    }

    /// The keys allowed directly under `parent` ("" for the document; list entries end in "[]").
    public static func names(under parent: String) -> [String] {
        all.filter { $0.parent == parent }.map(\.name)
    }

    /// The table path of a key path as the parser spells it: list indices become "[]".
    static func tablePath(_ path: String) -> String {
        var out = "", skipping = false
        for ch in path {
            if ch == "[" { skipping = true; out += "[" } else if ch == "]" { skipping = false; out += "]" } else if !skipping { out.append(ch) }
        }
        return out
    }

    /// docs/spec-reference.md.
    public static func markdown() -> String {
        var s = """
            # Spec reference

            Every key of a model spec (YAML), generated from the parser's key table
            (`Sources/Models/SpecKeys.swift`, `SpecKeys.all`): `swift test --filter specReference`
            fails when this file is stale, and `UPDATE_GOLDEN=1` rewrites it. Unknown keys,
            duplicate keys, wrong types and bad values are errors naming the file, the line and
            the key. Examples: `Samples/*.yaml`.

            | key | values | default | what |
            |---|---|---|---|

            """
        for k in all { s += "| `\(k.path)` | \(k.values) | \(k.defaultValue) | \(k.help) |\n" }
        return s
    }
}
