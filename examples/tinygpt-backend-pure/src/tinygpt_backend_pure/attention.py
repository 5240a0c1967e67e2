"""Fused attention for the ``pure`` backend, contributed through `tinygpt_register_kernels`.

``out = softmax(q @ k^T * scale [+ causal mask]) @ v``, one query row at a time. The
functions take the backend instance first: the registry binds them as methods of it, so
``backend.attention(q, k, v, causal, scale)`` calls `attention(backend, q, k, v, ...)`.

The shapes: q (B, H, Tq, D); k, v (B, H, Tk, D); out (B, H, Tq, D); lse (B, H, Tq). The
backend sets ``dense_inputs``, and core applies it to contributed kernels too: every input
here is dense and row-major, so a (T, D) slab of it is a slice of the buffer (`_rows`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import scalar
from .buffers import new_buffer

if TYPE_CHECKING:
    from array import array

    from tinygpt.backend.protocol import Backend
    from tinygpt.ndarray import NDArray

__all__ = ["attention", "attention_backward"]

Matrix = list[Sequence[float]]  # rows: lists, or slices of an array


def _rows(x: NDArray, b: int, h: int) -> Matrix:
    """x[b, h] as a list of rows (T rows of D numbers); x is a dense (B, H, T, D) input."""
    _, heads, length, width = x.shape
    start = (b * heads + h) * length * width
    return [x.buffer[start + t * width : start + (t + 1) * width] for t in range(length)]


def _dot(u: Sequence[float], v: Sequence[float]) -> float:
    return sum(p * q for p, q in zip(u, v))


def _probabilities(q: Matrix, k: Matrix, causal: bool, scale: float) -> tuple[Matrix, list]:
    """P[i][j] = softmax_j(q_i . k_j * scale), masked entries 0; and each row's logsumexp."""
    tq = len(q)
    tk = len(k)
    probs: Matrix = []
    lses = []
    for i, q_row in enumerate(q):
        # NOTE: the causal diagonal is aligned bottom-right: query i sits at position
        # tk - tq + i (what a KV cache needs); with tq == tk it is the usual lower triangle.
        last = tk - tq + i if causal else tk - 1
        scores = [_dot(q_row, k[j]) * scale if j <= last else -math.inf for j in range(tk)]
        if not scores:  # no keys: an empty softmax, so out_i = 0 and lse = log(0)
            probs.append([])
            lses.append(-math.inf)
            continue
        if last < 0:  # causal, Tq > Tk: this query sees no key: out_i = 0, as PyTorch's sdpa
            probs.append([0.0] * tk)
            lses.append(-math.inf)
            continue
        top = scalar.largest(scores)  # subtracted so that exp cannot overflow
        weights = [scalar.exp(s - top) for s in scores]
        total = math.fsum(weights)
        probs.append([w / total for w in weights])
        lses.append(top + scalar.log(total))
    return probs, lses


def attention(
    backend: Backend, q: NDArray, k: NDArray, v: NDArray, causal: bool, scale: float
) -> tuple[array, array]:
    """softmax(q @ k^T * scale) @ v -> (out (B, H, Tq, D), lse (B, H, Tq))."""
    batch, heads, _, width = q.shape
    out: list[float] = []
    lse: list[float] = []
    for b in range(batch):
        for h in range(heads):
            v_rows = _rows(v, b, h)
            probs, lses = _probabilities(_rows(q, b, h), _rows(k, b, h), causal, scale)
            for p_row in probs:  # out_i = sum_j P_ij v_j
                out.extend(_dot(p_row, [v_j[d] for v_j in v_rows]) for d in range(width))
            lse.extend(lses)
    return new_buffer(q.dtype, out), new_buffer(q.dtype, lse)


def attention_backward(
    backend: Backend,
    dout: NDArray,
    q: NDArray,
    k: NDArray,
    v: NDArray,
    out: NDArray,
    lse: NDArray,
    causal: bool,
    scale: float,
) -> tuple[array, array, array]:
    """Gradients (dq, dk, dv) of `attention`; P is recomputed (`out` and `lse` are not needed
    for that here, but `out` gives each row's sum_j P_ij dP_ij cheaply: dout_i . out_i)."""
    batch, heads, tq, width = q.shape
    tk = k.shape[2]
    dq: list[float] = []
    dk: list[float] = []
    dv: list[float] = []
    for b in range(batch):
        for h in range(heads):
            q_rows, k_rows, v_rows = _rows(q, b, h), _rows(k, b, h), _rows(v, b, h)
            do_rows, out_rows = _rows(dout, b, h), _rows(out, b, h)
            probs, _ = _probabilities(q_rows, k_rows, causal, scale)
            # dv_j = sum_i P_ij dout_i
            for j in range(tk):
                dv.extend(sum(probs[i][j] * do_rows[i][d] for i in range(tq)) for d in range(width))
            # softmax backward: dS_ij = P_ij (dout_i . v_j - dout_i . out_i) * scale
            dscores = []
            for i in range(tq):
                row_dot = _dot(do_rows[i], out_rows[i])
                dscores.append(
                    [
                        probs[i][j] * (_dot(do_rows[i], v_rows[j]) - row_dot) * scale
                        for j in range(tk)
                    ]
                )
            # dq_i = sum_j dS_ij k_j;  dk_j = sum_i dS_ij q_i
            for i in range(tq):
                dq.extend(
                    sum(dscores[i][j] * k_rows[j][d] for j in range(tk)) for d in range(width)
                )
            for j in range(tk):
                dk.extend(
                    sum(dscores[i][j] * q_rows[i][d] for i in range(tq)) for d in range(width)
                )
    return new_buffer(q.dtype, dq), new_buffer(q.dtype, dk), new_buffer(q.dtype, dv)
