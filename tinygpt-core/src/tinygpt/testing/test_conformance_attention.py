"""Conformance: the optional fused attention kernel, when the backend lists "attention".

q, k, v usually arrive as head-split views, (B, T, H, D) memory seen as (B, H, T, D): the
kernel must read them in place. The causal mask is aligned bottom-right: query i of Tq sits at
position Tk - Tq + i and sees the keys up to it (a KV-cache chunk: new queries after cached
keys); with Tq == Tk it is the lower triangle. The logsumexp is float32 for float16 inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygpt.dtypes import statistics_dtype
from tinygpt.testing.helpers import (
    assert_close,
    random_array,
    require_dtypes,
    to_ndarray,
    to_numpy,
    wrap,
)

FLOATS = ("float16", "float32", "float64")
TOLERANCE = {"float16": (1e-2, 1e-2), "float32": (1e-5, 1e-5), "float64": (1e-10, 1e-12)}
STEP = 1e-6
# (B, H, Tq, Tk, D, causal)
CASES = [
    (2, 3, 5, 5, 4, True),
    (2, 3, 5, 5, 4, False),
    (1, 2, 3, 6, 4, False),  # cross-attention shape: Tq != Tk
    (1, 2, 3, 6, 4, True),  # a KV-cache chunk: 3 new queries after 3 cached keys
    (1, 1, 1, 1, 2, True),
]


def _require(backend, dtype_name):
    if "attention" not in backend.fused_ops:
        pytest.skip(f"backend {backend.name!r} does not list fused 'attention'")
    return require_dtypes(backend, dtype_name)[0]


def _head_split(backend, array, head_split):
    """(B, H, T, D) data as a dense view, or stored (B, T, H, D) and permuted like GPT does."""
    if not head_split:
        return to_ndarray(backend, array)
    stored = np.ascontiguousarray(array.transpose(0, 2, 1, 3))
    return to_ndarray(backend, stored).permute((0, 2, 1, 3))


def _reference(q, k, v, causal, scale):
    """float64 (out, lse, probs)."""
    q, k, v = (a.astype(np.float64) for a in (q, k, v))
    scores = q @ k.swapaxes(-1, -2) * scale
    if causal:
        tq, tk = scores.shape[-2:]
        visible = np.tril(np.ones((tq, tk), bool), k=tk - tq)  # bottom-right aligned
        scores = np.where(visible, scores, -np.inf)
    lse = np.log(np.exp(scores - scores.max(-1, keepdims=True)).sum(-1)) + scores.max(-1)
    probs = np.exp(scores - lse[..., None])
    return probs @ v, lse, probs


def _inputs(backend, dtype_name, b, h, tq, tk, d, head_split):
    arrays = [
        random_array((b, h, tq, d), dtype_name, -1, 1, seed=1),
        random_array((b, h, tk, d), dtype_name, -1, 1, seed=2),
        random_array((b, h, tk, d), dtype_name, -1, 1, seed=3),
    ]
    return [_head_split(backend, a, head_split) for a in arrays], arrays


def _check(got, expected, what, dtype_name):
    rtol, atol = TOLERANCE[dtype_name]
    assert_close(got, np.asarray(expected).astype(dtype_name), what, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize(("b", "h", "tq", "tk", "d", "causal"), CASES, ids=str)
@pytest.mark.parametrize("head_split", [False, True], ids=["dense", "head-split views"])
def test_attention(kit_backend, dtype_name, b, h, tq, tk, d, causal, head_split):
    dtype = _require(kit_backend, dtype_name)
    (q, k, v), (q_np, k_np, v_np) = _inputs(kit_backend, dtype_name, b, h, tq, tk, d, head_split)
    scale = 1 / np.sqrt(d)
    out, lse = kit_backend.attention(q, k, v, causal, scale)
    ref_out, ref_lse, _ = _reference(q_np, k_np, v_np, causal, scale)
    what = f"attention({dtype_name}, {(b, h, tq, tk, d)}, causal={causal}, {head_split=})"
    _check(
        to_numpy(wrap(kit_backend, out, (b, h, tq, d), dtype)), ref_out, f"{what}: out", dtype_name
    )
    stats = statistics_dtype(dtype)
    _check(to_numpy(wrap(kit_backend, lse, (b, h, tq), stats)), ref_lse, f"{what}: lse", stats.name)


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize(("b", "h", "tq", "tk", "d", "causal"), CASES, ids=str)
@pytest.mark.parametrize("head_split", [False, True], ids=["dense", "head-split views"])
def test_attention_backward(kit_backend, dtype_name, b, h, tq, tk, d, causal, head_split):
    dtype = _require(kit_backend, dtype_name)
    (q, k, v), (q_np, k_np, v_np) = _inputs(kit_backend, dtype_name, b, h, tq, tk, d, head_split)
    scale = 1 / np.sqrt(d)
    out, lse = kit_backend.attention(q, k, v, causal, scale)
    out = wrap(kit_backend, out, (b, h, tq, d), dtype)
    lse = wrap(kit_backend, lse, (b, h, tq), statistics_dtype(dtype))
    dout_np = random_array((b, h, tq, d), dtype_name, -1, 1, seed=4)
    dout = _head_split(kit_backend, dout_np, head_split)
    grads = kit_backend.attention_backward(dout, q, k, v, out, lse, causal, scale)
    # closed form: dv = P^T dO, dS = P * (dO V^T - rowsum(dO * O)), dq = dS K, dk = dS^T Q
    ref_out, _, probs = _reference(q_np, k_np, v_np, causal, scale)
    dout64 = dout_np.astype(np.float64)
    dscores = (
        probs
        * (
            dout64 @ v_np.astype(np.float64).swapaxes(-1, -2)
            - (dout64 * ref_out).sum(-1, keepdims=True)
        )
        * scale
    )
    expected = (
        dscores @ k_np.astype(np.float64),
        dscores.swapaxes(-1, -2) @ q_np.astype(np.float64),
        probs.swapaxes(-1, -2) @ dout64,
    )
    shapes = ((b, h, tq, d), (b, h, tk, d), (b, h, tk, d))
    what = f"attention_backward({dtype_name}, {(b, h, tq, tk, d)}, causal={causal}, {head_split=})"
    for name, grad, ref, shape in zip(("dq", "dk", "dv"), grads, expected, shapes):
        _check(to_numpy(wrap(kit_backend, grad, shape, dtype)), ref, f"{what}: {name}", dtype_name)


@pytest.mark.parametrize("causal", [True, False])
def test_attention_backward_finite_differences(kit_backend, causal):
    dtype = _require(kit_backend, "float64")
    shape = (1, 2, 3, 2)
    arrays = [random_array(shape, "float64", -1, 1, seed=s) for s in (1, 2, 3)]
    dout_np = random_array(shape, "float64", -1, 1, seed=4)

    def forward(which, value):
        inputs = [value if i == which else a for i, a in enumerate(arrays)]
        out, _ = kit_backend.attention(*[to_ndarray(kit_backend, a) for a in inputs], causal, 0.7)
        return to_numpy(wrap(kit_backend, out, shape, dtype))

    views = [to_ndarray(kit_backend, a) for a in arrays]
    out, lse = kit_backend.attention(*views, causal, 0.7)
    grads = kit_backend.attention_backward(
        to_ndarray(kit_backend, dout_np),
        *views,
        wrap(kit_backend, out, shape, dtype),
        wrap(kit_backend, lse, shape[:-1], dtype),
        causal,
        0.7,
    )
    for which, name in enumerate(("dq", "dk", "dv")):
        numeric = np.zeros(shape)
        for i in np.ndindex(shape):
            plus = arrays[which].copy()
            minus = arrays[which].copy()
            plus[i] += STEP
            minus[i] -= STEP
            diff = forward(which, plus) - forward(which, minus)
            numeric[i] = np.sum(diff * dout_np) / (2 * STEP)
        got = to_numpy(wrap(kit_backend, grads[which], shape, dtype))
        what = f"attention_backward(float64, causal={causal}) vs finite differences: {name}"
        assert_close(got, numeric, what, 1e-6, 1e-8)


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize(("tq", "tk", "d"), [(5, 3, 4), (20, 3, 32), (40, 10, 8)], ids=str)
def test_a_causal_query_that_sees_no_key_gets_zeros(kit_backend, dtype_name, tq, tk, d):
    """Causal with Tq > Tk: the first Tq - Tk queries see no key (bottom-right alignment).
    Like PyTorch's scaled_dot_product_attention for a fully masked row: out 0, lse -inf,
    and no gradient through them (never nan)."""
    dtype = _require(kit_backend, dtype_name)
    (q, k, v), (q_np, k_np, v_np) = _inputs(kit_backend, dtype_name, 1, 2, tq, tk, d, False)
    scale = 1 / np.sqrt(d)
    out, lse = kit_backend.attention(q, k, v, True, scale)
    out = wrap(kit_backend, out, (1, 2, tq, d), dtype)
    lse = wrap(kit_backend, lse, (1, 2, tq), statistics_dtype(dtype))
    blind = tq - tk
    out_np, lse_np = to_numpy(out), to_numpy(lse)
    what = f"attention(causal, Tq={tq} > Tk={tk}, {dtype_name})"
    assert np.all(out_np[:, :, :blind] == 0), f"{what}: rows that see no key must be 0"
    assert np.all(lse_np[:, :, :blind] == -np.inf), f"{what}: their lse must be -inf"
    with np.errstate(invalid="ignore"):  # the reference's blind rows are nan (0 / 0)
        ref_out, _, _ = _reference(q_np, k_np, v_np, True, scale)
    _check(out_np[:, :, blind:], ref_out[:, :, blind:], f"{what}: the other rows", dtype_name)
    dout = to_ndarray(kit_backend, random_array((1, 2, tq, d), dtype_name, -1, 1, seed=4))
    grads = kit_backend.attention_backward(dout, q, k, v, out, lse, True, scale)
    dq = to_numpy(wrap(kit_backend, grads[0], (1, 2, tq, d), dtype))
    assert np.all(dq[:, :, :blind] == 0), f"{what}: dq of the rows that see no key must be 0"
    for grad, shape in zip(grads, ((1, 2, tq, d), (1, 2, tk, d), (1, 2, tk, d))):
        assert np.all(np.isfinite(to_numpy(wrap(kit_backend, grad, shape, dtype)))), what
