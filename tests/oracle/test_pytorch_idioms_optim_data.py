"""PyTorch's newer optimizers, lr schedules, swa_utils and optimizer hooks, run as written
with `tinygpt` and compared with torch. The `torch.utils.data` and `torch.autograd` idioms are in
test_pytorch_idioms_optim_data_utils.py and test_pytorch_idioms_optim_data_autograd.py."""

from __future__ import annotations

import pytest
from idiom_harness import IDIOM_DEVICES, idiom, linear, params, ramp

pytestmark = pytest.mark.oracle


# ------------------------------------------------------------------ optimizers
def _fit(torch, nn, opt_factory, steps=6):
    model = linear(torch, nn, 3, 2)
    opt = opt_factory(model)
    x = ramp(torch, 4, 3)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x).tanh() - 0.5) ** 2).mean()
        loss.backward()
        opt.step()
    return [model.weight, model.bias, loss]


@idiom
def radam(torch, nn, F, optim):
    return [
        _fit(torch, nn, lambda m: optim.RAdam(m.parameters(), lr=0.05), steps=8),
        _fit(torch, nn, lambda m: optim.RAdam(m.parameters(), lr=0.05, weight_decay=0.1)),
        _fit(
            torch,
            nn,
            lambda m: optim.RAdam(
                m.parameters(), lr=0.05, weight_decay=0.1, decoupled_weight_decay=True
            ),
        ),
    ]


@idiom
def nadam(torch, nn, F, optim):
    return [
        _fit(torch, nn, lambda m: optim.NAdam(m.parameters(), lr=0.05)),
        _fit(
            torch,
            nn,
            lambda m: optim.NAdam(m.parameters(), lr=0.05, momentum_decay=0.01, weight_decay=0.1),
        ),
    ]


@idiom
def adamax_adadelta(torch, nn, F, optim):
    return [
        _fit(torch, nn, lambda m: optim.Adamax(m.parameters(), lr=0.05, weight_decay=0.01)),
        _fit(torch, nn, lambda m: optim.Adadelta(m.parameters(), weight_decay=0.01)),
        _fit(torch, nn, lambda m: optim.Adadelta(m.parameters(), lr=0.5, rho=0.5)),
    ]


@idiom
def rprop_asgd(torch, nn, F, optim):
    return [
        _fit(torch, nn, lambda m: optim.Rprop(m.parameters(), lr=0.05)),
        _fit(torch, nn, lambda m: optim.Rprop(m.parameters(), etas=(0.3, 1.5))),
        _fit(torch, nn, lambda m: optim.ASGD(m.parameters(), lr=0.1, lambd=0.01, t0=2)),
    ]


@idiom
def adafactor(torch, nn, F, optim):
    return [
        _fit(torch, nn, lambda m: optim.Adafactor(m.parameters())),
        _fit(torch, nn, lambda m: optim.Adafactor(m.parameters(), lr=0.1, weight_decay=0.1)),
        _fit(torch, nn, lambda m: optim.Adafactor(m.parameters(), d=1.5, beta2_decay=-0.5)),
    ]


@idiom
def optimizer_step_hooks(torch, nn, F, optim):
    model = linear(torch, nn, 3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    calls = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(["pre", len(args)]))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(["post", o is opt]))
    import importlib

    optimizer_module = importlib.import_module(f"{optim.__name__}.optimizer")
    glob = optimizer_module.register_optimizer_step_pre_hook(
        lambda o, args, kwargs: calls.append(["global", type(o).__name__])
    )
    for _ in range(2):
        opt.zero_grad()
        model(ramp(torch, 4, 3)).sum().backward()
        opt.step()
        pre.remove()
    glob.remove()
    return [calls, model.weight]


@idiom
def custom_optimizer_subclass(torch, nn, F, optim):
    class MomentumSGD(optim.Optimizer):
        def __init__(self, params, lr=0.1, momentum=0.5):
            super().__init__(params, dict(lr=lr, momentum=momentum))

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if len(state) == 0:
                        state["buf"] = torch.zeros_like(p)
                    state["buf"].mul_(group["momentum"]).add_(p.grad)
                    p.add_(state["buf"], alpha=-group["lr"])

    return _fit(torch, nn, lambda m: MomentumSGD(m.parameters()))


def _lbfgs(torch, **kwargs):
    a = torch.tensor([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.5], [1.0, 0.0, 1.0]])
    y = torch.tensor([1.0, -2.0, 0.5, 2.0])
    w = torch.zeros(3, requires_grad=True)
    opt = torch.optim.LBFGS([w], **kwargs)

    def closure():
        opt.zero_grad()
        loss = ((a @ w - y) ** 2).sum() + (w**4).sum() * 0.1
        loss.backward()
        return loss

    losses = [opt.step(closure).item() for _ in range(2)]
    return [w, losses, opt.state[w]["func_evals"], opt.state[w]["n_iter"]]


@idiom
def lbfgs(torch, nn, F, optim):
    return [
        _lbfgs(torch, lr=0.5, max_iter=4),
        _lbfgs(torch, max_iter=6, history_size=2),
        _lbfgs(torch, line_search_fn="strong_wolfe", max_iter=8),
    ]


# ------------------------------------------------------------------ lr schedules
def _lrs(torch, nn, make, steps=14, opt_kind="sgd"):
    params = linear(torch, nn, 2, 2).parameters()
    if opt_kind == "adam":
        opt = torch.optim.Adam(params, lr=0.5)
    else:
        opt = torch.optim.SGD(params, lr=0.5, momentum=0.9)
    sched = make(opt)
    out = []
    for _ in range(steps):
        opt.step()
        sched.step()
        group = opt.param_groups[0]
        out.append([group["lr"], group["betas"][0] if "betas" in group else group["momentum"]])
    return out


@idiom
def constant_polynomial_multiplicative(torch, nn, F, optim):
    S = optim.lr_scheduler
    return [
        _lrs(torch, nn, lambda o: S.ConstantLR(o, factor=0.25, total_iters=4)),
        _lrs(torch, nn, lambda o: S.PolynomialLR(o, total_iters=7, power=2.0)),
        _lrs(torch, nn, lambda o: S.MultiplicativeLR(o, lr_lambda=lambda e: 0.95)),
    ]


@idiom
def cosine_warm_restarts(torch, nn, F, optim):
    S = optim.lr_scheduler
    opt = optim.SGD(linear(torch, nn, 2, 2).parameters(), lr=0.5)
    sched = S.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.01)
    fractional = []
    for epoch in (0.5, 1.5, 2.25, 6.0, 9.5, 14.0):
        sched.step(epoch)
        fractional.append(opt.param_groups[0]["lr"])
    return [
        _lrs(torch, nn, lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2), steps=25),
        _lrs(torch, nn, lambda o: S.CosineAnnealingWarmRestarts(o, T_0=4, eta_min=0.1)),
        fractional,
    ]


@idiom
def cyclic_lr(torch, nn, F, optim):
    S = optim.lr_scheduler
    return [
        _lrs(torch, nn, lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=3, step_size_down=5)),
        _lrs(
            torch,
            nn,
            lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=2, mode="triangular2"),
            opt_kind="adam",
        ),
        _lrs(
            torch,
            nn,
            lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=4, mode="exp_range", gamma=0.9),
        ),
    ]


@idiom
def chained_scheduler(torch, nn, F, optim):
    S = optim.lr_scheduler

    def make(o):
        return S.ChainedScheduler(
            [S.ConstantLR(o, factor=0.1, total_iters=3), S.ExponentialLR(o, gamma=0.9)]
        )

    def make3(o):
        return S.ChainedScheduler(
            [S.LinearLR(o, start_factor=0.2, total_iters=4), S.StepLR(o, 3, 0.5)]
        )

    return [_lrs(torch, nn, make), _lrs(torch, nn, make3)]


@idiom
def scheduler_step_with_epoch(torch, nn, F, optim):
    opt = optim.SGD(linear(torch, nn, 2, 2).parameters(), lr=0.5)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    lrs = []
    for epoch in (3, 4, 1):
        sched.step(epoch)
        lrs.append(sched.get_last_lr()[0])
    return [lrs, sched.last_epoch]


@idiom
def swa_utils_workflow(torch, nn, F, optim):
    model = nn.Sequential(
        linear(torch, nn, 3, 4), nn.BatchNorm1d(4), nn.ReLU(), linear(torch, nn, 4, 2)
    )
    opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    sw = optim.swa_utils
    swa_model = sw.AveragedModel(model)
    ema = sw.AveragedModel(model, multi_avg_fn=sw.get_ema_multi_avg_fn(0.9))
    ema_buffers = sw.AveragedModel(model, avg_fn=sw.get_ema_avg_fn(0.8), use_buffers=True)
    warm = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    swa_sched = None
    x = ramp(torch, 8, 3)
    lrs = []
    for step in range(7):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
        if step < 3:
            warm.step()
            continue
        if swa_sched is None:
            swa_sched = sw.SWALR(opt, swa_lr=0.05, anneal_epochs=2)
        for averaged in (swa_model, ema, ema_buffers):
            averaged.update_parameters(model)
        swa_sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    sw.update_bn([(x[:4], 0), (x[4:], 1)], swa_model)
    return [
        lrs,
        swa_model.n_averaged,
        list(swa_model.parameters()),
        list(ema.parameters()),
        list(ema_buffers.buffers()),
        swa_model.module[1].running_mean,
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 0.02},
        {"lr": 0.05, "nesterov": False, "weight_decay": 0.01},
        {"lr": 0.02, "adjust_lr_fn": "match_rms_adamw"},
    ],
)
@pytest.mark.parametrize("dev", IDIOM_DEVICES)
def test_muon_agrees_with_torch_to_bfloat16_precision(dev, kwargs):
    """Not an idiom: torch orthogonalizes in bfloat16, tinygpt in float32, so the two agree
    to about 1% of the distance the weights move, on well-conditioned gradients."""
    torch = pytest.importorskip("torch")
    import numpy as np

    import tinygpt as tg

    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(6, 4)).astype(np.float32) for _ in range(4)]
    start = rng.normal(size=(6, 4)).astype(np.float32)

    def run(lib, muon, device=None):
        extra = {} if device is None else {"device": device}
        p = lib.tensor(start, requires_grad=True, **extra)
        opt = muon([p], **kwargs)
        for g in grads:
            p.grad = lib.tensor(g, **extra)
            opt.step()
        return np.array(p.tolist())

    want = run(torch, torch.optim.Muon)
    got = run(tg, tg.optim.Muon, dev)
    moved = np.abs(want - start).max()
    assert np.abs(got - want).max() < 0.02 * moved


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
