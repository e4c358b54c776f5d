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
    a = p.parse_args(argv)
    cfg = dict(PRESETS[a.preset])
    for k in ("input", "latent", "pseudo", "batch"):
        if getattr(a, k) is not None:
            cfg[k] = getattr(a, k)
    if a.hidden is not None:
        cfg["hidden"] = [int(h) for h in a.hidden.split(",") if h.strip()]
    if a.model == "vae":
        cfg["pseudo"] = 0
    a.cfg = cfg
    return a


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
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import logging  # noqa: E402

logging.getLogger("torch").setLevel(logging.ERROR)  # e.g. dynamo's note on record_function in opt.step

LOG2PI = math.log(2 * math.pi)
EPS = 1e-6  # clamp for gamma before its logs (same as the Swift side's spikeEpsilon)


# ----------------------------------------------------------------------------------------------
# Models


def mlp(dims):
    """Linear+ReLU layers through dims (every layer followed by ReLU)."""
    layers = []
    for i, o in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(i, o), nn.ReLU()]
    return nn.Sequential(*layers)


class VSC(nn.Module):
    def __init__(self, cfg, alpha, sel_a, sel_b, spike):
        super().__init__()
        D, H, J, U = cfg["input"], cfg["hidden"], cfg["latent"], cfg["pseudo"]
        self.J, self.alpha, self.a, self.b, self.spike = J, alpha, sel_a, sel_b, spike
        self.enc = mlp([D] + H)
        self.mu = nn.Linear(H[-1], J)
        self.logvar = nn.Linear(H[-1], J)
        self.v = nn.Linear(H[-1], J)
        nn.init.constant_(self.v.bias, -1.0 if spike == "relu" else 0.0)  # as the Swift SpikeHead
        self.dec = mlp([J] + H[::-1])
        self.xmean = nn.Linear(H[0], D)
        self.xlogvar = nn.Linear(H[0], D)
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
        D, H, J = cfg["input"], cfg["hidden"], cfg["latent"]
        self.beta = beta
        self.enc = mlp([D] + H)
        self.mu = nn.Linear(H[-1], J)
        self.logvar = nn.Linear(H[-1], J)
        self.dec = mlp([J] + H[::-1])
        self.xmean = nn.Linear(H[0], D)
        self.xlogvar = nn.Linear(H[0], D)

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
    """GFLOP of the matrix products in one step (forward + backward), 2*M*N*K each.

    Every linear layer costs 2*rows*in*out forward, the same again for the weight gradient, and
    the same again for the input gradient unless its input needs none (the data x feeding the
    first encoder layer and the selector). Bias adds and elementwise work are not counted.
    """
    D, H, J, U, B = cfg["input"], cfg["hidden"], cfg["latent"], cfg["pseudo"], cfg["batch"]
    heads = 3 if model == "vsc" else 2
    total = 0.0

    def lin(rows, i, o, needs_dx=True):
        nonlocal total
        total += 2.0 * rows * i * o * (3 if needs_dx else 2)

    enc_dims = [D] + H
    for rows, data in ((B, True), (U, False)):  # the data, then the pseudo-inputs (VSC)
        if rows == 0:
            continue
        for li, (i, o) in enumerate(zip(enc_dims[:-1], enc_dims[1:])):
            lin(rows, i, o, needs_dx=not (data and li == 0))
        lin(rows, H[-1], heads * J)
    dec_dims = [J] + H[::-1]
    for i, o in zip(dec_dims[:-1], dec_dims[1:]):
        lin(B, i, o)
    lin(B, H[0], 2 * D)
    if model == "vsc":
        lin(B, D, U, needs_dx=False)  # selector
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
    print(f"torch {res['torch']}, {res['threads']} threads; {args.model} "
          f"D={c['input']} H={c['hidden']} J={c['latent']}"
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
