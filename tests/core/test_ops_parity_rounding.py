"""floor, ceil, round, trunc, frac, `//` (floor_divide) and `%` (remainder): forward against
NumPy (whose // and % follow Python's signs, as PyTorch's do), gradients against float64
finite differences, every backend; the same calls against PyTorch where it is installed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg
from tinygpt.errors import DTypeError

SPECIAL = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.7, -3.7, 0.0, 1e20, -1e20, 8388609.0]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize(
    ("name", "ref"),
    [("floor", np.floor), ("ceil", np.ceil), ("round", np.round), ("trunc", np.trunc)],
)
def test_rounding_matches_numpy(device, dtype, name, ref):
    if tg.as_dtype(dtype) not in tg.get_backend(device).dtypes:
        pytest.skip(f"{device} has no {dtype}")
    # beyond 2**mantissa every float is whole: 1e20 in float32/64, 2049 in float16
    big = [2049.0, -4097.0, 65504.0] if dtype == "float16" else [1e20, -1e20, 8388609.0]
    values = np.array(SPECIAL[:9] + big + [np.inf, -np.inf, np.nan], dtype=dtype)
    got = getattr(tg.tensor(values, device=device), name)()
    assert got.dtype == tg.as_dtype(dtype)
    np.testing.assert_array_equal(got.numpy(), ref(values))
    np.testing.assert_array_equal(
        getattr(tg, name)(tg.tensor(values, device=device)).numpy(), ref(values)
    )


def test_round_decimals_and_frac(device):
    x = tg.tensor([1.2345, -2.5678], dtype=tg.float64, device=device)
    np.testing.assert_allclose(x.round(decimals=2).numpy(), [1.23, -2.57])
    np.testing.assert_allclose(x.frac().numpy(), [0.2345, -0.5678], atol=1e-12)


def test_rounding_integers_is_a_copy_and_bool_is_refused(device):
    ints = tg.tensor([1, -2], device=device)
    assert ints.floor().tolist() == [1, -2] and ints.round().dtype == tg.int64
    with pytest.raises(DTypeError, match="bool"):
        tg.tensor([True], device=device).floor()


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc"])
def test_rounding_gradient_is_zero(device, name):
    x = tg.tensor([0.3, -1.7, 2.2], device=device, requires_grad=True)
    out = getattr(x, name)()
    assert out.requires_grad
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


INT_PAIRS = [(-7, 2), (7, 2), (-7, -2), (7, -2), (6, 3), (-6, 3), (0, 5), (5, 7), (-5, 7)]


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integer_floor_divide_and_remainder_match_python(device, dtype):
    a = np.array([p[0] for p in INT_PAIRS], dtype=dtype)
    b = np.array([p[1] for p in INT_PAIRS], dtype=dtype)
    ta, tb = tg.tensor(a, device=device), tg.tensor(b, device=device)
    assert (ta // tb).dtype == tg.as_dtype(dtype)
    np.testing.assert_array_equal((ta // tb).numpy(), a // b)
    np.testing.assert_array_equal((ta % tb).numpy(), a % b)
    np.testing.assert_array_equal(tg.floor_divide(ta, tb).numpy(), a // b)
    np.testing.assert_array_equal(tg.remainder(ta, tb).numpy(), a % b)


@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_div_rounding_modes(device, dtype):
    a = np.array([p[0] for p in INT_PAIRS], dtype=dtype)
    b = np.array([p[1] for p in INT_PAIRS], dtype=dtype)
    ta, tb = tg.tensor(a, device=device), tg.tensor(b, device=device)
    np.testing.assert_allclose(tg.div(ta, tb).numpy(), a / b, rtol=1e-6)
    np.testing.assert_array_equal(ta.div(tb, rounding_mode="floor").numpy(), a // b)
    np.testing.assert_array_equal(tg.div(ta, tb, rounding_mode="trunc").numpy(), np.trunc(a / b))
    assert tg.div(ta, tb, rounding_mode="trunc").dtype == tg.as_dtype(dtype)
    with pytest.raises(ValueError, match="rounding_mode"):
        tg.div(ta, tb, rounding_mode="round")


def test_large_int64_division_is_exact(device):
    a = np.array([2**52 + 1, -(2**52) - 3, 10**15 + 7], dtype=np.int64)
    b = np.array([3, 7, -11], dtype=np.int64)
    ta, tb = tg.tensor(a, device=device), tg.tensor(b, device=device)
    np.testing.assert_array_equal((ta // tb).numpy(), a // b)
    np.testing.assert_array_equal((ta % tb).numpy(), a % b)


def test_scalars_on_either_side(device):
    x = tg.tensor([-7, 7], device=device)
    assert (x // 2).tolist() == [-4, 3]
    assert (x % 3).tolist() == [2, 1]
    assert (20 // x).tolist() == [-3, 2]
    assert (20 % x).tolist() == [-1, 6]
    f = tg.tensor([-7.5, 7.5], device=device)
    assert (f // 2).tolist() == [-4.0, 3.0]
    assert (f % 2).tolist() == [0.5, 1.5]
    assert (f % 2.0).dtype == tg.float32


def test_in_place_floor_divide_and_remainder_write_the_tensor(device):
    x = tg.tensor([-7, 7, 9], device=device)
    view = x[1:]
    same = x
    x //= 2
    assert x is same and x.tolist() == [-4, 3, 4] and view.tolist() == [3, 4]
    x %= 3
    assert x is same and x.tolist() == [2, 0, 1] and x.dtype == tg.int64


def test_float_remainder_matches_numpy(device):
    rng = np.random.default_rng(0)
    a = rng.uniform(-10, 10, size=50).astype(np.float32)
    b = rng.choice([-3.0, -1.5, 0.75, 2.0, 4.0], size=50).astype(np.float32)
    ta, tb = tg.tensor(a, device=device), tg.tensor(b, device=device)
    np.testing.assert_allclose((ta % tb).numpy(), np.remainder(a, b), atol=1e-5)
    np.testing.assert_array_equal((ta // tb).numpy(), np.floor_divide(a, b))
    inf = tg.tensor([float("inf"), float("-inf")], device=device)
    ones = tg.tensor([1.0, -1.0], device=device)
    np.testing.assert_array_equal((ones % inf).numpy(), [1.0, -1.0])
    np.testing.assert_array_equal(
        (ones % tg.tensor([float("-inf"), float("inf")], device=device)).numpy(), [-np.inf, np.inf]
    )


def test_integer_division_by_zero_is_an_error_with_checks(device):
    with pytest.raises(ZeroDivisionError, match="floor_divide"):
        tg.tensor([1, 2], device=device) // tg.tensor([1, 0], device=device)


def test_remainder_gradients(device):
    a = tg.tensor([5.3, -2.2, 7.9], dtype=tg.float64, device=device, requires_grad=True)
    b = tg.tensor([2.0, 1.5, -3.0], dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda x, y: x % y, [a, b])
    assert tg.autograd.gradcheck(lambda x, y: (x // y) + x.frac(), [a, b])


@given(
    a=st.lists(st.integers(-1000, 1000), min_size=1, max_size=8),
    b=st.integers(-50, 50).filter(lambda v: v != 0),
)
def test_int_division_any_values(a, b):
    x = np.array(a, dtype=np.int64)
    for device in [info.name for info in tg.backends() if info.available]:
        t = tg.tensor(x, device=device)
        np.testing.assert_array_equal((t // b).numpy(), x // b)
        np.testing.assert_array_equal((t % b).numpy(), x % b)


@pytest.mark.oracle
def test_rounding_and_division_match_pytorch(device):
    torch = pytest.importorskip("torch")
    values = np.array(SPECIAL + [np.inf, np.nan], dtype=np.float32)
    for name in ("floor", "ceil", "round", "trunc", "frac"):
        ours = getattr(tg.tensor(values, device=device), name)().numpy()
        theirs = getattr(torch.from_numpy(values), name)().numpy()
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
    a = np.array([p[0] for p in INT_PAIRS])
    b = np.array([p[1] for p in INT_PAIRS])
    ta, tb = tg.tensor(a, device=device), tg.tensor(b, device=device)
    np.testing.assert_array_equal(
        (ta // tb).numpy(), (torch.from_numpy(a) // torch.from_numpy(b)).numpy()
    )
    np.testing.assert_array_equal(
        (ta % tb).numpy(), (torch.from_numpy(a) % torch.from_numpy(b)).numpy()
    )
    x = np.array([5.3, -2.2, 7.9])
    y = np.array([2.0, 1.5, -3.0])
    ours_x = tg.tensor(x, device=device, requires_grad=True)
    ours_y = tg.tensor(y, device=device, requires_grad=True)
    theirs_x = torch.tensor(x, requires_grad=True)
    theirs_y = torch.tensor(y, requires_grad=True)
    (ours_x % ours_y).sum().backward()
    (theirs_x % theirs_y).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy())
    np.testing.assert_allclose(ours_y.grad.numpy(), theirs_y.grad.numpy())
