"""Conformance: what the backend declares, and randomized strided views (hypothesis).

The other `test_conformance_*.py` files walk the protocol section by section with fixed
tables; here hypothesis invents shapes, permutations and slices (negative steps included)
and checks that copy, elementwise ops, reductions and matmul read every such view right.
"""

from __future__ import annotations

import inspect

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinygpt.backend.kernels import BACKWARD_OF
from tinygpt.backend.protocol import FUSED_OPS, Backend
from tinygpt.dtypes import DTYPES
from tinygpt.testing.helpers import assert_close, to_ndarray, to_numpy, wrap

# NOTE: the backend fixture is the same object for every example, so sharing it across
# examples is safe; database=None keeps the kit from writing .hypothesis/ where it runs.
KIT_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def test_declarations(kit_backend, kit_device):
    assert isinstance(kit_backend, Backend), f"{kit_device}: not a tinygpt Backend subclass"
    assert kit_backend.name == kit_device.partition(":")[0], (
        f"{kit_device}: Backend.name is {kit_backend.name!r}, expected the device type"
    )
    assert str(kit_backend.device) in (kit_device, f"{kit_device}:0"), (
        f"{kit_device}: backend.device is {kit_backend.device}"
    )
    unknown = set(kit_backend.dtypes) - set(DTYPES.values())
    assert not unknown, f"{kit_device}: dtypes lists unknown dtypes {unknown}"
    assert set(kit_backend.fused_ops) <= FUSED_OPS, f"{kit_device}: unknown fused_ops"


def test_listed_fused_ops_are_implemented(kit_backend):
    for name in kit_backend.fused_ops:
        backward = BACKWARD_OF.get(name)  # None: composed by core (softmax), or none (adamw)
        for method in (name, backward) if backward else (name,):
            # the instance's own: a kernel contributed by a plugin is bound onto the instance
            mine = _implementation(getattr(kit_backend, method))
            assert mine is not getattr(Backend, method), (
                f"{kit_backend.name}: lists fused {name!r} but does not implement {method}"
            )


def _implementation(method):
    """The plain function behind a (maybe check-wrapped) bound method."""
    method = inspect.unwrap(method)
    return getattr(method, "__func__", method)


# ------------------------------------------------------------ random views
@st.composite
def strided_cases(draw, max_dims=3):
    """(data, items, axes): a dense array, a slice per dim, then a permutation."""
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=1, max_size=max_dims)))
    data = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) - 7.5
    items = []
    for size in shape:
        step = draw(st.sampled_from([1, 2, -1, -2]))
        start = draw(st.integers(0, max(size - 1, 0)))
        items.append(slice(start, None, step) if draw(st.booleans()) else slice(None, None, step))
    axes = tuple(draw(st.permutations(range(len(shape)))))
    return data, tuple(items), axes


def _view(backend, data, items, axes):
    """The same slice-then-permute view, built on the backend and in NumPy."""
    view = to_ndarray(backend, data).slice(items).permute(axes)
    return view, data[items].transpose(axes)


@KIT_SETTINGS
@given(case=strided_cases())
def test_random_views_copy_and_elementwise(kit_backend, case):
    data, items, axes = case
    x, x_np = _view(kit_backend, data, items, axes)
    what = f"view {items} permuted {axes} (strides {x.strides}, offset {x.offset})"
    got = to_numpy(wrap(kit_backend, kit_backend.copy(x), x.shape, x.dtype))
    assert_close(got, x_np, f"copy(float32, {what})", rtol=0, atol=0)
    neg = to_numpy(wrap(kit_backend, kit_backend.unary("neg", x), x.shape, x.dtype))
    assert_close(neg, -x_np, f"unary('neg', float32, {what})", rtol=0, atol=0)
    added = to_numpy(wrap(kit_backend, kit_backend.binary("add", x, x), x.shape, x.dtype))
    assert_close(added, x_np + x_np, f"binary('add', float32, {what} twice)", rtol=0, atol=0)


@KIT_SETTINGS
@given(case=strided_cases(), data=st.data())
def test_random_views_reduce(kit_backend, case, data):
    array, items, axes = case
    x, x_np = _view(kit_backend, array, items, axes)
    reduce_axes = tuple(
        sorted(data.draw(st.sets(st.integers(0, x.ndim - 1), min_size=1, max_size=x.ndim)))
    )
    out_shape = tuple(d for i, d in enumerate(x.shape) if i not in reduce_axes)
    raw = kit_backend.reduce("sum", x, reduce_axes)
    got = to_numpy(wrap(kit_backend, raw, out_shape, x.dtype))
    expected = np.sum(x_np.astype(np.float64), axis=reduce_axes).astype(np.float32)
    what = f"reduce('sum', float32, view {items} permuted {axes}, axes={reduce_axes})"
    assert_close(got, expected, what)


@KIT_SETTINGS
@given(
    batch=st.lists(st.integers(1, 3), max_size=2),
    m=st.integers(1, 5),
    k=st.integers(0, 6),
    n=st.integers(1, 5),
    transpose_a=st.booleans(),
    transpose_b=st.booleans(),
)
def test_random_matmul(kit_backend, batch, m, k, n, transpose_a, transpose_b):
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    a_np = rng.uniform(-1, 1, tuple(batch) + (m, k))
    b_np = rng.uniform(-1, 1, tuple(batch) + (k, n))
    a = _matrix(kit_backend, a_np, transpose_a)
    b = _matrix(kit_backend, b_np, transpose_b)
    out_shape = tuple(batch) + (m, n)
    got = to_numpy(wrap(kit_backend, kit_backend.matmul(a, b), out_shape, DTYPES["float64"]))
    what = f"matmul(float64, {a_np.shape} (T={transpose_a}) @ {b_np.shape} (T={transpose_b}))"
    assert_close(got, a_np @ b_np, what)


def _matrix(backend, array, transposed):
    if not transposed:
        return to_ndarray(backend, array)
    axes = tuple(range(array.ndim - 2)) + (array.ndim - 1, array.ndim - 2)
    return to_ndarray(backend, np.ascontiguousarray(array.transpose(axes))).permute(axes)
