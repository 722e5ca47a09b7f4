"""mobileone-bench end to end: the summary, the per-layer table, CSV/JSON/SVG files, --correlation,
--ablation and the error paths.

Usage: test_bench_cli.py BENCH_BINARY FIXTURE_DIR  (run by ctest; under an emulator, given by the
MOBILEONE_EMULATOR environment variable when cross-compiling, only the quick cases run: qemu proves the
tool works on AArch64, its timings mean nothing).
"""
import csv
import json
import os
import shlex
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

BENCH, FIXTURES = sys.argv[1:3]
EMULATOR = shlex.split(os.environ.get("MOBILEONE_EMULATOR", ""))
QUICK = ["--iterations", "3", "--warmup", "1"]
S0_LAYERS = 45
S0_MACS = 275110400  # at 224x224: tests/test_model_stats.cpp checks it against the paper
S0_PARAMS = 2078504


def run(*args, timeout=900):
    return subprocess.run(EMULATOR + [BENCH, *args], capture_output=True, text=True, timeout=timeout)


class BenchCli(unittest.TestCase):
    def assert_clean_error(self, result, *fragments):
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("mobileone-bench: error: "), lines[0])
        for fragment in fragments:
            self.assertIn(fragment, lines[0])

    def test_per_layer_outputs(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = {ext: os.path.join(tmp, "s0." + ext) for ext in ("csv", "json", "svg")}
            result = run("--variant", "s0", *QUICK, "--csv", paths["csv"], "--json", paths["json"], "--svg", paths["svg"])
            self.assertEqual(result.returncode, 0, result.stderr)
            out = result.stdout
            for fragment in ("s0: 224x224", "cold (first run)", "warm min", "275.1 M MACs", "peak resident",
                             "s0/stage2.3/pw1x1_to128/C128_28x28", "s0/stage0/conv3x3_s2/C3_224x224", "sum of layers"):
                self.assertIn(fragment, out)

            with open(paths["csv"], newline="") as f:
                rows = list(csv.DictReader(f))
            self.assertEqual(len(rows), S0_LAYERS)
            for column in ("name", "kind", "macs", "params", "median_ms", "min_ms"):
                self.assertIn(column, rows[0])
            self.assertEqual(sum(int(r["macs"]) for r in rows), S0_MACS)
            self.assertEqual(sum(int(r["params"]) for r in rows), S0_PARAMS)
            self.assertEqual([r["kind"] for r in rows[:3]], ["conv3x3", "dw3x3", "pw1x1"])
            self.assertEqual(rows[-1]["name"], "s0/head/linear/C1024_1x1")
            for r in rows:
                self.assertGreater(float(r["median_ms"]), 0)
                self.assertLessEqual(float(r["min_ms"]), float(r["median_ms"]))
            self.assertAlmostEqual(sum(float(r["share"]) for r in rows), 1.0, delta=1e-3)

            with open(paths["json"]) as f:
                report = json.load(f)
            self.assertEqual(report["name"], "s0")
            self.assertEqual(report["iterations"], 3)
            self.assertEqual(report["macs"], S0_MACS)
            self.assertEqual(len(report["layers"]), S0_LAYERS)
            self.assertLessEqual(report["min_ms"], report["median_ms"])
            self.assertGreater(report["cold_ms"], 0)
            self.assertGreater(report["workspace_bytes"], 0)
            self.assertEqual(report["layers"][0]["in"], [224, 224, 3])
            self.assertEqual(report["layers"][0]["out"], [112, 112, 48])

            root = ET.parse(paths["svg"]).getroot()
            self.assertEqual(root.tag, "{http://www.w3.org/2000/svg}svg")
            titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title") if t.text]
            self.assertTrue(any("s0/stage4.1/pw1x1_to1024/C256_7x7" in t for t in titles))
            self.assertEqual(os.listdir(tmp).count("s0.csv.tmp"), 0)

    def test_model_file_size_threads_and_isa(self):
        model = os.path.join(FIXTURES, "s0_real.mone")
        with tempfile.TemporaryDirectory() as tmp:
            csv_path = os.path.join(tmp, "real.csv")
            result = run("--model", model, "--size", "64x96", "--threads", "2", "--isa", "scalar", *QUICK,
                         "--csv", csv_path)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("mobileone_s0: 64x96, scalar, 2 threads", result.stdout)
            with open(csv_path, newline="") as f:
                rows = list(csv.DictReader(f))
            self.assertEqual(len(rows), S0_LAYERS)
            self.assertEqual(rows[0]["in_shape"], "64x96x3")
            self.assertEqual(rows[0]["out_shape"], "32x48x48")
            # Without --per-layer/--csv/--svg only the summary is printed.
            result = run("--model", model, "--size", "32", *QUICK)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertNotIn("sum of layers", result.stdout)

    @unittest.skipIf(EMULATOR, "five networks and the ablation take minutes under qemu")
    def test_correlation(self):
        result = run("--correlation", *QUICK)
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        layers = next(l for l in lines if "layers of S0..S4" in l)
        networks = next(l for l in lines if "networks S0..S4" in l)
        # S0..S3: 45 layers each; S4: 45 + 12 squeeze-excite layers (after the depthwise and the pointwise
        # layer of its last 5 stage-3 units and its stage-4 unit) = 237 layers; 5 networks.
        self.assertIn("n=237", layers)
        self.assertIn("n=5", networks)
        self.assertEqual(layers.count("rho"), 2)
        self.assertEqual(layers.count("(t)"), 2)
        self.assertEqual(networks.count("(exact)"), 2)
        # Larger variants take longer and have more MACs and parameters: the rank correlation over whole
        # networks is +1 for both, with the exact two-sided p-value 2/5! = 0.0167.
        self.assertEqual(networks.count("rho +1.000  p 0.017"), 2, networks)

    @unittest.skipIf(EMULATOR, "five networks and the ablation take minutes under qemu")
    def test_ablation(self):
        result = run("--ablation", "--iterations", "2", "--warmup", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        out = result.stdout
        self.assertIn("Table 2", out)
        self.assertIn("Table 3", out)
        table2 = out[out.index("Table 2"):out.index("Table 3")]
        for name in ("ReLU", "GELU", "SE-ReLU", "SiLU", "Hard-Swish"):
            self.assertIn(name, table2)
        relu_row = next(l for l in table2.splitlines() if l.strip().startswith("ReLU"))
        self.assertTrue(relu_row.rstrip().endswith("1.00x"), relu_row)
        table3 = out[out.index("Table 3"):]
        self.assertIn("skip", table3.lower())

    def test_errors(self):
        self.assert_clean_error(run("--variant", "s9"), "unknown MobileOne variant 's9'")
        self.assert_clean_error(run("--frobnicate"), "unknown option '--frobnicate'")
        self.assert_clean_error(run("--iterations", "0"), "--iterations expects an integer >= 1")
        self.assert_clean_error(run("--threads", "two"), "--threads expects an integer >= 1, got 'two'")
        self.assert_clean_error(run("--iterations"), "--iterations needs a value")
        self.assert_clean_error(run("--model", "x.mone", "--variant", "s0"), "not both")
        self.assert_clean_error(run("--model", os.path.join(FIXTURES, "does-not-exist.mone")), "does-not-exist.mone")
        self.assert_clean_error(run("--isa", "sse9"), "sse9")
        self.assert_clean_error(run("--peak-gmacs", "-1"), "--peak-gmacs expects a positive number")
        with tempfile.TemporaryDirectory() as tmp:
            target = os.path.join(tmp, "no-such-dir", "s0.csv")
            result = run("--variant", "s0", "--size", "32", *QUICK, "--csv", target)
            self.assertEqual(result.returncode, 1)
            self.assertEqual(result.stderr, f"mobileone-bench: error: cannot write {target}\n")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
