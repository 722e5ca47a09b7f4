"""mobileone-classify end to end: text and JSON output, tensor parity mode, and the error paths; and
examples/classify.sh with a local checkpoint and offline.

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
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
from mone_edit import with_altered_weight  # noqa: E402

CLI, FIXTURES, SHARED = sys.argv[1:4]
EMULATOR = shlex.split(os.environ.get("MOBILEONE_EMULATOR", ""))
MODEL = os.path.join(FIXTURES, "s0_real.mone")
CLASSIFY_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "classify.sh")
CHECKPOINT = os.path.join(SHARED, "weights", "mobileone_s0.pth.tar")


def run(*args, env=None):
    return subprocess.run(EMULATOR + [CLI, *args], capture_output=True, text=True, timeout=600,
                          env=None if env is None else {**os.environ, **env})


def write_pgm(path, width, height):
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (width, height) + bytes(range(256)) * (width * height // 256)
                + bytes(width * height % 256))


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
        result = run("--model", MODEL, *images, "--json", "--top", "3", "--repeat", "3", "--threads", "1")
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
            self.assertEqual(latency["runs"], 3)
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
            self.assert_clean_error(run("--model", MODEL, image, "--rotate", "45"), "--rotate expects 0, 90, 180 or 270, got '45'")
            self.assert_clean_error(run("--model", MODEL, image, "--rotate", "-90"), "--rotate expects 0, 90, 180 or 270")
            self.assert_clean_error(run("--model", MODEL, "--tensor", tensor, "--shape", "1,3,224,224", "--mirror"),
                                    "--rotate and --mirror apply to image files")

    def test_rotate_and_mirror_turn_a_camera_frame_upright_bit_for_bit(self):
        # An upright picture (odd sides, wider than tall) and the frames a sensor would deliver for it: each
        # made with naive loops so that --rotate DEG (clockwise) and then --mirror (left to right) undo it.
        width, height = 97, 61
        upright = [[((x * 7 + y * 3) % 256, (x * y) % 256, (255 - 2 * x + y) % 256) for x in range(width)]
                   for y in range(height)]

        def turned_clockwise(rows):  # the left column, read bottom to top, becomes the top row
            return [list(column) for column in zip(*rows[::-1])]

        def mirrored(rows):
            return [row[::-1] for row in rows]

        def frame_for(rotate, mirror):
            frame = mirrored(upright) if mirror else upright
            for _ in range((4 - rotate // 90) % 4):
                frame = turned_clockwise(frame)
            return frame

        def write_ppm(path, rows):
            with open(path, "wb") as f:
                f.write(b"P6\n%d %d\n255\n" % (len(rows[0]), len(rows)))
                f.write(bytes(value for row in rows for pixel in row for value in pixel))

        with tempfile.TemporaryDirectory() as tmp:
            def logits(rows, *flags):
                image, out = os.path.join(tmp, "frame.ppm"), os.path.join(tmp, "logits.f32")
                write_ppm(image, rows)
                result = run("--model", MODEL, image, "--top", "1", "--logits-out", out, *flags)
                self.assertEqual(result.returncode, 0, result.stderr)
                with open(out, "rb") as f:
                    return f.read()

            expected = logits(upright)
            self.assertEqual(len(expected), 4000)
            for rotate, mirror in ((90, False), (180, False), (270, True), (0, True)):
                with self.subTest(rotate=rotate, mirror=mirror):
                    flags = ("--rotate", str(rotate)) + (("--mirror",) if mirror else ())
                    frame = frame_for(rotate, mirror)
                    self.assertNotEqual(frame, upright)
                    self.assertEqual(logits(frame, *flags), expected)

    def test_bad_files_are_reported_and_the_rest_classified(self):
        chelsea, apple = (os.path.join(SHARED, "images", name) for name in ("chelsea.png", "apple.png"))
        with tempfile.TemporaryDirectory() as tmp:
            notes = os.path.join(tmp, "notes.txt")
            with open(notes, "w") as f:
                f.write("not an image\n")
            inputs = [chelsea, notes, tmp, apple]
            result = run("--model", MODEL, *inputs, "--top", "1")
            self.assertEqual(result.returncode, 1, result.stderr)
            headers = [line for line in result.stdout.splitlines() if not line.startswith(" ")]
            self.assertEqual([h.split(": ")[0] for h in headers], [chelsea, apple])
            self.assertIn("Egyptian cat", result.stdout)
            errors = result.stderr.splitlines()
            self.assertEqual(len(errors), 2, result.stderr)
            self.assertTrue(errors[0].startswith(f"mobileone-classify: error: {notes}: cannot decode image"), errors[0])
            self.assertEqual(errors[1], f"mobileone-classify: error: {tmp}: is a directory, not an image file")

            result = run("--model", MODEL, *inputs, "--top", "1", "--json")
            self.assertEqual(result.returncode, 1, result.stderr)
            records = [json.loads(line) for line in result.stdout.splitlines()]  # JSON Lines: one object a line
            self.assertEqual([r["input"] for r in records], inputs)
            self.assertEqual(set(records[1]), {"input", "error"})
            self.assertIn("cannot decode image", records[1]["error"])
            self.assertIn("is a directory", records[2]["error"])
            with open(os.path.join(SHARED, "reference", "s0_top5.json")) as f:
                reference = json.load(f)["images"]
            self.assertEqual(records[0]["top"][0]["index"], reference["chelsea.png"]["top5"][0]["index"])
            self.assertEqual(records[3]["top"][0]["index"], reference["apple.png"]["top5"][0]["index"])
            self.assertEqual(len(result.stderr.splitlines()), 2, result.stderr)

            result = run("--model", MODEL, chelsea, apple, "--top", "1", "--json")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stderr, "")
            # A model that does not load is fatal: nothing is classified.
            self.assert_clean_error(run("--model", notes, chelsea, apple), "notes.txt")

    def test_directory_says_it_is_a_directory(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.assert_clean_error(run("--model", MODEL, tmp), f"{tmp}: is a directory, not an image file")

    def test_extreme_aspect_ratio_names_the_file_and_its_size(self):
        with tempfile.TemporaryDirectory() as tmp:
            tall = os.path.join(tmp, "tall.pgm")
            write_pgm(tall, 1, 200)
            self.assert_clean_error(run("--model", MODEL, tall), f"{tall} (1x200 pixels): ", "aspect ratio")

    def test_threads_accepts_what_the_engine_accepts(self):
        image = os.path.join(SHARED, "images", "chelsea.png")
        result = run("--model", MODEL, image, "--threads", "0", "--top", "1")  # 0: automatic, as in the engine
        self.assertEqual(result.returncode, 0, result.stderr)
        for bad in ("1025", "-1", "two", ""):
            self.assert_clean_error(run("--model", MODEL, image, "--threads", bad),
                                    f"--threads expects 0 (automatic) or 1..1024, got '{bad}'")

    def test_cores_policies_give_the_same_result(self):
        image = os.path.join(SHARED, "images", "chelsea.png")
        lines = set()
        for cores in ("big", "all", "little"):
            result = run("--model", MODEL, image, "--cores", cores, "--top", "3", "--json")
            self.assertEqual(result.returncode, 0, result.stderr)
            lines.add(json.dumps(json.loads(result.stdout)["top"]))
        self.assertEqual(len(lines), 1, lines)
        self.assert_clean_error(run("--model", MODEL, image, "--cores", "fast"),
                                "unknown core policy 'fast' (expected big, all or little)")

    def test_repeat_states_its_ceiling(self):
        image = os.path.join(SHARED, "images", "chelsea.png")
        for bad in ("0", "1000001"):
            self.assert_clean_error(run("--model", MODEL, image, "--repeat", bad),
                                    f"--repeat expects an integer in 1..1000000, got '{bad}'")

    def test_bad_isa_environment_variable_is_named(self):
        image = os.path.join(SHARED, "images", "chelsea.png")
        self.assert_clean_error(run("--model", MODEL, image, env={"MOBILEONE_ISA": "bogus"}),
                                "environment variable MOBILEONE_ISA: unknown ISA 'bogus'")

    def test_top_beyond_the_class_count_is_noted_once(self):
        image = os.path.join(SHARED, "images", "chelsea.png")
        result = run("--model", MODEL, image, "--top", "5000")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "mobileone-classify: note: --top 5000 is more than the model's 1000 classes; "
                                        "showing 1000\n")
        self.assertEqual(len(result.stdout.splitlines()), 1 + 1000)
        result = run("--model", MODEL, image, image, "--top", "5000", "--json")
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)  # said once, not once per image

    def test_single_run_prints_one_time(self):
        image = os.path.join(SHARED, "images", "chelsea.png")
        result = run("--model", MODEL, image, "--top", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        header = result.stdout.splitlines()[0]
        self.assertRegex(header, r", \d+\.\d{3} ms \(1 run, no warm-up\)$")
        self.assertNotIn("median", header)
        result = run("--model", MODEL, image, "--top", "1", "--repeat", "3")
        self.assertRegex(result.stdout.splitlines()[0], r" ms median, \d+\.\d{3} ms min over 3 runs$")

    def test_help_and_no_arguments(self):
        result = run("--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        text = result.stdout
        options = ("--model", "--top", "--json", "--threads", "--cores", "--repeat", "--isa", "--precision", "--tensor", "--shape",
                   "--logits-out", "--rotate", "--mirror", "--verify", "--help")
        described = {line.split()[0]: line for line in text.splitlines() if line.startswith("  --")}
        self.assertEqual(set(described), set(options))
        for option in ("--top", "--json", "--threads", "--cores", "--repeat", "--isa", "--logits-out"):
            self.assertIn("default", text[text.index("  " + option + " "):].split("\n  --")[0], option)
        for fragment in ("1..1000000 (default 1", "0 (automatic: one per core of --cores, at most 4) or 1..1024 (default 0)",
                         "big, all or little",
                         "JSON Lines", "auto, scalar, avx2, avx512 or neon", "Examples:",
                         "mobileone-classify --model mobileone_s0.mone chelsea.png"):
            self.assertIn(fragment, text)
        result = run()
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")
        self.assertTrue(result.stderr.startswith("usage: mobileone-classify --model MODEL.mone IMAGE..."),
                        result.stderr)

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


class VerifyCli(unittest.TestCase):
    """--verify: the golden self-check of format version 3."""

    def isas(self):
        """The ISAs this CPU runs (an unavailable one is refused by name)."""
        supported = []
        for isa in ("scalar", "avx2", "avx512", "neon"):
            result = run("--model", MODEL, "--verify", "--isa", isa, "--json")
            if "is not available on this CPU" not in result.stderr:
                supported.append((isa, result))
        return supported

    def test_real_s0_passes_on_every_isa(self):
        supported = self.isas()
        self.assertGreaterEqual(len(supported), 2)
        for isa, result in supported:
            with self.subTest(isa=isa):
                self.assertEqual(result.returncode, 0, result.stderr)
                record = json.loads(result.stdout)
                self.assertEqual((record["isa"], record["precision"], record["passed"]), (isa, "fp32", True))
                self.assertIsNone(record["first_divergence"])
                self.assertEqual(record["golden_input"], [56, 40])
                self.assertEqual([s["stage"] for s in record["stages"]],
                                 ["stem", "stage1", "stage2", "stage3", "stage4", "logits"])
                for stage in record["stages"]:
                    self.assertTrue(stage["passed"])
                    self.assertLess(stage["relative_error"], 1e-5)
                    self.assertEqual(stage["tolerance"], 1e-4)
        text = run("--model", MODEL, "--verify", "--threads", "2")
        self.assertEqual(text.returncode, 0, text.stderr)
        lines = text.stdout.splitlines()
        self.assertIn("golden self-check on its 56x40 input", lines[0])
        self.assertEqual(len(lines), 8)
        self.assertTrue(all(line.endswith("  ok") for line in lines[1:7]), text.stdout)
        self.assertEqual(lines[7], "passed: every stage within the fp32 tolerance")

    def test_an_altered_weight_fails_naming_the_first_diverging_stage(self):
        with tempfile.TemporaryDirectory() as tmp:
            altered = os.path.join(tmp, "altered.mone")
            with_altered_weight(MODEL, altered, stage=2)
            result = run("--model", altered, "--verify")
            self.assertEqual(result.returncode, 1)
            self.assertRegex(result.stdout, r"\n  stage1 .* ok\n  stage2 .* DIVERGES\n")
            lines = result.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, result.stderr)
            self.assertRegex(lines[0], r"^mobileone-classify: error: .*altered\.mone: self-check failed on \w+: stage2 is "
                                       r"the first stage that diverges \(relative error .* > fp32 tolerance 0\.0001\)$")
            record = json.loads(run("--model", altered, "--verify", "--json").stdout)
            self.assertEqual((record["passed"], record["first_divergence"]), (False, "stage2"))

    def test_a_blob_without_golden_data_says_verify_is_unavailable(self):
        old = os.path.join(FIXTURES, "no_golden.mone")
        result = run("--model", old, "--verify")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr.strip(), f"mobileone-classify: error: {old}: no golden data (format version 1): "
                                                "--verify is unavailable; convert the checkpoint again with "
                                                "weights/convert.py")

    def test_verify_takes_no_input(self):
        image = os.path.join(SHARED, "images", "chelsea.png")
        result = run("--model", MODEL, "--verify", image)
        self.assertEqual(result.returncode, 1)
        self.assertIn("--verify runs the model's own input", result.stderr)


@unittest.skipIf(EMULATOR, "classify.sh runs the CLI natively")
class ClassifyScript(unittest.TestCase):
    """examples/classify.sh with this build's CLI (MOBILEONE_CLASSIFY) and a scratch model directory."""

    def classify_sh(self, cwd, *args, env=None):
        environment = {**os.environ, "MOBILEONE_CLASSIFY": os.path.abspath(CLI), "PYTHON": sys.executable,
                       "MOBILEONE_MODEL_DIR": os.path.join(cwd, "models"), **(env or {})}
        script = os.path.relpath(CLASSIFY_SH, cwd)
        start = time.monotonic()
        result = subprocess.run([script, *args], cwd=cwd, env=environment, capture_output=True, text=True,
                                timeout=300)
        return result, time.monotonic() - start

    @unittest.skipUnless(os.path.exists(CHECKPOINT), "no local checkpoint in the shared folder")
    def test_local_checkpoint_with_paths_relative_to_another_directory(self):
        with tempfile.TemporaryDirectory() as tmp:
            os.symlink(os.path.abspath(SHARED), os.path.join(tmp, "data"))  # data/...: nothing of that name in the repo
            checkpoint = os.path.join("data", os.path.relpath(CHECKPOINT, SHARED))
            image = os.path.join("data", "images", "chelsea.png")
            result, _ = self.classify_sh(tmp, "--local", checkpoint, image, "--top", "1")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertTrue(result.stdout.startswith(image + ": mobileone_s0, "), result.stdout)
            self.assertIn("Egyptian cat (285)", result.stdout)

    def test_download_offline_fails_fast_with_the_local_hint(self):
        # Offline, made certain: every download goes through a proxy that refuses connections.
        offline = {"https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "no_proxy": "",
                   "NO_PROXY": ""}
        with tempfile.TemporaryDirectory() as tmp:
            result, seconds = self.classify_sh(tmp, os.path.relpath(os.path.join(SHARED, "images", "chelsea.png"), tmp),
                                               env=offline)
            self.assertNotEqual(result.returncode, 0)
            self.assertEqual(result.stdout, "")
            lines = result.stderr.splitlines()
            self.assertLessEqual(len(lines), 3, result.stderr)  # downloading URL, curl's reason, the hint
            self.assertNotIn("Warning", result.stderr)  # no retries
            self.assertNotIn("%", result.stderr)  # no progress meter
            self.assertIn("use --local CHECKPOINT", lines[-1])
            self.assertLess(seconds, 10)
            self.assertEqual(os.listdir(os.path.join(tmp, "models")), [])  # no partial download left


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
