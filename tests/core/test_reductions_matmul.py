"""Reductions (dim, keepdim, negative dims, tuples of dims), softmax family, and matmul.

Values are checked against NumPy, gradients against float64 finite differences (gradcheck).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygpt as tg

SHAPE = (2, 3, 4)


def data(shape, device, seed=0, dtype="float32"):
    """Random values with no ties (argmax/max are unambiguous), as tg and NumPy."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    array = rng.permutation(np.linspace(-3.0, 3.0, n)).reshape(shape).astype(dtype)
    return tg.tensor(array, device=device), array


def float64_or_skip(device):
    try:
        tg.zeros(1, dtype=tg.float64, device=device)
    except tg.DTypeError as error:
        pytest.skip(f"{device} has no float64: {error}")


# --- sum / mean / var / std over every dim spelling -------------------------------------------

DIMS = [None, 0, 1, 2, -1, -3, (0, 2), (2, 0), (-1, -2), (0, 1, 2)]
# fmt: off
REDUCTIONS = [
    # name    tinygpt                                NumPy
    ("sum",   lambda x, **kw: x.sum(**kw),           lambda a, **kw: a.sum(**kw)),
    ("mean",  lambda x, **kw: x.mean(**kw),          lambda a, **kw: a.mean(**kw)),
    ("var",   lambda x, **kw: x.var(**kw),           lambda a, **kw: a.var(ddof=1, **kw)),
    ("std",   lambda x, **kw: x.std(**kw),           lambda a, **kw: a.std(ddof=1, **kw)),
    ("tg.sum", lambda x, **kw: tg.sum(x, **kw),      lambda a, **kw: a.sum(**kw)),
    ("tg.mean", lambda x, **kw: tg.mean(x, **kw),    lambda a, **kw: a.mean(**kw)),
]
# fmt: on


@pytest.mark.parametrize("keepdim", [False, True], ids=["", "keepdim"])
@pytest.mark.parametrize("dim", DIMS, ids=repr)
@pytest.mark.parametrize("name, fn, ref", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_reductions_match_numpy(name, fn, ref, dim, keepdim, device):
    x, a = data(SHAPE, device)
    kwargs = {} if dim is None else {"dim": dim}
    out = fn(x, keepdim=keepdim, **kwargs)
    expected = np.asarray(ref(a.astype(np.float64), axis=dim, keepdims=keepdim))
    assert tuple(out.shape) == expected.shape
    assert out.dtype == tg.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dim", [None, 1, (0, 2), -1])
@pytest.mark.parametrize("name", ["sum", "mean", "var", "std"])
def test_reduction_gradients(name, dim, device):
    float64_or_skip(device)
    x = tg.tensor(data(SHAPE, None, seed=1)[1], dtype=tg.float64, device=device, requires_grad=True)
    kwargs = {} if dim is None else {"dim": dim}
    assert tg.autograd.gradcheck(lambda t: getattr(t, name)(**kwargs), [x])


def test_var_without_bessel_correction(device):
    x, a = data((3, 5), device)
    expected = a.astype(np.float64).var(axis=1)
    for kwargs in ({"correction": 0}, {"unbiased": False}):
        try:
            out = x.var(dim=1, **kwargs)
        except TypeError:
            continue  # this spelling is not supported; the other one must be
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5)
        np.testing.assert_allclose(x.std(dim=1, **kwargs).numpy(), np.sqrt(expected), rtol=1e-5)
        return
    pytest.fail("var accepts neither correction=0 nor unbiased=False")


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_sum_of_integers_and_bools_is_int64(dtype, device):
    array = np.array([[1, 0, 1], [1, 1, 0]]).astype(dtype)
    x = tg.tensor(array, device=device)
    assert x.sum().dtype == tg.int64
    assert x.sum().item() == 4
    assert x.sum(dim=0).tolist() == [2, 1, 1]


def test_mean_of_an_integer_tensor_is_rejected_or_float(device):
    """torch refuses mean() of an int tensor; returning the float mean is fine too."""
    x = tg.tensor([1, 2], device=device)
    try:
        out = x.mean()
    except (TypeError, tg.DTypeError):
        return
    assert out.dtype.is_floating_point and out.item() == 1.5


def test_reduction_of_an_empty_tensor(device):
    x = tg.zeros(0, 3, device=device)
    assert x.sum().item() == 0.0
    assert x.sum(dim=0).tolist() == [0.0, 0.0, 0.0]
    assert tuple(x.sum(dim=1).shape) == (0,)


def test_reduction_with_a_dim_out_of_range_raises(device):
    x, _ = data(SHAPE, device)
    with pytest.raises((IndexError, ValueError)):
        x.sum(dim=3)
    with pytest.raises((IndexError, ValueError)):
        x.mean(dim=-4)


@st.composite
def arrays_and_dims(draw):
    """A float32 array of 1 to 4 dims and a dim spelling for it: int, negative int or tuple."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    values = st.floats(-100, 100, width=32, allow_subnormal=False)
    array = draw(hnp.arrays(np.float32, shape, elements=values))
    ndim = len(shape)
    dims = draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                         unique_by=lambda d: d % ndim))  # fmt: skip
    dim = dims[0] if len(dims) == 1 else tuple(dims)
    return array, dim


@given(case=arrays_and_dims(), keepdim=st.booleans())
def test_sum_max_argmax_over_random_shapes_and_dims(case, keepdim):
    array, dim = case
    x = tg.tensor(array)
    expected = array.astype(np.float64).sum(axis=dim, keepdims=keepdim)
    np.testing.assert_allclose(x.sum(dim=dim, keepdim=keepdim).numpy(), expected,
                               rtol=1e-5, atol=1e-3)  # fmt: skip
    if isinstance(dim, int):
        values, indices = x.max(dim=dim, keepdim=keepdim)
        np.testing.assert_array_equal(values.numpy(), array.max(axis=dim, keepdims=keepdim))
        np.testing.assert_array_equal(indices.numpy(), array.argmax(axis=dim, keepdims=keepdim))


# --- max / min / argmax / argmin --------------------------------------------------------------


@pytest.mark.parametrize("name", ["max", "min"])
def test_full_max_min_is_a_0d_tensor(name, device):
    x, a = data(SHAPE, device)
    out = getattr(x, name)()
    assert out.shape == ()
    assert out.item() == pytest.approx(float(getattr(a, name)()))


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_along_a_dim_return_values_and_indices(name, dim, keepdim, device):
    x, a = data(SHAPE, device)
    result = getattr(x, name)(dim, keepdim=keepdim)
    values, indices = result  # unpacks like torch's namedtuple
    assert result.values is values and result.indices is indices
    expected = getattr(a, name)(axis=dim, keepdims=keepdim)
    arg = getattr(a, "arg" + name)(axis=dim, keepdims=keepdim)
    np.testing.assert_array_equal(values.numpy(), expected)
    assert indices.dtype == tg.int64
    np.testing.assert_array_equal(indices.numpy(), arg)
    np.testing.assert_array_equal(getattr(x, "arg" + name)(dim=dim, keepdim=keepdim).numpy(), arg)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_without_dim_index_the_flattened_tensor(name, device):
    x, a = data(SHAPE, device)
    out = getattr(x, name)()
    assert out.dtype == tg.int64
    assert out.shape == ()
    assert out.item() == getattr(a, name)()


def test_argmax_ties_resolve_to_the_first_index(device):
    x = tg.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], device=device)
    assert x.argmax(dim=1).tolist() == [1, 0]
    assert x.max(dim=1).indices.tolist() == [1, 0]


def test_argmax_of_integers(device):
    x = tg.tensor([[1, 7, 3], [9, 2, 2]], device=device)
    assert x.argmax(dim=1).tolist() == [1, 0]
    assert x.max().item() == 9
    assert x.max().dtype == tg.int64


@pytest.mark.parametrize("dim", [None, 0, -1])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_gradients(name, dim, device):
    float64_or_skip(device)
    x = tg.tensor(data(SHAPE, None, seed=2)[1], dtype=tg.float64, device=device, requires_grad=True)
    if dim is None:
        fn = lambda t: getattr(t, name)()  # noqa: E731
    else:
        fn = lambda t: getattr(t, name)(dim).values  # noqa: E731
    assert tg.autograd.gradcheck(fn, [x])


# --- logsumexp / softmax / log_softmax --------------------------------------------------------


def np_logsumexp(a, axis, keepdims=False):
    m = a.max(axis=axis, keepdims=True)
    out = m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def np_softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1, (0, 2)])
def test_logsumexp(dim, keepdim, device):
    x, a = data(SHAPE, device)
    out = x.logsumexp(dim=dim, keepdim=keepdim)
    expected = np_logsumexp(a.astype(np.float64), dim, keepdim)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_softmax_and_log_softmax(dim, device):
    x, a = data(SHAPE, device)
    expected = np_softmax(a.astype(np.float64), dim)
    np.testing.assert_allclose(x.softmax(dim=dim).numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        x.log_softmax(dim=dim).numpy(), np.log(expected), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(x.softmax(dim).sum(dim=dim).numpy(), 1.0, rtol=1e-5)


# fmt: off
HUGE = [
    # name           logits
    ("+1e4",         [[1e4, 1e4 - 1.0, 0.0], [-1e4, 1e4, 0.5]]),
    ("-1e4",         [[-1e4, -1e4 - 1.0, -1e4 + 2.0], [-1e4, -1e4, -1e4]]),
    ("mixed",        [[1e4, -1e4, 0.0], [3e4, 3e4, -3e4]]),
]
# fmt: on


@pytest.mark.parametrize("name, logits", HUGE, ids=[h[0] for h in HUGE])
def test_softmax_family_is_stable_for_huge_logits(name, logits, device):
    x = tg.tensor(logits, device=device)
    a = np.array(logits, dtype=np.float64)
    for out, expected in [
        (x.softmax(dim=-1), np_softmax(a, -1)),
        (x.log_softmax(dim=-1), a - np_logsumexp(a, -1, keepdims=True)),
        (x.logsumexp(dim=-1), np_logsumexp(a, -1)),
    ]:
        got = out.numpy()
        assert np.isfinite(got).all(), f"{name}: not finite: {got}"
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_log_softmax_stays_finite_where_softmax_underflows(device):
    x = tg.tensor([[0.0, -1e4]], device=device)
    np.testing.assert_allclose(x.log_softmax(dim=-1).numpy(), [[0.0, -1e4]], rtol=1e-6)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_family_gradients(name, dim, device):
    float64_or_skip(device)
    x = tg.tensor(data(SHAPE, None, seed=3)[1], dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: getattr(t, name)(dim=dim), [x])


def test_softmax_gradient_is_finite_for_huge_logits(device):
    x = tg.tensor([[1e4, 0.0, -1e4]], requires_grad=True, device=device)
    (x.log_softmax(dim=-1)[0, 1]).backward()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.grad.numpy(), [[-1.0, 1.0, 0.0]], atol=1e-6)


# --- matmul -----------------------------------------------------------------------------------

# fmt: off
MATMUL = [
    # name                 shape a          shape b          how
    ("1d @ 1d",            (4,),            (4,),            lambda a, b: a @ b),
    ("2d @ 1d",            (3, 4),          (4,),            lambda a, b: a @ b),
    ("1d @ 2d",            (4,),            (4, 5),          lambda a, b: a @ b),
    ("2d @ 2d",            (3, 4),          (4, 5),          lambda a, b: a @ b),
    ("batched",            (2, 3, 4),       (2, 4, 5),       lambda a, b: a @ b),
    ("batch broadcast",    (2, 1, 3, 4),    (5, 4, 2),       lambda a, b: a @ b),
    ("batched @ 2d",       (2, 3, 4),       (4, 5),          lambda a, b: a @ b),
    ("batched @ 1d",       (2, 3, 4),       (4,),            lambda a, b: a @ b),
    ("1d @ batched",       (4,),            (2, 4, 5),       lambda a, b: a @ b),
    ("x @ w.T",            (3, 4),          (5, 4),          lambda x, w: x @ w.T),
    ("x.T @ w",            (4, 3),          (4, 5),          lambda x, w: x.T @ w),
    ("bias add",           (3, 4),          (4, 5),          lambda a, b: a @ b + b[0]),
    ("empty inner",        (3, 0),          (0, 2),          lambda a, b: a @ b),
    ("tg.matmul",          (3, 4),          (4, 5),          lambda a, b: tg.matmul(a, b)),
    (".matmul",            (3, 4),          (4, 5),          lambda a, b: a.matmul(b)),
]
# fmt: on
NP_MATMUL = {"tg.matmul": lambda a, b: a @ b, ".matmul": lambda a, b: a @ b}


@pytest.mark.parametrize("name, shape_a, shape_b, fn", MATMUL, ids=[m[0] for m in MATMUL])
def test_matmul_matches_numpy(name, shape_a, shape_b, fn, device):
    x, a = data(shape_a, device, seed=4)
    y, b = data(shape_b, device, seed=5)
    ref = NP_MATMUL.get(name, fn)
    expected = ref(a.astype(np.float64), b.astype(np.float64))
    out = fn(x, y)
    assert tuple(out.shape) == np.shape(expected)
    assert out.dtype == tg.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name, shape_a, shape_b, fn", MATMUL, ids=[m[0] for m in MATMUL])
def test_matmul_gradients(name, shape_a, shape_b, fn, device):
    float64_or_skip(device)
    x = tg.tensor(
        data(shape_a, None, seed=6)[1], dtype=tg.float64, device=device, requires_grad=True
    )
    y = tg.tensor(
        data(shape_b, None, seed=7)[1], dtype=tg.float64, device=device, requires_grad=True
    )
    assert tg.autograd.gradcheck(fn, [x, y])


@given(
    batch=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    mkn=st.tuples(st.integers(1, 4), st.integers(0, 4), st.integers(1, 4)),
)
def test_matmul_broadcasts_batch_dims_like_numpy(batch, mkn):
    m, k, n = mkn
    shape_a = batch.input_shapes[0] + (m, k)
    shape_b = batch.input_shapes[1] + (k, n)
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape_a).astype(np.float32)
    b = rng.standard_normal(shape_b).astype(np.float32)
    out = tg.tensor(a) @ tg.tensor(b)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    assert tuple(out.shape) == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_matmul_of_integers(device):
    a = tg.tensor([[1, 2], [3, 4]], device=device)
    assert (a @ a).dtype == tg.int64
    assert (a @ a).tolist() == [[7, 10], [15, 22]]
