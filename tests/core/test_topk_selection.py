"""`tg.topk` with k <= n // 8, where a backend's fused selection kernel (cpu) replaces the full
sort: the same values and positions as the sort (ties by position, nan largest), on every
device, and the gradient reaches the selected places."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg


def _expected(values: np.ndarray, k: int, axis: int, largest: bool) -> np.ndarray:
    if largest:
        flipped = np.argsort(np.flip(values, axis), axis=axis, kind="stable")
        order = values.shape[axis] - 1 - np.flip(flipped, axis)
    else:
        order = np.argsort(values, axis=axis, kind="stable")
    return np.take(order, np.arange(k), axis=axis)


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("axis", [0, 2, -1])
def test_selection_equals_the_sorted_prefix(device, largest, axis):
    rng = np.random.default_rng(0)
    data = rng.integers(-20, 20, (80, 3, 96)).astype(np.float32)  # ties everywhere
    x = tg.tensor(data, device=device)
    k = 9
    got = tg.topk(x, k, dim=axis, largest=largest)
    want = _expected(data, k, axis, largest)
    np.testing.assert_array_equal(got.indices.numpy(), want)
    np.testing.assert_array_equal(got.values.numpy(), np.take_along_axis(data, want, axis))


def test_vocabulary_sized_row_with_nan(device):
    data = np.random.default_rng(1).standard_normal((2, 50257)).astype(np.float32)
    data[1, 123] = np.nan
    x = tg.tensor(data, device=device)
    got = x.topk(200)
    want = _expected(data, 200, 1, True)
    np.testing.assert_array_equal(got.indices.numpy(), want)
    assert got.indices.numpy()[1, 0] == 123  # nan is the largest value, as in PyTorch


def test_gradient_reaches_the_selected_places(device):
    data = np.random.default_rng(2).standard_normal((3, 64))
    x = tg.tensor(data, device=device, requires_grad=True)
    values, indices = tg.topk(x, 4)
    (values * tg.tensor([4.0, 3.0, 2.0, 1.0], device=device)).sum().backward()
    want = np.zeros_like(data)
    np.put_along_axis(want, indices.numpy(), np.array([[4.0, 3.0, 2.0, 1.0]]), axis=1)
    np.testing.assert_array_equal(x.grad.numpy(), want)


def test_float16_and_integers(device):
    data = np.random.default_rng(3).integers(-50, 50, (4, 200))
    for dtype in (tg.int64, tg.float16):
        if dtype not in tg.get_backend(device).dtypes:
            continue  # a backend without float16
        x = tg.tensor(data, dtype=dtype, device=device)
        got = tg.topk(x, 10, largest=False)
        np.testing.assert_array_equal(got.indices.numpy(), _expected(data, 10, 1, False))
