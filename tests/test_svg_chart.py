"""bench/svg_chart.hpp: the sample charts written by svg_chart_sample are well-formed SVG with one bar and one
point per drawable layer, tooltips naming them, escaped text, and every coordinate finite and inside the
viewBox.

Usage: test_svg_chart.py SAMPLE_BINARY  (run by ctest; the binary may be prefixed by an emulator through the
MOBILEONE_EMULATOR environment variable when cross-compiling).
"""
import math
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

SAMPLE = sys.argv[1]
EMULATOR = shlex.split(os.environ.get("MOBILEONE_EMULATOR", ""))
SVG = "{http://www.w3.org/2000/svg}"
SPECIAL_NAME = "a<b&c>\"quoted\" 'single'"
INVALID_UTF8_NAME = "bad? utf8?"  # "bad\xff utf8\x01": a byte that is not UTF-8 and one XML forbids
COORDINATES = ("x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "width", "height", "r")


def write_samples(directory):
    result = subprocess.run(EMULATOR + [SAMPLE, directory], capture_output=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"svg_chart_sample failed: {result.stderr.decode(errors='replace')}")


def read_layers(path):
    layers = []
    with open(path, "rb") as table:
        for line in table.read().splitlines():
            name, kind, milliseconds, macs = line.split(b"\t")
            layers.append({"name": name, "kind": kind.decode(), "ms": float(milliseconds), "macs": float(macs)})
    return layers


def title_of(element):
    title = element.find(SVG + "title")
    return None if title is None else title.text


def tooltip_name(tooltip):
    return tooltip.rsplit(": ", 1)[0]


def expected_name(raw):
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        return INVALID_UTF8_NAME
    return INVALID_UTF8_NAME if any(ord(c) < 0x20 for c in name) else name


class Samples(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.TemporaryDirectory()
        write_samples(cls.directory.name)
        cls.layers = read_layers(os.path.join(cls.directory.name, "layers.tsv"))

    @classmethod
    def tearDownClass(cls):
        cls.directory.cleanup()

    def path(self, name):
        return os.path.join(self.directory.name, name)

    def parse(self, name):
        root = ET.parse(self.path(name)).getroot()  # raises on a document that is not well-formed
        self.assertEqual(root.tag, SVG + "svg")
        view_box = [float(v) for v in root.get("viewBox").split()]
        self.assertEqual(view_box[:2], [0, 0])
        self.assertEqual(float(root.get("width")), view_box[2])
        self.assertEqual(float(root.get("height")), view_box[3])
        background = root.find(SVG + "rect")
        self.assertEqual(background.get("fill"), "#ffffff")
        self.assertEqual([float(background.get(a)) for a in ("width", "height")], view_box[2:])
        self.assert_inside(root, view_box[2], view_box[3])
        return root

    def assert_inside(self, root, width, height):
        for element in root.iter():
            values = {a: float(element.get(a)) for a in COORDINATES if element.get(a) is not None}
            for attribute, value in values.items():
                self.assertTrue(math.isfinite(value), f"{element.tag} {attribute}={value}")
            for attribute in ("x", "x1", "x2", "cx"):
                if attribute in values:
                    self.assertTrue(0 <= values[attribute] <= width, f"{element.tag} {attribute}={values[attribute]}")
            for attribute in ("y", "y1", "y2", "cy"):
                if attribute in values:
                    self.assertTrue(0 <= values[attribute] <= height, f"{element.tag} {attribute}={values[attribute]}")
            if "width" in values and "x" in values:
                self.assertTrue(0 <= values["width"] and values["x"] + values["width"] <= width + 1e-9)
            if "height" in values and "y" in values:
                self.assertTrue(0 <= values["height"] and values["y"] + values["height"] <= height + 1e-9)
            match = re.fullmatch(r"translate\(([^,]+),([^)]+)\).*", element.get("transform", "translate(0,0)"))
            self.assertIsNotNone(match, element.get("transform"))
            x, y = float(match.group(1)), float(match.group(2))
            self.assertTrue(0 <= x <= width and 0 <= y <= height, element.get("transform"))

    def texts(self, root):
        return ["".join(t.itertext()) for t in root.iter(SVG + "text")]

    def test_one_bar_per_timed_layer_in_network_order(self):
        root = self.parse("layers.svg")
        bars = [r for r in root.iter(SVG + "rect") if r.get("class") == "bar"]
        timed = [l for l in self.layers if math.isfinite(l["ms"]) and l["ms"] >= 0]
        self.assertEqual(len(bars), len(timed))
        self.assertEqual(len(timed), len(self.layers) - 1)  # only the NaN latency is left out
        self.assertEqual([tooltip_name(title_of(b)) for b in bars], [expected_name(l["name"]) for l in timed])
        xs = [float(b.get("x")) for b in bars]
        self.assertEqual(xs, sorted(xs))
        # Heights proportional to latency, bottoms on one baseline.
        scale = [float(b.get("height")) / l["ms"] for b, l in zip(bars, timed)]
        for s in scale:
            self.assertAlmostEqual(s, scale[0], delta=0.02 / min(l["ms"] for l in timed))
        bottoms = {round(float(b.get("y")) + float(b.get("height")), 1) for b in bars}
        self.assertEqual(len(bottoms), 1)
        # Colour by kind: one colour per kind, unknown kinds share "other"'s.
        colour_of_kind = {}
        for b, l in zip(bars, timed):
            kind = l["kind"] if l["kind"] in ("conv3x3", "dw3x3", "pw1x1", "se", "avgpool", "linear") else "other"
            self.assertEqual(colour_of_kind.setdefault(kind, b.get("fill")), b.get("fill"), kind)
        self.assertEqual(len(set(colour_of_kind.values())), len(colour_of_kind))
        texts = self.texts(root)
        for kind in colour_of_kind:
            self.assertIn(kind, texts)  # the legend
        self.assertIn("1 layer not drawn (latency not finite or negative)", texts)

    def test_tooltips(self):
        root = self.parse("layers.svg")
        bar = next(r for r in root.iter(SVG + "rect") if r.get("class") == "bar")
        stem = self.layers[0]
        self.assertEqual(
            title_of(bar),
            f"{stem['name'].decode()}: {stem['ms']:.3f} ms, {stem['macs'] / 1e6:.2f} MMACs, 0.002 M params")

    def test_one_point_per_layer_with_macs(self):
        root = self.parse("layers.svg")
        circles = list(root.iter(SVG + "circle"))
        points = [c for c in circles if c.get("class") == "point"]
        zero = [c for c in circles if c.get("class") == "point-zero-macs"]
        self.assertEqual(len(circles), len(points) + len(zero))
        drawable = [l for l in self.layers if math.isfinite(l["ms"]) and l["ms"] > 0 and math.isfinite(l["macs"])]
        with_macs = [l for l in drawable if l["macs"] > 0]
        without_macs = [l for l in drawable if l["macs"] == 0]
        self.assertEqual(len(points), len(with_macs))
        self.assertEqual(len(zero), len(without_macs))
        self.assertEqual(len(without_macs), 1)  # the global pool
        self.assertEqual([tooltip_name(title_of(p)) for p in points], [expected_name(l["name"]) for l in with_macs])
        # Log-log: cx affine in log(MACs) rising to the right, cy affine in log(latency) rising upwards (smaller y).
        for attribute, key, direction in (("cx", "macs", 1), ("cy", "ms", -1)):
            coordinates = [float(p.get(attribute)) for p in points]
            logs = [math.log10(l[key]) for l in with_macs]
            (low, high) = (logs.index(min(logs)), logs.index(max(logs)))
            slope = (coordinates[high] - coordinates[low]) / (logs[high] - logs[low])
            self.assertGreater(direction * slope, 0)
            for coordinate, log in zip(coordinates, logs):
                self.assertAlmostEqual(coordinate, coordinates[low] + slope * (log - logs[low]), delta=0.02)
        # The zero-MACs column is left of every other point.
        self.assertLess(float(zero[0].get("cx")), min(float(p.get("cx")) for p in points))
        texts = self.texts(root)
        self.assertIn("0 MACs", texts)
        self.assertIn("2 layers not drawn (latency not positive, or MACs negative or not finite)", texts)
        for label in ("1M", "10M", "100M", "0.01", "0.1", "1"):
            self.assertIn(label, texts)

    def test_special_characters_round_trip(self):
        root = self.parse("layers.svg")
        tooltips = [title_of(e) for e in root.iter() if title_of(e) is not None]
        self.assertIn(SPECIAL_NAME, [tooltip_name(t) for t in tooltips])
        self.assertIn(INVALID_UTF8_NAME, [tooltip_name(t) for t in tooltips])
        title = next(root.iter(SVG + "text"))
        self.assertEqual("".join(title.itertext()), "MobileOne-S4 <sample> & per-layer latency")
        raw = open(self.path("layers.svg"), "rb").read()
        self.assertIn(b"a&lt;b&amp;c&gt;&quot;quoted&quot; &apos;single&apos;", raw)
        self.assertNotIn(b"a<b", raw)
        raw.decode("utf-8")

    def test_deterministic(self):
        with tempfile.TemporaryDirectory() as again:
            write_samples(again)
            for name in ("layers.svg", "empty.svg", "networks.svg"):
                with open(self.path(name), "rb") as first, open(os.path.join(again, name), "rb") as second:
                    self.assertEqual(first.read(), second.read(), name)

    def test_empty(self):
        root = self.parse("empty.svg")
        self.assertEqual(self.texts(root).count("no layers"), 2)
        self.assertEqual([r for r in root.iter(SVG + "rect") if r.get("class") == "bar"], [])
        self.assertEqual(list(root.iter(SVG + "circle")), [])

    def test_networks(self):
        root = self.parse("networks.svg")
        points = list(root.iter(SVG + "circle"))
        self.assertEqual([tooltip_name(title_of(p)) for p in points], ["s0", "s1", "s2", "s3", "s4"])
        xs = [float(p.get("cx")) for p in points]
        self.assertEqual(xs, sorted(xs))  # S0..S4 grow in MACs
        texts = self.texts(root)
        for name in ("s0", "s1", "s2", "s3", "s4", "1G", "latency (ms)", "MACs"):
            self.assertIn(name, texts)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
