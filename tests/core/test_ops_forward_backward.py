"""Every op, one row each: forward against NumPy, backward against float64 finite differences.

A row names the op, the tinygpt function, the NumPy oracle (omitted when the same lambda works
on NumPy arrays), the input shapes and the input domain. Each row runs on every available
backend (the `device` fixture):

- forward: float32 inputs; the result must match NumPy (computed in float64 on the same
  values) in shape, dtype and value;
- backward: float64 inputs; `tg.autograd.gradcheck` compares autograd with central finite
  differences. A few rows are also checked with the hand-rolled `numeric_vjp` below, so that
  gradcheck itself is verified rather than trusted.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import tinygpt as tg

# --- input domains ----------------------------------------------------------------------------
REAL = "real"  # uniform in [-2, 2]
POSITIVE = "positive"  # uniform in [0.5, 2]: log, sqrt, pow bases
NONZERO = "nonzero"  # |x| in [0.5, 2]: no kink (abs, relu), no pole (division), stable masks
DISTINCT = "distinct"  # every value distinct, >= 0.05 apart: no ties for max/min/argmax
INTEGRAL = "integral"  # integers in [-2, 2]: ties on purpose, for comparisons and int dtypes
BOOL = "bool"  # random True/False


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable  # tinygpt tensors in, one tensor out
    ref: Callable  # the NumPy oracle
    shapes: tuple[tuple[int, ...], ...]
    domain: str
    grad: bool  # False for outputs without a gradient (comparisons, argmax, ints)
    dtype: str  # the dtype of every input in the forward check
    atol: float

    def __str__(self) -> str:
        return self.name


def case(name, fn, shapes, domain=REAL, ref=None, grad=True, dtype="float32", atol=1e-5):
    """One row of the table; `ref` defaults to `fn` (for lambdas NumPy understands too)."""
    return Case(name, fn, fn if ref is None else ref, tuple(shapes), domain, grad, dtype, atol)


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_logsumexp(x, axis, keepdims=False):
    m = x.max(axis=axis, keepdims=True)
    out = m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def tg_layer_norm(x):
    centered = x - x.mean(dim=-1, keepdim=True)
    return centered / ((centered**2).mean(dim=-1, keepdim=True) + 1e-5).sqrt()


def np_layer_norm(x):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)


def diamond(x):
    h = x * 2  # one intermediate, two consumers: its gradient is the sum of both paths
    return h + h.exp()


np_erf = np.vectorize(math.erf)
A, B = (3, 4), (4, 5)  # the most common shapes

# fmt: off
CASES = [
    # -- unary: A -> A ------------------------------------------------------------------------
    case("neg",         lambda x: -x,                 [A]),
    case("exp",         lambda x: x.exp(),            [A], ref=np.exp),
    case("log",         lambda x: x.log(),            [A], POSITIVE, ref=np.log),
    case("sqrt",        lambda x: x.sqrt(),           [A], POSITIVE, ref=np.sqrt),
    case("abs",         lambda x: x.abs(),            [A], NONZERO, ref=np.abs),
    case("sign",        lambda x: x.sign(),           [A], NONZERO, ref=np.sign, grad=False),
    case("sin",         lambda x: x.sin(),            [A], ref=np.sin),
    case("cos",         lambda x: x.cos(),            [A], ref=np.cos),
    case("tanh",        lambda x: x.tanh(),           [A], ref=np.tanh),
    case("sigmoid",     lambda x: x.sigmoid(),        [A], ref=lambda x: 1 / (1 + np.exp(-x))),
    case("erf",         lambda x: x.erf(),            [A], ref=np_erf),
    case("relu",        lambda x: x.relu(),           [A], NONZERO, ref=lambda x: np.maximum(x, 0)),
    case("tg.exp",      lambda x: tg.exp(x),          [A], ref=np.exp),
    case("tg.tanh",     lambda x: tg.tanh(x),         [A], ref=np.tanh),
    case("exp 0-d",     lambda x: x.exp(),            [()], ref=np.exp),
    case("exp empty",   lambda x: x.exp(),            [(0, 3)], ref=np.exp),
    # -- binary with broadcasting: A, A -> A -------------------------------------------------
    case("add",         lambda a, b: a + b,           [A, A]),
    case("add (3,1)+(1,4)", lambda a, b: a + b,       [(3, 1), (1, 4)]),
    case("add (2,3,4)+(4,)", lambda a, b: a + b,      [(2, 3, 4), (4,)]),
    case("add ()+(3,)", lambda a, b: a + b,           [(), (3,)]),
    case("sub",         lambda a, b: a - b,           [A, (4,)]),
    case("mul",         lambda a, b: a * b,           [A, (3, 1)]),
    case("div",         lambda a, b: a / b,           [A, A], NONZERO),
    case("div bcast",   lambda a, b: a / b,           [(2, 1, 4), (3, 1)], NONZERO),
    case("pow",         lambda a, b: a ** b,          [A, A], POSITIVE),
    case("maximum",     lambda a, b: tg.maximum(a, b), [A, (4,)], DISTINCT, ref=np.maximum),
    case("minimum",     lambda a, b: tg.minimum(a, b), [A, A], DISTINCT, ref=np.minimum),
    # -- with a Python scalar ----------------------------------------------------------------
    case("x + 2.5",     lambda x: x + 2.5,            [A]),
    case("2.5 + x",     lambda x: 2.5 + x,            [A]),
    case("x - 1.5",     lambda x: x - 1.5,            [A]),
    case("1.5 - x",     lambda x: 1.5 - x,            [A]),
    case("x * -3",      lambda x: x * -3,             [A]),
    case("x / 4",       lambda x: x / 4,              [A]),
    case("2 / x",       lambda x: 2 / x,              [A], NONZERO),
    case("x ** 2",      lambda x: x ** 2,             [A]),
    case("x ** 3",      lambda x: x ** 3,             [A]),
    case("x ** 0.5",    lambda x: x ** 0.5,           [A], POSITIVE),
    case("x ** -1.5",   lambda x: x ** -1.5,          [A], POSITIVE),
    case("2 ** x",      lambda x: 2.0 ** x,           [A]),
    case("x * x",       lambda x: x * x,              [A]),  # one tensor used twice
    # -- select ------------------------------------------------------------------------------
    case("where",       lambda a, b: tg.where(a > 0, a, b), [A, (4,)], NONZERO,
         ref=lambda a, b: np.where(a > 0, a, b)),
    case("where scalar", lambda a: tg.where(a > 0, a, 0.5), [A], NONZERO,
         ref=lambda a: np.where(a > 0, a, 0.5)),
    case("masked_fill", lambda a: a.masked_fill(a > 0, -1.0), [A], NONZERO,
         ref=lambda a: np.where(a > 0, -1.0, a)),
    case("clamp",       lambda a: a.clamp(-1.0, 1.0), [A], DISTINCT,
         ref=lambda a: np.clip(a, -1.0, 1.0)),
    # -- comparisons: A, A -> bool (no gradient) ---------------------------------------------
    case("eq",          lambda a, b: a == b,          [A, A], INTEGRAL, grad=False),
    case("ne",          lambda a, b: a != b,          [A, A], INTEGRAL, grad=False),
    case("lt",          lambda a, b: a < b,           [A, (4,)], INTEGRAL, grad=False),
    case("le",          lambda a, b: a <= b,          [A, A], INTEGRAL, grad=False),
    case("gt scalar",   lambda a: a > 0,              [A], INTEGRAL, grad=False),
    case("ge scalar",   lambda a: a >= 1,             [A], INTEGRAL, grad=False),
    # -- integer and bool dtypes (no gradient) -----------------------------------------------
    case("add int64",   lambda a, b: a + b,           [A, (4,)], INTEGRAL, dtype="int64",
         grad=False),
    case("mul int32",   lambda a, b: a * b,           [A, A], INTEGRAL, dtype="int32", grad=False),
    case("neg int64",   lambda a: -a,                 [A], INTEGRAL, dtype="int64", grad=False),
    case("abs int32",   lambda a: a.abs(),            [A], INTEGRAL, dtype="int32", grad=False,
         ref=np.abs),
    case("sum int64",   lambda a: a.sum(dim=1),       [A], INTEGRAL, dtype="int64", grad=False,
         ref=lambda a: a.sum(axis=1)),
    case("and bool",    lambda a, b: a & b,           [A, A], BOOL, dtype="bool", grad=False),
    case("or bool",     lambda a, b: a | b,           [A, A], BOOL, dtype="bool", grad=False),
    case("not bool",    lambda a: ~a,                 [A], BOOL, dtype="bool", grad=False),
    # -- reductions: A -> reduced A ----------------------------------------------------------
    case("sum",         lambda x: x.sum(),            [(2, 3, 4)]),
    case("sum dim",     lambda x: x.sum(dim=1),       [(2, 3, 4)], ref=lambda x: x.sum(axis=1)),
    case("sum dims",    lambda x: x.sum(dim=(0, 2)),  [(2, 3, 4)],
         ref=lambda x: x.sum(axis=(0, 2))),
    case("sum -1 keep", lambda x: x.sum(dim=-1, keepdim=True), [(2, 3, 4)],
         ref=lambda x: x.sum(axis=-1, keepdims=True)),
    case("sum empty",   lambda x: x.sum(dim=0),       [(0, 3)], ref=lambda x: x.sum(axis=0)),
    case("mean",        lambda x: x.mean(),           [(2, 3, 4)]),
    case("mean dims keep", lambda x: x.mean(dim=(1, 2), keepdim=True), [(2, 3, 4)],
         ref=lambda x: x.mean(axis=(1, 2), keepdims=True)),
    case("var",         lambda x: x.var(),            [A], ref=lambda x: x.var(ddof=1)),
    case("var dim keep", lambda x: x.var(dim=1, keepdim=True), [A],
         ref=lambda x: x.var(axis=1, ddof=1, keepdims=True)),
    case("std",         lambda x: x.std(),            [A], ref=lambda x: x.std(ddof=1)),
    case("std dim",     lambda x: x.std(dim=0),       [A], ref=lambda x: x.std(axis=0, ddof=1)),
    case("max",         lambda x: x.max(),            [A], DISTINCT),
    case("min",         lambda x: x.min(),            [A], DISTINCT),
    case("max dim",     lambda x: x.max(dim=1).values, [A], DISTINCT,
         ref=lambda x: x.max(axis=1)),
    case("min dim keep", lambda x: x.min(dim=-1, keepdim=True).values, [(2, 3, 4)], DISTINCT,
         ref=lambda x: x.min(axis=-1, keepdims=True)),
    case("argmax",      lambda x: x.argmax(dim=1),    [A], DISTINCT, grad=False,
         ref=lambda x: x.argmax(axis=1)),
    case("argmin",      lambda x: x.argmin(dim=0),    [A], DISTINCT, grad=False,
         ref=lambda x: x.argmin(axis=0)),
    case("logsumexp",   lambda x: x.logsumexp(dim=1), [A], ref=lambda x: np_logsumexp(x, 1)),
    case("softmax",     lambda x: x.softmax(dim=-1),  [A], ref=lambda x: np_softmax(x, -1)),
    case("softmax dim0", lambda x: x.softmax(dim=0),  [(2, 3, 4)], ref=lambda x: np_softmax(x, 0)),
    case("log_softmax", lambda x: x.log_softmax(dim=1), [A],
         ref=lambda x: np.log(np_softmax(x, 1))),
    # -- matmul ------------------------------------------------------------------------------
    case("matmul 1d@1d", lambda a, b: a @ b,          [(4,), (4,)]),
    case("matmul 2d@1d", lambda a, b: a @ b,          [A, (4,)]),
    case("matmul 1d@2d", lambda a, b: a @ b,          [(4,), B]),
    case("matmul 2d@2d", lambda a, b: a @ b,          [A, B]),
    case("matmul batched", lambda a, b: a @ b,        [(2, 1, 3, 4), (5, 4, 2)]),
    case("x @ w.T",     lambda x, w: x @ w.T,         [A, (5, 4)]),
    case("tg.matmul",   lambda a, b: tg.matmul(a, b), [A, B], ref=np.matmul),
    # -- movement: views and copies ----------------------------------------------------------
    case("reshape",     lambda x: x.reshape(4, 3),    [A]),
    case("reshape -1",  lambda x: x.reshape(-1, 2),   [(2, 3, 4)]),
    case("view",        lambda x: x.view(2, 6),       [A], ref=lambda x: x.reshape(2, 6)),
    case("permute",     lambda x: x.permute(2, 0, 1), [(2, 3, 4)],
         ref=lambda x: x.transpose(2, 0, 1)),
    case("transpose",   lambda x: x.transpose(0, 2), [(2, 3, 4)],
         ref=lambda x: np.swapaxes(x, 0, 2)),
    case(".T",          lambda x: x.T,                [A]),
    case("expand",      lambda x: x.expand(2, 3, 4),  [(3, 1)],
         ref=lambda x: np.broadcast_to(x, (2, 3, 4))),
    case("expand -1",   lambda x: x.expand(-1, 4),    [(3, 1)],
         ref=lambda x: np.broadcast_to(x, (3, 4))),
    case("broadcast_to", lambda x: tg.broadcast_to(x, (2, 3, 4)), [(4,)],
         ref=lambda x: np.broadcast_to(x, (2, 3, 4))),
    case("squeeze",     lambda x: x.squeeze(),        [(1, 3, 1)]),
    case("squeeze dim", lambda x: x.squeeze(0),       [(1, 3, 1)],
         ref=lambda x: x.squeeze(axis=0)),
    case("unsqueeze",   lambda x: x.unsqueeze(1),     [A], ref=lambda x: np.expand_dims(x, 1)),
    case("unsqueeze -1", lambda x: x.unsqueeze(-1),   [A], ref=lambda x: np.expand_dims(x, -1)),
    case("flatten",     lambda x: x.flatten(),        [(2, 3, 4)]),
    case("cat",         lambda a, b: tg.cat([a, b], dim=1), [A, (3, 2)],
         ref=lambda a, b: np.concatenate([a, b], axis=1)),
    case("cat dim 0",   lambda a, b: tg.cat([a, b]),  [A, (1, 4)],
         ref=lambda a, b: np.concatenate([a, b])),
    case("stack",       lambda a, b: tg.stack([a, b]), [A, A], ref=lambda a, b: np.stack([a, b])),
    case("stack -1",    lambda a, b: tg.stack([a, b], dim=-1), [A, A],
         ref=lambda a, b: np.stack([a, b], axis=-1)),
    case("split int",   lambda x: x.split(3, dim=1)[1], [(2, 5)], ref=lambda x: x[:, 3:]),
    case("split list",  lambda x: x.split([1, 3], dim=1)[1], [A], ref=lambda x: x[:, 1:]),
    case("chunk",       lambda x: x.chunk(2, dim=0)[0], [(5, 2)], ref=lambda x: x[:3]),
    case("pad last",    lambda x: tg.pad(x, (1, 2)), [A],
         ref=lambda x: np.pad(x, ((0, 0), (1, 2)))),
    case("pad 2 dims",  lambda x: tg.pad(x, (0, 1, 2, 0), value=1.5), [A],
         ref=lambda x: np.pad(x, ((2, 0), (0, 1)), constant_values=1.5)),
    case("tril",        lambda x: x.tril(),           [(4, 4)], ref=np.tril),
    case("tril -1",     lambda x: x.tril(diagonal=-1), [A], ref=lambda x: np.tril(x, -1)),
    case("triu 1",      lambda x: x.triu(1),          [A], ref=lambda x: np.triu(x, 1)),
    case("tg.triu",     lambda x: tg.triu(x),         [(2, 3, 3)], ref=np.triu),
    # -- indexing ----------------------------------------------------------------------------
    case("x[1]",        lambda x: x[1],               [A]),
    case("x[-1, 2]",    lambda x: x[-1, 2],           [A]),
    case("x[:, 1:3]",   lambda x: x[:, 1:3],          [A]),
    case("x[::-1]",     lambda x: x[::-1],            [(5, 2)]),
    case("x[3:0:-2]",   lambda x: x[3:0:-2],          [(5, 2)]),
    case("x[None, ..., 1]", lambda x: x[None, ..., 1], [(2, 3, 4)]),
    case("x[[0, 2, 2]]", lambda x: x[[0, 2, 2]],      [A]),  # repeated: gradients accumulate
    case("x[int tensor]", lambda x: x[tg.tensor([[0, 1], [2, 2]])], [A],
         ref=lambda x: x[np.array([[0, 1], [2, 2]])]),
    case("x[np array]", lambda x: x[np.array([2, 0])], [A]),
    case("x[rows, cols]", lambda x: x[[0, 2, 2], [1, 3, 1]], [A]),
    case("x[col, row] bcast", lambda x: x[np.array([[0], [2]]), np.array([1, 3])], [A]),
    case("x[:, [2, 0]]", lambda x: x[:, [2, 0]],      [(2, 3, 4)]),
    case("x[[0,1], :, [1,2]]", lambda x: x[[0, 1], :, [1, 2]], [(2, 3, 4)]),
    case("x[mask]",     lambda x: x[x > 0],           [A], NONZERO),
    # -- kernels reading views in place (transposed, strided, broadcast, reversed) -----------
    case("exp of .T",   lambda x: x.T.exp(),          [A], ref=lambda x: np.exp(x.T)),
    case("add .T + row", lambda a, b: a.T + b,        [A, (3,)]),
    case("mul strided", lambda a: a[:, ::2] * a[:, 1::2], [A]),
    case("sum permuted", lambda x: x.permute(2, 0, 1).sum(dim=1), [(2, 3, 4)],
         ref=lambda x: x.transpose(2, 0, 1).sum(axis=1)),
    case("matmul reversed", lambda a, b: a[::-1] @ b[:, ::-2], [A, B]),
    case("matmul .T@.T", lambda a, b: a.T @ b.T,      [(4, 3), (5, 4)]),
    case("softmax of .T", lambda x: x.T.softmax(dim=-1), [A], ref=lambda x: np_softmax(x.T, -1)),
    case("max of .T",   lambda x: x.T.max(dim=1).values, [A], DISTINCT,
         ref=lambda x: x.T.max(axis=1)),
    # -- compositions ------------------------------------------------------------------------
    case("mlp",         lambda x, w, b: ((x @ w + b).relu() ** 2).mean(), [A, B, (5,)], NONZERO,
         ref=lambda x, w, b: (np.maximum(x @ w + b, 0) ** 2).mean()),
    case("layer norm",  tg_layer_norm,                [A], ref=np_layer_norm, atol=1e-4),
    case("diamond",     diamond,                      [A], ref=lambda x: 2 * x + np.exp(2 * x)),
]
# fmt: on
GRAD_CASES = [c for c in CASES if c.grad]

# Rows whose gradients are also checked by the hand-rolled `numeric_vjp` (verifies gradcheck).
HAND_CHECKED = [
    "exp",
    "div bcast",
    "maximum",
    "where",
    "sum dims",
    "var dim keep",
    "max dim",
    "softmax",
    "matmul batched",
    "x @ w.T",
    "expand",
    "pad 2 dims",
    "x[[0, 2, 2]]",
    "x[mask]",
    "matmul reversed",
    "mlp",
    "diamond",
]


# --- helpers ----------------------------------------------------------------------------------


def make_inputs(c: Case) -> list[np.ndarray]:
    """Float64 NumPy inputs for `c`, drawn from its domain, the same on every run."""
    rng = np.random.default_rng(zlib.crc32(c.name.encode()))
    sizes = [math.prod(s) for s in c.shapes]
    if c.domain == DISTINCT:
        # one shuffled grid across all inputs: no ties within or between them
        pool = rng.permutation(np.linspace(-2.0, 2.0, sum(sizes)) + 0.01)
        flats = np.split(pool, np.cumsum(sizes)[:-1])
        return [f.reshape(s) for f, s in zip(flats, c.shapes)]
    arrays = []
    for shape in c.shapes:
        if c.domain == REAL:
            x = rng.uniform(-2.0, 2.0, shape)
        elif c.domain == POSITIVE:
            x = rng.uniform(0.5, 2.0, shape)
        elif c.domain == NONZERO:
            x = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
        elif c.domain == INTEGRAL:
            x = rng.integers(-2, 3, shape).astype(np.float64)
        elif c.domain == BOOL:
            x = rng.integers(0, 2, shape).astype(bool)
        else:
            raise AssertionError(f"unknown domain {c.domain}")
        arrays.append(np.asarray(x))
    return arrays


def require_dtype(device: str, dtype: str) -> None:
    """Skip when this backend does not store `dtype` (e.g. float64 on some GPUs)."""
    try:
        tg.zeros(1, dtype=getattr(tg, dtype), device=device)
    except tg.DTypeError as error:
        pytest.skip(f"{device} does not support {dtype}: {error}")


def tensors(arrays, dtype: str, device: str, requires_grad: bool = False) -> list[tg.Tensor]:
    return [tg.tensor(a.astype(dtype), device=device, requires_grad=requires_grad) for a in arrays]


def numeric_vjp(c: Case, arrays: list[np.ndarray], g: np.ndarray, device, eps=1e-6):
    """d sum(fn(inputs) * g) / d inputs by central differences, all in float64 NumPy."""

    def loss(values):
        with tg.no_grad():
            out = c.fn(*tensors(values, "float64", device))
        return float((out.numpy() * g).sum())

    grads = []
    for i, x in enumerate(arrays):
        grad = np.zeros_like(x)
        for j in np.ndindex(x.shape):
            plus = [a.copy() for a in arrays]
            minus = [a.copy() for a in arrays]
            plus[i][j] += eps
            minus[i][j] -= eps
            grad[j] = (loss(plus) - loss(minus)) / (2 * eps)
        grads.append(grad)
    return grads


# --- the checks -------------------------------------------------------------------------------


@pytest.mark.parametrize("c", CASES, ids=str)
def test_forward_matches_numpy(c: Case, device):
    tg.set_default_device(device)  # tensors built inside a row (index tensors) go there too
    require_dtype(device, c.dtype)
    arrays = [a.astype(c.dtype) for a in make_inputs(c)]
    out = c.fn(*tensors(arrays, c.dtype, device))
    # the oracle sees the very same values, widened to float64 where they are floats
    widened = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]
    expected = np.asarray(c.ref(*widened))
    if expected.dtype == np.float64:
        expected_dtype = np.dtype(c.dtype)
    else:
        expected_dtype = expected.dtype
    assert isinstance(out, tg.Tensor)
    assert tuple(out.shape) == expected.shape
    assert str(out.device) == str(tg.device(device))
    got = out.numpy()
    assert got.dtype == expected_dtype, f"dtype {got.dtype}, expected {expected_dtype}"
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=c.atol)


@pytest.mark.parametrize("c", GRAD_CASES, ids=str)
def test_backward_gradcheck(c: Case, device):
    tg.set_default_device(device)
    require_dtype(device, "float64")
    inputs = tensors(make_inputs(c), "float64", device, requires_grad=True)
    assert tg.autograd.gradcheck(c.fn, inputs)


@pytest.mark.parametrize("name", HAND_CHECKED)
def test_backward_matches_hand_rolled_finite_differences(name, device):
    """The same rows without gradcheck: backward(gradient=g) against numeric_vjp."""
    tg.set_default_device(device)
    require_dtype(device, "float64")
    c = next(row for row in CASES if row.name == name)
    arrays = make_inputs(c)
    inputs = tensors(arrays, "float64", device, requires_grad=True)
    out = c.fn(*inputs)
    g = np.random.default_rng(0).uniform(-1.0, 1.0, tuple(out.shape))
    out.backward(gradient=tg.tensor(g, device=device))
    expected = numeric_vjp(c, arrays, g, device)
    for x, want in zip(inputs, expected):
        assert x.grad is not None
        assert x.grad.dtype == tg.float64
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-5, atol=1e-6)


def test_gradcheck_catches_a_wrong_gradient(device):
    """x * x.detach() has derivative x, but finite differences see 2x: gradcheck must object."""
    require_dtype(device, "float64")
    x = tg.tensor([0.5, -1.0, 2.0], dtype=tg.float64, device=device, requires_grad=True)
    try:
        ok = tg.autograd.gradcheck(lambda t: t * t.detach(), [x])
    except (AssertionError, RuntimeError, ValueError) as error:
        assert "grad" in str(error).lower()
        return
    assert ok is False


def test_gradcheck_passes_a_right_gradient(device):
    require_dtype(device, "float64")
    x = tg.tensor([0.5, -1.0, 2.0], dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: t * t, [x]) is True
