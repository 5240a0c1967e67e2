"""nn/optim pieces added for issue 14's PyTorch idioms: `inplace=` on activations and dropout,
softplus/elu/mish/hardtanh, binary_cross_entropy/kl_div/smooth_l1_loss/huber_loss, Unflatten,
ParameterList/ParameterDict, Module.get_parameter/get_buffer/type, init.orthogonal_, RMSprop,
Adagrad, and the `tinygpt.utils.data` alias. Forward against NumPy, backward against finite
differences (gradcheck, float64), on every backend; PyTorch comparisons live in tests/oracle."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn

RNG = np.random.default_rng(14)
# away from the kinks at 0 and +-1, so finite differences see a smooth function
X = np.array([-3.0, -1.5, -0.4, 0.3, 0.8, 2.5, 30.0], dtype=np.float32)


def _softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)


def _elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _mish(x):
    return x * np.tanh(_softplus(x))


# fmt: off
ACTIVATIONS = [
    ("softplus",      lambda t: F.softplus(t),                    lambda x: _softplus(x)),
    ("softplus_beta", lambda t: F.softplus(t, 2.0, 3.0),          lambda x: _softplus(x, 2.0, 3.0)),
    ("elu",           lambda t: F.elu(t, 0.7),                    lambda x: _elu(x, 0.7)),
    ("mish",          F.mish,                                     _mish),
    ("hardtanh",      lambda t: F.hardtanh(t, -2.0, 1.0),         lambda x: np.clip(x, -2.0, 1.0)),
    ("ELU",           nn.ELU(),                                   _elu),
    ("Softplus",      nn.Softplus(beta=0.5, threshold=1.0),       lambda x: _softplus(x, 0.5, 1.0)),
    ("Mish",          nn.Mish(),                                  _mish),
    ("Hardtanh",      nn.Hardtanh(),                              lambda x: np.clip(x, -1.0, 1.0)),
]
# fmt: on


@pytest.mark.parametrize("name, fn, ref", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activations_match_numpy_and_finite_differences(name, fn, ref, device):
    got = fn(tg.tensor(X, device=device)).numpy()
    np.testing.assert_allclose(got, ref(X.astype(np.float64)), rtol=1e-5, atol=1e-6)
    x = tg.tensor(X[:-1], dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(fn, [x])


def test_activations_stay_finite_far_out(device):
    x = tg.tensor([-1e4, 1e4], device=device, requires_grad=True)
    for fn in (F.softplus, F.elu, F.mish):
        fn(x).sum().backward()
        assert np.isfinite(x.grad.numpy()).all(), fn.__name__
        x.grad = None


def test_gradients_at_the_kinks_follow_pytorch(device):
    # PyTorch's conventions: elu'(0) = alpha, softplus'(0) = 1/2, hardtanh' = 0 at the bounds
    x = tg.tensor([0.0, -1.0, 1.0], dtype=tg.float64, device=device, requires_grad=True)
    for fn, want in [
        (lambda t: F.elu(t, 0.3), [0.3, 0.3 * np.exp(-1.0), 1.0]),
        (F.softplus, 1 / (1 + np.exp(-np.array([0.0, -1.0, 1.0])))),
        (F.hardtanh, [1.0, 0.0, 0.0]),
    ]:
        x.grad = None
        fn(x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)


# ------------------------------------------------------------------ inplace=
# fmt: off
INPLACE = [
    ("relu",       lambda t, i: F.relu(t, inplace=i)),
    ("leaky_relu", lambda t, i: F.leaky_relu(t, 0.2, inplace=i)),
    ("elu",        lambda t, i: F.elu(t, 1.5, inplace=i)),
    ("hardtanh",   lambda t, i: F.hardtanh(t, -0.5, 0.5, inplace=i)),
    ("ReLU",       lambda t, i: nn.ReLU(inplace=i)(t)),
    ("LeakyReLU",  lambda t, i: nn.LeakyReLU(0.1, inplace=i)(t)),
    ("ELU",        lambda t, i: nn.ELU(inplace=i)(t)),
    ("Hardtanh",   lambda t, i: nn.Hardtanh(inplace=i)(t)),
    ("Mish",       lambda t, i: nn.Mish(inplace=i)(t)),
]
# fmt: on


@pytest.mark.parametrize("name, fn", INPLACE, ids=[a[0] for a in INPLACE])
def test_inplace_writes_into_the_input_with_the_same_values(name, fn, device):
    want = fn(tg.tensor(X, device=device), False).numpy()
    x = tg.tensor(X, device=device)
    out = fn(x, True)
    assert out is x
    np.testing.assert_allclose(x.numpy(), want, rtol=1e-6)


@pytest.mark.parametrize("name, fn", INPLACE, ids=[a[0] for a in INPLACE])
def test_inplace_keeps_the_gradient(name, fn, device):
    # the in-place op runs on a non-leaf (as after a Linear), so the write is recorded
    def through_inplace(w):
        return fn(w * 1.0, True)

    w = tg.tensor(X[:-1], dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(through_inplace, [w])


def test_inplace_on_a_leaf_that_requires_grad_is_refused(device):
    w = tg.tensor(X, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        F.relu(w, inplace=True)


def test_dropout_inplace_draws_the_same_mask(device):
    tg.manual_seed(5)
    want = F.dropout(tg.ones(64, device=device), 0.5).numpy()
    tg.manual_seed(5)
    x = tg.ones(64, device=device)
    assert nn.Dropout(0.5, inplace=True)(x) is x
    np.testing.assert_array_equal(x.numpy(), want)
    assert set(np.unique(want)) == {0.0, 2.0}
    assert repr(nn.Dropout(0.1)) == "Dropout(p=0.1, inplace=False)"


# ------------------------------------------------------------------ losses
P = RNG.uniform(0.05, 0.95, size=(3, 4))
T = RNG.uniform(0.0, 1.0, size=(3, 4))
D = RNG.normal(scale=2.0, size=(3, 4))


def _np_bce(p, t, w=1.0):
    return -w * (t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log1p(-p), -100))


def _np_smooth_l1(d, beta):
    a = np.abs(d)
    return np.where(a < beta, 0.5 * a * a / beta, a - 0.5 * beta)


# fmt: off
LOSSES = [
    ("bce",        lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
                   (P, T), lambda p, t: _np_bce(p, t)),
    ("bce_w",      lambda a, b: nn.BCELoss(weight=tg.full((4,), 0.5, dtype=a.dtype,
                                                          device=a.device))(a, b),
                   (P, T), lambda p, t: _np_bce(p, t, 0.5).mean()),
    ("kl",         lambda a, b: F.kl_div(a, b, reduction="batchmean"),
                   (np.log(P), T), lambda lp, t: (t * (np.log(t) - lp)).sum() / 3),
    ("kl_log",     lambda a, b: nn.KLDivLoss(reduction="sum", log_target=True)(a, b),
                   (np.log(P), np.log(T)), lambda lp, lt: (np.exp(lt) * (lt - lp)).sum()),
    ("kl_mean",    lambda a, b: F.kl_div(a, b),
                   (np.log(P), T), lambda lp, t: (t * (np.log(t) - lp)).mean()),
    ("smooth_l1",  lambda a, b: F.smooth_l1_loss(a, b, reduction="none", beta=0.7),
                   (D, np.zeros_like(D)), lambda d, z: _np_smooth_l1(d, 0.7)),
    ("SmoothL1",   lambda a, b: nn.SmoothL1Loss(reduction="sum")(a, b),
                   (D, T), lambda d, t: _np_smooth_l1(d - t, 1.0).sum()),
    ("huber",      lambda a, b: nn.HuberLoss(delta=1.5)(a, b),
                   (D, T), lambda d, t: (1.5 * _np_smooth_l1(d - t, 1.5)).mean()),
]
# fmt: on


@pytest.mark.parametrize("name, fn, inputs, ref", LOSSES, ids=[c[0] for c in LOSSES])
def test_losses_match_numpy_and_finite_differences(name, fn, inputs, ref, device):
    a, b = (tg.tensor(v.astype(np.float32), device=device) for v in inputs)
    np.testing.assert_allclose(fn(a, b).numpy(), ref(*inputs), rtol=1e-5, atol=1e-6)
    a64, b64 = (tg.tensor(v, dtype=tg.float64, device=device, requires_grad=True) for v in inputs)
    assert tg.autograd.gradcheck(fn, [a64, b64])


def test_losses_handle_edges(device):
    # p = 0 or 1: each log is clamped at -100, as PyTorch does
    p01, t10 = tg.tensor([0.0, 1.0], device=device), tg.tensor([1.0, 0.0], device=device)
    bce = F.binary_cross_entropy(p01, t10)
    assert bce.item() == pytest.approx(100.0)
    # target 0 contributes 0 to kl_div (the limit of t log t), with a finite gradient
    lp = tg.tensor([-1.0, -2.0], device=device, requires_grad=True)
    kl = F.kl_div(lp, tg.tensor([0.0, 1.0], device=device), reduction="sum")
    assert kl.item() == pytest.approx(2.0)
    kl.backward()
    np.testing.assert_allclose(lp.grad.numpy(), [0.0, -1.0])
    # beta = 0 is the l1 loss
    d = tg.tensor([0.5, -2.0], device=device)
    assert F.smooth_l1_loss(d, tg.zeros(2, device=device), beta=0.0).item() == pytest.approx(1.25)


def test_losses_reject_bad_input():
    a, b = tg.ones(2, 3), tg.ones(3)
    for fn in (F.binary_cross_entropy, F.kl_div, F.smooth_l1_loss, F.huber_loss):
        with pytest.raises(tg.ShapeError, match="2, 3"):
            fn(a, b)
    with pytest.raises(ValueError, match="reduction"):
        F.kl_div(a, a, reduction="batch")
    with pytest.raises(ValueError, match="beta"):
        F.smooth_l1_loss(a, a, beta=-1.0)


# ------------------------------------------------------------------ Unflatten
def test_unflatten_splits_one_dimension(device):
    x = tg.tensor(np.arange(24, dtype=np.float32).reshape(2, 12), device=device)
    np.testing.assert_array_equal(
        nn.Unflatten(1, (3, -1))(x).numpy(), np.arange(24).reshape(2, 3, 4)
    )
    assert nn.Unflatten(-1, (2, 2, 3))(x).shape == (2, 2, 2, 3)
    flat_round_trip = nn.Unflatten(1, (3, 4))(nn.Flatten()(tg.ones(2, 3, 4, device=device)))
    assert flat_round_trip.shape == (2, 3, 4)
    with pytest.raises(tg.ShapeError):
        nn.Unflatten(1, (5, 3))(x)
    with pytest.raises(IndexError):
        nn.Unflatten(2, (3, 4))(x)
    with pytest.raises(TypeError):
        nn.Unflatten(1, 12)
