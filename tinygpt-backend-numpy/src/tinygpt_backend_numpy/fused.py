"""The optional fused kernels: softmax, layer norm, cross-entropy, attention and GELU (+ backward),
and the AdamW update.

Each takes NumPy views (see `views.as_numpy`) and returns NumPy arrays in the input dtype;
`NumpyBackend` flattens them into buffers. float16 inputs are computed in float32 and
rounded once at the end, the way GPU kernels accumulate half-precision data; the statistics
saved for the backward (logsumexp, mean, rstd) stay float32 for them (`_stats`).
Empty inputs give empty outputs (see each function for the statistics of an empty row).

>>> import numpy as np
>>> softmax(np.array([[1.0, 1.0], [0.0, 1e4]]), axis=1, log=False).tolist()
[[0.5, 0.5], [0.0, 1.0]]
"""

from __future__ import annotations

import math

import numpy as np

from . import gelu as gelu_kernels
from .views import NARROW_FLOATS

__all__ = [
    "softmax",
    "layer_norm",
    "layer_norm_backward",
    "cross_entropy",
    "cross_entropy_backward",
    "attention",
    "attention_backward",
    "gelu",
    "gelu_backward",
    "adamw",
]


def _upcast(x: np.ndarray) -> np.ndarray:
    """float16 / bfloat16 -> float32 for the arithmetic; other dtypes as they are."""
    if x.dtype in NARROW_FLOATS:
        return x.astype(np.float32)
    return x


def _stats(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Saved statistics in the protocol's dtype: float32 for float16 inputs, else like's."""
    return values.astype(np.float32 if like.dtype in NARROW_FLOATS else like.dtype, copy=False)


def softmax(x: np.ndarray, axis: int, log: bool) -> np.ndarray:
    """softmax(x) or log_softmax(x) along `axis`.  A -> A."""
    if x.size == 0:
        return x.copy()  # NOTE: np.max has no identity: an empty axis would raise
    xf = _upcast(x)
    # NOTE: softmax(x) == softmax(x - c) for any c; with c = max(x) every exponent is <= 0,
    # so exp never overflows (logits of 1e4 would give inf / inf = nan otherwise).
    shifted = xf - np.max(xf, axis=axis, keepdims=True)  # a new array: updated in place below
    if log:
        shifted -= np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    else:
        np.exp(shifted, out=shifted)
        shifted /= np.sum(shifted, axis=axis, keepdims=True)
    return shifted.astype(x.dtype, copy=False)


def layer_norm(
    x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None, eps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalize over the last axis: (x - mean) * rstd * weight + bias.

    x (..., C), weight and bias (C,) -> (y (..., C), mean (...,), rstd (...,)); y in x.dtype,
    the statistics in `_stats`'s dtype. With C = 0 they are nan (0 / 0).
    """
    xf = _upcast(x)
    count = x.shape[-1]
    # sums / count rather than np.mean, which warns about an empty slice when C = 0
    with np.errstate(invalid="ignore"):
        mean = np.sum(xf, axis=-1) / count  # (...,)
        centered = xf - mean[..., None]  # (..., C)
        var = np.sum(centered * centered, axis=-1) / count  # biased variance, as PyTorch
    rstd = 1.0 / np.sqrt(var + eps)
    y = centered * rstd[..., None]
    if weight is not None:
        y = y * _upcast(weight)
    if bias is not None:
        y = y + _upcast(bias)
    return y.astype(x.dtype, copy=False), _stats(mean, x), _stats(rstd, x)


def layer_norm_backward(
    dy: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray | None,
    mean: np.ndarray,
    rstd: np.ndarray,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Gradients of `layer_norm`: (dx (..., C), dweight (C,) or None, dbias (C,)).

    dbias is always returned (the kernel cannot know whether there was a bias); dweight is
    None when there was no weight.
    """
    if x.shape[-1] == 0:  # C = 0: every gradient is empty (np.mean would warn below)
        empty = np.zeros((0,), dy.dtype)
        return np.zeros(x.shape, dy.dtype), None if weight is None else empty, empty
    dyf = _upcast(dy)
    rstd_f = _upcast(rstd)[..., None]  # (..., 1)
    xhat = (_upcast(x) - _upcast(mean)[..., None]) * rstd_f  # (..., C)
    g = dyf if weight is None else dyf * _upcast(weight)  # d loss / d xhat
    # d xhat_j / d x_i = rstd * (delta_ij - 1/C - xhat_i * xhat_j / C), contracted with g:
    dx = rstd_f * (
        g - np.mean(g, axis=-1, keepdims=True) - xhat * np.mean(g * xhat, axis=-1, keepdims=True)
    )
    rows = tuple(range(dy.ndim - 1))  # every axis but the last
    dbias = np.sum(dyf, axis=rows)
    dweight = None if weight is None else np.sum(dyf * xhat, axis=rows).astype(dy.dtype)
    return dx.astype(dy.dtype, copy=False), dweight, dbias.astype(dy.dtype, copy=False)


def _check_targets(op: str, targets: np.ndarray, classes: int, ignore_index: int) -> None:
    """IndexError naming the first target neither in [0, classes) nor `ignore_index`.

    NOTE: checked up front: NumPy would wrap a target of -1 to the last class silently.
    """
    bad = ((targets < 0) | (targets >= classes)) & (targets != ignore_index)  # (N,)
    if not bad.any():
        return
    row = int(np.flatnonzero(bad)[0])
    raise IndexError(
        f"{op}: target {targets[row]} (row {row}) is out of range for {classes} classes; "
        f"targets must be in [0, {classes}) or equal ignore_index={ignore_index}"
    )


def cross_entropy(
    logits: np.ndarray, targets: np.ndarray, ignore_index: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row loss logsumexp(logits) - logits[target]: (N, C), (N,) -> (loss (N,), lse (N,)).

    Rows whose target is `ignore_index` get loss 0 (their lse is still computed: -inf when
    C = 0, where every target must be ignored). lse is in `_stats`'s dtype.
    """
    _check_targets("cross_entropy", targets, logits.shape[1], ignore_index)
    lf = _upcast(logits)
    lse = _logsumexp_rows(lf)
    valid = targets != ignore_index
    if logits.shape[1] == 0:  # no classes: every row is ignored, nothing to pick
        return np.zeros(targets.shape, logits.dtype), _stats(lse, logits)
    safe_targets = np.where(valid, targets, 0)  # an ignored row may hold any number
    picked = np.take_along_axis(lf, safe_targets[:, None], axis=1)[:, 0]
    loss = np.where(valid, lse - picked, 0)
    return loss.astype(logits.dtype, copy=False), _stats(lse, logits)


def _logsumexp_rows(x: np.ndarray) -> np.ndarray:
    """log(sum(exp(x))) over the last axis, max-shifted: (..., C) -> (...,); -inf for C = 0."""
    if x.shape[-1] == 0:
        return np.full(x.shape[:-1], -np.inf, x.dtype)
    row_max = np.max(x, axis=-1)  # subtracted so that exp cannot overflow
    return row_max + np.log(np.sum(np.exp(x - row_max[..., None]), axis=-1))


def cross_entropy_backward(
    dloss: np.ndarray,
    logits: np.ndarray,
    targets: np.ndarray,
    lse: np.ndarray,
    ignore_index: int,
) -> np.ndarray:
    """d logits (N, C) = dloss * (softmax(logits) - onehot(targets)); ignored rows get 0."""
    _check_targets("cross_entropy_backward", targets, logits.shape[1], ignore_index)
    probs = np.exp(_upcast(logits) - _upcast(lse)[:, None])  # (N, C) softmax from saved lse
    valid = targets != ignore_index
    rows = np.nonzero(valid)[0]
    probs[rows, targets[rows]] -= 1
    scale = np.where(valid, _upcast(dloss), 0)  # (N,)
    return (probs * scale[:, None]).astype(logits.dtype, copy=False)


def _scores(q: np.ndarray, k: np.ndarray, causal: bool, scale: float) -> np.ndarray:
    """q @ k^T * scale, with -inf above the causal diagonal: (B, H, Tq, D) -> (B, H, Tq, Tk)."""
    scores = np.matmul(q, np.swapaxes(k, -1, -2)) * scale
    if causal:
        tq = q.shape[-2]
        tk = k.shape[-2]
        # NOTE: the diagonal is aligned bottom-right: query i sits at position tk - tq + i,
        # which is what a KV cache needs (with tq == tk it is the usual lower triangle).
        allowed = np.tril(np.ones((tq, tk), dtype=bool), k=tk - tq)
        scores = np.where(allowed, scores, -np.inf)
    return scores


def attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, causal: bool, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """softmax(q @ k^T * scale) @ v.

    q (B, H, Tq, D), k and v (B, H, Tk, D) -> (out (B, H, Tq, D), lse (B, H, Tq)); lse in
    `_stats`'s dtype. A query that sees no key (Tk = 0, or causal with Tq > Tk) gets out 0
    and lse -inf, as PyTorch's scaled_dot_product_attention.
    """
    if k.shape[-2] == 0:
        return np.zeros(q.shape, q.dtype), _stats(np.full(q.shape[:-1], -np.inf), q)
    scores = _scores(_upcast(q), _upcast(k), causal, scale)  # (B, H, Tq, Tk)
    row_max = np.max(scores, axis=-1, keepdims=True)  # subtracted so that exp cannot overflow
    row_max[row_max == -np.inf] = 0.0  # a row that sees nothing: exp(-inf) = 0, not nan
    e = np.exp(scores - row_max)
    total = np.sum(e, axis=-1, keepdims=True)
    out = np.matmul(e / np.where(total == 0.0, 1.0, total), _upcast(v))  # (B, H, Tq, D)
    lse = (row_max + np.log(total))[..., 0]  # (B, H, Tq), saved for the backward pass
    return out.astype(q.dtype, copy=False), _stats(lse, q)


def attention_backward(
    dout: np.ndarray,
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    out: np.ndarray,
    lse: np.ndarray,
    causal: bool,
    scale: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients (dq, dk, dv) of `attention`, recomputing the probabilities from `lse`."""
    qf = _upcast(q)
    kf = _upcast(k)
    doutf = _upcast(dout)
    # a row that saw no key has lse -inf: +inf there makes its probabilities exp(-inf) = 0
    lse_f = _upcast(lse)
    lse_f = np.where(lse_f == -np.inf, np.inf, lse_f)
    probs = np.exp(_scores(qf, kf, causal, scale) - lse_f[..., None])  # (B, H, Tq, Tk)
    dv = np.matmul(np.swapaxes(probs, -1, -2), doutf)  # (B, H, Tk, D)
    dprobs = np.matmul(doutf, np.swapaxes(_upcast(v), -1, -2))  # (B, H, Tq, Tk)
    # softmax backward: ds = p * (dp - sum_j p_j dp_j), and sum_j p_j dp_j = dout . out
    row_dot = np.sum(doutf * _upcast(out), axis=-1, keepdims=True)  # (B, H, Tq, 1)
    dscores = probs * (dprobs - row_dot) * scale
    dq = np.matmul(dscores, kf)  # (B, H, Tq, D)
    dk = np.matmul(np.swapaxes(dscores, -1, -2), qf)  # (B, H, Tk, D)
    dtype = q.dtype
    return dq.astype(dtype, copy=False), dk.astype(dtype, copy=False), dv.astype(dtype)


def gelu(x: np.ndarray, approximate: str) -> np.ndarray:
    """0.5 x (1 + erf(x / sqrt 2)), or with tanh(sqrt(2/pi) (x + 0.044715 x^3)).  A -> A.

    The kernels are gelu.py's (flat, so that a 0-d input is an array too: NumPy gives
    scalars for 0-d arithmetic).
    """
    out = gelu_kernels.forward(_upcast(x).reshape(-1), approximate)
    return out.astype(x.dtype, copy=False).reshape(x.shape)


def gelu_backward(
    dy: np.ndarray, x: np.ndarray, approximate: str, y: np.ndarray | None = None
) -> np.ndarray:
    """dy * gelu'(x).  A, A (, A) -> A.  (gelu.py: Phi(x) + x phi(x), or the tanh form's.)

    `y`, when given, is `gelu(x, approximate)` as returned above; the float32 exact form reads
    Phi(x) off it. Other dtypes ignore it: a float16 y holds Phi to 2^-11 only, and float64
    keeps the textbook formulas.
    """
    xf = _upcast(x).reshape(-1)
    yf = None if y is None else y.reshape(-1)
    slope = gelu_kernels.backward(_upcast(dy).reshape(-1), xf, approximate, yf)
    return slope.astype(x.dtype, copy=False).reshape(x.shape)


def adamw(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    step: int,
) -> None:
    """One AdamW step written into `param`, `exp_avg` and `exp_avg_sq` (see protocol.py)."""
    g = _upcast(grad)
    m = _upcast(exp_avg) * beta1 + g * (1.0 - beta1)
    v = _upcast(exp_avg_sq) * beta2 + g * g * (1.0 - beta2)
    p = _upcast(param) * (1.0 - lr * weight_decay)
    denom = np.sqrt(v) / math.sqrt(1.0 - beta2**step) + eps
    p = p - (lr / (1.0 - beta1**step)) * m / denom
    param[...] = p
    exp_avg[...] = m
    exp_avg_sq[...] = v
