"""Conformance: the fused GELU (forward, backward) and the fused AdamW update.

Tested only when the backend lists "gelu" / "adamw" in `fused_ops`. GELU is compared with a
float64 reference (erf from the standard library) on every view kind, and its backward also
with central finite differences of the backend's own forward; AdamW with a float64 replay of
PyTorch's update rule over several steps.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygpt.testing.helpers import (
    assert_close,
    random_array,
    require_dtypes,
    strided_views,
    to_ndarray,
    to_numpy,
    wrap,
)

FLOATS = ("float16", "float32", "float64")
KINDS = ("contiguous", "offset", "transposed", "reversed", "stepped", "broadcast", "0-d", "empty")
APPROXIMATIONS = ("none", "tanh")
#: a kernel may use its own erf/tanh: a few ulp more than one elementwise op
TOLERANCE = {"float16": (1e-2, 1e-3), "float32": (2e-5, 1e-6), "float64": (1e-10, 1e-12)}
#: float16 state rounds v at every step, and the update divides by sqrt(v)
ADAMW_TOLERANCE = {"float16": (2e-2, 2e-3), "float32": (1e-5, 1e-6), "float64": (1e-12, 1e-14)}
_math_erf = np.frompyfunc(math.erf, 1, 1)


def _erf(x):
    return np.asarray(_math_erf(x), dtype=np.float64)


def _require(backend, name):
    if name not in backend.fused_ops:
        pytest.skip(f"backend {backend.name!r} does not list fused {name!r}")


def _gelu_reference(x, approximate):
    x = x.astype(np.float64)
    if approximate == "tanh":
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
        return 0.5 * x * (1 + np.tanh(inner))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _gelu_slope_reference(x, approximate):
    x = x.astype(np.float64)
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        t = np.tanh(k * (x + 0.044715 * x**3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
    return 0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _check(got, expected, what, dtype_name):
    rtol, atol = TOLERANCE[dtype_name]
    assert_close(got, np.asarray(expected).astype(dtype_name), what, rtol=rtol, atol=atol)


# ----------------------------------------------------------------------- gelu
@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("approximate", APPROXIMATIONS)
@pytest.mark.parametrize("kind", KINDS)
def test_gelu(kit_backend, dtype_name, approximate, kind):
    _require(kit_backend, "gelu")
    require_dtypes(kit_backend, dtype_name)
    data = random_array((3, 4, 5), dtype_name, -6, 6)
    for _, view, source in strided_views(kit_backend, data, (kind,)):
        got = to_numpy(
            wrap(kit_backend, kit_backend.gelu(view, approximate), view.shape, view.dtype)
        )
        expected = _gelu_reference(source, approximate)
        _check(got, expected, f"gelu({dtype_name}, {approximate!r}, {kind} view)", dtype_name)


@pytest.mark.parametrize("dtype_name", ("float32", "float64"))
@pytest.mark.parametrize("approximate", APPROXIMATIONS)
def test_gelu_extremes(kit_backend, dtype_name, approximate):
    _require(kit_backend, "gelu")
    (dtype,) = require_dtypes(kit_backend, dtype_name)
    data = np.array([-1e4, -40.0, -10.0, -1e-7, 0.0, 1e-7, 10.0, 40.0, 1e4], dtype_name)
    x = to_ndarray(kit_backend, data)
    got = to_numpy(wrap(kit_backend, kit_backend.gelu(x, approximate), data.shape, dtype))
    _check(
        got, _gelu_reference(data, approximate), f"gelu({dtype_name}) at |x| up to 1e4", dtype_name
    )
    ones = to_ndarray(kit_backend, np.ones_like(data))
    slope = kit_backend.gelu_backward(ones, x, approximate)
    got = to_numpy(wrap(kit_backend, slope, data.shape, dtype))
    what = f"gelu_backward({dtype_name}) at |x| up to 1e4"
    _check(got, _gelu_slope_reference(data, approximate), what, dtype_name)


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("approximate", APPROXIMATIONS)
@pytest.mark.parametrize("kind", ("contiguous", "transposed", "broadcast", "empty"))
def test_gelu_backward(kit_backend, dtype_name, approximate, kind):
    _require(kit_backend, "gelu")
    require_dtypes(kit_backend, dtype_name)
    x_np = random_array((4, 6), dtype_name, -5, 5)
    dy_np = random_array((4, 6), dtype_name, -2, 2, seed=3)
    pairs = zip(
        strided_views(kit_backend, dy_np, (kind,)), strided_views(kit_backend, x_np, (kind,))
    )
    for (_, dy, dy_src), (_, x, x_src) in pairs:
        got = to_numpy(
            wrap(kit_backend, kit_backend.gelu_backward(dy, x, approximate), x.shape, x.dtype)
        )
        expected = dy_src.astype(np.float64) * _gelu_slope_reference(x_src, approximate)
        what = f"gelu_backward({dtype_name}, {approximate!r}, {kind} views)"
        _check(got, expected, what, dtype_name)


@pytest.mark.parametrize("approximate", APPROXIMATIONS)
def test_gelu_backward_finite_differences(kit_backend, approximate):
    _require(kit_backend, "gelu")
    (dtype,) = require_dtypes(kit_backend, "float64")
    x_np = random_array((7,), "float64", -4, 4, seed=11)
    dy_np = random_array((7,), "float64", 0.5, 2, seed=12)

    def forward(value):
        y = kit_backend.gelu(to_ndarray(kit_backend, value), approximate)
        return to_numpy(wrap(kit_backend, y, value.shape, dtype))

    step = 1e-6
    numeric = np.array(
        [
            (forward(x_np + step * e) - forward(x_np - step * e)) @ dy_np / (2 * step)
            for e in np.eye(len(x_np))
        ]
    )
    dx = kit_backend.gelu_backward(
        to_ndarray(kit_backend, dy_np), to_ndarray(kit_backend, x_np), approximate
    )
    got = to_numpy(wrap(kit_backend, dx, x_np.shape, dtype))
    what = f"gelu_backward(float64, {approximate!r}) vs finite differences"
    assert_close(got, numeric, what, 1e-6, 1e-8)


# ---------------------------------------------------------------------- adamw
def _adamw_reference(p, g, m, v, lr, beta1, beta2, eps, weight_decay, step):
    """PyTorch's AdamW step (amsgrad off), in float64."""
    p = p * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    denom = np.sqrt(v) / math.sqrt(1 - beta2**step) + eps
    return p - lr / (1 - beta1**step) * m / denom, m, v


def _with_offset(backend, array):
    """`array` as a contiguous view that starts one row into a bigger buffer."""
    padded = np.concatenate([array[:1], array])
    return to_ndarray(backend, padded).slice((slice(1, None),) + (slice(None),) * (array.ndim - 1))


def _grad_view(backend, g, layout):
    if layout == "grad-transposed":
        return to_ndarray(backend, np.ascontiguousarray(g.T)).permute((1, 0))
    if layout == "grad-offset":
        return _with_offset(backend, g)
    return to_ndarray(backend, g)


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("layout", ("dense", "grad-transposed", "grad-offset", "state-offset"))
@pytest.mark.parametrize("shape", [(5, 7), (1, 1), (33, 65)], ids=str)
def test_adamw(kit_backend, dtype_name, weight_decay, layout, shape):
    _require(kit_backend, "adamw")
    require_dtypes(kit_backend, dtype_name)
    p_np = random_array(shape, dtype_name, -1, 1, seed=1)
    zeros = np.zeros(shape, dtype_name)
    place = _with_offset if layout == "state-offset" else to_ndarray
    param, exp_avg, exp_avg_sq = (place(kit_backend, a) for a in (p_np, zeros, zeros))
    p_ref, m_ref, v_ref = (
        p_np.astype(np.float64),
        zeros.astype(np.float64),
        zeros.astype(np.float64),
    )
    hyper = dict(lr=1e-2, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=weight_decay)
    for step in range(1, 4):
        g_np = random_array(shape, dtype_name, -3, 3, seed=10 + step)
        grad = _grad_view(kit_backend, g_np, layout)
        result = kit_backend.adamw(param, grad, exp_avg, exp_avg_sq, step=step, **hyper)
        assert result is None, f"adamw must update in place and return None, got {result!r}"
        g_ref = g_np.astype(np.float64)
        p_ref, m_ref, v_ref = _adamw_reference(p_ref, g_ref, m_ref, v_ref, step=step, **hyper)
    what = f"adamw({dtype_name}, {shape}, weight_decay={weight_decay}, {layout})"
    rtol, atol = ADAMW_TOLERANCE[dtype_name]
    states = zip(
        ("param", "exp_avg", "exp_avg_sq"), (param, exp_avg, exp_avg_sq), (p_ref, m_ref, v_ref)
    )
    for name, got, expected in states:
        assert_close(to_numpy(got), expected.astype(dtype_name), f"{what}: {name}", rtol, atol)
