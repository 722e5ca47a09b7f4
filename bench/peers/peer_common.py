"""Shared pieces of the peer comparison: the timing protocol, the worker <-> driver line protocol, and a
small reader for the engine's .mone blobs (weights/FORMAT.md, versions 1 and 2 with float32 layers), so the
peers can be built from exactly the weights our engine runs; the photo preprocessing and the agreement
metrics of the int8 comparison.

Timing protocol (identical in every worker, and in ort_peer.js):
  1. warm-up: `warmup` runs, stopping early once the warm-up has taken half the time budget (>= 1 run);
  2. runs = clamp(ceil(budget / fastest warm-up run), min_runs, max_runs);
  3. time each run separately with a monotonic clock, report the median (and the minimum).
Only the inference call is timed; the input is prepared once, before the warm-up.
"""

from __future__ import annotations

import json
import math
import struct
import sys
import time
import zlib
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------------- timing


def measure(run, budget_s: float, warmup: int, min_runs: int, max_runs: int) -> dict:
    warm = []
    started = time.perf_counter()
    for _ in range(max(1, warmup)):
        t0 = time.perf_counter_ns()
        run()
        warm.append((time.perf_counter_ns() - t0) * 1e-6)
        if time.perf_counter() - started >= budget_s / 2:
            break
    estimate_ms = max(min(warm), 1e-3)
    runs = max(min_runs, min(max_runs, math.ceil(budget_s * 1e3 / estimate_ms)))
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        run()
        samples.append((time.perf_counter_ns() - t0) * 1e-6)
    return {"median_ms": median(samples), "min_ms": min(samples), "runs": runs, "warmup": len(warm)}


def median(values):
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def runs_for(estimate_ms: float, budget_s: float, min_runs: int, max_runs: int) -> int:
    return max(min_runs, min(max_runs, math.ceil(budget_s * 1e3 / max(estimate_ms, 1e-3))))


# ----------------------------------------------------------------------------- worker line protocol
# A worker is a small server: it loads an engine once, then answers requests read from stdin, one JSON
# object per line, so that the driver can interleave engines configuration by configuration:
#   request:  {"variant": "s0", "threads": 1, "logits": "/path/or/empty"}      or {"quit": true}
# and writes one JSON object per line on stdout:
#   {"type": "info", "engine": E, "version": "..."}                   once, at start
#   {"type": "unavailable", "engine": E, "reason": "..."}             instead, if the engine cannot run here
#   {"type": "result", "engine": E, "variant": V, "threads": T, "median_ms": .., "min_ms": .., "runs": .., ...}
#   {"type": "error", "engine": E, "variant": V, "threads": T, "reason": "..."}   for one failed request


def emit(**record) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def add_worker_arguments(parser) -> None:
    parser.add_argument("--models", required=True, help="directory with s0.mone/s0.onnx ...")
    parser.add_argument("--input", required=True, help="1x3xHxW float32 NCHW tensor file")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--budget", type=float, default=1.0)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--min-runs", type=int, default=3)
    parser.add_argument("--max-runs", type=int, default=200)


def serve(engine: str, args, load, set_threads) -> None:
    """Answers requests on stdin. load(variant) -> run() (one inference, returns the logits, array-like);
    set_threads(n) -> the thread count the engine reports it now uses."""
    runners = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if request.get("quit"):
            break
        variant, threads = request["variant"], int(request["threads"])
        try:
            if variant not in runners:
                runners[variant] = load(variant)
            run = runners[variant]
            actual = set_threads(threads)
            result = measure(run, args.budget, args.warmup, args.min_runs, args.max_runs)
            if request.get("logits"):
                write_logits(request["logits"], run())
            emit(type="result", engine=engine, variant=variant, threads=threads, actual_threads=actual, **result)
        except Exception as e:  # noqa: BLE001
            emit(type="error", engine=engine, variant=variant, threads=threads, reason=f"{type(e).__name__}: {e}")


def split_list(text: str) -> list:
    return [item for item in text.split(",") if item]


# ------------------------------------------------------------------------------------- .mone reader

MAGIC = b"\x89MONE\r\n\x1a"
KIND_STEM, KIND_DEPTHWISE, KIND_POINTWISE, KIND_SE, KIND_AVGPOOL, KIND_LINEAR = 1, 2, 3, 4, 5, 6
NO_TENSOR = 0xFFFFFFFF


@dataclass
class MoneLayer:
    kind: int
    name: str
    in_channels: int
    out_channels: int
    stride: int
    relu: bool
    hidden: int
    tensors: list = field(default_factory=list)  # numpy float32 arrays in the kind's slot order


def read_mone(path: str) -> tuple:
    """Returns (model name, [MoneLayer]). Checks magic, version, size and CRC, and that every layer is
    float32 (word 13, precision, is 0 in version 1 and for float32 layers of version 2); trusts the rest (the
    engine validates the same file fully before timing it)."""
    import numpy as np

    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 160 or data[:8] != MAGIC:
        raise ValueError(f"{path}: not a .mone blob")
    version, header_size, file_size, checksum = struct.unpack_from("<IIQI", data, 8)
    if version not in (1, 2) or header_size != 160 or file_size != len(data):
        raise ValueError(f"{path}: unsupported version {version} or truncated file")
    if zlib.crc32(data[32:]) & 0xFFFFFFFF != checksum:
        raise ValueError(f"{path}: CRC mismatch")
    layer_count, tensor_count, _, string_count = struct.unpack_from("<4I", data, 32)
    layer_table, tensor_table, string_table = struct.unpack_from("<3Q", data, 48)
    (name_string,) = struct.unpack_from("<I", data, 148)

    def string(index: int) -> str:
        offset, length = struct.unpack_from("<2I", data, string_table + 8 * index)
        start = string_table + offset
        return data[start:start + length].decode("utf-8")

    tensors = []
    for t in range(tensor_count):
        rec = tensor_table + 48 * t
        _, dtype, rank = struct.unpack_from("<3I", data, rec)
        dims = struct.unpack_from("<4I", data, rec + 16)[:rank]
        offset, byte_size = struct.unpack_from("<2Q", data, rec + 32)
        if dtype != 1:
            raise ValueError(f"{path}: tensor {t} is not float32")
        tensors.append(np.frombuffer(data, dtype="<f4", count=byte_size // 4, offset=offset).reshape(dims).copy())

    layers = []
    for i in range(layer_count):
        w = struct.unpack_from("<16I", data, layer_table + 64 * i)
        if w[13] != 0:
            raise ValueError(f"{path}: layer {i} is int8; the peers are built from a float32 blob")
        slots = [tensors[k] for k in w[8:12] if k != NO_TENSOR]
        layers.append(MoneLayer(kind=w[0], name=string(w[7]), in_channels=w[1], out_channels=w[2], stride=w[3],
                                relu=bool(w[4]), hidden=w[12], tensors=slots))
    return string(name_string), layers


def read_input(path: str, size: int):
    import numpy as np

    x = np.fromfile(path, dtype="<f4")
    if x.size != 3 * size * size:
        raise ValueError(f"{path}: expected {3 * size * size} floats, found {x.size}")
    return x.reshape(1, 3, size, size)


def write_logits(path: str, logits) -> None:
    import numpy as np

    np.asarray(logits, dtype="<f4").reshape(-1).tofile(path)


# ------------------------------------------------------------------------------------------- photos
# The reference pipeline of ../shared/photos/README.md, the one PyTorch's s0_top5.json files were made with:
# PIL open().convert("RGB"), torchvision Resize(256) (shorter side, PIL bilinear, which antialiases) and
# CenterCrop(224), ToTensor, Normalize(ImageNet mean, std). Written with PIL and numpy so that torchvision is
# not needed; the arithmetic (sizes, rounding, float32 order) is torchvision's.

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


def list_photos(folder) -> list:
    import os

    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(PHOTO_SUFFIXES))


def preprocess_photo(path: str, size: int = 224, resize: int = 256):
    """1x3xSIZExSIZE float32 NCHW."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as f:
        img = f.convert("RGB")
    w, h = img.size
    short, long = min(w, h), max(w, h)
    new_short, new_long = resize, int(resize * long / short)
    img = img.resize((new_short, new_long) if w <= h else (new_long, new_short), Image.BILINEAR)
    w, h = img.size
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    img = img.crop((left, top, left + size, top + size))
    x = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / np.float32(255)
    mean = np.asarray(IMAGENET_MEAN, dtype=np.float32).reshape(3, 1, 1)
    std = np.asarray(IMAGENET_STD, dtype=np.float32).reshape(3, 1, 1)
    return ((x - mean) / std)[None].astype(np.float32)


# ------------------------------------------------------------------------------------------ agreement


def agreement(reference, test, log_probabilities: bool = False) -> dict:
    """Agreement of `test` with `reference` (N x classes, logits; or log-probabilities when the engine only
    prints probabilities): top-1 agreement, mean top-5 overlap (|top5 ref & top5 test| / 5) and mean
    KL(reference || test) of the softmax distributions, in float64 (the definitions of
    bench/quantization/int8_recipe_study.py)."""
    import numpy as np

    def log_softmax(z):
        z = np.asarray(z, dtype=np.float64)
        if log_probabilities:
            return z
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    lp, lq = log_softmax(reference), log_softmax(test)
    kl = (np.exp(lp) * (lp - lq)).sum(axis=1)
    top1 = lp.argmax(axis=1) == lq.argmax(axis=1)
    a5, b5 = np.argsort(-lp, axis=1)[:, :5], np.argsort(-lq, axis=1)[:, :5]
    overlap = [len(set(a) & set(b)) / 5 for a, b in zip(a5.tolist(), b5.tolist())]
    return {"n": len(top1), "top1": float(top1.mean()), "top5_overlap": float(np.mean(overlap)),
            "kl": float(kl.mean()), "flips": int((~top1).sum())}
