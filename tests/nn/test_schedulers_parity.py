"""OneCycleLR and ReduceLROnPlateau: their defining values by hand, resuming through a tg.save
checkpoint, bad arguments; and step for step against PyTorch (marked `oracle`)."""

from __future__ import annotations

import doctest
import importlib
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg
from tinygpt import optim


def params(n=1):
    return [tg.zeros(2, requires_grad=True) for _ in range(n)]


def lrs_of(opt):
    return [group["lr"] for group in opt.param_groups]


# --- OneCycleLR -------------------------------------------------------------------------------
def test_one_cycle_rises_to_max_lr_then_falls_to_its_floor():
    opt = optim.SGD(params(), lr=0.1, momentum=0.9)
    sched = optim.OneCycleLR(opt, max_lr=1.0, total_steps=100, pct_start=0.3)
    seen = [(opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"])]
    for _ in range(99):
        sched.step()
        seen.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
    lrs = [lr for lr, _ in seen]
    momenta = [m for _, m in seen]
    assert math.isclose(lrs[0], 1.0 / 25)  # max_lr / div_factor
    assert math.isclose(max(lrs), 1.0) and lrs.index(max(lrs)) == 29  # pct_start * 100 - 1
    assert math.isclose(lrs[-1], 1.0 / 25 / 1e4)  # ... / final_div_factor
    assert all(a <= b for a, b in zip(lrs[:29], lrs[1:30]))  # up
    assert all(a >= b for a, b in zip(lrs[29:], lrs[30:]))  # then down
    assert math.isclose(momenta[0], 0.95) and math.isclose(momenta[29], 0.85)
    assert math.isclose(momenta[-1], 0.95)  # momentum moves against the lr


def test_one_cycle_cycles_adams_beta1_and_keeps_beta2():
    opt = optim.AdamW(params(), lr=1e-3, betas=(0.9, 0.99))
    sched = optim.OneCycleLR(opt, max_lr=0.01, epochs=2, steps_per_epoch=5)
    assert sched.total_steps == 10
    assert opt.param_groups[0]["betas"] == (0.95, 0.99)
    for _ in range(3):
        sched.step()
    assert opt.param_groups[0]["betas"][1] == 0.99
    assert opt.param_groups[0]["betas"][0] < 0.95


def test_one_cycle_stepping_past_total_steps_is_an_error():
    opt = optim.SGD(params(), lr=0.1, momentum=0.9)
    sched = optim.OneCycleLR(opt, max_lr=1.0, total_steps=4)
    for _ in range(4):
        sched.step()  # steps 1..4: the last one is allowed, as in PyTorch
    with pytest.raises(ValueError, match="total_steps is 4"):
        sched.step()


def test_a_checkpointed_one_cycle_resumes_with_the_same_lrs(tmp_path):
    def build():
        opt = optim.AdamW([{"params": params()}, {"params": params()}], lr=1e-3)
        return opt, optim.OneCycleLR(opt, max_lr=[0.01, 0.02], total_steps=20, three_phase=True)

    opt, sched = build()
    for _ in range(7):
        sched.step()
    path = tmp_path / "ckpt.safetensors"
    tg.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, path)
    straight = []
    for _ in range(10):
        sched.step()
        straight.append((lrs_of(opt), opt.param_groups[0]["betas"]))

    opt2, sched2 = build()
    ckpt = tg.load(path)
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    resumed = []
    for _ in range(10):
        sched2.step()
        resumed.append((lrs_of(opt2), opt2.param_groups[0]["betas"]))
    assert resumed == straight


# --- ReduceLROnPlateau -----------------------------------------------------------------------
def test_plateau_cuts_after_patience_bad_steps_then_cools_down():
    opt = optim.SGD(params(), lr=1.0)
    sched = optim.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    history = []
    for loss in [5.0, 4.0] + [4.0] * 11:
        sched.step(tg.tensor(loss))  # a 0-d tensor works, as a loss is
        history.append(sched.get_last_lr()[0])
    # two improvements; 3 bad steps (> patience) -> 0.5; one cooldown step where bad steps
    # do not count; 3 more -> 0.25; cooldown, 3 more -> 0.125 is below min_lr: 0.2
    assert history == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2]


def test_plateau_in_max_mode_with_an_absolute_threshold():
    opt = optim.SGD(params(), lr=1.0)
    sched = optim.ReduceLROnPlateau(
        opt, mode="max", factor=0.1, patience=0, threshold=0.5, threshold_mode="abs"
    )
    sched.step(1.0)  # better than -inf
    sched.step(1.4)  # not better by more than 0.5: a bad step, patience 0 -> cut
    assert math.isclose(sched.get_last_lr()[0], 0.1)
    sched.step(2.0)  # better by more than 0.5 than 1.0
    assert math.isclose(sched.get_last_lr()[0], 0.1) and sched.best == 2.0


def test_plateau_state_round_trips_through_a_checkpoint(tmp_path):
    opt = optim.SGD(params(), lr=1.0)
    sched = optim.ReduceLROnPlateau(opt, patience=1)
    path = tmp_path / "p.safetensors"
    tg.save({"scheduler": sched.state_dict()}, path)  # best is inf: JSON cannot write it
    state = tg.load(path)["scheduler"]
    assert state == sched.state_dict() and state["best"] == math.inf
    sched.step(3.0)
    sched.load_state_dict(state)
    assert sched.best == math.inf and sched.last_epoch == 0


# fmt: off
BAD = [
    ("one cycle no length",   lambda o: optim.OneCycleLR(o, max_lr=1.0)),
    ("one cycle total 0",     lambda o: optim.OneCycleLR(o, max_lr=1.0, total_steps=0)),
    ("one cycle pct",         lambda o: optim.OneCycleLR(o, 1.0, 5, pct_start=2)),
    ("one cycle anneal",      lambda o: optim.OneCycleLR(o, 1.0, 5, anneal_strategy="exp")),
    ("one cycle max_lr list", lambda o: optim.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=5)),
    ("plateau factor",        lambda o: optim.ReduceLROnPlateau(o, factor=1.0)),
    ("plateau mode",          lambda o: optim.ReduceLROnPlateau(o, mode="up")),
    ("plateau min_lr list",   lambda o: optim.ReduceLROnPlateau(o, min_lr=[0.0, 0.0])),
]
# fmt: on


@pytest.mark.parametrize("name, build", BAD, ids=[b[0] for b in BAD])
def test_bad_arguments_are_value_errors(name, build):
    with pytest.raises(ValueError):
        build(optim.SGD(params(), lr=0.1, momentum=0.9))


def test_one_cycle_needs_momentum_to_cycle_it():
    class Plain(optim.Optimizer):  # an optimizer with neither momentum nor betas
        def __init__(self, ps):
            super().__init__(ps, {"lr": 0.1})

    with pytest.raises(ValueError, match="cycle_momentum=False"):
        optim.OneCycleLR(Plain(params()), max_lr=1.0, total_steps=5)
    optim.OneCycleLR(Plain(params()), max_lr=1.0, total_steps=5, cycle_momentum=False)


@pytest.mark.parametrize("name", ["tinygpt.optim.plateau", "tinygpt.optim.lr_scheduler"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


# --- PyTorch, step for step (oracle) ---------------------------------------------------------
ONE_CYCLE_CASES = [
    {"total_steps": 30},
    {"total_steps": 25, "pct_start": 0.4, "anneal_strategy": "linear"},
    {"epochs": 3, "steps_per_epoch": 7, "three_phase": True},
    {"total_steps": 17, "div_factor": 10.0, "final_div_factor": 100.0, "cycle_momentum": False},
    {"total_steps": 9, "base_momentum": [0.8, 0.7], "max_momentum": 0.9},
]


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", ONE_CYCLE_CASES, ids=str)
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_one_cycle_matches_torch(kwargs, kind):
    torch = pytest.importorskip("torch")

    def two_groups(module, build):
        a, b = module
        return build([{"params": a}, {"params": b, "lr": 0.5}])

    if kind == "sgd":
        ours = two_groups(params(2), lambda g: optim.SGD(g, lr=0.1, momentum=0.9))
        theirs = two_groups(
            [[torch.zeros(2, requires_grad=True)] for _ in range(2)],
            lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9),
        )
    else:
        ours = two_groups(params(2), lambda g: optim.Adam(g, lr=0.1))
        theirs = two_groups(
            [[torch.zeros(2, requires_grad=True)] for _ in range(2)],
            lambda g: torch.optim.Adam(g, lr=0.1),
        )
    s_ours = optim.OneCycleLR(ours, max_lr=[1.0, 2.0], **kwargs)
    s_theirs = torch.optim.lr_scheduler.OneCycleLR(theirs, max_lr=[1.0, 2.0], **kwargs)
    key = "momentum" if kind == "sgd" else "betas"
    for _ in range(s_ours.total_steps):
        for g_ours, g_theirs in zip(ours.param_groups, theirs.param_groups):
            assert math.isclose(g_ours["lr"], g_theirs["lr"], rel_tol=1e-12, abs_tol=1e-15)
            assert g_ours[key] == pytest.approx(g_theirs[key], rel=1e-12)
        theirs.step()  # PyTorch warns when the scheduler steps before the optimizer
        s_ours.step()
        s_theirs.step()
    with pytest.raises(ValueError):
        s_theirs.step()
    with pytest.raises(ValueError):
        s_ours.step()


PLATEAU_CASES = [
    {},
    {"mode": "max", "patience": 1},
    {"factor": 0.5, "patience": 0, "cooldown": 2, "min_lr": 0.01},
    {"threshold": 0.1, "threshold_mode": "abs", "patience": 2},
    {"mode": "max", "threshold": 0.2, "threshold_mode": "rel", "eps": 0.05, "factor": 0.9},
]


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", PLATEAU_CASES, ids=str)
@given(metrics=st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=40))
def test_plateau_matches_torch(kwargs, metrics):
    torch = pytest.importorskip("torch")
    ours = optim.SGD(params(), lr=1.0)
    theirs = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=1.0)
    s_ours = optim.ReduceLROnPlateau(ours, **kwargs)
    s_theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **kwargs)
    for value in metrics:
        s_ours.step(value)
        s_theirs.step(value)
        assert s_ours.get_last_lr() == s_theirs.get_last_lr()
        assert s_ours.num_bad_epochs == s_theirs.num_bad_epochs
