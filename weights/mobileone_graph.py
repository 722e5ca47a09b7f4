"""A MobileOne state_dict as a network: key names (Apple's and timm's), the architecture its tensor shapes
imply, strict validation of every tensor against that architecture, and the re-parameterization of
train-time blocks into single convolutions (MobileOne paper, Sec. 3.3).

Names follow Apple's `mobileone.py`: `stage0` is the stem, `stage{s}.{j}` block j of stage s (even j:
depthwise 3x3, odd j: pointwise 1x1), `linear` the classifier. Checkpoints with timm names are renamed
to Apple's first.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from mone_blob import Golden, Layer, LayerKind

BATCH_NORM_EPS = 1e-5  # PyTorch's default, used by both Apple and timm
WRAPPER_KEYS = ("state_dict_ema", "model_ema", "state_dict", "model")  # preferred first, as timm does
WRAPPER_PREFIXES = ("module.", "_orig_mod.")  # DistributedDataParallel, torch.compile
SE_RATIO = 0.0625
MAX_STAGES, MAX_BLOCK_INDEX, MAX_BRANCHES = 64, 4096, 64


class ArchitectureError(Exception):
    """The tensors do not form a MobileOne; the message names the key and what was expected."""


def _shape_text(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


# --- finding the state_dict -----------------------------------------------------------------------------

def _is_tensor_dict(obj) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(
        isinstance(k, str) and isinstance(v, np.ndarray) for k, v in obj.items())


def find_state_dict(checkpoint):
    """The flat name -> tensor dict inside a checkpoint, and the wrapper key it sat under (or None)."""
    if _is_tensor_dict(checkpoint):
        return checkpoint, None
    if isinstance(checkpoint, dict):
        for key in WRAPPER_KEYS:
            if _is_tensor_dict(checkpoint.get(key)):
                return checkpoint[key], key
        found = ", ".join(repr(k) for k in list(checkpoint)[:8])
        raise ArchitectureError(f"no state_dict found: the checkpoint is a dict with keys {found}; expected a "
                                f"flat dict of tensors or one under {', '.join(map(repr, WRAPPER_KEYS))}")
    raise ArchitectureError(f"no state_dict found: the checkpoint holds a {type(checkpoint).__name__}, "
                            "not a dict of tensors")


# --- key names ------------------------------------------------------------------------------------------

_INDEX = r"(0|[1-9]\d*)"  # a decimal index without leading zeros

# The one-to-one renaming of timm's MobileOne keys to Apple's (fact sheet section 2.1), and back.
_TIMM_TO_APPLE = (
    (re.compile(r"^stem\."), lambda m: "stage0."),
    (re.compile(rf"^stages\.{_INDEX}\."), lambda m: f"stage{int(m.group(1)) + 1}."),
    (re.compile(r"\.conv_kxk\."), lambda m: ".rbr_conv."),
    (re.compile(r"\.conv_scale\."), lambda m: ".rbr_scale."),
    (re.compile(r"\.identity\."), lambda m: ".rbr_skip."),
    (re.compile(r"\.attn\.fc1\."), lambda m: ".se.reduce."),
    (re.compile(r"\.attn\.fc2\."), lambda m: ".se.expand."),
    (re.compile(r"^head\.fc\."), lambda m: "linear."),
)
_APPLE_TO_TIMM = (
    (re.compile(r"^stage0\."), lambda m: "stem."),
    (re.compile(rf"^stage{_INDEX}\."), lambda m: f"stages.{int(m.group(1)) - 1}."),
    (re.compile(r"\.rbr_conv\."), lambda m: ".conv_kxk."),
    (re.compile(r"\.rbr_scale\."), lambda m: ".conv_scale."),
    (re.compile(r"\.rbr_skip\."), lambda m: ".identity."),
    (re.compile(r"\.se\.reduce\."), lambda m: ".attn.fc1."),
    (re.compile(r"\.se\.expand\."), lambda m: ".attn.fc2."),
    (re.compile(r"^linear\."), lambda m: "head.fc."),
)


def _rename(key: str, rules) -> str:
    for pattern, replacement in rules:
        key = pattern.sub(replacement, key, count=1)
    return key


def _strip_wrapper_prefixes(key: str) -> str:
    while key.startswith(WRAPPER_PREFIXES):
        key = key.split(".", 1)[1]
    return key


@dataclass
class StateDict:
    """Tensors under Apple's key names, remembering how each key was spelled in the file."""
    tensors: dict
    source_names: dict
    timm_naming: bool

    def display(self, key: str) -> str:
        """A key as the user's file spells it (keys that are missing: in the file's naming scheme)."""
        if key in self.source_names:
            return self.source_names[key]
        return _rename(key, _APPLE_TO_TIMM) if self.timm_naming else key

    def require(self, key: str) -> np.ndarray:
        if key not in self.tensors:
            raise ArchitectureError(f"missing key '{self.display(key)}'")
        return self.tensors[key]


def canonicalize(flat: dict) -> StateDict:
    """Strips DDP/torch.compile prefixes and renames timm keys to Apple's."""
    tensors, source_names, timm_naming = {}, {}, False
    for source_key, tensor in flat.items():
        unprefixed = _strip_wrapper_prefixes(source_key)
        key = _rename(unprefixed, _TIMM_TO_APPLE)
        timm_naming |= key != unprefixed
        if key in tensors:
            raise ArchitectureError(f"keys '{source_names[key]}' and '{source_key}' both mean '{key}'")
        tensors[key], source_names[key] = tensor, source_key
    return StateDict(tensors, source_names, timm_naming)


# --- architecture ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Block:
    """One MobileOne block: the stem, a depthwise 3x3 or a pointwise 1x1 block."""
    name: str  # Apple's module path: 'stage0', 'stage2.3'
    kind: LayerKind
    stage: int
    index: int
    in_channels: int
    out_channels: int
    stride: int
    se_width: int  # reduced width of the block's squeeze-excite; 0 without one

    @property
    def kernel(self) -> int:
        return 1 if self.kind == LayerKind.POINTWISE else 3

    @property
    def groups(self) -> int:
        return self.in_channels if self.kind == LayerKind.DEPTHWISE else 1

    @property
    def has_identity_branch(self) -> bool:
        # Apple and timm add the BatchNorm-only skip branch exactly when the block keeps shape.
        return self.in_channels == self.out_channels and self.stride == 1


@dataclass(frozen=True)
class Architecture:
    stem_width: int
    stage_widths: tuple  # output channels of stages 1..S
    stage_units: tuple  # depthwise + pointwise units per stage
    se_widths: tuple  # (block name, reduced width) of each block with squeeze-excite, in block order
    num_classes: int
    fused: bool  # re-parameterized (inference) checkpoint rather than train-time branches
    stem_branches: int  # conv branches of the train-time stem; 0 when fused
    branches: int  # conv branches k of the train-time backbone blocks; 0 when fused

    def blocks(self) -> list:
        se = dict(self.se_widths)
        blocks = [Block("stage0", LayerKind.STEM, 0, 0, 3, self.stem_width, 2, se.get("stage0", 0))]
        channels = self.stem_width
        for stage, (width, units) in enumerate(zip(self.stage_widths, self.stage_units), start=1):
            for unit in range(units):
                dw, pw = f"stage{stage}.{2 * unit}", f"stage{stage}.{2 * unit + 1}"
                blocks.append(Block(dw, LayerKind.DEPTHWISE, stage, 2 * unit, channels, channels,
                                    2 if unit == 0 else 1, se.get(dw, 0)))
                blocks.append(Block(pw, LayerKind.POINTWISE, stage, 2 * unit + 1, channels, width, 1, se.get(pw, 0)))
                channels = width
        return blocks

    def branches_of(self, block: Block) -> int:
        return self.stem_branches if block.kind == LayerKind.STEM else self.branches

    def variant(self):
        """'s0'..'s4' when this is exactly that standard MobileOne, else None."""
        for name in STANDARD_VARIANTS:
            if self == standard_architecture(name, self.fused):
                return name
        return None


# Fact sheet section 0: stem width, stage widths, train-time conv branches k, squeeze-excite.
STANDARD_VARIANTS = {
    "s0": (48, (48, 128, 256, 1024), 4, False),
    "s1": (64, (96, 192, 512, 1280), 1, False),
    "s2": (64, (96, 256, 640, 2048), 1, False),
    "s3": (64, (128, 320, 768, 2048), 1, False),
    "s4": (64, (192, 448, 896, 2048), 1, True),
}
STANDARD_UNITS = (2, 8, 10, 1)
IMAGENET_CLASSES = 1000


def standard_architecture(variant: str, fused: bool) -> Architecture:
    stem, widths, branches, has_se = STANDARD_VARIANTS[variant]
    arch = Architecture(stem, widths, STANDARD_UNITS, (), IMAGENET_CLASSES, fused,
                        0 if fused else 1, 0 if fused else branches)
    if not has_se:
        return arch
    # S4: squeeze-excite on the last 5 units of stage 3 and on all of stage 4, rd = int(C * 0.0625).
    se_widths = tuple((b.name, int(b.out_channels * SE_RATIO)) for b in arch.blocks()
                      if (b.stage == 3 and b.index >= 2 * (STANDARD_UNITS[2] - 5)) or b.stage == 4)
    return dataclasses.replace(arch, se_widths=se_widths)


def _conv_weight_key(fused: bool) -> str:
    return "reparam_conv.weight" if fused else "rbr_conv.0.conv.weight"


def _is_fused(state: StateDict) -> bool:
    fused = next((k for k in state.tensors if ".reparam_conv." in k), None)
    unfused = next((k for k in state.tensors if ".rbr_conv." in k), None)
    if fused and unfused:
        raise ArchitectureError(f"mixes re-parameterized ('{state.display(fused)}') and train-time "
                                f"('{state.display(unfused)}') blocks")
    if not fused and not unfused:
        first = state.display(next(iter(state.tensors)))
        raise ArchitectureError("no MobileOne convolutions found: expected keys such as 'stage0.reparam_conv.weight' "
                                f"or 'stage0.rbr_conv.0.conv.weight' (first key: '{first}')")
    return fused is not None


_BLOCK_CONV_WEIGHT = re.compile(rf"^stage{_INDEX}\.{_INDEX}\.(?:reparam_conv|rbr_conv\.{_INDEX}\.conv)\.weight$")


def _units_per_stage(state: StateDict) -> tuple:
    """Stages and their unit counts, from the blocks whose convolution weights are present."""
    last_block = {}
    for key in state.tensors:
        match = _BLOCK_CONV_WEIGHT.match(key)
        if not match or match.group(1) == "0":
            continue
        stage, index = int(match.group(1)), int(match.group(2))
        if stage > MAX_STAGES or index > MAX_BLOCK_INDEX:
            raise ArchitectureError(f"'{state.display(key)}': stage or block index out of range")
        last_block[stage] = max(index, last_block.get(stage, 0))
    if not last_block:
        raise ArchitectureError("no backbone blocks found (no 'stage1.0.*' convolution)")
    return tuple(last_block.get(stage, 0) // 2 + 1 for stage in range(1, max(last_block) + 1))


def _leading_dim(state: StateDict, key: str, rank: int) -> int:
    tensor = state.require(key)
    if tensor.ndim != rank or tensor.shape[0] == 0:
        raise ArchitectureError(f"'{state.display(key)}': expected a non-empty {rank}-d tensor, "
                                f"found shape {_shape_text(tensor.shape)}")
    return tensor.shape[0]


def _branch_count(state: StateDict, block: str) -> int:
    pattern = re.compile(re.escape(block) + rf"\.rbr_conv\.{_INDEX}\.")
    indices = [int(m.group(1)) for m in map(pattern.match, state.tensors) if m]
    if max(indices, default=0) >= MAX_BRANCHES:
        raise ArchitectureError(f"'{block}' has conv branch {max(indices)}; at most {MAX_BRANCHES} are supported")
    return max(indices, default=0) + 1


def _blocks_with_se(state: StateDict, units: tuple) -> list:
    """Blocks that have squeeze-excite keys (keys of blocks that do not exist are reported later)."""
    blocks = ["stage0"] + [f"stage{s}.{j}" for s, n in enumerate(units, start=1) for j in range(2 * n)]
    return [block for block in blocks if any(key.startswith(f"{block}.se.") for key in state.tensors)]


def infer_architecture(state: StateDict) -> Architecture:
    """The architecture implied by the key names and the shapes of a few defining tensors."""
    fused = _is_fused(state)
    conv = _conv_weight_key(fused)
    units = _units_per_stage(state)
    return Architecture(
        stem_width=_leading_dim(state, f"stage0.{conv}", 4),
        stage_widths=tuple(_leading_dim(state, f"stage{s}.1.{conv}", 4) for s in range(1, len(units) + 1)),
        stage_units=units,
        se_widths=tuple((b, _leading_dim(state, f"{b}.se.reduce.weight", 4)) for b in _blocks_with_se(state, units)),
        num_classes=_leading_dim(state, "linear.weight", 2),
        fused=fused,
        stem_branches=0 if fused else _branch_count(state, "stage0"),
        branches=0 if fused else _branch_count(state, "stage1.0"),
    )


# --- validation -----------------------------------------------------------------------------------------

# Roles of expected tensors: learned or running-statistic floats, and BatchNorm's optional step counter.
FLOAT, COUNTER = "float", "counter"


def _batch_norm_tensors(prefix: str, channels: int):
    for name in ("weight", "bias", "running_mean", "running_var"):
        yield f"{prefix}.{name}", (channels,), FLOAT
    yield f"{prefix}.num_batches_tracked", (), COUNTER


def _block_tensors(block: Block, arch: Architecture):
    """(key, shape, role) of every tensor the block must have, in Apple's order."""
    p, n_out, k = block.name, block.out_channels, block.kernel
    per_group = block.in_channels // block.groups
    if block.se_width:
        yield f"{p}.se.reduce.weight", (block.se_width, n_out, 1, 1), FLOAT
        yield f"{p}.se.reduce.bias", (block.se_width,), FLOAT
        yield f"{p}.se.expand.weight", (n_out, block.se_width, 1, 1), FLOAT
        yield f"{p}.se.expand.bias", (n_out,), FLOAT
    if arch.fused:
        yield f"{p}.reparam_conv.weight", (n_out, per_group, k, k), FLOAT
        yield f"{p}.reparam_conv.bias", (n_out,), FLOAT
        return
    if block.has_identity_branch:
        yield from _batch_norm_tensors(f"{p}.rbr_skip", n_out)
    for i in range(arch.branches_of(block)):
        yield f"{p}.rbr_conv.{i}.conv.weight", (n_out, per_group, k, k), FLOAT
        yield from _batch_norm_tensors(f"{p}.rbr_conv.{i}.bn", n_out)
    if k > 1:
        yield f"{p}.rbr_scale.conv.weight", (n_out, per_group, 1, 1), FLOAT
        yield from _batch_norm_tensors(f"{p}.rbr_scale.bn", n_out)


def expected_tensors(arch: Architecture):
    for block in arch.blocks():
        yield from _block_tensors(block, arch)
    yield "linear.weight", (arch.num_classes, arch.stage_widths[-1]), FLOAT
    yield "linear.bias", (arch.num_classes,), FLOAT


def check_tensors(state: StateDict, arch: Architecture) -> None:
    """Every tensor the architecture needs is present with its shape and a usable type; nothing else is."""
    expected = set()
    for key, shape, role in expected_tensors(arch):
        expected.add(key)
        if role == COUNTER and key not in state.tensors:
            continue
        _check_tensor(state, key, state.require(key), shape, role)
    for key in state.tensors:
        if key not in expected:
            raise ArchitectureError(f"unexpected key '{state.display(key)}'")


def _check_tensor(state: StateDict, key: str, tensor: np.ndarray, shape: tuple, role: str) -> None:
    where = f"'{state.display(key)}'"
    if tensor.shape != shape:
        raise ArchitectureError(f"{where}: expected shape {_shape_text(shape)}, found {_shape_text(tensor.shape)}")
    if role == COUNTER:
        if tensor.dtype.kind not in "iu":
            raise ArchitectureError(f"{where}: expected an integer counter, found {tensor.dtype}")
        return
    if tensor.dtype.kind != "f":
        raise ArchitectureError(f"{where}: expected a floating-point tensor, found {tensor.dtype}")
    if not np.isfinite(tensor).all():
        raise ArchitectureError(f"{where} holds NaN or infinite values")
    if key.endswith(".running_var") and (tensor < 0).any():
        raise ArchitectureError(f"{where}: a running variance is negative")


# --- re-parameterization --------------------------------------------------------------------------------

def _float64(state: StateDict, key: str) -> np.ndarray:
    return state.tensors[key].astype(np.float64)


def _fold_batch_norm(state: StateDict, bn: str, kernel: np.ndarray):
    """conv(kernel) followed by BatchNorm `bn` (running statistics) as one kernel and bias."""
    scale = _float64(state, f"{bn}.weight") / np.sqrt(_float64(state, f"{bn}.running_var") + BATCH_NORM_EPS)
    bias = _float64(state, f"{bn}.bias") - _float64(state, f"{bn}.running_mean") * scale
    return kernel * scale[:, None, None, None], bias


def _identity_kernel(block: Block) -> np.ndarray:
    """The kernel that copies each input channel to the same output channel (centre tap 1)."""
    per_group = block.in_channels // block.groups
    kernel = np.zeros((block.out_channels, per_group, block.kernel, block.kernel))
    centre = block.kernel // 2
    kernel[np.arange(block.out_channels), np.arange(block.out_channels) % per_group, centre, centre] = 1.0
    return kernel


def _reparameterize(state: StateDict, block: Block, arch: Architecture):
    """Sum of all folded branches: k conv+BN, the 1x1 scale branch padded to the 3x3 centre, identity."""
    p = block.name
    branches = [_fold_batch_norm(state, f"{p}.rbr_conv.{i}.bn", _float64(state, f"{p}.rbr_conv.{i}.conv.weight"))
                for i in range(arch.branches_of(block))]
    if block.kernel > 1:
        pad = block.kernel // 2
        scale_kernel = np.pad(_float64(state, f"{p}.rbr_scale.conv.weight"), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        branches.append(_fold_batch_norm(state, f"{p}.rbr_scale.bn", scale_kernel))
    if block.has_identity_branch:
        branches.append(_fold_batch_norm(state, f"{p}.rbr_skip", _identity_kernel(block)))
    return sum(kernel for kernel, _ in branches), sum(bias for _, bias in branches)


def _finite_float32(values: np.ndarray, what: str) -> np.ndarray:
    """`values` as the blob stores them. check_tensors saw finite inputs, but a float64 value or a fused sum
    beyond float32's range (a huge BN weight over a zero running_var) would be stored as inf: refused."""
    with np.errstate(over="ignore", invalid="ignore"):  # reported below as one line, not as a warning
        result = values.astype(np.float32)
    if not np.isfinite(result).all():
        raise ArchitectureError(f"{what} is not finite in float32 (a value beyond +-3.4e38, or NaN)")
    return result


def _f32(state: StateDict, key: str) -> np.ndarray:
    return _finite_float32(state.tensors[key], f"'{state.display(key)}'")


def _fused_convolution(state: StateDict, block: Block, arch: Architecture):
    if arch.fused:
        return _f32(state, f"{block.name}.reparam_conv.weight"), _f32(state, f"{block.name}.reparam_conv.bias")
    with np.errstate(over="ignore", invalid="ignore"):  # float64 overflow gives inf or NaN, refused below
        weight, bias = _reparameterize(state, block, arch)
    what = "'{}' (fused from the train-time branches)"
    return (_finite_float32(weight, what.format(state.display(f"{block.name}.reparam_conv.weight"))),
            _finite_float32(bias, what.format(state.display(f"{block.name}.reparam_conv.bias"))))


def fused_layers(state: StateDict, arch: Architecture) -> list:
    """The blob's layer list: one convolution per block (+ its squeeze-excite), pool, linear."""
    layers = []
    for block in arch.blocks():
        weight, bias = _fused_convolution(state, block, arch)
        layers.append(Layer(block.kind, block.name, block.in_channels, block.out_channels, block.stride,
                            relu=not block.se_width, stage=block.stage, block=block.index,
                            tensors=[(f"{block.name}.reparam_conv.weight", weight),
                                     (f"{block.name}.reparam_conv.bias", bias)]))
        if block.se_width:
            se = f"{block.name}.se"
            keys = (f"{se}.reduce.weight", f"{se}.reduce.bias", f"{se}.expand.weight", f"{se}.expand.bias")
            layers.append(Layer(LayerKind.SQUEEZE_EXCITE, se, block.out_channels, block.out_channels, relu=True,
                                stage=block.stage, block=block.index, hidden=block.se_width,
                                tensors=[(key, _f32(state, key)) for key in keys]))
    channels, head_stage = arch.stage_widths[-1], len(arch.stage_widths) + 1
    layers.append(Layer(LayerKind.AVGPOOL, "gap", channels, channels, stage=head_stage))
    layers.append(Layer(LayerKind.LINEAR, "linear", channels, arch.num_classes, stage=head_stage,
                        tensors=[("linear.weight", _f32(state, "linear.weight")),
                                 ("linear.bias", _f32(state, "linear.bias"))]))
    return layers


# --- golden self-check ----------------------------------------------------------------------------------

# The input the blob's golden outputs are computed on (FORMAT.md "Version 3"): small, so that the data adds
# 2.5 % to S0's blob (0.7 % to S4's) and a phone checks it in milliseconds; not square, with odd stage sizes
# (56x40 -> 28x20, 14x10, 7x5, 4x3, 2x2), so that swapped sides, a tile's tail or a wrong edge column show.
GOLDEN_HEIGHT, GOLDEN_WIDTH = 56, 40


def golden_pixels(height: int, width: int) -> np.ndarray:
    """A synthetic photo, uint8 RGB [height, width, 3], in integer arithmetic only (identical everywhere):
    smooth colour gradients, a disc with sharp edges, stripes and a checkerboard, and a little hashed noise.
    Photo-like statistics keep an int8 model's activations inside the ranges it was calibrated on, where
    random noise would drive them far past (and measure clipping instead of the engine)."""
    y = np.arange(height, dtype=np.int64)[:, None]
    x = np.arange(width, dtype=np.int64)[None, :]
    h1, w1 = max(height - 1, 1), max(width - 1, 1)
    red = 40 + 160 * x // w1 + 0 * y
    green = 60 + 140 * y // h1 + 0 * x
    blue = 200 - 120 * (x * h1 + y * w1) // (2 * h1 * w1)
    rgb = np.stack([red, green, blue], axis=-1)
    disc = (4 * y - 12 * height // 5) ** 2 + (4 * x - 7 * width // 5) ** 2 <= (min(height, width)) ** 2
    rgb[disc] = (225, 185, 45)
    stripes = (y < height // 3) & (x >= width // 2)
    rgb += np.where(stripes & ((x // 2) % 2 == 0), 45, 0)[..., None]
    checker = (y >= 3 * height // 4) & (x < width // 3)
    rgb = np.where((checker & (((x // 3) + (y // 3)) % 2 == 1))[..., None], 255 - rgb, rgb)
    channel = np.arange(3, dtype=np.int64)[None, None, :]
    noise = ((y[..., None] * 73856093) ^ (x[..., None] * 19349663) ^ (channel * 83492791)) % 17 - 8
    return np.clip(rgb + noise, 0, 255).astype(np.uint8)


def golden_input(height: int, width: int, mean, std) -> np.ndarray:
    """golden_pixels preprocessed as the engine's pipeline ends: (pixel / 255 - mean) / std, NCHW float32."""
    pixels = golden_pixels(height, width).astype(np.float64) / 255.0
    normalized = (pixels - np.asarray(mean, dtype=np.float64)) / np.asarray(std, dtype=np.float64)
    return np.ascontiguousarray(normalized.transpose(2, 0, 1)[None], dtype=np.float32)


def _conv3x3(x: np.ndarray, weight: np.ndarray, stride: int, depthwise: bool) -> np.ndarray:
    """x [C, H, W], weight [O, C or 1, 3, 3], padding 1."""
    _, height, width = x.shape
    out_h, out_w = (height - 1) // stride + 1, (width - 1) // stride + 1
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    out = np.zeros((weight.shape[0], out_h, out_w))
    for dy in range(3):
        for dx in range(3):
            tap = padded[:, dy:dy + stride * (out_h - 1) + 1:stride, dx:dx + stride * (out_w - 1) + 1:stride]
            if depthwise:
                out += weight[:, 0, dy, dx][:, None, None] * tap
            else:
                out += np.tensordot(weight[:, :, dy, dx], tap, axes=(1, 0))
    return out


def fused_forward(layers: list, image: np.ndarray):
    """The fused graph in float64 on image [1, 3, H, W]: (per-stage outputs [1, C, h, w] for stages 0..S,
    logits [1, classes]). A stage's output is that of its last layer (squeeze-excite included)."""
    x = image[0].astype(np.float64)
    stages = {}
    for layer in layers:
        t = [array.astype(np.float64) for _, array in layer.tensors]
        if layer.kind in (LayerKind.STEM, LayerKind.DEPTHWISE):
            x = _conv3x3(x, t[0], layer.stride, layer.kind == LayerKind.DEPTHWISE) + t[1][:, None, None]
        elif layer.kind == LayerKind.POINTWISE:
            x = np.tensordot(t[0][:, :, 0, 0], x, axes=(1, 0)) + t[1][:, None, None]
        elif layer.kind == LayerKind.SQUEEZE_EXCITE:
            hidden = np.maximum(t[0][:, :, 0, 0] @ x.mean(axis=(1, 2)) + t[1], 0.0)
            x = x / (1.0 + np.exp(-(t[2][:, :, 0, 0] @ hidden + t[3])))[:, None, None]
        elif layer.kind == LayerKind.AVGPOOL:
            x = x.mean(axis=(1, 2))
        else:
            x = t[0] @ x + t[1]
        if layer.relu:
            x = np.maximum(x, 0.0)
        if layer.kind not in (LayerKind.AVGPOOL, LayerKind.LINEAR):
            stages[layer.stage] = x
    if sorted(stages) != list(range(len(stages))):
        raise ArchitectureError(f"stages {sorted(stages)}: every stage from 0 needs layers for golden outputs")
    return [stages[s][None] for s in range(len(stages))], x[None]


def golden_data(layers: list, mean, std) -> Golden:
    """The golden input at GOLDEN_HEIGHT x GOLDEN_WIDTH and the fused graph's outputs on it, as stored."""
    image = golden_input(GOLDEN_HEIGHT, GOLDEN_WIDTH, mean, std)
    stages, logits = fused_forward(layers, image)
    return Golden(image, [_finite_float32(s, f"golden output of stage {i}") for i, s in enumerate(stages)],
                  _finite_float32(logits, "golden logits"))
