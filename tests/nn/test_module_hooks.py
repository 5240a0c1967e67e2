"""Module forward pre-hooks, forward hooks and full backward hooks, as in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import nn


class Scale(nn.Module):
    """y = x * w (elementwise), so every gradient is easy to write down."""

    def __init__(self, w: list[float], device: str) -> None:
        super().__init__()
        self.w = nn.Parameter(tg.tensor(w, dtype=tg.float64, device=device))

    def forward(self, x):
        return x * self.w


def test_forward_pre_hook_sees_and_may_replace_the_args(device):
    m = Scale([2.0, 3.0], device)
    seen = []
    m.register_forward_pre_hook(lambda mod, args: seen.append(args[0].tolist()))
    handle = m.register_forward_pre_hook(lambda mod, args: args[0] + 1)  # one value: a 1-tuple
    x = tg.tensor([1.0, 1.0], dtype=tg.float64, device=device)
    assert m(x).tolist() == [4.0, 6.0]
    assert seen == [[1.0, 1.0]]
    handle.remove()
    assert m(x).tolist() == [2.0, 3.0]


def test_forward_hook_sees_args_and_output_and_may_replace_the_output(device):
    m = Scale([2.0, 3.0], device)
    seen = []
    m.register_forward_hook(lambda mod, args, out: seen.append((mod is m, out.tolist())))
    with m.register_forward_hook(lambda mod, args, out: out * 10):
        y = m(tg.tensor([1.0, 1.0], dtype=tg.float64, device=device))
    assert y.tolist() == [20.0, 30.0]
    assert seen == [(True, [2.0, 3.0])]
    assert m(tg.tensor([1.0, 1.0], dtype=tg.float64, device=device)).tolist() == [2.0, 3.0]


def test_hooks_on_children_run_when_the_parent_is_called(device):
    net = nn.Sequential(nn.Linear(3, 4, device=device), nn.ReLU(), nn.Linear(4, 2, device=device))
    shapes = []
    for layer in net:
        layer.register_forward_hook(lambda mod, args, out: shapes.append(tuple(out.shape)))
    net(tg.randn(5, 3, device=device))
    assert shapes == [(5, 4), (5, 4), (5, 2)]


def test_full_backward_hook_gets_grad_input_and_grad_output(device):
    m = Scale([2.0, 3.0], device)
    calls = []

    def hook(mod, grad_input, grad_output):
        calls.append(([g.tolist() for g in grad_input], [g.tolist() for g in grad_output]))

    m.register_full_backward_hook(hook)
    x = tg.tensor([1.0, 5.0], dtype=tg.float64, device=device, requires_grad=True)
    # x is also used outside the module: grad_input is only the module's share
    (m(x) * tg.tensor([1.0, 10.0], dtype=tg.float64, device=device) + x).sum().backward()
    assert calls == [([[2.0, 30.0]], [[1.0, 10.0]])]
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 31.0])
    np.testing.assert_allclose(m.w.grad.numpy(), [1.0, 50.0])


def test_full_backward_hook_may_replace_grad_input(device):
    m = Scale([2.0, 3.0], device)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0.0,))
    x = tg.tensor([1.0, 5.0], dtype=tg.float64, device=device, requires_grad=True)
    m(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    assert m.w.grad.tolist() == [1.0, 5.0]  # parameters are not part of grad_input


def test_full_backward_hook_with_an_input_that_needs_no_grad(device):
    m = Scale([2.0, 3.0], device)
    calls = []
    m.register_full_backward_hook(lambda mod, gi, go: calls.append((gi, go[0].tolist())))
    m(tg.tensor([1.0, 5.0], dtype=tg.float64, device=device)).sum().backward()
    assert calls == [((None,), [1.0, 1.0])]


@pytest.mark.oracle
def test_backward_hook_matches_pytorch_on_a_linear_layer(device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w = rng.standard_normal((2, 3))
    x = rng.standard_normal((4, 3))
    ours = nn.Linear(3, 2, bias=False, device=device, dtype=tg.float64)
    ours.weight.data.copy_(tg.tensor(w, dtype=tg.float64, device=device))
    theirs = torch.nn.Linear(3, 2, bias=False, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
    got, want = [], []
    ours.register_full_backward_hook(lambda m, gi, go: got.append(gi[0].numpy()))
    theirs.register_full_backward_hook(lambda m, gi, go: want.append(gi[0].numpy()))
    (ours(tg.tensor(x, dtype=tg.float64, device=device, requires_grad=True)) ** 2).sum().backward()
    (theirs(torch.tensor(x, requires_grad=True)) ** 2).sum().backward()
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10)


def test_hook_registration_errors(device):
    m = Scale([1.0], device)
    with pytest.raises(TypeError, match="callable"):
        m.register_forward_hook(3)


def test_prepend_and_with_kwargs(device):
    class Shift(nn.Module):
        def forward(self, x, *, by=0.0):
            return x + by

    m = Shift()
    order = []
    m.register_forward_hook(lambda mod, args, out: order.append("second"))
    m.register_forward_hook(lambda mod, args, out: order.append("first"), prepend=True)

    def double_by(mod, args, kwargs):
        return args, {"by": kwargs["by"] * 2}

    m.register_forward_pre_hook(double_by, with_kwargs=True)
    seen = []
    m.register_forward_hook(
        lambda mod, args, kwargs, out: seen.append(kwargs["by"]), with_kwargs=True
    )
    y = m(tg.tensor([1.0], device=device), by=1.5)
    assert y.tolist() == [4.0]
    assert order == ["first", "second"] and seen == [3.0]


def test_full_backward_pre_hook_may_replace_grad_output(device):
    m = Scale([2.0, 3.0], device)
    seen = []
    m.register_full_backward_pre_hook(lambda mod, go: seen.append(go[0].tolist()))
    m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 10,))
    calls = []
    m.register_full_backward_hook(lambda mod, gi, go: calls.append(go[0].tolist()))
    x = tg.tensor([1.0, 1.0], dtype=tg.float64, device=device, requires_grad=True)
    m(x).sum().backward()
    assert seen == [[1.0, 1.0]]
    assert calls == [[10.0, 10.0]]  # the backward hook sees the replaced grad_output
    assert x.grad.tolist() == [20.0, 30.0] and m.w.grad.tolist() == [10.0, 10.0]
