# ruff: noqa: E501 - the case table reads best one case per line
"""The compositions of issue 14's second sweep (ops/extras_linalg.py, ops/extras_stats.py):
forward against NumPy, backward against float64 finite differences, on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.errors import DTypeError, ShapeError

RNG = np.random.default_rng(14)
A = RNG.uniform(-1.0, 1.0, size=(3, 4))
B = RNG.uniform(-1.0, 1.0, size=(4, 2))
V = RNG.uniform(0.3, 1.5, size=(4,))


def _t(a, device, grad=False):
    return tg.tensor(a, dtype=tg.float64, device=device, requires_grad=grad)


# fmt: off
# (name, tinygpt function of float64 tensors, numpy reference, inputs)
CASES = [
    ("diagonal",     lambda a: a.diagonal(),                   lambda a: np.diagonal(a), [A]),
    ("diagonal+1",   lambda a: tg.diagonal(a, 1),              lambda a: np.diagonal(a, 1), [A]),
    ("diagonal-2",   lambda a: a.diagonal(-2),                 lambda a: np.diagonal(a, -2), [A]),
    ("diagonal3d",   lambda a: a.reshape(3, 2, 2).diagonal(0, 1, 2),
                     lambda a: np.diagonal(a.reshape(3, 2, 2), 0, 1, 2), [A]),
    ("diag1d",       lambda v: tg.diag(v),                     lambda v: np.diag(v), [V]),
    ("diag1d-1",     lambda v: v.diag(-1),                     lambda v: np.diag(v, -1), [V]),
    ("diag2d",       lambda a: tg.diag(a, 1),                  lambda a: np.diag(a, 1), [A]),
    ("trace",        lambda a: tg.trace(a),                    lambda a: np.trace(a), [A]),
    ("tensordot",    lambda a, b: tg.tensordot(a, b, 1),       lambda a, b: np.tensordot(a, b, 1), [A, B]),
    ("tensordot_ax", lambda a, b: tg.tensordot(a, b, ([0], [1])),
                     lambda a, b: np.tensordot(a, b, ([0], [1])), [A, B.T[:, :3]]),
    ("kron",         lambda a, b: tg.kron(a, b),               lambda a, b: np.kron(a, b), [A[:2, :2], B]),
    ("kron1d",       lambda a, b: a.kron(b),                   lambda a, b: np.kron(a, b), [V, V[:2]]),
    ("inner",        lambda a, b: tg.inner(a, b),              lambda a, b: np.inner(a, b), [A, B.T]),
    ("addmm",        lambda c, a, b: tg.addmm(c, a, b, beta=0.5, alpha=2),
                     lambda c, a, b: 0.5 * c + 2 * a @ b, [A[:, :2], A, B]),
    ("baddbmm",      lambda c, a, b: c.baddbmm(a, b, alpha=-1),
                     lambda c, a, b: c - a @ b, [A[:2, :2].reshape(1, 2, 2), A[:2].reshape(2, 1, 4),
                                                 B.reshape(1, 4, 2).repeat(2, 0)]),
    ("cdist",        lambda a, b: tg.cdist(a, b),
                     lambda a, b: np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)), [A, B.T[:, :4]]),
    ("cdist_p1",     lambda a, b: tg.cdist(a, b, p=1),
                     lambda a, b: np.abs(a[:, None] - b[None]).sum(-1), [A, B.T[:, :4] + 0.01]),
    ("diff",         lambda a: a.diff(),                       lambda a: np.diff(a), [A]),
    ("diff2_dim0",   lambda a: tg.diff(a, n=2, dim=0),         lambda a: np.diff(a, 2, axis=0), [A]),
    ("diff_prepend", lambda a, v: tg.diff(v, prepend=a[0]),    lambda a, v: np.diff(v, prepend=a[0]), [A, V]),
    ("median_dim",   lambda a: a.median(1).values,             lambda a: np.sort(a, 1)[:, 1], [A]),
    ("median",       lambda a: tg.median(a),                   lambda a: np.sort(a, None)[5], [A]),
    ("std_mean",     lambda a: tg.std_mean(a, 1)[0] + tg.std_mean(a, 1)[1],
                     lambda a: a.std(1, ddof=1) + a.mean(1), [A]),
    ("var_mean",     lambda a: tg.var_mean(a, correction=0)[0] * tg.var_mean(a)[1],
                     lambda a: a.var() * a.mean(), [A]),
    ("nansum",       lambda a: tg.nansum(a.masked_fill(a > 0.8, float("nan")), 0),
                     lambda a: np.nansum(np.where(a > 0.8, np.nan, a), 0), [A]),
    ("masked_select", lambda a: a.masked_select(a > 0),        lambda a: a[a > 0], [A]),
    ("index_add",    lambda a, b: a.index_add(1, tg.tensor([3, 0, 3], device=a.device), b[:, :3], alpha=2),
                     lambda a, b: _index_add(a, b[:, :3]), [A, A]),
    ("index_fill",   lambda a: a.index_fill(0, tg.tensor([2, 0], device=a.device), -1.5),
                     lambda a: np.where(np.array([1, 0, 1])[:, None] == 1, -1.5, a), [A]),
    ("tan",          lambda a: a.tan(),                        np.tan, [A]),
    ("sinh",         lambda a: tg.sinh(a),                     np.sinh, [A]),
    ("cosh",         lambda a: a.cosh(),                       np.cosh, [A]),
    ("log2",         lambda v: tg.log2(v),                     np.log2, [V]),
    ("log10",        lambda v: v.log10(),                      np.log10, [V]),
    ("exp2",         lambda a: tg.exp2(a),                     np.exp2, [A]),
    ("expm1",        lambda a: a.expm1(),                      np.expm1, [A]),
]
# fmt: on


def _index_add(a, src):
    out = a.copy()
    for j, k in enumerate([3, 0, 3]):
        out[:, k] += 2 * src[:, j]
    return out


@pytest.mark.parametrize("name, fn, ref, inputs", CASES, ids=[c[0] for c in CASES])
def test_forward_matches_numpy(device, name, fn, ref, inputs):
    got = fn(*[_t(a, device) for a in inputs])
    np.testing.assert_allclose(got.numpy(), ref(*inputs), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, fn, ref, inputs", CASES, ids=[c[0] for c in CASES])
def test_backward_matches_finite_differences(device, name, fn, ref, inputs):
    if name == "masked_select" or name == "nansum":
        # the mask is built from the input: differentiate with the mask fixed
        mask = _t(inputs[0], device) > (0 if name == "masked_select" else 0.8)
        fn = (
            (lambda a: a.masked_select(mask))
            if name == "masked_select"
            else (lambda a: tg.nansum(a.masked_fill(mask, float("nan")), 0))
        )
    args = [_t(a, device, grad=True) for a in inputs]
    assert tg.autograd.gradcheck(fn, args)


def test_float32_forward(device):
    a = tg.tensor(A.astype(np.float32), device=device)
    assert a.diagonal().dtype == tg.float32 and tg.cdist(a, a).dtype == tg.float32
    np.testing.assert_allclose(tg.log10(a.abs() + 1).numpy(), np.log10(np.abs(A) + 1), rtol=1e-6)


def test_meshgrid_ij_and_xy(device):
    x, y = tg.arange(3, device=device), tg.arange(2, device=device) * 10
    for indexing in ("ij", "xy"):
        got = tg.meshgrid(x, y, indexing=indexing)
        want = np.meshgrid(np.arange(3), np.arange(2) * 10, indexing=indexing)
        assert len(got) == 2
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w)
    with pytest.raises(ValueError, match="indexing"):
        tg.meshgrid(x, y, indexing="yx")


def test_unique_sorted_inverse_counts(device):
    data = np.array([[3, 1, 3], [0, 1, 7]])
    values, inverse, counts = tg.unique(
        tg.tensor(data, device=device), return_inverse=True, return_counts=True
    )
    want_values, want_inverse, want_counts = np.unique(
        data, return_inverse=True, return_counts=True
    )
    np.testing.assert_array_equal(values.numpy(), want_values)
    np.testing.assert_array_equal(inverse.numpy(), want_inverse.reshape(data.shape))
    np.testing.assert_array_equal(counts.numpy(), want_counts)
    assert tg.tensor([], device=device).unique().shape == (0,)
    floats = tg.tensor([2.5, -1.0, 2.5], device=device).unique()
    assert floats.dtype == tg.float32 and floats.tolist() == [-1.0, 2.5]


def test_bincount_and_count_nonzero(device):
    x = tg.tensor([3, 1, 3, 0], device=device)
    assert tg.bincount(x).tolist() == np.bincount([3, 1, 3, 0]).tolist()
    assert x.bincount(minlength=6).tolist() == [1, 1, 0, 2, 0, 0]
    w = tg.tensor([0.5, 1.0, 2.0, 4.0], dtype=tg.float64, device=device)
    np.testing.assert_allclose(tg.bincount(x, w).numpy(), np.bincount([3, 1, 3, 0], [0.5, 1, 2, 4]))
    with pytest.raises(ValueError, match="non-negative"):
        tg.bincount(tg.tensor([-1, 2], device=device))
    with pytest.raises(DTypeError, match="bincount"):
        tg.bincount(tg.tensor([1.0], device=device))
    a = tg.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]], device=device)
    assert tg.count_nonzero(a).item() == 3 and a.count_nonzero(1).tolist() == [2, 1]
    assert tg.count_nonzero(a).dtype == tg.int64


def test_median_indices_and_keepdim(device):
    a = tg.tensor(A, device=device)
    values, indices = a.median(1, keepdim=True)
    assert values.shape == (3, 1)
    np.testing.assert_array_equal(indices.numpy()[:, 0], np.argsort(A, 1)[:, 1])


def test_errors_name_the_op(device):
    a = tg.tensor(A, device=device)
    with pytest.raises(ShapeError, match="trace"):
        tg.trace(a[0])
    with pytest.raises(ShapeError, match="tensordot"):
        tg.tensordot(a, a, 1)
    with pytest.raises(ShapeError, match="addmm"):
        tg.addmm(a, a[0], a)
    with pytest.raises(ShapeError, match="cdist"):
        tg.cdist(a, a[:, :2])
    with pytest.raises(DTypeError, match="masked_select"):
        a.masked_select(a)
    with pytest.raises(DTypeError, match="index_add"):
        a.index_add(0, tg.tensor([0.5], device=device), a[:1])


def test_in_place_forms(device):
    x = tg.zeros(3, 2, device=device)
    view = x[0]
    out = x.index_add_(0, tg.tensor([0, 0], device=device), tg.ones(2, 2, device=device))
    assert out is x and view.tolist() == [2.0, 2.0]
    x.index_fill_(1, tg.tensor([1], device=device), 7.0)
    assert x.tolist() == [[2.0, 7.0], [0.0, 7.0], [0.0, 7.0]]
    y = tg.zeros(1, 3, 1, device=device)
    assert y.squeeze_() is y and y.shape == (3,)
    assert y.unsqueeze_(0) is y and y.shape == (1, 3)
    with pytest.raises(RuntimeError, match="squeeze_"):
        tg.zeros(1, 2, device=device, requires_grad=True).squeeze_()
    z = (tg.ones(2, device=device, requires_grad=True) * 2).detach_()
    assert z.grad_fn is None and not z.requires_grad


def test_random_in_place_fills(device):
    tg.manual_seed(0)
    x = tg.empty(20000, device=device).exponential_(2.0)
    assert x.min().item() >= 0 and abs(x.mean().item() - 0.5) < 0.02
    b = tg.empty(20000, device=device).bernoulli_(0.25)
    assert set(b.unique().tolist()) <= {0.0, 1.0} and abs(b.mean().item() - 0.25) < 0.02
    g = tg.Generator().manual_seed(3)
    first = tg.empty(5, device=device).exponential_(generator=g)
    g.manual_seed(3)
    assert tg.empty(5, device=device).exponential_(generator=g).tolist() == first.tolist()
    with pytest.raises(ValueError, match="lambd"):
        x.exponential_(0.0)
