"""The numpy backend's exact GELU backward from the forward's output y (issue 21).

Core passes `gelu_backward` the forward's output when it is still alive and unchanged; the
float32 exact form then reads Phi(x) off y (gelu.py) instead of recomputing it. These tests
check that this path keeps the slope as accurate as the one from x (the same 2e-7 as
tests/core/test_erf_accuracy.py, over a dense grid with tails and subnormals), that what it
cannot do (x = 0, tiny, huge, inf, nan) is redone from x, and that the public API takes it
exactly when the output is still there unchanged.
"""

from __future__ import annotations

import inspect
import math
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygpt as tg
import tinygpt.nn.functional as F

gelu = pytest.importorskip("tinygpt_backend_numpy.gelu")
fused = pytest.importorskip("tinygpt_backend_numpy.fused")

F32 = np.finfo(np.float32)
#: inputs the path from y cannot take (0 / 0, lost bits, x^2 = inf, inf - inf, nan)
SPECIAL = np.array(
    [0.0, -0.0, 1e-45, -1e-45, 1e-40, -3e-39, 2.0**-64, -(2.0**-64), 1.9e19, -2e19, 1e30]
    + [-1e30, F32.max, -F32.max, np.inf, -np.inf, np.nan],
    np.float32,
)


def _slope_reference(x: np.ndarray) -> np.ndarray:
    """Phi(x) + x phi(x) in float64; Phi through erfc, so the lower tail keeps its digits."""
    xd = x.astype(np.float64)
    cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in xd.tolist()])
    with np.errstate(over="ignore", invalid="ignore"):
        return cdf + xd * np.exp(-xd * xd / 2) / math.sqrt(2 * math.pi)


def _grid() -> np.ndarray:
    """Dense in [-12, 12], both tails, and |x| from the smallest subnormal up to 10^38."""
    dense = np.linspace(-12, 12, 600_001, dtype=np.float32)
    tiny = np.float32(10) ** np.linspace(-45, 1, 4000, dtype=np.float32)
    huge = np.float32(10) ** np.linspace(1, 38, 400, dtype=np.float32)
    seams = np.array([2.0**-63, 2.0**-62, F32.tiny, 14.0, 16.0], np.float32)
    seams = np.concatenate([seams, np.nextafter(seams, 0), np.nextafter(seams, 99)])
    one_side = np.concatenate([tiny, huge, seams])
    return np.concatenate([dense, one_side, -one_side, [0.0, -0.0]]).astype(np.float32)


def _both_paths(dy: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(slope from y, slope from x) through fused.py, y being the forward's own output."""
    y = fused.gelu(x, "none")
    return fused.gelu_backward(dy, x, "none", y), fused.gelu_backward(dy, x, "none")


def test_slope_from_output_within_2e7_on_dense_grid():
    x = _grid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the special elements are redone, silently
        from_y, from_x = _both_paths(np.ones_like(x), x)
    reference = _slope_reference(x)
    error = np.abs(from_y.astype(np.float64) - reference)
    worst = int(np.argmax(error))
    assert error.max() <= 2e-7, f"{error.max():.3g} at x = {x[worst]!r}"
    # reading Phi off y costs nothing: y / x alone would (~1.9e-7 here, against ~1.7e-7)
    assert error.max() <= np.abs(from_x.astype(np.float64) - reference).max()
    # the two paths are different arithmetic: both within float32 rounding of the slope
    np.testing.assert_allclose(from_y, from_x, rtol=0, atol=3e-7)


def test_only_special_elements_are_redone_from_x(monkeypatch):
    """The fast path does the work: the path from x sees just the elements it must redo,
    wherever they sit (chunk seams included), and gives them their usual slope."""
    redone = []
    from_x = gelu._exact_backward_float32

    def spy(dy, x):
        redone.append(x.copy())
        return from_x(dy, x)

    n = 2 * gelu.CHUNK + 123
    rng = np.random.default_rng(7)
    x = rng.normal(scale=3, size=n).astype(np.float32)
    dy = rng.normal(size=n).astype(np.float32)
    at = np.array([0, 5, gelu.CHUNK - 1, gelu.CHUNK, gelu.CHUNK + 1, 2 * gelu.CHUNK, n - 1])
    at = np.concatenate([at, np.arange(17) + gelu.CHUNK + 100])[: len(SPECIAL)]
    x[at] = SPECIAL
    y = gelu.forward(x, "none")
    expected = gelu.backward(dy, x, "none")
    monkeypatch.setattr(gelu, "_exact_backward_float32", spy)
    got = gelu.backward(dy, x, "none", y)
    assert len(redone) == 1 and np.array_equal(np.sort(redone[0]), np.sort(SPECIAL), True)
    assert np.array_equal(got[at], expected[at], equal_nan=True)
    rest = np.ones(n, bool)
    rest[at] = False
    assert (np.abs(got[rest] - expected[rest]) <= 4e-7 * np.abs(dy[rest])).all()
    redone.clear()
    gelu.backward(dy[rest], x[rest], "none", y[rest])
    assert redone == []


@settings(max_examples=50, deadline=None)
@given(bits=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=64))
def test_slope_from_output_on_any_float32_bit_pattern(bits):
    x = np.array(bits, dtype=np.uint32).view(np.float32)
    with np.errstate(invalid="ignore"):  # gelu(-inf) = nan, as in PyTorch
        from_y, from_x = _both_paths(np.ones_like(x), x)
    finite = np.isfinite(x)
    assert np.array_equal(from_y[~finite], from_x[~finite], equal_nan=True)
    error = np.abs(from_y[finite].astype(np.float64) - _slope_reference(x[finite]))
    assert error.max(initial=0.0) <= 2e-7


def test_limits_from_output():
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e30, -1e30, 40.0, -40.0], np.float32)
    with np.errstate(invalid="ignore"):
        from_y, _ = _both_paths(np.ones_like(x), x)
    assert from_y[0] == 1.0 and from_y[1] == 0.0 and np.isnan(from_y[2])
    assert from_y[3:].tolist() == [0.5, 0.5, 1.0, 0.0, 1.0, 0.0]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_other_dtypes_ignore_the_output(dtype):
    """float16 / bfloat16 y hold Phi to 2^-11 only, and float64 keeps the textbook formulas."""
    if dtype == "bfloat16":
        dtype = pytest.importorskip("ml_dtypes").bfloat16
    x = np.linspace(-6, 6, 1001).astype(dtype)
    dy = np.cos(np.arange(1001)).astype(dtype)
    y = fused.gelu(x, "none")
    assert y.dtype == x.dtype
    got = fused.gelu_backward(dy, x, "none", y)
    assert got.dtype == x.dtype
    assert np.array_equal(got, fused.gelu_backward(dy, x, "none"))


def test_tanh_form_ignores_the_output():
    x = np.linspace(-8, 8, 10_001, dtype=np.float32)
    dy = np.cos(np.arange(x.size)).astype(np.float32)
    y = fused.gelu(x, "tanh")
    assert np.array_equal(fused.gelu_backward(dy, x, "tanh", y), fused.gelu_backward(dy, x, "tanh"))


def test_from_output_chunks_and_threads():
    """An element's slope is the same wherever it sits, and threads keep their own scratch."""
    rng = np.random.default_rng(8)
    n = 2 * gelu.CHUNK + 123
    x = rng.normal(scale=4, size=n).astype(np.float32)
    dy = rng.normal(size=n).astype(np.float32)
    y = gelu.forward(x, "none")
    dx = gelu.backward(dy, x, "none", y)
    for i in [0, gelu.CHUNK - 1, gelu.CHUNK, gelu.CHUNK + 1, 2 * gelu.CHUNK, n - 1]:
        assert dx[i] == gelu.backward(dy[i : i + 1], x[i : i + 1], "none", y[i : i + 1])[0]
    inputs = [rng.normal(scale=3, size=gelu.CHUNK + 7).astype(np.float32) for _ in range(4)]
    outputs = [gelu.forward(v, "none") for v in inputs]
    expected = [gelu.backward(v, v, "none", w) for v, w in zip(inputs, outputs)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(5):
            got = list(pool.map(lambda v, w: gelu.backward(v, v, "none", w), inputs, outputs))
            assert all(np.array_equal(g, e) for g, e in zip(got, expected))


# --- through the public API: core passes y exactly when the output is alive and unchanged


def test_backend_signature_names_y():
    """Core looks for a parameter named `y` on the backend class's method."""
    backend = tg.get_backend("numpy")
    assert "y" in inspect.signature(type(backend).gelu_backward).parameters


@pytest.fixture
def taken(monkeypatch):
    """Records each call of the path from y (as the public API reaches it)."""
    calls = []
    from_output = gelu._exact_backward_from_output

    def spy(dy, x, y):
        calls.append(x.size)
        return from_output(dy, x, y)

    monkeypatch.setattr(gelu, "_exact_backward_from_output", spy)
    return calls


def _inputs() -> tuple[tg.Tensor, tg.Tensor, np.ndarray]:
    """x (a leaf), the gradient dy to send back, and dy gelu'(x) by the path from x."""
    rng = np.random.default_rng(9)
    x = rng.normal(scale=2, size=(8, 16)).astype(np.float32)
    dy = rng.normal(size=(8, 16)).astype(np.float32)
    expected = fused.gelu_backward(dy, x, "none")
    return tg.tensor(x, device="numpy", requires_grad=True), tg.tensor(dy, device="numpy"), expected


def test_public_api_passes_the_live_output(taken):
    x, dy, expected = _inputs()
    y = F.gelu(x)  # kept alive, as the next Linear keeps it in a GPT's MLP
    (y * dy).sum().backward()  # (mul saves y too)
    assert taken == [128]
    assert (np.abs(x.grad.numpy() - expected) <= 4e-7 * np.abs(dy.numpy())).all()
    assert not np.array_equal(x.grad.numpy(), expected)  # it was the other arithmetic


def test_public_api_skips_an_output_written_in_place(taken):
    x, dy, expected = _inputs()
    y = F.gelu(x)
    z = y + 0  # (add saves nothing, so y may be written in place)
    y.mul_(2)  # y no longer holds gelu(x): Phi read off it would be twice too large
    z.backward(dy)
    assert taken == []
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_public_api_skips_a_freed_output(taken):
    x, dy, expected = _inputs()
    (F.gelu(x) + 0).backward(dy)  # nobody keeps the output
    assert taken == []
    np.testing.assert_array_equal(x.grad.numpy(), expected)
