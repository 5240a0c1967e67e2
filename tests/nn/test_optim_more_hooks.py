"""Optimizer step hooks: per optimizer and global, pre-hooks replacing arguments, removal."""

from __future__ import annotations

import pytest

import tinygpt as tg
from tinygpt import optim
from tinygpt.optim import optimizer as optimizer_module


def _closure_for(opt, w):
    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    return closure


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1),
        lambda ps: optim.AdamW(ps),
        lambda ps: optim.NAdam(ps),
        lambda ps: optim.LBFGS(ps, max_iter=2),
    ],
)
def test_pre_and_post_hooks_run_in_order(device, make):
    w = tg.ones(2, device=device, requires_grad=True)
    opt = make([w])
    calls = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o)))
    post = opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", o)))
    glob = optimizer_module.register_optimizer_step_pre_hook(
        lambda o, args, kwargs: calls.append(("global", o))
    )
    try:
        closure = _closure_for(opt, w)
        closure()
        opt.step(closure)
        assert calls == [("global", opt), ("pre", opt), ("post", opt)]
        pre.remove()
        post.remove()
        glob.remove()
        opt.step(closure)
        assert len(calls) == 3  # removed: no more calls
    finally:
        glob.remove()


def test_pre_hook_can_replace_arguments(device):
    w = tg.ones(2, device=device, requires_grad=True)
    opt = optim.SGD([w], lr=0.5)
    seen = []

    def give_closure(o, args, kwargs):
        assert args == (o,)  # as in PyTorch: the optimizer is the first argument
        return args, {"closure": _closure_for(o, w)}

    opt.register_step_pre_hook(give_closure)
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append(sorted(kwargs)))
    loss = opt.step()  # the hook supplies the closure, so step returns its loss
    assert float(loss.item()) == 2.0
    assert w.tolist() == [0.0, 0.0]  # w - 0.5 * 2w
    assert seen == [["closure"]]


def test_bad_pre_hook_result_raises():
    w = tg.ones(1, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    opt.register_step_pre_hook(lambda o, args, kwargs: "nope")
    with pytest.raises(RuntimeError, match="pre-hook"):
        opt.step()


class _MomentumSGD(optim.Optimizer):
    """A custom optimizer written the PyTorch way: its own step, `self.state[p]` lazily."""

    def __init__(self, params, lr=0.1, momentum=0.5):
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @tg.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with tg.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]  # a defaultdict, as in PyTorch: empty the first time
                if len(state) == 0:
                    state["buf"] = tg.zeros_like(p)
                state["buf"].mul_(group["momentum"]).add_(p.grad)
                p.add_(state["buf"], alpha=-group["lr"])
        return loss


def test_custom_optimizer_subclass(device):
    w = tg.tensor([1.0, -2.0], device=device, requires_grad=True)
    opt = _MomentumSGD([w])
    calls = []
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(len(args)))
    want = [1.0, -2.0]
    buf = [0.0, 0.0]
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
        buf = [0.5 * b + 2 * v for b, v in zip(buf, want)]
        want = [v - 0.1 * b for v, b in zip(want, buf)]
    assert w.tolist() == pytest.approx(want, rel=1e-6)
    assert calls == [1, 1, 1]  # its own step runs the hooks too
    saved = opt.state_dict()
    assert list(saved["state"]) == [0] and set(saved["state"][0]) == {"buf"}
    opt2 = _MomentumSGD([tg.tensor(w.tolist(), device=device, requires_grad=True)])
    opt2.load_state_dict(saved)
    assert opt2.state[opt2.param_groups[0]["params"][0]]["buf"].tolist() == pytest.approx(buf)
