"""`torch.autograd` helpers run as written with `tinygpt` and compared with torch:
autograd.functional, Variable, backward(tensors), custom Functions and anomaly detection
(split from test_pytorch_idioms_optim_data.py to keep files small)."""

from __future__ import annotations

import pytest
from idiom_harness import IDIOM_DEVICES, idiom, params, ramp

pytestmark = pytest.mark.oracle


# ------------------------------------------------------------------ autograd
@idiom
def autograd_functional(torch, nn, F, optim):
    AF = torch.autograd.functional
    x = ramp(torch, 2, 3)
    y = ramp(torch, 3, 2) + 1

    def f(a, b):
        return (a @ b).tanh()

    def scalar(a, b):
        return ((a @ b) ** 2).sum() + (a**3).sum()

    return [
        AF.jacobian(lambda a: (a * a).sin(), x),
        AF.jacobian(f, (x, y)),
        AF.hessian(scalar, (x, y)),
        AF.vjp(lambda a: f(a, y), x, torch.ones(2, 2)),
        AF.jvp(lambda a: f(a, y), x, torch.ones(2, 3)),
        AF.vhp(scalar, (x, y), (x, y)),
        AF.hvp(scalar, (x, y), (x, y)),
    ]


@idiom
def autograd_variable(torch, nn, F, optim):
    from_autograd = torch.autograd
    t = torch.ones(2)
    v = from_autograd.Variable(t, requires_grad=True)
    (v * 3).sum().backward()
    return [
        v.grad,
        v.requires_grad,
        t.requires_grad,
        v.is_leaf,
        isinstance(t, from_autograd.Variable),
    ]


@idiom
def autograd_backward_function(torch, nn, F, optim):
    x = ramp(torch, 2, 3).requires_grad_()
    y = torch.ones(3, requires_grad=True)
    torch.autograd.backward([(x * x).sum(), x @ y], [None, torch.ones(2)])
    first = [x.grad.clone(), y.grad.clone()]
    torch.autograd.backward((x * y).sum(), inputs=[y])
    return [first, x.grad, y.grad]


@idiom
def custom_autograd_functions(torch, nn, F, optim):
    Function = torch.autograd.Function

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

    class SplitMax(Function):
        @staticmethod
        def forward(ctx, x):
            index = x.argmax(dim=1)
            ctx.mark_non_differentiable(index)
            return x * 2, x * 3, index

        @staticmethod
        def backward(ctx, g2, g3, g_index):
            return g2 * 2 + g3 * 3

    class Cube(Function):
        @staticmethod
        def forward(x):
            return x**3

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x**2

    x = ramp(torch, 2, 3).requires_grad_()
    b = ramp(torch, 2, 3) + 2
    out = []
    y = MyExp.apply(x)
    y.sum().backward()
    out += [y, x.grad.clone(), y.grad_fn.name()]
    x.grad = None
    (g,) = torch.autograd.grad(MyExp.apply(x).sum(), x, create_graph=True)
    g.sum().backward()
    out.append(x.grad.clone())
    x.grad = None
    ScaledMul.apply(x, b, 0.5).sum().backward()
    out.append(x.grad.clone())
    x.grad = None
    two, three, index = SplitMax.apply(x)
    two.sum().backward()
    out += [x.grad.clone(), index, three.requires_grad]
    x.grad = None
    (g,) = torch.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    g.sum().backward()
    out += [g, x.grad]
    return out


@idiom(raises=RuntimeError)
def detect_anomaly_raises_on_nan(torch, nn, F, optim):
    x = torch.tensor([0.0, 1.0], requires_grad=True)
    with torch.autograd.detect_anomaly():
        (x * x.log()).sum().backward()


@idiom
def detect_anomaly_lets_inf_through(torch, nn, F, optim):
    x = torch.tensor([0.0, 1.0], requires_grad=True)
    with torch.autograd.detect_anomaly():
        x.sqrt().sum().backward()
    return [x.grad]


@idiom
def set_detect_anomaly_toggles(torch, nn, F, optim):
    x = torch.tensor([0.0, 1.0], requires_grad=True)
    torch.autograd.set_detect_anomaly(True)
    try:
        (x * x.log()).sum().backward()
        raised = False
    except RuntimeError:
        raised = True
    torch.autograd.anomaly_mode.set_detect_anomaly(False)
    x.grad = None
    (x * x.log()).sum().backward()  # off again: no error, a nan gradient
    return [raised, x.grad]


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
