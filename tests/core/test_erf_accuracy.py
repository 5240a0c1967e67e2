"""float32 erf to 2 ulp of math.erf on every backend, over a dense grid with its tails, and
the numpy backend's exact GELU to float32 rounding (its fast normal CDF, special.py).

ulp: the float32 spacing at the exact value, so "2 ulp" is a relative error that scales
with the number (subnormal results get the subnormal spacing).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygpt as tg

_math_erf = np.frompyfunc(math.erf, 1, 1)


def _grid(points: int) -> np.ndarray:
    """Dense in [-6, 6] (float32 erf is +-1 from 3.9375 on), then both tails and tiny values
    down to subnormals, and the pieces' seams."""
    dense = np.linspace(-6, 6, points, dtype=np.float32)
    tiny = np.float32(10) ** np.linspace(-44, 1, points // 50, dtype=np.float32)
    huge = np.float32(10) ** np.linspace(1, 38, 200, dtype=np.float32)
    seams = np.array([1.0, 3.9375, 0.5, 2.0], np.float32)
    seams = np.concatenate([seams, np.nextafter(seams, 0), np.nextafter(seams, 9)])
    special = np.array([0.0, -0.0, np.finfo(np.float32).max], np.float32)
    one_side = np.concatenate([tiny, huge, seams, special])
    return np.concatenate([dense, one_side, -one_side])


def _ulp_error(got: np.ndarray, x: np.ndarray) -> np.ndarray:
    expected = np.asarray(_math_erf(x.astype(np.float64)), dtype=np.float64)
    spacing = np.spacing(np.abs(expected).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - expected) / spacing


def test_float32_erf_within_2_ulp_of_math_erf(device):
    points = 20_001 if device == "pure" else 2_400_001  # pure Python: a coarser grid
    x = _grid(points)
    got = tg.tensor(x, device=device).erf().numpy()
    assert got.dtype == np.float32
    error = _ulp_error(got, x)
    worst = int(np.argmax(error))
    assert error.max() <= 2.0, f"{error.max():.2f} ulp at x = {x[worst]!r}"


@settings(max_examples=50, deadline=None)
@given(bits=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=64))
def test_numpy_erf_on_any_float32_bit_pattern(bits):
    """Every finite float32 (any exponent, either sign) within 2 ulp; nan stays nan."""
    from tinygpt_backend_numpy.special import erf

    x = np.array(bits, dtype=np.uint32).view(np.float32)
    got = erf(x)
    finite = np.isfinite(x)
    assert np.isnan(got[np.isnan(x)]).all()
    assert _ulp_error(got[finite], x[finite]).max(initial=0.0) <= 2.0


def test_erf_special_values(device):
    x = tg.tensor([np.inf, -np.inf, np.nan, 0.0, 50.0, -50.0], device=device)
    got = x.erf().numpy()
    assert got[:2].tolist() == [1.0, -1.0]
    assert np.isnan(got[2])
    assert got[3] == 0.0
    assert got[4:].tolist() == [1.0, -1.0]


def test_float16_erf_is_the_rounded_float32_one():
    from tinygpt_backend_numpy.special import erf

    x = np.linspace(-5, 5, 20001).astype(np.float16)
    expected = np.asarray(_math_erf(x.astype(np.float64)), dtype=np.float64)
    got = erf(x)
    assert got.dtype == np.float16
    spacing = np.spacing(np.abs(expected).astype(np.float16)).astype(np.float64)
    assert (np.abs(got.astype(np.float64) - expected) / spacing).max() <= 1.0


def _gelu_reference(x: np.ndarray) -> np.ndarray:
    """x Phi(x) in float64; the lower tail through erfc, so it keeps its relative accuracy."""
    out = []
    for v in x.astype(np.float64).tolist():
        if v >= 0:
            out.append(0.5 * v * (1 + math.erf(v / math.sqrt(2))))
        else:
            out.append(-0.5 * -v * math.erfc(-v / math.sqrt(2)))
    return np.array(out)


@pytest.mark.parametrize("part", ["forward", "backward"])
def test_numpy_exact_gelu_to_float32_rounding(part):
    """Forward within 2.5 ulp of max(|gelu(x)|, |x|/2) (float32's own 0.5 x (1 + erf(x/sqrt 2))
    loses the lower tail's relative accuracy to cancellation: PyTorch's float32 GELU measures
    4.6 / 8.9 of these units for x >= 0 / x < 0 on this grid); the slope within 2e-7."""
    from tinygpt_backend_numpy import fused

    x = np.concatenate(
        [
            np.linspace(-12, 12, 600_001, dtype=np.float32),
            np.float32(10) ** np.linspace(-20, 1, 2000, dtype=np.float32),
            -(np.float32(10) ** np.linspace(-20, 1, 2000, dtype=np.float32)),
        ]
    )
    if part == "forward":
        expected = _gelu_reference(x)
        got = fused.gelu(x, "none").astype(np.float64)
        scale = np.maximum(np.abs(expected), 0.5 * np.abs(x).astype(np.float64))
        spacing = np.spacing(scale.astype(np.float32)).astype(np.float64)
        assert (np.abs(got - expected) / spacing).max() <= 2.5
    else:
        xd = x.astype(np.float64)
        phi = np.exp(-xd * xd / 2) / math.sqrt(2 * math.pi)
        cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in xd.tolist()])
        got = fused.gelu_backward(np.ones_like(x), x, "none").astype(np.float64)
        assert np.abs(got - (cdf + xd * phi)).max() <= 2e-7


def test_numpy_exact_gelu_special_values():
    from tinygpt_backend_numpy import fused

    x = np.array([np.inf, np.nan, 0.0, 1e30, -1e30, -40.0], np.float32)
    y = fused.gelu(x, "none")
    assert y[0] == np.inf and np.isnan(y[1]) and y[2] == 0.0
    assert y[3] == np.float32(1e30) and y[4] == 0.0 and y[5] == 0.0


def _phi_slope_reference(x: np.ndarray) -> np.ndarray:
    """Phi(x) + x phi(x) in float64."""
    xd = x.astype(np.float64)
    cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in xd.tolist()])
    return cdf + xd * np.exp(-xd * xd / 2) / math.sqrt(2 * math.pi)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_numpy_gelu_chunks_do_not_show(approximate):
    """gelu.py runs its kernels in chunks of CHUNK elements over per-thread scratch rows: an
    element's result is the same wherever it sits, and the scratch stays CHUNK wide."""
    from tinygpt_backend_numpy import gelu

    n = 2 * gelu.CHUNK + 123
    x = np.random.default_rng(3).normal(scale=4, size=n).astype(np.float32)
    dy = np.random.default_rng(4).normal(size=n).astype(np.float32)
    y, dx = gelu.forward(x, approximate), gelu.backward(dy, x, approximate)
    for i in [0, gelu.CHUNK - 1, gelu.CHUNK, gelu.CHUNK + 1, 2 * gelu.CHUNK, n - 1]:
        assert y[i] == gelu.forward(x[i : i + 1], approximate)[0]
        assert dx[i] == gelu.backward(dy[i : i + 1], x[i : i + 1], approximate)[0]
    # the same kernels in float64 are the reference (the exact form through math.erf)
    xd, dyd = x.astype(np.float64), dy.astype(np.float64)
    # NOTE: the tanh form's float32 1 + t and 1 - t^2 cancel where |t| -> 1 (its own ~1.5e-7
    # and ~4e-6 there; unchanged by the chunks)
    atol = (1e-7, 3e-7) if approximate == "none" else (3e-7, 1e-5)
    np.testing.assert_allclose(y, gelu.forward(xd, approximate), rtol=1e-6, atol=atol[0])
    np.testing.assert_allclose(dx, gelu.backward(dyd, xd, approximate), rtol=1e-6, atol=atol[1])
    assert gelu._SCRATCH.rows(np.dtype(np.float32), 1).shape == (3, gelu.CHUNK)
    assert gelu.forward(np.zeros(0, np.float32), approximate).shape == (0,)


def test_numpy_exact_gelu_limits_without_warnings():
    """Past the clip (|x| = 16) Phi is exactly 0 or 1, in both passes, and the overflow of
    2^b that gives Phi = 0 warns nobody; +-inf get the limits of the slope too."""
    import warnings

    from tinygpt_backend_numpy import gelu

    x = np.array([-1e30, -40.0, -16.0, -14.5, 14.5, 16.0, 40.0, 1e30], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = gelu.forward(x, "none")
        slope = gelu.backward(np.ones_like(x), x, "none")
    assert np.array_equal(y, np.maximum(x, 0))  # -0.0 == 0.0
    assert np.array_equal(slope, x > 0)
    ends = np.array([np.inf, -np.inf, np.nan], np.float32)
    with np.errstate(invalid="ignore"):  # -inf / inf: nan, as in PyTorch
        y = gelu.forward(ends, "none")
    assert y[0] == np.inf and np.isnan(y[1]) and np.isnan(y[2])
    slope = gelu.backward(np.ones_like(ends), ends, "none")
    assert slope[0] == 1.0 and slope[1] == 0.0 and np.isnan(slope[2])


def test_numpy_exact_gelu_float16_rounds_the_float32_one():
    from tinygpt_backend_numpy import fused

    x = np.linspace(-6, 6, 4001).astype(np.float16)
    y = fused.gelu(x, "none")
    assert y.dtype == np.float16
    assert np.array_equal(y, fused.gelu(x.astype(np.float32), "none").astype(np.float16))
    dx = fused.gelu_backward(np.ones_like(x), x, "none")
    assert dx.dtype == np.float16
    np.testing.assert_allclose(dx, _phi_slope_reference(x), rtol=1e-3, atol=1e-3)


def test_numpy_exact_gelu_threads_keep_their_own_scratch():
    """Ufuncs release the GIL: two threads in the kernel at once must not share scratch."""
    from concurrent.futures import ThreadPoolExecutor

    from tinygpt_backend_numpy import gelu

    rng = np.random.default_rng(5)
    inputs = [rng.normal(scale=3, size=gelu.CHUNK + 7).astype(np.float32) for _ in range(4)]
    expected = [gelu.backward(x, x, "none") for x in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(5):
            got = list(pool.map(lambda x: gelu.backward(x, x, "none"), inputs))
            assert all(np.array_equal(g, e) for g, e in zip(got, expected))
