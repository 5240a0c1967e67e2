"""Forward fuzzing of movement, indexing (get and set) and matmul: each backend against the
numpy reference, its own contiguous copy, and an oracle (PyTorch, or NumPy for indexing).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from fuzz_profiles import fuzz_settings
from harness import Case, check, torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    ALL_DTYPES,
    Operand,
    View,
    broadcastable_shapes,
    dtypes,
    operands,
    shapes,
)

import tinygpt as tg

pytestmark = [pytest.mark.fuzz, pytest.mark.filterwarnings("ignore::RuntimeWarning")]


def _draw_x(data, device, min_dims=0, max_dims=4, dtype=None):
    dtype = dtype or data.draw(dtypes(device))
    return data.draw(operands(data.draw(shapes(min_dims, max_dims)), dtype))


@st.composite
def same_size_shapes(draw, numel: int) -> tuple[int, ...]:
    """A shape with `numel` elements (maybe with one -1), made by regrouping its factors."""
    if numel == 0:
        shape = list(draw(shapes(1, 3)))
        shape[draw(st.integers(0, len(shape) - 1))] = 0
        return tuple(shape)
    factors = [p for p in (2, 3, 5, 7) for _ in range(20) if numel % p ** (_ + 1) == 0]
    rest = numel // math.prod(factors)
    dims = [rest] if rest > 1 else []
    for f in draw(st.permutations(factors)):
        if dims and draw(st.booleans()):
            dims[draw(st.integers(0, len(dims) - 1))] *= f
        else:
            dims.append(f)
    for _ in range(draw(st.integers(0, 2))):
        dims.insert(draw(st.integers(0, len(dims))), 1)
    if dims and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return tuple(dims)


# --- movement -------------------------------------------------------------------------------
@fuzz_settings()
@given(data=st.data())
def test_reshape(device, data):
    x = _draw_x(data, device)
    shape = data.draw(same_size_shapes(math.prod(x.shape)))
    fn = lambda t: t.reshape(*shape)  # noqa: E731
    check(Case("reshape", fn, [x], "exact", oracle=fn, note=f"{shape}"), device)


@fuzz_settings()
@given(data=st.data())
def test_permute_transpose_flip(device, data):
    x = _draw_x(data, device, min_dims=1)
    ndim = len(x.shape)
    perm = tuple(data.draw(st.permutations(range(ndim))))
    steps = tuple(data.draw(st.sampled_from([1, -1, -2, 2])) for _ in range(ndim))
    flips = tuple(slice(None, None, s) for s in steps)

    def fn(t):
        return t.permute(*perm)[flips].transpose(0, -1).contiguous()

    def oracle(t):
        return np.ascontiguousarray(np.swapaxes(t.transpose(perm)[flips], 0, -1))

    case = Case("permute_flip", fn, [x], "exact", oracle=oracle, note=f"{perm}, steps {steps}")
    case.extra["numpy_oracle"] = True
    check(case, device)


@fuzz_settings()
@given(data=st.data())
def test_cat_stack(device, data):
    base = data.draw(shapes(1, 3))
    dim = data.draw(st.integers(-len(base), len(base) - 1))
    stack = data.draw(st.booleans())
    count = data.draw(st.integers(1, 3))
    dtype = data.draw(dtypes(device))
    parts = []
    for _ in range(count):
        shape = list(base)
        if not stack:
            shape[dim] = data.draw(st.integers(0, 3))
        mixed = data.draw(st.integers(0, 4)) == 0  # now and then a part of another dtype
        part_dtype = data.draw(dtypes(device)) if mixed else dtype
        parts.append(data.draw(operands(tuple(shape), part_dtype)))
    if stack:
        fn = lambda *ts: tg.stack(list(ts), dim)  # noqa: E731
        oracle = lambda *ts: torch.stack(list(ts), dim)  # noqa: E731
    else:
        fn = lambda *ts: tg.cat(list(ts), dim)  # noqa: E731
        oracle = lambda *ts: torch.cat(list(ts), dim)  # noqa: E731
    op = "stack" if stack else "cat"
    check(Case(op, fn, parts, "exact", oracle=oracle, note=f"dim={dim}"), device)


@fuzz_settings()
@given(data=st.data())
def test_split_chunk(device, data):
    x = _draw_x(data, device, min_dims=1)
    dim = data.draw(st.integers(-len(x.shape), len(x.shape) - 1))
    size = x.shape[dim]
    form = data.draw(st.sampled_from(["int", "sections", "chunk"]))
    if form == "int":
        arg = data.draw(st.integers(1, 4))
        fn = lambda t: t.split(arg, dim)  # noqa: E731
    elif form == "sections":
        cuts = sorted(data.draw(st.lists(st.integers(0, size), max_size=3)))
        arg = [b - a for a, b in zip([0] + cuts, cuts + [size])]
        fn = lambda t: t.split(arg, dim)  # noqa: E731
    else:
        arg = data.draw(st.integers(1, 4))
        fn = lambda t: t.chunk(arg, dim)  # noqa: E731
    check(Case(form, fn, [x], "exact", oracle=fn, note=f"{arg}, dim={dim}"), device)


@fuzz_settings()
@given(data=st.data())
def test_pad(device, data):
    x = _draw_x(data, device, min_dims=1, dtype=data.draw(dtypes(device, ALL_DTYPES[:5])))
    pairs = data.draw(st.integers(1, len(x.shape)))
    pads = [data.draw(st.integers(0, 2)) for _ in range(2 * pairs)]
    value = data.draw(st.sampled_from([0.0, 1.5, -2.0]))

    def oracle(t):
        return torch.nn.functional.pad(t, pads, value=value)

    fn = lambda t: tg.pad(t, pads, value)  # noqa: E731
    check(Case("pad", fn, [x], "exact", oracle=oracle, note=f"{pads}, value={value}"), device)


@fuzz_settings()
@given(data=st.data())
def test_tril_triu_squeeze(device, data):
    x = _draw_x(data, device, min_dims=2)
    diagonal = data.draw(st.integers(-2, 2))
    upper = data.draw(st.booleans())

    def fn(t):
        out = t.triu(diagonal) if upper else t.tril(diagonal)
        return out.unsqueeze(1).flatten(0, 1).squeeze()

    op = "triu" if upper else "tril"
    check(Case(op, fn, [x], "exact", oracle=fn, note=f"diagonal={diagonal}"), device)


# --- indexing -------------------------------------------------------------------------------
@st.composite
def index_arrays(draw, size: int, device_dtype: str = "int64") -> np.ndarray:
    """An int index into a dim of `size`: repeats and negative indices included."""
    shape = draw(shapes(0, 2, 3))
    if size == 0:
        shape = (0,)
    values = (
        draw(
            st.lists(
                st.integers(-size, size - 1), min_size=math.prod(shape), max_size=math.prod(shape)
            )
        )
        if size
        else []
    )
    return np.array(values, dtype=device_dtype).reshape(shape)


@st.composite
def indices(draw, shape: tuple[int, ...]) -> tuple:
    """An index for `shape`: slices, ints, None, `...`, int arrays and bool masks."""
    form = draw(st.sampled_from(["basic", "array", "arrays", "mask", "row_mask"]))
    if form == "mask":
        return (
            draw(
                st.lists(st.booleans(), min_size=math.prod(shape), max_size=math.prod(shape)).map(
                    lambda v: np.array(v, dtype=bool).reshape(shape)
                )
            ),
        )
    items: list = []
    for dim, size in enumerate(shape):
        kind = draw(st.sampled_from(["all", "slice", "int", "array"]))
        if form == "basic" and kind == "array":
            kind = "slice"
        if form == "row_mask" and dim == 0:
            items.append(
                np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=bool)
            )
        elif kind == "int" and size:
            items.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            step = draw(st.sampled_from([1, 2, -1, -2, 3]))
            items.append(slice(draw(st.integers(-size - 1, size + 1)), None, step))
        elif kind == "array" and (
            form == "arrays" or not any(isinstance(i, np.ndarray) for i in items)
        ):
            items.append(draw(index_arrays(size, draw(st.sampled_from(["int64", "int32"])))))
        else:
            items.append(slice(None))
    if form == "basic" and draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    return tuple(items)


def _on(index: tuple, device: str) -> tuple:
    return tuple(tg.tensor(i, device=device) if isinstance(i, np.ndarray) else i for i in index)


def _text(index: tuple) -> str:
    return repr(tuple(i.tolist() if isinstance(i, np.ndarray) else i for i in index))


@fuzz_settings()
@given(data=st.data())
def test_getitem(device, data):
    x = _draw_x(data, device, min_dims=1, max_dims=3)
    index = data.draw(indices(x.shape))
    devices = {}

    def fn(t):
        name = str(t.device)
        devices.setdefault(name, _on(index, name))
        return t[devices[name]]

    case = Case("getitem", fn, [x], "exact", oracle=lambda a: a[index], note=_text(index))
    case.oracle_raises = "shape mismatch"  # NumPy's rules: arrays that do not broadcast
    case.extra["numpy_oracle"] = True
    check(case, device)


@fuzz_settings()
@given(data=st.data())
def test_setitem(device, data):
    """x[index] = value, written through a (non-broadcast) view into its base."""
    dtype = data.draw(dtypes(device))
    view_shape = data.draw(shapes(1, 3))
    x = data.draw(operands(view_shape, dtype, broadcast=False))
    index = data.draw(indices(view_shape))
    try:
        selected = np.zeros(view_shape)[index].shape
    except IndexError:  # arrays that do not broadcast together: tinygpt must refuse too
        selected = ()
    value_dtype = data.draw(st.sampled_from([dtype, data.draw(dtypes(device))]))
    as_scalar = data.draw(st.booleans())
    value_shape = selected[data.draw(st.integers(0, len(selected))) :]
    # NOTE: no nan/inf into integers: that cast is undefined (tested as full(nan) instead)
    exact = value_dtype.startswith("float") and not dtype.startswith("float")
    value = data.draw(operands(value_shape, value_dtype, "ints" if exact else None, dense=True))
    value_np = value.host()
    scalar = value_np.reshape(-1)[0].item() if as_scalar and value_np.size else 1
    view = x.view
    ndim = len(view.base_shape)
    dense = View(view.base_shape, tuple(range(ndim)), (slice(None),) * ndim, view.base_shape)
    base = Operand(x.base, dense, x.style)

    def fn(b):
        name = str(b.device)
        target = view.apply_tg(b)
        target[_on(index, name)] = scalar if as_scalar else tg.tensor(value_np, device=name)
        return b

    def oracle(b):
        target = view.apply_np(b)
        target[index] = scalar if as_scalar else value_np.astype(b.dtype)
        return b

    note = f"view {view!r}, index {_text(index)}, value {scalar if as_scalar else value!r}"
    case = Case("setitem", fn, [base], "exact", oracle=oracle, note=note)
    case.oracle_raises = "shape mismatch"
    case.extra["numpy_oracle"] = True
    check(case, device)


# --- matmul ---------------------------------------------------------------------------------
@fuzz_settings()
@given(data=st.data())
def test_matmul(device, data):
    form = data.draw(st.sampled_from(["1@1", "1@2", "2@1", "2@2", "batched"]))
    m, k, n = (data.draw(st.integers(0, 5)) for _ in range(3))
    batch_a, batch_b = (), ()
    if form == "batched":
        (batch_a, batch_b), _ = data.draw(broadcastable_shapes(2, max_dims=2))
    shape_a = {"1@1": (k,), "1@2": (k,), "2@1": (m, k)}.get(form, batch_a + (m, k))
    shape_b = {"1@1": (k,), "2@1": (k,), "1@2": (k, n)}.get(form, batch_b + (k, n))
    dtype = data.draw(dtypes(device))
    other = dtype if data.draw(st.integers(0, 4)) else data.draw(dtypes(device))
    style = None if dtype == "bool" or dtype.startswith("int") else "normal"
    a = data.draw(operands(shape_a, dtype, style=style))
    b = data.draw(operands(shape_b, other, style=style if other == dtype else None))
    case = Case("matmul", lambda x, y: x @ y, [a, b], "reduce", oracle=lambda x, y: x @ y)
    case.extra["terms"] = max(k, 1)
    case.extra["oracle_dtype_free"] = dtype != other  # PyTorch refuses mixed dtypes
    check(case, device)
