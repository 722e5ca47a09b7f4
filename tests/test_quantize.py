"""mobileone-quantize end to end: the real S0 quantized on a few calibration photos gives an int8 blob that
loads, runs in int8 and classifies the shared reference images as float32 does, and passes its golden
self-check in int8 and fp32 on every ISA; the report describes every layer; bad inputs (a source that fails
its own self-check among them) get one clear line and leave no file behind.

Usage: test_quantize.py QUANTIZE_BINARY CLASSIFY_BINARY FIXTURE_DIR SHARED_DIR (run by ctest, in host builds).
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
from mone_edit import with_altered_weight  # noqa: E402

QUANTIZE, CLASSIFY, FIXTURES, SHARED = sys.argv[1:5]
MODEL = os.path.join(FIXTURES, "s0_real.mone")
CALIBRATION = os.path.join(SHARED, "photos", "calibration")
IMAGES = sorted(os.path.join(SHARED, "images", n) for n in os.listdir(os.path.join(SHARED, "images"))
                if n.endswith(".png"))
# Calibration photos used here and photos for the per-layer sensitivity: enough for sane ranges, fast under
# the sanitizers.
PHOTOS, SENSITIVITY_PHOTOS = 12, 6


def run(binary, *args):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=1800)


def top1(model, precision):
    result = run(CLASSIFY, "--model", model, "--json", "--top", "1", "--threads", "1", "--precision", precision,
                 *IMAGES)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    return [r["top"][0]["index"] for r in records], {r["precision"] for r in records}


class Quantize(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.photos = os.path.join(cls.tmp.name, "calibration")
        os.mkdir(cls.photos)
        names = sorted(n for n in os.listdir(CALIBRATION) if n.lower().endswith((".jpg", ".jpeg", ".png")))
        for name in names[::len(names) // PHOTOS][:PHOTOS]:
            os.symlink(os.path.join(CALIBRATION, name), os.path.join(cls.photos, name))
        cls.int8 = os.path.join(cls.tmp.name, "s0_int8.mone")
        cls.report = os.path.join(cls.tmp.name, "report.json")
        cls.result = run(QUANTIZE, "--model", MODEL, "--calibration", cls.photos, "-o", cls.int8,
                         "--report", cls.report, "--sensitivity-photos", str(SENSITIVITY_PHOTOS))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def assert_clean_error(self, result, *fragments):
        self.assertNotEqual(result.returncode, 0)
        lines = [l for l in result.stderr.strip().splitlines() if l.startswith("mobileone-quantize: error: ")]
        self.assertEqual(len(lines), 1, result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])

    def test_the_int8_blob_runs_int8_and_agrees_with_float32(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        fp32, precisions = top1(MODEL, "auto")
        self.assertEqual(precisions, {"fp32"})
        int8, precisions = top1(self.int8, "auto")
        self.assertEqual(precisions, {"int8"})
        self.assertEqual(int8, fp32)
        # The reference labels themselves (PyTorch's top-1 on these images).
        reference = json.load(open(os.path.join(SHARED, "reference", "s0_top5.json")))["images"]
        self.assertEqual(int8, [reference[os.path.basename(i)]["top5"][0]["index"] for i in IMAGES])
        dequantized, precisions = top1(self.int8, "fp32")
        self.assertEqual(precisions, {"fp32"})
        self.assertEqual(dequantized, fp32)
        self.assertLess(os.path.getsize(self.int8), os.path.getsize(MODEL))

    def test_the_report_describes_every_layer(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        report = json.load(open(self.report))
        text = json.dumps(report)
        for key in ("precision", "input_scale", "sensitivity"):
            self.assertIn(key, text)
        self.assertIn("int8", text)

    def test_the_int8_blob_passes_its_golden_self_check_on_every_isa(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        self.assertRegex(self.result.stdout, r"golden self-check worst error int8 [0-9.e+-]+, fp32 [0-9.e+-]+;")
        totals = json.load(open(self.report))["totals"]["golden_self_check"]
        self.assertLess(totals["int8_worst_relative_error"], 0.1)
        self.assertLess(totals["fp32_worst_relative_error"], 1e-4)
        checked = set()
        for isa in ("scalar", "avx2", "avx512", "neon"):
            for precision in ("int8", "fp32"):
                result = run(CLASSIFY, "--model", self.int8, "--verify", "--json", "--isa", isa, "--precision", precision)
                if "is not available on this CPU" in result.stderr:
                    continue
                with self.subTest(isa=isa, precision=precision):
                    self.assertEqual(result.returncode, 0, result.stderr)
                    record = json.loads(result.stdout)
                    self.assertEqual((record["precision"], record["passed"]), (precision, True))
                    checked.add(isa)
        self.assertGreaterEqual(len(checked), 2)

    def test_a_source_without_golden_data_gives_an_int8_model_without(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "old_int8.mone")
            result = run(QUANTIZE, "--model", os.path.join(FIXTURES, "no_golden.mone"), "--calibration", self.photos,
                         "-o", out, "--sensitivity-photos", "1", "--bias-passes", "0")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("has no golden self-check data (format version 1), so the int8 model will have none",
                          result.stderr)
            verify = run(CLASSIFY, "--model", out, "--verify")
            self.assertEqual(verify.returncode, 1)
            self.assertIn("no golden data (format version 2): --verify is unavailable", verify.stderr)

    def test_bad_inputs_fail_clearly_and_write_nothing(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out.mone")
            empty = os.path.join(tmp, "empty")
            os.mkdir(empty)
            self.assert_clean_error(run(QUANTIZE, "--model", MODEL, "--calibration", empty, "-o", out), "no JPEG or PNG file")
            junk = os.path.join(tmp, "junk")
            os.mkdir(junk)
            open(os.path.join(junk, "a.jpg"), "wb").write(b"\xff\xd8 not a jpeg")
            self.assert_clean_error(run(QUANTIZE, "--model", MODEL, "--calibration", junk, "-o", out), "decodable")
            self.assert_clean_error(run(QUANTIZE, "--model", MODEL, "--calibration", os.path.join(tmp, "none"),
                                        "-o", out), "none")
            truncated = os.path.join(tmp, "truncated.mone")
            open(truncated, "wb").write(open(MODEL, "rb").read()[:1000])
            self.assert_clean_error(run(QUANTIZE, "--model", truncated, "--calibration", self.photos, "-o", out),
                                    "truncated")
            self.assert_clean_error(run(QUANTIZE, "--model", MODEL, "--calibration", self.photos,
                                        "-o", os.path.join(tmp, "no", "dir", "out.mone")), "out.mone")
            altered = os.path.join(tmp, "altered.mone")
            with_altered_weight(MODEL, altered, stage=2)
            self.assert_clean_error(run(QUANTIZE, "--model", altered, "--calibration", self.photos, "-o", out),
                                    "altered.mone fails its golden self-check in fp32", "stage2 is off by")
            self.assertEqual(sorted(os.listdir(tmp)), ["altered.mone", "empty", "junk", "truncated.mone"])


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
