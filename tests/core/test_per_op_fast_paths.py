"""The per-op fast paths (issue 22, `tinygpt.fast_paths`) give what the general paths give.

`a + b` on two floating tensors of one dtype, device and shape, `a * 2.0`, `x[i]`,
`x.reshape(2, 3)` and `a @ b` with matching batch dims skip promotion, parsing and
broadcasting; everything else (and every error) still takes the general path. These tests
check both sides of each shortcut: values against NumPy, gradients against finite
differences, views sharing memory and version counters, and the error messages unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg
from tinygpt import fast_paths
from tinygpt.errors import DTypeError, ShapeError
from tinygpt.ops import elementwise
from tinygpt.tensor import Tensor


@pytest.fixture(autouse=True, params=["fast", "general"])
def path_taken(request, monkeypatch):
    """Every test here runs with the fast paths on and off (TINYGPT_FAST_PATHS=0's switch):
    both must give the same answers and the same errors."""
    monkeypatch.setattr(fast_paths, "enabled", request.param == "fast")
    return request.param


def test_the_switch_chooses_the_path(device, path_taken, monkeypatch):
    calls = []
    general = elementwise.promote

    def counted(*args):
        calls.append(args[0])
        return general(*args)

    monkeypatch.setattr(elementwise, "promote", counted)
    a = tg.ones(3, device=device)
    a + a
    assert calls == ([] if path_taken == "fast" else ["add"])


BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "maximum": (lambda a, b: tg.maximum(a, b), np.maximum),
}


def _values(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    return (rng.standard_normal(shape) + 0.1).astype(dtype)


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@given(shape=st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple))
def test_same_shape_binary_matches_numpy(device, op, dtype, shape):
    rng = np.random.default_rng(0)
    x, y = _values(rng, shape, dtype), _values(rng, shape, dtype)
    fn, ref = BINARY[op]
    out = fn(tg.tensor(x, device=device), tg.tensor(y, device=device))
    assert out.dtype == tg.as_dtype(dtype) and out.shape == shape
    np.testing.assert_allclose(out.numpy(), ref(x, y), rtol=1e-6)


@pytest.mark.parametrize("op", sorted(BINARY))
def test_same_shape_binary_gradients(device, op):
    rng = np.random.default_rng(1)
    a = tg.tensor(_values(rng, (2, 3), "float64"), device=device, requires_grad=True)
    b = tg.tensor(_values(rng, (2, 3), "float64"), device=device, requires_grad=True)
    fn = BINARY[op][0]
    assert tg.autograd.gradcheck(fn, [a, b])


@pytest.mark.parametrize("value", [2.0, 3, -0.1, 1 << 24, (1 << 24) + 1, True])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_scalar_operand_matches_numpy(device, value, dtype):
    if dtype == "float16" and (value > 65504 or tg.float16 not in tg.get_backend(device).dtypes):
        pytest.skip("float16: beyond its range, or not stored by this backend")
    x = np.array([0.5, -1.25, 2.0, 3.0], dtype=dtype)
    t = tg.tensor(x, device=device)
    for got, want in [
        (t * value, x * np.asarray(value).astype(dtype)),
        (t + value, x + np.asarray(value).astype(dtype)),
        (t - value, x - np.asarray(value).astype(dtype)),
    ]:
        assert got.dtype == t.dtype
        np.testing.assert_allclose(got.numpy().astype("float64"), want, rtol=1e-3)


def test_scalar_operand_exact_in_float32(device):
    # the numpy backend passes a Python float to NumPy as is (NEP 50): the same value as
    # NumPy's own float32 arithmetic, bit for bit
    x = np.array([0.1, 1.0 / 3.0, 7.0, -2.5], dtype=np.float32)
    t = tg.tensor(x, device=device)
    assert (t * 0.1).numpy().tobytes() == (x * np.float32(0.1)).tobytes()
    assert (t + 16777217).numpy().tobytes() == (x + np.float32(16777217)).tobytes()


def test_scalar_operand_gradient(device):
    x = tg.tensor([0.5, -1.5, 2.0], dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: t * 2.5 - 1, [x])


def test_huge_int_scalar_still_refused(device):
    t = tg.ones(2, device=device)
    with pytest.raises(DTypeError, match="out of range for any float"):
        t * (1 << 1100)


def test_float16_scalar_still_widened(device):
    # float16 takes the general path: 100000 does not fit float16, so PyTorch computes in
    # float32 and rounds once (h / 100000 is small, not 0 from dividing by inf)
    if tg.float16 not in tg.get_backend(device).dtypes:
        pytest.skip("this backend does not store float16")
    h = tg.tensor([50000.0], dtype=tg.float16, device=device)
    assert (h / 100000.0).item() == pytest.approx(0.5, rel=1e-3)


def test_mixed_operands_take_the_general_path(device):
    a = tg.tensor([1.0, 2.0], device=device)
    assert (a + tg.tensor([1.0, 2.0], dtype=tg.float64, device=device)).dtype == tg.float64
    assert (a + tg.tensor([[1.0], [2.0]], device=device)).shape == (2, 2)
    assert (tg.tensor([1, 2], device=device) / tg.tensor([2, 4], device=device)).tolist() == [
        0.5,
        0.5,
    ]


# ------------------------------------------------------------------------ x[i]
def test_int_index_matches_numpy_and_is_a_view(device):
    x = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
    t = tg.tensor(x, device=device)
    for i in (0, 1, -1, -2):
        np.testing.assert_array_equal(t[i].numpy(), x[i])
    row = t[1]
    t.add_(1.0)  # one memory: the view sees the write
    np.testing.assert_array_equal(row.numpy(), x[1] + 1)


def test_int_index_errors_unchanged(device):
    t = tg.ones(2, 3, device=device)
    with pytest.raises(IndexError) as fast:
        t[5]
    with pytest.raises(IndexError) as general:
        t[(5,)]
    assert str(fast.value) == str(general.value)
    with pytest.raises(IndexError, match="too many indices"):
        tg.tensor(1.0, device=device)[0]
    with pytest.raises(IndexError, match="bool"):
        t[True]


def test_int_index_gradient_and_version_check(device):
    x = tg.tensor(np.arange(6.0).reshape(2, 3), device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: t[1] * t[0], [x.detach().double().requires_grad_()])
    y = x * 1.0
    row = y[0]
    loss = (row * row).sum()  # Mul saves row, a view of y's memory
    y.mul_(2.0)
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


def test_int_index_of_an_inference_tensor_is_one(device):
    with tg.inference_mode():
        x = tg.arange(6.0, device=device).reshape(2, 3)
    assert x[0].is_inference()


# --------------------------------------------------------------- reshape(2, 3)
def test_reshape_spellings_agree(device):
    t = tg.tensor(np.arange(6.0, dtype=np.float32), device=device)
    for shape in [(2, 3), (3, -1), (6,)]:
        assert t.reshape(*shape).tolist() == t.reshape(shape).tolist()
        assert t.reshape(*shape).shape == np.arange(6).reshape(shape).shape
    with pytest.raises(DTypeError):
        t.reshape(2, 2.5)
    with pytest.raises(ShapeError):
        t.reshape(4, 2)


def test_reshape_gradient(device):
    x = tg.tensor(np.arange(6.0), device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: t.reshape(2, 3) * t.reshape(2, 3), [x])


# --------------------------------------------------------------------- a @ b
@pytest.mark.parametrize(
    ("sa", "sb"), [((2, 2), (2, 2)), ((3, 4), (4, 2)), ((2, 3, 4), (2, 4, 5)), ((4,), (4, 2))]
)
def test_matmul_matches_numpy(device, sa, sb):
    rng = np.random.default_rng(2)
    x, y = _values(rng, sa, "float64"), _values(rng, sb, "float64")
    a = tg.tensor(x, device=device, requires_grad=True)
    b = tg.tensor(y, device=device, requires_grad=True)
    np.testing.assert_allclose((a @ b).numpy(), x @ y, rtol=1e-10)
    assert tg.autograd.gradcheck(lambda p, q: p @ q, [a, b])


def test_matmul_errors_unchanged(device):
    with pytest.raises(ShapeError, match="inner dimensions 3 and 2 differ"):
        tg.ones(2, 3, device=device) @ tg.ones(2, 2, device=device)
    with pytest.raises(ShapeError, match="do not broadcast"):
        tg.ones(2, 2, 3, device=device) @ tg.ones(3, 3, 4, device=device)
    with pytest.raises(DTypeError, match="bool"):
        tg.ones(2, 2, dtype=tg.bool, device=device) @ tg.ones(2, 2, dtype=tg.bool, device=device)
    mixed = tg.ones(2, 2, device=device) @ tg.ones(2, 2, dtype=tg.float64, device=device)
    assert mixed.dtype == tg.float64


# ----------------------------------------------------------- subclass outputs
class _Counted(Tensor):
    """A subclass whose `_make` is counted: Function.apply must still call it."""

    __slots__ = ()
    made = 0

    @classmethod
    def _make(cls, data, requires_grad=False):
        _Counted.made += 1
        return Tensor._make(data, requires_grad)


def test_subclass_make_is_still_called(device):
    t = tg.ones(2, 2, device=device)
    c = Tensor._make_subclass(_Counted, t)
    before = _Counted.made
    outs = [c + t, c * 2.0, c[0], c.reshape(4), c @ t, c.exp()]
    assert _Counted.made == before + len(outs)
    assert all(type(o) is Tensor for o in outs)


# ------------------------------------------------------------------- x.sum()
@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (2, 1, 3)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_of_everything_matches_numpy(device, shape, keepdim):
    x = np.arange(float(np.prod(shape))).reshape(shape) - 2.5
    t = tg.tensor(x, device=device, requires_grad=True)
    out = t.sum(keepdim=keepdim)
    want = x.sum(keepdims=keepdim)
    assert out.shape == want.shape
    np.testing.assert_allclose(out.numpy(), want)
    assert tg.autograd.gradcheck(lambda v: v.sum(keepdim=keepdim) * 1.5, [t])


def test_sum_of_integers_still_int64(device):
    assert tg.tensor([1, 2, 3], dtype=tg.int32, device=device).sum().dtype == tg.int64
    assert tg.tensor([True, True], device=device).sum().item() == 2


# ------------------------------------------------------- version bookkeeping
def test_version_errors_name_what_was_overwritten(device):
    x = tg.tensor([0.5, 1.0], device=device, requires_grad=True)
    y = x.exp()  # Exp saves its output
    y.add_(1.0)
    with pytest.raises(RuntimeError, match=r"ExpBackward needs its output as .*\(version 0\)"):
        y.sum().backward()
    a = x * 1.0
    b = x * 2.0
    loss = (a * b).sum()  # Mul saves both inputs
    b.mul_(3.0)
    with pytest.raises(RuntimeError, match=r"MulBackward needs its input 1 .*version 1"):
        loss.backward()


# ------------------------------------------------- views made without a node
@pytest.mark.parametrize("make_view", [lambda t: t[1], lambda t: t.reshape(3, 2)])
def test_untracked_views_share_the_version_counter(device, make_view):
    x = tg.tensor(np.arange(6.0).reshape(2, 3), device=device)  # needs no grad: no node
    view = make_view(x)
    assert view.grad_fn is None and not view.requires_grad
    w = tg.ones(view.shape, device=device, requires_grad=True)
    loss = (w * view).sum()  # Mul saves the view for w's gradient
    x.add_(1.0)  # writes the view's memory: autograd must notice
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


def test_views_under_no_grad_and_inference_mode(device):
    x = tg.ones(2, 3, device=device, requires_grad=True)
    with tg.no_grad():
        assert x[0].grad_fn is None and not x.reshape(6).requires_grad
    assert x[0].grad_fn is not None and x.reshape(6).grad_fn is not None
    with tg.inference_mode():
        y = tg.ones(2, 3, device=device)
    assert y[0].is_inference() and y.reshape(6).is_inference()


def test_views_are_still_profiled(device):
    x = tg.ones(2, 3, device=device)
    with tg.profile(show=False) as prof:
        x[0]
        x.reshape(6)
    assert prof.calls("Slice") == 1 and prof.calls("Reshape") == 1


def test_a_float_size_is_refused_after_the_same_int_shape_was_seen():
    """(2, 3.0) == (2, 3) as a cache key: the reshape plan made for (2, 3) must not let a
    float size through."""
    t = tg.arange(6.0)
    assert t.reshape(2, 3).shape == (2, 3)
    with pytest.raises(tg.DTypeError, match="each size must be an int"):
        t.reshape(2, 3.0)
