"""Learning-rate schedules: values vs their closed forms and vs torch.optim.lr_scheduler,
multiple param groups, and state-dict resume."""

import json
import math

import pytest

import tinygpt as tg
from tinygpt import optim

STEPS = 25


def make_optimizer(device, lrs=(0.1, 0.02)):
    groups = [{"params": [tg.ones(2, device=device, requires_grad=True)], "lr": lr} for lr in lrs]
    return optim.SGD(groups, lr=lrs[0], momentum=0.9)


def collect(scheduler, steps=STEPS):
    """The lr of every group at steps 0..steps-1 (the scheduler starts at step 0)."""
    lrs = []
    for _ in range(steps):
        lrs.append(scheduler.get_last_lr())
        scheduler.optimizer.step()
        scheduler.step()
    return lrs


def warmup_cosine(t, base, warmup=5, total=20, min_lr=0.001):
    if t < warmup:
        return base * (t + 1) / (warmup + 1)
    if t >= total:
        return min_lr
    coeff = 0.5 * (1 + math.cos(math.pi * (t - warmup) / (total - warmup)))
    return min_lr + coeff * (base - min_lr)


# One row per schedule: (id, tinygpt constructor, closed form lr(t, base_lr), torch constructor)
CASES = [
    (
        "step",
        lambda opt: optim.StepLR(opt, step_size=4, gamma=0.5),
        lambda t, base: base * 0.5 ** (t // 4),
        lambda torch, opt: torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5),
    ),
    (
        "cosine",
        lambda opt: optim.CosineAnnealingLR(opt, T_max=10, eta_min=0.001),
        lambda t, base: 0.001 + (base - 0.001) * (1 + math.cos(math.pi * t / 10)) / 2,
        lambda torch, opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, 10, eta_min=0.001),
    ),
    (
        "lambda",
        lambda opt: optim.LambdaLR(opt, lambda t: 0.95**t),
        lambda t, base: base * 0.95**t,
        lambda torch, opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.95**t),
    ),
    (
        "warmup-cosine",
        lambda opt: optim.LinearWarmupCosine(opt, warmup_steps=5, total_steps=20, min_lr=0.001),
        warmup_cosine,
        None,  # not in torch: checked against the closed form and warmup_cosine_lr only
    ),
]


@pytest.mark.parametrize("name, make, formula, _", CASES, ids=[c[0] for c in CASES])
def test_matches_closed_form(device, name, make, formula, _):
    lrs = collect(make(make_optimizer(device)))
    for t, got in enumerate(lrs):
        assert got == pytest.approx([formula(t, 0.1), formula(t, 0.02)], rel=1e-12), t


@pytest.mark.oracle
@pytest.mark.parametrize("name, make, _, make_torch", CASES[:3], ids=[c[0] for c in CASES[:3]])
def test_matches_torch(device, name, make, _, make_torch):
    torch = pytest.importorskip("torch")
    ours = collect(make(make_optimizer(device)))
    groups = [{"params": [torch.ones(2, requires_grad=True)], "lr": lr} for lr in (0.1, 0.02)]
    theirs = collect(make_torch(torch, torch.optim.SGD(groups, lr=0.1, momentum=0.9)))
    for t, (a, b) in enumerate(zip(ours, theirs)):
        # torch's chained (recursive) forms drift by a few ulps from the closed forms
        assert a == pytest.approx(b, rel=1e-9, abs=1e-15), t


def test_scheduler_writes_the_optimizer_lr(device):
    opt = make_optimizer(device)
    sched = optim.StepLR(opt, step_size=1, gamma=0.1)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.02]
    sched.step()
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.01, 0.002])
    assert sched.base_lrs == [0.1, 0.02]


def test_pure_function_matches_nanogpt():
    lrs = [
        optim.warmup_cosine_lr(t, max_lr=6e-4, warmup_steps=10, total_steps=100, min_lr=6e-5)
        for t in range(120)
    ]
    assert lrs[0] == pytest.approx(6e-4 / 11) and lrs[9] == pytest.approx(6e-4 * 10 / 11)
    assert lrs[10] == pytest.approx(6e-4) and lrs[55] == pytest.approx((6e-4 + 6e-5) / 2)
    assert lrs[100:] == [6e-5] * 20
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))  # decays monotonically
    no_warmup = optim.warmup_cosine_lr(0, max_lr=1.0, warmup_steps=0, total_steps=10)
    assert no_warmup == 1.0


@pytest.mark.parametrize("name, make, _, __", CASES, ids=[c[0] for c in CASES])
def test_resume_from_state_dict(device, name, make, _, __):
    full = collect(make(make_optimizer(device)))

    opt = make_optimizer(device)
    sched = make(opt)
    first = collect(sched, steps=7)
    saved_opt = opt.state_dict()
    saved_sched = json.loads(json.dumps(sched.state_dict()))  # JSON-able
    # a fresh run: build both, then load both (the PyTorch order)
    opt2 = make_optimizer(device)
    sched2 = make(opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    assert first + collect(sched2, steps=STEPS - 7) == full


def test_state_dict_round_trip_keeps_position(device):
    opt = make_optimizer(device)
    sched = optim.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        sched.step()
    state = sched.state_dict()
    assert state["last_epoch"] == 4 and state["T_max"] == 10 and "optimizer" not in state
    other = optim.CosineAnnealingLR(make_optimizer(device), T_max=10)
    other.load_state_dict(state)
    other.step()
    sched.step()
    assert other.get_last_lr() == sched.get_last_lr()


def test_errors(device):
    opt = make_optimizer(device)
    with pytest.raises(ValueError, match="step_size must be a positive int"):
        optim.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max must be a positive int"):
        optim.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="0 <= warmup_steps <= total_steps"):
        optim.LinearWarmupCosine(opt, warmup_steps=10, total_steps=5)
    with pytest.raises(ValueError, match="got 1 lr_lambdas for 2 param groups"):
        optim.LambdaLR(opt, [lambda t: 1.0])
    with pytest.raises(KeyError, match="no 'initial_lr'"):
        optim.StepLR(make_optimizer(device), step_size=2, last_epoch=3)
    with pytest.raises(TypeError, match="expected an Optimizer"):
        optim.StepLR([1, 2], step_size=2)
    with pytest.raises(ValueError, match="unknown keys"):
        optim.StepLR(opt, step_size=2).load_state_dict({"T_max": 3})
