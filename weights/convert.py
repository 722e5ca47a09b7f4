#!/usr/bin/env python3
"""Converts a MobileOne checkpoint into a `.mone` blob (weights/FORMAT.md), or inspects a blob.

    convert.py CHECKPOINT -o MODEL.mone [--labels FILE] [--name NAME] [--input-size H[,W]]
               [--crop-fraction F] [--expect-variant s0..s4] [--no-golden]
    convert.py --inspect MODEL.mone

Reads PyTorch zip checkpoints and safetensors files with Apple's or timm's MobileOne keys, fused or
train-time. The blob carries golden self-check data (FORMAT.md "Version 3"): a small synthetic input and
the fused graph's float64 outputs on it, which `mobileone-classify --verify` compares with the engine's.
Needs numpy only: it never imports torch and never runs code from a checkpoint.
Every failure is one line `error: <file>: <what>` on stderr and exit status 1; a python3 without numpy
gets one line naming an interpreter that has it. When the reader of its output goes away
(`--inspect MODEL.mone | head`), it stops quietly with exit status 141, as a C tool killed by SIGPIPE.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import secrets
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass


def _numpy_missing() -> str:
    """The one line for a python3 without numpy. Names the first other interpreter that has it, of the two
    weights/fetch.sh tries (python3 on PATH, then /usr/bin/python3, where Debian's python3-numpy goes), with the
    command to rerun; else says how to install it."""
    here = sys.executable or "python3"
    message = f"error: convert.py: numpy is not installed for {here}"
    for candidate in (shutil.which("python3"), "/usr/bin/python3"):
        if not candidate or os.path.abspath(candidate) == os.path.abspath(here) or not os.access(candidate, os.X_OK):
            continue
        try:
            has_numpy = subprocess.run([candidate, "-c", "import numpy"], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30).returncode == 0
        except (OSError, subprocess.SubprocessError):
            has_numpy = False
        if has_numpy:
            return f"{message}; {candidate} has it: {shlex.join([candidate, *sys.argv])}"
    return (f"{message}; install it (Debian: apt-get install python3-numpy, then use /usr/bin/python3; "
            f"elsewhere: {here} -m pip install numpy)")


try:
    from checkpoint_reader import CheckpointError, read_checkpoint
    from mobileone_graph import (IMAGENET_CLASSES, STANDARD_VARIANTS, ArchitectureError, canonicalize,
                                 check_tensors, find_state_dict, fused_layers, golden_data, infer_architecture)
    from mone_blob import (CONVOLUTIONS, MAX_INPUT_SIDE, BlobError, Layer, LayerKind, Model, Preprocessing,
                           decode, encode, read_header)
except ModuleNotFoundError as missing:
    if missing.name != "numpy":
        raise
    sys.exit(_numpy_missing())

IMAGENET_LABELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "imagenet_classes.txt")
DEFAULT_INPUT_SIZE = (224, 224)
# timm's crop_pct: 0.875 for S0 (and anything non-standard), 0.9 for S1..S4.
CROP_FRACTIONS = {"s1": 0.9, "s2": 0.9, "s3": 0.9, "s4": 0.9}
DEFAULT_CROP_FRACTION = 0.875
KIND_NAMES = {LayerKind.STEM: "stem3x3", LayerKind.DEPTHWISE: "dw3x3", LayerKind.POINTWISE: "pw1x1",
              LayerKind.SQUEEZE_EXCITE: "se", LayerKind.AVGPOOL: "avgpool", LayerKind.LINEAR: "linear"}


class ConversionError(Exception):
    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path


@contextlib.contextmanager
def blame(path: str):
    """Reports the expected failures of the enclosed work as a ConversionError about `path`."""
    try:
        yield
    except (CheckpointError, ArchitectureError, BlobError) as e:
        raise ConversionError(path, str(e)) from e
    except UnicodeDecodeError as e:
        raise ConversionError(path, f"not UTF-8 text ({e.reason} at byte {e.start})") from e
    except OSError as e:
        raise ConversionError(path, e.strerror or str(e)) from e


def one_line(text: str, limit: int = 2000) -> str:
    """Escapes what a checkpoint's names may hold (newlines, terminal escapes, other non-printable
    characters) so that a message stays one line and cannot drive the terminal; shortens huge ones."""
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"


def note(message: str) -> None:
    print(f"note: {one_line(message)}", file=sys.stderr)


# --- conversion ---------------------------------------------------------------------------------------

def convert(args) -> None:
    state, arch = load_checkpoint(args.checkpoint, args.expect_variant)
    with blame(args.checkpoint):
        layers = fused_layers(state, arch)
    variant = arch.variant()
    labels = load_labels(args.labels, arch.num_classes)
    name = args.name or (f"mobileone_{variant}" if variant else "mobileone_custom")
    preprocessing = preprocessing_for(variant, args.input_size, args.crop_fraction)
    if preprocessing.resize_shorter > MAX_INPUT_SIDE:
        raise ConversionError(args.output, f"resize_shorter {preprocessing.resize_shorter} exceeds the engine's "
                                           f"limit {MAX_INPUT_SIDE}: lower --input-size or raise --crop-fraction")
    with blame(args.checkpoint):
        golden = None if args.no_golden else golden_data(layers, preprocessing.mean, preprocessing.std)
    blob = encode(Model(name, preprocessing, layers, labels, golden))
    with blame(args.output):
        decode(blob)  # what we write must pass every check a reader makes
        write_atomically(args.output, blob)
    params = sum(t.size for layer in layers for _, t in layer.tensors)
    source = "re-parameterized" if arch.fused else f"fused from train-time blocks (k={arch.branches})"
    print(f"{args.output}: {name}, {params:,} parameters, {arch.num_classes} classes, {source}")


def load_checkpoint(path: str, expected_variant):
    """The checkpoint's tensors under Apple's names and the architecture they were checked against."""
    with blame(path):
        flat, wrapper = find_state_dict(read_checkpoint(path))
        if wrapper:
            note(f"using the tensors under '{wrapper}'")
        state = canonicalize(flat)
        arch = infer_architecture(state)
        check_tensors(state, arch)
        if expected_variant:
            check_variant(arch, expected_variant)
    return state, arch


def check_variant(arch, expected: str) -> None:
    variant = arch.variant()
    if variant != expected:
        found = f"mobileone_{variant}" if variant else "a non-standard MobileOne"
        raise ArchitectureError(f"expected mobileone_{expected} but the checkpoint holds {found} "
                                f"(stem {arch.stem_width}, stage widths {list(arch.stage_widths)}, "
                                f"units {list(arch.stage_units)}, {arch.num_classes} classes)")


def load_labels(path, class_count: int) -> list:
    if path is None and class_count != IMAGENET_CLASSES:
        note(f"{class_count} classes and no --labels: naming them class_0..class_{class_count - 1}")
        return [f"class_{i}" for i in range(class_count)]
    path = path or IMAGENET_LABELS
    with blame(path):
        with open(path, encoding="utf-8") as f:
            labels = f.read().splitlines()
    if len(labels) != class_count:
        raise ConversionError(path, f"{len(labels)} labels for a classifier with {class_count} classes")
    return labels


def preprocessing_for(variant, input_size, crop_fraction) -> Preprocessing:
    height, width = input_size or DEFAULT_INPUT_SIZE
    crop = crop_fraction or CROP_FRACTIONS.get(variant, DEFAULT_CROP_FRACTION)
    # timm: resize to floor(size / crop_pct), then centre-crop `size` (224 / 0.875 = 256).
    return Preprocessing(height, width, math.floor(min(height, width) / crop), crop)


def write_atomically(path: str, data: bytes) -> None:
    """Writes a temporary file beside `path` and renames it over `path`: never a half-written output."""
    directory, base = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


# --- inspection ---------------------------------------------------------------------------------------

def inspect_blob(path: str) -> None:
    with blame(path):
        with open(path, "rb") as f:
            data = f.read()
        model = decode(data)
    header = read_header(data)
    p = model.preprocessing
    print(f"{path}: {model.name}, format version {header['format_version']}, {len(data):,} bytes, "
          f"CRC-32 {header['checksum']:#010x} ok")
    print(f"input: 3x{p.input_height}x{p.input_width} RGB; resize the shorter side to {p.resize_shorter} "
          f"(antialiased bilinear), centre crop (crop fraction {p.crop_fraction:.4g}); "
          f"mean {_floats(p.mean)}, std {_floats(p.std)}")
    print(f"labels: {len(model.labels)} ('{model.labels[0]}' ... '{model.labels[-1]}')")
    print(golden_summary(model.golden) + "\n")
    costs = layer_costs(model)
    print(f"{'#':>3}  {'name':<14} {'kind':<8} {'act':<4} {'in -> out':<28} {'stride':>6} {'params':>11} {'MACs':>13}")
    for i, cost in enumerate(costs):
        layer, shapes = cost.layer, f"{_dims(cost.shape_in)} -> {_dims(cost.shape_out)}"
        print(f"{i:>3}  {layer.name:<14} {KIND_NAMES[layer.kind]:<8} {'relu' if layer.relu else '-':<4} "
              f"{shapes:<28} {layer.stride:>6} {cost.params:>11,} {cost.macs:>13,}")
    total_params, total_macs = sum(c.params for c in costs), sum(c.macs for c in costs)
    print(f"\ntotal: {len(costs)} layers, {total_params:,} parameters, {total_macs:,} MACs "
          f"({total_macs / 1e6:.1f} M) at {p.input_height}x{p.input_width}")


def golden_summary(golden) -> str:
    if golden is None:
        return "golden self-check: none (format version 1; --verify is unavailable)"
    _, _, height, width = golden.input.shape
    size = sum(array.nbytes for _, array in golden.tensors())
    return (f"golden self-check: {height}x{width} input, outputs of stages 0..{len(golden.stages) - 1} and the "
            f"logits ({size:,} bytes)")


def _floats(values) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"


def _dims(shape) -> str:
    return "x".join(str(d) for d in shape)


@dataclass
class LayerCost:
    layer: Layer
    shape_in: tuple
    shape_out: tuple
    params: int
    macs: int  # multiply-accumulates


def _macs(layer: Layer, out_height: int, out_width: int) -> int:
    """Convolutions: every weight once per output pixel. Squeeze-excite: its two 1x1 layers on the pooled
    vector. Linear: its weights. The average pool: none."""
    if layer.kind in CONVOLUTIONS:
        return layer.tensors[0][1].size * out_height * out_width
    if layer.kind == LayerKind.SQUEEZE_EXCITE:
        return 2 * layer.out_channels * layer.hidden
    if layer.kind == LayerKind.LINEAR:
        return layer.in_channels * layer.out_channels
    return 0


def layer_costs(model: Model) -> list:
    """Shapes, parameters and MACs of every layer, propagating the stored input size."""
    channels, height, width = 3, model.preprocessing.input_height, model.preprocessing.input_width
    costs = []
    for layer in model.layers:
        shape_in = (channels, height, width)
        if layer.kind in (LayerKind.STEM, LayerKind.DEPTHWISE):  # 3x3, padding 1
            height, width = (height - 1) // layer.stride + 1, (width - 1) // layer.stride + 1
        elif layer.kind == LayerKind.AVGPOOL:
            height = width = 1
        channels = layer.out_channels
        shape_out = (channels, height, width)
        if layer.kind == LayerKind.LINEAR:
            shape_in, shape_out = (layer.in_channels,), (layer.out_channels,)
        params = sum(t.size for _, t in layer.tensors)
        costs.append(LayerCost(layer, shape_in, shape_out, params, _macs(layer, height, width)))
    return costs


# --- command line -------------------------------------------------------------------------------------

class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        print(f"error: {self.prog}: {message} (see --help)", file=sys.stderr)
        sys.exit(1)


def _input_size(text: str):
    try:
        sides = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not H or H,W") from None
    if len(sides) not in (1, 2) or not all(0 < s <= MAX_INPUT_SIDE for s in sides):
        raise argparse.ArgumentTypeError(f"'{text}' is not H or H,W with sides in 1..{MAX_INPUT_SIDE}")
    return (sides[0], sides[-1])


def _crop_fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not in (0, 1]")
    return value


USAGE_EXAMPLES = """examples:
  python3 weights/convert.py mobileone_s0.pth.tar -o mobileone_s0.mone
  python3 weights/convert.py mobileone_s2_unfused.pth.tar -o s2.mone --expect-variant s2
  python3 weights/convert.py my_mobileone.safetensors -o mine.mone --labels classes.txt --input-size 256,320
  python3 weights/convert.py --inspect mobileone_s0.mone

Python needs numpy only (Debian: /usr/bin/python3 with python3-numpy). Exit status: 0 done, 1 failed (one
line on stderr), 141 the reader of the output went away (e.g. `| head`)."""


def parse_args(argv):
    parser = _OneLineParser(prog="convert.py", description=__doc__.split("\n\n")[0], epilog=USAGE_EXAMPLES,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", nargs="?",
                        help="PyTorch zip checkpoint (.pth, .pth.tar, .bin) or .safetensors (default: none; give it, "
                             "or --inspect)")
    parser.add_argument("-o", "--output", metavar="MODEL.mone",
                        help="the .mone file to write, atomically (no default: required with CHECKPOINT)")
    parser.add_argument("--labels", metavar="FILE",
                        help="class names, one per line (default: ImageNet's 1000 for 1000 classes, else "
                             "class_0, class_1, ...)")
    parser.add_argument("--name", help="model name (default: mobileone_s0..s4, or mobileone_custom)")
    parser.add_argument("--input-size", metavar="H[,W]", type=_input_size,
                        help="input size the model is meant to run at (default: 224, i.e. 224x224)")
    parser.add_argument("--crop-fraction", metavar="F", type=_crop_fraction,
                        help="centre-crop fraction in (0, 1] (default: 0.875 for S0 and custom models, 0.9 for "
                             "S1..S4, as timm)")
    parser.add_argument("--expect-variant", choices=sorted(STANDARD_VARIANTS),
                        help="fail unless the checkpoint is exactly this standard variant (default: accept any "
                             "MobileOne)")
    parser.add_argument("--no-golden", action="store_true",
                        help="write format version 1, without the golden self-check data, for engines older "
                             "than format version 3 (default: version 3 with it)")
    parser.add_argument("--inspect", metavar="MODEL.mone",
                        help="validate a .mone file and print its layer table instead of converting (default: "
                             "convert)")
    parser.add_argument("--debug", action="store_true",
                        help="show a traceback for unexpected failures (default: one line)")
    if not (sys.argv[1:] if argv is None else argv):
        parser.print_help()  # no arguments: the usage, with examples (and still exit status 1)
        sys.stdout.flush()
    args = parser.parse_args(argv)
    if args.inspect and args.checkpoint:
        parser.error("--inspect takes no checkpoint")
    if not args.inspect and not (args.checkpoint and args.output):
        parser.error("give CHECKPOINT -o MODEL.mone, or --inspect MODEL.mone")
    return args


def _output_closed() -> int:
    """Our reader went away (`convert.py --inspect MODEL.mone | head`): stop without a word. Python would
    otherwise report the BrokenPipeError again when it flushes stdout at exit, so stdout now goes to the null
    device. The status is 141 (128 + SIGPIPE), what the shell reports for a C tool (cat, grep, seq) stopped
    the same way: under `set -o pipefail` this pipeline behaves as it would with them, and a truncated table
    is never reported as a complete one (status 0)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


def main(argv=None) -> int:
    args = parse_args(argv)
    subject = args.inspect or args.checkpoint
    try:
        inspect_blob(args.inspect) if args.inspect else convert(args)
        sys.stdout.flush()  # a closed pipe shows here, not later at exit
    except BrokenPipeError:
        return _output_closed()
    except ConversionError as e:
        print(one_line(f"error: {e.path}: {e}"), file=sys.stderr)
        return 1
    except Exception as e:  # a bug: still one line unless --debug asks for the traceback
        if args.debug:
            raise
        print(one_line(f"error: {subject}: internal error ({type(e).__name__}: {e}); rerun with --debug"), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
