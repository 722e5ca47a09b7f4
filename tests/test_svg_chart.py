"""bench/svg_chart.hpp: the sample charts written by svg_chart_sample are well-formed SVG with one bar and one
point per drawable layer, tooltips naming them, the layers' names under the bars, the total latency in the
title, one mark shape and colour per layer kind with a legend, escaped text, and every coordinate finite and
inside the viewBox.

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
KINDS = ("conv3x3", "dw3x3", "pw1x1", "se", "avgpool", "linear")
AXIS_LABEL_LENGTH = 22  # svg_chart.hpp's kAxisLabelLength


def write_samples(directory):
    result = subprocess.run(EMULATOR + [SAMPLE, directory], capture_output=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"svg_chart_sample failed: {result.stderr.decode(errors='replace')}")


def read_layers(path):
    layers = []
    with open(path, "rb") as table:
        for line in table.read().splitlines():
            name, kind, milliseconds, macs, axis_label = line.split(b"\t")
            layers.append({"name": name, "kind": kind.decode(), "ms": float(milliseconds), "macs": float(macs),
                           "axis_label": axis_label.decode()})
    return layers


def kind_of(layer):
    return layer["kind"] if layer["kind"] in KINDS else "other"


def translation(element):
    """(x, y) of an element placed with transform="translate(x,y) ..."."""
    match = re.match(r"translate\(([^,]+),([^)]+)\)", element.get("transform", ""))
    return (float(match.group(1)), float(match.group(2))) if match else None


def points_of(root, *classes):
    return [g for g in root.iter(SVG + "g") if g.get("class") in classes]


def expected_axis_label(layer):
    label = layer["axis_label"] or expected_name(layer["name"])
    return label if len(label) <= AXIS_LABEL_LENGTH else label[:AXIS_LABEL_LENGTH - 1] + "\u2026"


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
        cls.s0_layers = read_layers(os.path.join(cls.directory.name, "s0.tsv"))
        cls.many_layers = read_layers(os.path.join(cls.directory.name, "many.tsv"))

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
        points = points_of(root, "point")
        zero = points_of(root, "point-zero-macs")
        drawable = [l for l in self.layers if math.isfinite(l["ms"]) and l["ms"] > 0 and math.isfinite(l["macs"])]
        with_macs = [l for l in drawable if l["macs"] > 0]
        without_macs = [l for l in drawable if l["macs"] == 0]
        self.assertEqual(len(points), len(with_macs))
        self.assertEqual(len(zero), len(without_macs))
        self.assertEqual(len(without_macs), 1)  # the global pool
        self.assertEqual([tooltip_name(title_of(p)) for p in points], [expected_name(l["name"]) for l in with_macs])
        # Log-log: cx affine in log(MACs) rising to the right, cy affine in log(latency) rising upwards (smaller y).
        for axis, key, direction in ((0, "macs", 1), (1, "ms", -1)):
            coordinates = [translation(p)[axis] for p in points]
            logs = [math.log10(l[key]) for l in with_macs]
            (low, high) = (logs.index(min(logs)), logs.index(max(logs)))
            slope = (coordinates[high] - coordinates[low]) / (logs[high] - logs[low])
            self.assertGreater(direction * slope, 0)
            for coordinate, log in zip(coordinates, logs):
                self.assertAlmostEqual(coordinate, coordinates[low] + slope * (log - logs[low]), delta=0.02)
        # The zero-MACs column is left of every other point.
        self.assertLess(translation(zero[0])[0], min(translation(p)[0] for p in points))
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
        self.assertTrue("".join(title.itertext()).startswith("MobileOne-S4 <sample> & per-layer latency: total "))
        raw = open(self.path("layers.svg"), "rb").read()
        self.assertIn(b"a&lt;b&amp;c&gt;&quot;quoted&quot; &apos;single&apos;", raw)
        self.assertNotIn(b"a<b", raw)
        raw.decode("utf-8")

    def test_deterministic(self):
        with tempfile.TemporaryDirectory() as again:
            write_samples(again)
            for name in ("layers.svg", "s0.svg", "many.svg", "empty.svg", "networks.svg"):
                with open(self.path(name), "rb") as first, open(os.path.join(again, name), "rb") as second:
                    self.assertEqual(first.read(), second.read(), name)

    def test_empty(self):
        root = self.parse("empty.svg")
        self.assertEqual(self.texts(root).count("no layers"), 2)
        self.assertEqual([r for r in root.iter(SVG + "rect") if r.get("class") == "bar"], [])
        self.assertEqual(points_of(root, "point", "point-zero-macs", "legend"), [])
        self.assertEqual([t for t in root.iter(SVG + "text") if t.get("class") == "layer-label"], [])
        self.assertEqual(self.texts(root)[0], "empty: total 0.000 ms (sum of layers)")

    def test_networks(self):
        root = self.parse("networks.svg")
        points = points_of(root, "point")
        self.assertEqual([tooltip_name(title_of(p)) for p in points], ["s0", "s1", "s2", "s3", "s4"])
        xs = [translation(p)[0] for p in points]
        self.assertEqual(xs, sorted(xs))  # S0..S4 grow in MACs
        texts = self.texts(root)
        for name in ("s0", "s1", "s2", "s3", "s4", "1G", "latency (ms)", "MACs"):
            self.assertIn(name, texts)

    # --- what a reader sees without hovering: names under the bars, the total, marks per kind ---

    def test_title_gives_the_total(self):
        timed = [l["ms"] for l in self.layers if math.isfinite(l["ms"]) and l["ms"] >= 0]
        texts = self.texts(self.parse("layers.svg"))
        self.assertEqual(texts[0], f"MobileOne-S4 <sample> & per-layer latency: total {sum(timed):.3f} ms (sum of layers)")
        self.assertEqual(texts[1], f"Latency per layer, in network order ({len(timed)} layers, {sum(timed):.3f} ms in all)")
        # A total given by the caller (mobileone-bench: the whole network's median) is the title's.
        texts = self.texts(self.parse("s0.svg"))
        self.assertEqual(texts[0], "MobileOne-S0 sample: total 4.500 ms")
        s0_sum = sum(l["ms"] for l in self.s0_layers)
        self.assertEqual(texts[1], f"Latency per layer, in network order (45 layers, {s0_sum:.3f} ms in all)")

    def assert_layer_labels(self, name, layers, every):
        root = self.parse(name)
        labels = [t for t in root.iter(SVG + "text") if t.get("class") == "layer-label"]
        labelled = layers[::every]
        self.assertEqual(["".join(t.itertext()) for t in labels], [expected_axis_label(l) for l in labelled])
        bars = {i: r for i, r in enumerate(r for r in root.iter(SVG + "rect") if r.get("class") == "bar")}
        bottom = max(float(r.get("y")) + float(r.get("height")) for r in bars.values())
        slot = (940 - 80) / len(layers)  # the plot's width over the layers
        axis_title = next(t for t in root.iter(SVG + "text") if "".join(t.itertext()) == "layer")
        xs = []
        for index, label in zip(range(0, len(layers), every), labels):
            self.assertEqual(label.get("text-anchor"), "end")  # reads upwards, ending just under the axis
            self.assertIn("rotate(-90)", label.get("transform"))
            self.assertGreaterEqual(float(label.get("font-size")), 8)
            x, y = translation(label)
            xs.append(x)
            # Under its layer's slot (the rotated glyphs stand left of the baseline x, so x is a little right of
            # the slot's centre), below the plot, and ending above the axis title even at 5.7 px per character
            # (DejaVu Sans's digits at 9 px).
            centre = 80 + (index + 0.5) * slot
            self.assertTrue(centre < x < centre + 5, (label.text, x, centre))
            self.assertGreater(y, bottom)
            self.assertLess(y + 5.7 * len("".join(label.itertext())), float(axis_title.get("y")) - 8, label.text)
        self.assertGreaterEqual(min(b - a for a, b in zip(xs, xs[1:])), 11)  # 9 px text: no overlap
        return labels

    def test_layer_names_under_the_bars(self):
        # S4 (57 layers) plus the extras: every name, the long one cut, the special ones escaped.
        labels = self.assert_layer_labels("layers.svg", self.layers, 1)
        names = ["".join(t.itertext()) for t in labels]
        self.assertEqual(names[:3], ["stage0", "stage1.0", "stage1.1"])
        self.assertIn("stage3.19.se", names)
        self.assertEqual(names[56:58], ["linear", SPECIAL_NAME[:21] + "\u2026"])  # 23 characters, escaped
        self.assertEqual(names[-1], "s4/a-name-far-too-lon\u2026")
        self.assertEqual(len(names[-1]), AXIS_LABEL_LENGTH)
        # S0's 45 layers: Apple's module names, as weights/convert.py --inspect prints them.
        labels = self.assert_layer_labels("s0.svg", self.s0_layers, 1)
        self.assertEqual(["".join(t.itertext()) for t in labels][-3:], ["stage4.1", "gap", "linear"])
        # 240 layers leave 3.6 px per bar: every 4th is named.
        self.assertEqual(len(self.assert_layer_labels("many.svg", self.many_layers, 4)), 60)

    def test_a_mark_and_a_colour_per_kind_with_a_legend(self):
        for name, layers in (("layers.svg", self.layers), ("s0.svg", self.s0_layers)):
            with self.subTest(chart=name):
                root = self.parse(name)
                points = points_of(root, "point", "point-zero-macs")
                drawn = [l for l in layers if math.isfinite(l["ms"]) and l["ms"] > 0 and math.isfinite(l["macs"])
                         and l["macs"] >= 0]
                self.assertEqual(len(points), len(drawn))
                style = {}
                for point, layer in zip(points, drawn):
                    path = point.find(SVG + "path")
                    self.assertEqual(translation(point) is not None, True)
                    found = (path.get("d"), path.get("fill"))
                    self.assertEqual(style.setdefault(kind_of(layer), found), found, kind_of(layer))
                shapes = [d for d, _ in style.values()]
                colours = [fill for _, fill in style.values()]
                self.assertEqual(len(set(shapes)), len(style))  # distinct shapes, not only colours
                self.assertEqual(len(set(colours)), len(style))
                legend = {}
                for entry in points_of(root, "legend"):
                    path = entry.find(SVG + "path")
                    legend["".join(entry.find(SVG + "text").itertext())] = (path.get("d"), path.get("fill"))
                self.assertEqual(legend, style)  # one entry per kind drawn, with its mark
        kinds = {kind_of(l) for l in self.layers}
        self.assertEqual(kinds, set(KINDS) | {"other"})  # layers.svg shows all seven


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
