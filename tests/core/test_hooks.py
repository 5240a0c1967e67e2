"""Tensor gradient hooks: register_hook (leaves and non-leaves), retain_grad, and
register_post_accumulate_grad_hook, as in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.errors import ShapeError


def _leaf(values, device, dtype=tg.float64):
    return tg.tensor(values, dtype=dtype, device=device, requires_grad=True)


def test_leaf_hook_sees_the_summed_gradient_and_can_replace_it(device):
    x = _leaf([1.0, 2.0], device)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    x.register_hook(lambda g: g * 10)
    y = x * 3 + x * x  # two uses of x: one call with their sum
    y.sum().backward()
    assert seen == [[5.0, 7.0]]
    np.testing.assert_allclose(x.grad.numpy(), [50.0, 70.0])


def test_hooks_run_in_registration_order_and_see_the_previous_replacement(device):
    x = _leaf([1.0], device)
    x.register_hook(lambda g: g + 1)
    x.register_hook(lambda g: g * 2)
    (x * 1).sum().backward()
    assert x.grad.tolist() == [4.0]  # (1 + 1) * 2, not 1 * 2 + 1


def test_non_leaf_hook_changes_what_flows_further(device):
    x = _leaf([1.0, 2.0], device)
    h = x * x
    seen = []
    h.register_hook(lambda g: seen.append(g.tolist()) or g * 0.5)
    (h * 4).sum().backward()
    assert seen == [[4.0, 4.0]]
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])  # 0.5 * 4 * 2x


def test_hook_on_one_output_of_a_split(device):
    x = _leaf([1.0, 2.0, 3.0, 4.0], device)
    a, b = x.split(2)
    b.register_hook(lambda g: g * 100)
    (a.sum() + b.sum()).backward()
    assert x.grad.tolist() == [1.0, 1.0, 100.0, 100.0]


def test_remove_and_context_manager(device):
    x = _leaf([1.0], device)
    handle = x.register_hook(lambda g: g * 10)
    handle.remove()
    handle.remove()  # twice is harmless
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0]
    x.grad = None
    with x.register_hook(lambda g: g * 3):
        (x * 1).sum().backward()
    assert x.grad.tolist() == [3.0]
    x.grad = None
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0]


def test_hooks_apply_to_autograd_grad_too(device):
    x = _leaf([2.0], device)
    x.register_hook(lambda g: g * 2)
    (gx,) = tg.autograd.grad((x * x).sum(), x)
    assert gx.tolist() == [8.0]


def test_hook_errors_are_clear(device):
    x = tg.tensor([1.0], device=device)
    with pytest.raises(RuntimeError, match="does not require grad"):
        x.register_hook(lambda g: g)
    y = _leaf([1.0, 2.0], device)
    y.register_hook(lambda g: g.sum())
    with pytest.raises(ShapeError, match=r"shape \(\)"):
        (y * 1).sum().backward()
    with pytest.raises(RuntimeError, match="leaf"):
        (y * 2).register_post_accumulate_grad_hook(lambda p: None)


def test_retain_grad_keeps_a_non_leaf_gradient(device):
    x = _leaf([1.0, 2.0], device)
    h = x * 3
    h.retain_grad()
    h.retain_grad()  # idempotent, as in PyTorch
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [6.0, 12.0])
    assert h.grad.grad_fn is None


def test_post_accumulate_hook_sees_the_updated_grad(device):
    w = _leaf([1.0, 2.0], device)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    (w * w).sum().backward()
    (w * 1).sum().backward()
    assert seen == [[2.0, 4.0], [3.0, 5.0]]


def test_post_accumulate_hooks_fire_during_backward_in_reverse_layer_order(device):
    """The last layer's parameter is complete first: its hook fires before the first
    layer's backward has run (what lets data parallelism overlap communication)."""
    w1 = _leaf([[0.5, -1.0], [2.0, 1.0]], device)
    w2 = _leaf([[1.0, 0.0], [0.5, 0.5]], device)
    x = tg.tensor([[1.0, 2.0]], dtype=tg.float64, device=device)
    events = []
    w1.register_post_accumulate_grad_hook(lambda p: events.append("w1"))
    w2.register_post_accumulate_grad_hook(lambda p: events.append("w2"))
    h = (x @ w1).tanh()
    h.register_hook(lambda g: events.append("h"))  # runs before w1's gradient is computed
    out = (h @ w2).sum()
    out.backward()
    assert events == ["w2", "h", "w1"]
    assert w1.grad is not None and w2.grad is not None


def test_post_accumulate_hook_on_a_tied_weight_runs_once_with_the_sum(device):
    w = _leaf([1.0, 3.0], device)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    ((w * 2).sum() + (w * w).sum()).backward()
    assert seen == [[4.0, 8.0]]


@pytest.mark.oracle
def test_hook_semantics_match_pytorch():
    """Leaf and non-leaf hooks, a replacement, and retain_grad: the same numbers."""
    torch = pytest.importorskip("torch")
    values = [0.5, -1.0, 2.0]

    def run(lib, leaf):
        x = leaf(values)
        log = []
        x.register_hook(lambda g: log.append(g.tolist()))
        h = (x * x).tanh()
        h.retain_grad()
        h.register_hook(lambda g: g * 3)
        out = (h * x).sum() + (x * 2).sum()
        out.backward()
        return log, x.grad.tolist(), h.grad.tolist()

    ours = run(tg, lambda v: tg.tensor(v, dtype=tg.float64, requires_grad=True))
    theirs = run(torch, lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(np.array(a, dtype=float), np.array(b, dtype=float), rtol=1e-12)
