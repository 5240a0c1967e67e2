"""`tg.save` / `tg.load`: a dict of tensors in a safetensors file.

The format: 8 bytes (little-endian u64) giving the header length N, then N bytes of JSON
mapping each name to {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]} (plus an
optional "__metadata__" dict of strings), then the raw little-endian bytes. No pickle: loading
a file can never run code.

Loading checks the whole header before it reads a tensor: known dtypes, shapes of
non-negative ints, and offsets that tile the data section exactly (in order, no gaps, no
overlaps, no bytes left over), each span the size its shape and dtype need. `save` also
stores SHA-256 digests in the metadata string "tinygpt.sha256": one per tensor's bytes and
one of the rest of the header. `load` checks them when they are there; files from other
tools have none and load after the structural checks. Other safetensors readers see just one
more metadata string.

`save` writes a temp file `.<name>.<8 random characters>.tmp` next to the target, flushes it
to disk, then renames it over the target: readers see the old file or the new one, never half
of one. A process killed mid-write can leave such a temp file behind (never the target).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import struct
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from .creation import tensor
from .dtypes import DTYPES, DType
from .errors import SerializationError
from .tensor import Tensor

__all__ = ["save", "load", "load_metadata", "CHECKSUM_KEY"]

#: the metadata key holding the SHA-256 digests that `save` writes and `load` checks
CHECKSUM_KEY = "tinygpt.sha256"

_BY_SAFETENSORS_NAME = {d.safetensors_name: d for d in DTYPES.values()}
_MAX_HEADER = 100 * 1024 * 1024  # a header this large is a corrupt or foreign file
_ENTRY_KEYS = {"dtype", "shape", "data_offsets"}
_CHECKSUM_START = '{"header": "'  # how the checksum string that `save` writes begins


class _Span(NamedTuple):
    """One tensor's header entry, checked: where its bytes are and how to read them."""

    name: str
    dtype: DType
    shape: tuple[int, ...]
    begin: int
    end: int


# ---------------------------------------------------------------------- save
def save(
    tensors: Mapping[str, Tensor],
    path: str | os.PathLike[str],
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write `tensors` to `path` atomically: a temp file in the same folder, then a rename,
    so a crash or an error never leaves a half-written file where the old one was.

    An OSError (a full disk, a read-only folder) names `path`, not the temp file.
    """
    header, chunks = _encode(tensors, metadata)
    target = Path(path)
    folder = target.parent
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise _naming(error, target) from error
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(header)))
            f.write(header)
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.replace(temp, target)
    except BaseException as error:
        Path(temp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise _naming(error, target) from error
        raise
    _fsync_folder(folder)


def _naming(error: OSError, target: Path) -> OSError:
    """The same error, about `target` (a failed write() names no file; mkstemp the temp)."""
    code = error.errno
    if code is None and len(error.args) == 1 and isinstance(error.args[0], int):
        code = error.args[0]  # OSError(errno.ENOSPC), as tests and some wrappers raise it
    if code is None:
        named = OSError(str(error))
        named.filename = str(target)
        return named
    return OSError(code, os.strerror(code), str(target))  # picks the subclass from the code


def _fsync_folder(folder: Path) -> None:
    """Flush the folder's entry for the renamed file, so that a power cut after `save`
    returns cannot bring back the old file. Folders cannot be opened on Windows: skip."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _encode(tensors: Mapping[str, Tensor], metadata: Mapping[str, str] | None):
    if not isinstance(tensors, Mapping):
        raise TypeError(f"save: expected a dict of name -> tensor, got {type(tensors).__name__}")
    entries: dict[str, Any] = {}
    if metadata:
        entries["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
        if CHECKSUM_KEY in entries["__metadata__"]:
            raise ValueError(f"save: the metadata key {CHECKSUM_KEY!r} is reserved for tinygpt")
    chunks = []
    digests = {}
    offset = 0
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"save: keys must be str, got {name!r}")
        if name == "__metadata__":
            raise ValueError("save: '__metadata__' is reserved by the format; rename the tensor")
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
        digests[name] = hashlib.sha256(raw).hexdigest()
        chunks.append(raw)
        offset += len(raw)
    checksum = {"header": _header_digest(entries), "tensors": digests}
    entries.setdefault("__metadata__", {})[CHECKSUM_KEY] = json.dumps(checksum)
    header = json.dumps(entries, separators=(",", ":")).encode("utf-8")
    header += b" " * (-len(header) % 8)  # pad so the data starts 8-byte aligned
    return header, chunks


def _header_digest(header: Mapping[str, Any]) -> str:
    """SHA-256 of the header without the checksum, in a canonical JSON spelling (sorted
    keys, ASCII), so that it does not depend on how a writer spaced or ordered it."""
    rest = dict(header)
    metadata = {k: v for k, v in rest.pop("__metadata__", {}).items() if k != CHECKSUM_KEY}
    if metadata:
        rest["__metadata__"] = metadata
    canonical = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


# ---------------------------------------------------------------------- load
def load(path: str | os.PathLike[str], device: Any = None) -> dict[str, Tensor]:
    """Read a safetensors file into a dict of tensors on `device` (default device if None).

    Raises SerializationError, naming the file (and the tensor), for a file that is
    truncated, corrupt (a bad header, or bytes that fail the checksums `save` stored), or
    not safetensors; FileNotFoundError for a missing one.
    """
    import numpy as np

    with open(path, "rb") as f:
        header, size = _read_header(f, path)
        spans = _check_spans(header, size, path)
        data = f.read(size)
    if len(data) != size:
        raise SerializationError(f"load: {path} shrank while it was read: read it again")
    digests = _checksums(header, spans, path)
    out: dict[str, Tensor] = {}
    for span in spans:
        raw = memoryview(data)[span.begin : span.end]
        if digests is not None and hashlib.sha256(raw).hexdigest() != digests[span.name]:
            raise SerializationError(
                f"load: {path}: tensor {span.name!r} fails its SHA-256 checksum: the file "
                "is corrupt; restore it from a copy or save it again"
            )
        little = np.dtype(span.dtype.numpy_name).newbyteorder("<")
        array = np.frombuffer(raw, dtype=little)
        if span.dtype.kind == "b" and array.view(np.uint8).max(initial=0) > 1:
            raise SerializationError(f"load: {path}: bool tensor {span.name!r} holds non-0/1 bytes")
        array = array.astype(span.dtype.numpy_name).reshape(span.shape)
        out[span.name] = tensor(array, dtype=span.dtype, device=device)
    return out


def load_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The file's "__metadata__" strings (what `save(..., metadata=...)` wrote), or {}.

    Reads and checks the header only (with its checksum); `load` checks the tensors' bytes.
    """
    with open(path, "rb") as f:
        header, size = _read_header(f, path)
    _checksums(header, _check_spans(header, size, path), path)
    metadata = header.get("__metadata__", {})
    return {k: v for k, v in metadata.items() if k != CHECKSUM_KEY}


def _read_header(f: BinaryIO, path: object) -> tuple[dict[str, Any], int]:
    """The parsed JSON header, and the size in bytes of the data section after it."""
    total = os.fstat(f.fileno()).st_size
    prefix = f.read(8)
    if len(prefix) < 8:
        raise SerializationError(
            f"load: {path} is {total} bytes long, too short for a safetensors file"
        )
    (length,) = struct.unpack("<Q", prefix)
    if length > _MAX_HEADER:
        raise SerializationError(
            f"load: {path} is not a safetensors file or is corrupt: its header length "
            f"{length} is over the {_MAX_HEADER} byte limit"
        )
    raw = f.read(length)
    if len(raw) < length:
        raise SerializationError(
            f"load: {path} is not a safetensors file or is truncated: header length {length} "
            f"but only {total - 8} bytes follow"
        )
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, or nested too deep
        raise SerializationError(
            f"load: {path} is not a safetensors file: bad header ({error})"
        ) from error
    if not isinstance(header, dict):
        raise SerializationError(f"load: {path}: the header must be a JSON object")
    return header, total - 8 - length


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # NOTE: plain json.loads keeps the last of two equal keys, which would hide a tensor
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice")
        out[key] = value
    return out


def _check_spans(header: dict[str, Any], size: int, path: object) -> list[_Span]:
    """Every entry checked, and their offsets shown to tile bytes 0..size exactly."""
    _check_metadata(header.get("__metadata__", {}), path)
    spans = [_check_entry(n, e, size, path) for n, e in header.items() if n != "__metadata__"]
    position = 0
    previous = None
    for span in sorted(spans, key=lambda s: (s.begin, s.end)):
        if span.begin < position:
            raise SerializationError(
                f"load: {path}: tensor {span.name!r} (bytes {span.begin}..{span.end}) overlaps "
                f"tensor {previous!r} (bytes ..{position}): the file is corrupt or crafted"
            )
        if span.begin > position:
            raise SerializationError(
                f"load: {path}: data bytes {position}..{span.begin} (before tensor "
                f"{span.name!r}) belong to no tensor: the file is corrupt"
            )
        position, previous = span.end, span.name
    if position != size:
        raise SerializationError(
            f"load: {path}: {size - position} bytes after the last tensor belong to no "
            "tensor: the file is corrupt"
        )
    return spans


def _check_metadata(metadata: Any, path: object) -> None:
    if not isinstance(metadata, dict):
        raise SerializationError(f"load: {path}: __metadata__ must be an object of strings")
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise SerializationError(
                f"load: {path}: __metadata__[{key!r}] is a {type(value).__name__}, not a string"
            )


def _check_entry(name: str, entry: Any, size: int, path: object) -> _Span:
    where = f"load: {path}: tensor {name!r}"
    if not isinstance(entry, dict) or not _ENTRY_KEYS <= entry.keys():
        raise SerializationError(f"{where} lacks dtype/shape/data_offsets")
    dtype = _BY_SAFETENSORS_NAME.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
    if dtype is None:
        known = ", ".join(_BY_SAFETENSORS_NAME)
        raise SerializationError(f"{where} has dtype {entry['dtype']!r}; tinygpt reads {known}")
    shape, offsets = entry["shape"], entry["data_offsets"]
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise SerializationError(f"{where} has shape {shape!r}: not a list of ints >= 0")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))):
        raise SerializationError(f"{where} has data_offsets {offsets!r}: not two ints >= 0")
    begin, end = offsets
    if begin > end:
        raise SerializationError(f"{where} has data_offsets {offsets}: begin is after end")
    if end > size:
        raise SerializationError(
            f"load: {path} is truncated: tensor {name!r} needs bytes {begin}..{end} of the data "
            f"but the file holds {size}"
        )
    count = 1
    for d in shape:
        count *= d
    if end - begin != count * dtype.itemsize:
        raise SerializationError(
            f"{where} of shape {tuple(shape)} and dtype {dtype} needs "
            f"{count * dtype.itemsize} bytes, its offsets give {end - begin}"
        )
    return _Span(name, dtype, tuple(shape), begin, end)


def _is_count(value: Any) -> bool:
    # NOTE: bool is an int in Python, and JSON `true` must not pass for a size
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _checksums(header: dict[str, Any], spans: list[_Span], path: object) -> dict | None:
    """The per-tensor digests `save` stored, after checking the header's own digest;
    None for a file without them (written by another tool)."""
    metadata = header.get("__metadata__", {})
    raw = metadata.get(CHECKSUM_KEY)
    if raw is None:
        for key, value in metadata.items():
            # subtle: a flipped bit in the key's name would make this a file without checksums
            if value.startswith(_CHECKSUM_START):
                raise SerializationError(
                    f"load: {path}: the checksums are stored under the damaged key {key!r}: "
                    "the file is corrupt; restore it from a copy or save it again"
                )
        return None
    try:
        stored = json.loads(raw)
        digests, header_digest = stored["tensors"], stored["header"]
    except (ValueError, TypeError, KeyError) as error:
        raise SerializationError(
            f"load: {path}: the {CHECKSUM_KEY} metadata is malformed"
        ) from error
    names = {span.name for span in spans}
    if not isinstance(digests, dict) or set(digests) != names:
        raise SerializationError(
            f"load: {path}: the checksums list other tensors than the header "
            f"({sorted(set(digests) ^ names) if isinstance(digests, dict) else digests!r}): "
            "the file is corrupt"
        )
    if header_digest != _header_digest(header):
        raise SerializationError(
            f"load: {path}: the header (names, dtypes, shapes, offsets or metadata) fails its "
            "SHA-256 checksum: the file is corrupt; restore it from a copy or save it again"
        )
    return digests
