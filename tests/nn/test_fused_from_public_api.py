"""Every fused kernel a backend has is reached from the PyTorch-named call a user writes
(nn layers, nn.functional, optim), and gives the composite path's numbers.

Each case runs twice on every backend: as it is (where `tg.profile()` must show the fused
kernel and no fallback), then with the backend's `fused_ops` hidden (the composite core
builds from ordinary ops). Outputs, gradients and updated weights must agree within float32
tolerance. A backend without a kernel (the pure example) shows the fallback and its reason.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn, optim

RTOL, ATOL = 2e-5, 2e-6


def _leaf(data, device):
    return tg.tensor(data, device=device, requires_grad=True)


def _gelu_exact(x):
    return nn.GELU()(x)


def _gelu_tanh(x):
    return nn.GELU(approximate="tanh")(x)


def _sdpa_causal(x):
    return F.scaled_dot_product_attention(x, x * 0.5, x - 1.0, is_causal=True)


def _manual_attention(x):
    T = x.shape[-2]
    mask = tg.tril(tg.ones(T, T, device=x.device)).view(1, 1, T, T)
    att = (x @ x.transpose(-2, -1)) * (1.0 / math.sqrt(x.size(-1)))
    att = att.masked_fill(mask[:, :, :T, :T] == 0, float("-inf"))
    return F.softmax(att, dim=-1) @ x


def _layer_norm_bias(x):
    return nn.LayerNorm(x.shape[-1]).to(x.device)(x)


def _layer_norm_no_bias(x):
    return nn.LayerNorm(x.shape[-1], bias=False).to(x.device)(x)


def _log_softmax(x):
    return F.log_softmax(x, dim=-1)


def _softmax_layer(x):
    return nn.Softmax(dim=-1)(x)


def _multihead_causal(x):
    tg.manual_seed(1)  # its projections' initial weights: the same for both paths
    mha = nn.MultiheadAttention(4, 2, batch_first=True).to(x.device)
    flat = x.reshape(-1, x.shape[-2], x.shape[-1])  # (B, L, E)
    out, _ = mha(flat, flat, flat, is_causal=True)
    return out


#: name -> (the user's call on x of shape (2, 3, 5, 4), the fused kernel it must reach)
CASES = {
    "nn.GELU()": (_gelu_exact, "gelu"),
    "nn.GELU(approximate='tanh')": (_gelu_tanh, "gelu"),
    "F.scaled_dot_product_attention(is_causal=True)": (_sdpa_causal, "attention"),
    "mask buffer + masked_fill + F.softmax": (_manual_attention, "softmax"),
    "nn.LayerNorm(C)": (_layer_norm_bias, "layer_norm"),
    "nn.LayerNorm(C, bias=False)": (_layer_norm_no_bias, "layer_norm"),
    "F.log_softmax": (_log_softmax, "softmax"),
    "nn.Softmax(dim=-1)": (_softmax_layer, "softmax"),
    "nn.MultiheadAttention(is_causal=True)": (_multihead_causal, "attention"),
}


def _run(fn, data, device):
    """(output, input grad) as numpy, and the profile of the call."""
    x = _leaf(data, device)
    tg.manual_seed(0)
    with tg.profile(show=False) as prof:
        y = fn(x)
        weights = tg.tensor(np.linspace(-1, 1, y.numel()).reshape(y.shape), device=device)
        (y * weights).sum().backward()
    return y.detach().numpy(), x.grad.numpy(), prof


def _hide_fused(monkeypatch, device):
    monkeypatch.setattr(tg.get_backend(device), "fused_ops", frozenset())


@pytest.mark.parametrize("case", list(CASES))
def test_public_call_takes_the_fused_kernel_and_matches_the_composite(device, case, monkeypatch):
    fn, kernel = CASES[case]
    data = np.random.default_rng(3).normal(scale=2, size=(2, 3, 5, 4)).astype(np.float32)
    fused_y, fused_dx, prof = _run(fn, data, device)
    if kernel in tg.get_backend(device).fused_ops:
        assert prof.fused_calls(kernel) >= 1, prof.table()
        assert prof.fallbacks() == [], prof.table()
    else:
        assert prof.fused_calls(kernel) == 0
        assert any(f.op == kernel and "no fused" in f.reason for f in prof.fallbacks())
    _hide_fused(monkeypatch, device)
    plain_y, plain_dx, plain_prof = _run(fn, data, device)
    assert plain_prof.fused_calls(kernel) == 0
    np.testing.assert_allclose(fused_y, plain_y, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(fused_dx, plain_dx, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("loss_of", ["F.cross_entropy", "nn.CrossEntropyLoss"])
def test_cross_entropy_with_ignore_index_is_fused(device, loss_of, monkeypatch):
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(6, 9)).astype(np.float32)
    targets = np.array([3, -1, 0, 8, -1, 5])  # -1: ignored, as nanoGPT pads

    def run():
        x = _leaf(logits, device)
        t = tg.tensor(targets, dtype=tg.long, device=device)
        with tg.profile(show=False) as prof:
            if loss_of == "F.cross_entropy":
                loss = F.cross_entropy(x, t, ignore_index=-1)
            else:
                loss = nn.CrossEntropyLoss(ignore_index=-1)(x, t)
            loss.backward()
        return loss.item(), x.grad.numpy(), prof

    loss, grad, prof = run()
    if "cross_entropy" in tg.get_backend(device).fused_ops:
        assert prof.fused_calls("cross_entropy") == 1, prof.table()
    _hide_fused(monkeypatch, device)
    plain_loss, plain_grad, _ = run()
    assert grad[1].tolist() == [0.0] * 9  # an ignored row gets no gradient
    np.testing.assert_allclose(loss, plain_loss, rtol=RTOL)
    np.testing.assert_allclose(grad, plain_grad, rtol=RTOL, atol=ATOL)


def test_adamw_over_decay_and_no_decay_groups_is_fused(device, monkeypatch):
    rng = np.random.default_rng(5)
    start = [rng.normal(size=s).astype(np.float32) for s in [(4, 3), (3,), (5, 4), (4,)]]

    def run():
        params = [nn.Parameter(tg.tensor(a, device=device)) for a in start]
        groups = [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
        opt = optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.99))
        with tg.profile(show=False) as prof:
            for step in range(3):
                for i, p in enumerate(params):
                    p.grad = tg.tensor(np.full(p.shape, step - i, np.float32), device=device)
                opt.step()
        return [p.detach().numpy() for p in params], prof

    fused, prof = run()
    if "adamw" in tg.get_backend(device).fused_ops:
        assert prof.fused_calls("adamw") == 3 * len(start), prof.table()
        assert prof.fallbacks() == []
    _hide_fused(monkeypatch, device)
    plain, _ = run()
    for a, b in zip(fused, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_mask_the_kernel_does_not_take_is_reported_with_its_reason(device):
    q = tg.ones(1, 2, 3, 4, device=device)
    allowed = tg.ones(3, 3, dtype=tg.bool, device=device)
    with tg.profile(show=False) as prof:
        F.scaled_dot_product_attention(q, q, q, attn_mask=allowed)
        F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    reasons = {f.reason for f in prof.fallbacks() if f.op == "attention"}
    assert any("attn_mask" in r for r in reasons), prof.table()
    assert any("dropout_p" in r for r in reasons), prof.table()
    assert "composite: attn_mask given" in prof.table()


def test_amsgrad_fallback_is_reported(device):
    w = nn.Parameter(tg.ones(3, device=device))
    w.grad = tg.ones(3, device=device)
    with tg.profile(show=False) as prof:
        optim.AdamW([w], amsgrad=True).step()
    assert [f.op for f in prof.fallbacks()] == ["adamw"]
    has_kernel = "adamw" in tg.get_backend(device).fused_ops
    assert ("amsgrad" if has_kernel else "no fused 'adamw'") in prof.fallbacks()[0].reason
