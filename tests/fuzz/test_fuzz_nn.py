"""Forward fuzzing of the fused-or-composite ops: softmax, log_softmax, layer_norm,
cross_entropy, attention, and of conv2d and pooling (small), against the numpy reference,
the contiguous copy and PyTorch. Each runs through the backend's fused kernel and through
core's composite fallback (`path`).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
from fuzz_profiles import fuzz_settings
from harness import Case, check, torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import FLOAT_DTYPES, Operand, View, dtypes, operands, shapes

import tinygpt as tg

pytestmark = [pytest.mark.fuzz, pytest.mark.filterwarnings("ignore::RuntimeWarning")]
PATHS = ["fused", "composite"]


@contextlib.contextmanager
def kernels(device: str, path: str):
    """Hide the backend's fused kernels for the composite path (core then composes them)."""
    backend = tg.get_backend(device)
    if path == "fused":
        yield
        return
    had_own = "fused_ops" in vars(backend)
    saved = backend.fused_ops
    backend.fused_ops = frozenset()
    try:
        yield
    finally:
        if had_own:
            backend.fused_ops = saved
        else:
            del backend.fused_ops


def _tf():
    return torch.nn.functional


def _float(data, device):
    return data.draw(dtypes(device, FLOAT_DTYPES))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@fuzz_settings()
@given(data=st.data())
def test_softmax(device, op, path, data):
    x = data.draw(operands(data.draw(shapes(1, 4, long=True)), data.draw(dtypes(device))))
    dim = data.draw(st.integers(-len(x.shape), len(x.shape) - 1))
    fn = lambda t: getattr(t, op)(dim)  # noqa: E731
    case = Case(op, fn, [x], "reduce", oracle=lambda t: getattr(t, op)(dim), note=f"dim={dim}")
    case.extra["path"] = path
    case.extra["oracle_dtype_free"] = True  # ints: tinygpt makes float32, PyTorch refuses
    with kernels(device, path):
        check(case, device)


@pytest.mark.parametrize("path", PATHS)
@fuzz_settings()
@given(data=st.data())
def test_layer_norm(device, path, data):
    dtype = _float(data, device)
    shape = data.draw(shapes(1, 4))
    count = data.draw(st.integers(1, min(2, len(shape))))
    normalized = shape[len(shape) - count :]
    x = data.draw(operands(shape, dtype))
    params = [x]
    affine = data.draw(st.booleans())
    if affine:
        params += [data.draw(operands(normalized, dtype)) for _ in range(2)]
    eps = data.draw(st.sampled_from([1e-5, 1e-3]))

    def fn(t, *wb):
        return tg.layer_norm(t, normalized, *wb, eps=eps)

    def oracle(t, *wb):
        return _tf().layer_norm(t, normalized, *wb, eps=eps)

    case = Case("layer_norm", fn, params, "reduce", oracle=oracle, note=f"{normalized}")
    case.extra["terms"] = 4 * max(math.prod(normalized), 1)
    with kernels(device, path):
        check(case, device)


@pytest.mark.parametrize("path", PATHS)
@fuzz_settings()
@given(data=st.data())
def test_cross_entropy(device, path, data):
    dtype = _float(data, device)
    n, c = data.draw(st.integers(0, 5)), data.draw(st.integers(1, 5))
    form = data.draw(st.sampled_from(["rows", "one", "spatial"]))
    extra = (data.draw(st.integers(0, 3)),) if form == "spatial" else ()
    logits_shape = (c,) if form == "one" else (n, c) + extra
    target_shape = () if form == "one" else (n,) + extra
    ignore = data.draw(st.sampled_from([-100, 0, 2]))
    logits = data.draw(operands(logits_shape, dtype))
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, c, math.prod(target_shape))
    classes = np.where(rng.random(classes.size) < 0.25, ignore, classes).reshape(target_shape)
    identity = tuple(range(len(target_shape)))
    dense = View(target_shape, identity, (slice(None),) * len(target_shape), target_shape)
    target = Operand(classes.astype(np.int64), dense, "classes")
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    smoothing = data.draw(st.sampled_from([0.0, 0.0, 0.1]))
    kw = dict(ignore_index=ignore, reduction=reduction, label_smoothing=smoothing)
    case = Case(
        "cross_entropy",
        lambda x, t: tg.cross_entropy(x, t, **kw),
        [logits, target],
        "reduce",
        oracle=lambda x, t: _tf().cross_entropy(x, t, **kw),
        note=", ".join(f"{k}={v!r}" for k, v in kw.items()),
    )
    case.extra["terms"] = 4 * max(c * math.prod(target_shape), 1)
    with kernels(device, path):
        check(case, device)


@pytest.mark.parametrize("path", PATHS)
@fuzz_settings()
@given(data=st.data())
def test_attention(device, path, data):
    dtype = _float(data, device)
    b, h = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    tq, tk, e = (data.draw(st.integers(1, 5)) for _ in range(3))
    causal = data.draw(st.booleans())
    if causal:
        tk = tq  # PyTorch and tinygpt align a non-square causal mask differently
    q = data.draw(operands((b, h, tq, e), dtype, style="normal"))
    k = data.draw(operands((b, h, tk, e), dtype, style="normal"))
    v = data.draw(operands((b, h, tk, e), dtype, style="normal"))
    case = Case(
        "attention",
        lambda *t: tg.scaled_dot_product_attention(*t, is_causal=causal),
        [q, k, v],
        "reduce",
        oracle=lambda *t: _tf().scaled_dot_product_attention(*t, is_causal=causal),
        note=f"is_causal={causal}",
    )
    case.extra["terms"] = 4 * tk * e
    with kernels(device, path):
        check(case, device)


@fuzz_settings()
@given(data=st.data())
def test_conv2d(device, data):
    dtype = _float(data, device)
    groups = data.draw(st.sampled_from([1, 1, 2]))
    n, cin, cout = (
        data.draw(st.integers(1, 2)),
        groups * data.draw(st.integers(1, 2)),
        groups * data.draw(st.integers(1, 2)),
    )
    h, w = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    kh, kw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    stride, padding, dilation = (
        data.draw(st.integers(1, 2)),
        data.draw(st.integers(0, 1)),
        data.draw(st.integers(1, 2)),
    )
    x = data.draw(operands((n, cin, h, w), dtype, style="normal"))
    weight = data.draw(operands((cout, cin // groups, kh, kw), dtype, style="normal"))
    params = [x, weight]
    if data.draw(st.booleans()):
        params.append(data.draw(operands((cout,), dtype, style="normal")))
    kw_args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)

    def fn(t, wt, *bias):
        return tg.conv2d(t, wt, *bias, **kw_args)

    def oracle(t, wt, *bias):
        return _tf().conv2d(t, wt, *bias, **kw_args)

    case = Case("conv2d", fn, params, "reduce", oracle=oracle, note=f"{kw_args}")
    case.extra["terms"] = cin * kh * kw
    check(case, device)


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
@fuzz_settings()
@given(data=st.data())
def test_pool2d(device, op, data):
    dtype = _float(data, device)
    shape = (
        data.draw(st.integers(1, 2)),
        data.draw(st.integers(1, 2)),
        data.draw(st.integers(1, 6)),
        data.draw(st.integers(1, 6)),
    )
    x = data.draw(operands(shape, dtype))
    kernel = data.draw(st.integers(1, 3))
    stride = data.draw(st.sampled_from([None, 1, 2]))
    padding = data.draw(st.integers(0, kernel // 2))
    kw = dict(stride=stride, padding=padding)
    if op == "avg_pool2d":
        kw["count_include_pad"] = data.draw(st.booleans())

    def fn(t):
        return getattr(tg, op)(t, kernel, **kw)

    def oracle(t):
        return getattr(_tf(), op)(t, kernel, **kw)

    case = Case(op, fn, [x], "reduce", oracle=oracle, note=f"kernel={kernel}, {kw}")
    case.extra["terms"] = kernel * kernel
    check(case, device)
