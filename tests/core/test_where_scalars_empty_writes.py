"""`tg.where(cond, 1.0, -1.0)` with two numbers (PyTorch's result dtypes, on cond's device),
and in-place writes into empty tensors (nothing to write; not a broadcast view)."""

from __future__ import annotations

import pytest

import tinygpt as tg


@pytest.mark.parametrize(
    ("a", "b", "dtype", "values"),
    [
        (1.0, -1.0, tg.float32, [1.0, -1.0]),
        (1, 2, tg.int64, [1, 2]),
        (True, False, tg.bool, [True, False]),
        (1, 2.5, tg.float32, [1.0, 2.5]),
    ],
)
def test_where_with_two_numbers(device, a, b, dtype, values):
    cond = tg.tensor([True, False], device=device)
    out = tg.where(cond, a, b)
    assert out.dtype == dtype and out.tolist() == values
    assert out.device == cond.device


def test_where_with_two_numbers_follows_the_default_dtype(device):
    tg.set_default_dtype(tg.float64)
    try:
        assert tg.where(tg.tensor([True], device=device), 1.0, 0.0).dtype == tg.float64
    finally:
        tg.set_default_dtype(tg.float32)


def test_writes_into_empty_tensors(device):
    x = tg.empty(2, 0, device=device)
    assert x.copy_(tg.ones(2, 0, device=device)).shape == (2, 0)
    assert x.fill_(3.0).shape == (2, 0)
    y = tg.zeros(0, 4, device=device)
    y += 1
    assert y.shape == (0, 4)
