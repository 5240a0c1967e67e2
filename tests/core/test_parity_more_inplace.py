# ruff: noqa: E501 - the case table reads best one case per line
"""The in-place forms of tensor_inplace_more.py: each `x.op_(...)` writes `x.op(...)` into
x's memory, returns x, bumps the version counter and is recorded by autograd; results of a
wider kind than x are refused; `t_`, `transpose_`, `fill_diagonal_` change x itself."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.errors import DTypeError

RNG = np.random.default_rng(3)
A = RNG.uniform(0.2, 0.9, size=(3, 3))
B = RNG.uniform(0.2, 0.9, size=(3, 3))

# fmt: off
# (name, in-place call, the out-of-place expression it must equal)
CASES = [
    ("sin_",         lambda x, y: x.sin_(),                  lambda x, y: x.sin()),
    ("cos_",         lambda x, y: x.cos_(),                  lambda x, y: x.cos()),
    ("tan_",         lambda x, y: x.tan_(),                  lambda x, y: x.tan()),
    ("log_",         lambda x, y: x.log_(),                  lambda x, y: x.log()),
    ("log2_",        lambda x, y: x.log2_(),                 lambda x, y: x.log2()),
    ("log1p_",       lambda x, y: x.log1p_(),                lambda x, y: x.log1p()),
    ("expm1_",       lambda x, y: x.expm1_(),                lambda x, y: x.expm1()),
    ("rsqrt_",       lambda x, y: x.rsqrt_(),                lambda x, y: x.rsqrt()),
    ("reciprocal_",  lambda x, y: x.reciprocal_(),           lambda x, y: x.reciprocal()),
    ("square_",      lambda x, y: x.square_(),               lambda x, y: x.square()),
    ("floor_",       lambda x, y: x.mul_(4).floor_(),          lambda x, y: (x * 4).floor()),
    ("round_",       lambda x, y: x.mul_(4).round_(),          lambda x, y: (x * 4).round()),
    ("frac_",        lambda x, y: x.mul_(4).frac_(),           lambda x, y: (x * 4).frac()),
    ("clamp_min_",   lambda x, y: x.clamp_min_(0.5),         lambda x, y: x.clamp(min=0.5)),
    ("clamp_max_",   lambda x, y: x.clamp_max_(0.5),         lambda x, y: x.clamp(max=0.5)),
    ("clip_",        lambda x, y: x.clip_(0.3, 0.6),         lambda x, y: x.clamp(0.3, 0.6)),
    ("tril_",        lambda x, y: x.tril_(),                 lambda x, y: x.tril()),
    ("triu_",        lambda x, y: x.triu_(1),                lambda x, y: x.triu(1)),
    ("addmm_",       lambda x, y: x.addmm_(y, y, alpha=2),   lambda x, y: x + 2 * (y @ y)),
    ("lt_",          lambda x, y: x.lt_(y),                  lambda x, y: (x < y).to(x.dtype)),
    ("ge_",          lambda x, y: x.ge_(0.5),                lambda x, y: (x >= 0.5).to(x.dtype)),
    ("ne_",          lambda x, y: x.ne_(y),                  lambda x, y: (x != y).to(x.dtype)),
    ("multiply_",    lambda x, y: x.multiply_(y),            lambda x, y: x * y),
    ("divide_",      lambda x, y: x.divide_(y, rounding_mode="floor"), lambda x, y: (x / y).floor()),
    ("subtract_",    lambda x, y: x.subtract_(y, alpha=3),   lambda x, y: x - 3 * y),
    ("remainder_",   lambda x, y: x.remainder_(0.25),        lambda x, y: x % 0.25),
    ("cumsum_",      lambda x, y: x.cumsum_(1),              lambda x, y: x.cumsum(1)),
    ("hypot_",       lambda x, y: x.hypot_(y),               lambda x, y: tg.hypot(x, y)),
    ("xlogy_",       lambda x, y: x.xlogy_(y),               lambda x, y: tg.xlogy(x, y)),
    ("logit_",       lambda x, y: x.logit_(),                lambda x, y: tg.logit(x)),
    ("atan_",        lambda x, y: x.atan_(),                 lambda x, y: tg.atan(x)),
    ("arcsin_",      lambda x, y: x.arcsin_(),               lambda x, y: tg.asin(x)),
    ("atan2_",       lambda x, y: x.atan2_(y),               lambda x, y: tg.atan2(x, y)),
    ("lgamma_",      lambda x, y: x.lgamma_(),               lambda x, y: tg.lgamma(x)),
    ("erfinv_",      lambda x, y: x.erfinv_(),               lambda x, y: tg.erfinv(x)),
    ("nan_to_num_",  lambda x, y: x.nan_to_num_(),           lambda x, y: x),
    ("index_copy_",  lambda x, y: x.index_copy_(0, tg.tensor([2, 0], device=x.device), y[:2]),
                     lambda x, y: tg.index_copy(x, 0, tg.tensor([2, 0], device=x.device), y[:2])),
    ("scatter_reduce_", lambda x, y: x.scatter_reduce_(1, tg.tensor([[0, 0, 1]] * 3, device=x.device), y, "amax"),
                     lambda x, y: x.scatter_reduce(1, tg.tensor([[0, 0, 1]] * 3, device=x.device), y, "amax")),
]
# fmt: on


def _pair(device, grad=False):
    x = tg.tensor(A, dtype=tg.float64, device=device, requires_grad=grad)
    y = tg.tensor(B, dtype=tg.float64, device=device, requires_grad=grad)
    return x, y


@pytest.mark.parametrize("name, inplace, outofplace", CASES, ids=[c[0] for c in CASES])
def test_writes_the_out_of_place_result_into_x(device, name, inplace, outofplace):
    x, y = _pair(device)
    want = outofplace(x.clone(), y).numpy()
    target = x.clone()
    version = target._version_now
    out = inplace(target, y)
    assert out is target
    assert target._version_now > version
    np.testing.assert_allclose(target.numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("name, inplace, outofplace", CASES, ids=[c[0] for c in CASES])
def test_recorded_by_autograd(device, name, inplace, outofplace):
    a, b = _pair(device, grad=True)
    x = a * 1  # a non-leaf: in-place ops on it are recorded
    inplace(x, b)
    (x * x).sum().backward()
    got = a.grad.numpy() if a.grad is not None else np.zeros_like(A)
    a2, b2 = _pair(device, grad=True)
    reference = outofplace(a2 * 1, b2)
    if reference.requires_grad:
        (reference**2).sum().backward()
    # a comparison has no gradient: x's old value gets zeros, as in PyTorch
    want = a2.grad.numpy() if a2.grad is not None else np.zeros_like(A)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_a_wider_result_is_refused(device):
    x = tg.tensor([1, 2], device=device)
    with pytest.raises(DTypeError, match="sin_"):
        x.sin_()
    assert x.lt_(2).tolist() == [1, 0]  # bool into int64 is fine


def test_layout_changes_in_place(device):
    x = tg.arange(6.0, device=device).reshape(2, 3)
    assert x.t_() is x and x.shape == (3, 2) and x.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    y = tg.zeros(2, 3, 4, device=device)
    assert y.transpose_(0, 2).shape == (4, 3, 2)
    assert y.swapaxes_(0, 1).shape == (3, 4, 2)
    with pytest.raises(RuntimeError, match="t_"):
        (tg.ones(2, 2, device=device, requires_grad=True) * 1).t_()


def test_fill_diagonal(device):
    x = tg.zeros(3, 4, device=device)
    want = np.zeros((3, 4))
    np.fill_diagonal(want, 7.0)
    np.testing.assert_array_equal(x.fill_diagonal_(7.0).numpy(), want)
    tall = tg.zeros(7, 2, device=device)
    want = np.zeros((7, 2))
    np.fill_diagonal(want, 1.0, wrap=True)
    np.testing.assert_array_equal(tall.fill_diagonal_(1.0, wrap=True).numpy(), want)
    cube = tg.zeros(2, 2, 2, device=device).fill_diagonal_(1.0)
    assert cube.sum().item() == 2.0 and cube[1, 1, 1].item() == 1.0


def test_saved_tensor_written_in_place_is_an_error(device):
    a = tg.tensor([0.5, 0.7], device=device, requires_grad=True)
    c = a * 1
    d = c.atan()  # saves c
    with tg.no_grad():
        c.sin_()
    with pytest.raises(RuntimeError):
        d.sum().backward()
