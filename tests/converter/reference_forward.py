"""Independent float64 numpy references for the converter tests.

- `read_mone`: a minimal `.mone` parser written from weights/FORMAT.md alone (no validation: the
  converter's own reader does that and is tested separately), golden self-check tensors included.
- `fused_forward`: runs a parsed blob (and collects each stage's output).
- `unfused_forward`: runs a train-time Apple-key state_dict branch by branch, BatchNorm with running
  statistics, without any re-parameterization.
"""

from __future__ import annotations

import re
import struct

import numpy as np

BN_EPS = 1e-5


# --- .mone reading ----------------------------------------------------------------------------------------

def read_mone(path: str) -> dict:
    with open(path, "rb") as f:
        data = f.read()
    (layer_count, tensor_count, class_count, string_count, layer_table, tensor_table, string_table) = \
        struct.unpack_from("<4I3Q", data, 32)
    input_height, input_width, resize_shorter, crop_fraction = struct.unpack_from("<3If", data, 100)
    name_string, labels_first = struct.unpack_from("<2I", data, 148)
    strings = []
    for i in range(string_count):
        offset, length = struct.unpack_from("<2I", data, string_table + 8 * i)
        strings.append(data[string_table + offset:string_table + offset + length].decode("utf-8"))
    format_version, = struct.unpack_from("<I", data, 8)
    golden_first, = struct.unpack_from("<I", data, 156)
    tensors = []
    for i in range(tensor_count):
        name, _dtype, rank, _, *dims = struct.unpack_from("<8I", data, tensor_table + 48 * i)
        offset, size = struct.unpack_from("<2Q", data, tensor_table + 48 * i + 32)
        tensors.append((strings[name], np.frombuffer(data, "<f4", size // 4, offset).reshape(dims[:rank])))
    layers = []
    for i in range(layer_count):
        w = struct.unpack_from("<16I", data, layer_table + 64 * i)
        layers.append(dict(kind=w[0], in_channels=w[1], out_channels=w[2], stride=w[3], relu=w[4] == 1,
                           stage=w[5], block=w[6], name=strings[w[7]], hidden=w[12],
                           tensors=[tensors[t] for t in w[8:12] if t != 0xFFFFFFFF]))
    # Version 3: the golden input, then the outputs of stages 0..S and the logits (float32 blobs).
    golden = None
    if format_version == 3:
        count = layers[-3]["stage"] + 3
        golden = [array for _, array in tensors[golden_first:golden_first + count]]
    return dict(name=strings[name_string], layers=layers, labels=strings[labels_first:labels_first + class_count],
                input_size=(input_height, input_width), resize_shorter=resize_shorter, crop_fraction=crop_fraction,
                format_version=format_version, golden=golden)


# --- operators (NCHW, batch 1, float64) -----------------------------------------------------------------

def conv2d(x: np.ndarray, weight: np.ndarray, stride: int, groups: int) -> np.ndarray:
    """x [C, H, W], weight [O, C/groups, K, K], padding K // 2."""
    k = weight.shape[-1]
    pad = k // 2
    channels, height, width = x.shape
    out_h, out_w = (height + 2 * pad - k) // stride + 1, (width + 2 * pad - k) // stride + 1
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((weight.shape[0], out_h, out_w))
    for dy in range(k):
        for dx in range(k):
            tap = padded[:, dy:dy + stride * (out_h - 1) + 1:stride, dx:dx + stride * (out_w - 1) + 1:stride]
            if groups == 1:
                out += np.einsum("oc,chw->ohw", weight[:, :, dy, dx], tap)
            else:
                assert groups == channels == weight.shape[0] and weight.shape[1] == 1
                out += weight[:, 0, dy, dx][:, None, None] * tap
    return out


def squeeze_excite(y, reduce_w, reduce_b, expand_w, expand_b):
    s = y.mean(axis=(1, 2))
    s = np.maximum(reduce_w[:, :, 0, 0] @ s + reduce_b, 0.0)
    s = 1.0 / (1.0 + np.exp(-(expand_w[:, :, 0, 0] @ s + expand_b)))
    return y * s[:, None, None]


def relu(x):
    return np.maximum(x, 0.0)


# --- fused blob -----------------------------------------------------------------------------------------

def fused_forward(blob: dict, image: np.ndarray, stages: dict = None) -> np.ndarray:
    """image [1, 3, H, W] -> logits [classes]; `stages`, if given, receives each stage's output [C, h, w]
    (that of its last layer)."""
    x = image[0].astype(np.float64)
    for layer in blob["layers"]:
        t = [a.astype(np.float64) for _, a in layer["tensors"]]
        kind = layer["kind"]
        if kind in (1, 2, 3):
            groups = layer["in_channels"] if kind == 2 else 1
            x = conv2d(x, t[0], layer["stride"], groups) + t[1][:, None, None]
        elif kind == 4:
            x = squeeze_excite(x, *t)
        elif kind == 5:
            x = x.mean(axis=(1, 2))
        elif kind == 6:
            x = t[0] @ x + t[1]
        if layer["relu"]:
            x = relu(x)
        if stages is not None and kind not in (5, 6):
            stages[layer["stage"]] = x
    return x


# --- train-time state_dict ---------------------------------------------------------------------------------

def _batch_norm(sd: dict, prefix: str, y: np.ndarray) -> np.ndarray:
    def stat(name):
        return sd[f"{prefix}.{name}"].astype(np.float64)[:, None, None]
    return (y - stat("running_mean")) / np.sqrt(stat("running_var") + BN_EPS) * stat("weight") + stat("bias")


def _block_names(sd: dict) -> list:
    """'stage0', then 'stage{s}.{j}' in network order."""
    names = {m.group(1) for m in map(re.compile(r"^(stage[1-9]\d*\.\d+)\.").match, sd) if m}
    return ["stage0"] + sorted(names, key=lambda n: tuple(int(v) for v in re.findall(r"\d+", n)))


def _unfused_block(sd: dict, name: str, x: np.ndarray) -> np.ndarray:
    stride = 2 if name == "stage0" or name.endswith(".0") else 1
    first = sd[f"{name}.rbr_conv.0.conv.weight"]
    groups = x.shape[0] if name != "stage0" and first.shape[1] == 1 and first.shape[-1] == 3 else 1
    y, i = 0.0, 0
    while f"{name}.rbr_conv.{i}.conv.weight" in sd:
        y = y + _batch_norm(sd, f"{name}.rbr_conv.{i}.bn",
                            conv2d(x, sd[f"{name}.rbr_conv.{i}.conv.weight"].astype(np.float64), stride, groups))
        i += 1
    if f"{name}.rbr_scale.conv.weight" in sd:
        y = y + _batch_norm(sd, f"{name}.rbr_scale.bn",
                            conv2d(x, sd[f"{name}.rbr_scale.conv.weight"].astype(np.float64), stride, groups))
    if f"{name}.rbr_skip.weight" in sd:
        y = y + _batch_norm(sd, f"{name}.rbr_skip", x)
    if f"{name}.se.reduce.weight" in sd:
        y = squeeze_excite(y, *(sd[f"{name}.se.{p}"].astype(np.float64)
                                for p in ("reduce.weight", "reduce.bias", "expand.weight", "expand.bias")))
    return relu(y)


def unfused_forward(sd: dict, image: np.ndarray) -> np.ndarray:
    """Train-time graph in eval mode: sd maps Apple keys to numpy arrays; image [1, 3, H, W]."""
    x = image[0].astype(np.float64)
    for name in _block_names(sd):
        x = _unfused_block(sd, name, x)
    x = x.mean(axis=(1, 2))
    return sd["linear.weight"].astype(np.float64) @ x + sd["linear.bias"].astype(np.float64)


def relative_error(ours: np.ndarray, reference: np.ndarray) -> float:
    return float(np.max(np.abs(ours - reference)) / np.max(np.abs(reference)))
