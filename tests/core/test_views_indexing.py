"""Movement ops and indexing, with NumPy as the oracle.

Views (reshape, permute, transpose, expand, slicing) share memory with their base: a write
into the base under no_grad shows through the view. Indexing follows NumPy exactly, advanced
indexing included; gradients flow back through every kind of index, and repeated integer
indices accumulate.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygpt as tg


def arange(shape, device, dtype="float32"):
    """tg and NumPy versions of 0, 1, 2, ... in `shape` (distinct values, easy to read)."""
    array = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    return tg.tensor(array, device=device), array


def bcast(a, shape):
    return np.broadcast_to(a, shape)


def pad(a, *pairs, value=0):
    return np.pad(a, pairs, constant_values=value)


# --- views share memory -----------------------------------------------------------------------

# fmt: off
VIEWS = [
    # name           make a view of base (3, 4)         same view in NumPy
    ("reshape",      lambda x: x.reshape(2, 6),         lambda a: a.reshape(2, 6)),
    ("view",         lambda x: x.view(12),              lambda a: a.reshape(12)),
    ("flatten",      lambda x: x.flatten(),             lambda a: a.reshape(-1)),
    ("transpose",    lambda x: x.transpose(0, 1),       lambda a: a.T),
    (".T",           lambda x: x.T,                     lambda a: a.T),
    ("permute",      lambda x: x.permute(1, 0),         lambda a: a.T),
    ("unsqueeze",    lambda x: x.unsqueeze(0),          lambda a: a[None]),
    ("expand",       lambda x: x[:, :1].expand(3, 5),   lambda a: bcast(a[:, :1], (3, 5))),
    ("slice step",   lambda x: x[::2, 1::2],            lambda a: a[::2, 1::2]),
    ("reversed",     lambda x: x[::-1],                 lambda a: a[::-1]),
    ("int + None",   lambda x: x[1, None],              lambda a: a[1, None]),
    ("split",        lambda x: x.split(2, dim=1)[1],    lambda a: a[:, 2:]),
    ("chunk",        lambda x: x.chunk(3)[1],           lambda a: a[1:2]),
    ("detach",       lambda x: x.detach(),              lambda a: a),
]
# fmt: on


@pytest.mark.parametrize("name, make, ref", VIEWS, ids=[v[0] for v in VIEWS])
def test_views_see_writes_to_their_base(name, make, ref, device):
    base, array = arange((3, 4), device)
    view = make(base)
    np.testing.assert_array_equal(view.numpy(), ref(array))
    with tg.no_grad():
        base[...] = 0.0
        base[1, 2] = 100.0
    array[...] = 0.0
    array[1, 2] = 100.0
    np.testing.assert_array_equal(view.numpy(), ref(array))


def test_writes_through_a_view_reach_the_base(device):
    base, array = arange((3, 4), device)
    view = base.T[1:, ::2]
    with tg.no_grad():
        view[0] = -1.0
        view[-1, -1] = -2.0
    array.T[1:, ::2][0] = -1.0
    array.T[1:, ::2][-1, -1] = -2.0
    np.testing.assert_array_equal(base.numpy(), array)


def test_clone_and_contiguous_copy(device):
    base, array = arange((3, 4), device)
    clone = base.clone()
    compact = base.T.contiguous()
    assert compact.is_contiguous()
    with tg.no_grad():
        base[...] = 0.0
    np.testing.assert_array_equal(clone.numpy(), array)
    np.testing.assert_array_equal(compact.numpy(), array.T)


def test_reshape_of_a_non_contiguous_tensor_copies_correctly(device):
    x, a = arange((3, 4), device)
    np.testing.assert_array_equal(x.T.reshape(12).numpy(), a.T.reshape(12))
    np.testing.assert_array_equal(x[:, ::2].reshape(2, 3).numpy(), a[:, ::2].reshape(2, 3))


# --- movement ops -----------------------------------------------------------------------------

# fmt: off
MOVEMENT = [
    # name           input      tinygpt                              NumPy
    ("reshape -1",   (2, 3, 4), lambda x: x.reshape(-1, 4),          lambda a: a.reshape(-1, 4)),
    ("reshape tuple", (2, 3, 4), lambda x: x.reshape((4, 6)),        lambda a: a.reshape(4, 6)),
    ("reshape 0-d",  (1, 1),    lambda x: x.reshape(()),             lambda a: a.reshape(())),
    ("permute",      (2, 3, 4), lambda x: x.permute(1, 2, 0),       lambda a: a.transpose(1, 2, 0)),
    ("permute -1",   (2, 3, 4), lambda x: x.permute(-1, 0, 1),      lambda a: a.transpose(2, 0, 1)),
    ("transpose -1", (2, 3, 4), lambda x: x.transpose(-1, 0),        lambda a: a.swapaxes(-1, 0)),
    ("expand",       (3, 1),    lambda x: x.expand(2, 3, 4),         lambda a: bcast(a, (2, 3, 4))),
    ("broadcast_to", (2, 1),    lambda x: tg.broadcast_to(x, (3, 2, 4)),
                                lambda a: bcast(a, (3, 2, 4))),
    ("squeeze all",  (1, 2, 1, 3), lambda x: x.squeeze(),            lambda a: a.squeeze()),
    ("squeeze -2",   (1, 2, 1, 3), lambda x: x.squeeze(-2),          lambda a: a.squeeze(-2)),
    ("squeeze no-op", (1, 2, 1, 3), lambda x: x.squeeze(1),          lambda a: a),
    ("unsqueeze 0",  (2, 3),    lambda x: x.unsqueeze(0),            lambda a: a[None]),
    ("unsqueeze 2",  (2, 3),    lambda x: x.unsqueeze(2),            lambda a: a[:, :, None]),
    ("unsqueeze -1", (2, 3),    lambda x: x.unsqueeze(-1),           lambda a: a[..., None]),
    ("flatten",      (2, 3, 4), lambda x: x.flatten(),               lambda a: a.reshape(-1)),
    ("flatten 1",    (2, 3, 4), lambda x: x.flatten(1),              lambda a: a.reshape(2, 12)),
    ("flatten 0-d",  (),        lambda x: x.flatten(),               lambda a: a.reshape(1)),
    ("tril",         (4, 4),    lambda x: x.tril(),                  np.tril),
    ("tril 1",       (3, 5),    lambda x: x.tril(1),                 lambda a: np.tril(a, 1)),
    ("triu -1",      (5, 3),    lambda x: x.triu(diagonal=-1),       lambda a: np.triu(a, -1)),
    ("triu batched", (2, 3, 3), lambda x: tg.triu(x, 1),             lambda a: np.triu(a, 1)),
    ("tril tg",      (3, 3),    lambda x: tg.tril(x),                np.tril),
    # tg.pad's pairs run from the last dim backwards, like torch.nn.functional.pad
    ("pad last dim", (2, 3),    lambda x: tg.pad(x, (2, 1)),      lambda a: pad(a, (0, 0), (2, 1))),
    ("pad two dims", (2, 3),    lambda x: tg.pad(x, (1, 0, 0, 2), value=-1),
                                lambda a: pad(a, (0, 2), (1, 0), value=-1)),
    ("pad 3-d",      (2, 2, 2), lambda x: tg.pad(x, (0, 0, 1, 1)),
                                lambda a: pad(a, (0, 0), (1, 1), (0, 0))),
]
# fmt: on


@pytest.mark.parametrize("name, shape, fn, ref", MOVEMENT, ids=[m[0] for m in MOVEMENT])
def test_movement_ops(name, shape, fn, ref, device):
    x, a = arange(shape, device)
    out = fn(x)
    expected = ref(a)
    assert tuple(out.shape) == expected.shape
    np.testing.assert_array_equal(out.numpy(), expected)


def test_pad_keeps_integer_dtype(device):
    x, a = arange((2, 2), device, "int64")
    out = tg.pad(x, (1, 1), value=7)
    assert out.dtype == tg.int64
    np.testing.assert_array_equal(out.numpy(), np.pad(a, ((0, 0), (1, 1)), constant_values=7))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack(dim, device):
    x, a = arange((2, 3), device)
    y, b = tg.ones(2, 3, device=device), np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(
        tg.cat([x, y, x], dim=dim).numpy(), np.concatenate([a, b, a], axis=dim)
    )
    np.testing.assert_array_equal(tg.stack([x, y], dim=dim).numpy(), np.stack([a, b], axis=dim))
    np.testing.assert_array_equal(tg.stack((x,), dim=dim).numpy(), np.stack([a], axis=dim))


def test_cat_accepts_empty_parts(device):
    x, a = arange((2, 3), device)
    empty = tg.zeros(0, 3, device=device)
    np.testing.assert_array_equal(tg.cat([empty, x, empty]).numpy(), a)


@pytest.mark.parametrize(
    "size, dim, expected",
    [
        (2, 0, [(2, 4), (2, 4), (1, 4)]),  # the last part is smaller
        (4, 1, [(5, 4)]),
        ([1, 3], 1, [(5, 1), (5, 3)]),
        ([2, 0, 3], 0, [(2, 4), (0, 4), (3, 4)]),
    ],
)
def test_split(size, dim, expected, device):
    x, a = arange((5, 4), device)
    parts = x.split(size, dim=dim)
    assert [tuple(p.shape) for p in parts] == expected
    np.testing.assert_array_equal(np.concatenate([p.numpy() for p in parts], axis=dim), a)


@pytest.mark.parametrize("chunks, expected", [(2, [3, 2]), (5, [1, 1, 1, 1, 1]), (3, [2, 2, 1])])
def test_chunk(chunks, expected, device):
    x, a = arange((5, 2), device)
    parts = x.chunk(chunks)
    assert [p.shape[0] for p in parts] == expected
    np.testing.assert_array_equal(np.concatenate([p.numpy() for p in parts]), a)


# --- __getitem__ ------------------------------------------------------------------------------

SHAPE = (4, 5, 6)
# fmt: off
INDICES = [
    # basic: ints, negative ints, slices with steps, None, Ellipsis
    1, -1, (1, 2), (-1, -2, -3), slice(None), slice(1, 3), (slice(None), slice(None, None, 2)),
    slice(None, None, -1), slice(3, 0, -2), (slice(None), slice(None, None, -2), 0),
    slice(10, 20), slice(-100, 100), (None,), (None, 1, None), (Ellipsis, 0), (0, Ellipsis, None),
    (Ellipsis,), (),
    # advanced: lists, numpy arrays, several index arrays, broadcasting, mixed with slices
    [0, 2, 2], [-1, 0], np.array([3, 1]), np.array([[0, 1], [2, 3]]),
    ([0, 1], [2, 3]), ([0, 1], [2, 3], [4, 5]),
    (np.array([[0], [3]]), np.array([1, 2, 4])),  # broadcast to (2, 3)
    (slice(None), [4, 0]), (slice(1, 3), [0, 0, 1], slice(None, None, 2)),
    (slice(None), [0, 1], [2, 3]),  # adjacent index arrays: their dims stay in place
    ([0, 1], slice(None), [2, 3]),  # separated by a slice: their dims move to the front
    ([0, 1], slice(None), 2),  # an int next to an index array is an index array too
    (Ellipsis, [1, 5]), (None, [1, 2], None),  (1, [0, 4], slice(None)),
    # boolean masks
    np.array([True, False, True, True]), (slice(None), np.array([False, True, False, True, True])),
    np.array([[True, False] * 2 + [False], [False] * 5, [True] * 5, [False, True] * 2 + [True]]),
]
# fmt: on


@pytest.mark.parametrize("index", INDICES, ids=[repr(i) for i in INDICES])
def test_getitem_matches_numpy(index, device):
    x, a = arange(SHAPE, device)
    expected = a[index]
    out = x[index]
    assert tuple(out.shape) == expected.shape
    np.testing.assert_array_equal(out.numpy(), expected)


def test_getitem_with_index_tensors_matches_numpy(device):
    x, a = arange(SHAPE, device)
    rows = np.array([[3, 0], [1, 1]])
    cols = np.array([4, 2])
    got = x[tg.tensor(rows, device=device), :, tg.tensor(cols, device=device)]
    np.testing.assert_array_equal(got.numpy(), a[rows, :, cols])
    got = x[tg.tensor(rows, dtype=tg.int32, device=device)]
    np.testing.assert_array_equal(got.numpy(), a[rows])
    mask = a > 60
    np.testing.assert_array_equal(x[x > 60].numpy(), a[mask])
    np.testing.assert_array_equal(x[tg.tensor(mask, device=device)].numpy(), a[mask])
    assert x[0, 1, 2].item() == a[0, 1, 2]
    assert x[tg.tensor(1, device=device)].shape == (5, 6)  # a 0-d int tensor acts as an int


@pytest.mark.parametrize("index", [4, -5, (0, 5), [0, 4], (slice(None), [7])])
def test_getitem_out_of_range_raises_index_error(index, device):
    x, _ = arange(SHAPE, device)
    with pytest.raises(IndexError):
        x[index]


def test_getitem_too_many_indices_raises_index_error(device):
    x, _ = arange((2, 3), device)
    with pytest.raises(IndexError):
        x[0, 0, 0]


@st.composite
def arrays_and_basic_indices(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    index = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    return shape, index


@given(case=arrays_and_basic_indices())
def test_basic_indexing_matches_numpy(case):
    shape, index = case
    x, a = arange(shape, None)
    expected = a[index]
    out = x[index]
    assert tuple(out.shape) == expected.shape
    np.testing.assert_array_equal(out.numpy(), expected)


@given(case=arrays_and_basic_indices(), data=st.data())
def test_basic_indexing_then_integer_arrays_matches_numpy(case, data):
    """A view from basic indexing (maybe reversed, strided) gathered with an index array."""
    shape, index = case
    x, a = arange(shape, None)
    view, expected = x[index], a[index]
    if view.ndim == 0 or view.shape[0] == 0:
        return
    n = view.shape[0]
    picks = data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=6))
    np.testing.assert_array_equal(view[picks].numpy(), expected[picks])


# --- gradients through indexing ---------------------------------------------------------------


def grad_of(fn, shape, device):
    """x.grad after fn(x).sum().backward(), x = 0, 1, 2, ... of `shape`."""
    x, _ = arange(shape, device)
    x.requires_grad_()
    fn(x).sum().backward()
    return x.grad.numpy()


# fmt: off
GRADS = [
    # name            fn (x is (3, 4))                     the gradient of sum(fn(x)), from zeros g
    ("slice",         lambda x: x[1:, ::2],                lambda g: put(g, np.s_[1:, ::2], 1)),
    ("reversed",      lambda x: x[::-1, 0],                lambda g: put(g, np.s_[:, 0], 1)),
    ("int and None",  lambda x: x[None, 2, None, 1],       lambda g: put(g, np.s_[2, 1], 1)),
    ("repeated rows", lambda x: x[[0, 2, 0, 0]],           lambda g: put(put(g, 0, 3), 2, 1)),
    ("repeated pairs", lambda x: x[[1, 1, 2], [3, 3, 0]],  lambda g: put(g, PAIRS, [2, 1])),
    ("mask",          lambda x: x[x > 5],                  lambda g: put(g, ARANGE_3_4 > 5, 1)),
    ("split",         lambda x: x.split([1, 3], dim=1)[1] * 2, lambda g: put(g, np.s_[:, 1:], 2)),
]
# fmt: on


ARANGE_3_4 = np.arange(12).reshape(3, 4)
PAIRS = ([1, 2], [3, 0])  # (1, 3) is picked twice, (2, 0) once


def put(g, index, value):
    out = g.copy()
    out[index] = value
    return out


@pytest.mark.parametrize("name, fn, expected", GRADS, ids=[g[0] for g in GRADS])
def test_gradients_through_indexing(name, fn, expected, device):
    got = grad_of(fn, (3, 4), device)
    np.testing.assert_array_equal(got, expected(np.zeros((3, 4), np.float32)))


def test_gradient_through_weighted_repeated_gather(device):
    x = tg.zeros(4, requires_grad=True, device=device)
    weights = tg.tensor([1.0, 10.0, 100.0, 1000.0], device=device)
    (x[[3, 1, 3, 3]] * weights).sum().backward()
    assert x.grad.tolist() == [0.0, 10.0, 0.0, 1101.0]


# --- __setitem__ ------------------------------------------------------------------------------

# fmt: off
SETITEMS = [
    # index                           value: a scalar, or ("shape", s): -1, -2, ... in shape s
    (1,                               7.0),
    (-1,                              7),
    ((0, 2),                          -3.5),
    (slice(1, 3),                     2.0),
    ((slice(None), slice(None, None, 2)), 0.0),
    ((slice(None, None, -1), 1),      ("shape", (3,))),     # through a reversed view
    ((Ellipsis, 0),                   ("shape", (3,))),     # a tensor of the exact shape
    (slice(0, 2),                     ("shape", (4,))),     # a tensor that broadcasts
    ((slice(None), slice(1, 3)),      ("shape", (3, 1))),
    ([0, 2],                          5.0),                 # integer array
    (np.array([[True, False, True, False]] * 3), -1.0),      # boolean mask
]
# fmt: on


@pytest.mark.parametrize("index, value", SETITEMS, ids=[repr(s[0]) for s in SETITEMS])
def test_setitem_matches_numpy(index, value, device):
    x, a = arange((3, 4), device)
    if isinstance(value, tuple):
        raw = -np.arange(1, int(np.prod(value[1])) + 1, dtype=np.float32).reshape(value[1])
        value_tg, value_np = tg.tensor(raw, device=device), raw
    else:
        value_tg, value_np = value, value
    with tg.no_grad():
        x[index] = value_tg
    a[index] = value_np
    np.testing.assert_array_equal(x.numpy(), a)


def test_setitem_with_a_tensor_mask(device):
    x, a = arange((3, 4), device)
    with tg.no_grad():
        x[x > 6] = 0.0
    a[a > 6] = 0.0
    np.testing.assert_array_equal(x.numpy(), a)


def test_setitem_casts_the_value_to_the_tensor_dtype(device):
    x, a = arange((2, 3), device, "int64")
    with tg.no_grad():
        x[0] = 2.7  # truncated, like torch and NumPy
    assert x.dtype == tg.int64
    a[0] = 2.7
    np.testing.assert_array_equal(x.numpy(), a)


def test_setitem_on_a_leaf_that_requires_grad_is_refused(device):
    x = tg.ones(3, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="no_grad"):
        x[0] = 2.0
    with tg.no_grad():
        x[0] = 2.0  # fine: e.g. an optimizer step
    assert x.tolist() == [2.0, 1.0, 1.0]


def test_setitem_under_autograd_is_differentiable(device):
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    v = tg.tensor(5.0, requires_grad=True, device=device)
    y = x * 2
    y[1] = v  # overwritten: x[1] gets no gradient, v gets it instead
    assert y.tolist() == [2.0, 5.0, 6.0]
    (y * tg.tensor([1.0, 10.0, 100.0], device=device)).sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 200.0]
    assert v.grad.item() == 10.0


# --- broadcasting -----------------------------------------------------------------------------


@given(
    shapes=hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=4
    )
)
def test_add_broadcasts_like_numpy(shapes):
    (shape_a, shape_b), result = shapes.input_shapes, shapes.result_shape
    x, a = arange(shape_a, None)
    y, b = arange(shape_b, None)
    out = x + y
    assert tuple(out.shape) == result
    np.testing.assert_array_equal(out.numpy(), a + b)


@given(
    shapes=hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3
    )
)
def test_broadcast_gradient_sums_over_stretched_dims(shapes):
    shape_a, shape_b = shapes.input_shapes
    x = tg.ones(shape_a, requires_grad=True)
    y = tg.ones(shape_b, requires_grad=True)
    (x * y).sum().backward()
    n = int(np.prod(shapes.result_shape))
    np.testing.assert_array_equal(x.grad.numpy(), np.full(shape_a, n // int(np.prod(shape_a))))
    np.testing.assert_array_equal(y.grad.numpy(), np.full(shape_b, n // int(np.prod(shape_b))))
