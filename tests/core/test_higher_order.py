"""create_graph=True: gradients that are themselves differentiable (second derivatives).

Each case is checked by `gradgradcheck`: the backward of the recorded first derivative
against float64 finite differences of the first derivative, on every backend.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import array_ops as A
from tinygpt.autograd import Function, gradgradcheck
from tinygpt.autograd.differentiable import formula

RNG = np.random.default_rng(7)


def _t(shape, device, low=-1.5, high=1.5, grad=True):
    values = RNG.uniform(low, high, size=shape)
    return tg.tensor(values, dtype=tg.float64, device=device, requires_grad=grad)


def _pos(shape, device):
    return _t(shape, device, 0.5, 2.0)


def _targets(device):
    return tg.tensor([0, 2, -100, 1], dtype=tg.int64, device=device)


# name -> (function, input makers); one line per primitive family
CASES = {
    "exp": (lambda x: x.exp(), [(3, 2)]),
    "log": (lambda x: x.log(), ["pos"]),
    "sqrt": (lambda x: x.sqrt(), ["pos"]),
    "abs_neg": (lambda x: (-x).abs() * x, [(3, 2)]),
    "sin_cos": (lambda x: x.sin() * x.cos(), [(3, 2)]),
    "erf": (lambda x: x.erf(), [(3, 2)]),
    "add_sub_broadcast": (lambda a, b: (a + b) * (a - b), [(3, 2), (2,)]),
    "mul_div": (lambda a, b: a * b / (b * b + 1.0), [(3, 2), (3, 2)]),
    "pow_tensor": (lambda a, b: a**b, ["pos", "pos"]),
    "maximum": (lambda a, b: tg.maximum(a, b) * a, [(3, 2), (3, 2)]),
    "scalar_ops": (lambda x: (2.0 / x) + x**3 - 1.0 + x * 2 + x / 3, ["pos"]),
    "rpow": (lambda x: 2.0**x, [(3, 2)]),
    "clamp": (lambda x: x.clamp(-0.5, 0.5) * x, [(3, 2)]),
    "tanh": (lambda x: x.tanh(), [(3, 2)]),
    "sigmoid": (lambda x: x.sigmoid(), [(3, 2)]),
    "relu": (lambda x: x.relu() * x, [(3, 2)]),
    "gelu": (lambda x: tg.gelu(x), [(3, 2)]),
    "gelu_tanh": (lambda x: tg.gelu(x, approximate="tanh"), [(3, 2)]),
    "silu": (lambda x: tg.silu(x), [(3, 2)]),
    "softmax": (lambda x: x.softmax(-1), [(3, 4)]),
    "log_softmax": (lambda x: x.log_softmax(0), [(3, 4)]),
    "sum_mean": (lambda x: x.sum(0) * x.mean(1).sum(), [(3, 2)]),
    "var": (lambda x: x.var(-1), [(3, 4)]),
    "max_dim": (lambda x: x.max(1).values ** 2, [(3, 4)]),
    "logsumexp": (lambda x: x.logsumexp(-1), [(3, 4)]),
    "movement": (lambda x: x.reshape(2, 3).T.unsqueeze(0).expand(2, 3, 2) ** 2, [(3, 2)]),
    "slicing": (lambda x: x[1:, ::2] ** 3, [(3, 4)]),
    "cat_stack_split": (
        lambda a, b: tg.cat([a, b], 0).split(2)[1] ** 2 + tg.stack([a, a], 0).sum(0)[0],
        [(2, 3), (2, 3)],
    ),
    "pad": (lambda x: tg.pad(x, (1, 2)) ** 2, [(2, 2)]),
    "gather": (lambda x: x[tg.tensor([2, 0, 2], device=x.device)] ** 2, [(3, 2)]),
    "where": (lambda x: tg.where(x > 0, x * x, x * 3), [(3, 2)]),
    "masked_fill": (lambda x: x.masked_fill(x > 0.5, 0.0) ** 2, [(3, 2)]),
    "matmul": (lambda a, b: (a @ b) ** 2, [(2, 3, 4), (2, 4, 2)]),
    "linear": (lambda x, w, b: tg.linear(x, w, b).tanh(), [(2, 3, 4), (2, 4), (2,)]),
    "layer_norm": (lambda x, w, b: tg.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)]),
    "attention": (
        lambda q, k, v: tg.scaled_dot_product_attention(q, k, v, is_causal=True),
        [(1, 2, 3, 2), (1, 2, 3, 2), (1, 2, 3, 2)],
    ),
    "mse": (lambda a, b: ((a - b) ** 2).mean(), [(3, 2), (3, 2)]),
    "cross_entropy": (lambda x: tg.cross_entropy(x, _targets(x.device)), [(4, 3)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivatives_match_finite_differences(name, device):
    fn, specs = CASES[name]
    inputs = [_pos((3, 2), device) if s == "pos" else _t(s, device) for s in specs]
    assert gradgradcheck(fn, inputs, atol=1e-5, rtol=1e-4)


class _Square(Function):
    """x * x with a correct first derivative whose recorded formula forgets that it
    depends on x (the classic double-backward bug: a saved value used as a constant)."""

    def forward(self, x):
        self.save_for_backward(x)
        return A.binary("mul", x, x)

    def backward(self, grad):
        (x,) = self.saved
        return A.binary("mul", grad, A.scalar("mul", x, 2.0))


@formula(_Square)
def _square_detached(node, g):
    return g * node.parents[0].detach() * 2.0


def test_a_wrong_second_derivative_is_caught(device):
    x = _t((3,), device)
    assert tg.autograd.gradcheck(_Square.apply, [x])  # the first derivative is right
    with pytest.raises(AssertionError, match="finite"):
        gradgradcheck(_Square.apply, [x])


def test_backward_create_graph_gives_grad_with_a_graph(device):
    x = _t((3,), device)
    (x**3).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None
    (hessian_diag,) = tg.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(hessian_diag.numpy(), 6 * x.detach().numpy())


def test_third_derivative(device):
    x = _t((4,), device)
    (d1,) = tg.autograd.grad(x.sin().sum(), x, create_graph=True)
    (d2,) = tg.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = tg.autograd.grad(d2.sum(), x)
    np.testing.assert_allclose(d3.numpy(), -np.cos(x.detach().numpy()), rtol=1e-12)


def test_gradient_penalty_trains_through_the_gradient(device):
    """WGAN-GP style: a loss on |d out / d x| gives parameters a gradient."""
    w = _t((3, 1), device)
    x = _t((5, 3), device)
    (gx,) = tg.autograd.grad((x @ w).tanh().sum(), x, create_graph=True)
    penalty = ((gx * gx).sum(1).sqrt() - 1.0).pow(2).mean()
    penalty.backward()
    assert w.grad is not None and np.all(np.isfinite(w.grad.numpy()))


def test_hessian_vector_product_with_a_grad_output_that_needs_grad(device):
    x = _t((3,), device)
    v = tg.tensor([1.0, -2.0, 0.5], dtype=tg.float64, device=device)
    (g,) = tg.autograd.grad((x**4).sum(), x, create_graph=True)
    (hv,) = tg.autograd.grad(g, x, grad_outputs=v)
    np.testing.assert_allclose(hv.numpy(), 12 * x.detach().numpy() ** 2 * v.numpy())


class _Twice(Function):
    """A primitive with only the NDArray backward (no formula registered)."""

    def forward(self, x):
        return A.scalar("mul", x, 2.0)

    def backward(self, grad):
        return A.scalar("mul", grad, 2.0)


def test_an_op_without_a_differentiable_backward_names_itself(device):
    x = _t((3,), device)
    (g,) = tg.autograd.grad(_Twice.apply(x).sum(), x)  # a plain backward works
    assert g.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(NotImplementedError, match="_Twice has no differentiable backward"):
        tg.autograd.grad(_Twice.apply(x).sum(), x, create_graph=True)


def test_in_place_change_of_an_input_is_refused(device):
    x = _t((3,), device)
    h = x * 1.0
    y = h.sin()  # sin's formula reads its input
    h.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified"):
        tg.autograd.grad(y.sum(), x, create_graph=True)


def test_an_op_that_saved_its_output_ignores_later_changes_of_its_input(device):
    # as in PyTorch: exp differentiates through its saved output, so its input may change
    x = _t((3,), device)
    h = x * 1.0
    y = h.exp()
    h.mul_(2.0)
    (g,) = tg.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), np.exp(x.detach().numpy()), rtol=1e-12)
    (gg,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), np.exp(x.detach().numpy()), rtol=1e-12)


@pytest.mark.oracle
def test_second_derivatives_match_pytorch(device):
    torch = pytest.importorskip("torch")
    x_np = RNG.uniform(-1, 1, size=(4, 3))
    w_np = RNG.uniform(-1, 1, size=(3, 3))
    targets = [0, 2, 1, 1]

    def ours():
        x = tg.tensor(x_np, dtype=tg.float64, device=device, requires_grad=True)
        w = tg.tensor(w_np, dtype=tg.float64, device=device, requires_grad=True)
        logits = tg.gelu(tg.layer_norm(x @ w, (3,))).softmax(-1) * 3.0
        loss = tg.cross_entropy(logits, tg.tensor(targets, device=device))
        (gw,) = tg.autograd.grad(loss, w, create_graph=True)
        (gx,) = tg.autograd.grad((gw * gw).sum(), x)
        return gx.numpy()

    def theirs():
        x = torch.tensor(x_np, requires_grad=True)
        w = torch.tensor(w_np, requires_grad=True)
        h = torch.nn.functional.layer_norm(x @ w, (3,))
        logits = torch.nn.functional.gelu(h).softmax(-1) * 3.0
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(targets))
        (gw,) = torch.autograd.grad(loss, w, create_graph=True)
        (gx,) = torch.autograd.grad((gw * gw).sum(), x)
        return gx.numpy()

    np.testing.assert_allclose(ours(), theirs(), rtol=1e-7, atol=1e-12)


def _write_view(x):
    h = x * x
    h[1:].mul_(3.0)  # an in-place write into a non-leaf through a view (WriteView)
    return h.exp()


SPATIAL = {
    "conv2d": (lambda x, w: tg.conv2d(x, w, padding=1, stride=2), [(2, 2, 4, 4), (3, 2, 3, 3)]),
    "conv2d_groups": (lambda x, w: tg.conv2d(x, w, groups=2) ** 2, [(1, 4, 3, 3), (2, 2, 2, 2)]),
    "unfold": (lambda x: tg.unfold(x, 2, stride=1) ** 2, [(1, 2, 3, 3)]),
    "floor": (lambda x: tg.floor(x * 3) * x**2, [(3, 2)]),
    "scatter_add": (
        lambda x, s: tg.scatter_add(x, 0, tg.tensor([[0, 1], [0, 0]], device=x.device), s) ** 2,
        [(2, 2), (2, 2)],
    ),
    "write_through_a_view": (lambda x: _write_view(x), [(3, 2)]),
    "max_pool2d": (lambda x: tg.max_pool2d(x, 2) ** 2, [(1, 2, 4, 4)]),
}


@pytest.mark.parametrize("name", sorted(SPATIAL))
def test_second_derivatives_of_convolution_and_pooling(name, device):
    fn, specs = SPATIAL[name]
    inputs = [_t(s, device) for s in specs]
    assert gradgradcheck(fn, inputs, atol=1e-5, rtol=1e-4)
