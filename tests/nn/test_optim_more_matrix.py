"""Adafactor and Muon (the optimizers with matrix-shaped state or updates) against NumPy
re-implementations in float64 (split from test_optim_more.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import optim

P0 = np.array([0.5, -1.5, 2.0, -0.25], dtype=np.float32)
GRADS = [g.astype(np.float32) for g in np.random.default_rng(3).normal(0.0, 0.3, size=(5, 4))]


# ------------------------------------------------------------------ Adafactor
def _adafactor(p, grads, lr=1e-2, decay=-0.8, eps1=None, eps2=1e-3, d=1.0, wd=0.0):
    """NumPy Adafactor: factored second moments for matrices, full ones for vectors."""
    eps1 = np.finfo(np.float32).eps if eps1 is None else eps1
    if p.ndim > 1:
        row = np.zeros(p.shape[:-1] + (1,))
        col = np.zeros(p.shape[:-2] + (1, p.shape[-1]))
    else:
        var = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        c = t**decay
        rho = min(lr, 1 / math.sqrt(t))
        alpha = max(eps2, np.linalg.norm(p) / math.sqrt(p.size)) * rho
        p = p * (1 - lr * wd)
        if p.ndim > 1:
            row = row + c * ((g * g).mean(-1, keepdims=True) - row)
            col = col + c * ((g * g).mean(-2, keepdims=True) - col)
            v = (row @ col) / np.maximum(row.mean(-2, keepdims=True), eps1)
        else:
            var = var + c * (g * g - var)
            v = var
        u = g / np.sqrt(np.maximum(v, eps1 * eps1))
        p = p - alpha / max(1.0, np.sqrt((u * u).mean()) / d) * u
    return p


MATRIX0 = np.linspace(-1, 1, 12).reshape(3, 4).astype(np.float32)
MATRIX_GRADS = [
    g.astype(np.float32) for g in np.random.default_rng(1).normal(0.0, 0.5, size=(5, 3, 4))
]


@pytest.mark.parametrize(
    "kwargs,ref",
    [
        ({}, {}),
        ({"lr": 0.1, "weight_decay": 0.1}, {"lr": 0.1, "wd": 0.1}),
        (
            {"d": 1.5, "beta2_decay": -0.5, "eps": (1e-6, 1e-2)},
            {"d": 1.5, "decay": -0.5, "eps1": 1e-6, "eps2": 1e-2},
        ),
    ],
)
def test_adafactor_matches_numpy(device, kwargs, ref):
    m = tg.tensor(MATRIX0, device=device, requires_grad=True)
    v = tg.tensor(P0, device=device, requires_grad=True)
    opt = optim.Adafactor([m, v], **kwargs)
    for gm, gv in zip(MATRIX_GRADS, GRADS):
        m.grad = tg.tensor(gm, device=device)
        v.grad = tg.tensor(gv, device=device)
        opt.step()
    assert tuple(opt.state[m]["row_var"].shape) == (3, 1)
    assert tuple(opt.state[m]["col_var"].shape) == (1, 4)
    want_m = _adafactor(MATRIX0.astype(np.float64), MATRIX_GRADS, **ref)
    want_v = _adafactor(P0.astype(np.float64), GRADS[:5], **ref)
    np.testing.assert_allclose(m.tolist(), want_m, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v.tolist(), want_v, rtol=1e-5, atol=1e-6)


def test_adafactor_factored_state_round_trips(device):
    m = tg.tensor(MATRIX0, device=device, requires_grad=True)
    opt = optim.Adafactor([m])
    m.grad = tg.tensor(MATRIX_GRADS[0], device=device)
    opt.step()
    m2 = tg.tensor(m.tolist(), device=device, requires_grad=True)
    opt2 = optim.Adafactor([m2])
    opt2.load_state_dict(opt.state_dict())  # row/col means are not shaped like the parameter
    for g in MATRIX_GRADS[1:3]:
        m.grad = tg.tensor(g, device=device)
        m2.grad = tg.tensor(g, device=device)
        opt.step()
        opt2.step()
    np.testing.assert_allclose(m2.tolist(), m.tolist(), rtol=1e-6)
    with pytest.raises(ValueError):
        optim.Adafactor([m], d=0.5)
    with pytest.raises(ValueError):
        optim.Adafactor([m], beta2_decay=0.1)


# ------------------------------------------------------------------ Muon
def _newton_schulz(g, steps=5, coeffs=(3.4445, -4.7750, 2.0315)):
    a, b, c = coeffs
    tall = g.shape[0] > g.shape[1]
    x = g.T if tall else g
    x = x / max(np.linalg.norm(x), 1e-7)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


def _muon(p, grads, lr, wd=0.1, momentum=0.95, nesterov=True, scale=None):
    buf = np.zeros_like(p)
    rows, cols = p.shape
    s = math.sqrt(max(1.0, rows / cols)) if scale is None else 0.2 * math.sqrt(max(rows, cols))
    for g in grads:
        buf = buf + (1 - momentum) * (g - buf)
        u = g + momentum * (buf - g) if nesterov else buf
        p = p * (1 - lr * wd) - lr * s * _newton_schulz(u)
    return p


@pytest.mark.parametrize(
    "kwargs,ref",
    [
        ({"lr": 0.02}, {"lr": 0.02}),
        (
            {"lr": 0.05, "nesterov": False, "weight_decay": 0.01, "momentum": 0.9},
            {"lr": 0.05, "nesterov": False, "wd": 0.01, "momentum": 0.9},
        ),
        ({"lr": 0.02, "adjust_lr_fn": "match_rms_adamw"}, {"lr": 0.02, "scale": "rms"}),
    ],
)
@pytest.mark.parametrize("shape", [(3, 4), (4, 3)])
def test_muon_matches_numpy(device, kwargs, ref, shape):
    grads = [g.reshape(shape) for g in MATRIX_GRADS]
    p0 = MATRIX0.reshape(shape)
    p = tg.tensor(p0, device=device, requires_grad=True)
    opt = optim.Muon([p], **kwargs)
    for g in grads:
        p.grad = tg.tensor(g, device=device)
        opt.step()
    want = _muon(p0.astype(np.float64), [g.astype(np.float64) for g in grads], **ref)
    np.testing.assert_allclose(p.tolist(), want, rtol=1e-4, atol=1e-5)


def test_muon_orthogonalizes_and_checks_shapes():
    from tinygpt.optim.muon import zeropower_via_newtonschulz

    g = tg.tensor(np.random.default_rng(2).normal(size=(5, 3)), dtype=tg.float64)
    ortho = np.array(zeropower_via_newtonschulz(g, (3.4445, -4.7750, 2.0315), 5, 1e-7).tolist())
    singular = np.linalg.svd(ortho, compute_uv=False)
    assert ortho.shape == (5, 3) and ((singular > 0.6) & (singular < 1.3)).all()
    with pytest.raises(ValueError, match="2-D"):
        optim.Muon([tg.zeros(3, requires_grad=True)])
    with pytest.raises(ValueError):
        optim.Muon([tg.zeros(2, 2, requires_grad=True)], adjust_lr_fn="sqrt")
