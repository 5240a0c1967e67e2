"""norm, any/all with a dim, isnan/isinf/isfinite/isclose/allclose: forward against NumPy,
backward against float64 finite differences, every backend; the same against PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg
from tinygpt.errors import DTypeError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4))


def np_norm(x, p, axis=None, keepdims=False):
    a = np.abs(x)
    if p == math.inf:
        return a.max(axis=axis, keepdims=keepdims)
    if p == -math.inf:
        return a.min(axis=axis, keepdims=keepdims)
    if p == 0:
        return (x != 0).sum(axis=axis, keepdims=keepdims).astype(x.dtype)
    return (a**p).sum(axis=axis, keepdims=keepdims) ** (1.0 / p)


@pytest.mark.parametrize("p", [2, 1, 3, 0.5, 0, math.inf, -math.inf])
@pytest.mark.parametrize(
    ("dim", "keepdim"), [(None, False), (1, False), (0, True), ((0, 1), False)]
)
def test_norm_matches_numpy(device, p, dim, keepdim):
    got = tg.tensor(X, dtype=tg.float32, device=device).norm(p, dim, keepdim)
    want = np_norm(X.astype(np.float32), p, dim, keepdim)
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)


def test_norm_defaults_and_function(device):
    x = tg.tensor([[3.0, 4.0], [0.0, 0.0]], device=device)
    assert x.norm().item() == 5.0
    assert tg.norm(x, dim=1).tolist() == [5.0, 0.0]
    assert tg.norm(x, p="fro").item() == 5.0
    assert x.norm(dtype=tg.float64).dtype == tg.float64
    with pytest.raises(DTypeError, match="norm: needs a floating tensor"):
        tg.tensor([1, 2], device=device).norm()
    with pytest.raises(NotImplementedError, match="nuc"):
        x.norm("nuc")


@pytest.mark.parametrize("p", [2, 1, 3, math.inf])
def test_norm_gradients(device, p):
    x = tg.tensor(X, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: t.norm(p, dim=1), [x])
    assert tg.autograd.gradcheck(lambda t: t.norm(p), [x])


@pytest.mark.parametrize("p", [2, 3])
def test_norm_gradient_of_zero_is_zero(device, p):
    x = tg.zeros(3, device=device, requires_grad=True)
    x.norm(p).backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]  # as PyTorch: not nan


@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_any_all_with_dim(device, dim, keepdim):
    mask = np.array([[True, False, False], [True, True, True]])
    for data in (mask, mask.astype(np.float32), mask.astype(np.int64)):
        t = tg.tensor(data, device=device)
        got_any = t.any(dim, keepdim=keepdim) if dim is not None else tg.any(t)
        got_all = t.all(dim, keepdim=keepdim) if dim is not None else tg.all(t)
        keep = keepdim and dim is not None
        np.testing.assert_array_equal(got_any.numpy(), np.any(data, axis=dim, keepdims=keep))
        np.testing.assert_array_equal(got_all.numpy(), np.all(data, axis=dim, keepdims=keep))
        assert got_any.dtype == tg.bool


VALUES = np.array([1.0, np.nan, np.inf, -np.inf, 0.0, -2.5], dtype=np.float32)


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("isnan", np.isnan),
        ("isinf", np.isinf),
        ("isfinite", np.isfinite),
        ("isposinf", np.isposinf),
        ("isneginf", np.isneginf),
    ],
)
def test_value_checks_match_numpy(device, name, ref):
    got = getattr(tg.tensor(VALUES, device=device), name)()
    assert got.dtype == tg.bool
    np.testing.assert_array_equal(got.numpy(), ref(VALUES))
    np.testing.assert_array_equal(
        getattr(tg, name)(tg.tensor(VALUES, device=device)).numpy(), ref(VALUES)
    )
    ints = tg.tensor([1, 2], device=device)
    np.testing.assert_array_equal(getattr(ints, name)().numpy(), ref(np.array([1, 2])))


@pytest.mark.parametrize("equal_nan", [False, True])
def test_isclose_and_allclose_match_numpy(device, equal_nan):
    a = np.array([1.0, 1.0, np.nan, np.inf, -np.inf, 1e-9, 100.0], dtype=np.float32)
    b = np.array([1.0 + 1e-6, 1.1, np.nan, np.inf, np.inf, 0.0, 100.001], dtype=np.float32)
    ta, tb = tg.tensor(a, device=device), tg.tensor(b, device=device)
    want = np.isclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=equal_nan)
    np.testing.assert_array_equal(ta.isclose(tb, equal_nan=equal_nan).numpy(), want)
    assert tg.allclose(ta, tb, equal_nan=equal_nan) is bool(want.all())
    assert tg.allclose(ta[:1], tb[:1]) is True
    assert ta[:2].allclose(tb[:2], rtol=0.2) is True
    ints = tg.tensor([1, 5], device=device)
    np.testing.assert_array_equal(
        ints.isclose(tg.tensor([1, 6], device=device)).numpy(), [True, False]
    )


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=8))
def test_value_checks_any_floats(values):
    x = np.array(values, dtype=np.float32)
    for device in [info.name for info in tg.backends() if info.available]:
        t = tg.tensor(x, device=device)
        np.testing.assert_array_equal(t.isnan().numpy(), np.isnan(x))
        np.testing.assert_array_equal(t.isfinite().numpy(), np.isfinite(x))
        np.testing.assert_array_equal(t.isinf().numpy(), np.isinf(x))


@pytest.mark.oracle
def test_norms_and_checks_match_pytorch(device):
    torch = pytest.importorskip("torch")
    for p in (2, 1, 3, math.inf, -math.inf, 0):
        for dim in (None, 1):
            ours = tg.tensor(X, device=device, requires_grad=True)
            theirs = torch.tensor(X, requires_grad=True)
            out_ours = ours.norm(p, dim)
            out_theirs = theirs.norm(p, dim)
            np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy())
            if p != 0:
                out_ours.sum().backward()
                out_theirs.sum().backward()
                np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-12)
    values = torch.from_numpy(VALUES)
    t = tg.tensor(VALUES, device=device)
    for name in ("isnan", "isinf", "isfinite", "isposinf", "isneginf"):
        np.testing.assert_array_equal(getattr(t, name)().numpy(), getattr(values, name)().numpy())
    np.testing.assert_array_equal(
        t.isclose(t + 1e-6, equal_nan=True).numpy(),
        values.isclose(values + 1e-6, equal_nan=True).numpy(),
    )
    mask = np.array([[True, False], [True, True]])
    np.testing.assert_array_equal(
        tg.tensor(mask, device=device).any(1, keepdim=True).numpy(),
        torch.from_numpy(mask).any(1, keepdim=True).numpy(),
    )
    np.testing.assert_array_equal(
        tg.tensor(mask, device=device).all(0).numpy(), torch.from_numpy(mask).all(0).numpy()
    )
