#!/usr/bin/env python3
"""Property and fuzz tests of weights/convert.py on corrupt and hostile checkpoints.

    /usr/bin/python3 tests/converter/test_fuzz_convert.py [-v]

Deterministic (fixed seed) and bounded: every family of mutations stops at its share of
$MOBILEONE_FUZZ_CONVERT_SECONDS (default 60) even if its case count is not reached. torch builds the one
valid base checkpoint; every other input is assembled here byte by byte (pickle opcodes, zip entries,
safetensors headers), then mutated. For every input the converter must either

  - refuse it: exit status 1, exactly one `error: <file>: <reason>` line on stderr (besides `note:` lines),
    no traceback, no "internal error", no output file, no temporary file left, an existing output file
    untouched, the input untouched, and nothing executed (payloads would create a marker file); or
  - (random corruptions only) convert it: exit status 0 and an output the blob reader accepts.

Most cases call convert.main() in-process (fast); the code-execution payloads, a sample of every family
and the memory-bound checks run the real command line in a subprocess.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
WEIGHTS = os.path.join(REPO, "weights")
CONVERTER = os.path.join(WEIGHTS, "convert.py")
sys.path[:0] = [WEIGHTS, os.path.join(REPO, "tests", "fixtures")]

import convert  # noqa: E402
import mone_blob  # noqa: E402

SEED = 0x6D6F6E65
BUDGET_SECONDS = float(os.environ.get("MOBILEONE_FUZZ_CONVERT_SECONDS", "60"))
FAMILIES = 16  # test methods that share the budget


# --- pickle assembly (protocol 2 opcodes, as torch.save writes them) ---------------------------------------

def p_str(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    return b"X" + struct.pack("<I", len(data)) + data


def p_int(value: int) -> bytes:
    if -(1 << 31) <= value < (1 << 31):
        return b"J" + struct.pack("<i", value)
    data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data  # LONG1


def p_value(value) -> bytes:
    if value is None:
        return b"N"
    if isinstance(value, bool):
        return b"\x88" if value else b"\x89"
    if isinstance(value, int):
        return p_int(value)
    if isinstance(value, float):
        return b"G" + struct.pack(">d", value)
    if isinstance(value, str):
        return p_str(value)
    if isinstance(value, (tuple, list)):
        return b"(" + b"".join(p_value(v) for v in value) + b"t"
    if isinstance(value, bytes):  # raw opcodes
        return value
    raise TypeError(value)


def p_global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def p_tensor(storage_type, key, count, offset, size, stride) -> bytes:
    storage = p_value(("storage", p_global("torch", storage_type), key, "cpu", count)) + b"Q"  # BINPERSID
    args = (storage, offset, size, stride, False, p_global("collections", "OrderedDict") + b")R")
    return p_global("torch._utils", "_rebuild_tensor_v2") + p_value(args) + b"R"


def p_state_dict(items) -> bytes:
    """An OrderedDict of key -> raw opcodes, the way torch.save writes a state_dict."""
    body = b"".join(p_str(k) + v for k, v in items)
    return b"\x80\x02" + p_global("collections", "OrderedDict") + b")R(" + body + b"u."


STORAGE_TYPES = {np.dtype("float32"): "FloatStorage", np.dtype("float64"): "DoubleStorage",
                 np.dtype("int64"): "LongStorage"}


class Checkpoint:
    """A state_dict as tensor records + storages, editable before it is written as a torch zip."""

    def __init__(self, state: dict):
        self.records, self.storages = [], {}
        for i, (name, array) in enumerate(state.items()):
            array = np.array(array, order="C")  # (ascontiguousarray would turn a 0-d tensor into 1-d)
            key = str(i)
            self.storages[key] = array.tobytes()
            strides = tuple(s // array.itemsize for s in array.strides)
            self.records.append([name, STORAGE_TYPES[array.dtype], key, array.size, 0, tuple(array.shape), strides])

    def data_pkl(self, records=None) -> bytes:
        return p_state_dict((r[0], p_tensor(*r[1:])) for r in (records or self.records))

    def write(self, path: str, data_pkl: bytes = None, storages: dict = None, extra: dict = None,
              compression=zipfile.ZIP_STORED) -> str:
        write_zip(path, data_pkl if data_pkl is not None else self.data_pkl(),
                  self.storages if storages is None else storages, extra, compression)
        return path


def write_zip(path, data_pkl, storages, extra=None, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        for key, raw in storages.items():
            archive.writestr(f"archive/data/{key}", raw)
        archive.writestr("archive/version", b"3\n")
        for name, raw in (extra or {}).items():
            archive.writestr(f"archive/{name}", raw)


SAFETENSORS_DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int64"): "I64"}


def safetensors_parts(state: dict):
    header, body = {}, bytearray()
    for name, array in state.items():
        raw = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [len(body), len(body) + len(raw)]}
        body += raw
    return header, bytes(body)


def safetensors_bytes(header, body: bytes, header_bytes: bytes = None, length: int = None) -> bytes:
    text = header_bytes if header_bytes is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + body


# --- the property ----------------------------------------------------------------------------------------

class Outcome:
    def __init__(self, code, stdout, stderr):
        self.code, self.stdout, self.stderr = code, stdout, stderr


def run_in_process(argv) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = convert.main(list(argv))
        except SystemExit as e:  # argparse
            code = e.code
    return Outcome(code, out.getvalue(), err.getvalue())


def run_subprocess(argv, timeout=120) -> Outcome:
    result = subprocess.run([sys.executable, CONVERTER, *argv], capture_output=True, text=True, timeout=timeout)
    return Outcome(result.returncode, result.stdout, result.stderr)


def digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class FuzzCase(unittest.TestCase):
    """Shared machinery: a scratch directory per case, the checks, and the time budget."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mone_fuzz_convert_")
        cls.random = random.Random(f"{SEED}-{cls.__name__}")  # str seeds: stable whatever PYTHONHASHSEED is
        cls.count = 0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def setUp(self):
        self.deadline = time.monotonic() + BUDGET_SECONDS / FAMILIES
        self.cases = 0
        self.outcomes = {}

    def tearDown(self):
        if os.environ.get("MOBILEONE_FUZZ_CONVERT_REPORT"):
            print(f"\n  {self.id().split('.')[-1]}: {self.cases} cases", file=sys.stderr)
            for reason, count in sorted(self.outcomes.items(), key=lambda kv: -kv[1])[:40]:
                print(f"    {count:5d}  {reason}", file=sys.stderr)

    def budget_left(self) -> bool:
        return time.monotonic() < self.deadline

    def fresh_dir(self) -> str:
        type(self).count += 1
        path = os.path.join(self.work, f"case{type(self).count}")
        os.makedirs(path)
        return path

    def check(self, data: bytes, suffix: str = ".pth", may_succeed: bool = False, expect: str = None,
              subprocess_run: bool = False, marker: str = None, label: str = "") -> Outcome:
        """Converts `data`; asserts the property in the module docstring."""
        self.cases += 1
        directory = self.fresh_dir()
        checkpoint = os.path.join(directory, "input" + suffix)
        with open(checkpoint, "wb") as f:
            f.write(data)
        out_dir = os.path.join(directory, "out")
        os.makedirs(out_dir)
        output = os.path.join(out_dir, "model.mone")
        # Every third case: an existing output that a failure must leave untouched.
        existing = self.cases % 3 == 0
        if existing:
            with open(output, "wb") as f:
                f.write(b"previous model")
        before = digest(checkpoint)
        argv = [checkpoint, "-o", output]
        outcome = run_subprocess(argv) if subprocess_run else run_in_process(argv)
        context = f"{label}: exit {outcome.code}, stderr {outcome.stderr!r}"

        self.assertNotIn("Traceback", outcome.stderr, context)
        self.assertEqual(digest(checkpoint), before, context)
        if marker:
            self.assertFalse(os.path.exists(marker), f"{label}: the payload ran")
        leftovers = sorted(set(os.listdir(out_dir)) - {"model.mone"})
        self.assertEqual(leftovers, [], f"{context}: stray files")
        if outcome.code == 0:
            self.assertTrue(may_succeed, f"{label}: accepted ({outcome.stdout.strip()})")
            with open(output, "rb") as f:
                mone_blob.decode(f.read())  # a success writes a valid blob
            self.outcomes["converted"] = self.outcomes.get("converted", 0) + 1
            return outcome
        self.assertEqual(outcome.code, 1, context)
        errors = [line for line in outcome.stderr.split("\n") if line and not line.startswith("note: ")]
        self.assertEqual(len(errors), 1, context)
        self.assertTrue(errors[0].isprintable(), f"{context}: control characters in the message")
        self.assertTrue(errors[0].startswith(f"error: {checkpoint}: "), context)
        reason = errors[0][len(f"error: {checkpoint}: "):]
        self.assertNotIn("internal error", reason, context)
        self.assertNotIn("MemoryError", reason, context)
        if expect:
            self.assertIn(expect, reason, context)
        if existing:
            with open(output, "rb") as f:
                self.assertEqual(f.read(), b"previous model", f"{label}: a failed conversion touched the output")
        else:
            self.assertFalse(os.path.exists(output), context)
        key = reason if len(reason) < 90 else reason[:87] + "..."
        self.outcomes[key] = self.outcomes.get(key, 0) + 1
        return outcome


def setUpModule():
    global STATE, BASE_ZIP, BASE_CKPT, BASE_SAFETENSORS, SAFETENSORS_HEADER, SAFETENSORS_BODY
    import collections

    import torch  # only to make the one valid base model
    import make_variants

    config = make_variants.Config(stem_width=8, stage_widths=(8, 16), stage_units=(1, 1), branches=2,
                                  se_units=(0, 0), num_classes=3)
    model = make_variants.build_model(config, seed=3, image_size=(16, 16))
    STATE = collections.OrderedDict((k, v.detach().numpy().copy()) for k, v in model.state_dict().items())
    del torch
    BASE_CKPT = Checkpoint(STATE)
    with tempfile.TemporaryDirectory() as tmp:
        with open(BASE_CKPT.write(os.path.join(tmp, "base.pth")), "rb") as f:
            BASE_ZIP = f.read()
    SAFETENSORS_HEADER, SAFETENSORS_BODY = safetensors_parts(STATE)
    BASE_SAFETENSORS = safetensors_bytes(SAFETENSORS_HEADER, SAFETENSORS_BODY)


class BaseInputsTest(FuzzCase):
    def test_the_unmutated_inputs_convert(self):
        for data, suffix in ((BASE_ZIP, ".pth"), (BASE_SAFETENSORS, ".safetensors")):
            self.check(data, suffix, may_succeed=True, label=f"base{suffix}")
            self.check(data, suffix, may_succeed=True, subprocess_run=True, label=f"base{suffix} (cli)")
        self.assertEqual(self.outcomes.get("converted"), 4)


class ZipCorruptionTest(FuzzCase):
    def test_truncated_archives(self):
        n = len(BASE_ZIP)
        lengths = [0, 1, 2, 3, 4, 21, 22, 30, n - 1, n - 21, n - 22, n - 23, n // 2]
        lengths += [self.random.randrange(n) for _ in range(150)]
        for i, length in enumerate(lengths):
            if not self.budget_left():
                break
            self.check(BASE_ZIP[:length], label=f"truncated to {length}", subprocess_run=i < 2)

    def test_random_byte_flips(self):
        for i in range(400):
            if not self.budget_left():
                break
            data = bytearray(BASE_ZIP)
            for _ in range(self.random.choice((1, 1, 2, 4, 16))):
                position = self.random.randrange(len(data))
                data[position] ^= 1 << self.random.randrange(8) if self.random.random() < 0.5 else self.random.randrange(1, 256)
            self.check(bytes(data), may_succeed=True, label=f"flips #{i}", subprocess_run=i == 0)

    def test_garbled_structure(self):
        def raw(data):
            def write(path):
                with open(path, "wb") as f:
                    f.write(data)
            return write

        cases = {
            "no data.pkl": lambda p: self._zip(p, {"archive/other": b"x"}),
            "two data.pkl": lambda p: self._zip(p, {"a/data.pkl": BASE_CKPT.data_pkl(), "b/data.pkl": BASE_CKPT.data_pkl()}),
            "nested data.pkl": lambda p: self._zip(p, {"a/b/data.pkl": BASE_CKPT.data_pkl()}),
            "storages missing": lambda p: BASE_CKPT.write(p, storages={}),
            "big-endian": lambda p: BASE_CKPT.write(p, extra={"byteorder": b"big"}),
            "empty zip": lambda p: self._zip(p, {}),
            "encrypted entry": lambda p: self._encrypted(p),
            "unknown compression": lambda p: self._compression(p, 99),
            "not a zip": raw(b"PK\x03\x04" + b"\0" * 100),
            "legacy pickle": raw(b"\x80\x02}q\x00."),
            "text": raw(b"hello, world\n"),
            "empty file": raw(b""),
        }
        for label, make in cases.items():
            path = os.path.join(self.work, "garbled.pth")
            make(path)
            with open(path, "rb") as f:
                self.check(f.read(), label=label)

    @staticmethod
    def _encrypted(path):
        BASE_CKPT.write(path)
        with open(path, "r+b") as f:  # set the "encrypted" flag bit of every local and central header
            data = bytearray(f.read())
            for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
                at = data.find(signature)
                while at >= 0:
                    data[at + flag_offset] |= 1
                    at = data.find(signature, at + 4)
            f.seek(0)
            f.write(data)

    @staticmethod
    def _compression(path, method):
        BASE_CKPT.write(path)
        with open(path, "r+b") as f:
            data = bytearray(f.read())
            for signature, method_offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
                at = data.find(signature)
                while at >= 0:
                    data[at + method_offset:at + method_offset + 2] = struct.pack("<H", method)
                    at = data.find(signature, at + 4)
            f.seek(0)
            f.write(data)

    @staticmethod
    def _zip(path, entries):
        with zipfile.ZipFile(path, "w") as archive:
            for name, raw in entries.items():
                archive.writestr(name, raw)


class PickleCorruptionTest(FuzzCase):
    def test_random_byte_flips_in_data_pkl(self):
        pkl = BASE_CKPT.data_pkl()
        for i in range(600):
            if not self.budget_left():
                break
            data = bytearray(pkl)
            for _ in range(self.random.choice((1, 1, 2, 3, 8))):
                data[self.random.randrange(len(data))] = self.random.randrange(256)
            path = os.path.join(self.work, "flip.pth")
            BASE_CKPT.write(path, data_pkl=bytes(data))
            with open(path, "rb") as f:
                self.check(f.read(), may_succeed=True, label=f"data.pkl flips #{i}", subprocess_run=i == 0)

    def test_spliced_data_pkl(self):
        pkl = BASE_CKPT.data_pkl()
        for i in range(300):
            if not self.budget_left():
                break
            a, b = sorted(self.random.randrange(len(pkl) + 1) for _ in range(2))
            mode = self.random.randrange(3)
            if mode == 0:
                data = pkl[:a]  # truncated
            elif mode == 1:
                data = pkl[:a] + pkl[b:]  # a span deleted
            else:
                data = pkl[:a] + pkl[a:b] + pkl[a:]  # a span repeated
            path = os.path.join(self.work, "splice.pth")
            BASE_CKPT.write(path, data_pkl=data)
            with open(path, "rb") as f:
                self.check(f.read(), may_succeed=True, label=f"data.pkl splice #{i} mode {mode} [{a}:{b}]")


class ForbiddenGlobalTest(FuzzCase):
    """Every way a pickle can name a callable, with a payload that would leave a marker file."""

    GLOBALS = [("os", "system"), ("posix", "system"), ("builtins", "eval"), ("builtins", "exec"),
               ("builtins", "__import__"), ("builtins", "getattr"), ("builtins", "open"), ("subprocess", "Popen"),
               ("subprocess", "check_output"), ("subprocess", "call"), ("os", "popen"), ("pty", "spawn"),
               ("numpy", "load"), ("numpy.core.multiarray", "_reconstruct"), ("torch", "load"),
               ("torch._utils", "_rebuild_tensor"), ("torch.serialization", "load"), ("__main__", "convert"),
               ("convert", "write_atomically"), ("checkpoint_reader", "read_checkpoint"), ("collections", "deque"),
               ("copyreg", "_reconstructor"), ("functools", "partial"), ("operator", "attrgetter"),
               ("collections", "OrderedDict.fromkeys"), ("torch._utils", "_rebuild_tensor_v2.__globals__")]

    def payload_argument(self, marker: str, module: str, name: str):
        if name in ("eval", "exec"):
            return f"open({marker!r}, 'w').close()"
        if module in ("os", "posix", "subprocess", "pty") or name == "popen":
            return f"touch {marker}"
        return marker

    def test_named_callables_in_every_opcode_form(self):
        for module, name in self.GLOBALS:
            if not self.budget_left():
                break
            marker = os.path.join(self.work, f"pwned-{module}-{name}")
            argument = p_str(self.payload_argument(marker, module, name))
            mod, nm = module.encode(), name.encode()
            forms = {
                "GLOBAL+REDUCE": b"\x80\x02c" + mod + b"\n" + nm + b"\n" + argument + b"\x85R.",
                "STACK_GLOBAL": b"\x80\x04" + p_str(module) + p_str(name) + b"\x93" + argument + b"\x85R.",
                "INST": b"(" + argument + b"i" + mod + b"\n" + nm + b"\n.",
                "OBJ": b"(c" + mod + b"\n" + nm + b"\n" + argument + b"o.",
                "NEWOBJ": b"\x80\x02c" + mod + b"\n" + nm + b"\n" + argument + b"\x85\x81.",
                # Hidden as the value of a key after a valid tensor, and as a persistent id's storage type.
                "inside a state_dict": BASE_CKPT.data_pkl()[:-2] + p_str("evil") + b"c" + mod + b"\n" + nm + b"\n"
                                       + argument + b"\x85Ru.",
                "as a storage type": p_state_dict([("t", p_global("torch._utils", "_rebuild_tensor_v2") + p_value((
                    p_value(("storage", p_global(module, name), "0", "cpu", 1)) + b"Q", 0, (1,), (1,), False,
                    p_global("collections", "OrderedDict") + b")R")) + b"R")]),
            }
            for form, pkl in forms.items():
                path = os.path.join(self.work, "evil.pth")
                write_zip(path, pkl, BASE_CKPT.storages)
                with open(path, "rb") as f:
                    self.check(f.read(), marker=marker, label=f"{module}.{name} via {form}",
                               subprocess_run=form == "GLOBAL+REDUCE" and module in ("os", "builtins", "subprocess"))

    def test_reduce_payloads_from_pickle_itself(self):
        import pickle

        class Payload:
            def __init__(self, function, argument):
                self.function, self.argument = function, argument

            def __reduce__(self):
                return self.function, (self.argument,)

        marker = os.path.join(self.work, "pwned-reduce")
        payloads = [(os.system, f"touch {marker}"), (eval, f"open({marker!r}, 'w')"), (exec, f"open({marker!r}, 'w')"),
                    (subprocess.call, ["touch", marker]), (open, marker)]
        for function, argument in payloads:
            for protocol in (0, 2, 4, 5):
                data = pickle.dumps({"stage0.rbr_conv.0.conv.weight": Payload(function, argument)}, protocol=protocol)
                path = os.path.join(self.work, "reduce.pth")
                write_zip(path, data, {})
                with open(path, "rb") as f:
                    self.check(f.read(), marker=marker, expect="forbidden global",
                               label=f"__reduce__ {function.__name__} protocol {protocol}", subprocess_run=protocol == 2)

    def test_extension_registry_and_persistent_ids(self):
        cases = {
            "EXT1": b"\x80\x02\x82\x01.",
            "EXT4": b"\x80\x02\x84\xff\xff\xff\x7f.",
            "persistent id string": b"\x80\x02" + p_str("storage") + b"Q.",
            "persistent id bad tuple": b"\x80\x02" + p_value(("storage", 1, 2, 3, 4)) + b"Q.",
            "persistent id huge count": p_state_dict([("t", p_tensor("FloatStorage", "0", 1 << 62, 0, (4,), (1,)))]),
            "persistent id negative count": p_state_dict([("t", p_tensor("FloatStorage", "0", -4, 0, (4,), (1,)))]),
            "PERSID text": b"P0\n.",
            "BUILD on an allowed function": b"\x80\x02" + p_global("torch._utils", "_rebuild_tensor_v2")
                                            + b"N}" + p_str("__defaults__") + b"N" + b"s\x86b.",
        }
        for label, pkl in cases.items():
            path = os.path.join(self.work, "ext.pth")
            write_zip(path, pkl, {"0": b"\0" * 16})
            with open(path, "rb") as f:
                self.check(f.read(), label=label)


class AbsurdShapeTest(FuzzCase):
    """One tensor record of the valid checkpoint replaced by an absurd one."""

    SIZES = [(1 << 31,), (1 << 40, 1 << 40), (1 << 63,), (1 << 64) + 1, (-1,), (-(1 << 63),), (0,), (0, 1 << 62),
             (1,) * 10, (2,) * 10, (3, 0, 5), (), (1.5,), ("3",), (None,), (True,), ((2, 2),), [8, 3, 3, 3, 1]]
    STRIDES = [(0,), (0, 0), (-1,), (1 << 62,), (1,) * 10, (1, 1), ()]

    def test_sizes_strides_and_offsets(self):
        records = BASE_CKPT.records
        for i in range(500):
            if not self.budget_left():
                break
            edited = [list(r) for r in records]
            victim = self.random.randrange(len(edited))
            choice = self.random.randrange(4)
            size = self.random.choice(self.SIZES)
            if choice == 0:
                edited[victim][5] = size
                edited[victim][6] = tuple(1 for _ in size) if isinstance(size, tuple) else size
            elif choice == 1:
                edited[victim][6] = self.random.choice(self.STRIDES)
            elif choice == 2:
                edited[victim][4] = self.random.choice((-1, 1 << 40, edited[victim][3], 1 << 70, 2.0, "0"))
            else:
                edited[victim][5], edited[victim][6] = size, self.random.choice(self.STRIDES)
            if edited[victim] == records[victim]:
                continue  # not a mutation
            path = os.path.join(self.work, "shape.pth")
            BASE_CKPT.write(path, data_pkl=BASE_CKPT.data_pkl(edited))
            with open(path, "rb") as f:
                # Only a new stride alone may give a valid tensor (stride 0 is torch's expand()).
                self.check(f.read(), label=f"{edited[victim][0]}: size {edited[victim][5]!r:.60} stride "
                                           f"{edited[victim][6]!r:.40} offset {edited[victim][4]!r}",
                           subprocess_run=i == 0, may_succeed=choice == 1)

    def test_a_broadcast_view_cannot_inflate(self):
        # stride 0 makes a 4-float storage look like 10^10 elements.
        edited = [list(r) for r in BASE_CKPT.records]
        edited[0][5], edited[0][6] = (100000, 100000), (0, 0)
        path = os.path.join(self.work, "broadcast.pth")
        BASE_CKPT.write(path, data_pkl=BASE_CKPT.data_pkl(edited))
        with open(path, "rb") as f:
            self.check(f.read(), label="stride-0 broadcast", subprocess_run=True)


class StorageMismatchTest(FuzzCase):
    def test_counts_entries_and_types(self):
        records = BASE_CKPT.records
        for i in range(300):
            if not self.budget_left():
                break
            edited = [list(r) for r in records]
            storages = dict(BASE_CKPT.storages)
            victim = self.random.randrange(len(edited))
            key = edited[victim][2]
            mode = self.random.randrange(7)
            if mode == 0:
                edited[victim][3] += self.random.choice((-1, 1, 1 << 32, -(1 << 40)))  # count vs entry bytes
            elif mode == 1:
                storages[key] = storages[key][:-self.random.randrange(1, 9)] if storages[key] else b"\0"
            elif mode == 2:
                del storages[key]
            elif mode == 3:
                edited[victim][1] = self.random.choice(("ComplexFloatStorage", "QInt8Storage", "Storage", "HalfStorageX",
                                                        "ShortStorage", "BFloat16Storage", "_TypedStorage"))
            elif mode == 4:
                edited[victim][2] = self.random.choice(("../../../etc/passwd", "/etc/passwd", "", "0/../1", "\0", "data.pkl"))
            elif mode == 5:
                edited[victim][1] = "HalfStorage"  # 2-byte elements over 4-byte data
            else:
                storages[key] = storages[key] + b"\0" * self.random.randrange(1, 64)
            path = os.path.join(self.work, "storage.pth")
            BASE_CKPT.write(path, data_pkl=BASE_CKPT.data_pkl(edited), storages=storages)
            with open(path, "rb") as f:
                self.check(f.read(), may_succeed=mode == 3, label=f"storage mode {mode} on {edited[victim][0]}",
                           subprocess_run=i == 0)


class SafetensorsTest(FuzzCase):
    def test_bad_headers(self):
        body = SAFETENSORS_BODY
        good = json.dumps(SAFETENSORS_HEADER).encode()
        nested = b"[" * 100000 + b"]" * 100000
        cases = {
            "length 0": safetensors_bytes(None, body, header_bytes=b"", length=0),
            "length past the end": safetensors_bytes(None, body, header_bytes=good, length=len(good) + len(body) + 1),
            "length 2^64-1": safetensors_bytes(None, body, header_bytes=good, length=(1 << 64) - 1),
            "length 2^63": safetensors_bytes(None, body, header_bytes=good, length=1 << 63),
            "7 bytes": struct.pack("<Q", 2)[:7],
            "not JSON": safetensors_bytes(None, body, header_bytes=b"{not json"),
            "JSON array": safetensors_bytes(None, body, header_bytes=b"[1, 2, 3]"),
            "JSON string": safetensors_bytes(None, body, header_bytes=b'"{"'),
            "deeply nested": safetensors_bytes(None, body, header_bytes=b'{"a": ' + nested + b"}"),
            "not UTF-8": safetensors_bytes(None, body, header_bytes=b'{"\xff\xfe": 1}'),
            "NaN": safetensors_bytes(None, body, header_bytes=b'{"a": NaN}'),
            "huge number": safetensors_bytes(None, body, header_bytes=b'{"a": {"dtype": "F32", "shape": [1e400], "data_offsets": [0, 4]}}'),
            "huge integer": safetensors_bytes(None, body, header_bytes=b'{"a": {"dtype": "F32", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 4]}}'),
            "metadata not a dict": safetensors_bytes({"__metadata__": [1], **SAFETENSORS_HEADER}, body),  # ignored
            "record not a dict": safetensors_bytes({**SAFETENSORS_HEADER, "x": 3}, body),
            "empty header": safetensors_bytes({}, b""),
        }
        for label, data in cases.items():
            self.check(data, ".safetensors", label=label, subprocess_run=label in ("length 2^64-1", "deeply nested"),
                       may_succeed=label == "metadata not a dict")

    def test_bad_records(self):
        names = list(SAFETENSORS_HEADER)
        mutations = [
            ("dtype", lambda r: self.random.choice(("F8", "I8", "C64", "", None, 5, ["F32"], "f32"))),
            ("shape", lambda r: self.random.choice(([-1], [1 << 40, 1 << 40], [0], [1] * 10, [2] * 10, "3", [1.5],
                                                    [None], [True], [], [1 << 64], r["shape"] + [1]))),
            ("data_offsets", lambda r: self.random.choice(([r["data_offsets"][1], r["data_offsets"][0]], [0],
                                                           [-4, 0], [0, 1 << 62], [0, len(SAFETENSORS_BODY) + 4],
                                                           "0-4", None, [0.0, 4.0], [0, 4, 8]))),
            # In bounds but overlapping its neighbour: the reader may accept it (the weights are then garbage
            # but consistent), as long as nothing is read outside the data section.
            ("shifted offsets", lambda r: [r["data_offsets"][0] + 1, r["data_offsets"][1] + 1]),
            ("missing", None),
        ]
        for i in range(300):
            if not self.budget_left():
                break
            header = json.loads(json.dumps(SAFETENSORS_HEADER))
            original = json.dumps(header)
            name = self.random.choice(names)
            field, mutate = self.random.choice(mutations)
            if mutate is None:
                del header[name][self.random.choice(("dtype", "shape", "data_offsets"))]
            elif field == "shifted offsets":
                header[name]["data_offsets"] = mutate(header[name])
            else:
                header[name][field] = mutate(header[name])
            if json.dumps(header) == original:
                continue  # not a mutation
            self.check(safetensors_bytes(header, SAFETENSORS_BODY), ".safetensors",
                       label=f"{name}.{field} = {header[name].get(field)!r:.60}", subprocess_run=i == 0,
                       may_succeed=field == "shifted offsets")

    def test_random_corruption(self):
        for i in range(300):
            if not self.budget_left():
                break
            data = bytearray(BASE_SAFETENSORS)
            if self.random.random() < 0.3:
                data = data[:self.random.randrange(len(data))]
            else:
                header_end = 8 + struct.unpack_from("<Q", BASE_SAFETENSORS)[0]
                for _ in range(self.random.choice((1, 2, 4))):
                    position = self.random.randrange(min(len(data), header_end + 16))
                    data[position] = self.random.randrange(256)
            self.check(bytes(data), ".safetensors", may_succeed=True, label=f"safetensors corruption #{i}")


class MemoryBoundTest(FuzzCase):
    """A small file must not make the converter allocate what its zip entries inflate to."""

    LIMIT_MB = 400  # peak RSS allowed while refusing (the interpreter with numpy needs ~40-60 MB)

    def peak_rss_mb(self, data: bytes, suffix=".pth") -> tuple:
        directory = self.fresh_dir()
        checkpoint = os.path.join(directory, "bomb" + suffix)
        with open(checkpoint, "wb") as f:
            f.write(data)
        probe = ("import resource, subprocess, sys\n"
                 "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
                 "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
                 "sys.stderr.write(r.stderr)\n")
        result = subprocess.run([sys.executable, "-c", probe, sys.executable, CONVERTER, checkpoint, "-o",
                                 os.path.join(directory, "out.mone")], capture_output=True, text=True, timeout=300)
        code, peak = map(int, result.stdout.split())
        return code, peak, result.stderr.strip()

    def bomb_zip(self, entry: str, inflated: int, data_pkl: bytes) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            if entry != "data.pkl":
                archive.writestr("archive/data.pkl", data_pkl)
            info = zipfile.ZipInfo(f"archive/{entry}")
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as f:
                chunk = b"\0" * (1 << 24)
                for _ in range(inflated >> 24):
                    f.write(chunk)
        return buffer.getvalue()

    def test_inflating_entries_are_refused_before_inflating(self):
        inflated = 768 << 20
        tensor = p_state_dict([("stage0.rbr_conv.0.conv.weight", p_tensor("FloatStorage", "0", 216, 0, (8, 3, 3, 3), (27, 9, 3, 1)))])
        huge = p_state_dict([("stage0.rbr_conv.0.conv.weight", p_tensor("FloatStorage", "0", inflated // 4, 0, (8, 3, 3, 3), (27, 9, 3, 1)))])
        cases = {
            "storage entry larger than its tensor": self.bomb_zip("data/0", inflated, tensor),
            "storage entry that matches a huge count": self.bomb_zip("data/0", inflated, huge),
            "data.pkl": self.bomb_zip("data.pkl", inflated, b""),
            "byteorder": self.bomb_zip("byteorder", inflated, tensor),
        }
        for label, data in cases.items():
            with self.subTest(label):
                code, peak, stderr = self.peak_rss_mb(data)
                self.assertLess(len(data), 8 << 20)
                self.assertEqual(code, 1, f"{label}: {stderr}")
                self.assertEqual(len(stderr.split("\n")), 1, stderr)
                self.assertNotIn("MemoryError", stderr)
                self.assertLess(peak, self.LIMIT_MB, f"{label}: {len(data)} bytes made the converter use {peak} MB ({stderr})")
                self.outcomes[f"{label}: {peak} MB peak: {stderr.split(': ', 2)[-1]}"] = 1


if __name__ == "__main__":
    unittest.main()
