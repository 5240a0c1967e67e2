"""ConstantLR, PolynomialLR, MultiplicativeLR, CosineAnnealingWarmRestarts, CyclicLR and
ChainedScheduler: lr sequences against the formulas written out here."""

from __future__ import annotations

import math

import pytest

import tinygpt as tg
from tinygpt import optim
from tinygpt.optim import lr_scheduler as S


def _opt(kind="sgd", lr=0.5):
    p = tg.zeros(2, requires_grad=True)
    if kind == "adam":
        return optim.Adam([p], lr=lr)
    return optim.SGD([p], lr=lr, momentum=0.9)


def _lrs(sched, opt, steps=20):
    out = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


def _close(got, want):
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert math.isclose(g, w, rel_tol=1e-12, abs_tol=1e-15), (i, g, w)


def test_constant_lr():
    opt = _opt()
    got = _lrs(S.ConstantLR(opt, factor=0.25, total_iters=4), opt, 8)
    _close(got, [0.5 * (0.25 if t < 4 else 1.0) for t in range(9)])


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_polynomial_lr(power):
    opt = _opt()
    got = _lrs(S.PolynomialLR(opt, total_iters=6, power=power), opt, 10)
    _close(got, [0.5 * (1 - min(t, 6) / 6) ** power for t in range(11)])


def test_multiplicative_lr_and_resume():
    opt = _opt()
    sched = S.MultiplicativeLR(opt, lambda e: 0.9 + 0.01 * e)
    got = _lrs(sched, opt, 6)
    want = [0.5]
    for t in range(1, 7):
        want.append(want[-1] * (0.9 + 0.01 * t))
    _close(got, want)
    # resume from a state dict: the next lr continues the product
    opt2 = _opt()
    opt2.param_groups[0]["initial_lr"] = 0.5
    sched2 = S.MultiplicativeLR(opt2, lambda e: 0.9 + 0.01 * e, last_epoch=0)
    sched2.load_state_dict(sched.state_dict())
    sched.step()
    sched2.step()
    assert math.isclose(opt2.param_groups[0]["lr"], opt.param_groups[0]["lr"])


def _sgdr(t, t0, mult, base=0.5, eta_min=0.0):
    length = t0
    while t >= length:
        t -= length
        length *= mult
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / length)) / 2


@pytest.mark.parametrize("t0,mult", [(3, 1), (3, 2), (2, 3)])
def test_cosine_warm_restarts(t0, mult):
    opt = _opt()
    got = _lrs(S.CosineAnnealingWarmRestarts(opt, T_0=t0, T_mult=mult, eta_min=0.01), opt, 30)
    _close(got, [_sgdr(t, t0, mult, eta_min=0.01) for t in range(31)])


def test_cosine_warm_restarts_fractional_epochs():
    opt = _opt()
    sched = S.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
    for epoch in [0.5, 1.75, 2.5, 5.9, 6.0, 13.25]:
        sched.step(epoch)
        assert math.isclose(opt.param_groups[0]["lr"], _sgdr(epoch, 2, 2), rel_tol=1e-9)
        assert sched.last_epoch == math.floor(epoch)
    with pytest.raises(ValueError):
        sched.step(-1)
    with pytest.raises(ValueError):
        S.CosineAnnealingWarmRestarts(opt, T_0=0)


def _cyclic(t, low, high, up, down, scale):
    total = up + down
    cycle = math.floor(1 + t / total)
    x = 1 + t / total - cycle
    rise = x / (up / total) if x <= up / total else (x - 1) / (up / total - 1)
    return low + (high - low) * rise * scale(cycle, t), rise * scale(cycle, t)


@pytest.mark.parametrize(
    "mode,scale",
    [
        ("triangular", lambda c, t: 1.0),
        ("triangular2", lambda c, t: 1 / 2 ** (c - 1)),
        ("exp_range", lambda c, t: 0.9**t),
    ],
)
def test_cyclic_lr_and_momentum(mode, scale):
    opt = _opt()
    sched = S.CyclicLR(opt, 0.01, 0.1, step_size_up=3, step_size_down=5, mode=mode, gamma=0.9)
    got_lr, got_m = [], []
    for _ in range(25):
        got_lr.append(opt.param_groups[0]["lr"])
        got_m.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    for t in range(25):
        lr, amount = _cyclic(t, 0.01, 0.1, 3, 5, scale)
        assert math.isclose(got_lr[t], lr, rel_tol=1e-12), t
        assert math.isclose(got_m[t], 0.9 - (0.9 - 0.8) * amount, rel_tol=1e-12), t


def test_cyclic_lr_cycles_adam_beta1_and_rejects_no_momentum():
    opt = _opt("adam")
    S.CyclicLR(opt, 0.01, 0.1, step_size_up=2, base_momentum=0.7, max_momentum=0.95)
    assert opt.param_groups[0]["betas"] == (0.95, 0.999)
    plain = optim.Adagrad([tg.zeros(1, requires_grad=True)], lr=0.1)  # no momentum, no betas
    with pytest.raises(ValueError):
        S.CyclicLR(plain, 0.01, 0.1)
    S.CyclicLR(plain, 0.01, 0.1, cycle_momentum=False)  # fine without momentum cycling
    with pytest.raises(ValueError):
        S.CyclicLR(_opt(), 0.01, 0.1, mode="sawtooth")


def test_cyclic_lr_custom_scale_fn_and_state_dict():
    opt = _opt()
    sched = S.CyclicLR(opt, 0.0, 1.0, step_size_up=2, scale_fn=lambda x: 0.5, cycle_momentum=False)
    lrs = _lrs(sched, opt, 4)
    _close(lrs, [0.0, 0.25, 0.5, 0.25, 0.0])
    state = sched.state_dict()
    assert state["_scale_fn_custom"] is None  # a function is not checkpoint data
    sched.load_state_dict(state)
    sched.step()
    assert math.isclose(opt.param_groups[0]["lr"], 0.25)


def test_chained_scheduler_multiplies_factors():
    opt = _opt()
    chained = S.ChainedScheduler(
        [S.ConstantLR(opt, factor=0.1, total_iters=3), S.ExponentialLR(opt, gamma=0.9)]
    )
    got = _lrs(chained, opt, 8)
    _close(got, [0.5 * (0.1 if t < 3 else 1.0) * 0.9**t for t in range(9)])
    assert chained.get_last_lr() == [got[-1]]
    saved = chained.state_dict()
    assert len(saved["_schedulers"]) == 2
    chained.load_state_dict(saved)


def test_chained_scheduler_checks():
    opt = _opt()
    with pytest.raises(ValueError):
        S.ChainedScheduler([])
    other = _opt()
    with pytest.raises(ValueError):
        S.ChainedScheduler([S.StepLR(opt, 2), S.StepLR(other, 2)])
    with pytest.raises(ValueError):
        S.ChainedScheduler([S.ReduceLROnPlateau(opt)])


def test_names_are_exported():
    for name in [
        "ConstantLR",
        "PolynomialLR",
        "MultiplicativeLR",
        "CosineAnnealingWarmRestarts",
        "CyclicLR",
        "ChainedScheduler",
    ]:
        assert getattr(optim, name) is getattr(S, name)
    assert S._LRScheduler is S.LRScheduler


def test_step_with_an_epoch_jumps_there():
    opt = _opt()
    sched = S.PolynomialLR(opt, total_iters=10, power=2.0)
    sched.step(4)
    assert sched.last_epoch == 4
    assert math.isclose(opt.param_groups[0]["lr"], 0.5 * (1 - 4 / 10) ** 2)
    sched.step()
    assert math.isclose(opt.param_groups[0]["lr"], 0.5 * (1 - 5 / 10) ** 2)
    mult = S.MultiplicativeLR(_opt(), lambda e: 0.5)
    mult.step(3)
    assert math.isclose(mult.get_last_lr()[0], 0.5 * 0.5**3)
    mult.step(1)  # back: the running product is rebuilt
    assert math.isclose(mult.get_last_lr()[0], 0.5 * 0.5)


RESUMABLE = {
    "constant": lambda o: S.ConstantLR(o, factor=0.5, total_iters=7),
    "poly": lambda o: S.PolynomialLR(o, total_iters=9, power=1.5),
    "mult": lambda o: S.MultiplicativeLR(o, lambda e: 0.9),
    "sgdr": lambda o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2),
    "cyclic": lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=3, mode="triangular2"),
    "chained": lambda o: S.ChainedScheduler(
        [S.ConstantLR(o, factor=0.1, total_iters=6), S.ExponentialLR(o, gamma=0.9)]
    ),
}


@pytest.mark.parametrize("name", list(RESUMABLE))
def test_resume_from_state_dict_continues_the_sequence(name):
    make = RESUMABLE[name]
    opt = _opt()
    sched = make(opt)
    for _ in range(5):
        opt.step()
        sched.step()
    saved_sched = sched.state_dict()
    saved_opt = opt.state_dict()
    # a fresh run, restored from the checkpoints
    opt2 = _opt()
    sched2 = make(opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    for _ in range(6):
        opt.step()
        sched.step()
        opt2.step()
        sched2.step()
        g1, g2 = opt.param_groups[0], opt2.param_groups[0]
        assert math.isclose(g1["lr"], g2["lr"], rel_tol=1e-12), name
        assert math.isclose(g1["momentum"], g2["momentum"], rel_tol=1e-12), name
