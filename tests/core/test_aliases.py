"""PyTorch's other names and small conveniences (issue 14's idiom sweep): `x.add(y, alpha=)`,
`tg.eq`, `x.neg()`, `clamp_min`, `masked_fill_`, `view_as`, `type_as`, `x.new_*`, `mm`, `bmm`,
`outer`, `repeat_interleave`, `nonzero`/`where(cond)`, `bernoulli`, `max(x, other)`,
`x.to(other)`, `linspace`, `Tensor([...])`, PyTorch-style printing, `tg.cuda`, default dtype.

Forward against NumPy, backward against float64 finite differences, on every backend.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.errors import ShapeError

RNG = np.random.default_rng(7)
A = RNG.uniform(0.5, 2.0, size=(3, 4)).astype(np.float32)
B = RNG.uniform(-1.0, 1.0, size=(3, 4)).astype(np.float32)

# fmt: off
# name                    tinygpt call                                   NumPy reference
BINARY = [
    ("add alpha",     lambda a, b: a.add(b, alpha=2),               lambda a, b: a + 2 * b),
    ("tg.add",        lambda a, b: tg.add(a, b),                    lambda a, b: a + b),
    ("sub alpha",     lambda a, b: tg.sub(a, b, alpha=0.5),         lambda a, b: a - 0.5 * b),
    ("mul",           lambda a, b: a.mul(b),                        lambda a, b: a * b),
    ("tg.mul",        lambda a, b: tg.mul(a, 3.0),                  lambda a, b: a * 3.0),
    ("tg.pow",        lambda a, b: tg.pow(a, 2),                    lambda a, b: a ** 2),
    ("tg.pow scalar", lambda a, b: tg.pow(2, b),                    lambda a, b: 2.0 ** b),
    ("addcmul",       lambda a, b: a.addcmul(a, b, value=0.5),      lambda a, b: a + 0.5 * a * b),
    ("neg",           lambda a, b: b.neg(),                         lambda a, b: -b),
    ("tg.negative",   lambda a, b: tg.negative(b),                  lambda a, b: -b),
    ("reciprocal",    lambda a, b: a.reciprocal(),                  lambda a, b: 1 / a),
    ("square",        lambda a, b: tg.square(b),                    lambda a, b: b * b),
    ("log1p",         lambda a, b: a.log1p(),                       lambda a, b: np.log1p(a)),
    ("clamp_min",     lambda a, b: b.clamp_min(0.0),                lambda a, b: np.maximum(b, 0)),
    ("clamp_max",     lambda a, b: b.clamp_max(0.25),           lambda a, b: np.minimum(b, 0.25)),
    ("clip",          lambda a, b: tg.clip(b, -0.5, 0.5),       lambda a, b: np.clip(b, -0.5, 0.5)),
    ("max(x, other)", lambda a, b: tg.max(a, b),                    lambda a, b: np.maximum(a, b)),
    ("min(x, other)", lambda a, b: a.min(b),                        lambda a, b: np.minimum(a, b)),
    ("outer",         lambda a, b: tg.outer(a[0], b[1]),        lambda a, b: np.outer(a[0], b[1])),
    ("mm",            lambda a, b: tg.mm(a, b.T),                   lambda a, b: a @ b.T),
    ("bmm",           lambda a, b: a.reshape(3, 1, 4).bmm(b.reshape(3, 4, 1)),
                      lambda a, b: a.reshape(3, 1, 4) @ b.reshape(3, 4, 1)),
    ("repeat_interleave dim 0", lambda a, b: a.repeat_interleave(2, dim=0),
                      lambda a, b: np.repeat(a, 2, axis=0)),
    ("repeat_interleave dim -1", lambda a, b: tg.repeat_interleave(a, 3, dim=-1),
                      lambda a, b: np.repeat(a, 3, axis=-1)),
    ("repeat_interleave flat", lambda a, b: a.repeat_interleave(2),
                      lambda a, b: np.repeat(a, 2)),
]
COMPARE = [
    ("eq", tg.eq, np.equal), ("ne", tg.ne, np.not_equal), ("lt", tg.lt, np.less),
    ("le", tg.le, np.less_equal), ("gt", tg.gt, np.greater), ("ge", tg.ge, np.greater_equal),
]
# fmt: on


@pytest.mark.parametrize("name, call, reference", BINARY, ids=[row[0] for row in BINARY])
def test_forward_matches_numpy(device, name, call, reference):
    a, b = tg.tensor(A, device=device), tg.tensor(B, device=device)
    want = reference(A.astype(np.float64), B.astype(np.float64))
    np.testing.assert_allclose(call(a, b).numpy(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, call, reference", BINARY, ids=[row[0] for row in BINARY])
def test_backward_matches_finite_differences(device, name, call, reference):
    # NOTE: no value of A or B sits within eps of a clamp/max kink, so finite differences hold
    a = tg.tensor(A, dtype=tg.float64, device=device, requires_grad=True)
    b = tg.tensor(B, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(call, [a, b])


@pytest.mark.parametrize("name, fn, reference", COMPARE, ids=[row[0] for row in COMPARE])
def test_comparisons_by_name(device, name, fn, reference):
    a, b = tg.tensor(A, device=device), tg.tensor(np.where(B > 0, A, B), device=device)
    want = reference(A, np.where(B > 0, A, B))
    np.testing.assert_array_equal(fn(a, b).numpy(), want)
    np.testing.assert_array_equal(getattr(a, name)(b).numpy(), want)


def test_in_place_clamp_and_masked_fill_write_through_views(device):
    x = tg.tensor(B, device=device)
    view = x[0]
    x.clamp_(-0.5, 0.5)
    np.testing.assert_array_equal(view.numpy(), np.clip(B[0], -0.5, 0.5))
    y = tg.tensor(B, device=device)
    y.masked_fill_(y < 0, 0.0)
    np.testing.assert_array_equal(y.numpy(), np.where(B < 0, 0.0, B))
    leaf = tg.tensor(B, device=device, requires_grad=True)
    with pytest.raises(RuntimeError):
        leaf.masked_fill_(leaf < 0, 0.0)


def test_like_other_tensor(device):
    x = tg.tensor(A, device=device)
    other = tg.zeros(4, 3, dtype=tg.int64, device=device)
    assert x.view_as(other).shape == (4, 3) and x.reshape_as(other).shape == (4, 3)
    assert x.type_as(other).dtype == tg.int64
    moved = x.to(other)
    assert (moved.dtype, str(moved.device)) == (tg.int64, str(other.device))
    assert x.new_zeros(2, 3).dtype == tg.float32 and x.new_zeros((2,)).tolist() == [0.0, 0.0]
    assert x.new_ones(2, dtype=tg.int64).tolist() == [1, 1]
    assert x.new_full((2,), 5.0).tolist() == [5.0, 5.0]
    assert x.new_tensor([1, 2]).dtype == tg.float32  # like's dtype, as PyTorch
    assert x.new_empty(3).shape == (3,)
    assert str(x.new_zeros(1).device) == str(x.device)
    assert x.new_zeros(2, requires_grad=True).requires_grad


def test_mm_and_bmm_check_ranks(device):
    with pytest.raises(ShapeError, match="mm: expects two 2-D tensors"):
        tg.mm(tg.ones(2, 3, 4, device=device), tg.ones(4, 2, device=device))
    with pytest.raises(ShapeError, match="bmm: .* batch sizes 2 and 3 differ"):
        tg.bmm(tg.ones(2, 3, 4, device=device), tg.ones(3, 4, 2, device=device))
    with pytest.raises(ShapeError, match="outer: expects two 1-D tensors"):
        tg.outer(tg.ones(2, 2, device=device), tg.ones(2, device=device))


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2), ()])
def test_nonzero_and_where_of_one_argument(device, shape):
    values = RNG.integers(-1, 2, size=shape)
    x = tg.tensor(values, device=device)
    want = np.argwhere(values.reshape(-1) if values.ndim == 0 else values)
    np.testing.assert_array_equal(tg.nonzero(x).numpy().reshape(want.shape), want)
    for got, expected in zip(tg.where(x != 0), np.nonzero(np.atleast_1d(values)), strict=True):
        np.testing.assert_array_equal(got.numpy(), expected)
    with pytest.raises(TypeError, match="where: pass both a and b, or neither"):
        tg.where(x != 0, x)


def test_bernoulli_is_seeded_and_has_the_right_mean(device):
    p = tg.full((4000,), 0.25, device=device)
    tg.manual_seed(3)
    first = tg.bernoulli(p)
    tg.manual_seed(3)
    assert first.tolist() == p.bernoulli().tolist()
    assert set(first.tolist()) <= {0.0, 1.0} and first.dtype == tg.float32
    assert abs(first.mean().item() - 0.25) < 0.03


def test_equal_and_sizes(device):
    x = tg.tensor(A, device=device)
    assert tg.equal(x, x.clone()) and not tg.equal(x, x + 1) and not x.equal(x[:2])
    assert (tg.numel(x), x.nelement(), x.element_size()) == (12, 12, 4)
    assert tg.is_tensor(x) and not tg.is_tensor(A) and tg.is_floating_point(x)


@pytest.mark.parametrize(
    "start, end, steps", [(0, 1, 5), (-1, 1, 3), (2, -3, 7), (0, 1, 1), (0, 1, 0)]
)
def test_linspace_matches_numpy(device, start, end, steps):
    got = tg.linspace(start, end, steps, device=device)
    assert got.dtype == tg.float32
    np.testing.assert_allclose(got.numpy(), np.linspace(start, end, steps), rtol=1e-6, atol=1e-7)
    if steps > 1:
        assert got[-1].item() == end  # counted back from `end`: exact
    assert tg.linspace(0, 1, 3, dtype=tg.float64, device=device).dtype == tg.float64


def test_legacy_tensor_constructor(device):
    tg.set_default_device(device)
    x = tg.Tensor([-4.0, 2])
    assert (x.dtype, x.tolist(), str(x.device)) == (tg.float32, [-4.0, 2.0], str(tg.device(device)))
    assert tg.Tensor(2, 3).shape == (2, 3) and tg.Tensor().shape == (0,)
    with pytest.raises(TypeError, match="Tensor: expected data"):
        tg.Tensor([1.0], [2.0])


def test_shape_error_is_also_a_runtime_error(device):
    # PyTorch raises RuntimeError for these; `except RuntimeError:` must catch ours too
    assert issubclass(ShapeError, RuntimeError) and issubclass(ShapeError, ValueError)
    with pytest.raises(RuntimeError, match="matmul"):
        tg.ones(2, 3, device=device) @ tg.ones(4, 5, device=device)


@pytest.mark.parametrize(
    "values, body",
    [
        ([1.0, 2.5], "tensor([1.0000, 2.5000]"),
        ([1.0, 2.0], "tensor([1., 2.]"),
        ([1e-5, 3e-5, 1e-2], "tensor([1.0000e-05, 3.0000e-05, 1.0000e-02]"),
        ([float("nan"), 1.5], "tensor([   nan, 1.5000]"),
        (3.5, "tensor(3.5000"),
    ],
)
def test_floats_print_as_pytorch_does(device, values, body):
    assert repr(tg.tensor(values, device=device)).startswith(body)


def test_cuda_queries_agree_with_the_backend_table():
    info = {b.name: b for b in tg.backends()}.get("cuda")
    available = info is not None and info.available
    assert tg.cuda.is_available() is available
    assert (tg.cuda.device_count() > 0) is available


def test_default_dtype_can_change_and_back(device):
    assert tg.get_default_dtype() == tg.float32
    tg.set_default_dtype(tg.float64)
    try:
        assert tg.get_default_dtype() == tg.float64
        made = [
            tg.zeros(2, device=device),
            tg.ones(2, device=device),
            tg.tensor([0.5], device=device),
            tg.arange(0.0, 2.0, device=device),
            tg.linspace(0, 1, 3, device=device),
            tg.randn(2, device=device),
            tg.rand(2, device=device),
            tg.full((2,), 1.5, device=device),
            tg.arange(3, device=device) * 0.5,
            tg.arange(3, device=device) / 2,
            tg.arange(3, device=device).exp(),
        ]
        assert [t.dtype for t in made] == [tg.float64] * len(made)
        assert tg.arange(3, device=device).dtype == tg.int64  # ints stay ints
        assert tg.ones(2, device=device).float().dtype == tg.float32  # .float() is float32
        assert tg.zeros(1, dtype=tg.float32, device=device).dtype == tg.float32
        x32 = tg.ones(2, dtype=tg.float32, device=device)
        assert (x32 * 0.5).dtype == tg.float32  # a scalar never widens a float tensor
    finally:
        tg.set_default_dtype(tg.float32)
    assert tg.zeros(1).dtype == tg.float32


def test_default_dtype_must_be_floating():
    with pytest.raises(TypeError, match="only floating point types"):
        tg.set_default_dtype(tg.int64)
    assert tg.get_default_dtype() == tg.float32


def test_pin_memory_and_non_blocking_are_accepted(device):
    x = tg.tensor(A, device=device)
    assert x.pin_memory() is x
    assert x.to(device, non_blocking=True).tolist() == x.tolist()
