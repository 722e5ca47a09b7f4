#!/usr/bin/python3
"""int8 quantization recipe study for the real (fused) MobileOne-S0.

Run:  /usr/bin/python3 bench/quantization/int8_recipe_study.py   (writes results.json, table.md,
      recipe.json into build/int8_study; needs ../shared beside the repository, torch, numpy)

Data use (fixed, deterministic):
  calibration/ (183 photos, sorted by name) is split in two: even positions -> calA (92, FIT: activation
  ranges, equalization statistics, bias correction), odd positions -> calB (91, SELECTION: every choice
  the script makes is made on calB's mean KL; the per-layer sensitivity is measured on all of calibration).
  evaluation/ (141 photos) is only run through the finished recipes to report agreement; nothing reads
  its numbers to make a choice.
  The shipped recipe (recipe.json) is refit on all 183 calibration photos; its evaluation numbers are
  reported separately.

Arithmetic simulated for an int8 layer (float32 everywhere the engine uses float32):
  q   = clamp(round_half_even(x * float32(1/s_in)), 0, 255)            uint8 input, zero point 0
  acc = sum q * wq                                                       int32 (exact: float32 conv on
                                                                         integers, |partial sums| < 2^24 checked)
  z   = acc * float32(s_in*s_w[c]) + bias[c] (+ float32(d[c]*s_in) * q[c]  if the diagonal is split)
  y   = relu(z)   -> quantized by the next int8 layer's q = ... (fused requantization)
  wq  = clamp(round_half_even(w / s_w[c]), -127, 127), s_w[c] = max|w[c]|/127 or MSE-optimal clip.
The stem runs on the uint8 pixels the preprocessing produces: (p/255 - mean)/std = p*a_c + b_c is folded into
the stem weights (w' = w*a_c, quantized per output channel) and the b_c part plus the bias is a float
per-position bias map (exact at the borders, where the zero padding is in the normalized domain).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "weights"))
from convert import load_checkpoint  # noqa: E402
from mobileone_graph import fused_layers  # noqa: E402
from mone_blob import LayerKind  # noqa: E402

OUT = os.path.join(REPO, "build", "int8_study")
CACHE = os.path.join(OUT, "cache")
SHARED = os.environ.get("MOBILEONE_SHARED", os.path.join(REPO, "..", "shared"))
CKPT = os.path.join(SHARED, "weights", "mobileone_s0.pth.tar")
PHOTOS = os.path.join(SHARED, "photos")
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
CHUNK = 32
HIST_BINS = 1 << 16
CL = torch.channels_last

torch.set_num_threads(2)
T0 = time.time()


def log(*a):
    print(f"[{time.time() - T0:7.1f}s]", *a, flush=True)


# ----------------------------------------------------------------------------------------------------------
# network

KINDS = {LayerKind.STEM: "stem", LayerKind.DEPTHWISE: "dw", LayerKind.POINTWISE: "pw", LayerKind.LINEAR: "linear"}


class L:
    """One compute layer of the fused graph. w, b: float64 master copies (PyTorch layout)."""

    def __init__(self, name, kind, cin, cout, stride, w, b, hw_out):
        self.name, self.kind, self.cin, self.cout, self.stride = name, kind, cin, cout, stride
        self.w, self.b = w, b
        self.hw_out = hw_out
        self.square = kind == "pw" and cin == cout and stride == 1  # identity (BN) branch was folded in
        self.identity_folded = (kind in ("pw", "dw")) and cin == cout and stride == 1
        self.macs = w.size * (hw_out * hw_out if kind != "linear" else 1)

    def copy(self):
        c = L.__new__(L)
        c.__dict__.update(self.__dict__)
        c.w, c.b = self.w.copy(), self.b.copy()
        return c


def load_net():
    state, arch = load_checkpoint(CKPT, None)
    assert arch.fused and arch.variant() == "s0", arch
    net, hw = [], 224
    for layer in fused_layers(state, arch):
        if layer.kind in (LayerKind.AVGPOOL,):
            continue
        assert layer.kind in KINDS and not layer.kind == LayerKind.SQUEEZE_EXCITE
        w, b = (t.astype(np.float64) for _, t in layer.tensors)
        kind = KINDS[layer.kind]
        if kind in ("stem", "dw"):
            hw = (hw - 1) // layer.stride + 1
        net.append(L(layer.name, kind, layer.in_channels, layer.out_channels, layer.stride, w, b, hw))
    return net


def conv(x, w, layer):
    if layer.kind == "linear":
        return x @ w.t()
    if layer.kind == "pw":
        return F.conv2d(x, w)
    return F.conv2d(x, w, stride=layer.stride, padding=1, groups=layer.cin if layer.kind == "dw" else 1)


def t32(a, shape=None):
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return t.view(shape) if shape is not None else t


def wshape(layer, w):
    t = t32(w)
    return t if layer.kind == "linear" else t.contiguous(memory_format=CL)


def cshape(layer):
    return (-1,) if layer.kind == "linear" else (-1, 1, 1)


# ----------------------------------------------------------------------------------------------------------
# data

def load_data():
    path = os.path.join(CACHE, "inputs.pt")
    if os.path.exists(path):
        return torch.load(path)
    from PIL import Image
    import torchvision.transforms as T
    crop = T.Compose([T.Resize(256), T.CenterCrop(224)])  # PIL bilinear (antialiased), as the engine
    norm = T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)])
    names, split, pix, xs, ref = [], [], [], [], {}
    for folder in ("calibration", "evaluation"):
        d = os.path.join(PHOTOS, folder)
        with open(os.path.join(d, "s0_top5.json")) as f:
            top5 = json.load(f)["images"]
        files = sorted(f for f in os.listdir(d) if f.lower().endswith((".jpg", ".jpeg", ".png")))
        assert set(files) == set(top5), folder
        for i, fn in enumerate(files):
            im = crop(Image.open(os.path.join(d, fn)).convert("RGB"))
            pix.append(torch.from_numpy(np.array(im)).permute(2, 0, 1).contiguous())
            xs.append(norm(im))
            names.append(f"{folder}/{fn}")
            split.append("eval" if folder == "evaluation" else ("calA" if i % 2 == 0 else "calB"))
            ref[names[-1]] = top5[fn]["top5"]
    data = dict(names=names, split=split, pix=torch.stack(pix), x=torch.stack(xs), ref=ref)
    os.makedirs(CACHE, exist_ok=True)
    torch.save(data, path)
    return data


# ----------------------------------------------------------------------------------------------------------
# quantization primitives

def weight_scales(w2d, method):
    """Per output channel scale for symmetric int8 [-127, 127]. w2d: [out, k] float64."""
    amax = np.abs(w2d).max(1)
    amax = np.where(amax > 0, amax, 1e-30)
    if method == "max":
        return amax / 127.0
    assert method == "mse"
    ratios = np.linspace(0.30, 1.0, 71)
    best, best_err = amax / 127.0, np.full(len(w2d), np.inf)
    for r in ratios:
        s = amax * r / 127.0
        q = np.clip(np.round(w2d / s[:, None]), -127, 127) * s[:, None]
        err = ((w2d - q) ** 2).sum(1)
        better = err < best_err
        best[better], best_err[better] = s[better], err[better]
    return best


def quantize_weights(w2d, s):
    return np.clip(np.round(w2d / s[:, None]), -127, 127)


class Hist:
    """Exact zero count + histogram of the positive values of a post-ReLU tensor on [0, max] (chunked)."""

    def __init__(self, x):
        chunks = [x[c:c + CHUNK] for c in range(0, len(x), CHUNK)]
        self.n = x.numel()
        self.max = max(float(c.max()) for c in chunks)
        self.zeros = sum(int((c == 0).sum()) for c in chunks)
        self.counts = np.zeros(HIST_BINS)
        if self.max > 0:
            for c in chunks:
                self.counts += torch.histc(c, bins=HIST_BINS, min=0.0, max=self.max).double().numpy()
            self.counts[0] -= self.zeros
        self.width = self.max / HIST_BINS
        self.centers = (np.arange(HIST_BINS) + 0.5) * self.width


def act_threshold(h: Hist, method):
    if h.max <= 0:
        return 1.0
    if method == "max":
        return h.max
    if method.startswith("p"):
        p = float(method[1:]) / 100.0
        cum = h.zeros + np.cumsum(h.counts)
        i = int(np.searchsorted(cum, p * h.n))
        return min(h.max, (i + 1) * h.width)
    if method == "mse":
        cands = h.max * np.geomspace(0.02, 1.0, 200)
        nz = h.counts > 0
        xc, nc = h.centers[nz], h.counts[nz]
        best, best_err = h.max, np.inf
        for t in cands:
            s = t / 255.0
            err = float((nc * (xc - np.clip(np.round(xc / s), 0, 255) * s) ** 2).sum())
            if err < best_err:
                best, best_err = t, err
        return best
    if method == "kl":  # TensorRT-style entropy calibration on a 2048-bin histogram, 256 levels
        bins, levels = 2048, 256
        c = h.counts.reshape(bins, -1).sum(1)
        c[0] += h.zeros
        best_i, best_kl = bins, np.inf
        for i in range(levels, bins + 1, 4):
            p = c[:i].copy()
            p[-1] += c[i:].sum()
            idx = (np.arange(i) * levels) // i
            sums = np.bincount(idx, weights=c[:i], minlength=levels)
            nonzero = np.bincount(idx, weights=(c[:i] > 0).astype(float), minlength=levels)
            q = np.where(c[:i] > 0, sums[idx] / np.maximum(nonzero[idx], 1), 0.0)
            ps, qs = p.sum(), q.sum()
            if qs <= 0:
                continue
            pn, qn = p / ps, q / qs
            m = pn > 0
            kl = float((pn[m] * np.log(pn[m] / np.maximum(qn[m], 1e-30))).sum())
            if kl < best_kl:
                best_i, best_kl = i, kl
        return best_i * h.max / bins
    raise ValueError(method)


# ----------------------------------------------------------------------------------------------------------
# equalization (exact re-scalings of the float model)

def pair_scale(a, b, recipe, chan_max, alpha):
    """Scales s (a's output channel c divided by s_c, b's input column c multiplied by s_c) for a pair whose
    consumer b is a 1x1 / linear layer with per-output-channel weights."""
    wb = b.w.reshape(b.cout, b.cin).copy()
    if recipe.get("split_diag") and b.square:
        np.fill_diagonal(wb, 0.0)
    if recipe.get("cle") == "nagel":
        r1 = np.abs(a.w.reshape(a.cout, -1)).max(1)
        r2 = np.abs(wb).max(0)
        ok = (r1 > 0) & (r2 > 0)
        return np.where(ok, np.sqrt(np.where(ok, r1, 1) / np.where(ok, r2, 1)), 1.0)
    act = chan_max[b.name]
    rowmax = np.abs(wb).max(1, keepdims=True)
    wc = (np.abs(wb) / np.where(rowmax > 0, rowmax, 1)).max(0)
    ok = (act > 0) & (wc > 0)
    s = np.where(ok, np.where(ok, act, 1) ** alpha / np.where(ok, wc, 1) ** (1 - alpha), 1.0)
    return np.where(ok, s / np.exp(np.log(s[ok]).mean()) if ok.any() else s, 1.0)


def layer_param(recipe, key, name, default):
    """A recipe setting, overridden per layer by recipe["layer_params"][name][key] (per-layer tuning)."""
    lp = recipe.get("layer_params", {}).get(name, {})
    if key in lp:
        return lp[key]
    v = recipe.get(key, default)
    return v.get(name, default) if isinstance(v, dict) else v


TUNE_ALPHAS = (0.25, 0.5, 0.75, 1.0)
TUNE_ACTS = ("p99.99", "p99.999")


def tune_layers(net, recipe, data, fit_idx, chan_stats, ref_fit):
    """Per-layer choice, by end-to-end KL on the fit photos with only that layer in int8 (all others fp32):
    for 1x1 / linear layers the equalization exponent alpha (TUNE_ALPHAS) and the activation threshold
    method (TUNE_ACTS), for depthwise layers the threshold method. Bias correction as in the recipe."""
    chan_max = chan_stats[recipe.get("chan_stat", "max")]
    fp = float_plan(net)
    lp_ref = torch.log_softmax(ref_fit, 1)
    params = {}
    n = len(fit_idx)
    with torch.no_grad():
        x = data["x"][fit_idx].contiguous(memory_format=CL)
        for i, layer in enumerate(net):
            cands = []
            if layer.kind in ("pw", "linear"):
                cands = [dict(alpha=a, act=m) for a in TUNE_ALPHAS for m in TUNE_ACTS]
            elif layer.kind == "dw":
                cands = [dict(act=m) for m in TUNE_ACTS]
            if cands and is_int8(layer, recipe):
                xin = x.mean((2, 3)) if layer.kind == "linear" else x
                zf = torch.cat([run_layer(layer, fp[i], xin[c:c + CHUNK]) for c in range(0, n, CHUNK)])
                shape = (1, -1) if layer.kind == "linear" else (1, -1, 1, 1)
                scores = []
                for cand in cands:
                    if layer.kind == "dw":
                        r = chan_max[layer.name] if recipe.get("cle") == "act" else np.ones(layer.cin)
                        sc = np.where(r > 0, r / max(r.max(), 1e-30), 1.0)
                        wmul = sc.reshape(-1, 1, 1, 1)
                    else:
                        sc = pair_scale(net[i - 1], layer, recipe, chan_max, cand["alpha"]) \
                            if recipe.get("cle") == "act" else np.ones(layer.cin)
                        wmul = sc.reshape(shape)
                    t = layer.copy()
                    t.w = t.w * wmul
                    xs = xin / t32(sc, shape)
                    p = int8_layer(t, act_threshold(Hist(xs), cand["act"]) / 255.0, recipe)
                    zq = torch.cat([run_layer(t, p, xs[c:c + CHUNK]) for c in range(0, n, CHUNK)])
                    if recipe.get("bc", "none") != "none":
                        dims = (0,) if layer.kind == "linear" else (0, 2, 3)
                        zq += ((zf.double() - zq.double()).mean(dims)).float().reshape(
                            (-1,) if layer.kind == "linear" else (-1, 1, 1))
                    kl = 0.0
                    for c in range(0, n, CHUNK):
                        z = zq[c:c + CHUNK]
                        lg = z if layer.kind == "linear" else forward_chunk(net, fp, z.relu(), None, i + 1)
                        lq = torch.log_softmax(lg.double(), 1)
                        lpr = lp_ref[c:c + CHUNK]
                        kl += float((lpr.exp() * (lpr - lq)).sum())
                    scores.append(kl / n)
                k = int(np.argmin(scores))
                params[layer.name] = dict(cands[k], kl=scores[k], kl_default=scores[cands.index(
                    next(c for c in cands if c["act"] == recipe.get("act") and c.get("alpha", None) in
                         (None, recipe.get("alpha"))))] if any(c["act"] == recipe.get("act") and c.get("alpha", None)
                                                               in (None, recipe.get("alpha")) for c in cands) else None)
                log(f"tune {layer.name:10s} -> {cands[k]} KL {scores[k]:.5f} (candidates "
                    + " ".join(f"{s:.5f}" for s in scores) + ")")
            z = torch.cat([run_layer(layer, fp[i], x[c:c + CHUNK], data["pix"][fit_idx][c:c + CHUNK])
                           for c in range(0, n, CHUNK)])
            if layer.kind == "linear":
                break
            x = z.relu_()
    return params


ALPHA_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
ALPHA_CACHE = {}


def choose_alphas(net, recipe, data, fit_idx, chan_stats):
    """Per 1x1/linear layer, the equalization exponent alpha (grid ALPHA_GRID) that minimizes the MSE of
    that layer's post-ReLU output (logits for the linear) when only it is quantized, fp32 inputs, fit photos."""
    key = (recipe.get("act", "max"), recipe.get("chan_stat", "max"), bool(recipe.get("split_diag")),
           recipe.get("wscale", "max"), fit_key(fit_idx))
    if key in ALPHA_CACHE:
        return ALPHA_CACHE[key]
    chan_max = chan_stats[recipe.get("chan_stat", "max")]
    fp = float_plan(net)
    chosen, errs = {}, {}
    with torch.no_grad():
        x = data["x"][fit_idx].contiguous(memory_format=CL)
        pix = data["pix"][fit_idx]
        for i, layer in enumerate(net):
            xin = x.mean((2, 3)) if layer.kind == "linear" else x
            if layer.kind in ("pw", "linear") and net[i - 1].kind in ("dw", "pw"):
                zf = torch.cat([run_layer(layer, fp[i], xin[c:c + CHUNK]) for c in range(0, len(xin), CHUNK)])
                zf = zf if layer.kind == "linear" else zf.relu_()
                best = (np.inf, None)
                for al in ALPHA_GRID:
                    sc = pair_scale(net[i - 1], layer, recipe, chan_max, al)
                    t = layer.copy()
                    t.w = t.w * (sc.reshape(1, -1, 1, 1) if layer.kind == "pw" else sc.reshape(1, -1))
                    xs = xin / t32(sc, (1, -1) if layer.kind == "linear" else (1, -1, 1, 1))
                    p = int8_layer(t, act_threshold(Hist(xs), recipe.get("act", "max")) / 255.0, recipe)
                    err = 0.0
                    for c in range(0, len(xs), CHUNK):
                        zq = run_layer(t, p, xs[c:c + CHUNK])
                        zq = zq if layer.kind == "linear" else zq.relu_()
                        err += float(((zq - zf[c:c + CHUNK]).double() ** 2).sum())
                    errs[(layer.name, al)] = err
                    if err < best[0]:
                        best = (err, al)
                chosen[layer.name] = best[1]
            z = torch.cat([run_layer(layer, fp[i], x[c:c + CHUNK], pix[c:c + CHUNK]) for c in range(0, len(x), CHUNK)])
            if layer.kind == "linear":
                break
            x = z.relu_()
    ALPHA_CACHE[key] = chosen
    log("per-layer alpha:", " ".join(f"{k}={v}" for k, v in chosen.items()))
    return chosen


def equalize(net, recipe, chan_stats):
    """Returns a transformed copy of the network and, per layer, the input-/output-channel scales applied
    (w_in multiplies input channel c of the layer's weights, w_out divides its output channel c)."""
    method = recipe.get("cle", "none")
    new = [l.copy() for l in net]
    scales = {l.name: dict(in_mul=np.ones(l.cin), out_div=np.ones(l.cout)) for l in net}
    if method == "none":
        return new, scales
    alpha = recipe.get("alpha", 0.5)
    chan_max = chan_stats[recipe.get("chan_stat", "max")]
    for i in range(len(net) - 1):
        a, b = net[i], net[i + 1]
        if b.kind == "dw" and method == "act":
            # free for weights: a's rows and b's channels are both per-channel quantized. Equalize the
            # activation ranges of a's output (b's input) across channels.
            r = chan_max[b.name]
            s = np.where(r > 0, r / r.max(), 1.0)
        elif b.kind in ("pw", "linear") and a.kind in ("dw", "pw"):
            if method == "nagel" and not (a.kind == "dw" and b.kind == "pw"):
                continue
            s = pair_scale(a, b, recipe, chan_max, layer_param(recipe, "alpha", b.name, 0.5))
        else:
            continue
        na, nb = new[i], new[i + 1]
        na.w /= s.reshape((-1,) + (1,) * (na.w.ndim - 1))
        na.b /= s
        scales[a.name]["out_div"] *= s
        if nb.kind == "dw":
            nb.w *= s.reshape(-1, 1, 1, 1)
        elif nb.kind == "pw":
            nb.w *= s.reshape(1, -1, 1, 1)
        else:
            nb.w *= s.reshape(1, -1)
        scales[b.name]["in_mul"] *= s
    return new, scales


# ----------------------------------------------------------------------------------------------------------
# plans: one dict per layer, float32 tensors ready to run

def float_plan(net):
    return [dict(mode="float", w=wshape(l, l.w), b=t32(l.b, cshape(l))) for l in net]


def stem_affine():
    a = np.array([1.0 / (255.0 * s) for s in STD])
    c = np.array([-m / s for m, s in zip(MEAN, STD)])
    return a, c


def int8_layer(layer, s_in, recipe):
    """Quantized parameters of one layer (float64 master weights of the possibly equalized network)."""
    p = dict(mode="int8")
    w = layer.w.copy()
    if layer.kind == "stem":
        a, c = stem_affine()
        wf = w * a.reshape(1, 3, 1, 1)  # acts on raw uint8 pixels
        sw = weight_scales(wf.reshape(layer.cout, -1), recipe.get("wscale", "max"))
        wq = quantize_weights(wf.reshape(layer.cout, -1), sw).reshape(w.shape)
        # bias map: the b_c part of the normalization through the float weights (valid taps only) + bias
        const = torch.from_numpy(np.broadcast_to(c.reshape(1, 3, 1, 1), (1, 3, 224, 224)).copy())
        bmap = F.conv2d(const, torch.from_numpy(w), stride=2, padding=1)[0] + torch.from_numpy(layer.b).view(-1, 1, 1)
        p.update(wq=wshape(layer, wq), sw=sw, s_in=None, m=t32(sw, (-1, 1, 1)), bmap=bmap.float(),
                 b=t32(layer.b, (-1, 1, 1)))
        return p
    d = None
    if recipe.get("split_diag") and layer.square:
        w2 = w.reshape(layer.cout, layer.cin)
        d = np.diag(w2).copy()
        np.fill_diagonal(w2, 0.0)
    dwc = None
    if recipe.get("split_dwc") and layer.kind == "dw":
        dwc = w[:, 0, 1, 1].copy()
        w[:, 0, 1, 1] = 0.0
    w2d = w.reshape(layer.cout, -1)
    sw = weight_scales(w2d, recipe.get("wscale", "max"))
    wq = quantize_weights(w2d, sw).reshape(w.shape)
    if recipe.get("no_wq"):  # diagnostic: weights unrounded (float), only activations quantized
        wq = (w2d / sw[:, None]).reshape(w.shape)
    s_in = np.float64(np.float32(s_in))
    p.update(wq=wshape(layer, wq), sw=np.float32(sw).astype(np.float64), s_in=float(s_in),
             inv_s=float(np.float32(1.0 / s_in)), m=t32(s_in * np.float32(sw), cshape(layer)),
             b=t32(layer.b, cshape(layer)), d=d, dwc=dwc, no_aq=bool(recipe.get("no_aq")))
    if d is not None:
        p["dm"] = t32(d * s_in, (-1, 1, 1))
    if dwc is not None:
        p["dwcm"] = t32(dwc * s_in, (-1, 1, 1))
    return p


def run_layer(layer, p, x, pix=None):
    """Pre-activation output of one layer. x: float32 input as the previous layer left it (post-ReLU),
    for the linear layer the feature map before the global average pool."""
    if layer.kind == "linear" and x.dim() == 4:
        x = x.mean((2, 3))
    if p["mode"] == "float":
        return conv(x, p["w"], layer).add_(p["b"])
    if layer.kind == "stem":
        acc = conv(pix.float().contiguous(memory_format=CL), p["wq"], layer)
        return acc.mul_(p["m"]).add_(p["bmap"])
    q = torch.mul(x, p["inv_s"])
    if not p.get("no_aq"):  # diagnostic: no_aq leaves the activations unrounded and unclipped
        q = q.round_().clamp_(0, 255)
    z = conv(q, p["wq"], layer).mul_(p["m"]).add_(p["b"])
    if "dm" in p:
        z.addcmul_(p["dm"], q)
    if "dwcm" in p:
        z.addcmul_(p["dwcm"], q[:, :, ::layer.stride, ::layer.stride])
    return z


def forward_chunk(net, plan, x, pix, start=0):
    for i in range(start, len(net)):
        z = run_layer(net[i], plan[i], x, pix)
        x = z if net[i].kind == "linear" else z.relu_()
    return x


def forward(net, plan, data, idx):
    out = []
    with torch.no_grad():
        for c in range(0, len(idx), CHUNK):
            j = idx[c:c + CHUNK]
            x = data["x"][j].contiguous(memory_format=CL)
            out.append(forward_chunk(net, plan, x, data["pix"][j]))
    return torch.cat(out).double()


# ----------------------------------------------------------------------------------------------------------
# metrics

def metrics(ref_logits, logits):
    lp = torch.log_softmax(ref_logits, 1)
    lq = torch.log_softmax(logits, 1)
    kl = (lp.exp() * (lp - lq)).sum(1)
    t1 = (ref_logits.argmax(1) == logits.argmax(1)).double()
    a5, b5 = ref_logits.topk(5, 1).indices, logits.topk(5, 1).indices
    ov = torch.tensor([len(set(a.tolist()) & set(b.tolist())) / 5 for a, b in zip(a5, b5)])
    return dict(top1=float(t1.mean()), top5_overlap=float(ov.mean()), kl=float(kl.mean()), n=len(t1),
                flips=int((1 - t1).sum()))


# ----------------------------------------------------------------------------------------------------------
# fitting a recipe: sequential (layer by layer) pass over the fit photos with the fp32 and the int8 path

def is_int8(layer, recipe):
    if layer.name in recipe.get("float_layers", ()):
        return False
    if recipe.get("dw_float") and layer.kind == "dw":
        return False
    return True


def fit_key(fit_idx):
    return hash(tuple(fit_idx.tolist()))


def channel_stats(net, data, fit_idx):
    """Per-channel statistics of every layer's input in the fp32 network on the fit photos: max,
    99.99th / 99.999th percentile (zeros included) and the MSE-optimal uint8 clipping threshold."""
    path = os.path.join(CACHE, f"chan_stats_{len(fit_idx)}_{fit_key(fit_idx) & 0xffffffff:08x}.pt")
    if os.path.exists(path):
        return torch.load(path)
    fp = float_plan(net)
    out = {k: {} for k in ("max", "p99.99", "p99.999", "mse")}
    with torch.no_grad():
        x = data["x"][fit_idx].contiguous(memory_format=CL)
        for i, layer in enumerate(net):
            if layer.kind != "stem":
                src = x.mean((2, 3)) if layer.kind == "linear" else x
                v = src.t().contiguous() if src.dim() == 2 else src.permute(1, 0, 2, 3).reshape(layer.cin, -1)
                m = v.shape[1]
                out["max"][layer.name] = v.amax(1).double().numpy()
                for p in ("p99.99", "p99.999"):
                    k = min(m, max(1, math.ceil(float(p[1:]) / 100 * m)))
                    out[p][layer.name] = v.kthvalue(k, 1).values.double().numpy()
                sub = v[:, ::max(1, m // 32768)]
                cmax = sub.amax(1).clamp_min(1e-30)
                best = cmax.clone()
                best_err = torch.full_like(cmax, float("inf"))
                for r in np.geomspace(0.02, 1.0, 60):
                    sc = (cmax * r / 255.0)[:, None]
                    err = ((sub - (sub / sc).round_().clamp_(0, 255) * sc) ** 2).sum(1)
                    better = err < best_err
                    best[better], best_err[better] = (cmax * r)[better], err[better]
                out["mse"][layer.name] = torch.where(v.amax(1) > 0, best, torch.zeros_like(best)).double().numpy()
            z = torch.cat([run_layer(layer, fp[i], x[c:c + CHUNK], data["pix"][fit_idx][c:c + CHUNK])
                           for c in range(0, len(x), CHUNK)])
            if layer.kind == "linear":
                break
            x = torch.relu(z)
    torch.save(out, path)
    return out


HIST_CACHE = {}  # fp32 activation histograms depend only on the (equalized) float network and the photos


def fit(net0, recipe, data, fit_idx, chan_stats_by_set):
    chan_stats = chan_stats_by_set[fit_key(fit_idx)]
    if recipe.get("alpha") == "auto":
        recipe = dict(recipe, alpha=choose_alphas(net0, recipe, data, fit_idx, chan_stats))
    net, eq_scales = equalize(net0, recipe, chan_stats)
    fplan = float_plan(net)
    plan = []
    xf = data["x"][fit_idx].contiguous(memory_format=CL)
    xq = xf
    pix = data["pix"][fit_idx]
    n = len(fit_idx)
    bc = recipe.get("bc", "none")
    act = recipe.get("act", "max")

    def run(p, x, layer):
        first = run_layer(layer, p, x[:CHUNK], pix[:CHUNK])
        out = torch.empty((n,) + first.shape[1:], memory_format=CL if first.dim() == 4 else
                          torch.contiguous_format)
        out[:CHUNK] = first
        for c in range(CHUNK, n, CHUNK):
            out[c:c + CHUNK] = run_layer(layer, p, x[c:c + CHUNK], pix[c:c + CHUNK])
        return out

    with torch.no_grad():
        for i, layer in enumerate(net):
            zf = run(fplan[i], xf, layer)
            if is_int8(layer, recipe):
                s_in, thr = None, None
                if layer.kind != "stem":
                    from_q = recipe.get("calib_src", "fp32") == "quant" and xq is not xf
                    al = layer_param(recipe, "alpha", layer.name, 0.5)
                    key = (recipe.get("cle", "none"), al if recipe.get("cle") == "act" else 0,
                           recipe.get("chan_stat", "max") if recipe.get("cle") == "act" else 0,
                           bool(recipe.get("split_diag")), fit_key(fit_idx), layer.name)
                    if from_q or key not in HIST_CACHE:
                        src = xq if from_q else xf
                        h = Hist(src.mean((2, 3)) if layer.kind == "linear" else src)
                        if not from_q:
                            HIST_CACHE[key] = h
                    else:
                        h = HIST_CACHE[key]
                    thr = act_threshold(h, layer_param(recipe, "act", layer.name, act))
                    mode = recipe.get("dw_in" if layer.kind == "dw" else "pw_in", "tensor")
                    if mode == "chan":  # every channel clipped at its own per-channel threshold
                        t = chan_stats[recipe.get("chan_stat", "max")][layer.name] / eq_scales[layer.name]["in_mul"]
                        thr = float(t.max())
                    s_in = thr / 255.0
                p = int8_layer(layer, s_in, recipe)
                zq = run(p, xq, layer)
                delta = None
                if bc != "none":
                    dims = (0,) if layer.kind == "linear" else (0, 2, 3)
                    acc, cnt = 0.0, 0.0
                    for c in range(0, n, CHUNK):
                        target = zf[c:c + CHUNK] if bc.startswith("total") else \
                            run_layer(layer, fplan[i], xq[c:c + CHUNK], pix[c:c + CHUNK])
                        diff = target.double() - zq[c:c + CHUNK].double()
                        if bc.endswith("_pos") and layer.kind != "linear":  # only where the float output is active
                            mask = (target > 0).double()
                            acc = acc + (diff * mask).sum(dims)
                            cnt = cnt + mask.sum(dims)
                        else:
                            acc = acc + diff.sum(dims)
                            cnt = cnt + diff[:, 0].numel()
                    delta = (acc / torch.as_tensor(cnt).clamp_min(1)).numpy()
                    key = "bmap" if layer.kind == "stem" else "b"
                    p[key] = p[key] + t32(delta, cshape(layer))
                    zq += t32(delta, cshape(layer))
                p["bias_delta"] = delta
                p["threshold"] = thr
                plan.append(p)
            else:
                zq = zf if xq is xf else run(fplan[i], xq, layer)
                plan.append(fplan[i])
            if layer.kind == "linear":
                break
            same = zq is zf
            xf = zf.relu_()
            xq = xf if same else zq.relu_()
    return net, plan, eq_scales


def int8_macs(net, recipe):
    tot, q = 0, 0
    for l in net:
        tot += l.macs
        if is_int8(l, recipe):
            m = l.macs
            if recipe.get("split_diag") and l.square:
                m -= l.cout * l.hw_out ** 2
            if recipe.get("split_dwc") and l.kind == "dw":
                m -= l.cout * l.hw_out ** 2
            q += m
    return q, tot


# ----------------------------------------------------------------------------------------------------------
# study

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="only the fp32 check and the naive recipe")
    args = ap.parse_args()
    net = load_net()
    data = load_data()
    split = np.array(data["split"])
    idx = {s: torch.from_numpy(np.nonzero(split == s)[0]) for s in ("calA", "calB", "eval")}
    idx["cal"] = torch.from_numpy(np.nonzero(split != "eval")[0])
    alli = torch.arange(len(split))
    log("photos:", {k: len(v) for k, v in idx.items()})
    total_macs = sum(l.macs for l in net)
    log(f"layers {len(net)}, MACs {total_macs / 1e6:.2f} M")
    results = dict(photos={k: [data["names"][i] for i in v] for k, v in idx.items()})

    # fp32 reference of the fused graph, checked against PyTorch's top-5 files
    fp = float_plan(net)
    ref_path = os.path.join(CACHE, "fp32_logits.pt")
    ref = forward(net, fp, data, alli)
    torch.save(ref, ref_path)
    prob = torch.softmax(ref, 1)
    top1_ok, maxdp = 0, 0.0
    for i, n in enumerate(data["names"]):
        r = data["ref"][n]
        top1_ok += int(prob[i].argmax()) == r[0]["index"]
        maxdp = max(maxdp, max(abs(float(prob[i, e["index"]]) - e["prob"]) for e in r))
    log(f"fp32 fused graph vs PyTorch top-5 files: top-1 equal on {top1_ok}/{len(alli)} photos, "
        f"max |prob - ref| over the listed top-5 = {maxdp:.2e}")
    results["fp32_check"] = dict(top1_equal=top1_ok, photos=len(alli), max_abs_prob_diff=maxdp)

    # per-channel statistics of every layer's input (fp32): for activation equalization
    chan_stats = {fit_key(idx[k]): channel_stats(net, data, idx[k]) for k in ("calA", "cal")}
    log("per-channel activation statistics collected (calA and all calibration)")

    table = []

    def evaluate(name, recipe, fit_on="calA", note="", sets=("calB", "eval")):
        t = time.time()
        qnet, plan, eq = fit(net, recipe, data, idx[fit_on], chan_stats)
        run_idx = torch.cat([idx[s] for s in sets]) if "cal" not in sets else alli
        logits = torch.zeros(len(alli), 1000, dtype=torch.float64)
        logits[run_idx] = forward(qnet, plan, data, run_idx)
        row = dict(name=name, recipe=recipe, fit_on=fit_on, note=note)
        for s in ("calA", "calB", "cal", "eval"):
            if s in sets or "cal" in sets:
                row[s] = metrics(ref[idx[s]], logits[idx[s]])
        q, tot = int8_macs(net, recipe)
        row["int8_mac_share"] = q / tot
        row["seconds"] = time.time() - t
        table.append(row)
        log(f"{name:34s} calB top1 {row['calB']['top1']:.3f} KL {row['calB']['kl']:.4f} | "
            f"int8 MACs {100 * q / tot:.1f}% ({row['seconds']:.0f}s)")
        return row, (qnet, plan, eq, logits)

    base = dict(act="max", wscale="max")
    evaluate("(a) naive: w max, act max", base, sets=("cal", "eval"))
    if args.quick:
        dump(results, table)
        return

    def pick(rows):
        return min(rows, key=lambda r: r["calB"]["kl"])

    # activation calibration
    rows = [table[-1]]
    for m in ("p99.99", "p99.999", "mse", "kl"):
        rows.append(evaluate(f"(a) act {m}", dict(base, act=m))[0])
    best = dict(pick(rows)["recipe"])
    log("picked activation calibration:", best["act"])
    # weight scales
    r_mse = evaluate("(a) + weights MSE", dict(best, wscale="mse"))[0]
    best = dict(pick([pick(rows), r_mse])["recipe"])
    # (b) diagonal split
    cur = pick([r for r in table if r["recipe"] == best])
    r_b = evaluate("(b) + split pw diagonal", dict(best, split_diag=True))[0]
    r_b2 = evaluate("(b') + split pw diag + dw centre", dict(best, split_diag=True, split_dwc=True))[0]
    cur = pick([cur, r_b, r_b2])
    best = dict(cur["recipe"])
    # (c) equalization
    cands = [cur, evaluate("(c) + CLE dw->pw (Nagel)", dict(best, cle="nagel"))[0]]
    for a in (0.25, 0.5, 0.75, 1.0):
        cands.append(evaluate(f"(c') + act-equalization a={a}", dict(best, cle="act", alpha=a))[0])
    cur = pick(cands)
    best = dict(cur["recipe"])
    # activation calibration again, after the equalization
    cands = [cur]
    for m in ("max", "p99.99", "p99.999", "mse", "kl"):
        if m != best["act"]:
            cands.append(evaluate(f"    re-calibrate act {m}", dict(best, act=m))[0])
    cur = pick(cands)
    best = dict(cur["recipe"])
    # (d) bias correction
    cands = [cur, evaluate("(d) + bias corr. (local)", dict(best, bc="local"))[0],
             evaluate("(d) + bias corr. (total)", dict(best, bc="total"))[0]]
    cur = pick(cands)
    best = dict(cur["recipe"])
    # calibrate on the int8 path instead of the fp32 path
    cands = [cur, evaluate("    act stats from int8 path", dict(best, calib_src="quant"))[0]]
    cur = pick(cands)
    best = dict(cur["recipe"])
    best_int8 = dict(best)
    log("best all-int8 recipe:", best_int8)
    # (f) depthwise in float
    r_f = evaluate("(f) + depthwise in float", dict(best, dw_float=True))[0]

    # (e) per-layer sensitivity: one layer int8 (with best_int8's settings), all others fp32, on calibration
    sens = sensitivity(net, best_int8, data, idx, chan_stats, ref)
    results["sensitivity"] = sens
    order = [s["name"] for s in sorted(sens, key=lambda s: -s["kl"])]
    # fixed candidate sets from the literature's usual suspects
    for fl in (["linear"], ["stage0"], ["stage0", "linear"], ["stage0", "stage1.0", "stage1.1", "linear"],
               ["stage4.0", "stage4.1", "linear"]):
        evaluate("(e) float: " + ",".join(fl), dict(best_int8, float_layers=fl))
    # greedy by sensitivity: add float layers in order while calB KL improves by >= 5% per layer
    greedy, prev, floats = [], cur, []
    for k in range(1, 9):
        floats = order[:k]
        r = evaluate(f"(e) greedy {k}: +{order[k - 1]}", dict(best_int8, float_layers=list(floats)))[0]
        greedy.append(r)
        if r["calB"]["kl"] > 0.95 * prev["calB"]["kl"]:
            break
        prev = r
    results["greedy_stop"] = dict(last_kept=prev["name"])
    final = dict(prev["recipe"])
    log("final recipe (selected on calB):", final)
    # refit on all calibration photos
    evaluate("final recipe, fit on calA", final, sets=("cal", "eval"))
    row, (qnet, plan, eq, logits) = evaluate("FINAL refit on all calibration", final, fit_on="cal",
                                             note="shipped", sets=("cal", "eval"))
    results["final"] = dict(recipe=final, row=row)
    accumulator_check(qnet, plan, data, alli, results)
    write_recipe(net, qnet, plan, eq, final, row)
    dump(results, table)


def sensitivity(net, recipe, data, idx, chan_stats, ref):
    """KL(fp32 || net with only layer l in int8) on all calibration photos, for every layer l. The int8
    parameters of layer l are those of the all-int8 recipe fit on calA."""
    qnet, plan, _ = fit(net, recipe, data, idx["calA"], chan_stats)
    fplan = float_plan(qnet)
    cal = idx["cal"]
    out = []
    with torch.no_grad():
        x = data["x"][cal].contiguous(memory_format=CL)
        pix = data["pix"][cal]
        for i, layer in enumerate(qnet):
            logits = []
            for c in range(0, len(cal), CHUNK):
                z = run_layer(layer, plan[i], x[c:c + CHUNK], pix[c:c + CHUNK])
                if layer.kind != "linear":
                    z = forward_chunk(qnet, fplan, torch.relu(z), None, i + 1)
                logits.append(z)
            m = metrics(ref[cal], torch.cat(logits).double())
            out.append(dict(name=layer.name, kind=layer.kind, macs=layer.macs, kl=m["kl"], top1=m["top1"]))
            log(f"sensitivity {layer.name:10s} {layer.kind:6s} KL {m['kl']:.5f} top1 {m['top1']:.3f}")
            if layer.kind == "linear":
                break
            x = torch.cat([torch.relu(run_layer(layer, fplan[i], x[c:c + CHUNK], pix[c:c + CHUNK]))
                           for c in range(0, len(cal), CHUNK)])
    return out


def accumulator_check(net, plan, data, idx, results):
    """Worst-case |partial sum| of every int8 layer's accumulator: sum |q| * |wq| must stay < 2^24 for the
    float32 simulation of the int32 accumulation to be exact (and < 2^31 for int32)."""
    worst = {}
    with torch.no_grad():
        for c in range(0, len(idx), CHUNK):
            j = idx[c:c + CHUNK]
            x = data["x"][j].contiguous(memory_format=CL)
            pix = data["pix"][j]
            for i, layer in enumerate(net):
                p = plan[i]
                if p["mode"] == "int8":
                    if layer.kind == "stem":
                        q = pix.float().contiguous(memory_format=CL)
                    else:
                        xin = x.mean((2, 3)) if layer.kind == "linear" else x
                        q = torch.round(xin * p["inv_s"]).clamp_(0, 255)
                    bound = float(conv(q, p["wq"].abs(), layer).max())
                    worst[layer.name] = max(worst.get(layer.name, 0.0), bound)
                z = run_layer(layer, p, x, pix)
                x = z if layer.kind == "linear" else torch.relu(z)
    m = max(worst.values())
    log(f"accumulator bound: max sum|q||wq| = {m:.0f} (2^24 = {2 ** 24}); exact: {m < 2 ** 24}")
    results["accumulator_bound"] = dict(max=m, per_layer=worst, exact_in_float32=m < 2 ** 24)


def write_recipe(net0, net, plan, eq, recipe, row):
    layers, tensors = [], {}
    for l0, l, p in zip(net0, net, plan):
        e = dict(name=l.name, kind=l.kind, in_channels=l.cin, out_channels=l.cout, stride=l.stride,
                 macs=l.macs, precision=p["mode"])
        e["equalization"] = dict(input_channel_multiplier=eq[l.name]["in_mul"].tolist(),
                                 output_channel_divisor=eq[l.name]["out_div"].tolist())
        if p["mode"] == "int8":
            e["weight_scales"] = [float(np.float32(s)) for s in p["sw"]]
            e["weight_range"] = [-127, 127]
            if l.kind == "stem":
                a, c = stem_affine()
                e["input"] = dict(kind="uint8 pixels (0..255) as the preprocessing produces them",
                                  normalization_folded=dict(a=a.tolist(), b=c.tolist()),
                                  note="weights quantized are w*a[c_in]; bias map = conv(b[c_in] const, w float) "
                                       "+ bias over valid taps (border-exact)")
            else:
                e["input_scale"] = float(np.float32(p["s_in"]))
                e["input_zero_point"] = 0
                e["input_threshold"] = float(p["threshold"])
                if l.kind == "linear":
                    e["input_note"] = "the global-average-pooled vector (stage4.1 output kept float32)"
            e["diagonal_split"] = p.get("d") is not None
            if p.get("d") is not None:
                e["diagonal_float"] = [float(np.float32(v)) for v in p["d"]]
            e["dw_centre_split"] = p.get("dwc") is not None
            e["bias_corrected"] = p.get("bias_delta") is not None
            tensors[l.name + ".wq"] = p["wq"].contiguous().numpy().astype(np.int8)
            if l.kind == "stem":
                tensors[l.name + ".bias_map"] = p["bmap"].numpy()
            else:
                tensors[l.name + ".bias"] = p["b"].reshape(-1).numpy()
        else:
            e["diagonal_split"] = False
            tensors[l.name + ".w"] = p["w"].contiguous().numpy()
            tensors[l.name + ".b"] = p["b"].reshape(-1).numpy()
        layers.append(e)
    q, tot = int8_macs(net0, recipe)
    doc = dict(model="mobileone_s0 (real, fused) " + CKPT, recipe=recipe,
               int8_macs=q, total_macs=tot, int8_mac_share=q / tot,
               arithmetic="q=clamp(round_half_even(x*float32(1/input_scale)),0,255); acc=int32 sum q*wq; "
                          "z=acc*float32(input_scale*weight_scale[c])+bias[c] (+float32(d[c]*input_scale)*q[c] "
                          "if diagonal_split); y=relu(z) (no relu after linear)",
               fit_photos="all 183 of photos/calibration", measured=dict(
                   eval=row["eval"], calibration=row["cal"]),
               tensors_file=os.path.join(OUT, "recipe_tensors.npz"), layers=layers)
    with open(os.path.join(OUT, "recipe.json"), "w") as f:
        json.dump(doc, f, indent=1)
    np.savez_compressed(os.path.join(OUT, "recipe_tensors.npz"), **tensors)
    log("wrote recipe.json and recipe_tensors.npz")


def dump(results, table):
    results["table"] = table
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    lines = ["| recipe | fit | int8 MACs | calA top1 | calB top1 | calB KL | cal top1 | cal KL | eval top1 | "
             "eval top5 ovl | eval KL |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    def f(r, s, k, pct=True):
        if s not in r:
            return "-"
        return f"{100 * r[s][k]:.1f}" if pct else f"{r[s][k]:.4f}"
    for r in table:
        lines.append(f"| {r['name']} | {r['fit_on']} | {100 * r['int8_mac_share']:.1f}% | {f(r, 'calA', 'top1')} | "
                     f"{f(r, 'calB', 'top1')} | {f(r, 'calB', 'kl', False)} | {f(r, 'cal', 'top1')} | "
                     f"{f(r, 'cal', 'kl', False)} | {f(r, 'eval', 'top1')} | {f(r, 'eval', 'top5_overlap')} | "
                     f"{f(r, 'eval', 'kl', False)} |")
    if "sensitivity" in results:
        lines += ["", "| layer | kind | MMACs | KL (only this layer int8, calibration) | top1 |", "|---|---|---:|---:|---:|"]
        for s in sorted(results["sensitivity"], key=lambda s: -s["kl"]):
            lines.append(f"| {s['name']} | {s['kind']} | {s['macs'] / 1e6:.2f} | {s['kl']:.5f} | {100 * s['top1']:.1f} |")
    with open(os.path.join(OUT, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    log("wrote results.json, table.md")


if __name__ == "__main__":
    main()
