"""nn/optim pieces added by issue 14's idiom sweep: LinearLR, ExponentialLR, MultiStepLR,
SequentialLR; F.normalize and F.cosine_similarity; Module.cpu/cuda/bfloat16; the `foreach`
and `fused` flags of Adam/AdamW. PyTorch comparisons live in tests/oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn, optim
from tinygpt.optim import lr_scheduler as S

RNG = np.random.default_rng(3)
A = RNG.normal(size=(3, 4)).astype(np.float32)
B = RNG.normal(size=(3, 4)).astype(np.float32)


def _lrs(make, steps=8, lr=2.0):
    opt = optim.SGD([nn.Parameter(tg.zeros(1))], lr=lr)
    sched = make(opt)
    out = [sched.get_last_lr()[0]]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


# fmt: off
SCHEDULES = [
    ("LinearLR",      lambda o: S.LinearLR(o, start_factor=0.25, total_iters=4),
                      lambda t: 2.0 * (0.25 + 0.75 * min(t, 4) / 4)),
    ("ExponentialLR", lambda o: optim.ExponentialLR(o, gamma=0.8),
                      lambda t: 2.0 * 0.8 ** t),
    ("MultiStepLR",   lambda o: S.MultiStepLR(o, milestones=[5, 2], gamma=0.5),
                      lambda t: 2.0 * 0.5 ** ((t >= 2) + (t >= 5))),
    ("SequentialLR",  lambda o: S.SequentialLR(
                          o, [S.LinearLR(o, 0.5, total_iters=3), S.CosineAnnealingLR(o, T_max=4)],
                          milestones=[3]),
                      lambda t: 2.0 * (0.5 + 0.5 * t / 3) if t < 3
                      else 2.0 * 0.5 * (1 + math.cos(math.pi * (t - 3) / 4))),
]
# fmt: on


@pytest.mark.parametrize("name, make, closed_form", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_schedules_follow_their_closed_forms(name, make, closed_form):
    np.testing.assert_allclose(_lrs(make), [closed_form(t) for t in range(9)], rtol=1e-12)


def test_sequential_lr_state_round_trips_and_checks_its_arguments():
    opt = optim.SGD([nn.Parameter(tg.zeros(1))], lr=1.0)
    parts = [S.LinearLR(opt, 0.5, total_iters=2), S.ExponentialLR(opt, gamma=0.5)]
    sched = S.SequentialLR(opt, parts, milestones=[2])
    for _ in range(3):
        sched.step()
    saved = sched.state_dict()
    opt2 = optim.SGD([nn.Parameter(tg.zeros(1))], lr=1.0)
    twin = S.SequentialLR(
        opt2,
        [S.LinearLR(opt2, 0.5, total_iters=2), S.ExponentialLR(opt2, gamma=0.5)],
        milestones=[2],
    )
    twin.load_state_dict(saved)
    sched.step()
    twin.step()
    assert twin.get_last_lr() == sched.get_last_lr() == [0.25]
    with pytest.raises(ValueError, match="2 schedulers need 1 milestones, got 2"):
        S.SequentialLR(opt, parts, milestones=[1, 2])
    with pytest.raises(ValueError, match="scheduler 0 drives another optimizer"):
        S.SequentialLR(opt2, parts, milestones=[2])
    with pytest.raises(ValueError, match="LinearLR: start_factor must be in"):
        S.LinearLR(opt, start_factor=0.0)


def test_normalize_and_cosine_similarity(device):
    a, b = tg.tensor(A, device=device), tg.tensor(B, device=device)
    a64, b64 = A.astype(np.float64), B.astype(np.float64)
    unit = a64 / np.linalg.norm(a64, axis=-1, keepdims=True)
    np.testing.assert_allclose(F.normalize(a, dim=-1).numpy(), unit, rtol=1e-5, atol=1e-6)
    l1 = a64 / np.abs(a64).sum(axis=0, keepdims=True)
    np.testing.assert_allclose(F.normalize(a, p=1.0, dim=0).numpy(), l1, rtol=1e-5, atol=1e-6)
    cos = (a64 * b64).sum(1) / (np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1))
    np.testing.assert_allclose(F.cosine_similarity(a, b).numpy(), cos, rtol=1e-5, atol=1e-6)
    assert F.normalize(tg.zeros(2, 3, device=device)).abs().sum().item() == 0.0  # eps: no nan
    x = tg.tensor(A, dtype=tg.float64, device=device, requires_grad=True)
    y = tg.tensor(B, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda s, t: F.cosine_similarity(s, t, dim=-1), [x, y])
    assert tg.autograd.gradcheck(lambda s: F.normalize(s, dim=1), [x])


def test_module_device_and_dtype_helpers():
    model = nn.Linear(2, 2)
    assert model.bfloat16().weight.dtype == tg.bfloat16
    weight = model.weight
    if "cpu" in {b.name for b in tg.backends() if b.available}:
        assert str(model.cpu().weight.device) == "cpu" and model.weight is weight
    if not tg.cuda.is_available():
        with pytest.raises(tg.DeviceError):
            model.cuda()


def test_adam_accepts_pytorch_speed_flags(device):
    def run(**flags):
        tg.set_default_device(device)
        w = nn.Parameter(tg.tensor(A))
        opt = optim.AdamW([w], lr=0.1, **flags)
        for _ in range(2):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
        return w.tolist()

    assert run(fused=False) == run(foreach=True) == run()


def test_embedding_from_pretrained(device):
    table = tg.tensor(A, device=device)
    frozen = nn.Embedding.from_pretrained(table)
    np.testing.assert_array_equal(frozen(tg.tensor([2, 0], device=device)).numpy(), A[[2, 0]])
    assert not frozen.weight.requires_grad and frozen.weight.device == table.device
    trained = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=1)
    np.testing.assert_array_equal(trained.weight.numpy(), A)  # row 1 keeps its values
    trained(tg.tensor([1, 2], device=device)).sum().backward()
    assert trained.weight.grad[1].abs().sum().item() == 0.0  # no gradient at padding_idx
    assert trained.weight.grad[2].abs().sum().item() > 0.0
    with pytest.raises(tg.ShapeError, match="embeddings must be 2-D"):
        nn.Embedding.from_pretrained(table[0])
