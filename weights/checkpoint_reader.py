"""Reads the tensors of a PyTorch checkpoint or a safetensors file with numpy alone.

Nothing in the file is executed. A PyTorch checkpoint is a zip archive whose `data.pkl` is a pickle; a
pickle can name any Python callable, so it is read by an unpickler that resolves only the few names a
state_dict needs (an ordered dict, the tensor and parameter rebuild functions, storage types and dtype
names), each to an inert stand-in defined here, and refuses every other name before anything is called.
"""

from __future__ import annotations

import collections
import io
import json
import math
import pickle
import struct
import zipfile
import zlib

import numpy as np


class CheckpointError(Exception):
    """The file cannot be read as a checkpoint; the message says what and where."""


def read_checkpoint(path: str):
    """Returns the checkpoint's top-level object: dicts and lists with numpy arrays as tensors."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(b"PK\x03\x04"):
        return read_torch_zip(path)
    if path.endswith(".safetensors") or _looks_like_safetensors(head):
        return read_safetensors(path)
    if not head:
        raise CheckpointError("the file is empty")
    if head.startswith(b"\x80"):
        raise CheckpointError(
            "legacy (pre-1.6, non-zip) PyTorch serialization is not supported: re-save it with "
            "torch.save(torch.load(path), path) under torch >= 1.6")
    raise CheckpointError("not a PyTorch zip checkpoint or a safetensors file")


# --- PyTorch zip archives --------------------------------------------------------------------------

# Element type of each storage class torch.save names, and of each dtype name _rebuild_tensor_v3 passes.
# bfloat16 has no numpy type: it is read as uint16 and widened to float32 (see _bfloat16_to_float32).
_STORAGE_DTYPES = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "BFloat16Storage": "bfloat16",
    "LongStorage": "<i8", "IntStorage": "<i4", "ByteStorage": "u1", "BoolStorage": "?",
    "UntypedStorage": "u1",
}
_TORCH_DTYPES = {
    "float32": "<f4", "float": "<f4", "float64": "<f8", "double": "<f8", "float16": "<f2", "half": "<f2",
    "bfloat16": "bfloat16", "int64": "<i8", "long": "<i8", "int32": "<i4", "int": "<i4", "uint8": "u1",
    "bool": "?",
}
# Names torch writes for types this reader refuses with a precise message instead of "forbidden global".
_UNSUPPORTED_TORCH_DTYPES = (
    "int8", "int16", "short", "uint16", "uint32", "uint64", "complex32", "complex64", "complex128",
    "cfloat", "cdouble", "chalf", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
    "float8_e8m0fnu", "float4_e2m1fn_x2", "qint8", "quint8", "qint32", "quint4x2", "quint2x4",
)


class _StorageType:
    """Stand-in for `torch.FloatStorage` and friends: only its element type matters."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES.get(name.lstrip("_"))


class _TorchDtype:
    """Stand-in for a `torch.<dtype>` object (an argument of _rebuild_tensor_v3)."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = _TORCH_DTYPES.get(name)


class _Storage:
    """A storage's elements, read from its `data/<key>` zip entry."""

    def __init__(self, key: str, elements: np.ndarray):
        self.key = key
        self.elements = elements


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return _view_storage(storage, storage_offset, size, stride)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                       metadata=None):
    # torch 2.x writes v3 (a byte storage plus an explicit dtype) for dtypes that have no storage class
    # (float8, uint16, ...) and may move more dtypes to it as typed storages are retired.
    if not isinstance(dtype, _TorchDtype) or not isinstance(storage, _Storage):
        raise CheckpointError("malformed _rebuild_tensor_v3 call in data.pkl")
    if dtype.dtype is None:
        raise CheckpointError(f"storage '{storage.key}' holds torch.{dtype.name} tensors, which are not supported")
    return _view_storage(_Storage(storage.key, _elements_from_bytes(storage.elements.tobytes(), dtype.dtype)),
                         storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    return data


def _view_storage(storage, offset, size, stride) -> np.ndarray:
    """Copies the tensor `size` with element `stride` out of `storage`, after checking it lies inside."""
    if not isinstance(storage, _Storage) or not _is_index(offset) or not _is_index_tuple(size) \
            or not _is_index_tuple(stride) or len(size) != len(stride):
        raise CheckpointError("malformed tensor record in data.pkl")
    elements = storage.elements
    if 0 in size:
        return np.zeros(size, elements.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= elements.size:
        raise CheckpointError(
            f"a tensor of shape {list(size)} at offset {offset} reaches element {last} of storage "
            f"'{storage.key}', which holds only {elements.size}")
    if math.prod(size) > elements.size:  # only broadcast (stride 0) views are larger: a memory bomb here
        raise CheckpointError(f"a tensor of shape {list(size)} has more elements than its storage '{storage.key}'")
    itemsize = elements.itemsize
    view = np.lib.stride_tricks.as_strided(elements[offset:], shape=tuple(size),
                                           strides=tuple(s * itemsize for s in stride), writeable=False)
    return np.array(view)


def _is_index(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_index_tuple(values) -> bool:
    return isinstance(values, (tuple, list)) and all(_is_index(v) for v in values)


def _elements_from_bytes(raw: bytes, dtype: str) -> np.ndarray:
    if dtype == "bfloat16":
        return _bfloat16_to_float32(np.frombuffer(raw, "<u2"))
    return np.frombuffer(raw, dtype)


def _bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    # bfloat16 is the upper half of a float32: widening is exact.
    return (bits.astype("<u4") << 16).view("<f4")


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
}


class _Constructor:
    """What find_class hands out for an allowed callable: a fresh wrapper per lookup, so that the BUILD
    opcode (which sets attributes on whatever object it is given) cannot modify this module's functions,
    which would persist into every later load in the process. BUILD on it is refused."""

    __slots__ = ("_function",)

    def __init__(self, function):
        self._function = function

    def __call__(self, *args, **kwargs):
        return self._function(*args, **kwargs)

    def __setstate__(self, state):
        raise CheckpointError("data.pkl tries to set attributes of a constructor (BUILD on a global)")


# Zip entries are inflated only after their declared sizes are checked: a few KB of deflate data can
# declare gigabytes. torch.save stores entries uncompressed; a compressed one may inflate at most
# _MAX_INFLATION times (plus 1 MiB).
_MAX_PICKLE_BYTES = 256 << 20
_MAX_INFLATION = 100


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int = None) -> bytes:
    if limit is not None and info.file_size > limit:
        raise CheckpointError(f"archive entry '{info.filename}' is {info.file_size} bytes, more than {limit}")
    if info.compress_type != zipfile.ZIP_STORED and info.file_size > _MAX_INFLATION * info.compress_size + (1 << 20):
        raise CheckpointError(f"archive entry '{info.filename}' inflates {info.compress_size} bytes to "
                              f"{info.file_size} (a zip bomb?)")
    return archive.read(info)  # zipfile never inflates past the declared size


class _TensorUnpickler(pickle._Unpickler):
    """Unpickler that resolves only what a state_dict needs, and reads storages from the archive.

    The pure-Python unpickler, not the C one: the C unpickler sizes its memo table by the largest index a
    PUT opcode names, so one LONG_BINPUT of 10^8 in a 10 KB data.pkl allocates gigabytes (the Python one
    keeps the memo in a dict). data.pkl holds no tensor data, so the speed difference does not matter."""

    def __init__(self, data: bytes, archive: zipfile.ZipFile, root: str):
        super().__init__(io.BytesIO(data))
        self._archive = archive
        self._root = root
        self._storages = {}

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_GLOBALS:
            return _Constructor(_ALLOWED_GLOBALS[(module, name)])
        if module in ("torch", "torch.storage") and name.endswith("Storage"):
            return _StorageType(name)
        if module == "torch" and (name in _TORCH_DTYPES or name in _UNSUPPORTED_TORCH_DTYPES):
            return _TorchDtype(name)
        raise CheckpointError(f"data.pkl refers to forbidden global '{module}.{name}'; "
                              "only tensor and dict constructors are allowed")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str) and _is_index(pid[4])):
            raise CheckpointError(f"data.pkl has an unknown persistent id {pid!r:.80}")
        _, storage_type, key, _location, count = pid
        if storage_type.dtype is None:
            raise CheckpointError(f"storage '{key}' has unsupported type torch.{storage_type.name}")
        if (key, storage_type.dtype) not in self._storages:
            self._storages[(key, storage_type.dtype)] = self._read_storage(key, storage_type.dtype, count)
        return self._storages[(key, storage_type.dtype)]

    def _read_storage(self, key: str, dtype: str, count: int) -> _Storage:
        entry = f"{self._root}/data/{key}"
        try:
            info = self._archive.getinfo(entry)
        except KeyError:
            raise CheckpointError(f"archive entry '{entry}' is missing") from None
        itemsize = 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize
        if info.file_size != count * itemsize:  # checked before anything is inflated
            raise CheckpointError(f"archive entry '{entry}' holds {info.file_size} bytes, "
                                  f"expected {count} elements of {itemsize} bytes")
        return _Storage(key, _elements_from_bytes(_read_entry(self._archive, info), dtype))


def read_torch_zip(path: str):
    try:
        with zipfile.ZipFile(path) as archive:
            root = _archive_root(archive)
            _check_byte_order(archive, root)
            return _unpickle(archive, root)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
        # NotImplementedError: unknown compression or zip version; RuntimeError: encrypted entries
        raise CheckpointError(f"corrupt or truncated zip archive ({e})") from e


def _unpickle(archive: zipfile.ZipFile, root: str):
    data = _read_entry(archive, archive.getinfo(f"{root}/data.pkl"), limit=_MAX_PICKLE_BYTES)
    unpickler = _TensorUnpickler(data, archive, root)
    try:
        return unpickler.load()
    except (CheckpointError, zipfile.BadZipFile, zlib.error):
        raise
    except Exception as e:  # whatever else the pickle machinery raises means a malformed pickle
        raise CheckpointError(f"data.pkl is malformed ({type(e).__name__}: {e})") from e


def _archive_root(archive: zipfile.ZipFile) -> str:
    """The archive's top-level folder holding data.pkl (torch names it after the file, or 'archive')."""
    roots = [name[:-len("/data.pkl")] for name in archive.namelist()
             if name.endswith("/data.pkl") and name.count("/") == 1]
    if len(roots) != 1:
        raise CheckpointError("zip archive has no data.pkl, so it is not a PyTorch checkpoint" if not roots
                              else f"zip archive has {len(roots)} data.pkl entries")
    return roots[0]


def _check_byte_order(archive: zipfile.ZipFile, root: str) -> None:
    # torch >= 2.1 records the byte order of the storages; older versions always wrote little-endian.
    try:
        order = _read_entry(archive, archive.getinfo(f"{root}/byteorder"), limit=16).decode("ascii", "replace").strip()
    except KeyError:
        return
    if order != "little":
        raise CheckpointError(f"storages are stored {order!r}-endian; only little-endian is supported")


# --- safetensors -------------------------------------------------------------------------------------

_SAFETENSORS_DTYPES = {
    "F32": "<f4", "F64": "<f8", "F16": "<f2", "BF16": "bfloat16", "I64": "<i8", "I32": "<i4", "U8": "u1",
    "BOOL": "?",
}
_MAX_SAFETENSORS_HEADER = 100 << 20


def _looks_like_safetensors(head: bytes) -> bool:
    return len(head) >= 9 and head[8:9] == b"{"


def read_safetensors(path: str) -> dict:
    """Reads a safetensors file: u64 header length, JSON header, then the tensors' bytes."""
    with open(path, "rb") as f:
        data = f.read()
    header = _safetensors_header(data)
    body = memoryview(data)[8 + struct.unpack_from("<Q", data)[0]:]
    tensors = collections.OrderedDict()
    for name, record in header.items():
        if name != "__metadata__":
            tensors[name] = _safetensors_tensor(name, record, body)
    return tensors


def _safetensors_header(data: bytes) -> dict:
    if len(data) < 8:
        raise CheckpointError(f"corrupt safetensors header: the file has only {len(data)} bytes")
    length = struct.unpack_from("<Q", data)[0]
    if length > min(len(data) - 8, _MAX_SAFETENSORS_HEADER):
        raise CheckpointError(f"corrupt safetensors header: header length {length} runs past the end "
                              f"of the {len(data)}-byte file")
    try:
        header = json.loads(bytes(data[8:8 + length]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"corrupt safetensors header: not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise CheckpointError("corrupt safetensors header: not a JSON object")
    return header


def _safetensors_tensor(name: str, record, body: memoryview) -> np.ndarray:
    where = f"safetensors entry '{name}'"
    if not isinstance(record, dict) or not {"dtype", "shape", "data_offsets"} <= record.keys():
        raise CheckpointError(f"{where} lacks dtype, shape or data_offsets")
    dtype = _SAFETENSORS_DTYPES.get(record["dtype"]) if isinstance(record["dtype"], str) else None
    shape, offsets = record["shape"], record["data_offsets"]
    if dtype is None:
        raise CheckpointError(f"{where} has unsupported dtype {record['dtype']!r}")
    if not _is_index_tuple(shape) or not _is_index_tuple(offsets) or len(offsets) != 2:
        raise CheckpointError(f"{where} has a malformed shape or data_offsets")
    begin, end = offsets
    itemsize = 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize
    if not begin <= end <= len(body) or end - begin != math.prod(shape) * itemsize:
        raise CheckpointError(f"{where}: data_offsets [{begin}, {end}] do not hold shape {shape} of "
                              f"{record['dtype']} inside the {len(body)}-byte data section")
    return np.array(_elements_from_bytes(body[begin:end], dtype).reshape(shape))
