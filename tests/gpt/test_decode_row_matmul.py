"""One-row products, the shape of decoding one token: (1, K) @ (K, N), (1, K) @ W.T and a
transposed or batched row. The cpu backend runs them as gemv (matmul.pyx `_blas_row`);
every backend must give NumPy's result, and gradients that match finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt.autograd import gradcheck
from tinygpt.ops.attention import attention

SIZES = st.integers(1, 70)


@given(k=SIZES, n=SIZES, transposed=st.booleans(), seed=st.integers(0, 2**16))
def test_a_row_times_a_matrix_is_numpys(device, k, n, transposed, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, k)).astype(np.float32)
    w = rng.standard_normal((n, k) if transposed else (k, n)).astype(np.float32)
    expected = x.astype(np.float64) @ (w.T if transposed else w).astype(np.float64)
    tw = tg.tensor(w, device=device)
    got = tg.tensor(x, device=device) @ (tw.T if transposed else tw)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-5 * np.sqrt(k))


@pytest.mark.parametrize("n, k", [(1536, 384), (65, 384), (384, 1536), (3, 1)])
def test_linear_on_one_row_is_numpys(device, n, k):
    rng = np.random.default_rng(n + k)
    x = rng.standard_normal((1, 1, k)).astype(np.float32)  # (B, T, C) with B = T = 1
    w = rng.standard_normal((n, k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    got = F.linear(*(tg.tensor(a, device=device) for a in (x, w, b))).numpy()
    expected = x.astype(np.float64) @ w.T.astype(np.float64) + b
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_a_strided_row_and_column_vector_are_numpys(device):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((9, 5)).astype(np.float32)
    w = rng.standard_normal((7, 5)).astype(np.float32)
    ta, tw = tg.tensor(a, device=device), tg.tensor(w, device=device)
    row = ta[4:5]  # (1, 5), a row inside a bigger matrix
    col = ta[:, 2:3].T  # (1, 9): its elements 5 apart in memory
    np.testing.assert_allclose((row @ tw.T).numpy(), a[4:5] @ w.T, rtol=1e-5, atol=1e-5)
    m = rng.standard_normal((9, 3)).astype(np.float32)
    expected = a[:, 2:3].T @ m
    np.testing.assert_allclose(
        (col @ tg.tensor(m, device=device)).numpy(), expected, rtol=1e-5, atol=1e-5
    )


def test_one_row_gradients_match_finite_differences(device):
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.standard_normal((1, 6)), dtype=tg.float64, device=device, requires_grad=True)
    w = tg.tensor(rng.standard_normal((4, 6)), dtype=tg.float64, device=device, requires_grad=True)
    assert gradcheck(lambda x, w: x @ w.T, (x, w))
    m = tg.tensor(rng.standard_normal((6, 3)), dtype=tg.float64, device=device, requires_grad=True)
    assert gradcheck(lambda x, m: x @ m, (x, m))  # the weight read as stored, not transposed


def attention_reference(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """One query per head sees every key: softmax(q k^T / sqrt(d)) v in float64."""
    s = (q.astype(np.float64) @ np.swapaxes(k, -1, -2)) / np.sqrt(q.shape[-1])
    p = np.exp(s - s.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)) @ v


@given(
    b=st.integers(1, 3),
    h=st.integers(1, 4),
    keys=st.integers(1, 90),
    d=st.sampled_from([1, 7, 16, 64]),
    causal=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_attention_of_one_query_over_a_cache_view_is_numpys(device, b, h, keys, d, causal, seed):
    # the KV-cache layout: k and v are views into one (B, 2H, capacity, D) buffer
    rng = np.random.default_rng(seed)
    buffer = rng.standard_normal((b, 2 * h, keys + 5, d)).astype(np.float32)
    q = rng.standard_normal((b, h, 1, d)).astype(np.float32)
    tb = tg.tensor(buffer, device=device)
    k, v = tb.narrow(1, 0, h).narrow(2, 0, keys), tb.narrow(1, h, h).narrow(2, 0, keys)
    # core's attention aligns a causal mask bottom-right: the one query sees every key
    got = attention(tg.tensor(q, device=device), k, v, causal=causal)
    expected = attention_reference(q, buffer[:, :h, :keys], buffer[:, h:, :keys])
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_attention_of_one_query_gradients_match_finite_differences(device):
    rng = np.random.default_rng(2)
    q, k, v = (
        tg.tensor(rng.standard_normal(s), dtype=tg.float64, device=device, requires_grad=True)
        for s in [(2, 3, 1, 5), (2, 3, 7, 5), (2, 3, 7, 5)]
    )
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), (q, k, v))
    kt = tg.tensor(rng.standard_normal((2, 3, 5, 7)), dtype=tg.float64, device=device)
    kt.requires_grad_(True)
    # a key matrix stored transposed (its rows 7 apart)
    assert gradcheck(lambda q, kt, v: F.scaled_dot_product_attention(q, kt.mT, v), (q, kt, v))
