"""PyTorch's legacy `x.new(...)`, `x.resize_` / `resize_as_`, and `device=` on the `new_*`
constructors."""

from __future__ import annotations

import pytest

import tinygpt as tg


def test_new_forms(device):
    x = tg.ones(2, dtype=tg.float64, device=device)
    assert x.new(2, 3).shape == (2, 3) and x.new(2, 3).dtype == tg.float64
    assert x.new([1, 2]).tolist() == [1.0, 2.0] and x.new((2, 3)).tolist() == [2.0, 3.0]
    assert x.new(tg.Size([2, 3])).shape == (2, 3)
    assert x.new().shape == (0,) and x.new(3).device == x.device
    assert x.new(2, dtype=tg.int64).dtype == tg.int64


def test_resize_keeps_the_row_major_prefix(device):
    y = tg.arange(6.0, device=device)
    before = y._version[0]  # (a shared counter box)
    assert y.resize_(2, 2) is y and y.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    y.resize_((3, 3))
    assert y.shape == (3, 3) and y.reshape(-1)[:4].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert y.reshape(-1)[4:].tolist() == [0.0] * 5
    y.resize_as_(tg.ones(1, device=device))
    assert y.tolist() == [0.0] and y._version[0] > before


def test_resize_refuses_tensors_that_require_grad(device):
    with pytest.raises(RuntimeError, match="requires grad"):
        tg.ones(3, requires_grad=True, device=device).resize_(2)


def test_new_constructors_take_a_device(device):
    x = tg.ones(2, device=device)
    for other in {"numpy", device}:
        assert x.new_zeros(3, device=other).device == tg.device(other)
        assert x.new_full((2,), 7.0, device=other).tolist() == [7.0, 7.0]
        assert x.new_tensor([1, 2], device=other).device == tg.device(other)
