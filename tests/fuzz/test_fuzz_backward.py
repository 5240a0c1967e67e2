"""Backward fuzzing: autograd against float64 central finite differences, on every backend.

Each case builds float64 leaves (small: finite differences cost two forward passes per
element), takes a random *view* of them inside the function (so the movement ops' backward
runs too), applies the op and compares `tg.autograd.gradcheck`'s two gradients. Values are
tie-free and away from kinks ("distinct"), or positive where the op needs it (log, sqrt).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from fuzz_profiles import fuzz_settings
from harness import COUNTS, KNOWN_HITS, Case, FuzzFailure, settle, tick
from hypothesis import given
from hypothesis import strategies as st
from strategies import broadcastable_shapes, operands, shapes

import tinygpt as tg

pytestmark = [pytest.mark.fuzz, pytest.mark.filterwarnings("ignore::RuntimeWarning")]
MAX_BASE = 24  # elements per leaf

UNARY = {
    "neg": lambda x: -x,
    "abs": lambda x: x.abs(),
    "exp": lambda x: x.exp(),
    "log": lambda x: x.log(),
    "sqrt": lambda x: x.sqrt(),
    "rsqrt": lambda x: x.rsqrt(),
    "sin": lambda x: x.sin(),
    "cos": lambda x: x.cos(),
    "erf": lambda x: x.erf(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: x.relu(),
    "silu": lambda x: x.silu(),
    "gelu": lambda x: x.gelu(),
    "gelu_tanh": lambda x: x.gelu("tanh"),
    "square": lambda x: x * x,
    "clamp": lambda x: x.clamp(-0.5, 0.6),
    "softmax": lambda x: x.softmax(-1),
    "log_softmax": lambda x: x.log_softmax(0),
    "pow_scalar": lambda x: x**3,
    "rpow_scalar": lambda x: 2.0**x,
    "div_scalar": lambda x: 1.5 / x,
}
POSITIVE = {"log", "sqrt", "rsqrt", "div_scalar"}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "maximum": lambda a, b: tg.maximum(a, b),
    "minimum": lambda a, b: tg.minimum(a, b),
    "matmul": lambda a, b: a @ b,
}


def grad_check(op: str, fn, leaves, device: str, note: str = "") -> None:
    """gradcheck `fn` at `leaves` (Operands) on `device`; a mismatch is a FuzzFailure."""
    import known

    tick()
    case = Case(op, fn, leaves, note=note)
    entry = known.match(case, device)
    if entry is not None and entry.crash:
        KNOWN_HITS[entry.key] += 1
        return
    COUNTS[device] += 1
    inputs = [tg.tensor(o.base, device=device, requires_grad=True) for o in leaves]

    def through_views(*bases):
        return fn(*[o.view.apply_tg(b) for o, b in zip(leaves, bases)])

    try:
        tg.autograd.gradcheck(through_views, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)
    except Exception as error:  # noqa: BLE001 - every error is a finding, with its reproducer
        failure = FuzzFailure(f"{device}: backward of {op} is wrong\n{case.describe()}\n{error}")
        settle(case, device, failure, entry)


def _leaf(data, shape, style="distinct", broadcast=True):
    return data.draw(operands(shape, "float64", style, broadcast=broadcast, max_base=MAX_BASE))


def _small(min_dims=0, max_dims=3):
    """Small shapes with no empty dim: finite differences of an empty output say nothing."""
    return shapes(min_dims, max_dims, max_side=3, empty=False)


@pytest.mark.parametrize("op", sorted(UNARY))
@fuzz_settings()
@given(data=st.data())
def test_unary_backward(device, op, data):
    shape = data.draw(_small(1 if "softmax" in op else 0))
    x = _leaf(data, shape, "positive" if op in POSITIVE else "distinct")
    grad_check(op, UNARY[op], [x], device)


@pytest.mark.parametrize("op", sorted(BINARY))
@fuzz_settings()
@given(data=st.data())
def test_binary_backward(device, op, data):
    if op == "matmul":
        m, k, n = (data.draw(st.integers(1, 3)) for _ in range(3))
        shapes_ab = data.draw(
            st.sampled_from(
                [
                    ((k,), (k,)),
                    ((m, k), (k,)),
                    ((k,), (k, n)),
                    ((m, k), (k, n)),
                    ((2, m, k), (k, n)),
                ]
            )
        )
    else:
        shapes_ab, _ = data.draw(broadcastable_shapes(2, max_dims=3))
        shapes_ab = tuple(tuple(min(d, 3) for d in s) for s in shapes_ab)  # still broadcast
    # NOTE: ties make maximum/minimum non-differentiable: no stride-0 copies of a value
    tie_free = op in ("maximum", "minimum")
    a = _leaf(data, shapes_ab[0], "positive" if op == "pow" else "distinct", not tie_free)
    b = _leaf(data, shapes_ab[1], "positive" if op == "div" else "distinct", not tie_free)
    grad_check(op, BINARY[op], [a, b], device)


@pytest.mark.parametrize("op", ["sum", "mean", "var", "std", "amax", "max_dim", "logsumexp"])
@fuzz_settings()
@given(data=st.data())
def test_reduction_backward(device, op, data):
    shape = data.draw(_small(1))
    ndim = len(shape)
    x = _leaf(data, shape, broadcast=op not in ("amax", "max_dim"))
    keepdim = data.draw(st.booleans())
    dims = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    dim = tuple(dims) if op != "max_dim" else dims[0]
    if op in ("var", "std") and math.prod(shape[d] for d in dims) < 2:
        dim = None  # fewer than two values: the (correction=1) variance is undefined
        keepdim = False
        if math.prod(shape) < 2:
            return
    fns = {
        "sum": lambda t: t.sum(dim, keepdim),
        "mean": lambda t: t.mean(dim, keepdim),
        "var": lambda t: t.var(dim, keepdim),
        "std": lambda t: t.std(dim, keepdim),
        "amax": lambda t: t.max(dim, keepdim),
        "max_dim": lambda t: t.max(dim, keepdim).values,
        "logsumexp": lambda t: t.logsumexp(dim, keepdim),
    }
    grad_check(op, fns[op], [x], device, note=f"dim={dim}, keepdim={keepdim}")


@fuzz_settings()
@given(data=st.data())
def test_movement_backward(device, data):
    x = _leaf(data, data.draw(_small(1)))
    ndim = len(x.shape)
    form = data.draw(st.sampled_from(["cat", "split", "pad", "getitem", "mask", "where"]))
    dim = data.draw(st.integers(0, ndim - 1))
    weights = np.random.default_rng(0).uniform(0.5, 1.5, 64)

    def weigh(parts):  # split parts, summed with different weights so each grad differs
        return sum(p.sum() * float(w) for p, w in zip(parts, weights))

    rows = (
        np.array(
            data.draw(st.lists(st.integers(-x.shape[0], x.shape[0] - 1), max_size=5)),
            dtype=np.int64,
        )
        if x.shape[0]
        else np.zeros(0, np.int64)
    )
    mask = np.random.default_rng(data.draw(st.integers(0, 99))).random(x.shape) < 0.5
    data_split = data.draw(st.integers(1, 3))
    fns = {
        "cat": lambda t: tg.cat([t, t * 2, t[..., :1]], dim=dim if dim != ndim - 1 else -1),
        "split": lambda t: weigh(t.split(data_split, dim)),
        "pad": lambda t: tg.pad(t, [1, 2] * min(ndim, 2), 0.5),
        "getitem": lambda t: t[tg.tensor(rows, device=device)],  # repeats accumulate
        "mask": lambda t: t[tg.tensor(mask, device=device)],
        "where": lambda t: tg.where(tg.tensor(mask, device=device), t, -t * 3),
    }
    if form == "cat" and dim != ndim - 1:
        fns["cat"] = lambda t: tg.cat([t, t * 2], dim=dim)
    grad_check(form, fns[form], [x], device, note=f"dim={dim}, rows={rows.tolist()}")


@pytest.mark.parametrize("op", ["layer_norm", "cross_entropy", "attention", "conv2d", "pool"])
@fuzz_settings()
@given(data=st.data())
def test_nn_backward(device, op, data):
    if op == "layer_norm":
        x = _leaf(data, data.draw(_small(1)))
        w, b = (_leaf(data, x.shape[-1:], style) for style in ("positive", "distinct"))
        fn = lambda t, wt, bias: tg.layer_norm(t, x.shape[-1:], wt, bias)  # noqa: E731
        return grad_check(op, fn, [x, w, b], device)
    if op == "cross_entropy":
        n, c = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 4))
        target = np.random.default_rng(data.draw(st.integers(0, 99))).integers(0, c, n)
        if n > 1 and data.draw(st.booleans()):
            target[0] = -100  # an ignored row (all ignored: the mean is nan, no gradient)
        smooth = data.draw(st.sampled_from([0.0, 0.1]))

        def fn(t):
            classes = tg.tensor(target, device=device)
            return tg.cross_entropy(t, classes, label_smoothing=smooth)

        note = f"target={target.tolist()}, label_smoothing={smooth}"
        return grad_check(op, fn, [_leaf(data, (n, c))], device, note=note)
    if op == "attention":
        t, e = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2))
        causal = data.draw(st.booleans())
        qkv = [_leaf(data, (1, 1, t, e), "normal") for _ in range(3)]
        fn = lambda *a: tg.scaled_dot_product_attention(*a, is_causal=causal)  # noqa: E731
        return grad_check(op, fn, qkv, device, note=f"is_causal={causal}")
    if op == "conv2d":
        stride, padding = data.draw(st.integers(1, 2)), data.draw(st.integers(0, 1))
        x = _leaf(data, (1, 1, data.draw(st.integers(2, 4)), data.draw(st.integers(2, 4))))
        w = _leaf(data, (2, 1, 2, 2))
        fn = lambda t, wt: tg.conv2d(t, wt, stride=stride, padding=padding)  # noqa: E731
        return grad_check(op, fn, [x, w], device, note=f"stride={stride}, padding={padding}")
    kernel = data.draw(st.integers(1, 2))
    x = _leaf(data, (1, 1, data.draw(st.integers(2, 4)), 4), broadcast=False)
    fn = lambda t: tg.max_pool2d(t, kernel) + tg.avg_pool2d(t, kernel)  # noqa: E731
    grad_check(op, fn, [x], device, note=f"kernel={kernel}")


@pytest.mark.parametrize("op", ["var", "std"])
@fuzz_settings()
@given(data=st.data())
def test_constant_input_gradient_is_finite(device, op, data):
    """var/std of a constant input: not differentiable at the kink, but never nan."""
    import known

    shape = data.draw(_small(1))
    value = data.draw(st.sampled_from([0.0, 1.0, -2.5]))
    x = tg.full(shape, value, dtype=tg.float64, device=device, requires_grad=True)
    getattr(x, op)().backward()
    COUNTS[device] += 1
    grad = np.zeros(shape) if x.grad is None else x.grad.numpy()
    if math.prod(shape) > 1 and not np.all(np.isfinite(grad)):
        case = Case(op, None, [], note=f"constant {value} of shape {shape}")
        failure = FuzzFailure(f"{device}: {op}() of a constant tensor: grad {grad}")
        settle(case, device, failure, known.match(case, device))
