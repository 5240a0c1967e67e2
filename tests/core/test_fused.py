"""The fused ops (tinygpt.ops.normalization, .loss, .attention): the fused-kernel path and
the composite fallback agree with each other, with NumPy, and (backward) with float64 finite
differences, on every backend."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygpt as tg
from tinygpt.ops.attention import attention
from tinygpt.ops.loss import cross_entropy_rows


def layer_norm(x, weight, bias, eps=1e-5):
    """Layer norm over the last dim (the fused op's own form)."""
    return tg.layer_norm(x, x.shape[-1:], weight, bias, eps)


def _t(array, device, requires_grad=False):
    return tg.tensor(np.asarray(array), device=device, requires_grad=requires_grad)


# ----------------------------------------------------------------- NumPy references
def np_layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    return y * (1 if w is None else w) + (0 if b is None else b)


def np_cross_entropy(logits, targets, ignore_index):
    shifted = logits - logits.max(1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    safe = np.where(targets == ignore_index, 0, targets)
    loss = -logp[np.arange(len(targets)), safe]
    return np.where(targets == ignore_index, 0.0, loss)


def np_attention(q, k, v, causal, scale):
    scores = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        tq, tk = q.shape[-2], k.shape[-2]
        allowed = np.tril(np.ones((tq, tk), dtype=bool), k=tk - tq)
        scores = np.where(allowed, scores, -np.inf)
    scores = scores - scores.max(-1, keepdims=True)
    p = np.exp(scores)
    return (p / p.sum(-1, keepdims=True)) @ v


# ---------------------------------------------------------------------- layer norm
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_forward_matches_numpy(device, path, affine):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 5)).astype(np.float32)
    w = rng.normal(size=5).astype(np.float32) if affine != "none" else None
    b = rng.normal(size=5).astype(np.float32) if affine == "both" else None
    got = layer_norm(
        _t(x, device), None if w is None else _t(w, device), None if b is None else _t(b, device)
    )
    np.testing.assert_allclose(got.numpy(), np_layer_norm(x, w, b, 1e-5), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_gradcheck(device, path, affine):
    rng = np.random.default_rng(1)
    x = _t(rng.normal(size=(3, 4)), device, True)
    w = _t(rng.normal(size=4), device, True)
    b = _t(rng.normal(size=4), device, True)
    if affine == "both":
        fn, inputs = (lambda x, w, b: layer_norm(x, w, b)), [x, w, b]
    elif affine == "weight":
        fn, inputs = (lambda x, w: layer_norm(x, w, None)), [x, w]
    else:
        fn, inputs = (lambda x: layer_norm(x, None, None)), [x]
    assert tg.autograd.gradcheck(fn, inputs)


def test_layer_norm_paths_agree(device, monkeypatch):
    rng = np.random.default_rng(2)
    arrays = [rng.normal(size=(4, 6)), rng.normal(size=6), rng.normal(size=6)]

    def run():
        x, w, b = (_t(a, device, True) for a in arrays)
        y = layer_norm(x, w, b)
        (y * y).sum().backward()
        return [t.numpy() for t in (y, x.grad, w.grad, b.grad)]

    first = run()
    monkeypatch.setattr(tg.get_backend(device), "fused_ops", frozenset())
    for a, c in zip(first, run()):
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-12)


def test_layer_norm_bad_weight_shape(device):
    with pytest.raises(tg.ShapeError, match=r"layer_norm: weight has shape \(3,\)"):
        layer_norm(tg.zeros(2, 4, device=device), tg.ones(3, device=device), None)


# ------------------------------------------------------------------- cross-entropy
def test_cross_entropy_forward_matches_numpy(device, path):
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(6, 5)).astype(np.float32)
    targets = np.array([0, 4, -100, 2, 2, 1])
    got = cross_entropy_rows(_t(logits, device), _t(targets, device), -100)
    np.testing.assert_allclose(got.numpy(), np_cross_entropy(logits, targets, -100), rtol=1e-5)


def test_cross_entropy_gradcheck(device, path):
    rng = np.random.default_rng(4)
    logits = _t(rng.normal(size=(5, 4)), device, True)
    targets = _t(np.array([3, 0, 7, 1, 1]), device)
    assert tg.autograd.gradcheck(lambda z: cross_entropy_rows(z, targets, 7), [logits])


def test_cross_entropy_is_stable_for_huge_logits(device, path):
    logits = _t(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype=np.float32), device)
    loss = cross_entropy_rows(logits, _t(np.array([0, 0]), device), -100)
    np.testing.assert_allclose(loss.numpy(), [0.0, 2e4], rtol=1e-6)


def test_cross_entropy_rejects_out_of_range_target(device):
    logits = tg.zeros(2, 3, device=device)
    with pytest.raises(IndexError, match=r"target 3 \(row 1\) is out of range for 3 classes"):
        cross_entropy_rows(logits, _t(np.array([0, 3]), device), -100)


def test_cross_entropy_rejects_float_targets(device):
    with pytest.raises(tg.DTypeError, match="cross_entropy: targets must be class indices"):
        cross_entropy_rows(tg.zeros(2, 3, device=device), tg.zeros(2, device=device), -100)


# ----------------------------------------------------------------------- attention
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("tq,tk", [(4, 4), (2, 5), (1, 3)])
def test_attention_forward_matches_numpy(device, path, causal, tq, tk):
    rng = np.random.default_rng(5)
    q = rng.normal(size=(2, 3, tq, 4)).astype(np.float32)
    k = rng.normal(size=(2, 3, tk, 4)).astype(np.float32)
    v = rng.normal(size=(2, 3, tk, 4)).astype(np.float32)
    got = attention(_t(q, device), _t(k, device), _t(v, device), causal=causal)
    want = np_attention(q, k, v, causal, 0.5)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_gradcheck(device, path, causal):
    rng = np.random.default_rng(6)
    q = _t(rng.normal(size=(1, 2, 3, 2)), device, True)
    k = _t(rng.normal(size=(1, 2, 4, 2)), device, True)
    v = _t(rng.normal(size=(1, 2, 4, 2)), device, True)

    def fn(q, k, v):
        return attention(q, k, v, causal=causal, scale=0.7)

    assert tg.autograd.gradcheck(fn, [q, k, v])


@pytest.mark.oracle
def test_attention_matches_torch(device, path):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    q, k, v = (rng.normal(size=(2, 2, 5, 3)) for _ in range(3))
    got = attention(_t(q, device), _t(k, device), _t(v, device), causal=True)
    want = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(a) for a in (q, k, v)), is_causal=True
    )
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-8)


def test_attention_bad_shapes(device):
    q = tg.zeros(1, 2, 3, 4, device=device)
    with pytest.raises(tg.ShapeError, match="attention: expected q"):
        attention(q, tg.zeros(2, 3, 4, device=device), tg.zeros(2, 3, 4, device=device))
    with pytest.raises(tg.ShapeError, match="differ in batch, heads or head size"):
        k = tg.zeros(1, 2, 3, 5, device=device)
        attention(q, k, k)


# ------------------------------------------------------------- fused == composite
def _both_paths(device, run):
    """run() through the fused kernels and then the composite path; returns both results."""
    backend = tg.get_backend(device)
    fused_result = run()
    saved = backend.__dict__.get("fused_ops")
    backend.fused_ops = frozenset()
    try:
        composite_result = run()
    finally:
        if saved is None:
            del backend.fused_ops
        else:
            backend.fused_ops = saved
    return fused_result, composite_result


@settings(max_examples=20)
@given(
    rows=st.integers(1, 6),
    classes=st.integers(1, 7),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([1.0, 30.0]),
)
def test_cross_entropy_paths_agree(device, rows, classes, seed, scale):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(rows, classes)) * scale
    targets = rng.integers(-1, classes, size=rows)  # -1 plays ignore_index

    def run():
        x = _t(logits, device, True)
        loss = cross_entropy_rows(x, _t(targets, device), -1)
        loss.sum().backward()
        return loss.numpy(), x.grad.numpy()

    (loss_a, grad_a), (loss_b, grad_b) = _both_paths(device, run)
    np.testing.assert_allclose(loss_a, loss_b, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(grad_a, grad_b, rtol=1e-9, atol=1e-12)


@settings(max_examples=20)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_layer_norm_paths_agree_on_any_shape(device, shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * 3 + 1
    w = rng.normal(size=shape[-1])

    def run():
        xt = _t(x, device, True)
        wt = _t(w, device, True)
        y = layer_norm(xt, wt, None)
        (y * y).sum().backward()
        return y.numpy(), xt.grad.numpy(), wt.grad.numpy()

    for a, b in zip(*_both_paths(device, run)):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
