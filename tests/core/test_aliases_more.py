"""In-place maths (`exp_`, `sqrt_`, `lerp_`, `addcdiv_`, ...), `dot`, `amax`/`amin`, `lerp`,
`x.type(dtype)`, `tg.sign`, and `tg.finfo`/`tg.iinfo` (issue 14's idiom sweep): forward
against NumPy, backward against float64 finite differences, every backend."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.errors import DTypeError, ShapeError

RNG = np.random.default_rng(5)
X = RNG.uniform(0.2, 2.0, size=(3, 4)).astype(np.float32)
Y = RNG.uniform(-1.0, 1.0, size=(3, 4)).astype(np.float32)


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


# fmt: off
INPLACE = [
    ("exp_",     lambda t, y: t.exp_(),                         lambda x, y: np.exp(x)),
    ("sqrt_",    lambda t, y: t.sqrt_(),                        lambda x, y: np.sqrt(x)),
    ("abs_",     lambda t, y: t.sub_(1.0).abs_(),               lambda x, y: np.abs(x - 1)),
    ("pow_",     lambda t, y: t.pow_(3),                        lambda x, y: x ** 3),
    ("relu_",    lambda t, y: t.sub_(1.0).relu_(),              lambda x, y: np.maximum(x - 1, 0)),
    ("neg_",     lambda t, y: t.neg_(),                         lambda x, y: -x),
    ("clamp_",   lambda t, y: t.clamp_(0.5, 1.5),               lambda x, y: np.clip(x, 0.5, 1.5)),
    ("masked_fill_", lambda t, y: t.masked_fill_(y > 0, 0.0),   lambda x, y: np.where(y > 0, 0, x)),
    ("sigmoid_", lambda t, y: t.sigmoid_(),                     lambda x, y: _sigmoid(x)),
    ("tanh_",    lambda t, y: t.tanh_(),                        lambda x, y: np.tanh(x)),
    ("lerp_",    lambda t, y: t.lerp_(y, 0.25),                 lambda x, y: x + 0.25 * (y - x)),
    ("addcmul_", lambda t, y: t.addcmul_(y, y, value=2),        lambda x, y: x + 2 * y * y),
    ("addcdiv_", lambda t, y: t.addcdiv_(y, y * y + 1, value=-0.5),
                 lambda x, y: x - 0.5 * y / (y * y + 1)),
]
# fmt: on


@pytest.mark.parametrize("name, call, reference", INPLACE, ids=[row[0] for row in INPLACE])
def test_inplace_maths_write_into_the_tensor(device, name, call, reference):
    x = tg.tensor(X, device=device)
    view = x[1]  # a view sees the write
    out = call(x, tg.tensor(Y, device=device))
    assert out is x
    want = reference(X.astype(np.float64), Y.astype(np.float64))
    np.testing.assert_allclose(x.numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(view.numpy(), want[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, call, reference", INPLACE, ids=[row[0] for row in INPLACE])
def test_inplace_maths_backward(device, name, call, reference):
    x = tg.tensor(X, dtype=tg.float64, device=device, requires_grad=True)
    y = tg.tensor(Y, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda a, b: call(a.clone(), b), [x, y])
    with pytest.raises(RuntimeError):
        call(x, y)  # in place on a leaf that requires grad, as PyTorch refuses


@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_amax_amin_match_numpy(device, dim, keepdim):
    x = tg.tensor(Y, device=device)
    axis = dim if dim is not None else None
    np.testing.assert_array_equal(x.amax(dim, keepdim).numpy(), Y.max(axis=axis, keepdims=keepdim))
    np.testing.assert_array_equal(
        tg.amin(x, dim, keepdim).numpy(), Y.min(axis=axis, keepdims=keepdim)
    )
    w = tg.tensor(Y, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: t.amax(dim, keepdim), [w])


def test_dot_lerp_sign_type(device):
    a, b = tg.tensor(X[0], device=device), tg.tensor(Y[0], device=device)
    np.testing.assert_allclose(tg.dot(a, b).item(), float(X[0] @ Y[0]), rtol=1e-5)
    assert a.dot(b).shape == ()
    with pytest.raises(ShapeError, match="dot: expects two 1-D tensors of one size"):
        tg.dot(a, tg.tensor(X, device=device))
    np.testing.assert_allclose(tg.lerp(a, b, 0.5).numpy(), (X[0] + Y[0]) / 2, rtol=1e-6)
    np.testing.assert_array_equal(tg.sign(b).numpy(), np.sign(Y[0]))
    assert a.type(tg.float64).dtype == tg.float64 and a.type() == "torch.FloatTensor"
    u = tg.tensor(X[0], dtype=tg.float64, device=device, requires_grad=True)
    v = tg.tensor(Y[0], dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda s, t: tg.dot(s, t) + tg.lerp(s, t, 0.3).sum(), [u, v])


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64"])
def test_finfo_follows_the_format(name):
    info = tg.finfo(getattr(tg, name))
    assert 1.0 + info.eps != 1.0 and info.min == -info.max and info.bits in (16, 32, 64)
    if name in ("float16", "float32", "float64"):
        reference = np.finfo(name)
        assert (info.eps, info.max, info.tiny) == (reference.eps, reference.max, reference.tiny)
        assert info.resolution == reference.resolution


@pytest.mark.parametrize("name", ["int8", "uint8", "int32", "int64"])
def test_iinfo_matches_numpy(name):
    info, reference = tg.iinfo(getattr(tg, name)), np.iinfo(name)
    assert (info.bits, info.min, info.max) == (reference.bits, reference.min, reference.max)


def test_info_refuses_the_other_kind():
    with pytest.raises(DTypeError, match="finfo: int64 is not a floating dtype"):
        tg.finfo(tg.int64)
    with pytest.raises(DTypeError, match="iinfo: float32 is not an integer dtype"):
        tg.iinfo(tg.float32)
