"""Numerical edge cases, one row each, with PyTorch 2.13's answers on every backend.

- float16: Python scalars in +, -, *, / are not rounded to float16 first (PyTorch computes
  `h / 100000.0` in float32 and rounds once), and mean/var/std accumulate in float32;
- float16 inputs keep float32 statistics (cross-entropy's and attention's logsumexp, layer
  norm's mean and rstd), so the backward of large logits stays right;
- logsumexp with infinities; std's gradient on constant input; var/std of empty inputs;
- bool and integer corner cases decided in core (advanced-index writes into bool tensors,
  integer ** negative, abs / sign / neg of bool, full(nan) for integers);
- empty inputs through every kernel family, forward and backward.

Expected values were taken from PyTorch 2.13 (noted where they are not obvious).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn

INF = math.inf
NAN = math.nan


def require_half(device: str) -> None:
    try:
        tg.zeros(1, dtype=tg.float16, device=device)
    except tg.DTypeError as error:
        pytest.skip(f"{device} has no float16: {error}")


def values(t: tg.Tensor) -> np.ndarray:
    return np.asarray(t.tolist(), dtype=np.float64)


def assert_values(got: tg.Tensor, expected, rtol=1e-6, atol=1e-6) -> None:
    np.testing.assert_allclose(values(got), np.asarray(expected, np.float64), rtol, atol)


def half_of(op, a: np.ndarray, c: float) -> np.ndarray:
    """PyTorch's float16 `a op c`: computed in float32 with c unrounded, then rounded once."""
    wide = op(a.astype(np.float32), np.float32(c))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overflow to inf is the expected answer here
        return wide.astype(np.float16).astype(np.float64)


# --- 1. float16: scalars keep their precision, reductions accumulate in float32 ----------------

H = np.array([1.0, 3.0, 1000.0], np.float16)
# fmt: off
HALF_SCALAR_OPS = [
    # name            tinygpt                   reference (float32 op, one rounding)
    ("h / 1e5",       lambda h: h / 100000.0,   lambda a: half_of(np.divide, a, 1e5)),
    ("h * 1e-5",      lambda h: h * 1e-5,       lambda a: half_of(np.multiply, a, 1e-5)),
    ("h + 0.1",       lambda h: h + 0.1,        lambda a: half_of(np.add, a, 0.1)),
    ("h - 1e5",       lambda h: h - 100000.0,   lambda a: half_of(np.subtract, a, 1e5)),
    ("1e5 / h",       lambda h: 100000.0 / h,   lambda a: half_of(lambda x, c: c / x, a, 1e5)),
    ("0.1 - h",       lambda h: 0.1 - h,        lambda a: half_of(lambda x, c: c - x, a, 0.1)),
    ("h * 70000",     lambda h: h * 70000,      lambda a: half_of(np.multiply, a, 70000.0)),
    ("h * 0.5",       lambda h: h * 0.5,        lambda a: a.astype(np.float64) * 0.5),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "fn", "ref"), HALF_SCALAR_OPS, ids=[r[0] for r in HALF_SCALAR_OPS]
)
def test_float16_scalar_ops_round_once(name, fn, ref, device):
    require_half(device)
    out = fn(tg.tensor(H, device=device))
    assert out.dtype == tg.float16
    np.testing.assert_array_equal(values(out), ref(H))


def test_float16_scalar_examples_match_pytorch(device):
    require_half(device)
    h = tg.tensor([1.0, 3.0, 1000.0], dtype=tg.float16, device=device, requires_grad=True)
    out = h / 100000.0
    # PyTorch 2.13: tensor([1.0014e-05, 2.9981e-05, 1.0002e-02], dtype=torch.float16)
    assert_values(out, [1.0014e-05, 2.9981e-05, 1.0002e-02], rtol=1e-4, atol=0)
    out.sum().backward()
    assert_values(h.grad, [1.0014e-05] * 3, rtol=1e-4, atol=0)
    assert h.grad.dtype == tg.float16


# fmt: off
HALF_REDUCTIONS = [
    # name                      tinygpt                                 expected (PyTorch)
    ("mean of 70000 ones",      lambda d: tg.ones(70000, dtype=tg.float16, device=d).mean(), 1.0),
    ("mean over dim",           lambda d: tg.ones(2, 70000, dtype=tg.float16, device=d).mean(1),
                                [1.0, 1.0]),
    ("var of 70000 halves",     lambda d: (tg.ones(70000, dtype=tg.float16, device=d) * 0.5).var(),
                                0.0),
    ("std of 70000 halves",     lambda d: (tg.ones(70000, dtype=tg.float16, device=d) * 0.5).std(),
                                0.0),
    ("var of 0..511",           lambda d: tg.arange(512, device=d).to(tg.float16).var(),
                                512 * 513 / 12),  # its sum of squares overflows float16
    ("sum of 4096 ones",        lambda d: tg.ones(4096, dtype=tg.float16, device=d).sum(), 4096.0),
    ("sum of 70000 ones",       lambda d: tg.ones(70000, dtype=tg.float16, device=d).sum(), INF),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "fn", "expected"), HALF_REDUCTIONS, ids=[r[0] for r in HALF_REDUCTIONS]
)
def test_float16_reductions_accumulate_in_float32(name, fn, expected, device):
    require_half(device)
    out = fn(device)
    assert out.dtype == tg.float16
    assert_values(out, expected, rtol=1e-3)


# --- 2. float16 inputs keep float32 statistics -------------------------------------------------


def test_float16_cross_entropy_keeps_its_logsumexp(device):
    require_half(device)
    logits = tg.tensor([[1e4, 1e4, 1e4]], dtype=tg.float16, device=device, requires_grad=True)
    F.cross_entropy(logits, tg.tensor([0], device=device)).backward()
    # PyTorch 2.13: [[-0.6665, 0.3333, 0.3333]]; a float16 logsumexp gave [[0, 1, 1]]
    assert_values(logits.grad, [[-2 / 3, 1 / 3, 1 / 3]], atol=1e-3)


def test_float16_layer_norm_keeps_its_mean(device):
    require_half(device)
    # mean 2051 is not a float16 (the spacing at 2048 is 2): rounded, it shifts every xhat
    data = np.array([2048.0, 2050.0, 2052.0, 2054.0])
    x = tg.tensor(data, dtype=tg.float16, device=device, requires_grad=True)
    F.layer_norm(x, (4,)).backward(tg.tensor([1.0, 0, 0, 0], dtype=tg.float16, device=device))
    x64 = tg.tensor(data, dtype=tg.float64, requires_grad=True)
    F.layer_norm(x64, (4,)).backward(tg.tensor([1.0, 0, 0, 0], dtype=tg.float64))
    assert_values(x.grad, values(x64.grad), atol=2e-3)  # [0.134, -0.179, -0.045, 0.089]


def test_float16_attention_keeps_its_logsumexp(device):
    require_half(device)

    def leaf(rows):
        return tg.tensor([[rows]], dtype=tg.float16, device=device, requires_grad=True)

    q, k, v = leaf([[100.0]]), leaf([[100.0], [100.0]]), leaf([[1.0], [2.0]])
    # scores 1e4 each: lse = 1e4 + log 2, which float16 rounds to 1e4 (p = 1 instead of 0.5)
    out = F.scaled_dot_product_attention(q, k, v, scale=1.0)
    out.sum().backward()
    # PyTorch 2.13: out 1.5, v.grad [0.5, 0.5], k.grad [-25, 25], q.grad 0
    assert_values(out, [[[[1.5]]]], atol=1e-3)
    assert_values(v.grad, [[[[0.5], [0.5]]]], atol=1e-3)
    assert_values(k.grad, [[[[-25.0], [25.0]]]], atol=0.05)


# --- 3. logsumexp with infinities --------------------------------------------------------------

# fmt: off
LOGSUMEXP = [
    # name           rows                                  expected (PyTorch)
    ("inf wins",     [[INF, 0.0]],                         [INF]),
    ("all -inf",     [[-INF, -INF]],                       [-INF]),
    ("inf, -inf",    [[INF, -INF]],                        [INF]),
    ("inf, inf",     [[INF, INF]],                         [INF]),
    ("nan",          [[NAN, INF]],                         [NAN]),
    ("finite",       [[1.0, 2.0]],                         [2.0 + math.log1p(math.exp(-1.0))]),
    ("mixed rows",   [[INF, 1.0], [-INF, -INF], [0.0, 0.0]], [INF, -INF, math.log(2.0)]),
]
# fmt: on


@pytest.mark.parametrize(("name", "rows", "expected"), LOGSUMEXP, ids=[r[0] for r in LOGSUMEXP])
def test_logsumexp_infinities(name, rows, expected, device):
    x = tg.tensor(rows, device=device)
    assert_values(x.logsumexp(1), expected)
    assert_values(x.logsumexp(1, keepdim=True), [[e] for e in expected])


def test_logsumexp_of_nothing_is_minus_inf(device):
    x = tg.zeros(2, 0, device=device, requires_grad=True)
    out = x.logsumexp(1)
    assert_values(out, [-INF, -INF])
    out.sum().backward()
    assert x.grad.shape == (2, 0)


@pytest.mark.parametrize("path", ["fused", "composite"])
def test_cross_entropy_with_infinite_logits(path, device, monkeypatch):
    if path == "composite":
        monkeypatch.setattr(tg.get_backend(device), "fused_ops", frozenset())
    logits = tg.tensor([[INF, 0.0], [-INF, 0.0], [-INF, 0.0]], device=device, requires_grad=True)
    loss = F.cross_entropy(logits, tg.tensor([1, 0, 1], device=device), reduction="none")
    loss.sum().backward()
    # PyTorch 2.13 (nll of log_softmax): nan, inf and 0; gradients nan, [-1, 1] and 0
    assert_values(loss, [NAN, INF, 0.0])
    assert_values(logits.grad, [[NAN, NAN], [-1.0, 1.0], [0.0, 0.0]])


# --- 4. var and std: constant and empty inputs -------------------------------------------------

# fmt: off
VAR_STD = [
    # name                    tinygpt (x: float32 tensor)             input         expected
    ("var of nothing",        lambda x: x.var(),                      [],           NAN),
    ("std of nothing",        lambda x: x.std(),                      [],           NAN),
    ("var of nothing, c=0",   lambda x: x.var(correction=0),          [],           NAN),
    ("var of one",            lambda x: x.var(),                      [3.0],        NAN),
    ("var of one, c=0",       lambda x: x.var(correction=0),          [3.0],        0.0),
    ("var, c > N, spread",    lambda x: x.var(correction=3),          [1.0, 2.0],   INF),
    ("var, c > N, constant",  lambda x: x.var(correction=3),          [1.0, 1.0],   NAN),
    ("std of a constant",     lambda x: x.std(),                      [2.0] * 3,    0.0),
    ("var over an empty dim", lambda x: x.reshape(2, 0).var(1),       [],           [NAN, NAN]),
]
# fmt: on


@pytest.mark.parametrize(("name", "fn", "data", "expected"), VAR_STD, ids=[r[0] for r in VAR_STD])
def test_var_std_edge_values(name, fn, data, expected, device):
    assert_values(fn(tg.tensor(data, dtype=tg.float32, device=device)), expected)


# fmt: off
STD_GRADIENTS = [
    # name              call                            input              expected grad
    ("constant",        lambda x: x.std(),              [[2.0, 2.0, 2.0]], [[0.0] * 3]),
    ("constant rows",   lambda x: x.std(1).sum(),       [[1.0] * 3] * 2,   [[0.0] * 3] * 2),
    ("one element",     lambda x: x.std(),              [[1.0]],           [[NAN]]),
    ("correction 0",    lambda x: x.std(correction=0),  [[1.0, 2.0, 3.0]],
                        [[-1 / math.sqrt(6), 0.0, 1 / math.sqrt(6)]]),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "fn", "data", "expected"), STD_GRADIENTS, ids=[r[0] for r in STD_GRADIENTS]
)
def test_std_gradient(name, fn, data, expected, device):
    x = tg.tensor(data, device=device, requires_grad=True)
    fn(x).backward()
    assert_values(x.grad, expected)


# --- 5 and 6. bool and integer semantics, decided in core --------------------------------------


@pytest.mark.parametrize(
    "index",
    [
        lambda d: tg.tensor([True, False, True], device=d),
        lambda d: tg.tensor([0, 2], device=d),
        lambda d: tg.tensor([2, 0, 2], device=d),
    ],
    ids=["mask", "int index", "repeated index"],
)
def test_advanced_index_write_into_bool(index, device):
    x = tg.zeros(3, dtype=tg.bool, device=device)
    x[index(device)] = True
    assert x.tolist() == [True, False, True]
    x[index(device)] = False
    assert x.tolist() == [False, False, False]


# fmt: off
INT_POWERS = [
    # name              base                  exponent                expected (PyTorch)
    ("tensor ** tensor", [0, 1, -1, 2, -2, 3], [-1, -3, -3, -1, -1, 2], [0, 1, -1, 0, 0, 9]),
    ("zero exponent",   [0, -2],              [0, 0],                 [1, 1]),
    ("even exponent",   [-1, -1],             [-2, 2],                [1, 1]),
    ("2 ** tensor",     2,                    [-1, 0, 3],             [0, 1, 8]),
    ("1 ** tensor",     1,                    [-5, 5],                [1, 1]),
    ("tensor ** 2",     [-3, 4],              2,                      [9, 16]),
    ("tensor ** 0",     [-3, 0],              0,                      [1, 1]),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "base", "exponent", "expected"), INT_POWERS, ids=[r[0] for r in INT_POWERS]
)
def test_integer_powers(name, base, exponent, expected, device):
    def operand(value):
        return tg.tensor(value, device=device) if isinstance(value, list) else value

    out = operand(base) ** operand(exponent)
    assert out.dtype == tg.int64
    assert out.tolist() == expected


DTYPE = tg.DTypeError
SHAPE = tg.ShapeError


def ints(device, dtype=tg.int64):
    return tg.tensor([1, 2], dtype=dtype, device=device)


def full(device, value, dtype):
    return tg.full((2,), value, dtype=dtype, device=device)


# fmt: off
CORE_ERRORS = [
    # name                   call                                       error  message
    ("int ** -1",            lambda d: ints(d) ** -1,                   DTYPE, "negative integer"),
    ("int32 ** -2",          lambda d: ints(d, tg.int32) ** -2,         DTYPE, "negative integer"),
    ("bool ** -1",           lambda d: ints(d, tg.bool) ** -1,          DTYPE, "negative integer"),
    ("abs(bool)",            lambda d: ints(d, tg.bool).abs(),          DTYPE, "abs"),
    ("-bool",                lambda d: -ints(d, tg.bool),               DTYPE, "logical_not"),
    ("full(nan, int64)",     lambda d: full(d, NAN, tg.int64),          DTYPE, "NaN to integer"),
    ("full(inf, int32)",     lambda d: full(d, INF, tg.int32),          DTYPE, "infinity to int"),
    ("full(2**40, int32)",   lambda d: full(d, 2**40, tg.int32),        DTYPE, "out of range"),
    ("int64 + 2**70",        lambda d: ints(d) + 2**70,                 DTYPE, "out of range"),
    ("int64 == 2**70",       lambda d: ints(d) == 2**70,                DTYPE, "out of range"),
    ("float32 + 2**1100",    lambda d: ints(d, tg.float32) + 2**1100,   DTYPE, "out of range"),
    ("int fill_(nan)",       lambda d: ints(d).fill_(NAN),              DTYPE, "NaN to integer"),
    ("int masked_fill(nan)", lambda d: ints(d).masked_fill(ints(d) > 1, NAN), DTYPE, "NaN"),
    ("max of nothing",       lambda d: tg.zeros(0, device=d).max(),     SHAPE, "empty dim"),
    ("argmax over empty",    lambda d: tg.zeros(2, 0, device=d).argmax(1), SHAPE, "empty dim"),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "call", "error", "message"), CORE_ERRORS, ids=[r[0] for r in CORE_ERRORS]
)
def test_typed_errors_before_any_kernel(name, call, error, message, device):
    with pytest.raises(error, match=message):
        call(device)


def test_sign_of_bool_is_bool(device):
    out = tg.tensor([True, False], device=device).sign()
    assert out.dtype == tg.bool
    assert out.tolist() == [True, False]


def test_bool_arithmetic_promotes_like_pytorch(device):
    assert (tg.tensor([True, False], device=device) ** 2).tolist() == [1, 0]
    assert tg.full((2,), 2.7, dtype=tg.int64, device=device).tolist() == [2, 2]  # truncates
    assert tg.full((1,), NAN, dtype=tg.bool, device=device).tolist() == [True]


# --- 7. empty inputs through every kernel family -----------------------------------------------


def _grad_shape(fn, shape, device):
    """Run fn on zeros of `shape` (requires grad), backward from its sum; x.grad's shape."""
    x = tg.zeros(*shape, device=device, requires_grad=True)
    out = fn(x)
    out.sum().backward()
    assert x.grad is not None
    return tuple(x.grad.shape), out


# fmt: off
EMPTY_FORWARD_BACKWARD = [
    # name                       fn                                              input shape
    ("layer_norm (2, 0, 4)",     lambda x: F.layer_norm(x, (4,)),                (2, 0, 4)),
    ("layer_norm (2, 3, 0)",     lambda x: F.layer_norm(x, (0,)),                (2, 3, 0)),
    ("softmax (2, 3, 0)",        lambda x: x.softmax(-1),                        (2, 3, 0)),
    ("softmax (2, 0, 4)",        lambda x: x.softmax(-1),                        (2, 0, 4)),
    ("log_softmax (2, 3, 0)",    lambda x: x.log_softmax(-1),                    (2, 3, 0)),
    ("log_softmax (0, 5) dim 0", lambda x: x.log_softmax(0),                     (0, 5)),
    ("logsumexp (2, 0, 4)",      lambda x: x.logsumexp(-1),                      (2, 0, 4)),
    ("sum (2, 0, 3)",            lambda x: x.sum(-1),                            (2, 0, 3)),
    ("mean (2, 0, 4)",           lambda x: x.mean(-1),                           (2, 0, 4)),
    ("max (2, 0, 4) dim -1",     lambda x: x.max(-1).values,                     (2, 0, 4)),
    ("min (0, 3) dim 1",         lambda x: x.min(1).values,                      (0, 3)),
    ("gelu (2, 0, 3)",           lambda x: F.gelu(x),                            (2, 0, 3)),
    ("gelu tanh (2, 0, 3)",      lambda x: F.gelu(x, approximate="tanh"),        (2, 0, 3)),
    ("attention T = 0",          lambda x: F.scaled_dot_product_attention(x, x, x, is_causal=True),
                                                                                 (1, 2, 0, 4)),
    ("attention D = 0",          lambda x: F.scaled_dot_product_attention(x, x, x), (1, 2, 3, 0)),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "fn", "shape"), EMPTY_FORWARD_BACKWARD, ids=[r[0] for r in EMPTY_FORWARD_BACKWARD]
)
def test_empty_inputs_forward_and_backward(name, fn, shape, device):
    grad_shape, out = _grad_shape(fn, shape, device)
    assert grad_shape == shape
    assert out.numel() == 0


def test_sum_over_an_empty_dim_is_zero(device):
    grad_shape, out = _grad_shape(lambda x: x.sum(-1), (2, 3, 0), device)
    assert grad_shape == (2, 3, 0)
    assert out.tolist() == [[0.0] * 3] * 2


def test_layer_norm_module_on_no_rows(device):
    layer = nn.LayerNorm(4).to(device)
    x = tg.zeros(2, 0, 4, device=device, requires_grad=True)
    y = layer(x)
    y.sum().backward()
    assert y.shape == (2, 0, 4)
    assert x.grad.shape == (2, 0, 4)
    assert layer.weight.grad.tolist() == [0.0] * 4  # PyTorch: a sum over no rows
    assert layer.bias.grad.tolist() == [0.0] * 4


@pytest.mark.parametrize(
    ("reduction", "expected"), [("mean", NAN), ("sum", 0.0), ("none", [])], ids=str
)
def test_cross_entropy_of_no_rows(reduction, expected, device):
    logits = tg.zeros(0, 5, device=device, requires_grad=True)
    loss = F.cross_entropy(logits, tg.zeros(0, dtype=tg.int64, device=device), reduction=reduction)
    assert_values(loss, expected)  # PyTorch: nan, 0 and an empty tensor
    loss.sum().backward()
    assert logits.grad.shape == (0, 5)


def test_attention_without_keys_is_zero(device):
    # PyTorch: an empty softmax over no keys times no values is 0
    q = tg.ones(1, 2, 3, 4, device=device, requires_grad=True)
    k = tg.ones(1, 2, 0, 4, device=device, requires_grad=True)
    out = F.scaled_dot_product_attention(q, k, k)
    assert_values(out, np.zeros((1, 2, 3, 4)))
    out.sum().backward()
    assert_values(q.grad, np.zeros((1, 2, 3, 4)))
    assert k.grad.shape == (1, 2, 0, 4)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_matmul_with_k_zero_is_zeros(dtype, device):
    a = tg.ones(2, 0, dtype=getattr(tg, dtype), device=device)
    b = tg.ones(0, 3, dtype=getattr(tg, dtype), device=device)
    assert (a @ b).tolist() == [[0, 0, 0], [0, 0, 0]]


def test_matmul_with_k_zero_gradients(device):
    a = tg.ones(2, 0, device=device, requires_grad=True)
    b = tg.ones(0, 3, device=device, requires_grad=True)
    (a @ b).sum().backward()
    assert a.grad.shape == (2, 0)
    assert b.grad.shape == (0, 3)


def test_conv2d_on_an_empty_batch(device):
    x = tg.zeros(0, 3, 5, 5, device=device, requires_grad=True)
    w = tg.ones(4, 3, 3, 3, device=device, requires_grad=True)
    y = F.conv2d(x, w)
    y.sum().backward()
    assert y.shape == (0, 4, 3, 3)
    assert x.grad.shape == (0, 3, 5, 5)
    assert w.grad is not None  # PyTorch: zeros, a sum over no images
    assert values(w.grad).tolist() == np.zeros((4, 3, 3, 3)).tolist()


# --- 6. the numpy reference backend raises typed errors, never NumPy's ------------------------

# fmt: off
NUMPY_REFUSALS = [
    # method            op              dtype      why NumPy alone would not do
    ("unary",          "exp",          "int64",   "float64 out of an int64 kernel"),
    ("unary",          "sign",         "bool",    "UFuncTypeError"),
    ("unary",          "neg",          "bool",    "TypeError"),
    ("unary",          "no_such_op",   "float32", "KeyError"),
    ("binary",         "sub",          "bool",    "TypeError"),
    ("binary",         "pow",          "int64",   "ValueError: negative integer powers"),
    ("binary_scalar",  "add",          "int32",   "OverflowError: 2**40 into int32"),
    ("reduce",         "max",          "float32", "ValueError: zero-size array"),
    ("arg_reduce",     "argmax",       "float32", "ValueError: empty sequence"),
]
# fmt: on


@pytest.mark.parametrize(("method", "op", "dtype", "why"), NUMPY_REFUSALS, ids=str)
def test_numpy_backend_raises_backend_errors(method, op, dtype, why):
    from tinygpt.backend.registry import get_backend
    from tinygpt.testing.helpers import to_ndarray

    backend = get_backend("numpy")
    x = to_ndarray(backend, np.array([1, 2, 3], dtype=np.dtype(dtype)))
    negative = to_ndarray(backend, np.array([-1, -1, -1], dtype=np.dtype(dtype)))
    empty = to_ndarray(backend, np.zeros((2, 0), dtype=np.dtype(dtype)))
    args = {
        "unary": (op, x),
        "binary": (op, x, negative),
        "binary_scalar": (op, x, 2**40, False),
        "reduce": (op, empty, (1,)),
        "arg_reduce": (op, empty, 1),
    }[method]
    with pytest.raises(tg.BackendError):
        getattr(backend, method)(*args)
