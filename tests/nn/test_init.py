"""nn.init: PyTorch's fan rules and gains, seeded reproducibility, distribution bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.nn import init


@pytest.mark.parametrize(
    "shape,fans",
    [
        ((5, 3), (3, 5)),  # Linear weight (out, in)
        ((8, 3, 5, 5), (75, 200)),  # Conv2d weight (out_ch, in_ch, kh, kw)
        ((4, 2, 3), (6, 12)),  # Conv1d weight
    ],
)
def test_fan_in_and_fan_out(device, shape, fans):
    assert init._calculate_fan_in_and_fan_out(tg.empty(*shape, device=device)) == fans


def test_fans_need_two_dims(device):
    with pytest.raises(ValueError, match=">= 2 dims"):
        init.xavier_uniform_(tg.empty(5, device=device))


@pytest.mark.parametrize(
    "name,param,gain",
    [
        ("linear", None, 1.0),
        ("conv2d", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 5 / 3),
        ("relu", None, math.sqrt(2)),
        ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
        ("leaky_relu", math.sqrt(5), math.sqrt(2 / 6)),
        ("selu", None, 0.75),
    ],
)
def test_calculate_gain(name, param, gain):
    assert init.calculate_gain(name, param) == pytest.approx(gain)


@pytest.mark.oracle
def test_calculate_gain_matches_torch():
    torch = pytest.importorskip("torch")
    for name in ("linear", "tanh", "relu", "leaky_relu", "selu"):
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


@pytest.mark.parametrize(
    "fill,bound",
    [
        (lambda t: init.uniform_(t, -0.3, 0.2), (-0.3, 0.2)),
        (lambda t: init.xavier_uniform_(t), (-math.sqrt(6 / 300),) * 2),
        (lambda t: init.xavier_uniform_(t, gain=2.0), (-2 * math.sqrt(6 / 300),) * 2),
        (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), (-1 / math.sqrt(100),) * 2),
        (
            lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
            (-math.sqrt(6 / 200),) * 2,
        ),
        (lambda t: init.trunc_normal_(t, std=1.0, a=-0.5, b=0.7), (-0.5, 0.7)),
    ],
    ids=["uniform", "xavier", "xavier_gain", "kaiming_sqrt5", "kaiming_fan_out", "trunc"],
)
def test_bounded_fills_stay_in_bounds_and_cover_them(device, fill, bound):
    low, high = bound if bound[0] != bound[1] else (bound[0], -bound[0])
    tg.manual_seed(0)
    w = tg.empty(200, 100, device=device)
    assert fill(w) is w
    values = w.numpy()
    assert values.min() >= low and values.max() <= high
    assert values.min() < low + 0.05 * (high - low) and values.max() > high - 0.05 * (high - low)


@pytest.mark.parametrize(
    "fill,std",
    [
        (lambda t: init.normal_(t, 0.0, 0.02), 0.02),
        (lambda t: init.xavier_normal_(t), math.sqrt(2 / 300)),
        (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / 100)),
        (
            lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="tanh"),
            5 / 3 / math.sqrt(200),
        ),
    ],
    ids=["normal", "xavier_normal", "kaiming_normal", "kaiming_normal_fan_out"],
)
def test_normal_fills_have_the_right_spread(device, fill, std):
    tg.manual_seed(1)
    w = fill(tg.empty(200, 100, device=device)).numpy()
    assert abs(w.mean()) < 0.05 * std  # the standard error is std / 141 here
    assert w.std() == pytest.approx(std, rel=0.03)


def test_constant_zeros_ones(device):
    w = tg.empty(2, 3, device=device)
    assert init.constant_(w, 2.5).tolist() == [[2.5] * 3] * 2
    assert init.zeros_(w).tolist() == [[0.0] * 3] * 2
    assert init.ones_(w).tolist() == [[1.0] * 3] * 2


def test_seeded_reproducibility(device):
    tg.manual_seed(42)
    a = init.kaiming_uniform_(tg.empty(4, 4, device=device)).numpy()
    b = init.normal_(tg.empty(4, 4, device=device)).numpy()
    tg.manual_seed(42)
    np.testing.assert_array_equal(a, init.kaiming_uniform_(tg.empty(4, 4, device=device)).numpy())
    np.testing.assert_array_equal(b, init.normal_(tg.empty(4, 4, device=device)).numpy())
    assert not np.array_equal(a, init.kaiming_uniform_(tg.empty(4, 4, device=device)).numpy())


def test_init_works_on_parameters_without_no_grad(device):
    from tinygpt import nn

    p = nn.Parameter(tg.zeros(3, 3, device=device))
    init.xavier_uniform_(p)  # in place on a leaf that requires grad: init uses no_grad itself
    assert p.requires_grad and p.grad_fn is None and float(p.abs().sum()) > 0


def test_bad_mode_and_trunc_bounds(device):
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_uniform_(tg.empty(2, 2, device=device), mode="fan_avg")
    with pytest.raises(ValueError, match="need a < b"):
        init.trunc_normal_(tg.empty(2, 2, device=device), a=1.0, b=-1.0)
