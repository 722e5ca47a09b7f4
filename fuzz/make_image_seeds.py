#!/usr/bin/env python3
"""Writes the seed images of fuzz_image: one tiny file per format and encoder path stb_image decodes.

    python3 fuzz/make_image_seeds.py fuzz/corpus/fuzz_image

Pillow writes the common formats (PNG in every colour type, baseline/progressive/grey/CMYK
JPEG, BMP, TGA, GIF, PGM/PPM); an interlaced PNG is assembled byte by byte. (PSD, Radiance HDR and
Softimage PIC are not decoded: examples/stb_image_impl.cpp builds stb_image without them.) Every image is
generated here: no file is copied from elsewhere.
"""
import io
import struct
import sys
import zlib
from pathlib import Path

from PIL import Image


def gradient(width, height, mode="RGB"):
    image = Image.new("RGB", (width, height))
    image.putdata([((x * 255) // max(width - 1, 1), (y * 255) // max(height - 1, 1), (x * y * 40) % 256)
                   for y in range(height) for x in range(width)])
    return image.convert(mode) if mode != "RGB" else image


def pillow(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def adam7_png(image):
    # Pillow does not write interlaced PNGs: RGB8, Adam7, filter type 1 (Sub) on every scanline.
    width, height = image.size
    pixels = image.load()
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = bytearray()
    for x0, y0, dx, dy in passes:
        for y in range(y0, height, dy):
            row = [c for x in range(x0, width, dx) for c in pixels[x, y]]
            if row:
                raw.append(1)
                raw += bytes((v - (row[i - 3] if i >= 3 else 0)) % 256 for i, v in enumerate(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rgb = gradient(7, 5)
    seeds = {
        "rgb.png": pillow(rgb, "PNG"),
        "gray.png": pillow(gradient(6, 6, "L"), "PNG"),
        "gray_alpha.png": pillow(gradient(4, 3, "LA"), "PNG"),
        "rgba.png": pillow(gradient(3, 4, "RGBA"), "PNG"),
        "palette.png": pillow(gradient(5, 5, "P"), "PNG"),
        "one_bit.png": pillow(gradient(9, 2, "1"), "PNG"),
        "sixteen_bit.png": pillow(gradient(3, 3, "L").convert("I;16"), "PNG"),
        "interlaced.png": adam7_png(gradient(9, 9)),
        "baseline.jpg": pillow(rgb, "JPEG", quality=50),
        "progressive.jpg": pillow(gradient(9, 7), "JPEG", quality=60, progressive=True),
        "gray.jpg": pillow(gradient(8, 8, "L"), "JPEG", quality=50),
        "subsampled_422.jpg": pillow(gradient(11, 3), "JPEG", quality=40, subsampling=1),
        "cmyk.jpg": pillow(gradient(4, 4, "CMYK"), "JPEG", quality=50),
        "rgb24.bmp": pillow(gradient(5, 3), "BMP"),
        "palette8.bmp": pillow(gradient(4, 4, "P"), "BMP"),
        "rgba32.bmp": pillow(gradient(3, 2, "RGBA"), "BMP"),
        "one_bit.bmp": pillow(gradient(10, 2, "1"), "BMP"),
        "rgb.tga": pillow(rgb, "TGA"),
        "rle.tga": pillow(gradient(6, 2), "TGA", compression="tga_rle"),
        "gray.tga": pillow(gradient(3, 3, "L"), "TGA"),
        "anim.gif": pillow(gradient(4, 4, "P"), "GIF", save_all=True, append_images=[gradient(4, 4, "P").rotate(90)]),
        "still.gif": pillow(gradient(6, 3, "P"), "GIF"),
        "gray.pgm": pillow(gradient(5, 4, "L"), "PPM"),
        "rgb.ppm": pillow(gradient(3, 5), "PPM"),
    }
    total = 0
    for name, data in sorted(seeds.items()):
        (out / name).write_bytes(data)
        total += len(data)
    print(f"{len(seeds)} seeds, {total} bytes in {out}")


if __name__ == "__main__":
    main()
