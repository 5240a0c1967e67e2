"""Invalid inputs: every backend must raise a typed error that names the problem.

A `tg.TinyGPTError` (ShapeError, DTypeError, ...), or IndexError/ValueError/TypeError where
PyTorch raises those, raised on purpose; never a raw NumPy error, a stray backend exception,
a silently wrong result or a crash. Each generator below draws a random *invalid* call.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from fuzz_profiles import fuzz_settings
from harness import COUNTS, Case, FuzzFailure, _require_typed, run, settle, tick
from hypothesis import given
from hypothesis import strategies as st
from strategies import dtypes, operands, shapes

import tinygpt as tg

pytestmark = [pytest.mark.fuzz, pytest.mark.filterwarnings("ignore::RuntimeWarning")]


@st.composite
def _mismatched(draw):
    """Two shapes that do NOT broadcast: some dim differs and neither side is 1."""
    a = list(draw(shapes(1, 3)))
    b = list(a)
    at = draw(st.integers(0, len(a) - 1))
    a[at] = draw(st.integers(2, 4))
    b[at] = a[at] + draw(st.integers(1, 2))
    return tuple(a), tuple(b)


def _x(data, device, shape=None, dtype=None):
    shape = data.draw(shapes(1, 3)) if shape is None else shape
    return data.draw(operands(shape, dtype or data.draw(dtypes(device, ("float32", "int64")))))


def _invalid(data, device, form):
    """(operands, function, note) for one invalid call of kind `form`."""
    if form == "broadcast":
        sa, sb = data.draw(_mismatched())
        op = data.draw(st.sampled_from(["add", "mul", "lt", "maximum", "where"]))
        fns = {
            "add": lambda a, b: a + b,
            "mul": lambda a, b: a * b,
            "lt": lambda a, b: a < b,
            "maximum": tg.maximum,
            "where": lambda a, b: tg.where(a > 0, a, b),
        }
        return [_x(data, device, sa), _x(data, device, sb)], fns[op], op
    if form == "matmul":
        k = data.draw(st.integers(1, 4))
        sa = data.draw(st.sampled_from([(), (2, k), (k,)]))
        sb = (k + 1, 2) if sa else (k, 2)
        return (
            [_x(data, device, sa, "float32"), _x(data, device, sb, "float32")],
            (lambda a, b: a @ b),
            f"{sa} @ {sb}",
        )
    x = _x(data, device)
    n, ndim = math.prod(x.shape), len(x.shape)
    if form == "reshape":
        return [x], lambda t: t.reshape(n + 1), f"to {n + 1}"
    if form == "dim":
        bad = data.draw(st.sampled_from([ndim, -ndim - 1, ndim + 3]))
        op = data.draw(st.sampled_from(["sum", "softmax", "argmax", "max", "cat", "split"]))
        fns = {
            "sum": lambda t: t.sum(bad),
            "softmax": lambda t: t.softmax(bad),
            "argmax": lambda t: t.argmax(bad),
            "max": lambda t: t.max(bad),
            "cat": lambda t: tg.cat([t, t], bad),
            "split": lambda t: t.split(1, bad),
        }
        return [x], fns[op], f"{op}(dim={bad})"
    if form == "permute":
        bad = [tuple(range(ndim + 1)), (ndim,) + tuple(range(1, ndim))]  # too many, too big
        bad += [(0,) * ndim] if ndim > 1 else []  # a repeat
        perm = data.draw(st.sampled_from(bad))
        return [x], lambda t: t.permute(*perm), f"permute{perm}"
    if form == "index":
        size = x.shape[0]
        bad = data.draw(st.sampled_from([size, -size - 1, size + 7]))
        as_array = data.draw(st.booleans())
        index = np.array([0, bad]) if as_array and size else bad

        def fn(t):
            return t[tg.tensor(index, device=device) if as_array else index]

        return [x], fn, f"[{index!r}] of dim 0 size {size}"
    if form == "mask":
        wrong = x.shape[:-1] + (x.shape[-1] + 1,)
        mask = np.ones(wrong, dtype=bool)
        return [x], lambda t: t[tg.tensor(mask, device=device)], f"mask of shape {wrong}"
    if form == "setitem":
        wrong = (x.shape[-1] + 2,)  # neither the size nor 1: does not broadcast

        def fn(t):
            t = t.contiguous()
            t[...] = tg.ones(*wrong, dtype=t.dtype, device=device)
            return t

        return [x], fn, f"x[...] = ones{wrong}"
    if form == "split":
        sections = [x.shape[0] + 1]
        return [x], lambda t: t.split(sections, 0), f"split({sections})"
    if form == "pad":
        return [x], lambda t: tg.pad(t, [-1, 0]), "pad([-1, 0])"
    if form == "fill_nan":
        value = data.draw(st.sampled_from([math.nan, math.inf, -math.inf, 1e30]))
        dtype = data.draw(st.sampled_from(["int32", "int64"]))
        op = data.draw(st.sampled_from(["full", "tensor", "fill_"]))
        fns = {
            "full": lambda t: tg.full((2,), value, dtype=getattr(tg, dtype), device=device),
            "tensor": lambda t: tg.tensor([value], dtype=getattr(tg, dtype), device=device),
            "fill_": lambda t: tg.zeros(2, dtype=getattr(tg, dtype), device=device).fill_(value),
        }
        return [], fns[op], f"{op}({value}, dtype={dtype})"
    if form == "cross_entropy":
        c = data.draw(st.integers(1, 4))
        bad = data.draw(st.sampled_from([c, c + 3, -1, -7]))
        logits = _x(data, device, (2, c), "float32")

        def fn(t):
            return tg.cross_entropy(t, tg.tensor([0, bad], device=device))

        return [logits], fn, f"target {bad} with {c} classes"
    if form == "conv":
        x = _x(data, device, (1, 1, 2, 2), "float32")
        w = _x(data, device, (1, 1, 3, 3), "float32")
        return [x, w], lambda t, wt: tg.conv2d(t, wt), "3x3 kernel over a 2x2 image"
    if form == "index_dtype":
        return [x], lambda t: t[tg.tensor([0.0], device=device)], "float index"
    raise AssertionError(form)


FORMS = [
    "broadcast",
    "matmul",
    "reshape",
    "dim",
    "permute",
    "index",
    "mask",
    "setitem",
    "split",
    "pad",
    "fill_nan",
    "cross_entropy",
    "conv",
    "index_dtype",
]
# the same bad indices and targets with core's host-side checks off: the kernels must catch them
UNCHECKED = {"index_unchecked": "index", "cross_entropy_unchecked": "cross_entropy"}


def _unchecked(fn):
    """fn with TINYGPT_CHECKS=0 (the default outside the test suite)."""

    def call(*args):
        saved = os.environ.get("TINYGPT_CHECKS")
        os.environ["TINYGPT_CHECKS"] = "0"
        try:
            return fn(*args).numpy()  # NOTE: a device-side error may only show on the read
        finally:
            os.environ["TINYGPT_CHECKS"] = saved if saved is not None else ""

    return call


@pytest.mark.parametrize("form", FORMS + sorted(UNCHECKED))
@fuzz_settings()
@given(data=st.data())
def test_invalid_input_raises_typed_error(device, form, data):
    import known

    inputs, fn, note = _invalid(data, device, UNCHECKED.get(form, form))
    tick()  # NOTE: after the draws: hypothesis wants every run to draw the same way
    if form in UNCHECKED:
        fn = _unchecked(fn)
    case = Case(form, fn, inputs, note=note)
    entry = known.match(case, device)
    if entry is not None and entry.crash:
        return
    COUNTS[device] += 1
    got = run(fn, [o.on(device) for o in inputs])
    try:
        if got.error is None:
            raise FuzzFailure(f"{device}: invalid input returned {got!r}\n{case.describe()}")
        _require_typed(case, device, got)
    except FuzzFailure as failure:
        settle(case, device, failure, entry)
