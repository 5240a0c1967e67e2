"""The PyTorch-parity activations and dropouts of tinygpt.nn: forward vs NumPy, backward vs
float64 finite differences on every backend, module reprs and state_dict keys, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def values(*shape, seed=0, dtype=np.float64):
    """Values away from the kinks (|x| not near 0, 0.5, 3), so finite differences are exact."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-4.5, 4.5, size=shape)
    for kink in (0.0, 0.5, -0.5, 3.0, -3.0, 0.3, -0.3, 0.1):
        near = np.abs(x - kink) < 0.05
        x[near] += 0.2
    return x.astype(dtype)


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_elu(x, alpha):
    return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))


def np_softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


# name, tinygpt function, NumPy reference
POINTWISE = [
    ("relu6", F.relu6, lambda x: np.clip(x, 0, 6)),
    ("hardswish", F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    ("hardsigmoid", F.hardsigmoid, lambda x: np.clip(x + 3, 0, 6) / 6),
    ("hardshrink", F.hardshrink, lambda x: np.where(np.abs(x) > 0.5, x, 0)),
    (
        "softshrink",
        lambda t: F.softshrink(t, 0.3),
        lambda x: np.where(x > 0.3, x - 0.3, np.where(x < -0.3, x + 0.3, 0)),
    ),
    ("tanhshrink", F.tanhshrink, lambda x: x - np.tanh(x)),
    ("threshold", lambda t: F.threshold(t, 0.1, 20.0), lambda x: np.where(x > 0.1, x, 20.0)),
    ("selu", F.selu, lambda x: SELU_SCALE * np_elu(x, SELU_ALPHA)),
    ("celu", lambda t: F.celu(t, 0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x / 0.7))),
    ("logsigmoid", F.logsigmoid, lambda x: np.log(np_sigmoid(x))),
    ("softsign", F.softsign, lambda x: x / (1 + np.abs(x))),
    ("softmin", lambda t: F.softmin(t, dim=1), lambda x: np_softmax(-x, 1)),
    ("glu", F.glu, lambda x: x[..., :2] * np_sigmoid(x[..., 2:])),
    ("glu dim 0", lambda t: F.glu(t, 0), lambda x: x[:1] * np_sigmoid(x[1:])),
    ("rrelu eval", F.rrelu, lambda x: np.where(x >= 0, x, x * (1 / 8 + 1 / 3) / 2)),
    (
        "prelu",
        lambda t: F.prelu(t, tg.tensor([0.1, -0.2, 0.3], dtype=t.dtype, device=t.device)),
        lambda x: np.where(x > 0, x, x * np.array([0.1, -0.2, 0.3]).reshape(1, 3, 1)),
    ),
]


@pytest.mark.parametrize("name, fn, ref", POINTWISE, ids=[c[0] for c in POINTWISE])
def test_activation_forward_matches_numpy(device, name, fn, ref):
    x = values(2, 3, 4)
    got = fn(tg.tensor(x.astype(np.float32), device=device)).numpy()
    np.testing.assert_allclose(got, ref(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, fn, ref", POINTWISE, ids=[c[0] for c in POINTWISE])
def test_activation_backward_matches_finite_differences(device, name, fn, ref):
    x = tg.tensor(values(2, 3, 4, seed=1), device=device, requires_grad=True)
    assert tg.autograd.gradcheck(fn, [x])


def test_prelu_weight_gets_gradient(device):
    x = tg.tensor(values(2, 3, 4), device=device)
    w = tg.tensor([0.25, 0.5, -0.1], dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda w: F.prelu(x, w), [w])
    shared = tg.tensor([0.25], dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda w: F.prelu(x, w), [shared])


def test_inplace_forms_write_into_their_input(device):
    x = values(5)
    cases = [
        (F.relu_, lambda a: np.maximum(a, 0)),
        (F.elu_, lambda a: np_elu(a, 1.0)),
        (F.leaky_relu_, lambda a: np.where(a > 0, a, 0.01 * a)),
        (F.hardtanh_, lambda a: np.clip(a, -1, 1)),
        (F.selu_, lambda a: SELU_SCALE * np_elu(a, SELU_ALPHA)),
        (F.celu_, lambda a: np_elu(a, 1.0)),
        (lambda t: F.threshold_(t, 0.0, -1.0), lambda a: np.where(a > 0, a, -1.0)),
        (F.rrelu_, lambda a: np.where(a >= 0, a, a * (1 / 8 + 1 / 3) / 2)),
    ]
    for fn, ref in cases:
        t = tg.tensor(x, device=device)
        out = fn(t)
        assert out is t
        np.testing.assert_allclose(t.numpy(), ref(x), rtol=1e-6, atol=1e-9)


def test_rrelu_training_slopes_lie_between_lower_and_upper(device):
    tg.manual_seed(0)
    x = -tg.ones(1000, device=device)
    slopes = -F.rrelu(x, 0.1, 0.3, training=True).numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert slopes.std() > 0.03  # drawn per element, not one shared slope
    layer = nn.RReLU(0.1, 0.3)
    assert not np.allclose(layer(x).numpy(), layer.eval()(x).numpy())
    np.testing.assert_allclose(layer(x).numpy(), -0.2, rtol=1e-6)


def test_gumbel_softmax_is_a_distribution_and_hard_is_one_hot(device):
    tg.manual_seed(0)
    logits = tg.tensor(values(4, 6), dtype=tg.float32, device=device, requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.sum(-1).numpy(), 1.0, rtol=1e-5)
    hard = F.gumbel_softmax(logits, hard=True)
    assert sorted(set(hard.numpy().ravel().tolist())) == [0.0, 1.0]
    np.testing.assert_allclose(hard.sum(-1).numpy(), 1.0)
    (hard * tg.arange(6.0, device=device)).sum().backward()
    assert logits.grad is not None and np.abs(logits.grad.numpy()).sum() > 0


def test_gumbel_softmax_follows_the_categorical_distribution(device):
    tg.manual_seed(0)
    probs = np.array([0.1, 0.2, 0.7])
    logits = tg.tensor(np.log(probs), dtype=tg.float32, device=device).expand(4000, 3)
    counts = F.gumbel_softmax(logits, hard=True).sum(0).numpy() / 4000
    np.testing.assert_allclose(counts, probs, atol=0.03)


def test_softmax2d_normalises_over_channels(device):
    x = values(2, 3, 4, 5)
    got = nn.Softmax2d()(tg.tensor(x, device=device)).numpy()
    np.testing.assert_allclose(got, np_softmax(x, 1), rtol=1e-6)
    with pytest.raises(tg.ShapeError, match="Softmax2d"):
        nn.Softmax2d()(tg.ones(3, 4, device=device))


MODULES = [
    (nn.ReLU6(), "ReLU6()", F.relu6),
    (nn.Hardswish(), "Hardswish()", F.hardswish),
    (nn.Hardsigmoid(), "Hardsigmoid()", F.hardsigmoid),
    (nn.Hardshrink(), "Hardshrink(0.5)", F.hardshrink),
    (nn.Softshrink(0.3), "Softshrink(0.3)", lambda t: F.softshrink(t, 0.3)),
    (nn.Tanhshrink(), "Tanhshrink()", F.tanhshrink),
    (
        nn.Threshold(0.1, 2.0),
        "Threshold(threshold=0.1, value=2.0)",
        lambda t: F.threshold(t, 0.1, 2.0),
    ),
    (nn.SELU(), "SELU()", F.selu),
    (nn.CELU(), "CELU(alpha=1.0)", F.celu),
    (nn.GLU(), "GLU(dim=-1)", F.glu),
    (nn.LogSigmoid(), "LogSigmoid()", F.logsigmoid),
    (nn.Softsign(), "Softsign()", F.softsign),
    (nn.Softmin(1), "Softmin(dim=1)", lambda t: F.softmin(t, 1)),
    (nn.RReLU(), "RReLU(lower=0.125, upper=0.3333333333333333)", F.rrelu),
]


@pytest.mark.parametrize("module, text, fn", MODULES, ids=[m[1] for m in MODULES])
def test_activation_modules_match_functional_and_pytorch_repr(device, module, text, fn):
    x = tg.tensor(values(2, 3, 4), device=device)
    module.eval()
    np.testing.assert_allclose(module(x).numpy(), fn(x).numpy())
    assert repr(module) == text
    assert list(module.state_dict()) == []


def test_prelu_module_parameters_like_pytorch(device):
    layer = nn.PReLU(3, init=0.1).to(device)
    assert repr(layer) == "PReLU(num_parameters=3)"
    assert list(layer.state_dict()) == ["weight"]
    np.testing.assert_allclose(layer.weight.numpy(), [0.1, 0.1, 0.1], rtol=1e-6)
    out = layer(tg.tensor([[-1.0, 2.0, -3.0]], device=device))
    np.testing.assert_allclose(out.numpy(), [[-0.1, 2.0, -0.3]], rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), [-1.0, 0.0, -3.0])


ERRORS = [
    ("glu odd", lambda: F.glu(tg.ones(2, 3)), tg.ShapeError, "odd size"),
    ("softshrink negative", lambda: F.softshrink(tg.ones(2), -1.0), ValueError, "lambd"),
    ("celu alpha 0", lambda: F.celu(tg.ones(2), 0.0), ValueError, "alpha"),
    ("prelu channels", lambda: F.prelu(tg.ones(2, 3), tg.ones(4)), tg.ShapeError, "channels"),
    ("softmin no dim", lambda: F.softmin(tg.ones(2)), TypeError, "dim"),
    ("rrelu bounds", lambda: nn.RReLU(0.5, 0.1), ValueError, "lower"),
    ("dropout p", lambda: F.dropout2d(tg.ones(1, 2, 2, 2), 1.5), ValueError, "p must"),
    ("dropout1d dims", lambda: F.dropout1d(tg.ones(1, 2, 2, 2)), tg.ShapeError, "dropout1d"),
]


@pytest.mark.parametrize("name, call, error, text", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_the_op(name, call, error, text):
    with pytest.raises(error, match=text):
        call()


# --- dropout family --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn, shape",
    [(F.dropout1d, (8, 16, 5)), (F.dropout2d, (8, 16, 3, 4)), (F.dropout3d, (4, 16, 2, 3, 2))],
)
def test_channel_dropout_zeroes_whole_channels(device, fn, shape):
    tg.manual_seed(0)
    out = fn(tg.ones(*shape, device=device), 0.5).numpy()
    flat = out.reshape(shape[0], shape[1], -1)
    # every channel is all zeros or all 2 (= 1 / (1 - p))
    assert np.all((flat == 0).all(-1) | (flat == 2.0).all(-1))
    kept = (flat[..., 0] > 0).mean()
    assert 0.3 < kept < 0.7
    # NOTE: as in PyTorch, dropout2d reads a 3-D input as batched 1-D data (N, C, L)
    groups = shape[1:3] if fn is F.dropout2d else shape[1:2]
    unbatched = fn(tg.ones(*shape[1:], device=device), 0.5).numpy().reshape(*groups, -1)
    assert np.all((unbatched == 0).all(-1) | (unbatched == 2.0).all(-1))
    np.testing.assert_array_equal(fn(tg.ones(*shape, device=device), 0.5, False).numpy(), 1.0)


def test_channel_dropout_backward_uses_the_same_mask(device):
    tg.manual_seed(1)
    x = tg.ones(2, 6, 3, device=device, requires_grad=True)
    y = F.dropout1d(x, 0.5)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy())


def test_alpha_dropout_keeps_mean_and_variance(device):
    tg.manual_seed(0)
    x = tg.randn(200_000, device=device)
    out = F.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1.0) < 0.02
    # a dropped element is the constant a * (-alpha') + b
    a = 1.0 / math.sqrt((1.7580993408473766**2 * 0.2 + 1.0) * 0.8)
    dropped = -1.7580993408473766 * a + 1.7580993408473766 * a * 0.2
    assert np.isclose(out, dropped, atol=1e-5).mean() == pytest.approx(0.2, abs=0.01)
    # PyTorch's default for the functional form is training=False
    np.testing.assert_array_equal(F.alpha_dropout(x).numpy(), x.numpy())


def test_feature_alpha_dropout_is_constant_per_channel(device):
    tg.manual_seed(0)
    out = F.feature_alpha_dropout(tg.zeros(4, 10, 6, device=device), 0.5, True).numpy()
    assert np.all(np.ptp(out, axis=-1) == 0)
    assert len(np.unique(out.round(5))) == 2


@pytest.mark.parametrize(
    "cls", [nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout]
)
def test_dropout_modules_repr_and_eval(device, cls):
    layer = cls(0.3)
    assert repr(layer) == f"{cls.__name__}(p=0.3, inplace=False)"
    shapes = {nn.Dropout2d: (2, 3, 4, 4), nn.Dropout3d: (2, 3, 4, 4, 2)}
    x = tg.randn(*shapes.get(cls, (2, 3, 4)), device=device)
    np.testing.assert_array_equal(layer.eval()(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match=cls.__name__):
        cls(-0.1)
