#!/usr/bin/env python3
"""Tests of weights/convert.py and its modules.

Run with a Python that has numpy and torch (/usr/bin/python3 on Debian):

    /usr/bin/python3 tests/converter/test_convert.py [-v]

torch only creates the test checkpoints here; the converter runs in subprocesses (one of which checks
that it never imports torch) or, for numpy-only unit tests of its modules, in-process. Logits are checked
against independent float64 numpy forwards (reference_forward.py) of the train-time graph and of the
blob as FORMAT.md describes it. The shared data directory is $MOBILEONE_SHARED, else ../shared beside
the repository; it must exist.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zipfile
from unittest import mock

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
WEIGHTS = os.path.join(REPO, "weights")
CONVERTER = os.path.join(WEIGHTS, "convert.py")
SHARED = os.path.abspath(os.environ.get("MOBILEONE_SHARED") or os.path.join(REPO, "..", "shared"))
sys.path[:0] = [HERE, os.path.join(REPO, "tests", "fixtures"), WEIGHTS]

import checkpoint_reader  # noqa: E402  (weights/, numpy only)
import convert  # noqa: E402
import make_variants  # noqa: E402  (tests/fixtures/, torch)
import mobileone_graph  # noqa: E402
import mone_blob  # noqa: E402
import reference_forward as ref  # noqa: E402

REAL_S0 = os.path.join(SHARED, "weights", "mobileone_s0.pth.tar")
FUSION_TOLERANCE = 1e-5  # fused fp32 blob vs float64 train-time graph, relative to max |logit|
REFERENCE_TOLERANCE = 1e-4  # vs PyTorch fp32 logits

# Small non-standard models: two and four stages, k = 1 and 3, squeeze-excite, a 48->48-like
# pointwise block with an identity branch (stage1.1 of SE_K3), odd input sizes.
SE_K3 = make_variants.Config(stem_width=8, stage_widths=(8, 16, 24, 32), stage_units=(1, 1, 2, 1), branches=3,
                             se_units=(0, 0, 1, 1), num_classes=7, se_ratio=0.25)
PLAIN_K1 = make_variants.Config(stem_width=16, stage_widths=(24, 40), stage_units=(2, 1), branches=1, num_classes=5)
SE_K3_INPUT, PLAIN_K1_INPUT = (1, 3, 33, 27), (1, 3, 20, 17)


def setUpModule():
    if not os.path.isdir(SHARED):
        raise RuntimeError(f"shared data not found at {SHARED} (set MOBILEONE_SHARED)")
    global WORK, SE_K3_MODEL, SE_K3_CKPT, SE_K3_BLOB
    WORK = tempfile.mkdtemp(prefix="mone_test_")
    SE_K3_MODEL = make_variants.build_model(SE_K3, seed=11, image_size=SE_K3_INPUT[2:])
    SE_K3_CKPT = os.path.join(WORK, "se_k3.pth")
    torch.save(SE_K3_MODEL.state_dict(), SE_K3_CKPT)
    subprocess.run([sys.executable, CONVERTER, SE_K3_CKPT, "-o", SE_K3_CKPT + ".mone"], check=True, capture_output=True)
    with open(SE_K3_CKPT + ".mone", "rb") as f:
        SE_K3_BLOB = f.read()


def tearDownModule():
    shutil.rmtree(WORK, ignore_errors=True)


def run_convert(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, CONVERTER, *map(str, args)], capture_output=True, text=True)


def numpy_state(state_dict) -> dict:
    return collections.OrderedDict((k, v.detach().numpy()) for k, v in state_dict.items())


def random_input(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def read_f32(path: str) -> np.ndarray:
    return np.fromfile(path, dtype="<f4")


class ConverterTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=WORK)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def save(self, obj, name: str, **kwargs) -> str:
        torch.save(obj, self.path(name), **kwargs)
        return self.path(name)

    def convert_ok(self, checkpoint: str, blob_name: str = "out.mone", *options) -> str:
        result = run_convert(checkpoint, "-o", self.path(blob_name), *options)
        self.assertEqual(result.returncode, 0, result.stderr)
        return self.path(blob_name)

    def blob_bytes(self, checkpoint: str, *options) -> bytes:
        with open(self.convert_ok(checkpoint, "bytes.mone", *options), "rb") as f:
            return f.read()

    def assert_rejected(self, checkpoint: str, fragment: str, *options, blamed: str = None) -> str:
        """Conversion fails with exit 1 and one `error: <file>: ...` line; no output, no temporary."""
        output = self.path("rejected.mone")
        result = run_convert(checkpoint, "-o", output, *options)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        errors = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
        self.assertEqual(len(errors), 1, result.stderr)
        self.assertTrue(errors[0].startswith(f"error: {blamed or checkpoint}: "), errors[0])
        self.assertIn(fragment, errors[0])
        self.assertNotIn("Traceback", result.stderr)
        self.assertFalse(os.path.exists(output))
        self.assertEqual([name for name in os.listdir(self.dir) if name.endswith(".tmp")], [])
        return errors[0]


# --- numerics ---------------------------------------------------------------------------------------------

class FusionTest(ConverterTestCase):
    def check_fused_equals_unfused(self, model, input_shape, blob):
        x = random_input(input_shape)
        fused = ref.fused_forward(ref.read_mone(blob), x)
        unfused = ref.unfused_forward(numpy_state(model.state_dict()), x)
        self.assertLess(ref.relative_error(fused, unfused), FUSION_TOLERANCE)
        with torch.no_grad():  # the reference itself agrees with PyTorch
            self.assertLess(ref.relative_error(model(torch.from_numpy(x)).numpy()[0], unfused), 1e-5)

    def test_squeeze_excite_k3_four_stages(self):
        self.check_fused_equals_unfused(SE_K3_MODEL, SE_K3_INPUT, self.convert_ok(SE_K3_CKPT))

    def test_plain_k1_two_stages(self):
        model = make_variants.build_model(PLAIN_K1, seed=12, image_size=PLAIN_K1_INPUT[2:])
        self.check_fused_equals_unfused(model, PLAIN_K1_INPUT, self.convert_ok(self.save(model.state_dict(), "p.pth")))

    def test_fused_checkpoint_is_stored_unchanged(self):
        fused = make_variants.reparameterized_state_dict(SE_K3_MODEL)
        blob = ref.read_mone(self.convert_ok(self.save(fused, "fused.pth")))
        stored = {name: array for layer in blob["layers"] for name, array in layer["tensors"]}
        self.assertEqual(stored.keys(), fused.keys())
        for key, tensor in fused.items():
            np.testing.assert_array_equal(stored[key], tensor.numpy(), err_msg=key)
        self.check_fused_equals_unfused(SE_K3_MODEL, SE_K3_INPUT, self.path("out.mone"))

    def test_torch_and_numpy_reparameterization_agree(self):
        ours = ref.read_mone(self.convert_ok(SE_K3_CKPT))
        stored = {name: array for layer in ours["layers"] for name, array in layer["tensors"]}
        for key, tensor in make_variants.reparameterized_state_dict(SE_K3_MODEL).items():
            np.testing.assert_allclose(stored[key], tensor.numpy(), rtol=1e-6, atol=1e-7, err_msg=key)

    def check_reference_logits(self, blob, input_path, shape, logits_path):
        x = read_f32(input_path).reshape(shape)
        error = ref.relative_error(ref.fused_forward(ref.read_mone(blob), x), read_f32(logits_path))
        self.assertLess(error, REFERENCE_TOLERANCE)

    def test_real_s0_reproduces_pytorch_logits(self):
        blob = self.convert_ok(REAL_S0)
        for image in ("apple", "chelsea"):
            with self.subTest(image=image):
                self.check_reference_logits(blob, os.path.join(SHARED, "reference", f"{image}_input_nchw.f32"),
                                            (1, 3, 224, 224), os.path.join(SHARED, "reference", f"{image}_logits.f32"))

    def test_shared_unfused_checkpoints_reproduce_apple_logits(self):
        for name, shape in (("mobileone_s0_random", (1, 3, 224, 224)), ("custom_se_k2_c10", (1, 3, 160, 192))):
            with self.subTest(checkpoint=name):
                stem = os.path.join(SHARED, "checkpoints", name)
                blob = self.convert_ok(stem + "_unfused.pth.tar", f"{name}.mone")
                self.check_reference_logits(blob, stem + "_input_nchw.f32", shape, stem + "_logits.f32")


# --- accepted forms ----------------------------------------------------------------------------------------

class AcceptedFormsTest(ConverterTestCase):
    def setUp(self):
        super().setUp()
        self.state = SE_K3_MODEL.state_dict()

    def test_timm_keys_give_identical_blob(self):
        timm = make_variants.timm_state_dict(self.state)
        self.assertIn("stages.2.2.attn.fc1.weight", timm)
        self.assertEqual(self.blob_bytes(self.save(timm, "timm.pth")), SE_K3_BLOB)

    def test_timm_fused_keys_give_identical_blob(self):
        fused = make_variants.reparameterized_state_dict(SE_K3_MODEL)
        timm = collections.OrderedDict((make_variants.timm_key(k), v) for k, v in fused.items())
        self.assertEqual(self.blob_bytes(self.save(timm, "timm_fused.pth")),
                         self.blob_bytes(self.save(fused, "fused.pth")))

    def test_wrappers_and_prefixes(self):
        def prefixed(prefix):
            return collections.OrderedDict((prefix + k, v) for k, v in self.state.items())

        forms = {
            "state_dict": {"epoch": 3, "arch": "mobileone", "state_dict": self.state},
            "model": {"model": self.state, "optimizer": {"lr": 0.1}},
            "module prefix": prefixed("module."),
            "compile and DDP": {"state_dict": prefixed("_orig_mod.module.")},
            "parameters": {k: torch.nn.Parameter(v.clone(), requires_grad=False) if v.is_floating_point() else v
                           for k, v in self.state.items()},
        }
        for name, checkpoint in forms.items():
            with self.subTest(form=name):
                self.assertEqual(self.blob_bytes(self.save(checkpoint, "wrapped.pth")), SE_K3_BLOB)

    def test_ema_weights_are_preferred(self):
        other = make_variants.build_model(SE_K3, seed=99, image_size=SE_K3_INPUT[2:]).state_dict()
        checkpoint = self.save({"state_dict": other, "state_dict_ema": self.state}, "ema.pth")
        result = run_convert(checkpoint, "-o", self.path("ema.mone"))
        self.assertIn("note: using the tensors under 'state_dict_ema'", result.stderr)
        with open(self.path("ema.mone"), "rb") as f:
            self.assertEqual(f.read(), SE_K3_BLOB)

    def test_safetensors_gives_identical_blob(self):
        make_variants.write_safetensors(self.path("m.safetensors"), self.state)
        self.assertEqual(self.blob_bytes(self.path("m.safetensors")), SE_K3_BLOB)

    def test_half_precision_checkpoint(self):
        half = {k: v.half() if v.is_floating_point() else v for k, v in self.state.items()}
        blob = ref.read_mone(self.convert_ok(self.save(half, "half.pth")))
        self.assertEqual(blob["layers"][0]["tensors"][0][1].dtype, np.dtype("<f4"))

    def test_labels_and_names(self):
        labels = self.path("labels.txt")
        with open(labels, "w", encoding="utf-8") as f:
            f.write("".join(f"klasse {i} ü\n" for i in range(7)))
        blob = ref.read_mone(self.convert_ok(SE_K3_CKPT, "l.mone", "--labels", labels, "--name", "tiny"))
        self.assertEqual(blob["labels"], [f"klasse {i} ü" for i in range(7)])
        self.assertEqual(blob["name"], "tiny")
        result = run_convert(SE_K3_CKPT, "-o", self.path("d.mone"))
        self.assertIn("note: 7 classes and no --labels", result.stderr)
        blob = ref.read_mone(self.path("d.mone"))
        self.assertEqual((blob["name"], blob["labels"][6]), ("mobileone_custom", "class_6"))

    def test_preprocessing_options(self):
        blob = ref.read_mone(self.convert_ok(SE_K3_CKPT, "p.mone", "--input-size", "256,192", "--crop-fraction", "0.8"))
        self.assertEqual((blob["input_size"], blob["resize_shorter"]), ((256, 192), 240))
        self.assertAlmostEqual(blob["crop_fraction"], 0.8, places=6)


class StandardVariantTest(ConverterTestCase):
    """Standard architectures are recognised from shapes alone (fused checkpoints of untrained models)."""

    def test_names_preprocessing_and_expect_variant(self):
        for variant, resize, crop in (("s0", 256, 0.875), ("s1", 248, 0.9), ("s4", 248, 0.9)):
            with self.subTest(variant=variant):
                model = make_variants.MobileOne(make_variants.VARIANTS[variant]).eval()
                checkpoint = self.save(make_variants.reparameterized_state_dict(model), f"{variant}.pth")
                blob = ref.read_mone(self.convert_ok(checkpoint, f"{variant}.mone", "--expect-variant", variant))
                self.assertEqual((blob["name"], blob["resize_shorter"], blob["labels"][281]),
                                 (f"mobileone_{variant}", resize, "tabby"))
                self.assertAlmostEqual(blob["crop_fraction"], crop, places=6)
                other = "s2" if variant != "s2" else "s3"
                self.assert_rejected(checkpoint, f"expected mobileone_{other} but the checkpoint holds "
                                     f"mobileone_{variant}", "--expect-variant", other)

    def test_expected_key_counts_match_the_fact_sheet(self):
        counts = {"s0": (1323, 88), "s1": (562, 88), "s2": (562, 88), "s3": (562, 88), "s4": (610, 136)}
        for variant, (unfused, fused) in counts.items():
            for is_fused, expected in ((False, unfused), (True, fused)):
                arch = mobileone_graph.standard_architecture(variant, is_fused)
                self.assertEqual(len(list(mobileone_graph.expected_tensors(arch))), expected, (variant, is_fused))


# --- inspect ----------------------------------------------------------------------------------------------

class InspectTest(ConverterTestCase):
    def inspect(self, blob: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, CONVERTER, "--inspect", blob], capture_output=True, text=True)

    def test_real_s0_totals(self):
        result = self.inspect(self.convert_ok(REAL_S0))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("total: 45 layers, 2,078,504 parameters, 275,110,400 MACs (275.1 M) at 224x224", result.stdout)
        self.assertIn("resize the shorter side to 256", result.stdout)
        self.assertIn("labels: 1000 ('tench' ... 'toilet tissue')", result.stdout)
        self.assertRegex(result.stdout, r"\n +0  stage0 +stem3x3 +relu 3x224x224 -> 48x112x112 +2 +1,344 +16,257,024\n")
        self.assertRegex(result.stdout, r"\n +44  linear +linear +- +1024 -> 1000 +1 +1,025,000 +1,024,000\n")

    def test_layer_table_at_odd_input_size(self):
        blob = self.convert_ok(SE_K3_CKPT, "odd.mone", "--input-size", "33,27")
        result = self.inspect(blob)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"stage0 +stem3x3 +relu 3x33x27 -> 8x17x14 ")
        self.assertRegex(result.stdout, r"stage1\.0 +dw3x3 +relu 8x17x14 -> 8x9x7 ")
        self.assertRegex(result.stdout, r"stage3\.2 +dw3x3 +- +24x3x2 -> 24x3x2 ")
        self.assertRegex(result.stdout, r"stage3\.2\.se +se +relu 24x3x2 -> 24x3x2 +1 +318 +288\n")
        self.assertRegex(result.stdout, r"gap +avgpool +- +32x2x1 -> 32x1x1 ")
        params = sum(a.size for layer in ref.read_mone(blob)["layers"] for _, a in layer["tensors"])
        self.assertIn(f"{params:,} parameters", result.stdout)

    def test_corrupt_blobs_are_rejected(self):
        with open(self.convert_ok(SE_K3_CKPT), "rb") as f:
            good = f.read()
        damaged = {
            "flipped.mone": (good[:500] + bytes([good[500] ^ 1]) + good[501:], "checksum mismatch"),
            "truncated.mone": (good[:-10], "truncated or padded"),
            "short.mone": (good[:100], "smaller than the 160-byte header"),
            "magic.mone": (b"x" + good[1:], "bad magic"),
        }
        for name, (data, fragment) in damaged.items():
            with self.subTest(name=name):
                with open(self.path(name), "wb") as f:
                    f.write(data)
                result = self.inspect(self.path(name))
                self.assertEqual(result.returncode, 1)
                self.assertEqual(result.stderr.count("\n"), 1, result.stderr)
                self.assertIn(f"error: {self.path(name)}: ", result.stderr)
                self.assertIn(fragment, result.stderr)

    def test_graph_errors_are_rejected(self):
        with open(self.convert_ok(SE_K3_CKPT), "rb") as f:
            good = f.read()

        def without_pool(model):
            del model.layers[-2]

        def relu_before_se(model):
            next(layer for layer in model.layers if layer.name == "stage3.2").relu = True

        def wrong_width(model):
            model.layers[2].out_channels = 9  # stage1.1 no longer matches its weight

        cases = {without_pool: "the graph must be a stem conv, then depthwise, pointwise and squeeze-excite layers",
                 relu_before_se: "layer 8 'stage3.2.se': squeeze-excite must follow a convolution stored without "
                                 "its ReLU",
                 wrong_width: "layer 2 'stage1.1': tensor 0 'stage1.1.reparam_conv.weight' has shape [8, 8, 1, 1], "
                              "expected [9, 8, 1, 1]"}
        for edit, fragment in cases.items():
            with self.subTest(edit=edit.__name__):
                model = mone_blob.decode(good)
                edit(model)
                with open(self.path("bad.mone"), "wb") as f:
                    f.write(mone_blob.encode(model))
                result = self.inspect(self.path("bad.mone"))
                self.assertEqual((result.returncode, result.stderr.count("\n")), (1, 1), result.stderr)
                self.assertIn(fragment, result.stderr)


class GoldenTest(ConverterTestCase):
    """The golden self-check data (FORMAT.md "Version 3") the converter stores."""

    def check_golden(self, path: str):
        blob = ref.read_mone(path)
        self.assertEqual(blob["format_version"], 3)
        golden = blob["golden"]
        stages = blob["layers"][-3]["stage"] + 1
        self.assertEqual(len(golden), stages + 2)
        image = golden[0]
        self.assertEqual(image.shape, (1, 3, mobileone_graph.GOLDEN_HEIGHT, mobileone_graph.GOLDEN_WIDTH))
        # An 8-bit image preprocessed as the engine does it: (pixel / 255 - mean) / std.
        mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
        pixels = (image[0].astype(np.float64).transpose(1, 2, 0) * std + mean) * 255
        self.assertLess(np.abs(pixels - np.round(pixels)).max(), 1e-3)
        self.assertTrue(((pixels > -0.5) & (pixels < 255.5)).all())
        self.assertGreater(np.unique(np.round(pixels)).size, 200)  # a varied picture, not a flat one
        # The outputs are the independent float64 forward of the stored weights on it (stored in float32).
        expected = {}
        logits = ref.fused_forward(blob, image, expected)
        for stage in range(stages):
            with self.subTest(stage=stage):
                self.assertEqual(golden[1 + stage].shape, (1, *expected[stage].shape))
                self.assertLess(ref.relative_error(golden[1 + stage][0], expected[stage]), 1e-6)
        self.assertLess(ref.relative_error(golden[-1][0], logits), 1e-6)

    def test_real_s0_and_a_custom_model_carry_their_float64_outputs(self):
        self.check_golden(self.convert_ok(REAL_S0))
        with open(self.path("se_k3.mone"), "wb") as f:
            f.write(SE_K3_BLOB)
        self.check_golden(self.path("se_k3.mone"))

    def test_no_golden_writes_version_1(self):
        path = self.convert_ok(SE_K3_CKPT, "v1.mone", "--no-golden")
        blob = ref.read_mone(path)
        self.assertEqual((blob["format_version"], blob["golden"]), (1, None))
        with open(path, "rb") as f:
            self.assertEqual(struct.unpack_from("<I", f.read(), 156), (0,))
        result = subprocess.run([sys.executable, CONVERTER, "--inspect", path], capture_output=True, text=True)
        self.assertIn("golden self-check: none (format version 1; --verify is unavailable)", result.stdout)
        result = subprocess.run([sys.executable, CONVERTER, "--inspect", self.convert_ok(SE_K3_CKPT)],
                                capture_output=True, text=True)
        self.assertIn("golden self-check: 56x40 input, outputs of stages 0..4 and the logits", result.stdout)

    def test_golden_data_that_does_not_fit_the_graph_is_rejected(self):
        def wrong_shape(model):
            model.golden.stages[1] = model.golden.stages[1].reshape(1, -1, 1, 1)

        def not_finite(model):
            model.golden.logits = np.full_like(model.golden.logits, np.nan)

        def square_input(model):
            model.golden.input = np.zeros((1, 3, 40, 40), np.float32)

        cases = {wrong_shape: "golden data: tensor 'golden.stage1' has shape [1, 1120, 1, 1], expected [1, 8, 14, 10]",
                 not_finite: "golden data: tensor 'golden.logits' holds NaN or infinite values",
                 square_input: "golden data: tensor 'golden.stage0' has shape [1, 8, 28, 20], expected [1, 8, 20, 20]"}
        for edit, fragment in cases.items():
            with self.subTest(edit=edit.__name__):
                model = mone_blob.decode(SE_K3_BLOB)
                edit(model)
                with open(self.path("bad.mone"), "wb") as f:
                    f.write(mone_blob.encode(model))
                result = subprocess.run([sys.executable, CONVERTER, "--inspect", self.path("bad.mone")],
                                        capture_output=True, text=True)
                self.assertEqual((result.returncode, result.stderr.count("\n")), (1, 1), result.stderr)
                self.assertIn(fragment, result.stderr)


# --- rejections -------------------------------------------------------------------------------------------

def pickle_string(text: str) -> bytes:
    data = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(data)) + data


def pickle_global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def pickle_int(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def pickle_tuple(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def pickle_tensor(storage_type: str, key: str, count: int, offset: int, size, stride,
                  rebuild: str = "_rebuild_tensor_v2", dtype: str = None) -> bytes:
    """The opcodes torch.save writes for one tensor (dtype: torch 2.x's _rebuild_tensor_v3 argument)."""
    storage = pickle_tuple(pickle_string("storage"), pickle_global("torch", storage_type), pickle_string(key),
                           pickle_string("cpu"), pickle_int(count)) + b"Q"
    args = [storage, pickle_int(offset), pickle_tuple(*map(pickle_int, size)), pickle_tuple(*map(pickle_int, stride)),
            b"\x89", pickle_global("collections", "OrderedDict") + b")R"]
    if dtype:
        args.append(pickle_global("torch", dtype))
    return pickle_global("torch._utils", rebuild) + pickle_tuple(*args) + b"R"


def pickle_dict(items: dict) -> bytes:
    return b"\x80\x02}(" + b"".join(pickle_string(k) + v for k, v in items.items()) + b"u."


def write_torch_zip(path: str, data_pkl: bytes, storages: dict = None, extra: dict = None) -> str:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ckpt/data.pkl", data_pkl)
        for key, raw in (storages or {}).items():
            archive.writestr(f"ckpt/data/{key}", raw)
        for name, raw in (extra or {}).items():
            archive.writestr(f"ckpt/{name}", raw)
        archive.writestr("ckpt/version", b"3\n")
    return path


class _Payload:
    """Pickles as a call of `function(argument)`: what a malicious checkpoint does."""

    def __init__(self, function, argument):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return self.function, (self.argument,)


class HostileInputTest(ConverterTestCase):
    def marker(self) -> str:
        return self.path("pwned")

    def test_global_os_system_is_refused(self):
        data = b"\x80\x02" + pickle_global("os", "system") + pickle_string(f"touch {self.marker()}") + b"\x85R."
        checkpoint = write_torch_zip(self.path("evil.pth"), data)
        self.assert_rejected(checkpoint, "data.pkl refers to forbidden global 'os.system'; "
                                         "only tensor and dict constructors are allowed")
        self.assertFalse(os.path.exists(self.marker()))

    def test_reduce_payloads_are_refused(self):
        payloads = {"eval": (eval, f"open({self.marker()!r}, 'w')"), "system": (os.system, f"touch {self.marker()}"),
                    "exec": (exec, f"open({self.marker()!r}, 'w')")}
        for name, (function, argument) in payloads.items():
            with self.subTest(payload=name):
                state = dict(SE_K3_MODEL.state_dict(), trap=_Payload(function, argument))
                torch.save(state, self.path("evil.pth"))
                self.assert_rejected(self.path("evil.pth"), "forbidden global")
                self.assertFalse(os.path.exists(self.marker()))

    def test_unknown_classes_are_refused(self):
        checkpoint = self.save({"state_dict": SE_K3_MODEL.state_dict(), "args": argparse.Namespace(a=1)},
                               "namespace.pth")
        self.assert_rejected(checkpoint, "forbidden global 'argparse.Namespace'")

    def test_damaged_containers(self):
        with open(SE_K3_CKPT, "rb") as f:
            good = f.read()
        with open(self.path("truncated.pth"), "wb") as f:
            f.write(good[:len(good) // 2])
        self.assert_rejected(self.path("truncated.pth"), "corrupt or truncated zip archive")
        with zipfile.ZipFile(self.path("nopkl.pth"), "w") as archive:
            archive.writestr("ckpt/data/0", b"\0" * 16)
        self.assert_rejected(self.path("nopkl.pth"), "zip archive has no data.pkl")
        with open(self.path("text.pth"), "w") as f:
            f.write("hello")
        self.assert_rejected(self.path("text.pth"), "not a PyTorch zip checkpoint or a safetensors file")
        self.assert_rejected(self.save(SE_K3_MODEL.state_dict(), "legacy.pth", _use_new_zipfile_serialization=False),
                             "legacy (pre-1.6, non-zip) PyTorch serialization is not supported")
        self.assert_rejected(self.path("missing.pth"), "No such file or directory")

    def test_storage_records_are_bounds_checked(self):
        cases = {
            "tensor past its storage": (pickle_tensor("FloatStorage", "0", 4, 2, (3,), (1,)), {"0": b"\0" * 16},
                                        "reaches element 4 of storage '0', which holds only 4"),
            "storage shorter than declared": (pickle_tensor("FloatStorage", "0", 8, 0, (8,), (1,)), {"0": b"\0" * 16},
                                              "holds 16 bytes, expected 8 elements of 4 bytes"),
            "storage entry missing": (pickle_tensor("FloatStorage", "7", 4, 0, (4,), (1,)), {},
                                      "archive entry 'ckpt/data/7' is missing"),
            "negative stride": (pickle_tensor("FloatStorage", "0", 4, 3, (2,), (-1,)), {"0": b"\0" * 16},
                                "malformed tensor record"),
            "broadcast view": (pickle_tensor("FloatStorage", "0", 4, 0, (100000, 100000), (0, 0)), {"0": b"\0" * 16},
                               "has more elements than its storage '0'"),
            "unsupported dtype": (pickle_tensor("UntypedStorage", "0", 4, 0, (4,), (1,), "_rebuild_tensor_v3",
                                                "float8_e4m3fn"), {"0": b"\0" * 4}, "torch.float8_e4m3fn tensors"),
        }
        for name, (tensor, storages, fragment) in cases.items():
            with self.subTest(case=name):
                checkpoint = write_torch_zip(self.path("bad.pth"), pickle_dict({"w": tensor}), storages)
                self.assert_rejected(checkpoint, fragment)
        big_endian = write_torch_zip(self.path("be.pth"), pickle_dict({}), extra={"byteorder": b"big"})
        self.assert_rejected(big_endian, "only little-endian is supported")

    def test_corrupt_safetensors(self):
        header = b'{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
        cases = {
            "header past end": (struct.pack("<Q", 1000) + header,
                                "corrupt safetensors header: header length 1000 runs past the end"),
            "not json": (struct.pack("<Q", 8) + b"{not jso" + b"\0" * 16, "corrupt safetensors header: not valid JSON"),
            "too short": (b"\1\0", "corrupt safetensors header: the file has only 2 bytes"),
            "offsets outside": (struct.pack("<Q", len(header)) + header + b"\0" * 8,
                                "safetensors entry 'w': data_offsets [0, 16] do not hold shape [4] of F32"),
            "bad dtype": (struct.pack("<Q", len(header)) + header.replace(b"F32", b"F99") + b"\0" * 16,
                          "safetensors entry 'w' has unsupported dtype 'F99'"),
        }
        for name, (data, fragment) in cases.items():
            with self.subTest(case=name):
                with open(self.path("bad.safetensors"), "wb") as f:
                    f.write(data)
                self.assert_rejected(self.path("bad.safetensors"), fragment)


class ArchitectureRejectionTest(ConverterTestCase):
    def modified(self, edit, fused=False) -> str:
        state = make_variants.reparameterized_state_dict(SE_K3_MODEL) if fused else SE_K3_MODEL.state_dict()
        state = collections.OrderedDict((k, v.clone()) for k, v in state.items())  # the model stays intact
        edit(state)
        return self.save(state, "edited.pth")

    def test_missing_key(self):
        checkpoint = self.modified(lambda s: s.pop("stage3.3.rbr_conv.0.bn.running_var"))
        self.assertEqual(self.assert_rejected(checkpoint, ""),
                         f"error: {checkpoint}: missing key 'stage3.3.rbr_conv.0.bn.running_var'")

    def test_missing_key_is_named_in_timm_terms(self):
        def edit(state):
            timm = make_variants.timm_state_dict(state)
            state.clear()
            state.update(timm)
            state.pop("stages.2.1.conv_kxk.2.bn.weight")
        self.assert_rejected(self.modified(edit), "missing key 'stages.2.1.conv_kxk.2.bn.weight'")

    def test_missing_branch(self):
        def drop_branch(state):
            for key in [k for k in state if k.startswith("stage2.1.rbr_conv.2.")]:
                del state[key]
        self.assert_rejected(self.modified(drop_branch), "missing key 'stage2.1.rbr_conv.2.conv.weight'")

    def test_wrong_shape(self):
        def edit(state):
            state["stage1.1.rbr_conv.0.conv.weight"] = torch.zeros(8, 7, 1, 1)
        self.assert_rejected(self.modified(edit), "'stage1.1.rbr_conv.0.conv.weight': expected shape [8, 8, 1, 1], "
                                                  "found [8, 7, 1, 1]")

    def test_inconsistent_channel_chain(self):
        def edit(state):  # stage2's depthwise block takes 9 channels but stage1 gives 8
            state["stage2.0.reparam_conv.weight"] = torch.zeros(9, 1, 3, 3)
            state["stage2.0.reparam_conv.bias"] = torch.zeros(9)
        self.assert_rejected(self.modified(edit, fused=True),
                             "'stage2.0.reparam_conv.weight': expected shape [8, 1, 3, 3], found [9, 1, 3, 3]")

    def test_unexpected_keys(self):
        extras = {"stage1.0.extra.weight": torch.zeros(1), "stage9.0.se.reduce.weight": torch.zeros(1),
                  "stage1.0.rbr_skip.weight": torch.ones(8),  # stride-2 block: no identity branch
                  "stage1.1.rbr_scale.conv.weight": torch.zeros(8, 8, 1, 1)}  # 1x1 block: no scale branch
        for key, tensor in extras.items():
            with self.subTest(key=key):
                self.assert_rejected(self.modified(lambda s: s.__setitem__(key, tensor)), f"unexpected key '{key}'")

    def test_mixed_fused_and_unfused(self):
        def edit(state):
            state["stage1.0.reparam_conv.weight"] = torch.zeros(8, 1, 3, 3)
        self.assert_rejected(self.modified(edit), "mixes re-parameterized")

    def test_values_and_types(self):
        def nan(state):
            state["stage2.1.rbr_conv.1.conv.weight"][0, 0, 0, 0] = float("nan")

        def integer(state):
            state["stage0.rbr_conv.0.bn.weight"] = state["stage0.rbr_conv.0.bn.weight"].long()

        def negative_variance(state):
            state["stage1.1.rbr_skip.running_var"][3] = -0.5

        def float_counter(state):
            state["stage0.rbr_scale.bn.num_batches_tracked"] = torch.tensor(1.0)

        def infinite_variance(state):
            state["stage1.1.rbr_skip.running_var"][2] = float("inf")

        cases = {nan: "'stage2.1.rbr_conv.1.conv.weight' holds NaN or infinite values",
                 infinite_variance: "'stage1.1.rbr_skip.running_var' holds NaN or infinite values",
                 integer: "'stage0.rbr_conv.0.bn.weight': expected a floating-point tensor, found int64",
                 negative_variance: "'stage1.1.rbr_skip.running_var': a running variance is negative",
                 float_counter: "expected an integer counter, found float32"}
        for edit, fragment in cases.items():
            with self.subTest(edit=edit.__name__):
                self.assert_rejected(self.modified(edit), fragment)

    def test_fused_checkpoint_with_nan_is_refused(self):
        def nan(state):
            state["stage4.1.se.expand.bias"][1] = float("nan")
        self.assert_rejected(self.modified(nan, fused=True), "'stage4.1.se.expand.bias' holds NaN or infinite values")

    def test_weights_beyond_float32_are_refused(self):
        """Finite in the checkpoint, infinite as the blob's float32: refused, naming the tensor, nothing written."""
        def huge_scale(state):  # 3e38 / sqrt(0 + eps) ~ 1e41: fused from finite float32 values
            state["stage2.1.rbr_conv.1.bn.weight"][0] = 3e38
            state["stage2.1.rbr_conv.1.bn.running_var"][0] = 0.0

        def huge_float64(state):
            state["linear.weight"] = state["linear.weight"].double()
            state["linear.weight"][2, 5] = 1e300

        cases = [(huge_scale, False, "'stage2.1.reparam_conv.weight' (fused from the train-time branches) is not "
                                     "finite in float32"),
                 (huge_float64, False, "'linear.weight' is not finite in float32"),
                 (huge_float64, True, "'linear.weight' is not finite in float32")]
        for edit, fused, fragment in cases:
            with self.subTest(edit=edit.__name__, fused=fused):
                self.assert_rejected(self.modified(edit, fused=fused), fragment)

    def test_not_a_mobileone(self):
        self.assert_rejected(self.save({"conv1.weight": torch.zeros(3)}, "resnet.pth"),
                             "no MobileOne convolutions found")
        self.assert_rejected(self.save({"epoch": 1}, "nothing.pth"), "no state_dict found")

    def test_labels_count_mismatch(self):
        labels = self.path("labels.txt")
        with open(labels, "w") as f:
            f.write("a\nb\nc\n")
        self.assert_rejected(SE_K3_CKPT, "3 labels for a classifier with 7 classes", "--labels", labels, blamed=labels)

    def test_usage_errors_are_one_line(self):
        usages = ([], [SE_K3_CKPT], ["--inspect", "x.mone", SE_K3_CKPT],
                  [SE_K3_CKPT, "-o", "x", "--crop-fraction", "2"])
        for args in usages:
            with self.subTest(args=args):
                result = run_convert(*args)
                self.assertEqual(result.returncode, 1)
                self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
                self.assertTrue(result.stderr.startswith("error: convert.py: "), result.stderr)


# --- output safety and isolation ----------------------------------------------------------------------------

class OutputSafetyTest(ConverterTestCase):
    def convert_in_process(self, output: str) -> tuple:
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            status = convert.main([SE_K3_CKPT, "-o", output])
        return status, stderr.getvalue()

    def leftovers(self) -> list:
        return sorted(os.listdir(self.dir))

    def test_failure_while_writing_leaves_nothing(self):
        for failing in ("os.fsync", "os.replace"):
            with self.subTest(failing=failing):
                with mock.patch(failing, side_effect=OSError(28, "No space left on device")):
                    status, stderr = self.convert_in_process(self.path("out.mone"))
                self.assertEqual(status, 1)
                self.assertIn(f"error: {self.path('out.mone')}: No space left on device", stderr)
                self.assertEqual(self.leftovers(), [])

    def test_failed_conversion_keeps_the_previous_output(self):
        with open(self.path("out.mone"), "wb") as f:
            f.write(b"previous")
        checkpoint = self.save({"conv1.weight": torch.zeros(3)}, "bad.pth")
        self.assertEqual(run_convert(checkpoint, "-o", self.path("out.mone")).returncode, 1)
        with open(self.path("out.mone"), "rb") as f:
            self.assertEqual(f.read(), b"previous")
        self.assertEqual(self.leftovers(), ["bad.pth", "out.mone"])

    def test_missing_output_directory(self):
        output = self.path("no/such/dir/out.mone")
        result = run_convert(SE_K3_CKPT, "-o", output)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"error: {output}: No such file or directory", result.stderr)

    def test_converter_never_imports_torch(self):
        script = (
            "import sys; sys.path.insert(0, sys.argv[1]); import convert\n"
            "assert convert.main([sys.argv[2], '-o', sys.argv[3]]) == 0\n"
            "assert convert.main(['--inspect', sys.argv[3]]) == 0\n"
            "assert 'torch' not in sys.modules, 'the converter imported torch'\n"
            "print('no torch')\n")
        result = subprocess.run([sys.executable, "-c", script, WEIGHTS, SE_K3_CKPT, self.path("t.mone")],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.endswith("no torch\n"))


# --- fetch.sh (offline: --local) ------------------------------------------------------------------------------

class FetchTest(ConverterTestCase):
    RANDOM_UNFUSED_S0 = os.path.join(SHARED, "checkpoints", "mobileone_s0_random_unfused.pth.tar")

    def fetch(self, *args) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", os.path.join(WEIGHTS, "fetch.sh"), *args, "-o", self.dir],
                              capture_output=True, text=True, env=dict(os.environ, PYTHON=sys.executable))

    def test_fused_s0_is_checked_by_hash_and_architecture(self):
        result = self.fetch("s0", "--local", REAL_S0)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("SHA-256 verified", result.stderr)
        self.assertEqual(ref.read_mone(self.path("mobileone_s0.mone"))["name"], "mobileone_s0")

    def test_unfused_checkpoint_is_checked_by_architecture(self):
        result = self.fetch("s0", "--unfused", "--local", self.RANDOM_UNFUSED_S0)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("verifying its architecture instead", result.stderr)
        self.assertTrue(os.path.exists(self.path("mobileone_s0.mone")))

    def test_wrong_files_are_refused(self):
        wrong_hash = self.fetch("s0", "--local", self.RANDOM_UNFUSED_S0)
        self.assertEqual(wrong_hash.returncode, 1)
        self.assertIn("SHA-256 is", wrong_hash.stderr)
        self.assertIn("expected 65c3c625f6228396abbdc2c6bb9607052280f423616812130149d65a14855e0c", wrong_hash.stderr)
        wrong_variant = self.fetch("s1", "--local", REAL_S0)
        self.assertEqual(wrong_variant.returncode, 1)
        self.assertIn("expected mobileone_s1 but the checkpoint holds mobileone_s0", wrong_variant.stderr)
        self.assertEqual(os.listdir(self.dir), [])


# --- a newcomer's first hour: help, no arguments, a closed pipe, a python3 without numpy -------------------------

class CommandLineTest(ConverterTestCase):
    def test_help_gives_every_option_a_default_and_examples(self):
        result = run_convert("--help")
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        entries, current = {}, None
        for line in result.stdout.splitlines():
            if line.startswith("  ") and not line.startswith("   ") and current != "examples":
                current = line.split()[0]
                entries[current] = line
            elif line.startswith("      ") and current in entries:
                entries[current] += " " + line.strip()
            else:
                current = "examples" if line == "examples:" or current == "examples" else None
        for option in ("checkpoint", "-o", "--labels", "--name", "--input-size", "--crop-fraction",
                       "--expect-variant", "--inspect", "--debug"):
            self.assertIn(option, entries)
            self.assertIn("default", entries[option], option)
        self.assertIn("(default: 224, i.e. 224x224)", entries["--input-size"])
        examples = [line.split()[2:] for line in result.stdout[result.stdout.index("\nexamples:\n"):].splitlines()
                    if line.startswith("  python3 weights/convert.py ")]
        self.assertGreaterEqual(len(examples), 3)
        for example in examples:  # each one parses as written
            convert.parse_args(example)

    def test_no_arguments_print_the_usage(self):
        result = run_convert()
        self.assertEqual(result.returncode, 1)
        self.assertTrue(result.stdout.startswith("usage: convert.py "), result.stdout)
        self.assertIn("\nexamples:\n  python3 weights/convert.py ", result.stdout)
        self.assertEqual(result.stderr, "error: convert.py: give CHECKPOINT -o MODEL.mone, or --inspect MODEL.mone "
                                        "(see --help)\n")

    def run_into_closed_pipe(self, *args) -> subprocess.CompletedProcess:
        """Runs the converter with a stdout nobody reads (`| head` once head has exited)."""
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            return subprocess.run([sys.executable, CONVERTER, *args], stdout=write_end, stderr=subprocess.PIPE,
                                  text=True, timeout=300)
        finally:
            os.close(write_end)

    def test_inspect_into_a_closed_pipe_stops_quietly(self):
        result = self.run_into_closed_pipe("--inspect", SE_K3_CKPT + ".mone")
        self.assertEqual((result.returncode, result.stderr), (141, ""))  # 128 + SIGPIPE, as `cat`, `seq`

    def test_conversion_into_a_closed_pipe_still_writes_the_model(self):
        result = self.run_into_closed_pipe(SE_K3_CKPT, "-o", self.path("piped.mone"))
        self.assertEqual(result.returncode, 141)
        self.assertNotIn("error", result.stderr)  # only the note that the 7 classes get made-up names
        with open(self.path("piped.mone"), "rb") as f:
            self.assertEqual(f.read(), SE_K3_BLOB)

    def test_python_without_numpy_gets_a_hint(self):
        # import numpy fails (sys.modules hack); no other python3 on PATH: one line, no traceback.
        script = ("import runpy, sys\n"
                  "sys.modules['numpy'] = None\n"
                  "sys.path.insert(0, sys.argv[1])\n"
                  "sys.argv = sys.argv[2:]\n"
                  "runpy.run_path(sys.argv[0], run_name='__main__')\n")
        result = subprocess.run([sys.executable, "-c", script, WEIGHTS, CONVERTER, "--inspect", "x.mone"],
                                capture_output=True, text=True, env=dict(os.environ, PATH=self.dir))
        self.assertEqual((result.returncode, result.stdout), (1, ""))
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertTrue(result.stderr.startswith(f"error: convert.py: numpy is not installed for {sys.executable}; "),
                        result.stderr)
        if sys.executable == "/usr/bin/python3" or not os.path.exists("/usr/bin/python3"):
            self.assertIn("; install it (Debian: apt-get install python3-numpy, then use /usr/bin/python3; "
                          f"elsewhere: {sys.executable} -m pip install numpy)", result.stderr)

    def test_python_without_numpy_is_told_which_python3_has_it(self):
        # A venv without numpy, and a python3 with numpy first on PATH (as fetch.sh would find it).
        venv = self.path("venv")
        made = subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], capture_output=True, text=True)
        if made.returncode != 0:
            self.skipTest(f"no venv: {made.stderr.strip()}")
        without_numpy = os.path.join(venv, "bin", "python3")
        if subprocess.run([without_numpy, "-c", "import numpy"], capture_output=True).returncode == 0:
            self.skipTest("the venv sees numpy")
        bin_dir = self.path("bin")
        os.mkdir(bin_dir)
        os.symlink(sys.executable, os.path.join(bin_dir, "python3"))
        result = subprocess.run([without_numpy, CONVERTER, "--inspect", "x.mone"], capture_output=True, text=True,
                                env=dict(os.environ, PATH=bin_dir))
        with_numpy = os.path.join(bin_dir, "python3")
        self.assertEqual((result.returncode, result.stdout), (1, ""))
        self.assertEqual(result.stderr, f"error: convert.py: numpy is not installed for {without_numpy}; {with_numpy} "
                                        f"has it: {with_numpy} {CONVERTER} --inspect x.mone\n")


class FetchUsageTest(ConverterTestCase):
    FETCH = os.path.join(WEIGHTS, "fetch.sh")

    def test_help_gives_defaults_and_examples(self):
        result = subprocess.run(["bash", self.FETCH, "--help"], capture_output=True, text=True)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        for fragment in ("fetch.sh VARIANT [-o DIR] [--local CHECKPOINT] [--unfused]", "(required)",
                         "(default: models/ beside this script", "(default: download from Apple's server",
                         "(default: the fused mobileone_VARIANT.pth.tar)", "\nExamples:\n  weights/fetch.sh s0 "):
            self.assertIn(fragment, result.stdout)

    def test_no_arguments_print_the_usage(self):
        result = subprocess.run(["bash", self.FETCH], capture_output=True, text=True)
        self.assertEqual((result.returncode, result.stderr), (1, ""))
        self.assertEqual(result.stdout, subprocess.run(["bash", self.FETCH, "--help"], capture_output=True,
                                                       text=True).stdout)
        missing = subprocess.run(["bash", self.FETCH, "-o", self.dir], capture_output=True, text=True)
        self.assertEqual(missing.returncode, 1)
        self.assertTrue(missing.stderr.startswith("error: fetch.sh: no VARIANT (s0..s4) given\n"), missing.stderr)


# --- the reader on its own (in-process, numpy only) -----------------------------------------------------------

class CheckpointReaderTest(ConverterTestCase):
    def test_views_offsets_and_dtypes(self):
        values = np.arange(12, dtype="<f4")
        checkpoint = write_torch_zip(self.path("views.pth"), pickle_dict({
            "transposed": pickle_tensor("FloatStorage", "0", 12, 1, (2, 3), (1, 4)),
            "half": pickle_tensor("HalfStorage", "1", 3, 0, (3,), (1,)),
            "bfloat16": pickle_tensor("BFloat16Storage", "2", 2, 0, (2,), (1,)),
            "double": pickle_tensor("DoubleStorage", "3", 2, 0, (2,), (1,)),
            "counter": pickle_tensor("LongStorage", "4", 1, 0, (), ()),
            "v3": pickle_tensor("UntypedStorage", "5", 8, 1, (1,), (1,), "_rebuild_tensor_v3", "float32"),
        }), {"0": values.tobytes(), "1": np.array([1, 2, 3], "<f2").tobytes(),
             "2": np.array([0x3F80, 0xC000], "<u2").tobytes(), "3": np.array([0.1, 2], "<f8").tobytes(),
             "4": np.array([7], "<i8").tobytes(), "5": np.array([1.5, 2.5], "<f4").tobytes()},
            extra={"byteorder": b"little"})
        tensors = checkpoint_reader.read_checkpoint(checkpoint)
        np.testing.assert_array_equal(tensors["transposed"], [[1, 5, 9], [2, 6, 10]])
        np.testing.assert_array_equal(tensors["half"], [1, 2, 3])
        np.testing.assert_array_equal(tensors["bfloat16"], np.array([1.0, -2.0], np.float32))
        self.assertEqual(tensors["double"].dtype, np.float64)
        self.assertEqual((tensors["counter"].shape, int(tensors["counter"])), ((), 7))
        np.testing.assert_array_equal(tensors["v3"], [2.5])


if __name__ == "__main__":
    unittest.main()
