"""Elementary and special functions computed from scratch (ops/elementwise_inverse.py,
ops/special_math.py): atan, asin, acos, atan2, asinh, acosh, atanh, lgamma, digamma,
polygamma, erfinv.

References are Python's `math` module, one element at a time, and identities with exact
values (digamma(1) = -Euler's gamma, ...); gradients against float64 finite differences."""

from __future__ import annotations

import math
import random
import struct

import numpy as np
import pytest

import tinygpt as tg

_EULER = 0.5772156649015329


def _f32(v: float) -> float:
    """v rounded to float32, so a float32 result is compared at the input it really got."""
    return struct.unpack("f", struct.pack("f", v))[0]


def _sample(seed: int, low: float, high: float, n: int = 400) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(low, high) for _ in range(n)]


def _wide(seed: int, n: int = 300) -> list[float]:
    """Magnitudes from 1e-12 to 1e12, both signs."""
    rng = random.Random(seed)
    return [rng.choice([-1.0, 1.0]) * 10 ** rng.uniform(-12, 12) for _ in range(n)]


def _worst_relative(got: list[float], want: list[float]) -> float:
    worst = 0.0
    for g, w in zip(got, want, strict=True):
        if math.isnan(w) or math.isinf(w):
            assert g == w or (math.isnan(g) and math.isnan(w)), (g, w)
            continue
        worst = max(worst, abs(g - w) / max(abs(w), 1e-300))
    return worst


def _ref(fn, values: list[float]) -> list[float]:
    out = []
    for v in values:
        try:
            out.append(fn(v))
        except ValueError:
            out.append(math.nan)
    return out


UNIT = _sample(1, -1.0, 1.0) + [0.0, 1.0, -1.0, 1 - 1e-12, -1 + 1e-9, 1e-15]
# (name, tinygpt function, math reference, inputs)
ELEMENTARY = [
    ("atan", tg.atan, math.atan, _sample(2, -5, 5) + _wide(3) + [0.0, math.inf, -math.inf]),
    ("asin", tg.asin, math.asin, UNIT + [1.5]),
    ("acos", tg.acos, math.acos, UNIT + [-1.5]),
    ("atanh", tg.atanh, math.atanh, [v for v in UNIT if abs(v) != 1.0]),
    ("asinh", tg.asinh, math.asinh, _sample(4, -5, 5) + _wide(5) + [0.0]),
    ("acosh", tg.acosh, math.acosh, [1 + 10**e for e in np.linspace(-12, 12, 200)] + [1.0, 0.5]),
]


@pytest.mark.parametrize("name, fn, ref, values", ELEMENTARY, ids=[c[0] for c in ELEMENTARY])
def test_elementary_float64_to_rounding(device, name, fn, ref, values):
    got = fn(tg.tensor(values, dtype=tg.float64, device=device)).tolist()
    assert _worst_relative(got, _ref(ref, values)) < 2e-15


@pytest.mark.parametrize("name, fn, ref, values", ELEMENTARY, ids=[c[0] for c in ELEMENTARY])
def test_elementary_float32_to_a_few_ulps(device, name, fn, ref, values):
    # away from the edges where float32 overflows (x^2 in asinh) or rounds to +-1
    inputs = [_f32(v) for v in values if abs(v) < 1e18 and abs(abs(_f32(v)) - 1.0) > 1e-6]
    if name == "acosh":
        inputs = [v for v in inputs if v > 1.0]
    got = fn(tg.tensor(inputs, dtype=tg.float32, device=device)).tolist()
    assert _worst_relative(got, _ref(ref, inputs)) < 5e-7


def test_atan2_quadrants_and_zeros(device):
    ys = _sample(6, -3, 3, 200) + [0.0, 0.0, 1.0, -1.0, math.inf, 2.0]
    xs = _sample(7, -3, 3, 200) + [0.0, -1.0, 0.0, 0.0, math.inf, -math.inf]
    got = tg.atan2(
        tg.tensor(ys, dtype=tg.float64, device=device),
        tg.tensor(xs, dtype=tg.float64, device=device),
    ).tolist()
    want = [math.atan2(y, x) for y, x in zip(ys, xs)]
    assert _worst_relative(got, want) < 2e-15
    assert tg.arctan2(tg.tensor([1.0], device=device), 1).item() == pytest.approx(math.pi / 4)


def test_lgamma_against_math(device):
    values = _sample(8, -15, 40) + [10**e for e in np.linspace(-8, 5, 60)] + [0.5, 1.0, 2.0]
    got = tg.lgamma(tg.tensor(values, dtype=tg.float64, device=device)).tolist()
    for g, v in zip(got, values):
        assert g == pytest.approx(math.lgamma(v), rel=1e-13, abs=1e-13), v
    poles = tg.lgamma(tg.tensor([0.0, -1.0, -7.0], device=device)).tolist()
    assert poles == [math.inf] * 3


def test_digamma_identities(device):
    x = tg.tensor([1.0, 0.5, 4.0, -0.5], dtype=tg.float64, device=device)
    got = tg.digamma(x).tolist()
    want = [
        -_EULER,
        -_EULER - 2 * math.log(2),
        -_EULER + 1 + 1 / 2 + 1 / 3,
        -_EULER - 2 * math.log(2) + 2,
    ]
    assert got == pytest.approx(want, rel=1e-13)
    # the recurrence psi(x + 1) = psi(x) + 1/x, and the derivative of math.lgamma
    values = _sample(9, -8.7, 30, 200)
    t = tg.tensor(values, dtype=tg.float64, device=device)
    gap = (tg.digamma(t + 1) - tg.digamma(t) - 1 / t).abs().max().item()
    assert gap < 1e-11
    for v, g in zip(values[:50], tg.digamma(t).tolist()):
        slope = (math.lgamma(v + 1e-6) - math.lgamma(v - 1e-6)) / 2e-6
        assert g == pytest.approx(slope, rel=1e-6, abs=1e-6)
    assert tg.digamma(tg.tensor([0.0, -2.0], device=device)).tolist()[0] == -math.inf
    assert math.isnan(tg.digamma(tg.tensor([-2.0], device=device)).item())


def test_polygamma_exact_values(device):
    one = tg.tensor([1.0, 0.5], dtype=tg.float64, device=device)
    assert tg.polygamma(1, one).tolist() == pytest.approx(
        [math.pi**2 / 6, math.pi**2 / 2], rel=1e-13
    )
    zeta3, zeta4 = 1.2020569031595942, math.pi**4 / 90
    assert tg.polygamma(2, one[:1]).item() == pytest.approx(-2 * zeta3, rel=1e-13)
    assert one[:1].polygamma(3).item() == pytest.approx(6 * zeta4, rel=1e-13)
    assert tg.polygamma(0, one).tolist() == tg.digamma(one).tolist()
    # reflection for n = 1: psi1(1 - x) + psi1(x) = pi^2 / sin^2(pi x)
    x = tg.tensor(_sample(10, -6.9, -0.1, 50), dtype=tg.float64, device=device)
    wall = math.pi**2 / (x * math.pi).sin() ** 2
    np.testing.assert_allclose(
        (tg.polygamma(1, 1 - x) + tg.polygamma(1, x)).numpy(), wall.numpy(), rtol=1e-9
    )


def test_erfinv_inverts_erf(device):
    ys = _sample(11, -0.999, 0.999)
    for dtype, tol in ((tg.float64, 1e-14), (tg.float32, 1e-6)):
        got = tg.erfinv(tg.tensor(ys, dtype=dtype, device=device)).tolist()
        for y, x in zip(ys, got):
            want_y = _f32(y) if dtype == tg.float32 else y
            assert math.erf(x) == pytest.approx(want_y, rel=tol, abs=tol)
    edges = tg.erfinv(tg.tensor([1.0, -1.0, 0.0, 1.5], device=device)).tolist()
    assert edges[:3] == [math.inf, -math.inf, 0.0] and math.isnan(edges[3])


GRADS = [
    ("atan", tg.atan, [-3.0, -0.3, 0.0, 0.7, 4.0]),
    ("asin", tg.asin, [-0.9, -0.2, 0.0, 0.5, 0.8]),
    ("acos", lambda x: x.acos(), [-0.9, -0.2, 0.0, 0.5, 0.8]),
    ("asinh", tg.arcsinh, [-3.0, -0.3, 0.0, 0.7, 40.0]),
    ("acosh", tg.acosh, [1.2, 2.0, 7.0]),
    ("atanh", lambda x: x.arctanh(), [-0.9, -0.2, 0.0, 0.5]),
    ("lgamma", tg.lgamma, [-2.5, 0.3, 1.0, 2.5, 14.0]),
    ("digamma", tg.digamma, [-2.5, 0.3, 1.0, 2.5, 14.0]),
    ("polygamma1", lambda x: tg.polygamma(1, x), [-1.5, 0.3, 1.0, 12.0]),
    ("polygamma2", lambda x: x.polygamma(2), [0.3, 1.0, 12.0]),
    ("erfinv", tg.erfinv, [-0.9, -0.2, 0.0, 0.5, 0.95]),
]


@pytest.mark.parametrize("name, fn, values", GRADS, ids=[c[0] for c in GRADS])
def test_backward_matches_finite_differences(device, name, fn, values):
    x = tg.tensor(values, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(fn, [x])


def test_atan2_backward(device):
    y = tg.tensor([[0.5, -1.0, 2.0]], dtype=tg.float64, device=device, requires_grad=True)
    x = tg.tensor([[1.0], [-0.5]], dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(tg.atan2, [y, x])


def test_integer_inputs_become_float(device):
    out = tg.atan(tg.tensor([0, 1], device=device))
    assert out.dtype == tg.float32
    assert out.tolist()[1] == pytest.approx(math.pi / 4)


def test_log1p_and_expm1_keep_tiny_arguments(device):
    xs = [1e-300, 1e-15, -1e-12, 1e-5, 0.3, -0.7, 5.0, -50.0, 3.0e2]
    t = tg.tensor(xs, dtype=tg.float64, device=device)
    assert _worst_relative(tg.log1p(t.abs()).tolist(), [math.log1p(abs(v)) for v in xs]) < 2e-16 * 4
    assert _worst_relative(t.expm1().tolist(), [math.expm1(v) for v in xs]) < 2e-16 * 4
    edges = tg.tensor([-1.0, math.inf, -math.inf], dtype=tg.float64, device=device)
    assert tg.log1p(edges[:2]).tolist() == [-math.inf, math.inf]
    assert tg.expm1(edges[1:]).tolist() == [math.inf, -1.0]
    x = tg.tensor([1e-15, 0.5, -0.5], dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(tg.log1p, [x]) and tg.autograd.gradcheck(lambda v: v.expm1(), [x])


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_results_keep_the_float_dtype(device, dtype):
    x = tg.tensor([0.25, 0.5], dtype=dtype, device=device)
    for fn in (
        tg.atan,
        tg.asin,
        tg.acos,
        tg.asinh,
        tg.atanh,
        tg.lgamma,
        tg.digamma,
        tg.erfinv,
        tg.log1p,
        tg.expm1,
        lambda v: tg.atan2(v, v),
        lambda v: tg.polygamma(1, v),
    ):
        assert fn(x).dtype == dtype
