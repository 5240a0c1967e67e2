"""Conformance: argsort, the stable sorting permutation, on strided views and every dtype.

Ties keep their order in both directions and nan sorts as the largest value, so the result
is one exact permutation: it must equal NumPy's stable argsort (for descending, the stable
argsort of the reversed axis, reversed back).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygpt.dtypes import int64
from tinygpt.testing.helpers import random_array, require_dtypes, strided_views, wrap
from tinygpt.testing.helpers import to_numpy as read

DTYPES = ("float16", "float32", "float64", "int32", "int64", "bool")
KINDS = ("contiguous", "offset", "transposed", "reversed", "stepped", "broadcast")


def expected_argsort(values: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    if not descending:
        return np.argsort(values, axis=axis, kind="stable")
    flipped = np.argsort(np.flip(values, axis), axis=axis, kind="stable")
    return values.shape[axis] - 1 - np.flip(flipped, axis)


def _argsort(backend, view, axis, descending):
    return read(wrap(backend, backend.argsort(view, axis, descending), view.shape, int64))


@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
def test_argsort_matches_numpy(kit_backend, dtype_name, kind, descending):
    require_dtypes(kit_backend, dtype_name)
    # integers in [-3, 3] on purpose: many ties, whose order must be kept
    data = random_array((3, 4, 5), dtype_name, -3, 3)
    for _, view, source in strided_views(kit_backend, data, (kind,)):
        for axis in range(view.ndim):
            got = _argsort(kit_backend, view, axis, descending)
            want = expected_argsort(source, axis, descending)
            assert np.array_equal(got, want), (
                f"argsort({dtype_name}, {kind} view {view.shape}, axis={axis}, "
                f"descending={descending}): got\n{got}\nexpected\n{want}"
            )


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
def test_argsort_puts_nan_last_ascending_and_first_descending(kit_backend, descending):
    require_dtypes(kit_backend, "float32")
    data = np.array([[2.0, np.nan, -np.inf, 1.0, np.nan, np.inf, -0.0, 0.0]], np.float32)
    for _, view, source in strided_views(kit_backend, data, ("contiguous",)):
        got = _argsort(kit_backend, view, 1, descending)
        assert np.array_equal(got, expected_argsort(source, 1, descending)), got


@pytest.mark.parametrize("shape", [(1,), (7, 1), (1, 0), (0, 3)])
def test_argsort_edge_shapes(kit_backend, shape):
    require_dtypes(kit_backend, "float32")
    data = random_array(shape, "float32")
    for _, view, source in strided_views(kit_backend, data, ("contiguous",)):
        for axis in range(view.ndim):
            if view.size == 0:
                continue  # core never asks for an empty sort
            got = _argsort(kit_backend, view, axis, False)
            assert np.array_equal(got, expected_argsort(source, axis, False))


# ------------------------------------------------------------------ fused topk
def _topk(backend, view, axis, k, descending):
    shape = view.shape[:axis] + (k,) + view.shape[axis + 1 :]
    return read(wrap(backend, backend.topk(view, axis, k, descending), shape, int64))


@pytest.mark.parametrize("dtype_name", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
def test_topk_is_the_first_k_of_argsort(kit_backend, dtype_name, kind, descending):
    if "topk" not in kit_backend.fused_ops:
        pytest.skip(f"{kit_backend.name} lists no fused topk")
    require_dtypes(kit_backend, dtype_name)
    data = random_array((3, 40, 5), dtype_name, -3, 3)  # many ties: their order is exact
    for _, view, source in strided_views(kit_backend, data, (kind,)):
        for axis in range(view.ndim):
            n = view.shape[axis]
            want = expected_argsort(source, axis, descending)
            for k in sorted({1, 2, n // 2, n}):
                got = _topk(kit_backend, view, axis, k, descending)
                first = np.take(want, np.arange(k), axis=axis)
                assert np.array_equal(got, first), (
                    f"topk({dtype_name}, {kind} view {view.shape}, axis={axis}, k={k}, "
                    f"descending={descending}): got\n{got}\nexpected\n{first}"
                )


def test_topk_with_nan_and_a_long_row(kit_backend):
    if "topk" not in kit_backend.fused_ops:
        pytest.skip(f"{kit_backend.name} lists no fused topk")
    require_dtypes(kit_backend, "float32")
    data = np.random.default_rng(3).standard_normal((2, 5000)).astype(np.float32)
    data[0, [17, 4000]] = np.nan
    data[1, 100:300] = 7.0  # a block of ties at the top
    for _, view, source in strided_views(kit_backend, data, ("contiguous",)):
        for descending in (True, False):
            got = _topk(kit_backend, view, 1, 250, descending)
            want = expected_argsort(source, 1, descending)[:, :250]
            assert np.array_equal(got, want), descending
