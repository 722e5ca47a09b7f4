"""mobileone-classify end to end: text and JSON output, tensor parity mode, and the error paths.

Usage: test_cli.py CLI_BINARY FIXTURE_DIR SHARED_DIR  (run by ctest; the binary may be prefixed by an
emulator through the MOBILEONE_EMULATOR environment variable when cross-compiling).
"""
import json
import os
import shlex
import struct
import subprocess
import sys
import tempfile
import unittest

CLI, FIXTURES, SHARED = sys.argv[1:4]
EMULATOR = shlex.split(os.environ.get("MOBILEONE_EMULATOR", ""))
MODEL = os.path.join(FIXTURES, "s0_real.mone")


def run(*args):
    return subprocess.run(EMULATOR + [CLI, *args], capture_output=True, text=True, timeout=600)


class ClassifyCli(unittest.TestCase):
    def assert_clean_error(self, result, *fragments):
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(result.stdout, "")
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("mobileone-classify: error: "), lines[0])
        for fragment in fragments:
            self.assertIn(fragment, lines[0])

    def test_json_output_per_image(self):
        images = [os.path.join(SHARED, "images", name) for name in ("chelsea.png", "apple.png")]
        result = run("--model", MODEL, *images, "--json", "--top", "3", "--repeat", "5", "--threads", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.strip().splitlines()
        self.assertEqual(len(lines), 2)
        reference = json.load(open(os.path.join(SHARED, "reference", "s0_top5.json")))["images"]
        for image, line in zip(images, lines):
            record = json.loads(line)
            self.assertEqual(record["image"], image)
            self.assertEqual(len(record["top"]), 3)
            self.assertEqual(set(record["top"][0]), {"index", "label", "prob"})
            expected = reference[os.path.basename(image)]["top5"][0]
            self.assertEqual(record["top"][0]["index"], expected["index"])
            self.assertEqual(record["top"][0]["label"], expected["label"])
            self.assertAlmostEqual(record["top"][0]["prob"], expected["prob"], delta=0.01)
            latency = record["latency_ms"]
            self.assertEqual(latency["runs"], 5)
            self.assertGreater(latency["median"], 0)
            self.assertLessEqual(latency["min"], latency["median"])

    def test_text_output(self):
        result = run("--model", MODEL, os.path.join(SHARED, "images", "coffee.png"), "--top", "2")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("mobileone_s0", result.stdout)
        self.assertIn("espresso", result.stdout)
        self.assertEqual(len(result.stdout.strip().splitlines()), 3)

    def test_tensor_mode_writes_reference_logits(self):
        tensor = os.path.join(SHARED, "reference", "apple_input_nchw.f32")
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "logits.f32")
            result = run("--model", MODEL, "--tensor", tensor, "--shape", "1,3,224,224", "--logits-out", out)
            self.assertEqual(result.returncode, 0, result.stderr)
            ours = struct.unpack("<1000f", open(out, "rb").read())
        reference = struct.unpack("<1000f", open(os.path.join(SHARED, "reference", "apple_logits.f32"), "rb").read())
        worst = max(abs(a - b) for a, b in zip(ours, reference)) / max(abs(b) for b in reference)
        self.assertLessEqual(worst, 1e-4)

    def test_errors_are_one_clear_line(self):
        image = os.path.join(SHARED, "images", "chelsea.png")
        tensor = os.path.join(SHARED, "reference", "apple_input_nchw.f32")
        with tempfile.TemporaryDirectory() as tmp:
            corrupt = os.path.join(tmp, "corrupt.mone")
            data = bytearray(open(MODEL, "rb").read())
            data[len(data) // 2] ^= 0xFF
            open(corrupt, "wb").write(data)
            truncated = os.path.join(tmp, "truncated.mone")
            open(truncated, "wb").write(data[:1000])
            broken_image = os.path.join(tmp, "broken.png")
            open(broken_image, "wb").write(open(image, "rb").read()[:500])
            self.assert_clean_error(run("--model", os.path.join(tmp, "missing.mone"), image), "missing.mone", "cannot open")
            self.assert_clean_error(run("--model", corrupt, image), "corrupt.mone", "checksum mismatch")
            self.assert_clean_error(run("--model", truncated, image), "truncated.mone", "truncated")
            self.assert_clean_error(run("--model", MODEL, broken_image), "broken.png", "cannot decode image")
            self.assert_clean_error(run("--model", MODEL, os.path.join(tmp, "nope.jpg")), "nope.jpg")
            self.assert_clean_error(run("--model", MODEL, "--tensor", tensor, "--shape", "1,3,224,225"), "needs")
            self.assert_clean_error(run("--model", MODEL, "--tensor", tensor, "--shape", "2,3,224,224"), "batch 1")
            self.assert_clean_error(run("--model", MODEL, "--tensor", tensor, "--shape", "1,3,x,224"), "--shape")
            self.assert_clean_error(run("--model", MODEL, "--tensor", tensor), "--shape")
            self.assert_clean_error(run("--model", MODEL, image, "--top", "0"), "--top")
            self.assert_clean_error(run("--model", MODEL, image, "--isa", "sse9"), "unknown ISA")
            self.assert_clean_error(run(image), "--model is required")
            self.assert_clean_error(run("--model", MODEL, image, "--bogus"), "unknown option --bogus")

    def test_non_finite_tensor_is_refused(self):
        height, width = 8, 9
        with tempfile.TemporaryDirectory() as tmp:
            for value, name in ((float("nan"), "NaN"), (float("inf"), "+inf"), (float("-inf"), "-inf")):
                with self.subTest(value=name):
                    values = [0.5] * (3 * height * width)
                    values[(1 * height + 2) * width + 3] = value  # channel 1, row 2, column 3
                    values[-1] = float("nan")  # a later one: the first is named
                    tensor = os.path.join(tmp, "bad.f32")
                    with open(tensor, "wb") as f:
                        f.write(struct.pack(f"<{len(values)}f", *values))
                    result = run("--model", MODEL, "--tensor", tensor, "--shape", f"1,3,{height},{width}")
                    self.assertEqual(result.returncode, 1, result.stderr)
                    self.assert_clean_error(result, f"{tensor}: input tensor has a non-finite value ({name}) at "
                                                    "channel 1, row 2, column 3")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
