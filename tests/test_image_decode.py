"""Image files decode to PIL's pixels: Image.open(f).convert('RGB'), byte for byte, for JPEG in every
layout an encoder writes (chroma subsampling, progressive, grey, CMYK, YCCK, odd sizes, corrupt entropy data
PIL accepts, EXIF orientation, which both ignore) and for the PNG/BMP/GIF/TGA/PPM modes; PIL's refusals
(truncated JPEG, 12-bit, invalid scans) are refusals here too; a 16-bit grey PNG is the one deliberate difference (scaled to 8 bits,
where PIL clips it to white).

Usage: test_image_decode.py DECODE_IMAGE_FILES_BINARY  (run by ctest; MOBILEONE_EMULATOR may prefix the
binary when cross-compiling). The images are generated here, with PIL (and the helper, for YCCK).
"""
import io
import os
import shlex
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

import numpy as np
from PIL import Image

HELPER = sys.argv[1]
EMULATOR = shlex.split(os.environ.get("MOBILEONE_EMULATOR", ""))


def picture(width, height, seed=0):
    """Smooth gradients, edges and noise: what exercises an IDCT and chroma upsampling."""
    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(seed)
    rgb = np.stack([x * 255 / max(width - 1, 1), y * 255 / max(height - 1, 1), ((x // 5 + y // 3) % 2) * 200.0], -1)
    return np.clip(rgb + rng.normal(0, 25, rgb.shape), 0, 255).astype(np.uint8)


def encoded(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def png(width, height, bit_depth, colour_type, rows):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def flip_entropy_bytes(jpeg):
    """Corrupts bytes in the middle of the entropy-coded data, never making a marker (no 0xFF)."""
    data = bytearray(jpeg)
    for i in range(len(data) // 2, len(data) // 2 + 40, 4):
        if data[i] != 0xFF and data[i - 1] != 0xFF and data[i] ^ 0x55 != 0xFF:
            data[i] ^= 0x55
    return bytes(data)


def invalid_second_scan(progressive):
    """A progressive JPEG whose second scan asks for coefficients 63..1 (libjpeg: an error, not a warning)."""
    data = bytearray(progressive)
    sos = data.find(b"\xff\xda", data.find(b"\xff\xda") + 2)
    spectral = sos + 5 + 2 * data[sos + 4]  # after the length, the component count and their table ids
    data[spectral:spectral + 2] = b"\x3f\x01"
    return bytes(data)


def twelve_bit(jpeg):
    data = bytearray(jpeg)
    data[data.find(b"\xff\xc0") + 4] = 12  # SOF0's sample precision
    return bytes(data)


def exif_rotated(image):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    return encoded(image, "JPEG", quality=85, exif=exif.tobytes())


class DecodeAsPil(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        rgb = Image.fromarray(picture(61, 37))
        big = Image.fromarray(picture(160, 120, seed=1))
        y, x = np.mgrid[0:64, 0:256]
        cmyk = Image.fromarray(np.stack([x, (x + y * 4) % 256, 255 - x, (y * 4 + x // 64) % 256], -1).astype(np.uint8), "CMYK")
        baseline = encoded(big, "JPEG", quality=90)
        progressive = encoded(big, "JPEG", quality=90, progressive=True)
        palette = rgb.convert("P", palette=Image.ADAPTIVE, colors=50)
        transparent_palette = palette.copy()
        transparent_palette.info["transparency"] = 3
        values16 = np.array([[0, 100, 255, 256, 1000, 32768, 65535, 40000]], dtype=">u2")
        cls.same = {  # file -> bytes, decoded to PIL's pixels
            "420.jpg": encoded(rgb, "JPEG", quality=90, subsampling=2),
            "422.jpg": encoded(rgb, "JPEG", quality=75, subsampling=1),
            "444.jpg": encoded(rgb, "JPEG", quality=100, subsampling=0),
            "baseline_optimized.jpg": encoded(big, "JPEG", quality=60, optimize=True),
            "progressive.jpg": progressive,
            "progressive_444.jpg": encoded(rgb, "JPEG", quality=95, progressive=True, subsampling=0),
            "gray.jpg": encoded(big.convert("L"), "JPEG", quality=90),
            "gray_progressive.jpg": encoded(rgb.convert("L"), "JPEG", quality=70, progressive=True),
            "cmyk.jpg": encoded(cmyk, "JPEG", quality=95),
            "exif_rotated.jpg": exif_rotated(rgb),
            "corrupt_entropy_data.jpg": flip_entropy_bytes(baseline),  # libjpeg warns, PIL ignores it
            "corrupt_entropy_data_progressive.jpg": flip_entropy_bytes(progressive),
            "one_pixel.jpg": encoded(Image.new("RGB", (1, 1), (200, 10, 90)), "JPEG"),
            "rgb.png": encoded(rgb, "PNG"),
            "gray.png": encoded(rgb.convert("L"), "PNG"),
            "gray_alpha.png": encoded(rgb.convert("LA"), "PNG"),
            "rgba.png": encoded(rgb.convert("RGBA"), "PNG"),
            "palette.png": encoded(palette, "PNG"),
            "palette_transparent.png": encoded(transparent_palette, "PNG"),
            "one_bit.png": encoded(rgb.convert("1"), "PNG"),
            "rgb16.png": png(8, 1, 16, 2, [np.repeat(values16, 3, axis=1)]),
            "rgba16.png": png(8, 1, 16, 6, [np.repeat(values16, 4, axis=1)]),
            "gray_alpha16.png": png(8, 1, 16, 4, [np.repeat(values16, 2, axis=1)]),
            "rgb.bmp": encoded(rgb, "BMP"),
            "palette.gif": encoded(palette, "GIF"),
            "rgb.tga": encoded(rgb, "TGA"),
            "rgb.ppm": encoded(rgb, "PPM"),
        }
        cls.gray16 = png(8, 1, 16, 0, [values16])
        cls.refused = {  # file -> bytes PIL refuses, and what our error says
            "truncated.jpg": (baseline[:len(baseline) // 2], "truncated JPEG"),
            "truncated_before_eoi.jpg": (baseline[:-2], "truncated JPEG"),
            "truncated_progressive.jpg": (progressive[:-10], "truncated JPEG"),
            "invalid_scan.jpg": (invalid_second_scan(progressive), "JPEG: Invalid progressive parameters"),
            "twelve_bit.jpg": (twelve_bit(baseline), "JPEG: Unsupported JPEG data precision 12"),
            "no_marker_after_soi.jpg": (b"\xff\xd8 not a jpeg", "not a JPEG file"),
        }
        files = {**cls.same, "gray16.png": cls.gray16, **{name: data for name, (data, _) in cls.refused.items()}}
        with open(os.path.join(cls.tmp.name, "ycck.cmyk"), "wb") as f:
            f.write(cmyk.tobytes())
        ycck = os.path.join(cls.tmp.name, "ycck.jpg")
        subprocess.run(EMULATOR + [HELPER, "--write-ycck", "256", "64", os.path.join(cls.tmp.name, "ycck.cmyk"), ycck],
                       check=True, timeout=600)
        with open(ycck, "rb") as f:
            cls.same["ycck.jpg"] = f.read()
        paths = [ycck]
        for name, data in files.items():
            paths.append(os.path.join(cls.tmp.name, name))
            with open(paths[-1], "wb") as f:
                f.write(data)
        cls.out = os.path.join(cls.tmp.name, "out")
        os.mkdir(cls.out)
        subprocess.run(EMULATOR + [HELPER, cls.out, *paths], check=True, timeout=600)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def ours(self, name):
        error = os.path.join(self.out, name + ".error")
        if os.path.exists(error):
            with open(error) as f:
                return f.read()
        with open(os.path.join(self.out, name + ".rgb"), "rb") as f:
            data = f.read()
        header, pixels = data.split(b"\n", 1)
        width, height = map(int, header.split())
        return np.frombuffer(pixels, np.uint8).reshape(height, width, 3)

    def test_pixels_equal_pil(self):
        for name, data in self.same.items():
            with self.subTest(name):
                expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
                ours = self.ours(name)
                self.assertIsInstance(ours, np.ndarray, ours)
                self.assertEqual(ours.shape, expected.shape)
                differ = np.count_nonzero(ours != expected)
                self.assertEqual(differ, 0, f"{differ} values differ, by up to "
                                            f"{np.abs(ours.astype(int) - expected).max()}")

    def test_the_ycck_file_is_ycck_and_cmyk_is_read_as_pil_reads_it(self):
        image = Image.open(io.BytesIO(self.same["ycck.jpg"]))
        self.assertEqual((image.mode, image.info.get("adobe_transform")), ("CMYK", 2))
        self.assertEqual(Image.open(io.BytesIO(self.same["cmyk.jpg"])).info.get("adobe_transform"), 0)

    def test_what_pil_refuses_is_refused(self):
        for name, (data, fragment) in self.refused.items():
            with self.subTest(name):
                with self.assertRaises(Exception):
                    Image.open(io.BytesIO(data)).convert("RGB")
                ours = self.ours(name)
                self.assertIsInstance(ours, str)
                self.assertIn("cannot decode image (" + fragment, ours)
                self.assertNotIn("\n", ours)

    def test_16_bit_gray_png_is_scaled_where_pil_clips_it(self):
        values = np.array([0, 100, 255, 256, 1000, 32768, 65535, 40000])
        pil = np.asarray(Image.open(io.BytesIO(self.gray16)).convert("RGB"))[0, :, 0]
        self.assertEqual(pil.tolist(), np.minimum(values, 255).tolist())
        self.assertEqual(self.ours("gray16.png")[0, :, 0].tolist(), (values >> 8).tolist())


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
