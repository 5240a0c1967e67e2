# ruff: noqa: E501 - the case table reads best one case per line
"""Maths, statistics, scans and scatters with PyTorch's names (ops/elementwise_more.py,
ops/stats_more.py, ops/scan_more.py, ops/scatter_more.py): forward against NumPy,
backward against float64 finite differences, on every backend."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.errors import DTypeError, ShapeError

RNG = np.random.default_rng(7)
A = RNG.uniform(-2.0, 2.0, size=(3, 4))
B = RNG.uniform(-2.0, 2.0, size=(3, 4))
P = RNG.uniform(0.1, 0.9, size=(3, 4))  # probabilities
POS = RNG.uniform(0.5, 3.0, size=(3, 4))
V3 = RNG.uniform(-1.0, 1.0, size=(4, 3))
W3 = RNG.uniform(-1.0, 1.0, size=(4, 3))
# distinct values, so selections (kthvalue, quantile, cummax) have no ties under perturbation
D = np.arange(12.0).reshape(3, 4)[:, [2, 0, 3, 1]] + RNG.uniform(-0.3, 0.3, size=(3, 4))


def _t(a, device, grad=False):
    return tg.tensor(a, dtype=tg.float64, device=device, requires_grad=grad)


def _idx(values, device):
    return tg.tensor(values, dtype=tg.int64, device=device)


def _scatter_reduce(x, index, src, reduce, include_self):
    out = x.copy()
    touched = np.zeros_like(x, dtype=bool)
    groups = {}
    for i in range(index.shape[0]):
        for j in range(index.shape[1]):
            groups.setdefault((i, index[i, j]), []).append(src[i, j])
    for (i, k), vals in groups.items():
        pool = ([x[i, k]] if include_self else []) + vals
        combine = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max, "amin": np.min}
        out[i, k] = combine[reduce](pool)
        touched[i, k] = True
    return out


IDX = np.array([[0, 1, 0, 3], [2, 2, 1, 0], [3, 3, 3, 1]])


# fmt: off
# (name, tinygpt function of float64 tensors, numpy reference, inputs)
CASES = [
    ("fmod",          lambda a, b: tg.fmod(a, b),                 np.fmod, [A, B]),
    ("fmod_scalar",   lambda a: a.fmod(0.7),                      lambda a: np.fmod(a, 0.7), [A]),
    ("logaddexp",     lambda a, b: tg.logaddexp(a, b),            np.logaddexp, [A, B]),
    ("logaddexp2",    lambda a, b: a.logaddexp2(b),               np.logaddexp2, [A, B]),
    ("hypot",         lambda a, b: tg.hypot(a, b),                np.hypot, [A, B]),
    ("xlogy",         lambda a, p: tg.xlogy(a, p),                lambda a, p: a * np.log(p), [A, P]),
    ("deg2rad",       lambda a: tg.deg2rad(a),                    np.deg2rad, [A]),
    ("rad2deg",       lambda a: a.rad2deg(),                      np.rad2deg, [A]),
    ("copysign",      lambda a, b: tg.copysign(a, b),             np.copysign, [A, B]),
    ("fmax",          lambda a, b: tg.fmax(a, b),                 np.fmax, [A, B]),
    ("fmin",          lambda a, b: a.fmin(b),                     np.fmin, [A, B]),
    ("sinc",          lambda a: tg.sinc(a),                       np.sinc, [A]),
    ("logit",         lambda p: tg.logit(p),                      lambda p: np.log(p / (1 - p)), [P]),
    ("logit_eps",     lambda p: p.logit(0.2),                     lambda p: np.log(np.clip(p, 0.2, 0.8) / (1 - np.clip(p, 0.2, 0.8))), [P]),
    ("float_power",   lambda p, b: tg.float_power(p, b),          np.float_power, [POS, B]),
    ("nanmean",       lambda a: tg.nanmean(a.masked_fill(a > 1.5, math.nan), 1),
                      lambda a: np.nanmean(np.where(a > 1.5, np.nan, a), 1), [A]),
    ("trapezoid",     lambda a: tg.trapezoid(a),                  lambda a: np.trapezoid(a) if hasattr(np, "trapezoid") else np.trapz(a), [A]),
    ("trapz_dx",      lambda a: tg.trapz(a, dx=0.5, dim=0),       lambda a: (a[1:] + a[:-1]).sum(0) * 0.25, [A]),
    ("trapezoid_x",   lambda a, x: tg.trapezoid(a, x[0].cumsum(0)),
                      lambda a, x: ((a[:, 1:] + a[:, :-1]) / 2 * np.diff(np.cumsum(x[0]))).sum(-1), [A, POS]),
    ("cum_trapezoid", lambda a: tg.cumulative_trapezoid(a),       lambda a: np.cumsum((a[:, 1:] + a[:, :-1]) / 2, -1), [A]),
    ("cov",           lambda a: tg.cov(a),                        np.cov, [A]),
    ("cov_c0",        lambda a: a.cov(correction=0),              lambda a: np.cov(a, bias=True), [A]),
    ("cov_weights",   lambda a, p: tg.cov(a, fweights=tg.tensor([1, 2, 1, 3], device=a.device), aweights=p[0]),
                      lambda a, p: np.cov(a, fweights=[1, 2, 1, 3], aweights=p[0]), [A, P]),
    ("corrcoef",      lambda a: tg.corrcoef(a),                   np.corrcoef, [A]),
    ("cross",         lambda v, w: tg.cross(v, w, dim=1),         lambda v, w: np.cross(v, w), [V3, W3]),
    ("cross_default", lambda v, w: v.T.cross(w.T),                lambda v, w: np.cross(v, w).T, [V3, W3]),
    ("dist",          lambda a, b: tg.dist(a, b),                 lambda a, b: np.linalg.norm(a - b), [A, B]),
    ("dist_p1",       lambda a, b: a.dist(b, 1),                  lambda a, b: np.abs(a - b).sum(), [A, B]),
    ("renorm",        lambda a: tg.renorm(a, 2, 0, 2.0),
                      lambda a: a * np.where(np.linalg.norm(a, axis=1, keepdims=True) > 2.0,
                                             2.0 / (np.linalg.norm(a, axis=1, keepdims=True) + 1e-7), 1.0), [A]),
    ("kthvalue",      lambda d: tg.kthvalue(d, 2, 1).values,      lambda d: np.sort(d, 1)[:, 1], [D]),
    ("kthvalue_keep", lambda d: d.kthvalue(3, 0, True)[0],        lambda d: np.sort(d, 0)[2:3], [D]),
    ("quantile",      lambda d: tg.quantile(d, 0.3, dim=1),       lambda d: np.quantile(d, 0.3, axis=1), [D]),
    ("quantile_vec",  lambda d: d.quantile(tg.tensor([0.25, 0.9], dtype=tg.float64, device=d.device), 0, keepdim=True),
                      lambda d: np.quantile(d, [0.25, 0.9], axis=0, keepdims=True), [D]),
    ("quantile_all",  lambda d: tg.quantile(d, 0.5),              lambda d: np.quantile(d, 0.5), [D]),
    ("quantile_mid",  lambda d: tg.quantile(d, 0.4, 1, interpolation="midpoint"),
                      lambda d: np.quantile(d, 0.4, axis=1, method="midpoint"), [D]),
    ("nanquantile",   lambda d: tg.nanquantile(d.masked_fill(d > 10, math.nan), 0.5, 1),
                      lambda d: np.nanquantile(np.where(d > 10, np.nan, d), 0.5, axis=1), [D]),
    ("aminmax",       lambda a: tg.aminmax(a, dim=0).min + tg.aminmax(a, dim=0).max,
                      lambda a: a.min(0) + a.max(0), [D]),
    ("cummax",        lambda d: tg.cummax(d, 1).values,           lambda d: np.maximum.accumulate(d, 1), [D]),
    ("cummin",        lambda d: d.cummin(0).values,               lambda d: np.minimum.accumulate(d, 0), [D]),
    ("logcumsumexp",  lambda a: tg.logcumsumexp(a * 100, 1),      lambda a: np.logaddexp.accumulate(a * 100, 1), [A]),
    ("index_copy",    lambda a, b: tg.index_copy(a, 1, tg.tensor([3, 0], device=a.device), b[:, :2]),
                      lambda a, b: np.stack([b[:, 1], a[:, 1], a[:, 2], b[:, 0]], 1), [A, B]),
    ("put_accum",     lambda a, b: a.put(tg.tensor([0, -1, 0], device=a.device), b[0, :3], accumulate=True),
                      lambda a, b: (a.ravel() + np.bincount([0, 11, 0], b[0, :3], 12)).reshape(3, 4), [A, B]),
    ("index_put",     lambda a, b: a.index_put((tg.tensor([0, 2], device=a.device), tg.tensor([1, 3], device=a.device)), b[0, :2]),
                      lambda a, b: np.where(np.isin(np.arange(12).reshape(3, 4), [1, 11]), np.array([[0, b[0, 0], 0, 0], [0, 0, 0, 0], [0, 0, 0, b[0, 1]]]), a), [A, B]),
    ("masked_scatter", lambda a, b: a.masked_scatter(a > 0, b),
                      lambda a, b: _masked_scatter(a, a > 0, b), [A, B]),
]
# fmt: on

for _reduce in ("sum", "prod", "mean", "amax", "amin"):
    for _self in (True, False):
        CASES.append(
            (
                f"scatter_reduce_{_reduce}_{_self}",
                lambda a, d, r=_reduce, s=_self: tg.scatter_reduce(
                    a, 1, tg.tensor(IDX, device=a.device), d, r, include_self=s
                ),
                lambda a, d, r=_reduce, s=_self: _scatter_reduce(a, IDX, d, r, s),
                [A, D],
            )
        )


def _masked_scatter(a, mask, source):
    out = a.copy().ravel()
    out[mask.ravel()] = source.ravel()[: mask.sum()]
    return out.reshape(a.shape)


@pytest.mark.parametrize("name, fn, ref, inputs", CASES, ids=[c[0] for c in CASES])
def test_forward_matches_numpy(device, name, fn, ref, inputs):
    got = fn(*[_t(a, device) for a in inputs])
    np.testing.assert_allclose(got.numpy(), ref(*inputs), rtol=1e-10, atol=1e-12)


# the mask or the selection is built from the input: with finite differences they would move
_NOT_SMOOTH = {"nanmean", "nanquantile", "masked_scatter", "fmod", "fmod_scalar"}


@pytest.mark.parametrize("name, fn, ref, inputs", CASES, ids=[c[0] for c in CASES])
def test_backward_matches_finite_differences(device, name, fn, ref, inputs):
    if name in _NOT_SMOOTH:
        pytest.skip("data-dependent mask: covered by test_masked_gradients")
    args = [_t(a, device, grad=True) for a in inputs]
    assert tg.autograd.gradcheck(fn, args)


def test_masked_gradients(device):
    a = _t(A, device)
    mask = a > 0
    b = _t(B, device)
    assert tg.autograd.gradcheck(
        lambda x, y: x.masked_scatter(mask, y), [_t(A, device, True), _t(B, device, True)]
    )
    nan_mask = a > 1.5
    assert tg.autograd.gradcheck(
        lambda x: tg.nanmean(x.masked_fill(nan_mask, math.nan), 1), [_t(A, device, True)]
    )
    assert tg.autograd.gradcheck(lambda x: tg.fmod(x, b.detach()), [_t(A, device, True)])


def test_special_values(device):
    inf, nan = math.inf, math.nan
    x = tg.tensor([nan, inf, -inf, 1.0], device=device)
    assert tg.nan_to_num(x).tolist()[:1] == [0.0]
    assert tg.nan_to_num(x, 1.0, 2.0, -2.0).tolist() == [1.0, 2.0, -2.0, 1.0]
    assert x.nan_to_num().tolist()[1] == pytest.approx(tg.finfo(tg.float32).max)
    assert tg.logaddexp(
        tg.tensor([-inf, inf], device=device), tg.tensor([-inf, inf], device=device)
    ).tolist() == [-inf, inf]
    assert tg.signbit(tg.tensor([-0.0, 0.0, -2.0, 3.0], device=device)).tolist() == [
        True,
        False,
        True,
        False,
    ]
    assert tg.heaviside(
        tg.tensor([-1.0, 0.0, 2.0], device=device), tg.tensor(0.5, device=device)
    ).tolist() == [0.0, 0.5, 1.0]
    assert tg.xlogy(
        tg.tensor([0.0, 0.0], device=device), tg.tensor([0.0, nan], device=device)
    ).isnan().tolist() == [False, True]
    assert tg.sinc(tg.tensor([0.0], device=device)).tolist() == [1.0]
    assert tg.fmax(
        tg.tensor([nan, 1.0], device=device), tg.tensor([2.0, nan], device=device)
    ).tolist() == [2.0, 1.0]
    assert tg.fmod(tg.tensor([-7, 7], device=device), 3).tolist() == [-1, 1]


def test_searching_and_membership(device):
    seq = tg.tensor([1.0, 3.0, 5.0, 7.0], device=device)
    vals = tg.tensor([[0.0, 3.0], [6.0, 9.0]], device=device)
    np.testing.assert_array_equal(
        tg.searchsorted(seq, vals).numpy(), np.searchsorted([1, 3, 5, 7], [[0, 3], [6, 9]])
    )
    np.testing.assert_array_equal(
        tg.searchsorted(seq, vals, right=True).numpy(),
        np.searchsorted([1, 3, 5, 7], [[0, 3], [6, 9]], side="right"),
    )
    assert tg.searchsorted(seq, 5.0, side="right").item() == 3
    assert tg.searchsorted(seq, vals, out_int32=True).dtype == tg.int32
    np.testing.assert_array_equal(
        tg.bucketize(vals, seq).numpy(), np.digitize([[0, 3], [6, 9]], [1, 3, 5, 7], right=True)
    )
    x = tg.tensor([[1, 2], [3, 4]], device=device)
    assert tg.isin(x, tg.tensor([2, 3], device=device)).tolist() == [[False, True], [True, False]]
    assert x.isin([4], invert=True).tolist() == [[True, True], [True, False]]


def test_counting_ops(device):
    x = tg.tensor([[1.0, 2.0, 2.0, 3.0], [4.0, 4.0, 0.0, 0.0]], device=device)
    values, indices = tg.mode(x, 1)
    assert values.tolist() == [2.0, 0.0] and indices.tolist() == [2, 3]
    np.testing.assert_array_equal(
        tg.histc(x, 4, 0, 4).numpy(), np.histogram(x.numpy(), 4, (0, 4))[0]
    )
    assert tg.histc(x, 2).tolist() == [3.0, 5.0]  # x's own range [0, 4]
    values, indices = tg.cummax(tg.tensor([1.0, 3.0, 3.0, 2.0], device=device), 0)
    assert indices.tolist() == [0, 1, 2, 2]  # a tie moves the index to the latest, as PyTorch


def test_uniques(device):
    x = tg.tensor([1, 1, 2, 2, 3, 1, 1], device=device)
    out, inverse, counts = tg.unique_consecutive(x, return_inverse=True, return_counts=True)
    assert out.tolist() == [1, 2, 3, 1] and inverse.tolist() == [0, 0, 1, 1, 2, 3, 3]
    assert counts.tolist() == [2, 2, 1, 2]
    rows = tg.tensor([[1, 2], [0, 5], [1, 2]], device=device)
    values, inverse = tg.unique(rows, dim=0, return_inverse=True)
    want_values, want_inverse = np.unique(rows.numpy(), axis=0, return_inverse=True)
    np.testing.assert_array_equal(values.numpy(), want_values)
    np.testing.assert_array_equal(inverse.numpy(), want_inverse.ravel())
    assert rows.unique(dim=1).tolist() == [[1, 2], [0, 5], [1, 2]]


def test_errors_name_the_op(device):
    a = _t(A, device)
    with pytest.raises(ValueError, match="scatter_reduce"):
        tg.scatter_reduce(a, 1, _idx(IDX, device), a, "median")
    with pytest.raises(ShapeError, match="cross"):
        tg.cross(a[:2], a[:2])
    with pytest.raises(ValueError, match="quantile"):
        tg.quantile(a, 1.5)
    with pytest.raises(DTypeError, match="quantile"):
        tg.quantile(tg.tensor([1, 2], device=device), 0.5)
    with pytest.raises(DTypeError, match="masked_scatter"):
        a.masked_scatter(a, a)
    with pytest.raises(ShapeError, match="masked_scatter"):
        a.masked_scatter(a > -10, a[0])
    with pytest.raises(IndexError, match="kthvalue"):
        a.kthvalue(5)
