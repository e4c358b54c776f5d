#!/usr/bin/env python3
"""Loads a vsc checkpoint into PyTorch and recomputes `vsc eval`'s test ELBO on a data set file.

    bench/.venv/bin/python bench/vsc_torch.py RUN/checkpoint.safetensors TEST.vscd [--batch-size 500]

prints one JSON object: {"elbo": ..., "recon": ..., "kl": ..., "examples": N}. It is `vsc eval
--data TEST.vscd`'s ELBO (one noise sample per example, lambda = 1, the run's final c) computed
again from the checkpoint alone: the spec is the YAML stored in its metadata, the weights are the
safetensors tensors (`[in, out]`, so nn.Linear takes their transpose), and the noise is vsc's
counter-based generator (IR/Random.swift) reimplemented in numpy, keyed as ModelRunner.elbo keys
it. The layouts are docs/checkpoint-format.md and docs/dataset-format.md; the spec's keys and
defaults docs/spec-reference.md.

Networks: `hidden:` MLPs and `encoder:` / `decoder:` layer lists (convolutions; filters permuted
from vsc's HWIO to PyTorch's layout, images NCHW here and flattened in vsc's HWC order).
Kinds: vae and vsc (selection paper, authors or mixture; bounded prior spikes; slab bounds shape only the loss, never the ELBO;
every input normalisation); betatcvae evaluates as vae (its ELBO has the analytic KL too).
The model mirrors Sources/Models (VSC.swift, SpikeSlab.swift, Likelihood.swift), not the
bench step of torch_vsc.py, which times an earlier form of the objective.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layers  # noqa: E402  (bench/layers.py: the layer lists' shapes and mirror rule)
from safetensors.numpy import load_file
from safetensors import safe_open

EPS = 1e-6          # spikeEpsilon: gamma clamped to [EPS, 1 - EPS] before its logs
MIN_LOGVAR = -6.0   # LikelihoodHead.minimumLogVariance
M32 = 0xFFFFFFFF


# ---------------------------------------------------------------------------------------------
# vsc's counter-based random numbers (IR/Random.swift), vectorised over the element counter.

def _mix(x):
    x = x.astype(np.uint32)
    x ^= x >> np.uint32(16); x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15); x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return x


def _base(seed, key):
    hi = np.array([((seed >> 32) + key * 0x9E3779B9) & M32], dtype=np.uint32)
    return _mix(np.array([seed & M32], dtype=np.uint32) ^ _mix(hi))[0]


def _uniform(base, counters):
    i = counters.astype(np.uint32)
    bits = _mix(_mix(np.uint32(base) ^ i) + i)
    return ((bits >> np.uint32(8)).astype(np.float64) + 0.5) * 2.0 ** -24


def random_uniform(shape, seed, key):
    n = int(np.prod(shape))
    return _uniform(_base(seed, key), np.arange(n, dtype=np.uint64)).astype(np.float32).reshape(shape)


def random_normal(shape, seed, key):
    n = int(np.prod(shape))
    b = _base(seed, key)
    i = np.arange(n, dtype=np.uint64)
    u1 = _uniform(b, 2 * i).astype(np.float32)
    u2 = _uniform(b, 2 * i + 1).astype(np.float32)
    return (np.sqrt(-2 * np.log(u1)) * np.cos(np.float32(2 * math.pi) * u2)).astype(np.float32).reshape(shape)


# ---------------------------------------------------------------------------------------------
# Files

def read_vscd(path):
    """x [N, D] float32 of a vsc data set file (docs/dataset-format.md)."""
    b = open(path, "rb").read()
    if b[:8] != b"\x89VSCD\r\n\x1a":
        sys.exit(f"{path}: not a vsc data set file")
    enc = int(np.frombuffer(b, "<u4", 1, 12)[0])
    n = int(np.frombuffer(b, "<u8", 1, 16)[0])
    d, _h, _w, _np, _ns, _lab, nlen = (int(v) for v in np.frombuffer(b, "<u4", 7, 24))
    off = 64 + nlen
    if enc == 1:
        per = (d + 7) // 8
        packed = np.frombuffer(b, np.uint8, n * per, off).reshape(n, per)
        return np.unpackbits(packed, axis=1)[:, :d].astype(np.float32)
    return np.frombuffer(b, "<f4", n * d, off).reshape(n, d).copy()


def load_checkpoint(path):
    with safe_open(path, "np") as f:
        meta = f.metadata() or {}
    return load_file(path), meta


# ---------------------------------------------------------------------------------------------
# The model, as Sources/Models builds its train graph at lambda = 1.

class Spec:
    """The keys the ELBO depends on, with the parser's defaults (docs/spec-reference.md)."""

    def __init__(self, text):
        s = yaml.safe_load(text)
        self.kind = s.get("kind", "vsc")
        hidden = s.get("hidden")
        self.hidden = None if hidden is None else hidden if isinstance(hidden, list) else [hidden]
        # Layer lists (convolutional nets): docs/spec-reference.md's encoder, decoder, input_shape.
        self.encoder, self.decoder, self.input_shape = s.get("encoder"), s.get("decoder"), s.get("input_shape")
        data = s.get("data")
        dname = data.get("name") if isinstance(data, dict) else data
        default_dim = {"smiley": 1024, "fashion-mnist": 784, "fashion": 784, "har": 561}.get(dname)
        if dname == "images":
            size, channels = (data.get("size", 32), data.get("channels", 3)) if isinstance(data, dict) else (32, 3)
            default_dim = size * size * channels
            if self.input_shape is None and s.get("input_dim", default_dim) == default_dim:
                self.input_shape = [size, size, channels]
        self.input_dim = s.get("input_dim", default_dim)
        self.latent = s["latent"]
        self.likelihood = s.get("likelihood", "gaussian")
        self.spike = s.get("spike", "relu")
        self.norm = s.get("input_normalisation", "none")
        self.activation = torch.tanh if s.get("activation", "relu") == "tanh" else F.relu
        self.seed = int(s.get("seed", 0))
        self.iterations = int(s.get("iterations", 10000))
        p = s.get("prior") or {}
        sel = p.get("selection") or {}
        self.selection = sel.get("kind", "authors")
        self.sel_a, self.sel_b = float(sel.get("a", 60)), float(sel.get("b", 0.5))
        nu = p.get("spike_sharpness", 10)
        self.sharpness = None if nu == "none" else float(nu)
        c = (s.get("schedules") or {}).get("c", {"start": 50, "end": 200})
        self.c = c

    def final_c(self, total_iterations):
        t = max(0, total_iterations - 1)
        c = self.c
        if not isinstance(c, dict):
            return float(c)
        if "fixed" in c:
            return float(c["fixed"])
        start, end, its = float(c.get("start", 50)), float(c.get("end", 200)), int(c.get("iterations", 0))
        n = its if its > 0 else self.iterations
        return end if n <= 1 else start + (end - start) * min(1.0, t / (n - 1))


def tensors(t, name):
    """vsc's `<name>.w` and `<name>.b` as torch tensors."""
    return torch.from_numpy(t[name + ".w"].copy()), torch.from_numpy(t[name + ".b"].copy())


def apply_layer(t, name, layer, h):
    """One layer of a list (bench/layers.py) with the checkpoint's weights `<name>.w/.b`. Images
    are NCHW here; vsc's are NHWC, so a flatten reads them in HWC order and a reshape fills them
    so. Filters are vsc's [K, K, C_in, C_out] (HWIO; a transposed convolution's [K, K, C_out,
    C_in], the filter of the convolution it transposes): permute(3, 2, 0, 1) gives PyTorch's."""
    B = h.shape[0]
    if layer.get("flatten"):
        return h.permute(0, 2, 3, 1).reshape(B, -1) if h.dim() == 4 else h
    if "reshape" in layer:
        hh, w, c = layer["reshape"]
        return h.reshape(B, hh, w, c).permute(0, 3, 1, 2)
    w, b = tensors(t, name)
    if "dense" in layer:
        return h @ w + b
    stride, padding = layer.get("stride", 1), layer.get("padding", 0)
    if "conv" in layer:
        return F.conv2d(h, w.permute(3, 2, 0, 1), b, stride=stride, padding=padding)
    return F.conv_transpose2d(h, w.permute(3, 2, 0, 1), b, stride=stride, padding=padding,
                              output_padding=layer.get("output_padding", 0))


def linear(t, name):
    """An nn.Linear holding vsc's `<name>.w` [in, out] and `<name>.b`."""
    w, b = t[name + ".w"], t[name + ".b"]
    layer = nn.Linear(w.shape[0], w.shape[1])
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w.T.copy()))
        layer.bias.copy_(torch.from_numpy(b.copy()))
    return layer


class VSCModel(nn.Module):
    def __init__(self, spec, t):
        super().__init__()
        self.spec = spec
        self.t = t
        # The networks as layer lists (an MLP's hidden sizes are dense layers, the decoder their
        # mirror), their parameterised layers named enc.h<k> / dec.h<k> by list index, and the
        # decoder's last layer the likelihood's heads, as Sources/Models/Networks.swift builds them.
        enc, dec, self.shape = layers.layer_lists(spec.input_dim, spec.latent, spec.hidden, spec.encoder,
                                                  spec.decoder, spec.input_shape)
        self.enc = [(f"enc.h{k}", layer) for k, layer in enumerate(enc)]
        self.dec = [(f"dec.h{k}", layer) for k, layer in enumerate(dec[:-1])]
        self.head = dec[-1]
        self.mu, self.logvar = linear(t, "enc.mu"), linear(t, "enc.logvar")
        self.spike = linear(t, "enc.spike") if spec.kind == "vsc" else None
        if spec.kind == "vsc":
            self.pseudo = torch.from_numpy(t["pseudo_inputs"].copy())
            self.select = linear(t, "select") if spec.selection in ("paper", "authors") else None

    def normalise(self, x):
        if self.spec.norm == "signed":
            return x * 2 - 1
        if self.spec.norm == "unit_l2":
            return x / x.square().sum(-1, keepdim=True).clamp_min(1e-12).sqrt()
        return x

    def run(self, net, h):
        """A list's layers, the activation after every parameterised one."""
        for name, layer in net:
            h = apply_layer(self.t, name, layer, h)
            if not (layer.get("flatten") or "reshape" in layer):
                h = self.spec.activation(h)
        return h

    def heads(self, h, name):
        """The decoder's last layer as the head `name`, flattened to [B, D] in HWC order."""
        y = apply_layer(self.t, name, self.head, h)
        return y.permute(0, 2, 3, 1).reshape(y.shape[0], -1) if y.dim() == 4 else y

    def encode(self, xe):
        h = xe
        if len(self.shape) == 3:
            hh, w, c = self.shape
            h = h.reshape(h.shape[0], hh, w, c).permute(0, 3, 1, 2)
        h = self.run(self.enc, h)
        if h.dim() == 4:  # the heads are dense from the last layer, flattened
            h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)
        v = self.spike(h) if self.spike is not None else None
        gamma = None
        if v is not None:
            gamma = (-F.relu(-v) if self.spec.spike == "relu" else -F.softplus(-v)).exp()
        return self.mu(h), self.logvar(h), gamma

    def nll(self, x, z):
        h = self.run(self.dec, z)
        if self.spec.likelihood == "gaussian":
            m, lv = self.heads(h, "dec.mean"), self.heads(h, "dec.logvar").clamp_min(MIN_LOGVAR)
            return (0.5 * (lv + (x - m).square() * (-lv).exp() + math.log(2 * math.pi))).sum(-1)
        logits = self.heads(h, "dec.logits")
        return (F.softplus(logits) - x * logits).sum(-1)

    @staticmethod
    def spike_slab_kl(qmu, qlv, qg, pmu, plv, pg):
        """Per example and component: sum_j KL of Sources/Models/SpikeSlab.swift (corrected eq. 6)."""
        qg, pg = qg.clamp(EPS, 1 - EPS), pg.clamp(EPS, 1 - EPS)
        qmu, qlv, qg = qmu[:, None], qlv[:, None], qg[:, None]
        pmu, plv, pg = pmu[None], plv[None], pg[None]
        dlv = plv - qlv
        slab = 0.5 * (dlv + (-dlv).exp() + (qmu - pmu).square() * (-plv).exp() - 1)
        on = qg * (qg.log() - pg.log())
        off = (1 - qg) * (torch.log1p(-qg) - torch.log1p(-pg))
        return (qg * slab + on + off).sum(-1)

    def terms(self, x, c, key):
        """recon and kl per example [B], as the train graph outputs them at lambda = 1."""
        s = self.spec
        xe = self.normalise(x)
        mu, lv, gamma = self.encode(xe)
        B, J = mu.shape
        eps = torch.from_numpy(random_normal((B, J), s.seed * 2 + 1, key))
        if s.kind != "vsc":
            z = mu + (0.5 * lv).exp() * eps
            kl = 0.5 * (mu.square() + lv.exp() - 1 - lv).sum(-1)
            return self.nll(x, z), kl
        eta = torch.from_numpy(random_uniform((B, J), s.seed * 2 + 2, key))
        # The warm-up (eq. 7) at lambda = 1 is the identity; its stable form as the graph has it.
        top = lv.clamp_min(0)
        lv_w = top + ((lv - top).exp()).clamp_min(1e-30).log()
        z = torch.sigmoid(c * (eta - 1 + gamma)) * (mu + (0.5 * lv_w).exp() * eps)
        recon = self.nll(x, z)
        pmu, plv, pg_raw = self.encode(self.normalise(self.pseudo))
        pg = pg_raw if s.sharpness is None else torch.sigmoid((pg_raw - 0.5) * s.sharpness)
        # The true KL: slab_bounds only shape the loss; the train graph's kl (the ELBO's) is unbounded.
        kl_u = self.spike_slab_kl(mu, lv, gamma, pmu, plv, pg)  # [B, U]
        if s.selection == "mixture":
            kl = -torch.logsumexp(-kl_u, -1) + math.log(kl_u.shape[1])
        else:
            if s.selection == "paper":
                r = F.relu(self.select(xe))
                u = r / r.sum(-1, keepdim=True).clamp_min(1e-12)
                w = torch.sigmoid((u - s.sel_b) * s.sel_a)
            else:
                g = torch.sigmoid(self.select(xe))
                w = g / g.square().sum(-1, keepdim=True).clamp_min(1e-24).sqrt()
            kl = (kl_u * w).sum(-1) / w.sum(-1).clamp_min(1e-30)
        return recon, kl


def test_elbo(checkpoint, data, batch_size=500):
    t, meta = load_checkpoint(checkpoint)
    spec = Spec(meta["spec"])
    if spec.kind == "betatcvae":
        spec.kind = "vae"
    total = int(meta.get("total_iterations", spec.iterations))
    c = spec.final_c(total)
    model = VSCModel(spec, t)
    x = torch.from_numpy(read_vscd(data))
    n = x.shape[0]
    B = min(batch_size, max(n, 1))
    batches = (n + B - 1) // B
    recon = kl = 0.0
    with torch.no_grad():
        for b in range(batches):
            xb = x[b * B:(b + 1) * B]
            # ModelRunner.elbo's noise key: 4,000,000 + sample * batches + batch (one sample).
            r, k = model.terms(xb, c, key=4_000_000 + b)
            recon += float(r.double().sum())
            kl += float(k.double().sum())
    recon, kl = recon / n, kl / n
    return {"elbo": -(recon + kl), "recon": recon, "kl": kl, "examples": n, "c": c}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("data", help="a vsc data set file (vsc data smiley --out FILE)")
    p.add_argument("--batch-size", type=int, default=500, help="as vsc eval's --batch-size (default 500)")
    a = p.parse_args()
    torch.set_num_threads(1)
    print(json.dumps(test_elbo(a.checkpoint, a.data, a.batch_size)))


if __name__ == "__main__":
    main()
