"""cumsum, cumprod and prod: forward against NumPy, backward against float64 finite
differences (zeros included: the product gradients never divide by the input), every
backend; the same calls against PyTorch where it is installed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("n", [1, 2, 5, 8, 13])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum_and_cumprod_match_numpy(device, n, dim):
    x = RNG.uniform(0.5, 1.5, size=(3, n)).astype(np.float32)
    axis = dim % 2
    t = tg.tensor(x, device=device)
    np.testing.assert_allclose(t.cumsum(dim).numpy(), np.cumsum(x, axis), rtol=1e-5)
    np.testing.assert_allclose(tg.cumprod(t, dim).numpy(), np.cumprod(x, axis), rtol=1e-5)


def test_integer_and_bool_scans_give_int64(device):
    ints = tg.tensor([[1, 2, 3], [4, 5, 6]], dtype=tg.int32, device=device)
    assert ints.cumsum(1).dtype == tg.int64
    assert ints.cumsum(1).tolist() == [[1, 3, 6], [4, 9, 15]]
    assert ints.cumprod(0).tolist() == [[1, 2, 3], [4, 10, 18]]
    mask = tg.tensor([True, False, True], device=device)
    assert mask.cumsum(0).tolist() == [1, 1, 2]
    assert ints.cumsum(1, dtype=tg.float64).dtype == tg.float64


@pytest.mark.parametrize("dim", [None, 0, 1, 2, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_prod_matches_numpy(device, dim, keepdim):
    x = RNG.uniform(0.5, 1.5, size=(2, 5, 3)).astype(np.float32)
    got = tg.tensor(x, device=device).prod(dim, keepdim=keepdim) if dim is not None else None
    if dim is None:
        got = tg.prod(tg.tensor(x, device=device))
        want = np.prod(x)
    else:
        want = np.prod(x, axis=dim, keepdims=keepdim)
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)


def test_prod_edge_cases(device):
    assert tg.tensor([2, 3, 4], device=device).prod().item() == 24
    assert tg.tensor([2, 3, 4], device=device).prod().dtype == tg.int64
    assert tg.zeros(0, device=device).prod().item() == 1.0  # the empty product
    assert tg.zeros(2, 0, device=device).prod(1).tolist() == [1.0, 1.0]
    assert tg.tensor(3.0, device=device).prod(0).item() == 3.0
    assert tg.tensor(3.0, device=device).cumsum(0).item() == 3.0


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.cumsum(1),
        lambda x: x.cumsum(0),
        lambda x: x.cumprod(1),
        lambda x: x.prod(1),
        lambda x: x.prod(),
        lambda x: x.prod(0, keepdim=True),
    ],
    ids=["cumsum1", "cumsum0", "cumprod", "prod dim", "prod all", "prod keepdim"],
)
@pytest.mark.parametrize("zeros", [0, 1, 2], ids=["no zero", "one zero", "two zeros"])
def test_scan_gradients(device, fn, zeros):
    x = RNG.uniform(0.5, 1.5, size=(3, 5))
    x.reshape(-1)[[1, 7][:zeros]] = 0.0  # zeros: where out / x would divide by 0
    t = tg.tensor(x, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(fn, [t])


@given(
    shape=st.lists(st.integers(1, 9), min_size=1, max_size=3).map(tuple),
    data=st.data(),
)
def test_cumsum_any_shape(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = np.random.default_rng(1).integers(-5, 6, size=shape)
    for device in [info.name for info in tg.backends() if info.available]:
        t = tg.tensor(x, device=device)
        np.testing.assert_array_equal(t.cumsum(dim).numpy(), np.cumsum(x, dim))
        np.testing.assert_array_equal(t.cumprod(dim).numpy(), np.cumprod(x, dim))


@pytest.mark.oracle
def test_scans_match_pytorch(device):
    torch = pytest.importorskip("torch")
    x = RNG.uniform(-1.5, 1.5, size=(3, 6))
    x[1, 2] = 0.0
    for name in ("cumsum", "cumprod"):
        ours = tg.tensor(x, device=device, requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        getattr(ours, name)(1).sum().backward()
        getattr(theirs, name)(1).sum().backward()
        want = getattr(theirs, name)(1).detach().numpy()
        np.testing.assert_allclose(getattr(ours, name)(1).detach().numpy(), want)
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    ours = tg.tensor(x, device=device, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    ours.prod(1).sum().backward()
    theirs.prod(1).sum().backward()
    want = theirs.prod(0).detach().numpy()
    np.testing.assert_allclose(ours.prod(0).detach().numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert tg.tensor([1, 2], device=device).cumsum(0).dtype == tg.int64
    assert torch.tensor([1, 2], dtype=torch.int32).cumsum(0).dtype == torch.int64
