"""The graph keeps only what backward needs (`Function.graph_reads`, `Dropped`).

An intermediate whose value no backward formula reads (the input of `x * c`, `x + y`,
`masked_fill`, softmax, exp, reshape, ...) is not kept alive by the node that consumed it,
as in PyTorch: hand-written attention's (B, nh, T, T) scores are freed during forward.
Gradients, `autograd.grad` on intermediates, multi-output parents, higher-order gradients
and the graph viewer must all stay as before.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.autograd import Dropped, gradgradcheck

RNG = np.random.default_rng(7)


def _leaf(shape, device, dtype=tg.float64):
    return tg.tensor(RNG.uniform(-1, 1, size=shape), dtype=dtype, device=device, requires_grad=True)


def _freed(ref: weakref.ref) -> bool:
    gc.collect()
    return ref() is None


@pytest.mark.parametrize(
    "consume",
    [
        lambda h: h * 0.5,
        lambda h: h / 3.0,
        lambda h: h + 1.0,
        lambda h: h + h.detach(),
        lambda h: h.masked_fill(tg.ones(*h.shape, device=h.device).bool(), 0.0),
        lambda h: h.softmax(-1),
        lambda h: h.log_softmax(-1),
        lambda h: h.exp(),
        lambda h: h.tanh(),
        lambda h: h.sigmoid(),
        lambda h: h.relu(),
        lambda h: h.reshape(-1).sum(),
        lambda h: h.transpose(0, 1).contiguous(),
    ],
    ids=[
        "mul_scalar",
        "div_scalar",
        "add_scalar",
        "add",
        "masked_fill",
        "softmax",
        "log_softmax",
        "exp",
        "tanh",
        "sigmoid",
        "relu",
        "reshape_sum",
        "transpose",
    ],
)
def test_an_unread_intermediate_is_freed_and_gradients_are_unchanged(device, consume):
    x = _leaf((4, 5), device)
    h = x @ x.mT  # an intermediate: (4, 4)
    ref = weakref.ref(h)
    y = consume(h)
    del h
    assert _freed(ref), "the graph kept an input its backward never reads"
    (y * y).sum().backward()
    # the same gradient computed while the intermediate is held by the caller
    x2 = tg.tensor(x.detach().numpy(), dtype=tg.float64, device=device, requires_grad=True)
    h2 = x2 @ x2.mT
    (consume(h2) ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_an_input_the_formula_reads_is_kept(device):
    x = _leaf((3,), device)
    h = x * 2.0
    ref = weakref.ref(h)
    y = h.sin()  # sin's create_graph formula reads its input
    del h
    assert not _freed(ref)
    assert y.grad_fn.parents[0] is ref()


def test_hand_written_attention_frees_its_scores(device):
    q = _leaf((2, 2, 6, 4), device, dtype=tg.float32)
    k = _leaf((2, 2, 6, 4), device, dtype=tg.float32)
    mask = tg.ones(6, 6, device=device).tril() == 0
    scores = q @ k.mT
    refs = [weakref.ref(scores)]
    scaled = scores * 0.5
    refs.append(weakref.ref(scaled))
    masked = scaled.masked_fill(mask, float("-inf"))
    refs.append(weakref.ref(masked))
    att = masked.softmax(-1)
    del scores, scaled, masked
    assert all(_freed(r) for r in refs)
    att.sum().backward()
    assert q.grad is not None and k.grad is not None


def test_grad_of_a_held_intermediate_still_found(device):
    x = _leaf((3,), device)
    h = x * 3.0
    y = (h + 1.0) * 2.0  # h reaches y only through a node that drops it
    assert isinstance(y.grad_fn.parents[0].grad_fn.parents[0], Dropped)
    (gh,) = tg.autograd.grad(y.sum(), h)
    np.testing.assert_allclose(gh.numpy(), np.full(3, 2.0))


def test_a_dropped_output_of_a_multi_output_node_routes_its_gradient(device):
    x = _leaf((6,), device)
    a, b, c = x.split(2)
    y = a * 1.0 + (c + 1.0) * 3.0  # c is dropped by `+ 1.0`, a by `* 1.0`
    del a, b, c
    gc.collect()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1, 1, 0, 0, 3, 3])


def test_higher_order_gradients_through_dropped_inputs(device):
    x = _leaf((3, 4), device)

    def f(a):
        h = a * 0.7 + 0.1
        return ((h.exp().tanh() - 0.2).sigmoid().softmax(-1) * 5.0).log_softmax(-1).relu().sum()

    assert gradgradcheck(f, (x,))


def test_the_graph_viewer_shows_a_dropped_input(device):
    x = _leaf((2, 2), device)
    y = ((x @ x) * 2.0).sum()  # the matmul's output is dropped by `* 2.0`
    gc.collect()
    nodes = tg.viz.graph(y, params={"x": x}).nodes
    assert [node.label for node in nodes] == ["Sum", "ScalarOp(x mul 2.0)", "Matmul", "x"]
    assert nodes[2].shape == (2, 2)


def test_next_functions_walk_the_graph_as_in_pytorch(device):
    x = _leaf((2,), device)
    w = tg.ones(2, device=device, dtype=tg.float64)  # a constant
    a, b = (x * 1.0).split(1)
    y = ((a * 2.0) * w[:1]).sum() + b.sum()
    del a, b
    gc.collect()
    add = y.grad_fn
    (left, _), (right, _) = add.next_functions
    mul = left.next_functions[0][0]
    scaled, constant = mul.next_functions
    assert constant == (None, 0)  # w does not require grad
    split, slot = scaled[0].next_functions[0]
    assert slot == 0 and right.next_functions[0] == (split, 1)  # b is the split's output 1
    leaf, _ = split.next_functions[0][0].next_functions[0]
    assert leaf.name() == "torch::autograd::AccumulateGrad" and leaf.variable is x
    assert leaf.next_functions == ()


def test_gelu_hands_its_unchanged_output_to_a_backend_that_takes_it(device, monkeypatch):
    from tinygpt.ops import activation

    x = _leaf((3, 4), device)
    backend = x._data.backend
    if "gelu" not in backend.fused_ops:
        pytest.skip(f"{device} has no fused gelu")
    seen = []
    original = type(backend).gelu_backward

    def spy(self, dy, x_, approximate, y=None):
        seen.append(y)
        return original(self, dy, x_, approximate)

    monkeypatch.setattr(type(backend), "gelu_backward", spy)
    monkeypatch.setattr(activation, "_TAKES_OUTPUT", {})
    (tg.nn.functional.gelu(x) * 2.0).sum().backward()  # `* 2.0` does not keep the output
    kept = tg.nn.functional.gelu(x)
    (kept * kept).sum().backward()  # alive and unchanged: handed over
    changed = tg.nn.functional.gelu(x)
    loss = (changed * 3.0).sum()
    changed.mul_(2.0)  # written in place after use: not handed over, and no error
    loss.backward()
    assert seen[0] is None and seen[1] is not None and seen[2] is None
    np.testing.assert_allclose(seen[1].shape, (3, 4))
