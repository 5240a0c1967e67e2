"""Conformance: the optional fused kernels, tested only when the backend lists them.

Forward passes are compared with float64 NumPy references; backward passes with the closed
form and, in float64, with central finite differences of the backend's own forward. The
statistics a forward saves (mean, rstd, logsumexp) are float32 for float16 inputs
(`statistics_dtype`): `to_numpy` checks their size, so a float16 buffer fails.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygpt.dtypes import DTYPES, statistics_dtype
from tinygpt.testing.helpers import (
    assert_close,
    random_array,
    require_dtypes,
    to_ndarray,
    to_numpy,
    wrap,
)

FLOATS = ("float16", "float32", "float64")
#: looser than elementwise: these kernels chain exp, sums and divisions
FUSED_TOLERANCE = {"float16": (1e-2, 1e-2), "float32": (1e-5, 1e-5), "float64": (1e-10, 1e-12)}
STEP = 1e-6  # finite-difference step (float64)


def _require_fused(backend, name):
    if name not in backend.fused_ops:
        pytest.skip(f"backend {backend.name!r} does not list fused {name!r}")


def _check(got, expected, what, dtype_name):
    rtol, atol = FUSED_TOLERANCE[dtype_name]
    assert_close(got, np.asarray(expected).astype(dtype_name), what, rtol=rtol, atol=atol)


def _layout(backend, data, transposed):
    """`data` as a dense view, or as a view whose last two dims are swapped in memory."""
    if not transposed:
        return to_ndarray(backend, data)
    axes = tuple(range(data.ndim - 2)) + (data.ndim - 1, data.ndim - 2)
    return to_ndarray(backend, np.ascontiguousarray(data.transpose(axes))).permute(axes)


def _numeric_gradient(f, x, weights):
    """d sum(f(x) * weights) / dx by central differences (float64)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus = x.copy()
        minus = x.copy()
        plus[i] += STEP
        minus[i] -= STEP
        grad[i] = np.sum((f(plus) - f(minus)) * weights) / (2 * STEP)
    return grad


# -------------------------------------------------------------------- softmax
def _softmax_reference(x, axis, log):
    x = x.astype(np.float64)
    shifted = x - x.max(axis=axis, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted - lse if log else np.exp(shifted - lse)


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize(
    ("shape", "axis", "transposed"),
    [
        ((4, 7), 1, False),
        ((4, 7), 0, False),
        ((4, 7), 1, True),
        ((2, 3, 5), 2, False),
        ((2, 3, 5), 1, True),
        ((5,), 0, False),
        ((3, 1), 1, False),
    ],
    ids=str,
)
def test_softmax(kit_backend, dtype_name, log, shape, axis, transposed):
    _require_fused(kit_backend, "softmax")
    (dtype,) = require_dtypes(kit_backend, dtype_name)
    data = random_array(shape, dtype_name, -4, 4)
    x = _layout(kit_backend, data, transposed and len(shape) >= 2)
    got = to_numpy(wrap(kit_backend, kit_backend.softmax(x, axis, log), shape, dtype))
    what = f"softmax({dtype_name}, log={log}, {shape}, axis={axis}, transposed={transposed})"
    _check(got, _softmax_reference(data, axis, log), what, dtype_name)


@pytest.mark.parametrize("dtype_name", ("float32", "float64"))
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_huge_logits(kit_backend, dtype_name, log):
    _require_fused(kit_backend, "softmax")
    (dtype,) = require_dtypes(kit_backend, dtype_name)
    # exp(1e4) overflows: only a max-subtracting kernel gets these right
    data = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4], [-1e4, -1e4 + 1.0, -1e4]], dtype_name)
    x = to_ndarray(kit_backend, data)
    got = to_numpy(wrap(kit_backend, kit_backend.softmax(x, 1, log), data.shape, dtype))
    expected = _softmax_reference(data, 1, log)
    _check(got, expected, f"softmax({dtype_name}, log={log}, logits of +-1e4)", dtype_name)


# ----------------------------------------------------------------- layer norm
def _layer_norm_reference(x, weight, bias, eps):
    x = x.astype(np.float64)
    mean = x.mean(axis=-1)
    rstd = 1 / np.sqrt(x.var(axis=-1) + eps)
    y = (x - mean[..., None]) * rstd[..., None]
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y, mean, rstd


def _layer_norm_args(backend, dtype_name, shape, affine, transposed):
    x_np = random_array(shape, dtype_name, -2, 4, seed=1)
    w_np = random_array(shape[-1:], dtype_name, 0.5, 1.5, seed=2) if affine else None
    b_np = random_array(shape[-1:], dtype_name, -1, 1, seed=3) if affine else None
    x = _layout(backend, x_np, transposed)
    w = None if w_np is None else to_ndarray(backend, w_np)
    b = None if b_np is None else to_ndarray(backend, b_np)
    return (x, w, b), (x_np, w_np, b_np)


LN_CASES = [
    ((3, 8), True, False),
    ((3, 8), False, False),
    ((3, 8), True, True),
    ((2, 3, 8), True, False),
    ((2, 3, 8), False, True),
    ((1, 5), True, False),
]


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize(("shape", "affine", "transposed"), LN_CASES, ids=str)
def test_layer_norm(kit_backend, dtype_name, shape, affine, transposed):
    _require_fused(kit_backend, "layer_norm")
    (dtype,) = require_dtypes(kit_backend, dtype_name)
    (x, w, b), (x_np, w_np, b_np) = _layer_norm_args(
        kit_backend, dtype_name, shape, affine, transposed
    )
    y, mean, rstd = kit_backend.layer_norm(x, w, b, 1e-5)
    ref_y, ref_mean, ref_rstd = _layer_norm_reference(x_np, w_np, b_np, 1e-5)
    what = f"layer_norm({dtype_name}, {shape}, affine={affine}, transposed={transposed})"
    _check(to_numpy(wrap(kit_backend, y, shape, dtype)), ref_y, f"{what}: y", dtype_name)
    rows = shape[:-1]
    stats = statistics_dtype(dtype)
    _check(to_numpy(wrap(kit_backend, mean, rows, stats)), ref_mean, f"{what}: mean", stats.name)
    _check(to_numpy(wrap(kit_backend, rstd, rows, stats)), ref_rstd, f"{what}: rstd", stats.name)


def _layer_norm_backward_reference(dy, x, weight, eps):
    y_hat, _, rstd = _layer_norm_reference(x, None, None, eps)
    g = dy if weight is None else dy * weight
    dx = rstd[..., None] * (
        g - g.mean(-1, keepdims=True) - y_hat * (g * y_hat).mean(-1, keepdims=True)
    )
    rows = tuple(range(dy.ndim - 1))
    return dx, (dy * y_hat).sum(rows), dy.sum(rows)


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize(("shape", "affine", "transposed"), LN_CASES, ids=str)
def test_layer_norm_backward(kit_backend, dtype_name, shape, affine, transposed):
    _require_fused(kit_backend, "layer_norm")
    (dtype,) = require_dtypes(kit_backend, dtype_name)
    (x, w, b), (x_np, w_np, _) = _layer_norm_args(
        kit_backend, dtype_name, shape, affine, transposed
    )
    _, mean, rstd = kit_backend.layer_norm(x, w, b, 1e-5)
    rows = shape[:-1]
    mean = wrap(kit_backend, mean, rows, statistics_dtype(dtype))
    rstd = wrap(kit_backend, rstd, rows, statistics_dtype(dtype))
    dy_np = random_array(shape, dtype_name, -1, 1, seed=4)
    dx, dw, db = kit_backend.layer_norm_backward(
        _layout(kit_backend, dy_np, transposed), x, w, mean, rstd
    )
    ref_dx, ref_dw, ref_db = _layer_norm_backward_reference(
        dy_np.astype(np.float64), x_np, None if w_np is None else w_np.astype(np.float64), 1e-5
    )
    what = f"layer_norm_backward({dtype_name}, {shape}, affine={affine})"
    _check(to_numpy(wrap(kit_backend, dx, shape, dtype)), ref_dx, f"{what}: dx", dtype_name)
    if affine:
        got_dw = to_numpy(wrap(kit_backend, dw, shape[-1:], dtype))
        _check(got_dw, ref_dw, f"{what}: dweight", dtype_name)
        got_db = to_numpy(wrap(kit_backend, db, shape[-1:], dtype))
        _check(got_db, ref_db, f"{what}: dbias", dtype_name)
    else:
        assert dw is None, f"{what}: dweight should be None without a weight"


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_backward_finite_differences(kit_backend, affine):
    _require_fused(kit_backend, "layer_norm")
    (dtype,) = require_dtypes(kit_backend, "float64")
    (x, w, b), (x_np, w_np, b_np) = _layer_norm_args(kit_backend, "float64", (2, 5), affine, False)
    dy_np = random_array((2, 5), "float64", -1, 1, seed=4)

    def forward(x_value, w_value=w_np):
        w_arg = None if w_value is None else to_ndarray(kit_backend, w_value)
        y, _, _ = kit_backend.layer_norm(to_ndarray(kit_backend, x_value), w_arg, b, 1e-5)
        return to_numpy(wrap(kit_backend, y, (2, 5), dtype))

    _, mean, rstd = kit_backend.layer_norm(x, w, b, 1e-5)
    dx, dw, _ = kit_backend.layer_norm_backward(
        to_ndarray(kit_backend, dy_np),
        x,
        w,
        wrap(kit_backend, mean, (2,), dtype),
        wrap(kit_backend, rstd, (2,), dtype),
    )
    got_dx = to_numpy(wrap(kit_backend, dx, (2, 5), dtype))
    what = f"layer_norm_backward(float64, affine={affine}) vs finite differences"
    assert_close(got_dx, _numeric_gradient(forward, x_np, dy_np), f"{what}: dx", 1e-6, 1e-8)
    if affine:
        numeric_dw = _numeric_gradient(lambda v: forward(x_np, v), w_np, dy_np)
        got_dw = to_numpy(wrap(kit_backend, dw, (5,), dtype))
        assert_close(got_dw, numeric_dw, f"{what}: dweight", 1e-6, 1e-8)


# -------------------------------------------------------------- cross-entropy
def _cross_entropy_reference(logits, targets, ignore_index):
    logits = logits.astype(np.float64)
    row_max = logits.max(axis=1)
    lse = row_max + np.log(np.exp(logits - row_max[:, None]).sum(axis=1))
    valid = targets != ignore_index
    picked = logits[np.arange(len(targets)), np.where(valid, targets, 0)]
    return np.where(valid, lse - picked, 0.0), lse


def _cross_entropy_args(backend, dtype_name, transposed, ignore_index, scale=3.0):
    logits_np = random_array((6, 5), dtype_name, -scale, scale, seed=1)
    targets_np = np.array([0, 4, ignore_index, 2, 2, 1], np.int64)
    logits = _layout(backend, logits_np, transposed)
    return logits, to_ndarray(backend, targets_np), logits_np, targets_np


CE_CASES = [(False, -100), (True, -100), (False, 1)]  # ignore_index may be a real class id


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize(("transposed", "ignore_index"), CE_CASES, ids=str)
@pytest.mark.parametrize("scale", [3.0, 1e4], ids=["logits~3", "logits~1e4"])
def test_cross_entropy(kit_backend, dtype_name, transposed, ignore_index, scale):
    _require_fused(kit_backend, "cross_entropy")
    (dtype,) = require_dtypes(kit_backend, dtype_name)
    if scale > 1e3 and dtype_name == "float16":
        scale = 6e3  # stay inside float16's range
    logits, targets, logits_np, targets_np = _cross_entropy_args(
        kit_backend, dtype_name, transposed, ignore_index, scale
    )
    loss, lse = kit_backend.cross_entropy(logits, targets, ignore_index)
    ref_loss, ref_lse = _cross_entropy_reference(logits_np, targets_np, ignore_index)
    what = f"cross_entropy({dtype_name}, transposed={transposed}, ignore_index={ignore_index})"
    got_loss = to_numpy(wrap(kit_backend, loss, (6,), dtype))
    _check(got_loss, ref_loss, f"{what}: loss", dtype_name)
    stats = statistics_dtype(dtype)
    _check(to_numpy(wrap(kit_backend, lse, (6,), stats)), ref_lse, f"{what}: lse", stats.name)
    ignored = targets_np == ignore_index
    assert (got_loss[ignored] == 0).all(), f"{what}: ignored rows must have loss 0"


def _cross_entropy_backward_reference(dloss, logits, targets, ignore_index):
    probs = _softmax_reference(logits, 1, log=False)
    valid = targets != ignore_index
    probs[np.arange(len(targets))[valid], targets[valid]] -= 1
    return probs * np.where(valid, dloss, 0.0)[:, None]


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize(("transposed", "ignore_index"), CE_CASES, ids=str)
def test_cross_entropy_backward(kit_backend, dtype_name, transposed, ignore_index):
    _require_fused(kit_backend, "cross_entropy")
    (dtype,) = require_dtypes(kit_backend, dtype_name)
    logits, targets, logits_np, targets_np = _cross_entropy_args(
        kit_backend, dtype_name, transposed, ignore_index
    )
    _, lse = kit_backend.cross_entropy(logits, targets, ignore_index)
    dloss_np = random_array((6,), dtype_name, 0.5, 2, seed=5)
    dlogits = kit_backend.cross_entropy_backward(
        to_ndarray(kit_backend, dloss_np),
        logits,
        targets,
        wrap(kit_backend, lse, (6,), statistics_dtype(dtype)),
        ignore_index,
    )
    expected = _cross_entropy_backward_reference(
        dloss_np.astype(np.float64), logits_np, targets_np, ignore_index
    )
    what = (
        f"cross_entropy_backward({dtype_name}, transposed={transposed}, "
        f"ignore_index={ignore_index})"
    )
    _check(to_numpy(wrap(kit_backend, dlogits, (6, 5), dtype)), expected, what, dtype_name)


def test_cross_entropy_float16_keeps_a_float32_logsumexp(kit_backend):
    _require_fused(kit_backend, "cross_entropy")
    require_dtypes(kit_backend, "float16")
    # lse = 1e4 + log 3: in float16 (spacing 8 at 1e4) it would round to 1e4, and the
    # gradient exp(x - lse) - onehot would be [0, 1, 1] instead of [-2/3, 1/3, 1/3]
    logits = to_ndarray(kit_backend, np.full((1, 3), 1e4, np.float16))
    targets = to_ndarray(kit_backend, np.zeros(1, np.int64))
    _, lse = kit_backend.cross_entropy(logits, targets, -100)
    lse = wrap(kit_backend, lse, (1,), DTYPES["float32"])
    dloss = to_ndarray(kit_backend, np.ones(1, np.float16))
    dlogits = kit_backend.cross_entropy_backward(dloss, logits, targets, lse, -100)
    got = to_numpy(wrap(kit_backend, dlogits, (1, 3), DTYPES["float16"]))
    expected = np.array([[-2 / 3, 1 / 3, 1 / 3]])
    _check(got, expected, "cross_entropy_backward(float16, logits 1e4)", "float16")


def test_cross_entropy_backward_finite_differences(kit_backend):
    _require_fused(kit_backend, "cross_entropy")
    (dtype,) = require_dtypes(kit_backend, "float64")
    logits, targets, logits_np, _ = _cross_entropy_args(kit_backend, "float64", False, -100)
    dloss_np = random_array((6,), "float64", 0.5, 2, seed=5)

    def forward(value):
        loss, _ = kit_backend.cross_entropy(to_ndarray(kit_backend, value), targets, -100)
        return to_numpy(wrap(kit_backend, loss, (6,), dtype))

    _, lse = kit_backend.cross_entropy(logits, targets, -100)
    dlogits = kit_backend.cross_entropy_backward(
        to_ndarray(kit_backend, dloss_np),
        logits,
        targets,
        wrap(kit_backend, lse, (6,), dtype),
        -100,
    )
    got = to_numpy(wrap(kit_backend, dlogits, (6, 5), dtype))
    numeric = _numeric_gradient(forward, logits_np, dloss_np)
    assert_close(got, numeric, "cross_entropy_backward(float64) vs finite differences", 1e-6, 1e-8)


def test_fused_ops_are_known(kit_backend):
    from tinygpt.backend.protocol import FUSED_OPS

    unknown = set(kit_backend.fused_ops) - FUSED_OPS
    assert not unknown, f"{kit_backend.name}: fused_ops lists unknown kernels {sorted(unknown)}"
    assert DTYPES["float32"] in kit_backend.dtypes, f"{kit_backend.name}: float32 is required"
