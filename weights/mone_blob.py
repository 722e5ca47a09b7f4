"""The `.mone` weight blob of weights/FORMAT.md (versions 1 and 3; float32 only): an in-memory model, its
encoder, and a decoder that performs every check FORMAT.md lists before it returns anything."""

from __future__ import annotations

import enum
import math
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

MAGIC = b"\x89MONE\r\n\x1a"
FORMAT_VERSION = 1  # float32 layers
GOLDEN_FORMAT_VERSION = 3  # float32 layers and golden self-check tensors
HEADER_SIZE = 160
INPUT_CHANNELS = 3
COLOR_ORDER_RGB = 0
INTERPOLATION_BILINEAR_ANTIALIASED = 1
DTYPE_FLOAT32 = 1
NO_TENSOR = 0xFFFFFFFF
TENSOR_ALIGNMENT = 64
SECTION_ALIGNMENT = 8
MAX_LAYERS, MAX_TENSORS, MAX_STRINGS = 4096, 16384, 1_000_000
MAX_INPUT_SIDE = 1 << 14  # the engine's limit on image sides, resize_shorter and the golden input

LAYER_RECORD = struct.Struct("<16I")
TENSOR_RECORD = struct.Struct("<4I4IQQ")  # name, dtype, rank, reserved, dims[4], offset, byte_size
STRING_ENTRY = struct.Struct("<2I")  # offset (relative to the string table), length

# (field, offset, struct format): FORMAT.md's header table.
HEADER_FIELDS = (
    ("magic", 0, "8s"), ("format_version", 8, "I"), ("header_size", 12, "I"), ("file_size", 16, "Q"),
    ("checksum", 24, "I"), ("flags", 28, "I"), ("layer_count", 32, "I"), ("tensor_count", 36, "I"),
    ("class_count", 40, "I"), ("string_count", 44, "I"), ("layer_table_offset", 48, "Q"),
    ("tensor_table_offset", 56, "Q"), ("string_table_offset", 64, "Q"), ("string_table_size", 72, "Q"),
    ("data_offset", 80, "Q"), ("data_size", 88, "Q"), ("input_channels", 96, "I"),
    ("input_height", 100, "I"), ("input_width", 104, "I"), ("resize_shorter", 108, "I"),
    ("crop_fraction", 112, "f"), ("color_order", 116, "I"), ("interpolation", 120, "I"),
    ("mean", 124, "3f"), ("std", 136, "3f"), ("name_string", 148, "I"), ("labels_first_string", 152, "I"),
    ("golden_first_tensor", 156, "I"),  # version 3; reserved (0) in version 1
)
CHECKSUM_START = 32


class LayerKind(enum.IntEnum):
    STEM = 1  # dense 3x3 convolution, padding 1
    DEPTHWISE = 2  # depthwise 3x3, padding 1
    POINTWISE = 3  # 1x1, stride 1
    SQUEEZE_EXCITE = 4
    AVGPOOL = 5  # global average pool
    LINEAR = 6


CONVOLUTIONS = (LayerKind.STEM, LayerKind.DEPTHWISE, LayerKind.POINTWISE)
BACKBONE_KINDS = (LayerKind.DEPTHWISE, LayerKind.POINTWISE, LayerKind.SQUEEZE_EXCITE)


@dataclass
class Layer:
    kind: LayerKind
    name: str
    in_channels: int
    out_channels: int
    stride: int = 1
    relu: bool = False
    stage: int = 0
    block: int = 0
    hidden: int = 0  # squeeze-excite reduced width
    tensors: list = field(default_factory=list)  # (name, array) in the kind's tensor-slot order


@dataclass
class Preprocessing:
    input_height: int = 224
    input_width: int = 224
    resize_shorter: int = 256
    crop_fraction: float = 0.875
    mean: tuple = (0.485, 0.456, 0.406)
    std: tuple = (0.229, 0.224, 0.225)


@dataclass
class Golden:
    """The golden self-check (FORMAT.md "Version 3"): an input and the float64 forward's outputs on it,
    stored as float32 in PyTorch's layouts."""
    input: np.ndarray  # [1, 3, H, W]
    stages: list  # per stage 0..S: [1, C, h, w]
    logits: np.ndarray  # [1, classes]

    def tensors(self) -> list:
        """(name, array) in the order the blob stores them."""
        return ([("golden.input", self.input)] + [(f"golden.stage{s}", a) for s, a in enumerate(self.stages)]
                + [("golden.logits", self.logits)])


@dataclass
class Model:
    name: str
    preprocessing: Preprocessing
    layers: list
    labels: list
    golden: Golden = None  # None: a version-1 blob


class BlobError(Exception):
    """The bytes are not a valid blob; the message names the failed check and where."""


def expected_tensor_shapes(layer: Layer) -> list:
    """The shapes of the tensors a layer of this kind must have, slot by slot."""
    n_in, n_out, hidden = layer.in_channels, layer.out_channels, layer.hidden
    return {
        LayerKind.STEM: [(n_out, n_in, 3, 3), (n_out,)],
        LayerKind.DEPTHWISE: [(n_out, 1, 3, 3), (n_out,)],
        LayerKind.POINTWISE: [(n_out, n_in, 1, 1), (n_out,)],
        LayerKind.SQUEEZE_EXCITE: [(hidden, n_in, 1, 1), (hidden,), (n_in, hidden, 1, 1), (n_in,)],
        LayerKind.AVGPOOL: [],
        LayerKind.LINEAR: [(n_out, n_in), (n_out,)],
    }[layer.kind]


# --- encoding -------------------------------------------------------------------------------------------

def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


class _StringTable:
    def __init__(self):
        self.strings = []

    def add(self, text: str) -> int:
        self.strings.append(text.encode("utf-8"))
        return len(self.strings) - 1

    def encode(self) -> bytes:
        entries, offset = [], STRING_ENTRY.size * len(self.strings)
        for s in self.strings:
            entries.append(STRING_ENTRY.pack(offset, len(s)))
            offset += len(s)
        return b"".join(entries) + b"".join(self.strings)


def encode(model: Model) -> bytes:
    """The blob's bytes: version 3 with golden data, else version 1. Tensors are little-endian float32."""
    strings = _StringTable()
    name_string = strings.add(model.name)
    labels_first = len(strings.strings)
    for label in model.labels:
        strings.add(label)
    layer_records, tensors = [], []
    for layer in model.layers:
        slots = [NO_TENSOR] * 4
        name = strings.add(layer.name)
        for slot, (tensor_name, array) in enumerate(layer.tensors):
            slots[slot] = len(tensors)
            tensors.append((strings.add(tensor_name), np.ascontiguousarray(array, dtype="<f4")))
        layer_records.append(LAYER_RECORD.pack(
            layer.kind, layer.in_channels, layer.out_channels, layer.stride, int(layer.relu), layer.stage,
            layer.block, name, *slots, layer.hidden, 0, 0, 0))
    golden_first = len(tensors) if model.golden else 0
    for tensor_name, array in model.golden.tensors() if model.golden else []:
        tensors.append((strings.add(tensor_name), np.ascontiguousarray(array, dtype="<f4")))
    string_bytes = strings.encode()

    layer_table = HEADER_SIZE
    tensor_table = layer_table + LAYER_RECORD.size * len(layer_records)
    string_table = tensor_table + TENSOR_RECORD.size * len(tensors)
    data_offset = _align(string_table + len(string_bytes), TENSOR_ALIGNMENT)
    tensor_offsets, end = [], data_offset
    for _, array in tensors:
        tensor_offsets.append(_align(end, TENSOR_ALIGNMENT))
        end = tensor_offsets[-1] + array.nbytes

    blob = bytearray(end)
    blob[layer_table:tensor_table] = b"".join(layer_records)
    for i, ((name, array), offset) in enumerate(zip(tensors, tensor_offsets)):
        dims = list(array.shape) + [0] * (4 - array.ndim)
        TENSOR_RECORD.pack_into(blob, tensor_table + i * TENSOR_RECORD.size,
                                name, DTYPE_FLOAT32, array.ndim, 0, *dims, offset, array.nbytes)
        blob[offset:offset + array.nbytes] = array.tobytes()
    blob[string_table:string_table + len(string_bytes)] = string_bytes

    p = model.preprocessing
    header = dict(
        magic=MAGIC, format_version=GOLDEN_FORMAT_VERSION if model.golden else FORMAT_VERSION, header_size=HEADER_SIZE, file_size=end, checksum=0,
        flags=0, layer_count=len(layer_records), tensor_count=len(tensors), class_count=len(model.labels),
        string_count=len(strings.strings), layer_table_offset=layer_table, tensor_table_offset=tensor_table,
        string_table_offset=string_table, string_table_size=len(string_bytes), data_offset=data_offset,
        data_size=end - data_offset, input_channels=INPUT_CHANNELS, input_height=p.input_height,
        input_width=p.input_width, resize_shorter=p.resize_shorter, crop_fraction=p.crop_fraction,
        color_order=COLOR_ORDER_RGB, interpolation=INTERPOLATION_BILINEAR_ANTIALIASED, mean=p.mean, std=p.std,
        name_string=name_string, labels_first_string=labels_first, golden_first_tensor=golden_first)
    for name, offset, fmt in HEADER_FIELDS:
        value = header[name]
        struct.pack_into("<" + fmt, blob, offset, *(value if fmt == "3f" else (value,)))
    struct.pack_into("<I", blob, 24, zlib.crc32(memoryview(blob)[CHECKSUM_START:]))
    return bytes(blob)


# --- decoding and validation ----------------------------------------------------------------------------

def read_header(data: bytes) -> dict:
    """The header fields by name (check 1 of FORMAT.md: size, magic, version, header size, flags)."""
    if len(data) < HEADER_SIZE:
        raise BlobError(f"file is {len(data)} bytes, smaller than the {HEADER_SIZE}-byte header (truncated?)")
    header = {}
    for name, offset, fmt in HEADER_FIELDS:
        values = struct.unpack_from("<" + fmt, data, offset)
        header[name] = values if fmt == "3f" else values[0]
    if header["magic"] != MAGIC:
        raise BlobError("bad magic at offset 0: not a .mone file")
    if header["format_version"] not in (FORMAT_VERSION, GOLDEN_FORMAT_VERSION):
        raise BlobError(f"format version {header['format_version']} is not supported (this reader knows 1 and 3: "
                        "float32 models; int8 ones are read by the engine)")
    if header["header_size"] != HEADER_SIZE:
        raise BlobError(f"header_size is {header['header_size']}, expected {HEADER_SIZE}")
    if header["file_size"] != len(data):
        raise BlobError(f"header says the file is {header['file_size']} bytes but it is {len(data)} "
                        "(truncated or padded)")
    if header["flags"] != 0:
        raise BlobError(f"unknown flags {header['flags']:#x}")
    return header


def decode(data: bytes) -> Model:
    """Parses and validates a blob; raises BlobError naming the first check that fails."""
    header = read_header(data)
    _check_checksum(data, header)
    _check_sections(data, header)
    strings = _read_strings(data, header)
    tensors = _read_tensors(data, header, strings)
    layers = [_read_layer(data, header, i, strings, tensors) for i in range(header["layer_count"])]
    _check_graph(layers, header["class_count"])
    preprocessing = _read_preprocessing(header)
    first = header["labels_first_string"]
    if first + header["class_count"] > len(strings):
        raise BlobError(f"labels {first}..{first + header['class_count'] - 1} lie outside the string table "
                        f"({len(strings)} strings)")
    golden = _read_golden(data, header, tensors, layers) if header["format_version"] == GOLDEN_FORMAT_VERSION else None
    return Model(name=_string(strings, header["name_string"], "model name"), preprocessing=preprocessing,
                 layers=layers, labels=strings[first:first + header["class_count"]], golden=golden)


def _check_checksum(data: bytes, header: dict) -> None:
    actual = zlib.crc32(memoryview(data)[CHECKSUM_START:])
    if actual != header["checksum"]:
        raise BlobError(f"checksum mismatch (stored {header['checksum']:#010x}, computed {actual:#010x}): "
                        "the file is corrupted")


def _check_sections(data: bytes, header: dict) -> None:
    """Check 3: counts are sane and the tables lie inside the file, in order, aligned, not overlapping."""
    for count, limit in (("layer_count", MAX_LAYERS), ("tensor_count", MAX_TENSORS), ("string_count", MAX_STRINGS)):
        if header[count] > limit:
            raise BlobError(f"{count} {header[count]} exceeds the limit {limit}")
    sections = (
        ("layer table", header["layer_table_offset"], header["layer_count"] * LAYER_RECORD.size),
        ("tensor table", header["tensor_table_offset"], header["tensor_count"] * TENSOR_RECORD.size),
        ("string table", header["string_table_offset"], header["string_table_size"]),
        ("data section", header["data_offset"], header["data_size"]),
    )
    previous_end = HEADER_SIZE
    for name, offset, size in sections:
        alignment = TENSOR_ALIGNMENT if name == "data section" else SECTION_ALIGNMENT
        if offset % alignment:
            raise BlobError(f"{name} offset {offset} is not a multiple of {alignment}")
        if offset < previous_end:
            raise BlobError(f"{name} at offset {offset} overlaps the previous section (which ends at {previous_end})")
        if offset + size > len(data):
            raise BlobError(f"{name} at offset {offset} with {size} bytes runs past the end of the file "
                            f"({len(data)} bytes)")
        previous_end = offset + size


def _read_strings(data: bytes, header: dict) -> list:
    table, size, count = header["string_table_offset"], header["string_table_size"], header["string_count"]
    if count * STRING_ENTRY.size > size:
        raise BlobError(f"string table of {size} bytes is too small for its {count} entries")
    strings = []
    for i in range(count):
        offset, length = STRING_ENTRY.unpack_from(data, table + i * STRING_ENTRY.size)
        if offset < count * STRING_ENTRY.size or offset + length > size:
            raise BlobError(f"string {i} lies outside the string table")
        try:
            strings.append(data[table + offset:table + offset + length].decode("utf-8"))
        except UnicodeDecodeError:
            raise BlobError(f"string {i} is not valid UTF-8") from None
    return strings


def _string(strings: list, index: int, where: str) -> str:
    if index >= len(strings):
        raise BlobError(f"{where} refers to string {index} of {len(strings)}")
    return strings[index]


def _read_tensors(data: bytes, header: dict, strings: list) -> list:
    """Check 4 for every tensor record; returns (name, float32 array view) pairs."""
    tensors = []
    data_begin, data_end = header["data_offset"], header["data_offset"] + header["data_size"]
    for i in range(header["tensor_count"]):
        name_string, dtype, rank, reserved, *dims, offset, byte_size = TENSOR_RECORD.unpack_from(
            data, header["tensor_table_offset"] + i * TENSOR_RECORD.size)
        where = f"tensor {i} '{_string(strings, name_string, f'tensor {i}')}'"
        if dtype != DTYPE_FLOAT32:
            raise BlobError(f"{where}: dtype {dtype} is not float32 ({DTYPE_FLOAT32})")
        if not 1 <= rank <= 4 or reserved != 0 or any(dims[rank:]) or not all(dims[:rank]):
            raise BlobError(f"{where}: rank {rank} with dims {dims} is malformed")
        shape = tuple(dims[:rank])
        if byte_size != 4 * math.prod(shape):
            raise BlobError(f"{where}: byte_size {byte_size} does not match its shape {list(shape)}")
        if offset % TENSOR_ALIGNMENT:
            raise BlobError(f"{where}: offset {offset} is not {TENSOR_ALIGNMENT}-byte aligned")
        if offset < data_begin or offset + byte_size > data_end:
            raise BlobError(f"{where}: data at offset {offset} (+{byte_size} bytes) lies outside the data section")
        array = np.frombuffer(data, dtype="<f4", count=byte_size // 4, offset=offset).reshape(shape)
        tensors.append((strings[name_string], array))
    return tensors


def golden_shapes(layers: list, height: int, width: int) -> list:
    """The shapes of the golden tensors for an input of height x width: input, stages 0..S, logits.
    Raises BlobError for a backbone stage without layers (it has no output to check)."""
    shapes, stage_shapes = [(1, INPUT_CHANNELS, height, width)], {}
    for layer in layers[:-2]:
        if layer.kind in (LayerKind.STEM, LayerKind.DEPTHWISE):
            height, width = (height - 1) // layer.stride + 1, (width - 1) // layer.stride + 1
        stage_shapes[layer.stage] = (1, layer.out_channels, height, width)
    for stage in range(layers[-3].stage + 1):
        if stage not in stage_shapes:
            raise BlobError(f"golden data: stage {stage} has no layers, so no output to check")
        shapes.append(stage_shapes[stage])
    return shapes + [(1, layers[-1].out_channels)]


def _read_golden(data: bytes, header: dict, tensors: list, layers: list) -> Golden:
    """Check 8 (version 3): the golden tensors exist, belong to no layer, have the shapes the graph gives
    at the golden input's size, and are finite."""
    first, count = header["golden_first_tensor"], layers[-3].stage + 3
    if first + count > len(tensors):
        raise BlobError(f"golden data: tensors {first}..{first + count - 1} lie outside the tensor table "
                        f"({len(tensors)} tensors)")
    golden = tensors[first:first + count]
    owned = {id(array) for layer in layers for _, array in layer.tensors}
    input_shape = golden[0][1].shape
    if len(input_shape) != 4 or input_shape[:2] != (1, INPUT_CHANNELS) or max(input_shape[2:]) > MAX_INPUT_SIDE:
        raise BlobError(f"golden data: input tensor '{golden[0][0]}' has shape {list(input_shape)}, expected "
                        f"[1, {INPUT_CHANNELS}, H, W] with sides up to {MAX_INPUT_SIDE}")
    for (name, array), shape in zip(golden, golden_shapes(layers, *input_shape[2:])):
        if id(array) in owned:
            raise BlobError(f"golden data: tensor '{name}' is also a layer's")
        if array.shape != shape:
            raise BlobError(f"golden data: tensor '{name}' has shape {list(array.shape)}, expected {list(shape)}")
        if not np.isfinite(array).all():
            raise BlobError(f"golden data: tensor '{name}' holds NaN or infinite values")
    return Golden(golden[0][1], [array for _, array in golden[1:-1]], golden[-1][1])


def _read_layer(data: bytes, header: dict, index: int, strings: list, tensors: list) -> Layer:
    words = LAYER_RECORD.unpack_from(data, header["layer_table_offset"] + index * LAYER_RECORD.size)
    kind, n_in, n_out, stride, activation, stage, block, name_string = words[:8]
    slots, hidden, reserved = words[8:12], words[12], words[13:]
    name = _string(strings, name_string, f"layer {index}")
    where = f"layer {index} '{name}'"
    try:
        layer = Layer(LayerKind(kind), name, n_in, n_out, stride, activation == 1, stage, block, hidden)
    except ValueError:
        raise BlobError(f"{where}: unknown kind {kind}") from None
    if n_in == 0 or n_out == 0:
        raise BlobError(f"{where}: zero channels")
    if stride not in (1, 2) or (stride == 2 and layer.kind not in (LayerKind.STEM, LayerKind.DEPTHWISE)):
        raise BlobError(f"{where}: stride {stride} is not allowed for a {layer.kind.name.lower()} layer")
    if activation not in (0, 1):
        raise BlobError(f"{where}: unknown activation {activation}")
    if any(reserved) or (hidden and layer.kind != LayerKind.SQUEEZE_EXCITE):
        raise BlobError(f"{where}: reserved or unused fields are not zero")
    if layer.kind in (LayerKind.DEPTHWISE, LayerKind.SQUEEZE_EXCITE, LayerKind.AVGPOOL) and n_in != n_out:
        raise BlobError(f"{where}: a {layer.kind.name.lower()} layer must keep the channel count "
                        f"({n_in} in, {n_out} out)")
    if layer.kind == LayerKind.SQUEEZE_EXCITE and hidden == 0:
        raise BlobError(f"{where}: squeeze-excite with reduced width 0")
    expected = expected_tensor_shapes(layer)
    for slot, tensor_index in enumerate(slots):
        if slot >= len(expected):
            if tensor_index != NO_TENSOR:
                raise BlobError(f"{where}: unexpected tensor in slot {slot}")
            continue
        if tensor_index >= len(tensors):
            raise BlobError(f"{where}: tensor slot {slot} refers to tensor {tensor_index} of {len(tensors)}")
        tensor_name, array = tensors[tensor_index]
        if array.shape != expected[slot]:
            raise BlobError(f"{where}: tensor {slot} '{tensor_name}' has shape {list(array.shape)}, "
                            f"expected {list(expected[slot])}")
        layer.tensors.append((tensor_name, array))
    return layer


def _check_graph(layers: list, class_count: int) -> None:
    """Check 5: stem, backbone layers, average pool, linear; channels chain; stages are ordered."""
    kinds = [layer.kind for layer in layers]
    if (len(layers) < 3 or kinds[0] != LayerKind.STEM or kinds[-2:] != [LayerKind.AVGPOOL, LayerKind.LINEAR]
            or any(kind not in BACKBONE_KINDS for kind in kinds[1:-2])):
        raise BlobError("the graph must be a stem conv, then depthwise, pointwise and squeeze-excite layers, "
                        "then avgpool and linear")
    if layers[0].in_channels != INPUT_CHANNELS:
        raise BlobError(f"layer 0 '{layers[0].name}': the stem takes {layers[0].in_channels} channels, "
                        f"the input has {INPUT_CHANNELS}")
    if layers[0].stage != 0:
        raise BlobError(f"layer 0 '{layers[0].name}': the stem must be stage 0")
    for i in range(1, len(layers)):
        layer, previous = layers[i], layers[i - 1]
        where = f"layer {i} '{layer.name}'"
        if layer.in_channels != previous.out_channels:
            raise BlobError(f"{where}: takes {layer.in_channels} channels but the previous layer gives "
                            f"{previous.out_channels}")
        if layer.stage < previous.stage:
            raise BlobError(f"{where}: stage {layer.stage} comes after stage {previous.stage}")
        if layer.kind == LayerKind.SQUEEZE_EXCITE and (previous.kind not in CONVOLUTIONS or previous.relu):
            raise BlobError(f"{where}: squeeze-excite must follow a convolution stored without its ReLU")
    head_stage = layers[-3].stage + 1
    if layers[-2].stage != head_stage or layers[-1].stage != head_stage:
        raise BlobError(f"the head (avgpool, linear) must be stage {head_stage}, one after the last backbone stage")
    if layers[-1].out_channels != class_count:
        raise BlobError(f"layer {len(layers) - 1} '{layers[-1].name}': {layers[-1].out_channels} outputs but "
                        f"class_count is {class_count}")


def _read_preprocessing(header: dict) -> Preprocessing:
    """Check 6 (the preprocessing part): known enums, non-zero sizes, finite values, std > 0."""
    if header["input_channels"] != INPUT_CHANNELS:
        raise BlobError(f"input_channels is {header['input_channels']}, expected {INPUT_CHANNELS}")
    if not (header["input_height"] and header["input_width"] and header["resize_shorter"]):
        raise BlobError("input size or resize_shorter is zero")
    if not 0 < header["crop_fraction"] <= 1:
        raise BlobError(f"crop_fraction {header['crop_fraction']} is not in (0, 1]")
    if header["color_order"] != COLOR_ORDER_RGB:
        raise BlobError(f"color_order {header['color_order']} is unknown (only 0 = RGB)")
    if header["interpolation"] != INTERPOLATION_BILINEAR_ANTIALIASED:
        raise BlobError(f"interpolation {header['interpolation']} is unknown (only 1 = antialiased bilinear)")
    if not all(map(math.isfinite, header["mean"] + header["std"])) or min(header["std"]) <= 0:
        raise BlobError("preprocessing mean/std are not finite or std <= 0")
    if header["format_version"] == FORMAT_VERSION and header["golden_first_tensor"] != 0:
        raise BlobError("reserved header field (offset 156) is not zero")
    return Preprocessing(header["input_height"], header["input_width"], header["resize_shorter"],
                         header["crop_fraction"], header["mean"], header["std"])
