# ruff: noqa: E501 - the case table reads best one case per line
"""Shape ops with PyTorch's names (ops/movement_more.py, ops/structure_more.py): forward
against NumPy, backward against float64 finite differences, on every backend."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygpt as tg
from tinygpt.errors import ShapeError

RNG = np.random.default_rng(26)
A = RNG.uniform(-1.0, 1.0, size=(3, 4))
B = RNG.uniform(-1.0, 1.0, size=(2, 4))
C = RNG.uniform(-1.0, 1.0, size=(2, 3, 4))
V = RNG.uniform(-1.0, 1.0, size=(4,))


def _t(a, device, grad=False):
    return tg.tensor(a, dtype=tg.float64, device=device, requires_grad=grad)


def _diag_embed(v, offset):
    n = v.shape[-1] + abs(offset)
    out = np.zeros(v.shape[:-1] + (n, n))
    for k in range(v.shape[-1]):
        out[..., k + max(0, -offset), k + max(0, offset)] = v[..., k]
    return out


def _unfold(a, dim, size, step):
    windows = [
        np.take(a, range(s, s + size), axis=dim) for s in range(0, a.shape[dim] - size + 1, step)
    ]
    return np.moveaxis(np.stack(windows, axis=dim), dim + 1, -1)


def _block_diag(*blocks):
    rows = sum(b.shape[0] for b in blocks)
    cols = sum(b.shape[1] for b in blocks)
    out, r, c = np.zeros((rows, cols)), 0, 0
    for b in blocks:
        out[r : r + b.shape[0], c : c + b.shape[1]] = b
        r, c = r + b.shape[0], c + b.shape[1]
    return out


# fmt: off
# (name, tinygpt function of float64 tensors, numpy reference, inputs)
CASES = [
    ("hstack",        lambda a, b: tg.hstack([a, b.T[:3]]),          lambda a, b: np.hstack([a, b.T[:3]]), [A, B]),
    ("hstack1d",      lambda v: tg.hstack([v, v]),                    lambda v: np.hstack([v, v]), [V]),
    ("vstack",        lambda a, b: tg.vstack([a, b]),                 lambda a, b: np.vstack([a, b]), [A, B]),
    ("row_stack1d",   lambda v: tg.row_stack([v, v]),                 lambda v: np.vstack([v, v]), [V]),
    ("dstack",        lambda a: tg.dstack([a, a]),                    lambda a: np.dstack([a, a]), [A]),
    ("column_stack",  lambda v, a: tg.column_stack([v[:3], a]),      lambda v, a: np.column_stack([v[:3], a]), [V, A]),
    ("concat",        lambda a, b: tg.concat([a, b]),                 lambda a, b: np.concatenate([a, b]), [A, B]),
    ("concatenate",   lambda a: tg.concatenate([a, a], 1),            lambda a: np.concatenate([a, a], 1), [A]),
    ("atleast_3d",    lambda v: tg.atleast_3d(v),                     lambda v: np.atleast_3d(v), [V]),
    ("atleast_2d",    lambda a: tg.atleast_2d(a[0, 0]),               lambda a: np.atleast_2d(a[0, 0]), [A]),
    ("ravel",         lambda c: c.transpose(0, 2).ravel(),            lambda c: c.transpose(2, 1, 0).ravel(), [C]),
    ("swapaxes",      lambda c: tg.swapaxes(c, 0, 2),                 lambda c: np.swapaxes(c, 0, 2), [C]),
    ("swapdims",      lambda c: c.swapdims(-1, 1),                    lambda c: np.swapaxes(c, -1, 1), [C]),
    ("movedim",       lambda c: tg.movedim(c, 0, -1),                 lambda c: np.moveaxis(c, 0, -1), [C]),
    ("moveaxis_many", lambda c: c.moveaxis((0, 1), (2, 0)),           lambda c: np.moveaxis(c, (0, 1), (2, 0)), [C]),
    ("tile",          lambda a: tg.tile(a, (2, 1, 3)),                lambda a: np.tile(a, (2, 1, 3)), [A]),
    ("tile_short",    lambda c: c.tile(2),                            lambda c: np.tile(c, 2), [C]),
    ("roll",          lambda a: tg.roll(a, 1, 1),                     lambda a: np.roll(a, 1, 1), [A]),
    ("roll_flat",     lambda a: a.roll(-5),                           lambda a: np.roll(a, -5), [A]),
    ("roll_many",     lambda c: c.roll((1, -2), (0, 2)),              lambda c: np.roll(c, (1, -2), (0, 2)), [C]),
    ("rot90",         lambda a: tg.rot90(a),                          lambda a: np.rot90(a), [A]),
    ("rot90_k3",      lambda c: c.rot90(3, (1, 2)),                   lambda c: np.rot90(c, 3, (1, 2)), [C]),
    ("rot90_k-2",     lambda a: tg.rot90(a, -2),                      lambda a: np.rot90(a, -2), [A]),
    ("unflatten",     lambda a: a.unflatten(1, (2, -1)),              lambda a: a.reshape(3, 2, 2), [A]),
    ("select",        lambda c: tg.select(c, 1, -1),                  lambda c: c[:, -1], [C]),
    ("take",          lambda a: tg.take(a, tg.tensor([[0, 11], [5, 5]], device=a.device)),
                      lambda a: np.take(a, [[0, 11], [5, 5]]), [A]),
    ("narrow_copy",   lambda a: tg.narrow_copy(a, 1, 1, 2),           lambda a: a[:, 1:3], [A]),
    ("unfold",        lambda a: a.unfold(1, 2, 1),                    lambda a: _unfold(a, 1, 2, 1), [A]),
    ("unfold_step",   lambda c: c.unfold(2, 3, 2),                    lambda c: _unfold(c, 2, 3, 2), [C]),
    ("unfold_dim0",   lambda a: a.unfold(0, 2, 1),                    lambda a: _unfold(a, 0, 2, 1), [A]),
    ("diag_embed",    lambda a: tg.diag_embed(a),                     lambda a: _diag_embed(a, 0), [A]),
    ("diag_embed+1",  lambda a: a.diag_embed(1),                      lambda a: _diag_embed(a, 1), [A]),
    ("diag_embed-2",  lambda v: tg.diag_embed(v, -2),                 lambda v: _diag_embed(v, -2), [V]),
    ("diagflat",      lambda a: tg.diagflat(a[:2, :2], 1),            lambda a: np.diagflat(a[:2, :2], 1), [A]),
    ("block_diag",    lambda a, b, v: tg.block_diag(a, b, v),         lambda a, b, v: _block_diag(a, b, v[None]), [A, B, V]),
    ("cartesian",     lambda v: tg.cartesian_prod(v[:2], v[1:]),
                      lambda v: np.array(list(itertools.product(v[:2], v[1:]))), [V]),
    ("combinations",  lambda v: tg.combinations(v),
                      lambda v: np.array(list(itertools.combinations(v, 2))), [V]),
    ("combos_repl3",  lambda v: tg.combinations(v[:3], 3, with_replacement=True),
                      lambda v: np.array(list(itertools.combinations_with_replacement(v[:3], 3))), [V]),
]
# fmt: on


@pytest.mark.parametrize("name, fn, ref, inputs", CASES, ids=[c[0] for c in CASES])
def test_forward_matches_numpy(device, name, fn, ref, inputs):
    got = fn(*[_t(a, device) for a in inputs])
    want = ref(*inputs)
    assert tuple(got.shape) == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name, fn, ref, inputs", CASES, ids=[c[0] for c in CASES])
def test_backward_matches_finite_differences(device, name, fn, ref, inputs):
    args = [_t(a, device, grad=True) for a in inputs]
    assert tg.autograd.gradcheck(fn, args)


def test_splits_match_numpy(device):
    a = _t(C, device)
    for got, want in zip(tg.tensor_split(a, 3, dim=2), np.array_split(C, 3, axis=2)):
        np.testing.assert_array_equal(got.numpy(), want)
    for got, want in zip(a.tensor_split([1, 3], 2), np.split(C, [1, 3], axis=2)):
        np.testing.assert_array_equal(got.numpy(), want)
    for got, want in zip(tg.hsplit(a, 3), np.hsplit(C, 3)):
        np.testing.assert_array_equal(got.numpy(), want)
    for got, want in zip(a.vsplit([1]), np.vsplit(C, [1])):
        np.testing.assert_array_equal(got.numpy(), want)
    for got, want in zip(tg.dsplit(a, 2), np.dsplit(C, 2)):
        np.testing.assert_array_equal(got.numpy(), want)
    with pytest.raises(ShapeError, match="equal parts"):
        tg.hsplit(a, 2)


def test_index_lists_and_shapes(device):
    for row, col, offset in [(3, 3, 0), (4, 3, 1), (3, 5, -1)]:
        want_l = np.array(np.tril_indices(row, offset, col))
        want_u = np.array(np.triu_indices(row, offset, col))
        np.testing.assert_array_equal(
            tg.tril_indices(row, col, offset, device=device).numpy(), want_l
        )
        np.testing.assert_array_equal(
            tg.triu_indices(row, col, offset, device=device).numpy(), want_u
        )
    assert tg.broadcast_shapes((2, 1, 3), (4, 1), 1) == (2, 4, 3)
    with pytest.raises(ShapeError, match="do not broadcast"):
        tg.broadcast_shapes((2,), (3,))


def test_stacking_promotes_dtypes(device):
    ints = tg.tensor([1, 2], device=device)
    floats = tg.tensor([0.5], device=device)
    out = tg.hstack([ints, floats])
    assert out.dtype == tg.float32 and out.tolist() == [1.0, 2.0, 0.5]


def test_errors_name_the_op(device):
    a = _t(A, device)
    with pytest.raises(ShapeError, match="movedim"):
        tg.movedim(a, (0, 1), 0)
    with pytest.raises(ShapeError, match="unfold"):
        a.unfold(1, 5, 1)
    with pytest.raises(IndexError, match="select"):
        tg.select(a, 0, 3)
    with pytest.raises(ShapeError, match="unflatten"):
        a.unflatten(1, (3, 2))


@settings(deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    shift=st.integers(-7, 7),
    data=st.data(),
)
def test_moves_and_rolls_match_numpy_for_any_shape(shape, shift, data):
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    x = tg.tensor(a)
    ndim = len(shape)
    src = data.draw(st.integers(-ndim, ndim - 1))
    dst = data.draw(st.integers(-ndim, ndim - 1))
    np.testing.assert_array_equal(x.movedim(src, dst).numpy(), np.moveaxis(a, src, dst))
    np.testing.assert_array_equal(x.roll(shift, src).numpy(), np.roll(a, shift, src))
    sections = data.draw(st.integers(1, 5))
    for got, want in zip(x.tensor_split(sections, src), np.array_split(a, sections, src)):
        np.testing.assert_array_equal(got.numpy(), want)
