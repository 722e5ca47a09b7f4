"""Edits of `.mone` blobs for the tools' end-to-end tests, written from weights/FORMAT.md alone."""
import struct
import zlib


def with_altered_weight(path: str, out: str, stage: int) -> None:
    """Writes `path` to `out` with the largest-magnitude weight of its first layer in `stage` negated and the
    checksum recomputed: a corrupted model that still loads."""
    data = bytearray(open(path, "rb").read())
    layer_count, = struct.unpack_from("<I", data, 32)
    layer_table, tensor_table = struct.unpack_from("<2Q", data, 48)
    for i in range(layer_count):
        words = struct.unpack_from("<16I", data, layer_table + 64 * i)
        if words[5] == stage:
            offset, size = struct.unpack_from("<2Q", data, tensor_table + 48 * words[8] + 32)
            weights = struct.unpack_from(f"<{size // 4}f", data, offset)
            largest = max(range(len(weights)), key=lambda k: abs(weights[k]))
            struct.pack_into("<f", data, offset + 4 * largest, -weights[largest])
            struct.pack_into("<I", data, 24, zlib.crc32(bytes(data[32:])))
            open(out, "wb").write(data)
            return
    raise ValueError(f"{path}: no layer in stage {stage}")
