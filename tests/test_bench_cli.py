"""mobileone-bench end to end: the summary, the per-layer table (named and shaped as weights/convert.py
--inspect names and shapes layers), CSV/JSON/SVG files, output paths checked before anything is measured,
int8 (--variant --int8, --precision, each layer's precision, the int8 peak), --correlation, --ablation, the
error paths, and the --help of mobileone-bench, mobileone-make-model and
mobileone-footprint (found beside mobileone-bench in the build tree).

Usage: test_bench_cli.py BENCH_BINARY FIXTURE_DIR  (run by ctest; under an emulator, given by the
MOBILEONE_EMULATOR environment variable when cross-compiling, only the quick cases run: qemu proves the
tool works on AArch64, its timings mean nothing).
"""
import csv
import json
import math
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

BENCH, FIXTURES = sys.argv[1:3]
EMULATOR = shlex.split(os.environ.get("MOBILEONE_EMULATOR", ""))
REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
CONVERTER = os.path.join(REPO, "weights", "convert.py")
MAKE_MODEL = os.path.join(os.path.dirname(os.path.abspath(BENCH)), "mobileone-make-model")
FOOTPRINT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(BENCH)), "..", "examples", "capi",
                                          "mobileone-footprint"))
SVG = "{http://www.w3.org/2000/svg}"
QUICK = ["--iterations", "3", "--warmup", "1"]
S0_LAYERS = 45
S0_MACS = 275110400  # at 224x224: tests/test_model_stats.cpp checks it against the paper
S0_PARAMS = 2078504


def run(*args, timeout=900, tool=BENCH):
    return subprocess.run(EMULATOR + [tool, *args], capture_output=True, text=True, timeout=timeout)


def table_rows(text, pattern):
    """{index: (name, shapes)} of the rows of a printed layer table."""
    return {int(m.group(1)): (m.group(2), m.group(3)) for m in re.finditer(pattern, text, re.MULTILINE)}


# "#  name  kind  in -> out  MMACs ..." (mobileone-bench) and "#  name  kind  act  in -> out ..." (--inspect).
BENCH_ROW = r"^(\d+) +(\S+) +\S+ +(\S+ -> \S+) +\d"
INSPECT_ROW = r"^ *(\d+)  (\S+) +\S+ +(?:relu|-) +(\S+ -> \S+) +\d"


def option_entries(help_text):
    """{option: its description} of a help text's "  --option ..." entries (continuation lines included)."""
    entries, current = {}, None
    for line in help_text.splitlines():
        match = re.match(r"  (-[-\w]+(?:, --[-\w]+)?)", line)
        if match:
            current = match.group(1)
            entries[current] = line
        elif current and line.startswith("      "):
            entries[current] += " " + line.strip()
        else:
            current = None
    return entries


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
                             "sum of layers"):
                self.assertIn(fragment, out)
            table = table_rows(out, BENCH_ROW)
            self.assertEqual(len(table), S0_LAYERS)
            self.assertEqual(table[0], ("stage0", "3x224x224 -> 48x112x112"))
            self.assertEqual(table[8], ("stage2.3", "128x28x28 -> 128x28x28"))
            self.assertEqual(table[44], ("linear", "1024 -> 1000"))

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
            self.assertEqual(root.tag, SVG + "svg")
            titles = [t.text for t in root.iter(SVG + "title") if t.text]
            self.assertTrue(any("s0/stage4.1/pw1x1_to1024/C256_7x7" in t for t in titles))
            # The whole network's median in the title, the layers' names under the bars, a mark per kind.
            texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
            self.assertEqual((report["precision"], report["kernels"]), ("fp32", report["isa"]))
            self.assertEqual({layer["precision"] for layer in report["layers"]}, {"fp32"})
            self.assertEqual(report["int8_macs"], 0)
            self.assertEqual({r["precision"] for r in rows}, {"fp32"})
            title = re.fullmatch(rf"s0 224x224, fp32 on {report['kernels']}, 1 thread, median of 3 runs: total "
                                 r"(\d+\.\d{3}) ms", texts[0])
            self.assertIsNotNone(title, texts[0])
            # The title rounds the double, the JSON its 6-decimal print: they may differ in the last digit.
            self.assertAlmostEqual(float(title.group(1)), report["median_ms"], delta=0.0005 + 1e-6)
            labels = ["".join(t.itertext()) for t in root.iter(SVG + "text") if t.get("class") == "layer-label"]
            self.assertEqual(labels, [table[i][0] for i in range(S0_LAYERS)])
            legend = [e for e in root.iter(SVG + "g") if e.get("class") == "legend"]
            self.assertEqual(["".join(e.find(SVG + "text").itertext()) for e in legend], ["conv3x3", "dw3x3", "pw1x1", "avgpool", "linear"])
            self.assertEqual(len({e.find(SVG + "path").get("d") for e in legend}), 5)
            self.assertEqual(sorted(os.listdir(tmp)), ["s0.csv", "s0.json", "s0.svg"])  # no temporaries left

    def test_model_file_size_threads_and_isa(self):
        model = os.path.join(FIXTURES, "s0_real.mone")
        with tempfile.TemporaryDirectory() as tmp:
            csv_path = os.path.join(tmp, "real.csv")
            result = run("--model", model, "--size", "64x96", "--threads", "2", "--isa", "scalar", *QUICK,
                         "--csv", csv_path)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("mobileone_s0: 64x96, fp32 on scalar, 2 threads", result.stdout)
            with open(csv_path, newline="") as f:
                rows = list(csv.DictReader(f))
            self.assertEqual(len(rows), S0_LAYERS)
            self.assertEqual(rows[0]["in_shape"], "64x96x3")
            self.assertEqual(rows[0]["out_shape"], "32x48x48")
            # Without --per-layer/--csv/--svg only the summary is printed.
            result = run("--model", model, "--size", "32", *QUICK)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertNotIn("sum of layers", result.stdout)

    def test_int8_variant(self):
        """--variant --int8: the synthetic int8 model runs in int8 by default (every depthwise and pointwise
        layer, the stem, pool and classifier in fp32), and --precision fp32 runs it all in fp32."""
        with tempfile.TemporaryDirectory() as tmp:
            csv_path, json_path = os.path.join(tmp, "s0.csv"), os.path.join(tmp, "s0.json")
            env = dict(os.environ, MOBILEONE_PEAK_INT8_GMACS="100")
            result = subprocess.run(EMULATOR + [BENCH, "--variant", "s0", "--int8", "--size", "64", *QUICK,
                                                "--csv", csv_path, "--json", json_path],
                                    capture_output=True, text=True, timeout=900, env=env)
            self.assertEqual(result.returncode, 0, result.stderr)
            with open(json_path) as f:
                report = json.load(f)
            self.assertEqual(report["precision"], "int8")
            self.assertTrue(report["kernels"].startswith(report["isa"] + "+"), report["kernels"])
            self.assertEqual(report["peak_int8_gmacs_per_core"], 100)
            precisions = [layer["precision"] for layer in report["layers"]]
            self.assertEqual(precisions, ["fp32"] + ["int8"] * (S0_LAYERS - 3) + ["fp32", "fp32"])
            int8_macs = sum(layer["macs"] for layer in report["layers"] if layer["precision"] == "int8")
            self.assertEqual(report["int8_macs"], int8_macs)
            with open(csv_path, newline="") as f:
                rows = list(csv.DictReader(f))
            self.assertEqual([r["precision"] for r in rows], precisions)
            for r, layer in zip(rows, report["layers"]):
                if layer["macs"]:  # GOP/s = 2 ops per multiply-add; % peak against the layer's own precision
                    self.assertAlmostEqual(float(r["gops"]), 2 * layer["macs"] / (layer["median_ms"] * 1e6),
                                           delta=1e-3 + 1e-3 * float(r["gops"]))
                    peak = 100 if layer["precision"] == "int8" else 58.5
                    self.assertAlmostEqual(float(r["pct_peak"]), 100 * float(r["gops"]) / 2 / peak, delta=0.02)
            out = result.stdout
            self.assertIn(f"s0: 64x64, int8 on {report['kernels']}, 1 thread", out)
            share = 100 * int8_macs / report["macs"]
            self.assertIn(f"({share:.1f}% of them in int8 layers)", out)
            self.assertIn("(int8 100.0 and fp32 58.5 GMAC/s x 1)", out)
            table = table_rows(out, BENCH_ROW)
            self.assertEqual(len(table), S0_LAYERS)
            self.assertRegex(out, r"\n +of which int8 layers +\d")
            self.assertRegex(out, r"\n +of which fp32 layers +\d")
            self.assertRegex(out, r"\n1 +stage1\.0 +dw3x3 .* int8\n")

            # The same model in fp32 (dequantized weights): no int8 layer, no per-precision rows.
            result = run("--variant", "s0", "--int8", "--precision", "fp32", "--size", "64", *QUICK, "--per-layer")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(f"s0: 64x64, fp32 on {report['isa']}, 1 thread", result.stdout)
            self.assertNotIn("int8", result.stdout)

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

    def test_layer_names_and_shapes_match_inspect(self):
        """The bench's per-layer table and weights/convert.py --inspect name each layer and print its shapes the
        same way (the blob's name, Apple's module path; channels x height x width)."""
        model = os.path.join(FIXTURES, "s0_real.mone")
        bench = run("--model", model, "--per-layer", *QUICK)
        self.assertEqual(bench.returncode, 0, bench.stderr)
        inspect = subprocess.run([sys.executable, CONVERTER, "--inspect", model], capture_output=True, text=True)
        self.assertEqual(inspect.returncode, 0, inspect.stderr)
        bench_rows, inspect_rows = table_rows(bench.stdout, BENCH_ROW), table_rows(inspect.stdout, INSPECT_ROW)
        self.assertEqual(len(inspect_rows), S0_LAYERS)
        self.assertEqual(bench_rows, inspect_rows)
        self.assertEqual(inspect_rows[43], ("gap", "1024x7x7 -> 1024x1x1"))
        self.assertIn("stage2.15", [name for name, _ in bench_rows.values()])

    def test_output_paths_are_checked_before_measuring(self):
        # 10^6 timed runs would take an hour: each case must fail before the first.
        endless = ["--variant", "s0", "--iterations", "1000000"]
        with tempfile.TemporaryDirectory() as tmp:
            good, missing = os.path.join(tmp, "good.csv"), os.path.join(tmp, "no-such-dir", "s0.svg")
            result = run(*endless, "--csv", good, "--svg", missing, timeout=120)
            self.assert_clean_error(result, f"cannot write {missing} (--svg): No such file or directory; "
                                            "nothing was measured")
            self.assertEqual(os.listdir(tmp), [])  # the good path was only probed: no empty file, no temporary
            result = run(*endless, "--json", tmp, timeout=120)
            self.assert_clean_error(result, f"cannot write {tmp} (--json): it is a directory; nothing was measured")
            result = run(*endless, "--csv", os.path.join(good, "x.csv"), timeout=120)  # under a missing directory
            self.assert_clean_error(result, "(--csv)", "nothing was measured")
            # Before --correlation and --ablation too, when a network is measured after them.
            result = run("--correlation", "--variant", "s0", "--json", missing, timeout=120)
            self.assert_clean_error(result, f"cannot write {missing} (--json)")
            self.assert_clean_error(run("--csv", ""), "--csv needs a file name")
            self.assertEqual(os.listdir(tmp), [])

    def test_help(self):
        result = run("--help")
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        entries = option_entries(result.stdout)
        for option in ("--model", "--variant", "--size", "--threads", "--isa", "--iterations", "--warmup",
                       "--per-layer", "--csv", "--json", "--svg", "--correlation", "--ablation", "--peak-gmacs",
                       "--int8", "--precision", "--peak-int8-gmacs"):
            self.assertIn(option, entries)
            self.assertIn("default", entries[option], option)
        examples = result.stdout[result.stdout.index("\nexamples:\n"):].splitlines()[2:]
        self.assertGreaterEqual(len(examples), 3)
        for example in examples:
            self.assertTrue(example.startswith("  mobileone-bench --"), example)

    def test_make_model_help_and_usage(self):
        result = run("--help", tool=MAKE_MODEL)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        entries = option_entries(result.stdout)
        for option in ("--variant", "-o, --output", "--seed", "--size", "--stats", "--layers"):
            self.assertIn(option, entries)
            self.assertRegex(entries[option], r"\((no )?default|\(required\)", option)
        self.assertIn("(default 20230101", entries["--seed"])  # bench_common.hpp's kDefaultSeed
        self.assertIn("\nexamples:\n  mobileone-make-model --variant s2 -o s2.mone\n", result.stdout)
        # No arguments: the same usage on stdout, no error line (exit status 1: nothing was made).
        bare = run(tool=MAKE_MODEL)
        self.assertEqual((bare.returncode, bare.stdout, bare.stderr), (1, result.stdout, ""))
        # Errors are one line.
        self.assertEqual(run("--stats", tool=MAKE_MODEL).stderr,
                         "mobileone-make-model: error: --variant is required (see --help)\n")
        # An example from the help works as written.
        with tempfile.TemporaryDirectory() as tmp:
            made = subprocess.run(EMULATOR + [MAKE_MODEL, "--variant", "s2", "-o", "s2.mone"], cwd=tmp,
                                  capture_output=True, text=True, timeout=300)
            self.assertEqual(made.returncode, 0, made.stderr)
            self.assertEqual(os.listdir(tmp), ["s2.mone"])

    @unittest.skipUnless(os.path.exists(FOOTPRINT), "mobileone-footprint not built (examples off)")
    def test_footprint_help(self):
        result = run("--help", tool=FOOTPRINT)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        for fragment in ("write-random VARIANT FILE", "measure FILE", "(seed 1, 224x224)", "threads: the",
                         "\nexamples:\n  mobileone-footprint write-random s0 s0.mone\n  mobileone-footprint measure s0.mone\n"):
            self.assertIn(fragment, result.stdout)
        bare = run(tool=FOOTPRINT)  # no arguments: the usage (on stderr, exit status 2, as before)
        self.assertEqual((bare.returncode, bare.stderr), (2, result.stdout))

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
        self.assert_clean_error(run("--peak-int8-gmacs", "4x"), "--peak-int8-gmacs expects a positive number, got '4x'")
        self.assert_clean_error(run("--precision", "int4"), "unknown precision 'int4' (expected auto, fp32, int8, bf16 or fp16)")
        self.assert_clean_error(run("--variant", "s0", "--precision", "int8"), "--variant sN --int8")
        self.assert_clean_error(run("--model", "x.mone", "--int8"), "--int8 makes a synthetic int8 --variant")
        with tempfile.TemporaryDirectory() as tmp:
            target = os.path.join(tmp, "no-such-dir", "s0.csv")
            result = run("--variant", "s0", "--size", "32", *QUICK, "--csv", target)
            self.assertEqual(result.returncode, 1)
            self.assertEqual(result.stderr, f"mobileone-bench: error: cannot write {target} (--csv): No such file or "
                                            "directory; nothing was measured\n")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
