"""Conformance: batched matmul on every operand layout, gather and scatter_add.

matmul operands arrive as views: `x @ w.T` is a transposed view, a broadcast batch has
stride 0. The kernel must read them as they are and still match NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygpt.dtypes import DTYPES
from tinygpt.testing.helpers import (
    assert_close,
    random_array,
    require_dtypes,
    strided_views,
    to_ndarray,
    to_numpy,
    wrap,
)

MATMUL_DTYPES = ("float16", "float32", "float64", "int32", "int64")
#: (rtol, atol) for a K-term dot product of values in [-1, 1]: accumulation order differs
MATMUL_TOLERANCE = {"float16": (1e-2, 1e-2), "float32": (1e-5, 1e-5), "float64": (1e-12, 1e-12)}


def _dense(backend, a):
    return to_ndarray(backend, a)


def _transposed(backend, a):
    """A view of `a` whose last two dims are swapped in memory (how `w.T` arrives)."""
    axes = tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2)
    return to_ndarray(backend, np.ascontiguousarray(a.transpose(axes))).permute(axes)


def _batch_broadcast(backend, a):
    """`a`'s first batch entry broadcast over the batch dim (stride 0); a must repeat it."""
    return to_ndarray(backend, a[:1]).broadcast_to(a.shape)


def _reversed(backend, a):
    """Negative strides in the last two dims."""
    flipped = np.ascontiguousarray(a[..., ::-1, ::-1])
    items = (slice(None),) * (a.ndim - 2) + (slice(None, None, -1),) * 2
    return to_ndarray(backend, flipped).slice(items)


LAYOUTS = {
    "dense": _dense,
    "transposed": _transposed,
    "batch-broadcast": _batch_broadcast,
    "reversed": _reversed,
}
# (a shape, b shape, a layout, b layout)
MATMUL_CASES = [
    ((3, 4), (4, 5), "dense", "dense"),
    ((3, 4), (4, 5), "dense", "transposed"),  # x @ w.T
    ((3, 4), (4, 5), "transposed", "dense"),
    ((3, 4), (4, 5), "transposed", "transposed"),
    ((3, 4), (4, 5), "reversed", "dense"),
    ((16, 64), (64, 8), "dense", "transposed"),
    ((1, 7), (7, 1), "dense", "dense"),  # M = N = 1
    ((3, 0), (0, 5), "dense", "dense"),  # K = 0: all zeros
    ((0, 4), (4, 5), "dense", "dense"),  # M = 0
    ((2, 3, 4), (2, 4, 5), "dense", "dense"),
    ((2, 3, 4), (2, 4, 5), "dense", "transposed"),
    ((2, 3, 4), (2, 4, 5), "dense", "batch-broadcast"),  # weights shared over the batch
    ((2, 3, 4), (2, 4, 5), "batch-broadcast", "transposed"),
    ((2, 2, 3, 4), (2, 2, 4, 5), "transposed", "reversed"),
]


def _operand(backend, shape, layout, dtype_name, seed):
    data = random_array(
        shape,
        dtype_name,
        -1 if dtype_name[0] == "f" else -3,
        1 if dtype_name[0] == "f" else 3,
        seed=seed,
    )
    if layout == "batch-broadcast":
        data = np.ascontiguousarray(np.broadcast_to(data[:1], data.shape))
    return LAYOUTS[layout](backend, data), data


@pytest.mark.parametrize("dtype_name", MATMUL_DTYPES)
@pytest.mark.parametrize(
    ("a_shape", "b_shape", "a_layout", "b_layout"),
    MATMUL_CASES,
    ids=[f"{a}{la[0]}@{b}{lb[0]}" for a, b, la, lb in MATMUL_CASES],
)
def test_matmul(kit_backend, dtype_name, a_shape, b_shape, a_layout, b_layout):
    require_dtypes(kit_backend, dtype_name)
    a, a_np = _operand(kit_backend, a_shape, a_layout, dtype_name, seed=1)
    b, b_np = _operand(kit_backend, b_shape, b_layout, dtype_name, seed=2)
    out_shape = a_shape[:-1] + b_shape[-1:]
    got = to_numpy(wrap(kit_backend, kit_backend.matmul(a, b), out_shape, a.dtype))
    wide = np.float64 if dtype_name[0] == "f" else np.int64
    expected = np.matmul(a_np.astype(wide), b_np.astype(wide)).astype(dtype_name)
    rtol, atol = MATMUL_TOLERANCE.get(dtype_name, (0, 0))
    what = f"matmul({dtype_name}, {a_shape} {a_layout} a @ {b_shape} {b_layout} b)"
    assert_close(got, expected, what, rtol=rtol, atol=atol)


# --------------------------------------------------------------------- gather
GATHER_DTYPES = ("float32", "float64", "float16", "int64", "int32", "bool")
# (x shape, axis, index array)
GATHER_CASES = [
    ((5, 4), 0, [2, 0, 2, 4]),  # embedding lookup, with a repeat
    ((5, 4), 1, [[3, 0], [1, 1]]),
    ((2, 5, 3), 1, [4, 4, 0]),
    ((2, 5, 3), 2, [[2], [0]]),
    ((5, 4), 0, 3),  # a 0-d index removes the axis
    ((5, 4), 0, []),  # no indices: an empty result
]


@pytest.mark.parametrize("dtype_name", GATHER_DTYPES)
@pytest.mark.parametrize(("shape", "axis", "index"), GATHER_CASES, ids=str)
@pytest.mark.parametrize("kind", ["contiguous", "transposed", "reversed"])
def test_gather(kit_backend, dtype_name, shape, axis, index, kind):
    (dtype,) = require_dtypes(kit_backend, dtype_name)
    index_np = np.array(index, np.int64)
    data = random_array(shape[::-1] if kind == "transposed" else shape, dtype_name, -9, 9)
    for _, x, x_np in strided_views(kit_backend, data, (kind,)):
        for index_kind, ix, ix_np in strided_views(
            kit_backend, index_np.reshape(-1), ("contiguous", "reversed")
        ):
            ix = ix.reshape(index_np.shape) if index_kind == "contiguous" else ix
            ix_np = ix_np.reshape(index_np.shape) if index_kind == "contiguous" else ix_np
            if index_np.ndim != 1 and index_kind == "reversed":
                continue  # only 1-D indices are reversed (a reshape would copy them)
            out_shape = x.shape[:axis] + ix.shape + x.shape[axis + 1 :]
            got = to_numpy(wrap(kit_backend, kit_backend.gather(x, axis, ix), out_shape, dtype))
            expected = np.take(x_np, ix_np, axis=axis)
            what = f"gather({dtype_name}, {kind} x, axis={axis}, {index_kind} index {index})"
            assert_close(got, expected, what)


#: bool adds as a logical or (NumPy's bool add): core marks written positions that way
SCATTER_DTYPES = ("float32", "float64", "int64", "bool")
# (dst shape, axis, index array) - src has gather's output shape
SCATTER_CASES = [
    ((5, 4), 0, [1, 3, 1, 1]),  # repeated rows must accumulate (embedding backward)
    ((5, 4), 1, [[3, 0, 3], [1, 1, 1]]),
    ((2, 5, 3), 1, [4, 4, 0]),
    ((5, 4), 0, 2),
    ((5, 4), 0, []),
]


@pytest.mark.parametrize("dtype_name", SCATTER_DTYPES)
@pytest.mark.parametrize(("shape", "axis", "index"), SCATTER_CASES, ids=str)
@pytest.mark.parametrize("src_kind", ["dense", "transposed", "broadcast"])
def test_scatter_add(kit_backend, dtype_name, shape, axis, index, src_kind):
    require_dtypes(kit_backend, dtype_name)
    index_np = np.array(index, np.int64)
    dst_np = random_array(shape, dtype_name, -5, 5, seed=1)  # not zero: it adds, not sets
    dst = to_ndarray(kit_backend, dst_np)
    src_shape = shape[:axis] + index_np.shape + shape[axis + 1 :]
    src_np = random_array(src_shape, dtype_name, -5, 5, seed=2)
    if src_kind == "transposed" and len(src_shape) >= 2:
        src = to_ndarray(kit_backend, np.ascontiguousarray(src_np.T)).permute(
            tuple(reversed(range(len(src_shape))))
        )
    elif src_kind == "broadcast" and len(src_shape) >= 1:
        src_np = np.ascontiguousarray(np.broadcast_to(src_np[..., :1], src_shape))
        src = to_ndarray(kit_backend, src_np[..., :1]).broadcast_to(src_shape)
    else:
        src = to_ndarray(kit_backend, src_np)
    kit_backend.scatter_add(dst, axis, to_ndarray(kit_backend, index_np), src)
    where = (slice(None),) * axis + (index_np,)
    np.add.at(dst_np, where, src_np)
    what = f"scatter_add({dtype_name}, axis={axis}, index {index}, {src_kind} src)"
    assert_close(to_numpy(dst), dst_np, what)


def test_gather_returns_int64_shape_rule(kit_backend):
    x = to_ndarray(kit_backend, np.arange(12, dtype=np.int64).reshape(3, 4))
    ix = to_ndarray(kit_backend, np.array([[2, 0]], np.int64))
    got = to_numpy(wrap(kit_backend, kit_backend.gather(x, 1, ix), (3, 1, 2), DTYPES["int64"]))
    assert got.tolist() == [[[2, 0]], [[6, 4]], [[10, 8]]], "gather(int64, axis=1, 2-D index)"
