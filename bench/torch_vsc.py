#!/usr/bin/env python3
"""PyTorch reference for one training step of VSC (Tonolini et al. 2019) and of the beta-VAE,
timed eager and under torch.compile on random data (issue 9).

The step is the one our compiler runs (issue 6; paper sections 3, A, B, D.1):

  recognition  h = relu(x W1 + b1)            (one or more hidden layers)
               mu, logvar, v = heads(h)        (J each; VSC only has v)
               log gamma = -relu(-v)           (paper A.2; --spike logsigmoid: -softplus(-v))
  warm-up      slab N(lam*mu, lam*sigma^2 + 1 - lam)   (eq. 7, applied to the data's and the
               pseudo-inputs' encodings alike: both come from q_{phi,lam})
  draw         z = sigmoid(c (eta - 1 + gamma)) * (mu + sigma * eps)     (B.1)
  likelihood   g = relu(z Wd + bd); mean, logvar heads (784 each); Gaussian NLL   (A.1)
  prior        U pseudo-inputs x_u encoded by the same recognition net;
               selector on the data example x (A.3, D.1): r = relu(x Ws + bs),
               u = r / sum(r), u* = sigmoid(a (u - b))
               KL term = sum_u u*_u KL(q(z|x) || q(z|x_u)) / sum_u u*_u   (weighted MEAN)
               spike-and-slab KL per dimension (eq. 6 corrected: sigma^2 where the paper prints sigma)
  sparsity     J * KL_Bern(gbar || alpha), gbar = selection-weighted mean over u of
               mean_j gamma_{u,j}
  loss         mean over the batch of NLL + KL + sparsity;  Adam

beta-VAE: the same recognition/likelihood nets without the spike head, N(0, I) prior, loss =
NLL + beta * KL.

Convolutional nets (--spec FILE with an `encoder:` layer list, or --encoder JSON): the spec's
layers (conv, conv_transpose, dense, flatten, reshape; ReLU after each but the heads), the
decoder mirrored as our compiler mirrors it (Sources/Models/LayerList.swift: dense -> dense to
its input width, conv -> conv_transpose to its input's channels and size with the output padding
that gives it back, flatten -> reshape) unless given; the decoder's last layer is the likelihood's
heads (one copy each for the mean and the log-variance). Images are PyTorch's NCHW inside the
nets (our side is NHWC); the data rows and the heads' outputs are flattened in HWC order.

Prints median/min/max ms per step (warm-up steps excluded), the analytic matmul GFLOP per
step and the achieved GFLOP/s; for compile mode the first call's time (the compile).
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import tempfile
import time

PRESETS = {
    # Paper D.1 (Fashion-MNIST): 784 -> 3000 -> J=60, U=20, batch 500.
    "paper": dict(input=784, hidden=[3000], latent=60, pseudo=20, batch=500),
    # The small net (Samples/vsc-fashion-small.yaml): 784 -> 400 -> J=20, U=20, batch 100.
    "small": dict(input=784, hidden=[400], latent=20, pseudo=20, batch=100),
    # Smiley 32x32, small enough for CI (Samples/vsc-smiley-tiny.yaml).
    "tiny": dict(input=1024, hidden=[64], latent=8, pseudo=4, batch=32),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="paper",
                   help="base configuration; explicit size options override it (default paper)")
    p.add_argument("--model", choices=["vsc", "vae"], default="vsc")
    p.add_argument("--input", type=int, help="input dimension D")
    p.add_argument("--hidden", type=str, help="hidden layer size(s), e.g. 3000 or 3000,1000")
    p.add_argument("--latent", type=int, help="latent dimension J")
    p.add_argument("--pseudo", type=int, help="number of pseudo-inputs U (vsc)")
    p.add_argument("--batch", type=int, help="batch size")
    p.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    p.add_argument("--warmup", type=int, default=3,
                   help="untimed steps before timing (after the first call; default 3)")
    p.add_argument("--mode", choices=["eager", "compile", "both"], default="both")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    p.add_argument("--beta", type=float, default=1.0, help="vae: KL weight (default 1)")
    p.add_argument("--alpha", type=float, default=0.01, help="vsc: prior spike probability (default 0.01)")
    p.add_argument("--sel-a", type=float, default=60.0, help="vsc: selection sharpness a (default 60)")
    p.add_argument("--sel-b", type=float, default=0.5, help="vsc: selection offset b (default 0.5)")
    p.add_argument("--lam", type=float, default=1.0, help="vsc: warm-up lambda for the timed steps (default 1)")
    p.add_argument("--c", type=float, default=50.0, help="vsc: spike sharpness c (default 50)")
    p.add_argument("--spike", choices=["relu", "logsigmoid"], default="relu")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--compile-opt", choices=["on", "off"], default="on",
                   help="compile mode: also torch.compile the Adam step (default on)")
    p.add_argument("--warm-cache", action="store_true",
                   help="compile mode: keep inductor's on-disk cache between runs (default: a fresh "
                        "cache per run, so compile_s is a cold compile)")
    p.add_argument("--no-peak", action="store_true", help="skip the torch.mm peak GFLOP/s measurement")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--spec", help="read the sizes (input_dim, hidden or encoder/decoder/input_shape, latent, "
                                  "prior.pseudo_inputs, batch_size) from this spec file (needs pyyaml)")
    p.add_argument("--encoder", help="the encoder as a JSON layer list, e.g. "
                                     "'[{\"conv\": 32, \"kernel\": 4, \"stride\": 2, \"padding\": 1}, {\"flatten\": true}, {\"dense\": 256}]'")
    p.add_argument("--decoder", help="the decoder as a JSON layer list (default: the encoder's mirror image)")
    p.add_argument("--input-shape", help="one example as an image H,W,C (default: sqrt(D),sqrt(D),1)")
    a = p.parse_args(argv)
    cfg = dict(PRESETS[a.preset])
    for k in ("input", "latent", "pseudo", "batch"):
        if getattr(a, k) is not None:
            cfg[k] = getattr(a, k)
    if a.spec:
        cfg.update(spec_sizes(a.spec))
    if a.hidden is not None:
        cfg["hidden"] = [int(h) for h in a.hidden.split(",") if h.strip()]
    if a.encoder:
        cfg["encoder"] = json.loads(a.encoder)
    if a.decoder:
        cfg["decoder"] = json.loads(a.decoder)
    if a.input_shape:
        cfg["input_shape"] = [int(v) for v in a.input_shape.split(",")]
    if a.model == "vae":
        cfg["pseudo"] = 0
    a.cfg = cfg
    return a


def spec_sizes(path):
    """The sizes of a spec file: input_dim (or the data set's), hidden or the layer lists, latent,
    pseudo-inputs, batch size, kind."""
    import yaml
    with open(path) as f:
        spec = yaml.safe_load(f)
    data = spec.get("data")
    name = data.get("name") if isinstance(data, dict) else data
    default_input = {"smiley": 1024, "fashion-mnist": 784, "fashion": 784, "har": 561}.get(name)
    if name == "images" and isinstance(data, dict):
        default_input = data.get("size", 32) ** 2 * data.get("channels", 3)
        if "encoder" in spec and "input_shape" not in spec:
            spec["input_shape"] = [data.get("size", 32), data.get("size", 32), data.get("channels", 3)]
    out = {"input": spec.get("input_dim", default_input), "latent": spec["latent"],
           "batch": spec.get("batch_size", 100), "pseudo": (spec.get("prior") or {}).get("pseudo_inputs", 100)}
    hidden = spec.get("hidden")
    if hidden is not None:
        out["hidden"] = hidden if isinstance(hidden, list) else [hidden]
    for k in ("encoder", "decoder", "input_shape"):
        if k in spec:
            out[k] = spec[k]
    return out


ARGS = parse_args()
# Threads and the inductor cache must be set before torch is imported.
os.environ.setdefault("OMP_NUM_THREADS", str(ARGS.threads))
os.environ.setdefault("MKL_NUM_THREADS", str(ARGS.threads))
_CACHE_DIR = None
if ARGS.mode in ("compile", "both") and not ARGS.warm_cache:
    _CACHE_DIR = tempfile.TemporaryDirectory(prefix="torch_vsc_inductor_")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = _CACHE_DIR.name
    os.environ["TORCHINDUCTOR_FX_GRAPH_CACHE"] = "0"
    os.environ["TORCHINDUCTOR_AUTOGRAD_CACHE"] = "0"

import warnings  # noqa: E402

warnings.filterwarnings("ignore")
import torch  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layers  # noqa: E402  (bench/layers.py: the layer lists' shapes and mirror rule)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import logging  # noqa: E402

logging.getLogger("torch").setLevel(logging.ERROR)  # e.g. dynamo's note on record_function in opt.step

LOG2PI = math.log(2 * math.pi)
EPS = 1e-6  # clamp for gamma before its logs (same as the Swift side's spikeEpsilon)


# ----------------------------------------------------------------------------------------------
# Models


def layer_lists(cfg):
    """(encoder layers, decoder layers, one example's shape as the encoder takes it)."""
    return layers.layer_lists(cfg["input"], cfg["latent"], cfg.get("hidden"), cfg.get("encoder"),
                              cfg.get("decoder"), cfg.get("input_shape"))


class Flatten(nn.Module):
    def forward(self, x):
        return x.reshape(x.shape[0], -1)


class Reshape(nn.Module):
    def __init__(self, hwc):
        super().__init__()
        self.chw = (hwc[2], hwc[0], hwc[1])

    def forward(self, x):
        return x.reshape(x.shape[0], *self.chw)


def make_layer(layer, s):
    """The torch module of one layer on input shape s (NCHW inside)."""
    if "dense" in layer:
        return nn.Linear(math.prod(s), layer["dense"])
    if layer.get("flatten"):
        return Flatten()
    if "reshape" in layer:
        return Reshape(layer["reshape"])
    k, st, p = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)
    if "conv" in layer:
        return nn.Conv2d(s[2], layer["conv"], k, stride=st, padding=p)
    return nn.ConvTranspose2d(s[2], layer["conv_transpose"], k, stride=st, padding=p,
                              output_padding=layer.get("output_padding", 0))


class Stack(nn.Module):
    """A layer list with ReLU after every parameterised layer; x [B, D] is viewed as the image
    `shape` (HWC rows -> NCHW) when that is an image."""

    def __init__(self, layer_list, shape):
        super().__init__()
        self.image = shape if len(shape) == 3 else None
        mods = []
        for layer in layer_list:
            mods.append(make_layer(layer, shape))
            if not (layer.get("flatten") or "reshape" in layer):
                mods.append(nn.ReLU())
            shape = layers.layer_out(layer, shape)
        self.net = nn.Sequential(*mods)
        self.out_shape = shape

    def forward(self, x):
        if self.image and x.dim() == 2:
            h, w, c = self.image
            x = x.reshape(x.shape[0], h, w, c).permute(0, 3, 1, 2)
        y = self.net(x)
        return y.reshape(y.shape[0], -1) if y.dim() == 4 else y


class Head(nn.Module):
    """The decoder's last layer as a likelihood head, flattened to [B, D] in HWC order."""

    def __init__(self, layer, shape):
        super().__init__()
        self.layer = make_layer(layer, shape)
        self.image = shape if len(shape) == 3 else None

    def forward(self, h):
        if self.image and h.dim() == 2:
            hh, w, c = self.image
            h = h.reshape(h.shape[0], c, hh, w)
        y = self.layer(h)
        return y.permute(0, 2, 3, 1).reshape(y.shape[0], -1) if y.dim() == 4 else y


class Networks(nn.Module):
    """Encoder body, the decoder body and its two heads, from the layer lists."""

    def __init__(self, cfg):
        super().__init__()
        enc, dec, shape = layer_lists(cfg)
        self.enc = Stack(enc, shape)
        width = math.prod(self.enc.out_shape)
        self.dec = Stack(dec[:-1], [cfg["latent"]])
        self.xmean = Head(dec[-1], self.dec.out_shape)
        self.xlogvar = Head(dec[-1], self.dec.out_shape)
        self.width = width


class VSC(nn.Module):
    def __init__(self, cfg, alpha, sel_a, sel_b, spike):
        super().__init__()
        D, J, U = cfg["input"], cfg["latent"], cfg["pseudo"]
        self.J, self.alpha, self.a, self.b, self.spike = J, alpha, sel_a, sel_b, spike
        nets = Networks(cfg)
        self.enc, self.dec, self.xmean, self.xlogvar = nets.enc, nets.dec, nets.xmean, nets.xlogvar
        self.mu = nn.Linear(nets.width, J)
        self.logvar = nn.Linear(nets.width, J)
        self.v = nn.Linear(nets.width, J)
        nn.init.constant_(self.v.bias, -1.0 if spike == "relu" else 0.0)  # as the Swift SpikeHead
        self.pseudo = nn.Parameter(torch.rand(U, D))  # pseudo-inputs, uniform (0, 1)
        self.select = nn.Linear(D, U)
        nn.init.constant_(self.select.bias, 0.01)

    def encode(self, x):
        h = self.enc(x)
        v = self.v(h)
        log_gamma = -F.relu(-v) if self.spike == "relu" else -F.softplus(-v)
        return self.mu(h), self.logvar(h), log_gamma.exp()

    @staticmethod
    def warm(mu, logvar, lam):
        """Eq. 7: slab N(lam mu, lam sigma^2 + 1 - lam), log-variance in a stable form."""
        top = logvar.clamp_min(0.0)
        inner = lam * (logvar - top).exp() + (1 - lam) * (-top).exp()
        return lam * mu, top + inner.clamp_min(1e-30).log()

    def forward(self, x, lam, c):
        B, J = x.shape[0], self.J
        # Data and pseudo-inputs through the same recognition net, as two matmuls so autograd
        # does not compute a gradient for the data rows.
        mu, lv, g = self.encode(x)
        mu_u, lv_u, g_u = self.encode(self.pseudo)
        mu, lv = self.warm(mu, lv, lam)
        mu_u, lv_u = self.warm(mu_u, lv_u, lam)

        # Reparametrised spike-and-slab draw (B.1).
        eps = torch.randn_like(mu)
        eta = torch.rand_like(mu)
        z = torch.sigmoid(c * (eta - 1 + g)) * (mu + (0.5 * lv).exp() * eps)

        # Gaussian likelihood (A.1): -log p = 1/2 sum_d [log 2pi + lv + (x - m)^2 / e^lv].
        hd = self.dec(z)
        xm, xlv = self.xmean(hd), self.xlogvar(hd)
        nll = 0.5 * (LOG2PI + xlv + (x - xm).square() * (-xlv).exp()).sum(-1)

        # Selection on the data example (A.3, D.1).
        r = F.relu(self.select(x))
        u = r / r.sum(-1, keepdim=True).clamp_min(1e-12)
        w = torch.sigmoid(self.a * (u - self.b))  # [B, U]
        wden = w.sum(-1).clamp_min(1e-30)

        # Spike-and-slab KL per dimension between q(z|x) [B,1,J] and q(z|x_u) [1,U,J].
        gq = g.clamp(EPS, 1 - EPS).unsqueeze(1)
        gp = g_u.clamp(EPS, 1 - EPS).unsqueeze(0)
        dlv = lv_u.unsqueeze(0) - lv.unsqueeze(1)  # log sigma_u^2 - log sigma^2
        slab = 0.5 * (dlv + (-dlv).exp()
                      + (mu.unsqueeze(1) - mu_u.unsqueeze(0)).square() * (-lv_u).exp().unsqueeze(0) - 1)
        kl = (gq * slab + gq * (gq.log() - gp.log())
              + (1 - gq) * (torch.log1p(-gq) - torch.log1p(-gp))).sum(-1)  # [B, U]
        kl = (kl * w).sum(-1) / wden

        # Sparsity: J * KL_Bern(gbar || alpha), gbar selection-weighted over the pseudo-inputs.
        gbar_u = g_u.mean(-1)  # [U]
        gbar = ((w * gbar_u.unsqueeze(0)).sum(-1) / wden).clamp(EPS, 1 - EPS)
        a = self.alpha
        sparsity = J * (gbar * (gbar.log() - math.log(a)) + (1 - gbar) * (torch.log1p(-gbar) - math.log1p(-a)))

        loss = (nll + kl + sparsity).mean()
        return loss, nll.mean(), kl.mean(), sparsity.mean()


class BetaVAE(nn.Module):
    def __init__(self, cfg, beta):
        super().__init__()
        J = cfg["latent"]
        self.beta = beta
        nets = Networks(cfg)
        self.enc, self.dec, self.xmean, self.xlogvar = nets.enc, nets.dec, nets.xmean, nets.xlogvar
        self.mu = nn.Linear(nets.width, J)
        self.logvar = nn.Linear(nets.width, J)

    def forward(self, x, lam, c):
        h = self.enc(x)
        mu, lv = self.mu(h), self.logvar(h)
        z = mu + (0.5 * lv).exp() * torch.randn_like(mu)
        hd = self.dec(z)
        xm, xlv = self.xmean(hd), self.xlogvar(hd)
        nll = 0.5 * (LOG2PI + xlv + (x - xm).square() * (-xlv).exp()).sum(-1)
        kl = 0.5 * (mu.square() + lv.exp() - 1 - lv).sum(-1)
        loss = (nll + self.beta * kl).mean()
        return loss, nll.mean(), kl.mean(), torch.zeros((), dtype=x.dtype)


# ----------------------------------------------------------------------------------------------
# Analytic matmul FLOPs


def matmul_gflop(model, cfg):
    """GFLOP of the matrix products and convolutions in one step (forward + backward), 2*M*N*K each.

    Every linear or convolution layer costs its multiply-adds x 2 forward, the same again for the
    weight gradient, and the same again for the input gradient unless its input needs none (the
    data x feeding the first encoder layer and the selector). Bias adds and elementwise work are
    not counted.
    """
    D, J, U, B = cfg["input"], cfg["latent"], cfg["pseudo"], cfg["batch"]
    enc, dec, shape = layer_lists(cfg)
    heads = 3 if model == "vsc" else 2
    total = 0.0

    def layer(rows, l, s, needs_dx=True):
        """Adds layer l's cost on `rows` examples of shape s; returns its output shape."""
        nonlocal total
        out = layers.layer_out(l, s)
        if "dense" in l:
            work = math.prod(s) * l["dense"]
        elif "conv" in l:
            work = out[0] * out[1] * l["kernel"] ** 2 * s[2] * out[2]
        elif "conv_transpose" in l:
            work = s[0] * s[1] * l["kernel"] ** 2 * s[2] * out[2]
        else:
            work = 0
        total += 2.0 * rows * work * (3 if needs_dx else 2)
        return out

    for rows, data in ((B, True), (U, False)):  # the data, then the pseudo-inputs (VSC)
        if rows == 0:
            continue
        s = shape
        for li, l in enumerate(enc):
            s = layer(rows, l, s, needs_dx=not (data and li == 0))
        total += 2.0 * rows * math.prod(s) * heads * J * 3
    s = [J]
    for l in dec[:-1]:
        s = layer(B, l, s)
    layer(B, dec[-1], s)
    layer(B, dec[-1], s)  # mean and log-variance heads
    if model == "vsc":
        total += 2.0 * B * D * U * 2  # selector
    return total / 1e9


# ----------------------------------------------------------------------------------------------
# Timing


def build(args):
    torch.manual_seed(args.seed)
    cfg = args.cfg
    if args.model == "vsc":
        m = VSC(cfg, args.alpha, args.sel_a, args.sel_b, args.spike)
    else:
        m = BetaVAE(cfg, args.beta)
    opt = torch.optim.Adam(m.parameters(), lr=args.lr)
    return m, opt


def run_mode(args, mode):
    cfg = args.cfg
    model, opt = build(args)
    g = torch.Generator().manual_seed(args.seed + 1)
    batches = [torch.rand(cfg["batch"], cfg["input"], generator=g) for _ in range(4)]
    lam = torch.tensor(args.lam)
    c = torch.tensor(args.c)

    loss_fn = model
    opt_step = opt.step
    if mode == "compile":
        loss_fn = torch.compile(model)
        if args.compile_opt == "on":
            opt_step = torch.compile(opt.step)

    def step(x):
        opt.zero_grad(set_to_none=True)
        loss, nll, kl, sp = loss_fn(x, lam, c)
        loss.backward()
        opt_step()
        return loss

    losses = []
    t0 = time.perf_counter()
    losses.append(float(step(batches[0])))
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(args.warmup):
        losses.append(float(step(batches[(i + 1) % 4])))
    warm_s = time.perf_counter() - t0

    times = []
    for i in range(args.steps):
        x = batches[i % 4]
        t0 = time.perf_counter()
        loss = step(x)
        lv = float(loss)  # synchronises (CPU anyway) and keeps the value
        times.append((time.perf_counter() - t0) * 1e3)
        losses.append(lv)
    med = statistics.median(times)
    gf = matmul_gflop(args.model, cfg)
    out = {
        "median_ms": med, "min_ms": min(times), "max_ms": max(times),
        "gflops": gf / (med / 1e3),
        "first_step_s": first_s, "warmup_s": warm_s,
        "loss_first": losses[0], "loss_last": losses[-1],
        "finite": all(math.isfinite(v) for v in losses),
    }
    if mode == "compile":
        out["compile_s"] = first_s
    return out


def mm_peak_gflops(threads):
    """torch.mm float32 GFLOP/s on a large square product, best of a few (torch's own BLAS)."""
    n = 2048
    a, b = torch.rand(n, n), torch.rand(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(4):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best / 1e9


def main(args):
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    modes = ["eager", "compile"] if args.mode == "both" else [args.mode]
    res = {
        "torch": torch.__version__, "threads": torch.get_num_threads(), "model": args.model,
        "preset": args.preset, "config": args.cfg, "steps": args.steps, "warmup": args.warmup,
        "gflop": matmul_gflop(args.model, args.cfg),
        "loadavg_start": os.getloadavg()[0],
    }
    if res["loadavg_start"] > 0.5:
        print(f"warning: 1-minute load average is {res['loadavg_start']:.2f} before the run; other work "
              f"on the cores will inflate the step times", file=sys.stderr)
    if args.model == "vae":
        res["config"] = {k: v for k, v in args.cfg.items() if k != "pseudo"}
    for m in modes:
        res[m] = run_mode(args, m)
    if not args.no_peak:
        res["mm_peak_gflops"] = mm_peak_gflops(args.threads)
    res["loadavg_end"] = os.getloadavg()[0]
    res["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    if args.json:
        print(json.dumps(res))
        return
    c = res["config"]
    nets = f"encoder={c['encoder']}" if c.get("encoder") else f"H={c['hidden']}"
    print(f"torch {res['torch']}, {res['threads']} threads; {args.model} "
          f"D={c['input']} {nets} J={c['latent']}"
          + (f" U={c['pseudo']}" if args.model == "vsc" else "") + f" batch={c['batch']}")
    print(f"matmul work: {res['gflop']:.3f} GFLOP/step (fwd+bwd)")
    for m in modes:
        r = res[m]
        extra = f"  compile (first call) {r['compile_s']:.1f} s" if m == "compile" else ""
        print(f"{m:8s} median {r['median_ms']:8.2f} ms  min {r['min_ms']:8.2f}  max {r['max_ms']:8.2f}"
              f"  {r['gflops']:6.1f} GFLOP/s  loss {r['loss_first']:.4g} -> {r['loss_last']:.4g}{extra}")
    if "mm_peak_gflops" in res:
        print(f"torch.mm 2048^3 peak: {res['mm_peak_gflops']:.1f} GFLOP/s")
    print(f"max RSS {res['max_rss_mb']:.0f} MiB; load average {res['loadavg_start']:.2f} at start, "
          f"{res['loadavg_end']:.2f} at end")


if __name__ == "__main__":
    main(ARGS)
