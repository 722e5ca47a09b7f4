"""ONNX Runtime int8 side of the peer comparison: a QDQ model of the fused fp32 ONNX export, calibrated on
photos, and what compare.py needs around it (preprocessed photo batches, the optimized graph's op counts).

  peer_int8.py quantize --mone s0.mone --onnx s0.onnx --calibration DIR --cache DIR [--percentile 99.99] -o s0_int8.onnx
      reads the fp32 ONNX model that `peer_torch.py export` wrote from the blob, runs it (with torch ops) on
      the calibration photos (preprocessed by peer_common.preprocess_photo), sets every activation range
      from the percentile of its values, and writes the QDQ model plus <out>.json (the ranges and counts).

The QDQ graph (the standard form ONNX Runtime's own quantizer writes, built here with the onnx helper API
because there is no onnxruntime Python package on Debian):
  - activations: QuantizeLinear -> DequantizeLinear, uint8, per tensor, on the input of every Conv and Gemm
    and on the output of every Conv (after its ReLU when one follows): a Conv between DQ and Q is what ONNX
    Runtime fuses into QLinearConv; a ReLU in front of a Q whose zero point is 0 is dropped by it;
  - weights: int8 initializers, per output channel (axis 0), symmetric (zero point 0, scale max|w| / 127),
    behind DequantizeLinear; biases int32 with scale input_scale * weight_scale[c] (what QLinearConv takes);
  - the range of a tensor is [lo, hi] with hi the `percentile`-th and lo the (100 - percentile)-th
    percentile of all its values over all calibration photos (exact, not binned), widened to contain 0 (so
    ReLU outputs get zero point 0); 100 is plain min/max. Scale (hi - lo) / 255, zero point round(-lo / scale).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common as pc  # noqa: E402

BATCH = 8


# ------------------------------------------------------------------------------------- photo batches


def photo_key(folder: str, size: int = 224) -> str:
    """Identifies a folder's photos (names, sizes, modification times) and the input size."""
    return hashlib.sha256(json.dumps([[os.path.basename(f), os.path.getsize(f), os.path.getmtime(f)]
                                      for f in pc.list_photos(folder)] + [size]).encode()).hexdigest()


def photo_batch(folder: str, cache_dir: str, size: int = 224) -> tuple:
    """Preprocesses every photo of `folder` once into <cache>/<folder name>_<size>.f32 (N x 3 x size x size,
    float32) and returns (that path, [file paths], N). The cache is keyed by photo_key."""
    files, key = pc.list_photos(folder), photo_key(folder, size)
    base = os.path.join(cache_dir, f"{os.path.basename(os.path.normpath(folder))}_{size}")
    data, stamp = base + ".f32", base + ".key"
    if not (os.path.exists(data) and os.path.exists(stamp) and open(stamp).read() == key):
        os.makedirs(cache_dir, exist_ok=True)
        with open(data + ".tmp", "wb") as f:
            for path in files:
                pc.preprocess_photo(path, size).astype("<f4").tofile(f)
        os.replace(data + ".tmp", data)
        with open(stamp, "w") as f:
            f.write(key)
    return data, files, len(files)


def load_batch(path: str, count: int, size: int):
    import numpy as np

    return np.fromfile(path, dtype="<f4").reshape(count, 3, size, size)


# ------------------------------------------------------------------------------ running the fp32 graph


class GraphRunner:
    """Runs the fp32 ONNX graph of peer_torch.py's export (Conv, Relu, GlobalAveragePool, Flatten, Gemm, and
    Sigmoid / Mul in squeeze-excite) with torch ops on a batch, handing every tensor in `watch` to a
    callback as it is produced: the calibration statistics come from the ONNX model itself, tensor by name."""

    def __init__(self, model):
        import torch
        from onnx import numpy_helper

        self.graph = model.graph
        self.weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in self.graph.initializer}
        # Each tensor is dropped after its last consumer, so a batch never holds the whole network's maps.
        self.last_use = {}
        for i, node in enumerate(self.graph.node):
            for name in node.input:
                self.last_use[name] = i

    def run(self, x, watch=(), on_tensor=None):
        import torch
        import torch.nn.functional as F
        from onnx import helper

        env = {self.graph.input[0].name: torch.from_numpy(x)}
        if on_tensor and self.graph.input[0].name in watch:
            on_tensor(self.graph.input[0].name, env[self.graph.input[0].name])
        for i, node in enumerate(self.graph.node):
            a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
            ins = [env[n] if n in env else self.weights[n] for n in node.input]
            op = node.op_type
            if op == "Conv":
                pads = a.get("pads", [0, 0, 0, 0])
                if pads[:2] != pads[2:]:
                    raise ValueError(f"{node.name}: asymmetric padding")
                y = F.conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, stride=a.get("strides", 1),
                             padding=pads[:2], dilation=a.get("dilations", 1), groups=a.get("group", 1))
            elif op == "Relu":
                y = F.relu(ins[0])
            elif op == "Sigmoid":
                y = torch.sigmoid(ins[0])
            elif op == "Mul":
                y = ins[0] * ins[1]
            elif op == "GlobalAveragePool":
                y = ins[0].mean(dim=(2, 3), keepdim=True)
            elif op == "Flatten":
                y = torch.flatten(ins[0], a.get("axis", 1))
            elif op == "Gemm":
                if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                    raise ValueError(f"{node.name}: unsupported Gemm attributes")
                y = F.linear(ins[0], ins[1] if a.get("transB", 0) else ins[1].t(), ins[2] if len(ins) > 2 else None)
            else:
                raise ValueError(f"op {op} ({node.name}) is not in peer_torch.py's export")
            env[node.output[0]] = y
            if on_tensor and node.output[0] in watch:
                on_tensor(node.output[0], y)
            for name in node.input:
                if self.last_use.get(name) == i and name in env:
                    del env[name]
        return env[self.graph.output[0].name]


# ------------------------------------------------------------------------------------------ QDQ graph


def quantized_activations(graph) -> list:
    """Activation tensors that get a Q/DQ pair, in graph order: every Conv/Gemm input and every Conv
    output, taken after the ReLU when the Conv's only consumer is one."""
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    names = []

    def add(name):
        if name not in names:
            names.append(name)

    for node in graph.node:
        if node.op_type in ("Conv", "Gemm"):
            add(node.input[0])
        if node.op_type == "Conv":
            after = consumers.get(node.output[0], [])
            add(after[0].output[0] if len(after) == 1 and after[0].op_type == "Relu" else node.output[0])
    return names


def activation_ranges(runner, batches, names, images: int, percentile: float) -> dict:
    """{tensor: (lo, hi)} in one pass: for a tensor of n values per image, hi is the k-th largest of its
    values over all `images` photos, k = ceil(n * images * (100 - percentile) / 100) (k = 1, the maximum, at
    100), lo likewise the k-th smallest; both exact (the k extreme values are kept across batches), then
    widened to contain 0."""
    import math

    import torch

    top, bottom = {}, {}

    def keep(store, name, values, k):
        values = values.topk(min(k, values.numel())).values
        store[name] = values if name not in store else torch.cat([store[name], values]).topk(
            min(k, store[name].numel() + values.numel())).values

    def collect(name, t):
        flat = t.flatten()
        k = max(1, math.ceil(t[0].numel() * images * (100 - percentile) / 100))
        keep(top, name, flat, k)
        # A batch without negative values cannot lower lo below 0, which lo is widened to anyway.
        if float(flat.min()) < 0:
            keep(bottom, name, -flat, k)
        collect.k[name] = k

    collect.k = {}
    for x in batches():
        runner.run(x, names, collect)
    ranges = {}
    for n in names:
        k = collect.k[n]
        hi = float(top[n][-1]) if top[n].numel() >= k else float(top[n].min())
        lo = -float(bottom[n][-1]) if n in bottom and bottom[n].numel() >= k else 0.0
        ranges[n] = (min(lo, 0.0), max(hi, 0.0))
    return ranges


def uint8_parameters(lo: float, hi: float) -> tuple:
    scale = max((hi - lo) / 255.0, 1e-12)
    return scale, int(min(255, max(0, round(-lo / scale))))


def build_qdq(model, ranges: dict):
    """The QDQ model: Q/DQ on the activations in `ranges`, int8 per-channel weights and int32 biases behind
    DequantizeLinear for every Conv and Gemm."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    graph = model.graph
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    init, nodes, renamed, scales = [], [], {}, {}

    def const(name, array):
        init.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def qdq_activation(name):
        scale, zero = uint8_parameters(*ranges[name])
        scales[name + "_dq"] = scale
        s, z = const(name + "_scale", np.float32(scale)), const(name + "_zero_point", np.uint8(zero))
        nodes.append(helper.make_node("QuantizeLinear", [name, s, z], [name + "_quantized"], name=name + "_Q"))
        nodes.append(helper.make_node("DequantizeLinear", [name + "_quantized", s, z], [name + "_dq"],
                                      name=name + "_DQ"))
        renamed[name] = name + "_dq"

    def dq_constant(name, q, scale, zero):
        const(name + "_quantized", q)
        const(name + "_scale", scale.astype(np.float32))
        const(name + "_zero_point", zero)
        nodes.append(helper.make_node("DequantizeLinear", [name + "_quantized", name + "_scale", name + "_zero_point"],
                                      [name + "_dq"], name=name + "_DQ", axis=0))
        return name + "_dq"

    quantized_params = set()
    if graph.input[0].name in ranges:
        qdq_activation(graph.input[0].name)
    for node in graph.node:
        node = onnx.NodeProto.FromString(node.SerializeToString())
        node.input[:] = [renamed.get(n, n) for n in node.input]
        if node.op_type in ("Conv", "Gemm"):
            if node.op_type == "Gemm" and not any(at.name == "transB" and at.i == 1 for at in node.attribute):
                raise ValueError(f"{node.name}: Gemm without transB (the weight's output axis would be 1)")
            w_name, w = node.input[1], weights[node.input[1]]
            flat = w.reshape(w.shape[0], -1).astype(np.float64)
            w_scale = np.maximum(np.abs(flat).max(axis=1), 1e-30) / 127.0
            bcast = w_scale.reshape((-1,) + (1,) * (w.ndim - 1))
            w_q = np.clip(np.round(w / bcast), -127, 127).astype(np.int8)
            node.input[1] = dq_constant(w_name, w_q, w_scale, np.zeros(w.shape[0], np.int8))
            quantized_params.add(w_name)
            if len(node.input) > 2:
                b_name = node.input[2]
                b_scale = scales[node.input[0]] * w_scale
                b_q = np.clip(np.round(weights[b_name] / b_scale), -2 ** 31, 2 ** 31 - 1).astype(np.int32)
                node.input[2] = dq_constant(b_name, b_q, b_scale, np.zeros(w.shape[0], np.int32))
                quantized_params.add(b_name)
        nodes.append(node)
        if node.output[0] in ranges:
            qdq_activation(node.output[0])
    kept = [t for t in graph.initializer if t.name not in quantized_params]
    out = helper.make_model(helper.make_graph(nodes, graph.name + "_qdq", graph.input, graph.output, kept + init),
                            opset_imports=model.opset_import, producer_name="mobileone bench/peers/peer_int8.py")
    onnx.checker.check_model(out)
    return out


def op_counts(path: str) -> dict:
    """Op types of a model (e.g. the optimized graph ONNX Runtime dumped) and how many of each."""
    import onnx

    counts = {}
    for node in onnx.load(path).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def profile_ops(path: str) -> dict:
    """{op type: share of node time} from an ONNX Runtime profile (JSON trace)."""
    with open(path) as f:
        events = json.load(f)
    time = {}
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            op = e.get("args", {}).get("op_name", "?")
            time[op] = time.get(op, 0) + e.get("dur", 0)
    total = sum(time.values()) or 1
    return {op: round(t / total, 4) for op, t in sorted(time.items(), key=lambda kv: -kv[1])}


# ------------------------------------------------------------------------------------------- command


def quantize(args) -> None:
    import numpy as np
    import onnx
    import torch

    import peer_torch

    torch.set_num_threads(2)
    model = onnx.load(args.onnx)
    data, files, count = photo_batch(args.calibration, args.cache, args.size)
    x = load_batch(data, count, args.size)
    runner = GraphRunner(model)
    with torch.inference_mode():
        # The runner must compute what the exported module computes, or the ranges would be of another net.
        first = x[:BATCH].copy()
        ours, ref = runner.run(first).numpy(), peer_torch.load_module(args.mone)(torch.from_numpy(first)).numpy()
        err = float(np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-30))
        if err > 1e-4:
            raise RuntimeError(f"graph runner disagrees with the torch module: {err:.2e}")
        names = quantized_activations(model.graph)
        ranges = activation_ranges(runner, lambda: (x[i:i + BATCH].copy() for i in range(0, count, BATCH)), names,
                                   count, args.percentile)
    qdq = build_qdq(model, ranges)
    tmp = args.output + ".tmp"
    onnx.save(qdq, tmp)
    os.replace(tmp, args.output)
    summary = {"percentile": args.percentile, "calibration_images": count, "activations": len(ranges),
               "weights": sum(n.op_type in ("Conv", "Gemm") for n in model.graph.node), "runner_rel_err": err,
               "ranges": {n: list(r) for n, r in ranges.items()}}
    with open(args.output + ".json", "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps({k: v for k, v in summary.items() if k != "ranges"}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    q = sub.add_parser("quantize")
    q.add_argument("--mone", required=True, help="the float32 blob the ONNX model was exported from")
    q.add_argument("--onnx", required=True, help="fp32 ONNX model (peer_torch.py export)")
    q.add_argument("--calibration", required=True, help="folder of calibration photos")
    q.add_argument("--cache", required=True, help="folder for the preprocessed photo batches")
    q.add_argument("--percentile", type=float, default=99.99, help="activation range percentile (100: min/max)")
    q.add_argument("--size", type=int, default=224)
    q.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    quantize(args)


if __name__ == "__main__":
    main()
