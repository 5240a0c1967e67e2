"""Sizes and products that used to crash a backend or silently give wrong shapes, on every
backend: bool matmul (now a DTypeError, as in PyTorch), integer matmul (now right everywhere,
Linear too), sizes whose bytes overflow C (OutOfMemoryError before anything is allocated),
float and negative sizes, and `expand` / `chunk` arguments PyTorch refuses."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt.backend.registry import get_backend

HUGE = 2**61  # elements: 2**61 float32 are 2**63 bytes, one more than a Py_ssize_t counts


def test_out_of_memory_error_is_a_memory_error():
    assert issubclass(tg.OutOfMemoryError, MemoryError)
    assert issubclass(tg.OutOfMemoryError, tg.TinyGPTError)
    assert tg.errors.OutOfMemoryError is tg.OutOfMemoryError


# --- matmul dtypes ----------------------------------------------------------------------------


# fmt: off
BOOL_PRODUCTS = [
    # name          call on a (2, 3) bool tensor `a`                       shapes named
    ("a @ a.T",     lambda a: a @ a.T,                                     "(2, 3) @ (3, 2)"),
    ("tg.matmul",   lambda a: tg.matmul(a, a.T),                           "(2, 3) @ (3, 2)"),
    ("1-D @ 1-D",   lambda a: a[0] @ a[1],                                 "(3,) @ (3,)"),
    ("batched",     lambda a: a.reshape(1, 2, 3) @ a.T.reshape(1, 3, 2),   "(1, 2, 3) @ (1, 3,"),
    ("F.linear",    lambda a: F.linear(a, a),                              "weight (2, 3)"),
]
# fmt: on


@pytest.mark.parametrize("name, call, shapes", BOOL_PRODUCTS, ids=[c[0] for c in BOOL_PRODUCTS])
def test_bool_matmul_is_a_dtype_error_naming_the_fix(name, call, shapes, device):
    a = tg.ones(2, 3, dtype=tg.bool, device=device)
    with pytest.raises(tg.DTypeError, match=r"not implemented for bool") as info:
        call(a)
    message = str(info.value)
    assert message.startswith("linear" if name == "F.linear" else "matmul"), message
    assert shapes in message, message
    assert ".float()" in message and ".long()" in message, message


def test_bool_times_float_promotes_as_other_ops_do(device):
    mask = tg.tensor([[True, False], [True, True]], device=device)
    out = mask @ tg.ones(2, 2, device=device)
    assert out.dtype == tg.float32
    assert out.tolist() == [[1.0, 1.0], [2.0, 2.0]]


def _ints(shape, dtype, seed):
    return np.random.default_rng(seed).integers(-5, 6, size=shape).astype(dtype)


# fmt: off
INT_PRODUCTS = [
    # name                 a shape       b shape       how b is passed
    ("2-D",                (3, 4),       (4, 5),       lambda b: b),
    ("x @ w.T",            (3, 4),       (5, 4),       lambda b: b.T),
    ("batched",            (2, 3, 4),    (2, 4, 5),    lambda b: b),
    ("batch broadcast",    (2, 3, 4),    (4, 5),       lambda b: b),
    ("vector @ matrix",    (4,),         (4, 5),       lambda b: b),
    ("matrix @ vector",    (3, 4),       (4,),         lambda b: b),
    ("reversed rows",      (3, 4),       (4, 5),       lambda b: b[::-1]),
    ("K = 0",              (3, 0),       (0, 5),       lambda b: b),
    ("many rows",          (300, 64),    (64, 70),     lambda b: b),  # parallel on cpu
]
# fmt: on


@pytest.mark.parametrize("dtype", ["int32", "int64"])
@pytest.mark.parametrize(
    "name, a_shape, b_shape, view", INT_PRODUCTS, ids=[c[0] for c in INT_PRODUCTS]
)
def test_integer_matmul_matches_numpy(name, a_shape, b_shape, view, dtype, device):
    a_np = _ints(a_shape, dtype, 1)
    b_np = _ints(b_shape, dtype, 2)
    b = view(tg.tensor(b_np, device=device))
    out = tg.tensor(a_np, device=device) @ b
    expected = a_np @ view_np(b_np, name)
    assert out.dtype == tg.as_dtype(dtype)
    assert tuple(out.shape) == expected.shape
    np.testing.assert_array_equal(out.numpy(), expected)


def view_np(b, name):
    """What each `view` above does, in NumPy."""
    if name == "x @ w.T":
        return b.T
    if name == "reversed rows":
        return b[::-1]
    return b


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integer_linear_matches_numpy(dtype, device):
    x = _ints((2, 3, 4), dtype, 1)
    w = _ints((5, 4), dtype, 2)
    b = _ints((5,), dtype, 3)
    x_, w_, b_ = (tg.tensor(a, device=device) for a in (x, w, b))
    out = F.linear(x_, w_, b_)
    assert out.dtype == tg.as_dtype(dtype)
    np.testing.assert_array_equal(out.numpy(), x @ w.T + b)


# --- sizes too large to address ------------------------------------------------------------------


# fmt: off
HUGE_MAKERS = [
    # op          call                                            dtype in the message
    ("zeros",     lambda d: tg.zeros(HUGE, device=d),             "float32"),
    ("ones",      lambda d: tg.ones(HUGE, device=d),              "float32"),
    ("empty",     lambda d: tg.empty(HUGE, device=d),             "float32"),
    ("full",      lambda d: tg.full((HUGE,), 2.0, device=d),      "float32"),
    ("rand",      lambda d: tg.rand(HUGE, device=d),              "float32"),
    ("randn",     lambda d: tg.randn(HUGE, device=d),             "float32"),
]
# fmt: on


@pytest.mark.parametrize("op, make, dtype", HUGE_MAKERS, ids=[m[0] for m in HUGE_MAKERS])
def test_a_size_whose_bytes_overflow_is_out_of_memory(op, make, dtype, device):
    with pytest.raises(tg.OutOfMemoryError) as info:
        make(device)
    message = str(info.value)
    assert message.startswith(f"{op}: ({HUGE},) {dtype} needs 9223372036854775808 bytes")
    assert "(8.0 EiB)" in message and "more than this machine can address" in message


@pytest.mark.parametrize(
    "make",
    [
        lambda d: tg.randint(0, 5, (2**62,), device=d),
        lambda d: tg.arange(2**62, device=d),  # used to build a Python list first
        lambda d: tg.zeros(2**40, 2**40, device=d),
        lambda d: tg.empty(HUGE, dtype=tg.int64, device=d),
    ],
    ids=["randint", "arange", "product of dims", "int64"],
)
def test_other_impossible_sizes_are_out_of_memory(make, device):
    with pytest.raises(MemoryError, match="more than this machine can address"):
        make(device)


@pytest.mark.parametrize("name", ["numpy", "cpu"])
def test_backends_check_the_bytes_of_a_buffer_themselves(name):
    if name not in {info.name for info in tg.backends() if info.available}:
        pytest.skip(f"no {name} backend")
    backend = get_backend(name)
    for allocate in (
        lambda: backend.empty(HUGE, tg.float32),
        lambda: backend.full(HUGE, tg.float32, 0.0),
        lambda: backend.random("normal", HUGE, tg.float32, 1, 0.0, 1.0),
    ):
        with pytest.raises(tg.OutOfMemoryError, match="9223372036854775808 bytes"):
            allocate()
    with pytest.raises(tg.ShapeError, match="-3 elements"):
        backend.empty(-3, tg.float32)


def test_an_allocation_the_machine_cannot_give_is_out_of_memory():
    backend = get_backend("numpy")  # 2**55 bytes add up fine, but no malloc gives them
    with pytest.raises(tg.OutOfMemoryError, match="cannot allocate"):
        backend.empty(2**52, tg.float64)


# --- size arguments -----------------------------------------------------------------------------


# fmt: off
SIZE_ERRORS = [
    # name              call                                    error          words
    ("zeros(2.5)",      lambda d: tg.zeros(2.5, device=d),      tg.DTypeError, ["zeros", "2.5"]),
    ("ones(2, 1.0)",    lambda d: tg.ones(2, 1.0, device=d),    tg.DTypeError, ["ones", "1.0"]),
    ("full((2.5,), 1)", lambda d: tg.full((2.5,), 1, device=d), tg.DTypeError, ["full", "2.5"]),
    ("randn('3')",      lambda d: tg.randn("3", device=d),      tg.DTypeError, ["randn", "'3'"]),
    ("zeros(3, -1)",    lambda d: tg.zeros(3, -1, device=d),    tg.ShapeError, ["(3, -1)"]),
    ("empty(-2)",       lambda d: tg.empty(-2, device=d),       tg.ShapeError, ["empty", "(-2,)"]),
]
# fmt: on


@pytest.mark.parametrize("name, call, error, words", SIZE_ERRORS, ids=[e[0] for e in SIZE_ERRORS])
def test_sizes_must_be_non_negative_ints(name, call, error, words, device):
    with pytest.raises(error) as info:
        call(device)
    for word in words:
        assert word in str(info.value), str(info.value)
    if error is tg.DTypeError:
        assert isinstance(info.value, TypeError)  # what PyTorch raises for a float size


def test_numpy_integers_are_sizes(device):
    assert tg.zeros(np.int64(2), np.int32(3), device=device).shape == (2, 3)


# fmt: off
BIG = 2**40
OOM = tg.OutOfMemoryError
EXPAND_ERRORS = [
    # name              x shape call                                  error          words
    ("negative",        (1,),   lambda x: x.expand(-2),               tg.ShapeError, ["-2"]),
    ("negative, 2-D",   (1,),   lambda x: x.expand(2, -2),            tg.ShapeError, ["(2, -2)"]),
    ("-1 in a new dim", (3,),   lambda x: x.expand(-1, 3),            tg.ShapeError, ["leading"]),
    ("float",           (3,),   lambda x: x.expand(2.5, 3),           tg.DTypeError, ["2.5"]),
    ("too large",       (3,),   lambda x: x.expand(BIG, BIG, BIG, 3), OOM,           ["bytes"]),
]
# fmt: on


@pytest.mark.parametrize(
    "name, shape, call, error, words", EXPAND_ERRORS, ids=[e[0] for e in EXPAND_ERRORS]
)
def test_expand_refuses_what_pytorch_refuses(name, shape, call, error, words, device):
    with pytest.raises(error) as info:
        call(tg.zeros(shape, device=device))
    assert str(info.value).startswith("expand: "), str(info.value)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_expand_keeps_a_dim_with_minus_one(device):
    x = tg.arange(3, device=device).reshape(3, 1)
    assert x.expand(2, -1, 4).shape == (2, 3, 4)
    assert x.expand(2, -1, 4).sum().item() == 2 * 4 * 3


@pytest.mark.parametrize("chunks", [0, -1])
def test_chunk_needs_at_least_one_piece(chunks, device):
    x = tg.zeros(5, 2, device=device)
    with pytest.raises(tg.ShapeError, match=r"chunk: chunks must be greater than 0") as info:
        x.chunk(chunks)
    assert f"got {chunks}" in str(info.value) and "(5, 2)" in str(info.value)


def test_chunk_counts_are_ints(device):
    with pytest.raises(tg.DTypeError, match=r"chunk: chunks must be an int, got 2.0"):
        tg.zeros(5, device=device).chunk(2.0)
