"""PyTorch-style custom autograd functions (staticmethod forward/backward with a ctx):
gradients against NumPy and float64 finite differences (gradcheck / gradgradcheck)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.autograd import Function
from tinygpt.autograd.function import once_differentiable

X = np.array([[0.1, 0.5, -0.3], [0.7, -0.2, 0.4]])


class MyExp(Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y


class ScaledMul(Function):
    @staticmethod
    def forward(ctx, a, b, scale):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return a * b * scale

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = grad * b * ctx.scale if ctx.needs_input_grad[0] else None
        gb = grad * a * ctx.scale if ctx.needs_input_grad[1] else None
        return ga, gb, None


class TwoOutputs(Function):
    @staticmethod
    def forward(ctx, x):
        index = x.argmax(dim=1)
        ctx.mark_non_differentiable(index)
        return x * 2, x * x, index

    @staticmethod
    def backward(ctx, g_double, g_square, g_index):
        return g_double * 2 + g_square * 0  # g_square is materialized zeros when unused


class Cube(Function):
    @staticmethod
    def forward(x):
        return x**3

    @staticmethod
    def setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x**2


class Frozen(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x


class TooFew(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad


def _x(device, dtype=tg.float64):
    return tg.tensor(X, dtype=dtype, device=device, requires_grad=True)


def test_exp_first_and_second_derivatives(device):
    x = _x(device)
    y = MyExp.apply(x)
    assert repr(y.grad_fn) == "<MyExpBackward>" and y.grad_fn.name() == "MyExpBackward"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.tolist(), np.exp(X), rtol=1e-12)
    assert tg.autograd.gradcheck(MyExp.apply, [_x(device)])
    assert tg.autograd.gradgradcheck(MyExp.apply, [_x(device)])


def test_non_tensor_arguments_and_needs_input_grad(device):
    a = _x(device)
    b = tg.tensor(X[::-1].copy(), dtype=tg.float64, device=device)  # needs no grad
    ScaledMul.apply(a, b, 0.5).sum().backward()
    np.testing.assert_allclose(a.grad.tolist(), 0.5 * X[::-1], rtol=1e-12)
    assert b.grad is None
    assert tg.autograd.gradcheck(lambda p, q: ScaledMul.apply(p, q, 3.0), [_x(device), _x(device)])


def test_several_outputs_non_differentiable_and_materialized(device):
    x = _x(device)
    double, square, index = TwoOutputs.apply(x)
    assert double.requires_grad and square.requires_grad
    assert not index.requires_grad and index.tolist() == [1, 0]
    double.sum().backward()  # square gets no gradient: backward sees zeros, not None
    np.testing.assert_allclose(x.grad.tolist(), np.full_like(X, 2.0))


def test_setup_context_style(device):
    x = _x(device)
    (g,) = tg.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.tolist(), 3 * X**2, rtol=1e-12)
    g.sum().backward()
    np.testing.assert_allclose(x.grad.tolist(), 6 * X, rtol=1e-12)


def test_once_differentiable(device):
    x = _x(device)
    Frozen.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.tolist(), 2 * X, rtol=1e-12)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        tg.autograd.grad(Frozen.apply(x).sum(), x, create_graph=True)


def test_errors_and_no_grad(device):
    a, b = _x(device), _x(device)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        TooFew.apply(a, b).sum().backward()
    with tg.no_grad():
        assert not MyExp.apply(a).requires_grad
    plain = tg.tensor(X, device=device)
    assert MyExp.apply(plain).grad_fn is None  # nothing to differentiate: no node recorded
    y = MyExp.apply(a)
    y.sum().backward()
    with pytest.raises(RuntimeError):
        y.sum().backward()  # the graph (and the saved tensors) went with the first backward


def test_anomaly_names_the_custom_function(device):
    class Broken(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            return grad * float("nan")

    x = _x(device)
    with tg.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="Function 'BrokenBackward' returned nan"):
            Broken.apply(x).sum().backward()
