"""The safetensors format (Hugging Face), read and written with NumPy alone.

    8 bytes   little-endian u64: n, the size of the header
    n bytes   JSON: {name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
                     "__metadata__": {str: str}}, padded with spaces to 8 bytes
    the rest  the tensors' bytes, little-endian, C order, offsets relative to here

Reading checks everything before trusting it (header size, JSON, dtypes, offsets that
tile the buffer exactly, sizes that match the shapes) and never unpickles.
"""
import json
import struct

import numpy as np

from .atomic import write_atomically

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U8": "u1", "BOOL": "?"}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}


class SafetensorsError(ValueError):
    """A file that is not valid safetensors, named with what is wrong."""


def safetensors_bytes(tensors, metadata=None):
    """name -> array (and string metadata) -> the bytes of a safetensors file."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        dtype = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        if np.dtype(dtype) not in CODES:
            raise SafetensorsError(f"{name}: dtype {a.dtype} has no safetensors code")
        data = a.astype(dtype, copy=False).tobytes()
        header[name] = {"dtype": CODES[np.dtype(dtype)], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save_safetensors(path, tensors, metadata=None):
    """Write ``tensors`` to ``path`` atomically."""
    write_atomically(path, safetensors_bytes(tensors, metadata))


def load_safetensors(path):
    """-> (name -> array, metadata dict). SafetensorsError for a corrupt file."""
    with open(path, "rb") as f:
        return parse_safetensors(f.read(), str(path))


def parse_safetensors(data, where="safetensors"):
    """The bytes of a safetensors file -> (name -> array, metadata dict); ``where``
    names the file in errors."""
    if len(data) < 8:
        raise SafetensorsError(f"{where}: truncated (shorter than the 8-byte header size)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise SafetensorsError(f"{where}: truncated (header of {n} bytes, file of {len(data)})")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SafetensorsError(f"{where}: header is not valid JSON ({error})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{where}: header is not a JSON object")
    metadata = header.pop("__metadata__", {}) or {}
    buffer = memoryview(data)[8 + n :]
    tensors, spans = {}, []
    for name, entry in header.items():
        try:
            dtype, shape = np.dtype(DTYPES[entry["dtype"]]), tuple(int(s) for s in entry["shape"])
            begin, end = (int(v) for v in entry["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise SafetensorsError(f"{where}: tensor {name!r} has a malformed header entry") from None
        if not 0 <= begin <= end <= len(buffer):
            raise SafetensorsError(f"{where}: truncated (tensor {name!r} ends at byte {end} of "
                                   f"{len(buffer)})")
        if end - begin != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
            raise SafetensorsError(f"{where}: tensor {name!r} has {end - begin} bytes for shape "
                                   f"{shape} of {entry['dtype']}")
        tensors[name] = np.frombuffer(buffer[begin:end], dtype=dtype).reshape(shape).astype(
            dtype.newbyteorder("="), copy=True)
        spans.append((begin, end))
    covered = 0
    for begin, end in sorted(spans):
        if begin != covered:
            raise SafetensorsError(f"{where}: tensors overlap or leave gaps in the data buffer")
        covered = end
    if covered != len(buffer):
        raise SafetensorsError(f"{where}: {len(buffer) - covered} bytes after the last tensor")
    return tensors, metadata
