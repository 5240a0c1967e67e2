"""gather, take_along_dim, scatter, scatter_add (and their in-place forms) and index_select:
forward against NumPy, backward against float64 finite differences, every backend; the same
calls against PyTorch where it is installed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg
from tinygpt.errors import DTypeError, ShapeError

RNG = np.random.default_rng(0)


def np_gather(x, dim, index):
    """torch.gather in NumPy: index may be smaller than x off `dim`."""
    window = tuple(slice(0, n) if d != dim else slice(None) for d, n in enumerate(index.shape))
    return np.take_along_axis(x[window], index, dim)


def np_scatter_add(x, dim, index, src):
    out = x.copy()
    for pos in np.ndindex(*index.shape):
        target = list(pos)
        target[dim] = index[pos]
        out[tuple(target)] += src[pos]
    return out


def np_scatter(x, dim, index, src):
    out = x.copy()
    for pos in np.ndindex(*index.shape):  # in order: the last write wins
        target = list(pos)
        target[dim] = index[pos]
        out[tuple(target)] = src[pos] if isinstance(src, np.ndarray) else src
    return out


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_gather_matches_numpy(device, dim):
    x = RNG.normal(size=(3, 4, 5)).astype(np.float32)
    shape = [2, 3, 4]
    shape[dim % 3] = 6  # longer than x along dim: repeats
    index = RNG.integers(0, x.shape[dim], size=shape)
    got = tg.gather(tg.tensor(x, device=device), dim, tg.tensor(index, device=device))
    np.testing.assert_array_equal(got.numpy(), np_gather(x, dim % 3, index))
    method = tg.tensor(x, device=device).gather(dim, tg.tensor(index, device=device))
    np.testing.assert_array_equal(method.numpy(), got.numpy())


def test_take_along_dim_broadcasts(device):
    x = RNG.normal(size=(3, 4)).astype(np.float32)
    index = np.argsort(x, axis=1)[:1]  # (1, 4): broadcast over rows
    got = tg.take_along_dim(tg.tensor(x, device=device), tg.tensor(index, device=device), 1)
    np.testing.assert_array_equal(got.numpy(), np.take_along_axis(x, np.repeat(index, 3, 0), 1))


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_add_matches_numpy(device, dim):
    x = RNG.normal(size=(3, 4)).astype(np.float32)
    index = RNG.integers(0, x.shape[dim], size=(3, 2))  # repeats accumulate
    src = RNG.normal(size=(4, 3)).astype(np.float32)  # larger than index: only a corner used
    got = tg.tensor(x, device=device).scatter_add(
        dim, tg.tensor(index, device=device), tg.tensor(src, device=device)
    )
    np.testing.assert_allclose(
        got.numpy(), np_scatter_add(x, dim, index, src), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_matches_numpy(device, dim):
    x = RNG.normal(size=(3, 4)).astype(np.float32)
    index = RNG.integers(0, x.shape[dim], size=(3, 2))
    src = RNG.normal(size=(3, 2)).astype(np.float32)
    t = tg.tensor(x, device=device)
    idx = tg.tensor(index, device=device)
    got = t.scatter(dim, idx, tg.tensor(src, device=device))
    np.testing.assert_array_equal(got.numpy(), np_scatter(x, dim, index, src))
    np.testing.assert_array_equal(t.scatter(dim, idx, 7.0).numpy(), np_scatter(x, dim, index, 7.0))
    added = t.scatter(dim, idx, tg.tensor(src, device=device), reduce="add")
    np.testing.assert_allclose(
        added.numpy(), np_scatter_add(x, dim, index, src), rtol=1e-5, atol=1e-6
    )


def test_in_place_scatter_writes_the_tensor(device):
    x = tg.zeros(2, 3, device=device)
    out = x.scatter_(1, tg.tensor([[2], [0]], device=device), 1.0)
    assert out is x
    assert x.tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    x.scatter_add_(0, tg.tensor([[1, 1, 1]], device=device), tg.ones(1, 3, device=device))
    assert x.tolist() == [[0.0, 0.0, 1.0], [2.0, 1.0, 1.0]]
    mask = tg.zeros(2, 3, dtype=tg.bool, device=device)
    mask.scatter_(1, tg.tensor([[1], [2]], device=device), True)
    assert mask.tolist() == [[False, True, False], [False, False, True]]


def test_index_select_method(device):
    x = tg.arange(6.0, device=device).reshape(2, 3)
    assert x.index_select(1, tg.tensor([2, 0], device=device)).tolist() == [[2.0, 0.0], [5.0, 3.0]]


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, s: x.gather(1, tg.tensor([[0, 0, 2], [1, 2, 1]], device=x.device)) * 1.5,
        lambda x, s: x.scatter_add(0, tg.tensor([[1, 0, 1], [1, 1, 0]], device=x.device), s),
        lambda x, s: x.scatter(1, tg.tensor([[2, 0, 1], [0, 0, 2]], device=x.device), s),
        lambda x, s: x.index_select(1, tg.tensor([2, 2, 0], device=x.device)) + s,
    ],
    ids=["gather", "scatter_add", "scatter", "index_select"],
)
def test_gather_scatter_gradients(device, fn):
    x = tg.tensor(RNG.normal(size=(2, 3)), dtype=tg.float64, device=device, requires_grad=True)
    s = tg.tensor(RNG.normal(size=(2, 3)), dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(fn, [x, s])


def test_in_place_scatter_is_differentiable(device):
    w = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    src = tg.tensor([10.0], device=device, requires_grad=True)
    y = w * 2
    y.scatter_(0, tg.tensor([1], device=device), src)
    (y * tg.tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
    assert w.grad.tolist() == [2.0, 0.0, 6.0]  # the overwritten element gets no gradient
    assert src.grad.tolist() == [2.0]


def test_bad_indices_raise_clear_errors(device):
    x = tg.ones(2, 3, device=device)
    with pytest.raises(IndexError, match="gather: index 3 is out of bounds for dim 1"):
        x.gather(1, tg.tensor([[3]], device=device))
    with pytest.raises(IndexError, match="index -1"):
        x.gather(1, tg.tensor([[-1]], device=device))
    with pytest.raises(ShapeError, match="as many dims"):
        x.gather(1, tg.tensor([0], device=device))
    with pytest.raises(ShapeError, match="larger than the input"):
        x.gather(1, tg.zeros(3, 1, dtype=tg.int64, device=device))
    with pytest.raises(DTypeError, match="int64"):
        x.gather(1, tg.zeros(2, 1, device=device))
    with pytest.raises(DTypeError, match="src is float64"):
        x.scatter_add(
            1,
            tg.zeros(2, 1, dtype=tg.int64, device=device),
            tg.ones(2, 1, dtype=tg.float64, device=device),
        )
    with pytest.raises(ShapeError, match="fit inside src"):
        x.scatter_add(
            1, tg.zeros(2, 2, dtype=tg.int64, device=device), tg.ones(2, 1, device=device)
        )


def test_out_of_range_index_is_caught_without_host_checks(device, monkeypatch):
    monkeypatch.setenv("TINYGPT_CHECKS", "0")
    x = tg.ones(2, 3, device=device)
    with pytest.raises(IndexError):  # sent past the end of the flat array: the kernel says so
        x.gather(1, tg.tensor([[0], [-1]], device=device)).tolist()


@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
    data=st.data(),
)
def test_gather_then_scatter_add_any_shape(shape, data):
    dim = data.draw(st.integers(0, len(shape) - 1))
    rng = np.random.default_rng(sum(shape))
    x = rng.normal(size=shape).astype(np.float32)
    index_shape = tuple(rng.integers(1, n + 1) if d != dim else 3 for d, n in enumerate(shape))
    index = rng.integers(0, shape[dim], size=index_shape)
    for device in [info.name for info in tg.backends() if info.available]:
        t = tg.tensor(x, device=device)
        idx = tg.tensor(index, device=device)
        got = t.gather(dim, idx)
        np.testing.assert_array_equal(got.numpy(), np_gather(x, dim, index))
        back = t.scatter_add(dim, idx, got)
        np.testing.assert_allclose(
            back.numpy(), np_scatter_add(x, dim, index, got.numpy()), rtol=1e-5
        )


@pytest.mark.oracle
def test_gather_scatter_match_pytorch(device):
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=(3, 4))
    index = RNG.integers(0, 4, size=(3, 5))
    src = RNG.normal(size=(3, 4))  # PyTorch's backward needs src shaped like the index
    ours = tg.tensor(x, device=device, requires_grad=True)
    ours_src = tg.tensor(src, device=device, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    theirs_src = torch.tensor(src, requires_grad=True)
    ours_out = (
        ours.gather(1, tg.tensor(index, device=device)) * 2
        + ours.scatter_add(1, tg.tensor(index[:, :4], device=device), ours_src)[:, :1]
    )
    theirs_out = (
        theirs.gather(1, torch.from_numpy(index)) * 2
        + theirs.scatter_add(1, torch.from_numpy(index[:, :4]), theirs_src)[:, :1]
    )
    np.testing.assert_allclose(ours_out.detach().numpy(), theirs_out.detach().numpy())
    ours_out.sum().backward()
    theirs_out.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy())
    np.testing.assert_allclose(ours_src.grad.numpy(), theirs_src.grad.numpy())
    unique = np.array([[2, 0], [1, 3], [0, 1]])  # no repeats: PyTorch's result is defined
    ours_s = tg.tensor(x, device=device).scatter(1, tg.tensor(unique, device=device), -1.0)
    theirs_s = torch.from_numpy(x).scatter(1, torch.from_numpy(unique), -1.0)
    np.testing.assert_array_equal(ours_s.numpy(), theirs_s.numpy())
