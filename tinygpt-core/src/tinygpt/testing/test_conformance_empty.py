"""Conformance: every fused kernel on empty inputs (no rows, no classes, no keys, ...).

An empty input must give outputs of the right shapes and dtypes, never a crash, an error or
uninitialized memory. Where an empty reduction has a value, it is PyTorch's: a sum of nothing
is 0 (layer norm's dweight and dbias with no rows, attention's gradients), the logsumexp of
nothing is -inf (cross-entropy with no classes, attention with no keys, whose out is 0), and
layer norm's statistics over C = 0 are 0 / 0 = nan.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygpt.dtypes import statistics_dtype
from tinygpt.testing.helpers import assert_close, require_dtypes, to_ndarray, to_numpy, wrap

FLOATS = ("float16", "float32", "float64")


def _require(backend, name, dtype_name):
    if name not in backend.fused_ops:
        pytest.skip(f"backend {backend.name!r} does not list fused {name!r}")
    return require_dtypes(backend, dtype_name)[0]


def _ones(backend, shape, dtype_name):
    return to_ndarray(backend, np.ones(shape, dtype_name))


def _read(backend, buffer, shape, dtype):
    return to_numpy(wrap(backend, buffer, shape, dtype))


# -------------------------------------------------------------------- softmax
@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize(
    ("shape", "axis"), [((0, 5), 1), ((3, 0), 1), ((2, 0, 4), 2), ((2, 3, 0), 0)], ids=str
)
def test_softmax_empty(kit_backend, dtype_name, log, shape, axis):
    dtype = _require(kit_backend, "softmax", dtype_name)
    out = kit_backend.softmax(_ones(kit_backend, shape, dtype_name), axis, log)
    got = _read(kit_backend, out, shape, dtype)
    assert_close(got, np.ones(shape, dtype_name), f"softmax({dtype_name}, empty {shape})")


# ----------------------------------------------------------------- layer norm
@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("shape", [(2, 0, 4), (0, 4), (2, 3, 0)], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_empty(kit_backend, dtype_name, shape, affine):
    dtype = _require(kit_backend, "layer_norm", dtype_name)
    stats = statistics_dtype(dtype)
    channels = shape[-1:]
    x = _ones(kit_backend, shape, dtype_name)
    w = _ones(kit_backend, channels, dtype_name) if affine else None
    b = _ones(kit_backend, channels, dtype_name) if affine else None
    what = f"layer_norm({dtype_name}, empty {shape}, affine={affine})"
    y, mean, rstd = kit_backend.layer_norm(x, w, b, 1e-5)
    rows = shape[:-1]
    assert _read(kit_backend, y, shape, dtype).shape == shape, f"{what}: y"
    for name, buffer in (("mean", mean), ("rstd", rstd)):
        expected = np.full(rows, np.nan, stats.name)  # C = 0: 0 / 0; no rows: empty
        assert_close(_read(kit_backend, buffer, rows, stats), expected, f"{what}: {name}")
    dx, dw, db = kit_backend.layer_norm_backward(
        _ones(kit_backend, shape, dtype_name),
        x,
        w,
        wrap(kit_backend, mean, rows, stats),
        wrap(kit_backend, rstd, rows, stats),
    )
    assert _read(kit_backend, dx, shape, dtype).shape == shape, f"{what}: dx"
    zeros = np.zeros(channels, dtype_name)  # sums over no rows
    assert_close(_read(kit_backend, db, channels, dtype), zeros, f"{what}: dbias")
    if affine:
        assert_close(_read(kit_backend, dw, channels, dtype), zeros, f"{what}: dweight")
    else:
        assert dw is None, f"{what}: dweight should be None without a weight"


# -------------------------------------------------------------- cross-entropy
@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize(
    ("rows", "classes"), [(0, 5), (0, 0), (3, 0)], ids=["no rows", "nothing", "no classes"]
)
def test_cross_entropy_empty(kit_backend, dtype_name, rows, classes):
    dtype = _require(kit_backend, "cross_entropy", dtype_name)
    stats = statistics_dtype(dtype)
    logits = _ones(kit_backend, (rows, classes), dtype_name)
    targets = to_ndarray(kit_backend, np.full(rows, -100, np.int64))  # all ignored
    what = f"cross_entropy({dtype_name}, empty ({rows}, {classes}))"
    loss, lse = kit_backend.cross_entropy(logits, targets, -100)
    assert_close(_read(kit_backend, loss, (rows,), dtype), np.zeros(rows, dtype_name), what)
    expected_lse = np.full(rows, -np.inf, stats.name)  # the logsumexp of no classes
    assert_close(_read(kit_backend, lse, (rows,), stats), expected_lse, f"{what}: lse")
    dlogits = kit_backend.cross_entropy_backward(
        _ones(kit_backend, (rows,), dtype_name),
        logits,
        targets,
        wrap(kit_backend, lse, (rows,), stats),
        -100,
    )
    got = _read(kit_backend, dlogits, (rows, classes), dtype)
    assert got.shape == (rows, classes), f"{what}: dlogits"


# ------------------------------------------------------------------ attention
# (B, H, Tq, Tk, D, causal)
ATTENTION_CASES = [
    (0, 2, 3, 3, 4, True),  # no batch
    (1, 2, 0, 0, 4, True),  # T = 0
    (1, 2, 0, 3, 4, False),  # no queries
    (1, 2, 3, 0, 4, False),  # no keys: out 0, lse -inf
    (1, 2, 3, 3, 0, False),  # D = 0: lse = log(Tk)
    (1, 2, 3, 3, 0, True),  # D = 0, causal: lse = log(i + 1)
]


def _attention_lse(b, h, tq, tk, d, causal):
    """The logsumexp of all-zero scores (D = 0) or of no scores (Tk = 0), (B, H, Tq)."""
    visible = np.arange(1, tq + 1) if causal else np.full(tq, tk)
    with np.errstate(divide="ignore"):
        return np.broadcast_to(np.log(visible.astype(np.float64)), (b, h, tq))


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize(("b", "h", "tq", "tk", "d", "causal"), ATTENTION_CASES, ids=str)
def test_attention_empty(kit_backend, dtype_name, b, h, tq, tk, d, causal):
    dtype = _require(kit_backend, "attention", dtype_name)
    stats = statistics_dtype(dtype)
    q = _ones(kit_backend, (b, h, tq, d), dtype_name)
    k = _ones(kit_backend, (b, h, tk, d), dtype_name)
    v = _ones(kit_backend, (b, h, tk, d), dtype_name)
    what = f"attention({dtype_name}, {(b, h, tq, tk, d)}, causal={causal})"
    out, lse = kit_backend.attention(q, k, v, causal, 0.5)
    expected_out = np.zeros((b, h, tq, d), dtype_name)  # no keys: a sum of nothing
    assert_close(_read(kit_backend, out, (b, h, tq, d), dtype), expected_out, f"{what}: out")
    expected_lse = _attention_lse(b, h, tq, tk, d, causal).astype(stats.name)
    assert_close(_read(kit_backend, lse, (b, h, tq), stats), expected_lse, f"{what}: lse")
    grads = kit_backend.attention_backward(
        _ones(kit_backend, (b, h, tq, d), dtype_name),
        q,
        k,
        v,
        wrap(kit_backend, out, (b, h, tq, d), dtype),
        wrap(kit_backend, lse, (b, h, tq), stats),
        causal,
        0.5,
    )
    shapes = ((b, h, tq, d), (b, h, tk, d), (b, h, tk, d))
    for name, grad, shape in zip(("dq", "dk", "dv"), grads, shapes):
        expected = np.zeros(shape, dtype_name)  # nothing to sum, or a zero-width product
        assert_close(_read(kit_backend, grad, shape, dtype), expected, f"{what}: {name}")


# ----------------------------------------------------------------------- adamw
@pytest.mark.parametrize("dtype_name", FLOATS)
def test_adamw_empty(kit_backend, dtype_name):
    _require(kit_backend, "adamw", dtype_name)
    param, grad, m, v = (_ones(kit_backend, (0, 3), dtype_name) for _ in range(4))
    kit_backend.adamw(param, grad, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.01, 1)
    assert to_numpy(param).shape == (0, 3), f"adamw({dtype_name}, empty): param"
