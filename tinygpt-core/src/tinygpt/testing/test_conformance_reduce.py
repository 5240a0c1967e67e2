"""Conformance: sum/max/min over any set of axes, and argmax/argmin, on strided views.

Reductions read their input in place, so each is checked on transposed, reversed, stepped
and broadcast views as well as dense ones, and on edge shapes (size-1 dims, empty sums).
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

#: core casts bool and int32 to int64 before `sum`
SUM_DTYPES = ("float16", "float32", "float64", "int64")
MINMAX_DTYPES = ("float16", "float32", "float64", "int32", "int64")
KINDS = ("contiguous", "offset", "transposed", "reversed", "stepped", "broadcast")
AXES_3D = [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)]
_NUMPY_REDUCE = {"sum": np.sum, "max": np.max, "min": np.min}


def _cases():
    return [("sum", d) for d in SUM_DTYPES] + [
        (op, d) for op in ("max", "min") for d in MINMAX_DTYPES
    ]


def _expected(op, source, axes, dtype_name):
    if op == "sum" and dtype_name.startswith("float"):
        # the exact sum, rounded once: any accumulation order is within tolerance of it
        return np.sum(source.astype(np.float64), axis=axes).astype(dtype_name)
    return np.asarray(_NUMPY_REDUCE[op](source, axis=axes)).astype(dtype_name)


def _reduce(backend, op, view, axes):
    out_shape = tuple(d for i, d in enumerate(view.shape) if i not in axes)
    return to_numpy(wrap(backend, backend.reduce(op, view, axes), out_shape, view.dtype))


@pytest.mark.parametrize(("op", "dtype_name"), _cases())
@pytest.mark.parametrize("kind", KINDS)
def test_reduce(kit_backend, op, dtype_name, kind):
    require_dtypes(kit_backend, dtype_name)
    data = random_array((2, 3, 4), dtype_name, -8, 8)
    for _, view, source in strided_views(kit_backend, data, (kind,)):
        for axes in [a for a in AXES_3D if max(a) < view.ndim]:
            got = _reduce(kit_backend, op, view, axes)
            expected = _expected(op, source, axes, dtype_name)
            assert_close(got, expected, f"reduce({op!r}, {dtype_name}, {kind} view, axes={axes})")


@pytest.mark.parametrize("op", ["sum", "max", "min"])
@pytest.mark.parametrize(
    ("shape", "axes"),
    [
        ((1, 3, 1), (0,)),
        ((1, 3, 1), (2,)),
        ((1, 3, 1), (0, 2)),
        ((1,), (0,)),
        ((7,), (0,)),
        ((5, 1), (1,)),
        ((1, 1), (0, 1)),
    ],
    ids=str,
)
def test_reduce_size_one_dims(kit_backend, op, shape, axes):
    data = random_array(shape, "float32", -8, 8)
    x = to_ndarray(kit_backend, data)
    got = _reduce(kit_backend, op, x, axes)
    expected = _expected(op, data, axes, "float32")
    assert_close(got, expected, f"reduce({op!r}, float32, shape {shape}, axes={axes})")


@pytest.mark.parametrize("dtype_name", SUM_DTYPES)
@pytest.mark.parametrize(
    ("shape", "axes"),
    [((0,), (0,)), ((0, 3), (0,)), ((3, 0), (1,)), ((2, 0, 3), (0, 1))],
    ids=str,
)
def test_sum_over_empty_axes_is_zero(kit_backend, dtype_name, shape, axes):
    require_dtypes(kit_backend, dtype_name)
    x = to_ndarray(kit_backend, np.zeros(shape, dtype_name))
    got = _reduce(kit_backend, "sum", x, axes)
    expected = np.zeros([d for i, d in enumerate(shape) if i not in axes], dtype_name)
    assert_close(got, expected, f"reduce('sum', {dtype_name}, empty shape {shape}, axes={axes})")


def test_float16_sum_accumulates_precisely(kit_backend):
    require_dtypes(kit_backend, "float16")
    # 4096 ones: a float16 running sum sticks at 2048 (2048 + 1 rounds back to 2048)
    x = to_ndarray(kit_backend, np.ones(4096, np.float16))
    got = _reduce(kit_backend, "sum", x, (0,))
    assert got.tolist() == 4096.0, f"reduce('sum', float16, 4096 ones): got {got}"


# --------------------------------------------------------------------- argmax
@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("dtype_name", MINMAX_DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_arg_reduce(kit_backend, op, dtype_name, kind):
    require_dtypes(kit_backend, dtype_name)
    # few distinct values, so most rows hold ties: the first index must win
    data = random_array((2, 3, 4), "int64", -2, 2).astype(dtype_name)
    reference = np.argmax if op == "argmax" else np.argmin
    for _, view, source in strided_views(kit_backend, data, (kind,)):
        for axis in range(view.ndim):
            out_shape = view.shape[:axis] + view.shape[axis + 1 :]
            raw = kit_backend.arg_reduce(op, view, axis)
            got = to_numpy(wrap(kit_backend, raw, out_shape, DTYPES["int64"]))
            expected = reference(source, axis=axis).astype(np.int64)
            what = f"arg_reduce({op!r}, {dtype_name}, {kind} view, axis={axis})"
            assert_close(got, expected, what)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_arg_reduce_ties_take_first_index(kit_backend, op):
    x = to_ndarray(kit_backend, np.array([[1.0, 3.0, 3.0, 0.0, 0.0], [2.0] * 5], np.float32))
    got = to_numpy(wrap(kit_backend, kit_backend.arg_reduce(op, x, 1), (2,), DTYPES["int64"]))
    expected = [1, 0] if op == "argmax" else [3, 0]
    assert got.tolist() == expected, (
        f"arg_reduce({op!r}, float32, ties): got {got.tolist()}, expected {expected} "
        "(ties go to the first index)"
    )
