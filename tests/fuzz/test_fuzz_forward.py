"""Forward fuzzing, elementwise and reductions: each backend against the numpy reference,
its own contiguous copy, and PyTorch (see harness.py for the rules).

One test per op family, parametrized by op, so the quick profile covers every op.
"""

from __future__ import annotations

import math

import pytest
from fuzz_profiles import fuzz_settings
from harness import Case, check, torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import ALL_DTYPES, FLOAT_DTYPES, broadcastable_shapes, dtypes, operands, shapes

import tinygpt as tg

pytestmark = [pytest.mark.fuzz, pytest.mark.filterwarnings("ignore::RuntimeWarning")]

SCALARS = [True, False, 0, 1, -1, 2, 3, -2, 0.5, -1.5, 2.0, 0.0, -0.0, 1e-3, 1e5]
SCALARS += [math.inf, -math.inf, math.nan]


def _tf():
    """torch.nn.functional, looked up when an oracle runs (PyTorch is optional)."""
    return torch.nn.functional


# name -> (tinygpt, PyTorch)
UNARY = {
    "neg": (lambda x: -x, lambda x: -x),
    "abs": (lambda x: x.abs(), lambda x: x.abs()),
    # NOTE: PyTorch's sign(nan) is 0; tinygpt follows NumPy (nan)
    "sign": (lambda x: x.sign(), lambda x: x.sign()),  # sign(nan) is 0, as in PyTorch
    "exp": (lambda x: x.exp(), lambda x: x.exp()),
    "log": (lambda x: x.log(), lambda x: x.log()),
    "sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt()),
    "rsqrt": (lambda x: x.rsqrt(), lambda x: x.rsqrt()),
    "sin": (lambda x: x.sin(), lambda x: x.sin()),
    "cos": (lambda x: x.cos(), lambda x: x.cos()),
    "erf": (lambda x: x.erf(), lambda x: x.erf()),
    "tanh": (lambda x: x.tanh(), lambda x: x.tanh()),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    "relu": (lambda x: x.relu(), lambda x: x.relu()),
    "silu": (lambda x: x.silu(), lambda x: _tf().silu(x)),
    "gelu": (lambda x: x.gelu(), lambda x: _tf().gelu(x)),
    "gelu_tanh": (lambda x: x.gelu("tanh"), lambda x: _tf().gelu(x, approximate="tanh")),
    "logical_not": (lambda x: x.logical_not(), lambda x: x.logical_not()),
    "square": (lambda x: x * x, lambda x: x * x),
}

# name -> (tinygpt, PyTorch), both called as f(a, b) with a tensor or a scalar on either side
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}
FUNCTION_BINARY = {
    "maximum": (lambda a, b: tg.maximum(a, b), lambda a, b: torch.maximum(a, b)),
    "minimum": (lambda a, b: tg.minimum(a, b), lambda a, b: torch.minimum(a, b)),
}
COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge"}


@pytest.mark.parametrize("op", sorted(UNARY))
@fuzz_settings()
@given(data=st.data())
def test_unary(device, op, data):
    dtype = data.draw(dtypes(device))
    # NOTE: gelu(-inf) has no agreed value (the limit is 0, PyTorch says nan): no infinities
    style = "normal" if op.startswith("gelu") and dtype in FLOAT_DTYPES else None
    style = data.draw(st.sampled_from(["normal", "large", "ints"])) if style else None
    x = data.draw(operands(data.draw(shapes()), dtype, style=style))
    fn, oracle = UNARY[op]
    check(Case(op, fn, [x], oracle=oracle), device)


@fuzz_settings()
@given(data=st.data())
def test_cast(device, data):
    source = data.draw(dtypes(device))
    target = data.draw(dtypes(device))
    style = None
    if source in FLOAT_DTYPES and target not in FLOAT_DTYPES + ("bool",):
        style = data.draw(st.sampled_from(["normal", "ints", "distinct"]))  # in range: defined
    x = data.draw(operands(data.draw(shapes()), source, style=style))

    def fn(t):
        return t.to(getattr(tg, target))

    def oracle(t):
        return t.to(getattr(torch, target))

    check(Case(f"cast_to_{target}", fn, [x], "exact", oracle=oracle, note=target), device)


@fuzz_settings()
@given(data=st.data())
def test_clamp(device, data):
    x = data.draw(operands(data.draw(shapes()), data.draw(dtypes(device, ALL_DTYPES[:5]))))
    low = data.draw(st.sampled_from([None, -1, 0, 0.5, -2.5]))
    high = data.draw(st.sampled_from([None, 1, 2, 1.5]))
    case = Case(
        "clamp",
        lambda t: t.clamp(low, high),
        [x],
        oracle=lambda t: t.clamp(low, high),
        note=f"min={low}, max={high}",
    )
    check(case, device)


@pytest.mark.parametrize("op", sorted(BINARY) + sorted(FUNCTION_BINARY))
@fuzz_settings()
@given(data=st.data())
def test_binary(device, op, data):
    fn, oracle = FUNCTION_BINARY.get(op, (BINARY.get(op), BINARY.get(op)))
    (shape_a, shape_b), _ = data.draw(broadcastable_shapes(2))
    dtype_a = data.draw(dtypes(device))
    dtype_b = dtype_a if data.draw(st.booleans()) else data.draw(dtypes(device))
    a = data.draw(operands(shape_a, dtype_a))
    form = data.draw(st.sampled_from(["tensors", "scalar", "reflected"]))
    kind = "exact" if op in COMPARISONS or op in ("and", "or") else "elementwise"
    # integers to negative integer powers must raise, not return 0
    raises = "negative integer powers" if op == "pow" else ""
    if form == "tensors":
        b = data.draw(operands(shape_b, dtype_b))
        case = Case(op, fn, [a, b], kind, oracle=oracle, oracle_raises=raises)
    else:
        s = data.draw(st.sampled_from(SCALARS))
        reflected = form == "reflected"
        note = f"scalar {s!r} on the {'left' if reflected else 'right'}"
        case = Case(
            op,
            (lambda t: fn(s, t)) if reflected else (lambda t: fn(t, s)),
            [a],
            kind,
            oracle=(lambda t: oracle(s, t)) if reflected else (lambda t: oracle(t, s)),
            oracle_raises=raises,
            note=note,
        )
        case.extra["scalar"] = s
    if op == "pow" and "bool" in (a.dtype, type(case.extra.get("scalar")).__name__, dtype_b):
        case.extra["oracle_dtype_free"] = True  # tinygpt raises bools to powers as int64
    check(case, device)


@fuzz_settings()
@given(data=st.data())
def test_where(device, data):
    (shape_c, shape_a, shape_b), _ = data.draw(broadcastable_shapes(3))
    cond = data.draw(operands(shape_c, "bool"))
    a = data.draw(operands(shape_a, data.draw(dtypes(device))))
    if data.draw(st.booleans()):
        b = data.draw(operands(shape_b, data.draw(dtypes(device))))
        case = Case("where", tg.where, [cond, a, b], "exact", oracle=torch and torch.where)
    else:
        s = data.draw(st.sampled_from(SCALARS))
        case = Case(
            "where",
            lambda c, t: tg.where(c, t, s),
            [cond, a],
            "exact",
            oracle=lambda c, t: torch.where(c, t, s),
            note=f"b={s!r}",
        )
    check(case, device)


@fuzz_settings()
@given(data=st.data())
def test_masked_fill(device, data):
    (shape_m,), shape = data.draw(broadcastable_shapes(1))
    x = data.draw(operands(shape, data.draw(dtypes(device))))
    # the mask broadcasts to x: some of x's dims, or 1
    mask_shape = tuple(d if data.draw(st.booleans()) else 1 for d in shape)
    mask = data.draw(operands(mask_shape, "bool"))
    value = data.draw(st.sampled_from(SCALARS))
    case = Case(
        "masked_fill",
        lambda t, m: t.masked_fill(m, value),
        [x, mask],
        "exact",
        oracle=lambda t, m: t.masked_fill(m, value),
        note=f"value={value!r}",
    )
    check(case, device)


# --- reductions -------------------------------------------------------------------------------
def _dims(data, ndim: int, single: bool = False):
    """None, one dim (maybe negative) or a tuple of distinct dims."""
    choices = ["none", "one"] + ([] if single or ndim == 0 else ["tuple"])
    form = data.draw(st.sampled_from(choices))
    if form == "none" or (form == "one" and ndim == 0):
        return None
    if form == "one":
        return data.draw(st.integers(-ndim, ndim - 1))
    picked = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(d - ndim if data.draw(st.booleans()) else d for d in picked)


def _reduced(shape, dim) -> int:
    if dim is None:
        return math.prod(shape)
    dims = (dim,) if isinstance(dim, int) else dim
    return math.prod(shape[d] for d in dims)


def _torch_dim(dim, ndim):
    return tuple(range(ndim)) if dim is None else dim


REDUCTIONS = {
    # name -> (tinygpt f(x, dim, keepdim), PyTorch f(x, dim, keepdim), allowed dtypes)
    "sum": (lambda x, d, k: x.sum(d, k), lambda x, d, k: x.sum(_torch_dim(d, x.ndim), k)),
    "mean": (lambda x, d, k: x.mean(d, k), lambda x, d, k: x.mean(_torch_dim(d, x.ndim), k)),
    "var": (lambda x, d, k: x.var(d, k), lambda x, d, k: x.var(_torch_dim(d, x.ndim), keepdim=k)),
    "var0": (
        lambda x, d, k: x.var(d, k, correction=0),
        lambda x, d, k: x.var(_torch_dim(d, x.ndim), keepdim=k, correction=0),
    ),
    "std": (lambda x, d, k: x.std(d, k), lambda x, d, k: x.std(_torch_dim(d, x.ndim), keepdim=k)),
    "logsumexp": (
        lambda x, d, k: x.logsumexp(d, k),
        lambda x, d, k: x.logsumexp(_torch_dim(d, x.ndim), k),
    ),
    "amax": (lambda x, d, k: x.max(d, k), lambda x, d, k: x.amax(_torch_dim(d, x.ndim), k)),
    "amin": (lambda x, d, k: x.min(d, k), lambda x, d, k: x.amin(_torch_dim(d, x.ndim), k)),
}
SINGLE_DIM = {
    # reductions whose dim is None or one int; max/min then return (values, indices)
    "max": (lambda x, d, k: x.max(d, k), lambda x, d, k: x.max() if d is None else x.max(d, k)),
    "min": (lambda x, d, k: x.min(d, k), lambda x, d, k: x.min() if d is None else x.min(d, k)),
    "argmax": (lambda x, d, k: x.argmax(d, k), lambda x, d, k: x.argmax(d, k)),
    "argmin": (lambda x, d, k: x.argmin(d, k), lambda x, d, k: x.argmin(d, k)),
}


@pytest.mark.parametrize("op", sorted(REDUCTIONS) + sorted(SINGLE_DIM))
@fuzz_settings()
@given(data=st.data())
def test_reduction(device, op, data):
    single = op in SINGLE_DIM
    fn, oracle = SINGLE_DIM[op] if single else REDUCTIONS[op]
    x = data.draw(operands(data.draw(shapes(long=True)), data.draw(dtypes(device))))
    dim = _dims(data, len(x.shape), single)
    if op in ("amax", "amin") and isinstance(dim, int):
        dim = (dim,)  # x.max(tuple) returns the values only, like torch.amax
    # NOTE: x.max() over everything returns a 0-d tensor, like PyTorch: no keepdim
    keepdim = data.draw(st.booleans())
    keepdim = keepdim and not (
        op in ("max", "min", "amax", "amin", "argmax", "argmin") and dim is None
    )
    case = Case(
        op,
        lambda t: fn(t, dim, keepdim),
        [x],
        "exact" if op in ("max", "min", "amax", "amin", "argmax", "argmin") else "reduce",
        oracle=lambda t: oracle(t, dim, keepdim),
        note=f"dim={dim}, keepdim={keepdim}",
    )
    case.extra["terms"] = max(_reduced(x.shape, dim), 1)
    if op in ("var", "var0", "std"):
        case.extra["terms"] *= 4  # squares of the values: scale the rounding error up
    if op in ("mean", "var", "var0", "std", "logsumexp"):
        case.extra["oracle_dtype_free"] = True  # torch refuses ints here; tinygpt makes floats
    check(case, device)


@pytest.mark.parametrize("op", ["any", "all"])
@fuzz_settings()
@given(data=st.data())
def test_any_all(device, op, data):
    x = data.draw(operands(data.draw(shapes()), data.draw(dtypes(device))))
    fn = (lambda t: t.any()) if op == "any" else (lambda t: t.all())
    check(Case(op, fn, [x], "exact", oracle=fn), device)
