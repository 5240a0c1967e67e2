"""RAdam, NAdam, Adamax, Adadelta, Rprop, ASGD and LBFGS against NumPy re-implementations
of their update rules (float64 references, eight steps on fixed gradients)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import optim

P0 = np.array([0.5, -1.5, 2.0, -0.25], dtype=np.float32)
# one gradient per step: fixed, so the references need no model; signs flip for Rprop
GRADS = [
    np.array([0.3, -0.2, 0.1, 0.0], dtype=np.float32),
    np.array([0.1, 0.4, -0.3, 0.2], dtype=np.float32),
    np.array([0.2, 0.1, -0.2, -0.5], dtype=np.float32),
] + [g.astype(np.float32) for g in np.random.default_rng(0).normal(0.0, 0.3, size=(5, 4))]
# NOTE: eight steps, so RAdam passes rho_t > 5 and takes rectified steps (from step 6 or 7)


def _run(device, make):
    p = tg.tensor(P0, device=device, requires_grad=True)
    opt = make([p])
    for g in GRADS:
        p.grad = tg.tensor(g, device=device)
        opt.step()
    return np.array(p.tolist())


def _radam(p, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    rho_inf = 2 / (1 - b2) - 1
    for t, g in enumerate(GRADS, start=1):
        g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho > 5:
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            p = p - lr * m_hat * r * math.sqrt(1 - b2**t) / (np.sqrt(v) + eps)
        else:
            p = p - lr * m_hat
    return p


def _nadam(p, lr=2e-3, b1=0.9, b2=0.999, eps=1e-8, md=4e-3, wd=0.0, decoupled=False):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    prod = 1.0
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        mu = b1 * (1 - 0.5 * 0.96 ** (t * md))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * md))
        prod *= mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v / (1 - b2**t)) + eps
        p = p - lr * (1 - mu) / (1 - prod) * g / denom
        p = p - lr * mu_next / (1 - prod * mu_next) * m / denom
    return p


def _adamax(p, lr=2e-3, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
    m = np.zeros_like(p)
    u = np.zeros_like(p)
    for t, g in enumerate(GRADS, start=1):
        g = g + wd * p
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        p = p - lr / (1 - b1**t) * m / u
    return p


def _adadelta(p, lr=1.0, rho=0.9, eps=1e-6, wd=0.0):
    v = np.zeros_like(p)
    acc = np.zeros_like(p)
    for g in GRADS:
        g = g + wd * p
        v = rho * v + (1 - rho) * g * g
        d = np.sqrt(acc + eps) / np.sqrt(v + eps) * g
        acc = rho * acc + (1 - rho) * d * d
        p = p - lr * d
    return p


def _rprop(p, lr=1e-2, etas=(0.5, 1.2), sizes=(1e-6, 50)):
    prev = np.zeros_like(p)
    step = np.full_like(p, lr)
    for g in GRADS:
        s = np.sign(g * prev)
        factor = np.where(s > 0, etas[1], np.where(s < 0, etas[0], 1.0))
        step = np.clip(step * factor, sizes[0], sizes[1])
        g = np.where(s < 0, 0.0, g)
        p = p - np.sign(g) * step
        prev = g
    return p


def _asgd(p, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, wd=0.0):
    eta, mu = lr, 1.0
    ax = np.zeros_like(p)
    for t, g in enumerate(GRADS, start=1):
        g = g + wd * p
        p = p * (1 - lambd * eta) - eta * g
        ax = ax + (p - ax) * mu if mu != 1 else p.copy()
        eta = lr / (1 + lambd * lr * t) ** alpha
        mu = 1 / max(1, t - t0)
    return p, ax


P = P0.astype(np.float64)
CASES = [
    ("radam", lambda ps: optim.RAdam(ps, lr=0.1), _radam(P, lr=0.1)),
    ("radam_b2", lambda ps: optim.RAdam(ps, lr=0.1, betas=(0.5, 0.3)), _radam(P, 0.1, 0.5, 0.3)),
    ("radam_wd", lambda ps: optim.RAdam(ps, lr=0.1, weight_decay=0.1), _radam(P, 0.1, wd=0.1)),
    ("nadam", lambda ps: optim.NAdam(ps, lr=0.1), _nadam(P, lr=0.1)),
    (
        "nadam_decay",
        lambda ps: optim.NAdam(ps, lr=0.1, momentum_decay=0.05, weight_decay=0.2),
        _nadam(P, lr=0.1, md=0.05, wd=0.2),
    ),
    (
        "nadam_decoupled",
        lambda ps: optim.NAdam(ps, lr=0.1, weight_decay=0.2, decoupled_weight_decay=True),
        _nadam(P, lr=0.1, wd=0.2, decoupled=True),
    ),
    ("adamax", lambda ps: optim.Adamax(ps, lr=0.1, weight_decay=0.1), _adamax(P, 0.1, wd=0.1)),
    ("adadelta", lambda ps: optim.Adadelta(ps), _adadelta(P)),
    (
        "adadelta_wd",
        lambda ps: optim.Adadelta(ps, 0.5, 0.8, weight_decay=0.1),
        _adadelta(P, 0.5, 0.8, wd=0.1),
    ),  # fmt: skip
    ("rprop", lambda ps: optim.Rprop(ps, lr=0.1), _rprop(P, lr=0.1)),
    (
        "rprop_bounds",
        lambda ps: optim.Rprop(ps, lr=0.1, etas=(0.3, 2.0), step_sizes=(0.05, 0.15)),
        _rprop(P, 0.1, (0.3, 2.0), (0.05, 0.15)),
    ),
    ("asgd", lambda ps: optim.ASGD(ps, lr=0.1, lambd=0.1), _asgd(P, lr=0.1, lambd=0.1)[0]),
]


@pytest.mark.parametrize("name,make,want", CASES, ids=[c[0] for c in CASES])
def test_update_rule_matches_numpy(device, name, make, want):
    np.testing.assert_allclose(_run(device, make), want, rtol=1e-5, atol=1e-6)


def test_asgd_average_starts_at_t0(device):
    p = tg.tensor(P0, device=device, requires_grad=True)
    opt = optim.ASGD([p], lr=0.1, lambd=0.1, t0=1)
    for g in GRADS:
        p.grad = tg.tensor(g, device=device)
        opt.step()
    want_p, want_ax = _asgd(P, lr=0.1, lambd=0.1, t0=1)
    np.testing.assert_allclose(p.tolist(), want_p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(opt.state[p]["ax"].tolist(), want_ax, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.RAdam(ps, maximize=True),
        lambda ps: optim.Adadelta(ps, maximize=True),
        lambda ps: optim.Rprop(ps, maximize=True),
        lambda ps: optim.Adamax(ps, maximize=True),
    ],
)
def test_maximize_climbs(device, make):
    p = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    opt = make([p])
    (p * p).sum().backward()
    opt.step()
    assert all(a > b for a, b in zip(p.tolist(), [1.0, 2.0]))


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.RAdam(ps, betas=(1.0, 0.9)),
        lambda ps: optim.NAdam(ps, momentum_decay=-1.0),
        lambda ps: optim.Adamax(ps, eps=-1.0),
        lambda ps: optim.Adadelta(ps, rho=1.5),
        lambda ps: optim.Rprop(ps, etas=(1.5, 1.2)),
        lambda ps: optim.ASGD(ps, weight_decay=-0.1),
        lambda ps: optim.LBFGS(ps, line_search_fn="armijo"),
    ],
)
def test_bad_options_raise(make):
    with pytest.raises(ValueError):
        make([tg.zeros(2, requires_grad=True)])


def test_state_dict_round_trip(device):
    p = tg.tensor(P0, device=device, requires_grad=True)
    opt = optim.NAdam([p], lr=0.1)
    p.grad = tg.tensor(GRADS[0], device=device)
    opt.step()
    q = tg.tensor(p.tolist(), device=device, requires_grad=True)
    opt2 = optim.NAdam([q], lr=0.1)
    opt2.load_state_dict(opt.state_dict())
    for g in GRADS[1:]:
        p.grad = tg.tensor(g, device=device)
        q.grad = tg.tensor(g, device=device)
        opt.step()
        opt2.step()
    np.testing.assert_allclose(q.tolist(), p.tolist(), rtol=1e-6)
    assert opt2.state[q]["mu_product"] == opt.state[p]["mu_product"]


# ------------------------------------------------------------------ LBFGS
A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.5], [1.0, 0.0, 1.0]])
Y = np.array([1.0, -2.0, 0.5, 2.0])


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_solves_least_squares(device, line_search):
    a = tg.tensor(A, dtype=tg.float32, device=device)
    y = tg.tensor(Y, dtype=tg.float32, device=device)
    w = tg.zeros(3, device=device, requires_grad=True)
    lr = 1.0 if line_search else 0.5
    opt = optim.LBFGS([w], lr=lr, max_iter=50, line_search_fn=line_search)

    def closure():
        opt.zero_grad()
        loss = ((a @ w - y) ** 2).sum()
        loss.backward()
        return loss

    first = opt.step(closure)
    want = np.linalg.lstsq(A, Y, rcond=None)[0]
    assert float(first.item()) == pytest.approx(float((Y**2).sum()), rel=1e-6)
    np.testing.assert_allclose(w.tolist(), want, atol=1e-3)
    assert opt.state[w]["n_iter"] >= 2


def test_lbfgs_first_iteration_is_scaled_gradient_step(device):
    w = tg.tensor([1.0, -2.0], device=device, requires_grad=True)
    opt = optim.LBFGS([w], lr=0.5, max_iter=1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    g = np.array([2.0, -4.0])
    t = min(1.0, 1.0 / np.abs(g).sum()) * 0.5  # PyTorch's first step size
    np.testing.assert_allclose(w.tolist(), np.array([1.0, -2.0]) - t * g, rtol=1e-6)


def test_lbfgs_needs_a_closure_and_one_group():
    w = tg.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError):
        optim.LBFGS([w]).step()
    with pytest.raises(ValueError):
        optim.LBFGS([{"params": [w]}, {"params": [tg.zeros(1, requires_grad=True)]}])


@pytest.mark.parametrize(
    "name",
    [
        "tinygpt.optim.adam_variants",
        "tinygpt.optim.classic",
        "tinygpt.optim.adafactor",
        "tinygpt.optim.muon",
        "tinygpt.optim.lbfgs",
        "tinygpt.optim.line_search",
        "tinygpt.optim.schedules_extra",
        "tinygpt.data.datasets_more",
        "tinygpt.data.samplers_more",
        "tinygpt.data.convert",
    ],
)
def test_docstring_examples(name):
    import doctest
    import importlib

    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
