"""`tg.save` / `tg.load`: a dict of tensors in a safetensors file.

The format: 8 bytes (little-endian u64) giving the header length N, then N bytes of JSON
mapping each name to {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]} (plus an
optional "__metadata__" dict of strings), then the raw little-endian bytes. No pickle: loading
a file can never run code.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .creation import tensor
from .dtypes import DTYPES
from .errors import SerializationError
from .tensor import Tensor

__all__ = ["save", "load", "load_metadata"]

_BY_SAFETENSORS_NAME = {d.safetensors_name: d for d in DTYPES.values()}
_MAX_HEADER = 100 * 1024 * 1024  # a header this large is a corrupt or foreign file


def save(
    tensors: Mapping[str, Tensor],
    path: str | os.PathLike[str],
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write `tensors` to `path` atomically: a temp file in the same folder, then a rename,
    so a crash or an error never leaves a half-written file where the old one was."""
    header, chunks = _encode(tensors, metadata)
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(header)))
            f.write(header)
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _encode(tensors: Mapping[str, Tensor], metadata: Mapping[str, str] | None):
    if not isinstance(tensors, Mapping):
        raise TypeError(f"save: expected a dict of name -> tensor, got {type(tensors).__name__}")
    entries: dict[str, Any] = {}
    if metadata:
        entries["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks = []
    offset = 0
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"save: keys must be str, got {name!r}")
        if not isinstance(t, Tensor):
            raise TypeError(f"save: value for {name!r} is a {type(t).__name__}, not a Tensor")
        array = t.detach().numpy()
        if sys.byteorder != "little":
            array = array.byteswap()
        raw = array.tobytes()
        entries[name] = {
            "dtype": t.dtype.safetensors_name,
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    header = json.dumps(entries, separators=(",", ":")).encode("utf-8")
    header += b" " * (-len(header) % 8)  # pad so the data starts 8-byte aligned
    return header, chunks


def load(path: str | os.PathLike[str], device: Any = None) -> dict[str, Tensor]:
    """Read a safetensors file into a dict of tensors on `device` (default device if None)."""
    import numpy as np

    raw = Path(path).read_bytes()
    header, data = _split(raw, path)
    out: dict[str, Tensor] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype, shape, begin, end = _check_entry(name, entry, len(data), path)
        array = np.frombuffer(data[begin:end], dtype=np.dtype(dtype.numpy_name).newbyteorder("<"))
        out[name] = tensor(
            array.astype(dtype.numpy_name).reshape(shape), dtype=dtype, device=device
        )
    return out


def load_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The file's "__metadata__" strings (what `save(..., metadata=...)` wrote), or {}."""
    header, _ = _split(Path(path).read_bytes(), path)
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict):
        raise SerializationError(f"load_metadata: {path}: __metadata__ must be an object")
    return {str(k): str(v) for k, v in metadata.items()}


def _split(raw: bytes, path: object) -> tuple[dict[str, Any], bytes]:
    if len(raw) < 8:
        raise SerializationError(
            f"load: {path} is {len(raw)} bytes long, too short for a safetensors file"
        )
    (length,) = struct.unpack("<Q", raw[:8])
    if length > min(_MAX_HEADER, len(raw) - 8):
        raise SerializationError(
            f"load: {path} is not a safetensors file or is truncated: header length {length} "
            f"but only {len(raw) - 8} bytes follow"
        )
    try:
        header = json.loads(raw[8 : 8 + length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SerializationError(f"load: {path} is not a safetensors file: bad header") from error
    if not isinstance(header, dict):
        raise SerializationError(f"load: {path}: the header must be a JSON object")
    return header, raw[8 + length :]


def _check_entry(name: str, entry: Any, available: int, path: object):
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= entry.keys():
        raise SerializationError(f"load: {path}: entry {name!r} lacks dtype/shape/data_offsets")
    dtype = _BY_SAFETENSORS_NAME.get(entry["dtype"])
    if dtype is None:
        known = ", ".join(_BY_SAFETENSORS_NAME)
        raise SerializationError(
            f"load: {path}: tensor {name!r} has dtype {entry['dtype']!r}; tinygpt reads {known}"
        )
    shape = tuple(int(d) for d in entry["shape"])
    begin, end = (int(v) for v in entry["data_offsets"])
    count = 1
    for d in shape:
        count *= d
    if end > available:
        raise SerializationError(
            f"load: {path} is truncated: tensor {name!r} needs bytes {begin}..{end} of the data "
            f"but the file holds {available}"
        )
    if begin < 0 or end - begin != count * dtype.itemsize:
        raise SerializationError(
            f"load: {path}: tensor {name!r} of shape {shape} and dtype {dtype} needs "
            f"{count * dtype.itemsize} bytes, its offsets give {end - begin}"
        )
    return dtype, shape, begin, end
