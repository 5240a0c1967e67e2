"""t, narrow, flip, fliplr/flipud, repeat, as_strided, stride() and storage_offset(): forward
against NumPy, backward against float64 finite differences, every backend; the same calls
against PyTorch where it is installed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg
from tinygpt.errors import ShapeError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4)).astype(np.float32)


def test_t_and_stride(device):
    x = tg.tensor(X, device=device)
    assert x.stride() == (4, 1) and x.stride(0) == 4 and x.stride(-1) == 1
    np.testing.assert_array_equal(x.t().numpy(), X.T)
    assert x.t().stride() == (1, 4)  # a view: the strides are swapped, nothing is copied
    assert x.t().is_contiguous() is False
    assert tg.t(tg.ones(3, device=device)).shape == (3,)
    with pytest.raises(ShapeError, match="t: expects a tensor with <= 2 dims"):
        tg.ones(2, 2, 2, device=device).t()


def test_narrow_is_a_view(device):
    x = tg.tensor(X, device=device)
    np.testing.assert_array_equal(x.narrow(1, 1, 2).numpy(), X[:, 1:3])
    np.testing.assert_array_equal(tg.narrow(x, 0, -2, 2).numpy(), X[-2:])
    assert x.narrow(1, 1, 2).storage_offset() == 1
    with pytest.raises(ShapeError, match="narrow: start 3 and length 2"):
        x.narrow(1, 3, 2)


@pytest.mark.parametrize("dims", [(0,), (1,), (0, 1), (-1,), ()])
def test_flip_matches_numpy(device, dims):
    x = tg.tensor(X, device=device)
    np.testing.assert_array_equal(x.flip(dims).numpy(), np.flip(X, dims) if dims else X)
    np.testing.assert_array_equal(tg.flip(x, dims).numpy(), np.flip(X, dims) if dims else X)


def test_flip_copies_and_variants(device):
    x = tg.tensor(X, device=device)
    flipped = x.flip(0)
    flipped[0, 0] = 100.0
    assert x[2, 0].item() == X[2, 0]  # PyTorch's flip copies too
    np.testing.assert_array_equal(x.flip(0, 1).numpy(), X[::-1, ::-1])
    np.testing.assert_array_equal(tg.fliplr(x).numpy(), np.fliplr(X))
    np.testing.assert_array_equal(tg.flipud(x).numpy(), np.flipud(X))


@pytest.mark.parametrize("sizes", [(2, 1), (1, 3), (2, 2, 2), (0, 1), (3, 1, 1)])
def test_repeat_matches_numpy_tile(device, sizes):
    got = tg.tensor(X, device=device).repeat(*sizes)
    np.testing.assert_array_equal(got.numpy(), np.tile(X, sizes))
    assert tg.tensor(X, device=device).repeat(sizes).shape == np.tile(X, sizes).shape
    with pytest.raises(ShapeError, match="at least one size per dim"):
        tg.tensor(X, device=device).repeat(2)


def test_as_strided_matches_numpy(device):
    base = np.arange(12, dtype=np.float32)
    x = tg.tensor(base, device=device)
    windows = x.as_strided((4, 3), (2, 1))  # overlapping sliding windows
    expected = np.lib.stride_tricks.as_strided(base, (4, 3), (8, 4))
    np.testing.assert_array_equal(windows.numpy(), expected)
    tail = x[2:].as_strided((2, 2), (1, 2))  # the offset defaults to the view's own
    np.testing.assert_array_equal(tail.numpy(), [[2.0, 4.0], [3.0, 5.0]])
    np.testing.assert_array_equal(tg.as_strided(x, (2,), (5,), 1).numpy(), [1.0, 6.0])
    with pytest.raises(ShapeError, match="outside the 12 elements"):
        x.as_strided((3,), (5,), 2)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.t() * 2,
        lambda x: x.narrow(1, 1, 2),
        lambda x: x.flip(0, 1) * tg.arange(4.0, dtype=tg.float64, device=x.device),
        lambda x: x.repeat(2, 3),
        lambda x: x.reshape(-1).as_strided((3, 4), (2, 1)),  # overlapping: summed gradient
        lambda x: x.t().as_strided((2, 2), (1, 3), 1),  # a view of a transposed view
    ],
    ids=["t", "narrow", "flip", "repeat", "as_strided", "as_strided of a view"],
)
def test_view_gradients(device, fn):
    x = tg.tensor(RNG.normal(size=(3, 4)), dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(fn, [x])


@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
    data=st.data(),
)
def test_repeat_and_flip_any_shape(shape, data):
    reps = tuple(
        data.draw(st.lists(st.integers(0, 3), min_size=len(shape), max_size=len(shape) + 1))
    )
    dims = tuple(data.draw(st.sets(st.integers(0, len(shape) - 1))))
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    for device in [info.name for info in tg.backends() if info.available]:
        t = tg.tensor(x, device=device)
        np.testing.assert_array_equal(t.repeat(*reps).numpy(), np.tile(x, reps))
        np.testing.assert_array_equal(t.flip(dims).numpy(), np.flip(x, dims) if dims else x)


@pytest.mark.oracle
def test_views_match_pytorch(device):
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=(3, 4))
    ours = tg.tensor(x, device=device, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    results = []
    for t in (ours, theirs):
        results.append(
            [
                t.t(),
                t.narrow(1, 1, 2),
                t.flip(0),
                t.repeat(2, 1, 2),
                t.reshape(-1).as_strided((3, 3), (3, 1), 1),
            ]
        )
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert ours.t().stride() == theirs.t().stride()
    assert ours.narrow(1, 1, 2).storage_offset() == theirs.narrow(1, 1, 2).storage_offset()
    sum(r.sum() * (i + 1) for i, r in enumerate(results[0])).backward()
    sum(r.sum() * (i + 1) for i, r in enumerate(results[1])).backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy())
