"""Everyday PyTorch losses, optimizers and schedulers, run as written with `tinygpt` (issue 14).

The harness is conftest.py; weights are set by hand (`idiom_harness.linear`) so both libraries
compute the same numbers.
"""

from __future__ import annotations

import pytest
from idiom_harness import IDIOM_DEVICES, idiom, linear, params, ramp

pytestmark = pytest.mark.oracle


# ------------------------------------------------------------------ losses
@idiom
def cross_entropy_forms(torch, nn, F, optim):
    logits = ramp(torch, 4, 5) * 3
    targets = torch.tensor([1, 0, 4, -1])
    return [
        F.cross_entropy(logits, targets, ignore_index=-1),
        F.cross_entropy(logits, targets.clamp(min=0)),
        F.cross_entropy(logits, targets.clamp(min=0), reduction="sum"),
        F.cross_entropy(logits, targets.clamp(min=0), reduction="none"),
        F.cross_entropy(logits, targets.clamp(min=0), label_smoothing=0.1),
        nn.CrossEntropyLoss(ignore_index=-1)(logits, targets),
    ]


@idiom
def cross_entropy_sequence(torch, nn, F, optim):
    logits = ramp(torch, 2, 3, 5).requires_grad_()
    targets = torch.tensor([[1, 2, 3], [4, 0, -1]])
    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
    loss.backward()
    return [loss, logits.grad]


@idiom
def regression_losses(torch, nn, F, optim):
    pred = ramp(torch, 3, 2)
    target = torch.ones(3, 2)
    return [
        F.mse_loss(pred, target),
        nn.MSELoss()(pred, target),
        F.mse_loss(pred, target, reduction="sum"),
        F.binary_cross_entropy_with_logits(pred, target * 0.5),
        nn.BCEWithLogitsLoss()(pred, target),
        F.l1_loss(pred, target),
    ]


@idiom
def nll_loss_on_log_softmax(torch, nn, F, optim):
    logits = ramp(torch, 3, 4)
    targets = torch.tensor([0, 3, 1])
    return [
        F.nll_loss(F.log_softmax(logits, dim=1), targets),
        nn.NLLLoss()(logits.log_softmax(-1), targets),
    ]


# ------------------------------------------------------------------ optim
def _fit(torch, nn, opt_factory, steps=3):
    model = linear(torch, nn, 3, 2)
    opt = opt_factory(model)
    x = ramp(torch, 4, 3)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x) - 1.0) ** 2).mean()
        loss.backward()
        opt.step()
    return [model.weight, model.bias, loss]


@idiom
def sgd_momentum(torch, nn, F, optim):
    return _fit(
        torch, nn, lambda m: optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    )


@idiom
def adam_and_adamw(torch, nn, F, optim):
    a = _fit(torch, nn, lambda m: optim.Adam(m.parameters(), lr=1e-2))
    w = _fit(
        torch,
        nn,
        lambda m: optim.AdamW(m.parameters(), lr=1e-2, betas=(0.9, 0.95), weight_decay=0.1),
    )
    return [a, w]


@idiom
def param_groups(torch, nn, F, optim):
    model = linear(torch, nn, 3, 2)
    opt = optim.SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.5}], lr=0.1)
    for group in opt.param_groups:
        group["lr"] = group["lr"] * 0.5
    model(ramp(torch, 2, 3)).sum().backward()
    opt.step()
    return [model.weight, model.bias, [g["lr"] for g in opt.param_groups], len(opt.param_groups)]


@idiom
def lr_schedulers(torch, nn, F, optim):
    lrs = []
    for make in (
        lambda o: optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
        lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=4),
        lambda o: optim.lr_scheduler.LambdaLR(o, lambda step: 1 / (step + 1)),
    ):
        opt = optim.SGD(linear(torch, nn, 2, 2).parameters(), lr=1.0)
        sched = make(opt)
        for _ in range(3):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
    return lrs


@idiom
def zero_grad_set_to_none(torch, nn, F, optim):
    model = linear(torch, nn, 2, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(ramp(torch, 1, 2)).sum().backward()
    opt.zero_grad(set_to_none=False)
    kept = model.weight.grad
    opt.zero_grad()
    return [kept, model.weight.grad]


@idiom
def optimizer_state_dict(torch, nn, F, optim):
    model = linear(torch, nn, 2, 2)
    opt = optim.Adam(model.parameters(), lr=0.1)
    model(ramp(torch, 1, 2)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    opt2 = optim.Adam(model.parameters(), lr=0.5)
    opt2.load_state_dict(sd)
    return [sorted(sd.keys()), opt2.param_groups[0]["lr"], sd["state"][0]["exp_avg"]]


@idiom
def clip_grad_norm(torch, nn, F, optim):
    model = linear(torch, nn, 3, 2)
    (model(ramp(torch, 4, 3)) * 10).sum().backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    return [norm, model.weight.grad]


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
