"""Conformance: unary, binary, comparison and scalar ops, and `where`, on every view kind.

Each table row is one op: the dtypes it takes, the range its inputs are drawn from, and its
NumPy reference. References for floats are computed in float64 and rounded to the dtype.
"""

from __future__ import annotations

import math

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

FLOATS = ("float16", "float32", "float64")
INTS = ("int32", "int64")
NUMERIC = FLOATS + INTS
BOOL = ("bool",)
#: the views each elementwise kernel is fed (see tinygpt.testing.helpers.VIEW_KINDS)
KINDS = ("contiguous", "offset", "transposed", "reversed", "stepped", "broadcast", "0-d", "empty")


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


_erf = np.vectorize(math.erf, otypes=[np.float64])

# op: (dtypes, (low, high) of the inputs, float64 reference)
UNARY = {
    "neg": (NUMERIC, (-5, 5), np.negative),
    "exp": (FLOATS, (-5, 5), np.exp),
    "log": (FLOATS, (0.1, 10), np.log),
    "sqrt": (FLOATS, (0, 10), np.sqrt),
    "abs": (NUMERIC, (-5, 5), np.abs),
    "sign": (NUMERIC, (-2, 2), np.sign),
    "sin": (FLOATS, (-5, 5), np.sin),
    "cos": (FLOATS, (-5, 5), np.cos),
    "tanh": (FLOATS, (-5, 5), np.tanh),
    "sigmoid": (FLOATS, (-20, 20), _sigmoid),
    "erf": (FLOATS, (-4, 4), _erf),
    "logical_not": (BOOL, (0, 1), np.logical_not),
}
# op: (dtypes, (low, high) of a, (low, high) of b, reference)
BINARY = {
    "add": (NUMERIC, (-9, 9), (-9, 9), np.add),
    "sub": (NUMERIC, (-9, 9), (-9, 9), np.subtract),
    "mul": (NUMERIC, (-9, 9), (-9, 9), np.multiply),
    "div": (FLOATS, (-9, 9), (0.5, 4), np.true_divide),
    "pow": (NUMERIC, (0, 3), (0, 3), np.power),
    "maximum": (NUMERIC, (-3, 3), (-3, 3), np.maximum),
    "minimum": (NUMERIC, (-3, 3), (-3, 3), np.minimum),
    "logical_and": (BOOL, (0, 1), (0, 1), np.logical_and),
    "logical_or": (BOOL, (0, 1), (0, 1), np.logical_or),
    "eq": (NUMERIC + BOOL, (-2, 2), (-2, 2), np.equal),
    "ne": (NUMERIC + BOOL, (-2, 2), (-2, 2), np.not_equal),
    "lt": (NUMERIC, (-2, 2), (-2, 2), np.less),
    "le": (NUMERIC, (-2, 2), (-2, 2), np.less_equal),
    "gt": (NUMERIC, (-2, 2), (-2, 2), np.greater),
    "ge": (NUMERIC, (-2, 2), (-2, 2), np.greater_equal),
}
COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})


def _cases(table):
    return [(op, dtype) for op, row in table.items() for dtype in row[0]]


def _rounded(values, dtype_name):
    """Floats on a 1/4 grid, so that comparisons see ties (and float16 holds them exactly)."""
    if np.dtype(dtype_name).kind == "f":
        return (np.round(values.astype(np.float64) * 4) / 4).astype(dtype_name)
    return values


def _reference(fn, *arrays, dtype_name):
    """fn in float64 for float inputs, rounded to the dtype; exact for ints and bool."""
    if np.dtype(dtype_name).kind == "f":
        widened = [a.astype(np.float64) for a in arrays]
        return np.asarray(fn(*widened)).astype(dtype_name)
    return np.asarray(fn(*arrays))


# ---------------------------------------------------------------------- unary
@pytest.mark.parametrize(("op", "dtype_name"), _cases(UNARY))
@pytest.mark.parametrize("kind", KINDS)
def test_unary(kit_backend, op, dtype_name, kind):
    require_dtypes(kit_backend, dtype_name)
    _, (low, high), reference = UNARY[op]
    data = random_array((3, 4), dtype_name, low, high)
    for _, view, source in strided_views(kit_backend, data, (kind,)):
        got = to_numpy(wrap(kit_backend, kit_backend.unary(op, view), view.shape, view.dtype))
        expected = _reference(reference, source, dtype_name=dtype_name)
        assert_close(got, expected, f"unary({op!r}, {dtype_name}, {kind} view)")


@pytest.mark.parametrize("dtype_name", FLOATS)
def test_sigmoid_is_stable(kit_backend, dtype_name):
    require_dtypes(kit_backend, dtype_name)
    x = to_ndarray(kit_backend, np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype_name))
    got = to_numpy(wrap(kit_backend, kit_backend.unary("sigmoid", x), x.shape, x.dtype))
    expected = np.array([0.0, _sigmoid(-100.0), 0.5, 1.0, 1.0]).astype(dtype_name)
    assert_close(got, expected, f"unary('sigmoid', {dtype_name}, |x| up to 1e4)")


@pytest.mark.parametrize("dtype_name", FLOATS)
def test_erf_tails(kit_backend, dtype_name):
    require_dtypes(kit_backend, dtype_name)
    values = np.array([-np.inf, -6.0, -2.5, -1e-3, 0.0, 1e-3, 0.7, 2.0, 3.5, 6.0, np.inf])
    x = to_ndarray(kit_backend, values.astype(dtype_name))
    got = to_numpy(wrap(kit_backend, kit_backend.unary("erf", x), x.shape, x.dtype))
    expected = _erf(values.astype(dtype_name).astype(np.float64)).astype(dtype_name)
    assert_close(got, expected, f"unary('erf', {dtype_name}, tails and tiny |x|)")


# --------------------------------------------------------------------- binary
def _operand_pairs(backend, a, b):
    """(kind, a view, b view, a in NumPy, b in NumPy): same shapes, mixed layouts."""
    for (kind, va, na), (_, vb, nb) in zip(
        strided_views(backend, a, KINDS), strided_views(backend, b, KINDS)
    ):
        yield f"{kind} a and b", va, vb, na, nb
    # a transposed view against a dense one: the `x @ w.T`-style layouts mixed
    at = to_ndarray(backend, np.ascontiguousarray(a.T)).permute((1, 0))
    yield "transposed a, dense b", at, to_ndarray(backend, b), a, b
    # a bias row broadcast over the batch: stride 0 in dim 0, read in place
    bias = to_ndarray(backend, b[0]).broadcast_to(b.shape)
    yield (
        "dense a, broadcast bias b",
        to_ndarray(backend, a),
        bias,
        a,
        np.broadcast_to(b[0], b.shape),
    )
    # a column broadcast against a row: stride 0 in a different dim of each operand
    col = to_ndarray(backend, a[:, :1]).broadcast_to(a.shape)
    row = to_ndarray(backend, b[:1]).broadcast_to(b.shape)
    ncol = np.broadcast_to(a[:, :1], a.shape)
    yield "broadcast column a, broadcast row b", col, row, ncol, np.broadcast_to(b[:1], b.shape)


@pytest.mark.parametrize(("op", "dtype_name"), _cases(BINARY))
def test_binary(kit_backend, op, dtype_name):
    (dtype,) = require_dtypes(kit_backend, dtype_name)
    _, a_range, b_range, reference = BINARY[op]
    a = _rounded(random_array((3, 4), dtype_name, *a_range, seed=1), dtype_name)
    b = _rounded(random_array((3, 4), dtype_name, *b_range, seed=2), dtype_name)
    out_dtype = DTYPES["bool"] if op in COMPARISONS else dtype
    for kind, va, vb, na, nb in _operand_pairs(kit_backend, a, b):
        got = to_numpy(wrap(kit_backend, kit_backend.binary(op, va, vb), va.shape, out_dtype))
        expected = _reference(reference, na, nb, dtype_name=dtype_name)
        if op in COMPARISONS:
            expected = reference(na, nb)  # compare in the dtype itself, not widened
        assert_close(got, expected, f"binary({op!r}, {dtype_name}, {kind})")


# op: the scalar for each dtype kind
SCALARS = {"f": [2.5, -0.75], "i": [3, -2], "b": [True, False]}


@pytest.mark.parametrize(("op", "dtype_name"), _cases(BINARY))
@pytest.mark.parametrize("reflected", [False, True], ids=["x op s", "s op x"])
def test_binary_scalar(kit_backend, op, dtype_name, reflected):
    (dtype,) = require_dtypes(kit_backend, dtype_name)
    _, a_range, _, reference = BINARY[op]
    if op == "div" and reflected:
        a_range = (0.5, 4)  # keep away from 0 in the denominator
    if op == "pow":
        a_range = (0.5, 3) if dtype.kind == "f" else (0, 3)
    data = _rounded(random_array((3, 4), dtype_name, *a_range), dtype_name)
    out_dtype = DTYPES["bool"] if op in COMPARISONS else dtype
    for value in SCALARS[dtype.kind]:
        if op == "pow" and dtype.kind == "i" and (value < 0 or reflected):
            value = 2  # integer powers need a non-negative exponent
        if op == "pow" and reflected:
            value = abs(value)  # a negative base to a fractional power is NaN
        for kind, view, source in strided_views(
            kit_backend, data, ("contiguous", "transposed", "broadcast", "0-d")
        ):
            raw = kit_backend.binary_scalar(op, view, value, reflected)
            got = to_numpy(wrap(kit_backend, raw, view.shape, out_dtype))
            scalar = np.array(value, dtype_name)  # the scalar is converted to a.dtype first
            args = (scalar, source) if reflected else (source, scalar)
            if op in COMPARISONS:
                expected = np.asarray(reference(*args))
            else:
                expected = _reference(reference, *args, dtype_name=dtype_name)
            side = f"{value!r} {op} x" if reflected else f"x {op} {value!r}"
            assert_close(got, expected, f"binary_scalar({side}, {dtype_name}, {kind} view)")


# ---------------------------------------------------------------------- where
@pytest.mark.parametrize("dtype_name", NUMERIC + BOOL)
def test_where(kit_backend, dtype_name):
    require_dtypes(kit_backend, dtype_name, "bool")
    cond = random_array((3, 4), "bool", seed=3)
    a = random_array((3, 4), dtype_name, -5, 5, seed=4)
    b = random_array((3, 4), dtype_name, -5, 5, seed=5)
    for (kind, vc, nc), (_, va, na), (_, vb, nb) in zip(
        strided_views(kit_backend, cond, KINDS),
        strided_views(kit_backend, a, KINDS),
        strided_views(kit_backend, b, KINDS),
    ):
        got = to_numpy(wrap(kit_backend, kit_backend.where(vc, va, vb), va.shape, va.dtype))
        assert_close(got, np.where(nc, na, nb), f"where({dtype_name}, {kind} cond, a, b)")
    # a broadcast mask (a causal-mask row) against dense operands
    mask = to_ndarray(kit_backend, cond[0]).broadcast_to((3, 4))
    va = to_ndarray(kit_backend, a)
    vb = to_ndarray(kit_backend, b)
    got = to_numpy(wrap(kit_backend, kit_backend.where(mask, va, vb), (3, 4), va.dtype))
    expected = np.where(np.broadcast_to(cond[0], (3, 4)), a, b)
    assert_close(got, expected, f"where({dtype_name}, broadcast cond)")
