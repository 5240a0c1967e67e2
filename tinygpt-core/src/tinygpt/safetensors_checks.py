"""The checks `tg.load` runs on a safetensors header before it reads a tensor, and the
SHA-256 digests `tg.save` stores (see `serialization` for the format).

Every entry: a known dtype, a shape of ints >= 0, two offsets, a span the size its shape and
dtype need; all spans together tile the data section exactly. The digests: one per tensor's
bytes and one of the rest of the header, in the metadata string "tinygpt.sha256".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from .dtypes import DTYPES, DType
from .errors import SerializationError

__all__ = ["CHECKSUM_KEY", "Span", "check_spans", "checksums", "header_digest"]

#: the metadata key holding the SHA-256 digests that `save` writes and `load` checks
CHECKSUM_KEY = "tinygpt.sha256"

_BY_SAFETENSORS_NAME = {d.safetensors_name: d for d in DTYPES.values()}
_ENTRY_KEYS = {"dtype", "shape", "data_offsets"}
_CHECKSUM_START = '{"header": "'  # how the checksum string that `save` writes begins


class Span(NamedTuple):
    """One tensor's header entry, checked: where its bytes are and how to read them."""

    name: str
    dtype: DType
    shape: tuple[int, ...]
    begin: int
    end: int


def header_digest(header: Mapping[str, Any]) -> str:
    """SHA-256 of the header without the checksum, in a canonical JSON spelling (sorted
    keys, ASCII), so that it does not depend on how a writer spaced or ordered it."""
    rest = dict(header)
    metadata = {k: v for k, v in rest.pop("__metadata__", {}).items() if k != CHECKSUM_KEY}
    if metadata:
        rest["__metadata__"] = metadata
    canonical = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def check_spans(header: dict[str, Any], size: int, path: object) -> list[Span]:
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


def _check_entry(name: str, entry: Any, size: int, path: object) -> Span:
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
    return Span(name, dtype, tuple(shape), begin, end)


def _is_count(value: Any) -> bool:
    # NOTE: bool is an int in Python, and JSON `true` must not pass for a size
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def checksums(header: dict[str, Any], spans: list[Span], path: object) -> dict | None:
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
        digests, stored_digest = stored["tensors"], stored["header"]
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
    if stored_digest != header_digest(header):
        raise SerializationError(
            f"load: {path}: the header (names, dtypes, shapes, offsets or metadata) fails its "
            "SHA-256 checksum: the file is corrupt; restore it from a copy or save it again"
        )
    return digests
