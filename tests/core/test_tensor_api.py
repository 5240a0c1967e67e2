"""The Tensor API: creation, conversion, attributes, dtype promotion, and autograd mechanics."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg

DTYPE_NAMES = ["bool", "int32", "int64", "float16", "float32", "float64"]


def dt(name: str):
    """tg.float32 etc. by name (`bool` is spelled `tg.bool` like torch, or `tg.bool_`)."""
    return getattr(tg, name, None) or getattr(tg, name + "_")


def require_dtype(device: str, name: str) -> None:
    try:
        tg.zeros(1, dtype=dt(name), device=device)
    except tg.DTypeError as error:
        pytest.skip(f"{device} does not support {name}: {error}")


# --- creation ---------------------------------------------------------------------------------

# fmt: off
INFERENCE = [
    # data                          dtype      shape
    (3.0,                           "float32", ()),
    (3,                             "int64",   ()),
    (True,                          "bool",    ()),
    ([1.0, 2.0],                    "float32", (2,)),
    ([1, 2, 3],                     "int64",   (3,)),
    ([True, False],                 "bool",    (2,)),
    ([[1, 2.5], [3, 4]],            "float32", (2, 2)),  # mixed ints and floats -> float
    ([[]],                          "float32", (1, 0)),
    (np.ones((2, 3), np.float64),   "float64", (2, 3)),  # NumPy arrays keep their dtype
    (np.ones(2, np.float32),        "float32", (2,)),
    (np.ones(2, np.float16),        "float16", (2,)),
    (np.arange(3, dtype=np.int32),  "int32",   (3,)),
    (np.arange(3, dtype=np.int64),  "int64",   (3,)),
    (np.array([True]),              "bool",    (1,)),
    (np.float64(2.5),               "float64", ()),
]
# fmt: on


@pytest.mark.parametrize("data, dtype, shape", INFERENCE)
def test_tensor_infers_dtype_like_torch(data, dtype, shape, device):
    require_dtype(device, dtype)
    x = tg.tensor(data, device=device)
    assert x.dtype == dt(dtype)
    assert tuple(x.shape) == shape
    np.testing.assert_array_equal(x.numpy(), np.asarray(data, dtype=dtype))


def test_tensor_with_explicit_dtype(device):
    x = tg.tensor([1, 2], dtype=tg.float32, device=device)
    assert x.dtype == tg.float32
    assert x.tolist() == [1.0, 2.0]
    assert tg.tensor([1.7, -1.7], dtype=tg.int64, device=device).tolist() == [1, -1]


def test_tensor_copies_its_data(device):
    source = np.zeros(3, np.float32)
    x = tg.tensor(source, device=device)
    source[0] = 5.0
    assert x.tolist() == [0.0, 0.0, 0.0]


# fmt: off
FACTORIES = [
    # call                                       expected
    (lambda d: tg.zeros(2, 3, device=d),          np.zeros((2, 3), np.float32)),
    (lambda d: tg.zeros((2, 3), device=d),        np.zeros((2, 3), np.float32)),
    (lambda d: tg.zeros(0, device=d),             np.zeros(0, np.float32)),
    (lambda d: tg.zeros((), device=d),            np.zeros((), np.float32)),
    (lambda d: tg.ones(3, dtype=tg.int64, device=d), np.ones(3, np.int64)),
    (lambda d: tg.ones((2, 2), device=d),         np.ones((2, 2), np.float32)),
    (lambda d: tg.full((2, 3), 7.5, device=d),    np.full((2, 3), 7.5, np.float32)),
    (lambda d: tg.full((2,), 7, device=d),        np.full(2, 7, np.int64)),
    (lambda d: tg.full((2,), True, device=d),     np.full(2, True)),
    (lambda d: tg.full((2,), 1, dtype=tg.float64, device=d), np.ones(2, np.float64)),
    (lambda d: tg.arange(5, device=d),            np.arange(5, dtype=np.int64)),
    (lambda d: tg.arange(2, 8, 2, device=d),      np.arange(2, 8, 2, dtype=np.int64)),
    (lambda d: tg.arange(5, 0, -2, device=d),     np.arange(5, 0, -2, dtype=np.int64)),
    (lambda d: tg.arange(0, 1, 0.25, device=d),   np.arange(0, 1, 0.25, dtype=np.float32)),
    (lambda d: tg.arange(0.0, 3.0, device=d),     np.arange(3, dtype=np.float32)),
    (lambda d: tg.arange(0, 6, 2, dtype=tg.float32, device=d), np.array([0, 2, 4], np.float32)),
    (lambda d: tg.arange(3, 3, device=d),         np.arange(0, dtype=np.int64)),
    (lambda d: tg.eye(3, device=d),               np.eye(3, dtype=np.float32)),
    (lambda d: tg.eye(2, 3, device=d),            np.eye(2, 3, dtype=np.float32)),
]
# fmt: on


@pytest.mark.parametrize("make, expected", FACTORIES)
def test_factories(make, expected, device):
    require_dtype(device, expected.dtype.name)
    x = make(device)
    assert str(x.device) == str(tg.device(device))
    assert x.numpy().dtype == expected.dtype
    assert tuple(x.shape) == expected.shape
    np.testing.assert_array_equal(x.numpy(), expected)


def test_empty_has_shape_and_dtype(device):
    x = tg.empty(2, 3, device=device)
    assert tuple(x.shape) == (2, 3)
    assert x.dtype == tg.float32
    assert tg.empty((4,), dtype=tg.int64, device=device).dtype == tg.int64


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_like_factories_keep_shape_dtype_device(dtype, device):
    x = tg.zeros(2, 3, dtype=dt(dtype), device=device)
    for like, value in [(tg.zeros_like, 0), (tg.ones_like, 1), (tg.full_like, 1)]:
        y = like(x, value) if like is tg.full_like else like(x)
        assert (tuple(y.shape), y.dtype, str(y.device)) == ((2, 3), x.dtype, str(x.device))
        np.testing.assert_array_equal(y.numpy(), np.full((2, 3), value, dtype))
    y = tg.empty_like(x)
    assert (tuple(y.shape), y.dtype, str(y.device)) == ((2, 3), x.dtype, str(x.device))
    assert tg.zeros_like(x, dtype=tg.float64).dtype == tg.float64


def test_rand_randn_randint(device):
    tg.manual_seed(0)
    u = tg.rand(10_000, device=device).numpy()
    assert u.dtype == np.float32
    assert 0.0 <= u.min() and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.02
    n = tg.randn(100, 100, device=device).numpy()
    assert n.shape == (100, 100)
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1.0) < 0.05
    i = tg.randint(-3, 5, (1000,), device=device)
    assert i.dtype == tg.int64
    assert set(i.tolist()) == set(range(-3, 5))


@pytest.mark.parametrize(
    "make", [tg.rand, tg.randn, lambda *s, device: tg.randint(0, 9, s, device=device)]
)
def test_manual_seed_reproduces(make, device):
    tg.manual_seed(1234)
    a = make(3, 4, device=device).numpy()
    b = make(3, 4, device=device).numpy()
    tg.manual_seed(1234)
    again = make(3, 4, device=device).numpy()
    tg.manual_seed(4321)
    other = make(3, 4, device=device).numpy()
    np.testing.assert_array_equal(a, again)
    assert not np.array_equal(a, b)  # the generator advances
    assert not np.array_equal(a, other)  # another seed, other numbers


# --- conversion and attributes ----------------------------------------------------------------


def test_from_numpy_and_numpy_round_trip(device):
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    x = tg.from_numpy(array).to(device)
    assert x.dtype == tg.float32
    out = x.numpy()
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, array)
    assert tg.from_numpy(np.arange(3)).dtype == tg.int64


def test_item_and_tolist(device):
    assert tg.tensor(2.5, device=device).item() == 2.5
    assert isinstance(tg.tensor(2.5, device=device).item(), float)
    assert isinstance(tg.tensor([7], device=device).item(), int)
    assert tg.tensor(True, device=device).item() is True
    assert tg.tensor([[1, 2], [3, 4]], device=device).tolist() == [[1, 2], [3, 4]]
    assert tg.tensor(1.5, device=device).tolist() == 1.5
    with pytest.raises((ValueError, RuntimeError)):
        tg.tensor([1.0, 2.0], device=device).item()


def test_to_dtype_and_device(device):
    x = tg.tensor([1.5, -2.5], device=device)
    y = x.to(tg.int64)
    assert y.dtype == tg.int64 and y.tolist() == [1, -2]  # truncates toward zero
    assert x.to(dt("bool")).tolist() == [True, True]
    assert x.to(device).tolist() == [1.5, -2.5]
    assert str(x.to("numpy").device) == "numpy"
    assert str(tg.tensor([1.0], device="numpy").to(device).device) == str(tg.device(device))
    assert x.to(tg.device(device)).tolist() == [1.5, -2.5]


def test_attributes(device):
    x = tg.zeros(2, 3, 4, device=device)
    assert x.shape == (2, 3, 4)
    assert isinstance(x.shape, tuple)
    assert x.ndim == 3
    assert x.dtype == tg.float32
    assert str(x.device) == str(tg.device(device))
    assert x.numel() == 24
    assert x.size() == (2, 3, 4)
    assert x.size(1) == 3 and x.size(-1) == 4
    assert len(x) == 2
    with pytest.raises(TypeError):
        len(tg.tensor(1.0, device=device))


def test_repr_shows_values_dtype_and_device(device):
    text = repr(tg.tensor([1, 2, 3], dtype=tg.int32, device=device))
    assert "1" in text and "2" in text and "3" in text
    assert "int32" in text
    assert str(tg.device(device)).split(":")[0] in text
    assert "requires_grad=True" in repr(tg.tensor([1.5], requires_grad=True, device=device))


# --- dtype promotion --------------------------------------------------------------------------

# fmt: off
PROMOTION = [
    # a dtype    b (dtype or Python scalar)  op                       result
    ("int64",   "float32",  lambda a, b: a + b,   "float32"),
    ("int32",   "int64",    lambda a, b: a + b,   "int64"),
    ("bool",    "int32",    lambda a, b: a + b,   "int32"),
    ("float32", "float64",  lambda a, b: a + b,   "float64"),
    ("float16", "float32",  lambda a, b: a * b,   "float32"),
    ("int32",   "float16",  lambda a, b: a * b,   "float16"),
    ("float32", 2,          lambda a, b: a * b,   "float32"),
    ("float16", 2.5,        lambda a, b: a * b,   "float16"),
    ("int64",   2.5,        lambda a, b: a * b,   "float32"),
    ("int32",   2,          lambda a, b: a * b,   "int32"),
    ("bool",    1,          lambda a, b: a + b,   "int64"),
    ("int64",   "int64",    lambda a, b: a / b,   "float32"),  # true division
    ("int32",   2,          lambda a, b: a / b,   "float32"),
    ("int64",   "float32",  lambda a, b: a < b,   "bool"),
    ("float32", 0.5,        lambda a, b: a == b,  "bool"),
]
# fmt: on


@pytest.mark.parametrize("a, b, op, expected", PROMOTION)
def test_promotion_table(a, b, op, expected, device):
    for name in (a, b, expected):
        if isinstance(name, str):
            require_dtype(device, name)
    x = tg.tensor([1, 3, 1], dtype=dt(a), device=device)
    y = tg.tensor([1, 1, 2], dtype=dt(b), device=device) if isinstance(b, str) else b
    assert op(x, y).dtype == dt(expected)
    assert op(y, x).dtype == dt(expected)  # reflected / commuted
    # and the values are those of the promoted inputs
    x64 = x.numpy().astype(np.float64)
    y64 = y.numpy().astype(np.float64) if isinstance(b, str) else b
    expected_values = np.asarray(op(x64, y64), dtype=np.float64)
    got = op(x, y).numpy().astype(np.float64)
    np.testing.assert_allclose(got, expected_values, rtol=1e-3)


def test_integer_true_division_values(device):
    q = tg.tensor([3, -3], device=device) / tg.tensor([2, 2], device=device)
    assert q.tolist() == [1.5, -1.5]


KIND = {"bool": 0, "int32": 1, "int64": 1, "float16": 2, "float32": 2, "float64": 2}


@given(a=st.sampled_from(DTYPE_NAMES), b=st.sampled_from(DTYPE_NAMES))
def test_promotion_is_commutative_and_never_demotes(a, b):
    try:
        x = tg.ones(2, dtype=dt(a))
        y = tg.ones(2, dtype=dt(b))
    except tg.DTypeError:
        return  # the default backend does not store one of them
    result = (x + y).dtype
    assert result == (y + x).dtype
    assert result.name in (a, b)  # no new dtype appears out of two tensors
    assert KIND[result.name] == max(KIND[a], KIND[b])
    assert (x * y).dtype == result
    np.testing.assert_array_equal((x + y).numpy(), np.full(2, 2, dtype=result.name))


# --- grad mode --------------------------------------------------------------------------------


def test_to_another_float_dtype_is_differentiable(device):
    require_dtype(device, "float64")
    x = tg.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = x.to(tg.float64)
    assert y.dtype == tg.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == tg.float32
    assert x.grad.tolist() == [2.0, 4.0]


def test_requires_grad_and_detach(device):
    x = tg.tensor([1.0, 2.0], device=device)
    assert x.requires_grad is False
    assert x.requires_grad_() is x
    assert x.requires_grad is True
    y = x * 2
    assert y.requires_grad is True
    assert y.grad_fn is not None
    d = y.detach()
    assert d.requires_grad is False and d.grad_fn is None
    assert d.tolist() == [2.0, 4.0]
    x.requires_grad_(False)
    assert x.requires_grad is False


def test_no_grad_and_enable_grad_as_context_managers(device):
    x = tg.tensor([1.0, 2.0], requires_grad=True, device=device)
    with tg.no_grad():
        y = x * 2
        with tg.enable_grad():
            z = x * 2
    assert y.requires_grad is False
    assert z.requires_grad is True
    assert (x * 2).requires_grad is True  # the mode is restored on exit


def test_no_grad_and_enable_grad_as_decorators(device):
    x = tg.tensor([1.0, 2.0], requires_grad=True, device=device)

    @tg.no_grad()
    def frozen(t):
        return t * 2

    @tg.enable_grad()
    def recorded(t):
        return t * 2

    assert frozen(x).requires_grad is False
    with tg.no_grad():
        assert recorded(x).requires_grad is True
    assert (x * 2).requires_grad is True


def test_no_grad_restores_the_mode_after_an_exception(device):
    x = tg.tensor([1.0], requires_grad=True, device=device)
    with pytest.raises(ZeroDivisionError), tg.no_grad():
        raise ZeroDivisionError
    assert (x * 2).requires_grad is True


# --- backward ---------------------------------------------------------------------------------


def test_backward_accumulates_into_grad(device):
    x = tg.tensor([1.0, 2.0], requires_grad=True, device=device)
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    (x * 3).sum().backward()
    assert x.grad.tolist() == [5.0, 7.0]
    assert x.grad.requires_grad is False


def test_intermediate_tensors_get_no_grad(device):
    x = tg.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = x * 2
    y.sum().backward()
    assert y.grad is None
    assert x.grad.tolist() == [2.0, 2.0]


def test_second_backward_needs_retain_graph(device):
    x = tg.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_a_second_backward(device):
    x = tg.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)


def test_backward_with_explicit_gradient(device):
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, device=device)
    y = x * x
    y.backward(gradient=tg.tensor([[1.0, 0.0], [0.5, 2.0]], device=device))
    assert x.grad.tolist() == [[2.0, 0.0], [3.0, 16.0]]


def test_backward_on_non_scalar_needs_gradient(device):
    x = tg.tensor([1.0, 2.0], requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="gradient"):
        (x * 2).backward()


def test_autograd_grad_leaves_dot_grad_alone(device):
    a = tg.tensor([1.0, 2.0], requires_grad=True, device=device)
    b = tg.tensor([3.0, 4.0], requires_grad=True, device=device)
    da, db = tg.autograd.grad((a * b).sum(), [a, b])
    assert da.tolist() == [3.0, 4.0]
    assert db.tolist() == [1.0, 2.0]
    assert a.grad is None and b.grad is None
    (g,) = tg.autograd.grad((a * a).sum(), a)
    assert g.tolist() == [2.0, 4.0]


# fmt: off
SHARED = [
    # name                  f(h), h = x * x used twice: d/dx = f'(h) * 2x
    ("h * 3 + h.exp()",     lambda h: h * 3 + h.exp(),      lambda h: 3 + np.exp(h)),
    ("h.exp() + h * 3",     lambda h: h.exp() + h * 3,      lambda h: 3 + np.exp(h)),
    ("h + h.exp()",         lambda h: h + h.exp(),          lambda h: 1 + np.exp(h)),
    ("h.exp() + h",         lambda h: h.exp() + h,          lambda h: 1 + np.exp(h)),
    ("h * h.sin()",         lambda h: h * h.sin(),          lambda h: np.sin(h) + h * np.cos(h)),
    ("h / h.sum()",         lambda h: h / h.sum(),          lambda h: 0 * h),  # sum(h/sum h) = 1
]
# fmt: on


@pytest.mark.parametrize("name, f, df", SHARED, ids=[s[0] for s in SHARED])
def test_grad_through_a_shared_intermediate(name, f, df, device):
    """An intermediate with two consumers gets the sum of both paths, whatever their order."""
    x = tg.tensor([0.5, -1.0, 1.5], requires_grad=True, device=device)
    h = x * x
    f(h).sum().backward()
    a = np.array([0.5, -1.0, 1.5])
    np.testing.assert_allclose(x.grad.numpy(), df(a * a) * 2 * a, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_backward_through_a_100k_op_chain_does_not_recurse():
    x = tg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]


def test_backward_frees_the_graph(device):
    x = tg.tensor([1.0, 2.0], requires_grad=True, device=device)
    h = x.exp()
    out = (h * h).sum()
    intermediate = weakref.ref(h)
    del h
    assert intermediate() is not None  # the graph keeps it alive for backward
    out.backward()
    gc.collect()
    assert intermediate() is None  # ... and lets it go afterwards
