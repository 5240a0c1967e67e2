"""Conformance: buffers (empty, full, host round trips), copy, setitem, fill and cast.

Memory ops are exact: every byte must match NumPy, on every view kind.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygpt.dtypes import DTYPES, as_dtype
from tinygpt.host import numpy_dtype
from tinygpt.ndarray import NDArray
from tinygpt.testing.helpers import (
    VIEW_KINDS,
    assert_close,
    numpy_view,
    random_array,
    require_dtypes,
    strided_views,
    to_ndarray,
    to_numpy,
    wrap,
)

ALL_DTYPES = tuple(DTYPES)
SHAPES = [(), (0,), (1,), (5,), (2, 3, 4), (3, 0, 2)]
#: view kinds a kernel may write through (a broadcast dst is never written)
WRITABLE_KINDS = tuple(kind for kind in VIEW_KINDS if kind != "broadcast")
#: a value of each dtype for `full` and `fill`
FILL_VALUES = {
    "float16": [2.5, -0.0, float("inf")],
    "float32": [2.5, -1e30, float("nan")],
    "float64": [0.1, -1e300],
    "int32": [7, -(2**31)],
    "int64": [-3, 2**62],
    "bool": [True, False],
}


def _cases(table):
    return [(name, value) for name, values in table.items() for value in values]


# -------------------------------------------------------------------- buffers
@pytest.mark.parametrize("dtype_name", ALL_DTYPES)
@pytest.mark.parametrize("size", [0, 1, 7])
def test_empty(kit_backend, dtype_name, size):
    (dtype,) = require_dtypes(kit_backend, dtype_name)
    got = to_numpy(wrap(kit_backend, kit_backend.empty(size, dtype), (size,), dtype))
    assert got.shape == (size,), f"empty({size}, {dtype_name}): shape {got.shape}"


@pytest.mark.parametrize(("dtype_name", "value"), _cases(FILL_VALUES))
@pytest.mark.parametrize("size", [0, 5])
def test_full(kit_backend, dtype_name, value, size):
    (dtype,) = require_dtypes(kit_backend, dtype_name)
    got = to_numpy(wrap(kit_backend, kit_backend.full(size, dtype, value), (size,), dtype))
    expected = np.full(size, value, dtype_name)
    assert_close(got, expected, f"full({size}, {dtype_name}, {value!r})")


@pytest.mark.parametrize("dtype_name", ALL_DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_host_round_trip(kit_backend, dtype_name, shape):
    require_dtypes(kit_backend, dtype_name)
    data = random_array(shape, dtype_name, -100, 100)
    got = to_numpy(to_ndarray(kit_backend, data))
    assert_close(got, data, f"from_host/to_host({dtype_name}, {shape})", rtol=0, atol=0)


def test_from_host_copies(kit_backend):
    data = np.arange(6, dtype=np.float32)
    x = to_ndarray(kit_backend, data)
    data[:] = -1  # the caller reuses its memory
    assert to_numpy(x).tolist() == [0, 1, 2, 3, 4, 5], "from_host: result aliases the input"


def test_to_host_copies(kit_backend):
    x = to_ndarray(kit_backend, np.arange(6, dtype=np.float32))
    host = np.frombuffer(memoryview(kit_backend.to_host(x)).cast("B"), np.float32).copy()
    out = bytes(memoryview(kit_backend.to_host(x)).cast("B"))
    kit_backend.fill(x, 9.0)
    kit_backend.synchronize()
    again = np.frombuffer(out, np.float32)
    assert host.tolist() == again.tolist() == [0, 1, 2, 3, 4, 5], "to_host: result aliases"


# ------------------------------------------------------------- strided memory
@pytest.mark.parametrize("dtype_name", ALL_DTYPES)
@pytest.mark.parametrize("kind", tuple(VIEW_KINDS))
def test_copy(kit_backend, dtype_name, kind):
    require_dtypes(kit_backend, dtype_name)
    data = random_array((3, 4), dtype_name, -50, 50)
    for _, view, expected in strided_views(kit_backend, data, (kind,)):
        got = to_numpy(wrap(kit_backend, kit_backend.copy(view), view.shape, view.dtype))
        assert_close(got, expected, f"copy({dtype_name}, {kind} view)", rtol=0, atol=0)


def test_copy_does_not_alias(kit_backend):
    x = to_ndarray(kit_backend, np.arange(4, dtype=np.float32))
    copied = wrap(kit_backend, kit_backend.copy(x), x.shape, x.dtype)
    kit_backend.fill(x, 0.0)
    assert to_numpy(copied).tolist() == [0, 1, 2, 3], "copy(contiguous): result aliases input"


def _setitem_case(backend, dtype_name, kind, src_kind):
    """dst = `kind` view of a zero buffer, src = `src_kind` data of the same shape."""
    base_np = np.zeros((3, 4), dtype_name)
    base = to_ndarray(backend, base_np)
    dst = VIEW_KINDS[kind](base)
    dst_np = numpy_view(kind, base_np)
    data = random_array(dst.shape, dtype_name, 1, 9, seed=1)
    if src_kind == "broadcast" and dst.ndim:
        data = np.broadcast_to(data[:1], data.shape)  # stride 0 in dim 0
        src = to_ndarray(backend, data[:1]).broadcast_to(dst.shape)
    else:
        src = to_ndarray(backend, data)
    backend.setitem(dst, src)
    dst_np[...] = data
    return to_numpy(base), base_np


@pytest.mark.parametrize("dtype_name", ALL_DTYPES)
@pytest.mark.parametrize("kind", WRITABLE_KINDS)
@pytest.mark.parametrize("src_kind", ["dense", "broadcast"])
def test_setitem(kit_backend, dtype_name, kind, src_kind):
    require_dtypes(kit_backend, dtype_name)
    got, expected = _setitem_case(kit_backend, dtype_name, kind, src_kind)
    what = f"setitem({dtype_name}, {kind} dst, {src_kind} src)"
    assert_close(got, expected, what, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("dst_items", "src_items"),
    [
        (slice(1, None), slice(None, -1)),  # shift right: a naive forward loop smears
        (slice(None, -1), slice(1, None)),  # shift left
        (slice(None), slice(None, None, -1)),  # reverse in place
        (slice(0, 5), slice(3, 8)),  # partial overlap
    ],
    ids=["shift-right", "shift-left", "reverse", "partial"],
)
def test_setitem_overlapping(kit_backend, dst_items, src_items):
    data = np.arange(10, dtype=np.float32)
    x = to_ndarray(kit_backend, data)
    kit_backend.setitem(x.slice((dst_items,)), x.slice((src_items,)))
    data[dst_items] = data[src_items].copy()  # read all of src first, then write
    what = f"setitem(float32, overlapping dst[{dst_items}] = src[{src_items}])"
    assert_close(to_numpy(x), data, what, rtol=0, atol=0)


@pytest.mark.parametrize(("dtype_name", "value"), _cases(FILL_VALUES))
@pytest.mark.parametrize("kind", WRITABLE_KINDS)
def test_fill(kit_backend, dtype_name, value, kind):
    (dtype,) = require_dtypes(kit_backend, dtype_name)
    base_np = random_array((3, 4), dtype_name, 1, 9)
    base = to_ndarray(kit_backend, base_np)
    kit_backend.fill(VIEW_KINDS[kind](base), value)
    numpy_view(kind, base_np)[...] = value
    assert_close(to_numpy(base), base_np, f"fill({dtype_name}, {kind} view, {value!r})")


# ------------------------------------------------------------------------ cast
#: values every dtype can hold exactly, with fractions and signs for float -> int
CAST_SOURCES = {
    "float16": [-2.75, -1.5, -0.5, 0.0, 0.5, 1.5, 2.75, 100.25],
    "float32": [-2.75, -1.5, -0.5, 0.0, 0.5, 1.5, 2.75, 100.25],
    "float64": [-2.75, -1.5, -0.5, 0.0, 0.5, 1.5, 2.75, 100.25],
    "bfloat16": [-2.75, -1.5, -0.5, 0.0, 0.5, 1.5, 2.75, 100.5],
    "int8": [-3, -1, 0, 1, 2, 7, 100, 127],
    "uint8": [0, 1, 2, 3, 7, 100, 200, 255],
    "int32": [-3, -1, 0, 1, 2, 7, 100, 2**15],
    "int64": [-3, -1, 0, 1, 2, 7, 100, 2**15],
    "bool": [True, False, True, True, False, False, True, False],
}


@pytest.mark.parametrize(
    ("src_name", "dst_name"),
    [(src, dst) for src in ALL_DTYPES for dst in ALL_DTYPES],
    ids=[f"{src}->{dst}" for src in ALL_DTYPES for dst in ALL_DTYPES],
)
@pytest.mark.parametrize("kind", ["contiguous", "transposed", "reversed", "0-d", "empty"])
def test_cast(kit_backend, src_name, dst_name, kind):
    _, dst = require_dtypes(kit_backend, src_name, dst_name)
    values = CAST_SOURCES[src_name]
    if dst_name == "uint8" and as_dtype(src_name).is_floating_point:
        values = [abs(v) for v in values]  # a negative float -> uint8 is undefined in C
    data = np.array(values, numpy_dtype(as_dtype(src_name))).reshape(2, 4)
    for _, view, source in strided_views(kit_backend, data, (kind,)):
        got = to_numpy(wrap(kit_backend, kit_backend.cast(view, dst), view.shape, dst))
        # C semantics: truncation, nonzero -> True; narrowing ints wrap
        expected = source.astype(numpy_dtype(dst))
        assert_close(got, expected, f"cast({src_name} -> {dst_name}, {kind} view)")


def test_cast_result_is_new(kit_backend):
    x = to_ndarray(kit_backend, np.arange(4, dtype=np.float32))
    same = NDArray(kit_backend, kit_backend.cast(x, x.dtype), x.shape, x.dtype)
    kit_backend.fill(x, 0.0)
    assert to_numpy(same).tolist() == [0, 1, 2, 3], "cast(float32 -> float32): result aliases"
