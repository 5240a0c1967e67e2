"""sort, argsort, msort, topk and multinomial: forward against NumPy, backward against float64
finite differences, on every backend; the same calls against PyTorch where it is installed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg
from tinygpt.errors import DTypeError, ShapeError

RNG = np.random.default_rng(0)


def np_argsort(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable argsort; descending keeps ties in order (reverse, sort, reverse back)."""
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    return x.shape[axis] - 1 - np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)


def distinct(shape, seed=0):
    """Values at least 0.05 apart: no ties, so finite differences never cross a swap."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05).reshape(shape)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_sort_matches_numpy_with_ties(device, dim, descending):
    x = RNG.integers(-3, 4, size=(4, 6)).astype(np.float32)  # many ties
    values, indices = tg.tensor(x, device=device).sort(dim=dim, descending=descending)
    order = np_argsort(x, dim % 2, descending)
    assert indices.dtype == tg.int64
    np.testing.assert_array_equal(indices.numpy(), order)
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(x, order, dim % 2))


@pytest.mark.parametrize("descending", [False, True])
def test_argsort_of_long_rows_and_columns(device, descending):
    # long enough that the cpu backend splits the rows over threads
    x = RNG.integers(-50, 50, size=(16, 3000)).astype(np.float32)
    t = tg.tensor(x, device=device)
    np.testing.assert_array_equal(
        t.argsort(descending=descending).numpy(), np_argsort(x, 1, descending)
    )
    columns = tg.tensor(np.ascontiguousarray(x.T), device=device).t()  # strided runs
    np.testing.assert_array_equal(
        columns.argsort(0, descending).numpy(), np_argsort(x, 0, descending)
    )


def test_sort_returns_a_named_tuple_like_pytorch(device):
    out = tg.sort(tg.tensor([2.0, 1.0], device=device))
    values, indices = out
    assert out.values is values and out.indices is indices
    assert tg.argsort(tg.tensor([2.0, 1.0], device=device)).tolist() == [1, 0]
    assert tg.msort(tg.tensor([[2.0], [1.0]], device=device)).tolist() == [[1.0], [2.0]]


def test_sort_puts_nan_last_and_keeps_ints(device):
    x = tg.tensor([1.0, float("nan"), -1.0], device=device)
    assert x.argsort().tolist() == [2, 0, 1]
    assert x.argsort(descending=True).tolist() == [1, 0, 2]
    ints = tg.tensor([3, 1, 2], device=device)
    assert ints.sort().values.dtype == tg.int64
    assert ints.sort().values.tolist() == [1, 2, 3]


def test_sort_edge_shapes(device):
    scalar = tg.tensor(5.0, device=device)
    assert scalar.sort().values.item() == 5.0 and scalar.sort().indices.item() == 0
    empty = tg.zeros(2, 0, device=device)
    assert empty.sort().values.shape == (2, 0)
    assert empty.argsort(dim=0).shape == (2, 0)


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("k", [0, 1, 3, 5])
def test_topk_matches_numpy(device, k, largest):
    x = distinct((3, 5)).astype(np.float32)
    values, indices = tg.tensor(x, device=device).topk(k, largest=largest)
    order = np_argsort(x, 1, largest)[:, :k]
    np.testing.assert_array_equal(indices.numpy(), order)
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(x, order, 1))


def test_topk_along_dim_0_and_named_fields(device):
    x = distinct((4, 3)).astype(np.float32)
    out = tg.topk(tg.tensor(x, device=device), 2, dim=0)
    np.testing.assert_array_equal(out.indices.numpy(), np.argsort(-x, axis=0, kind="stable")[:2])


def test_topk_rejects_k_out_of_range(device):
    with pytest.raises(ShapeError, match="topk: k=4 is out of range"):
        tg.ones(3, device=device).topk(4)
    with pytest.raises(ShapeError, match="k=-1"):
        tg.ones(3, device=device).topk(-1)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.sort(dim=1).values,
        lambda x: x.sort(dim=0, descending=True).values,
        lambda x: x.topk(2, dim=1).values,
        lambda x: x.topk(2, dim=0, largest=False).values * 3,
    ],
    ids=["sort", "sort desc dim0", "topk", "topk smallest"],
)
def test_sort_and_topk_gradients(device, fn):
    x = tg.tensor(distinct((3, 4)), dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(fn, [x])


@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple),
    data=st.data(),
)
def test_sort_any_shape_and_dim(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    descending = data.draw(st.booleans())
    x = np.random.default_rng(len(shape)).integers(-2, 3, size=shape).astype(np.float32)
    for device in [info.name for info in tg.backends() if info.available]:
        values, indices = tg.tensor(x, device=device).sort(dim, descending)
        order = np_argsort(x, dim % len(shape), descending)
        np.testing.assert_array_equal(indices.numpy(), order)
        np.testing.assert_array_equal(values.numpy(), np.take_along_axis(x, order, dim))


# ----------------------------------------------------------------------- multinomial
def test_multinomial_with_replacement_follows_the_weights(device):
    tg.manual_seed(1)
    weights = tg.tensor([[1.0, 0.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0]], device=device)
    draws = tg.multinomial(weights, 4000, replacement=True)
    assert draws.shape == (2, 4000) and draws.dtype == tg.int64
    counts = [np.bincount(row, minlength=4) / 4000 for row in draws.numpy()]
    np.testing.assert_allclose(counts[0], [0.125, 0.0, 0.375, 0.5], atol=0.03)
    np.testing.assert_allclose(counts[1], [0.25] * 4, atol=0.03)
    assert counts[0][1] == 0  # a zero weight is never drawn


def test_multinomial_without_replacement_draws_distinct_categories(device):
    tg.manual_seed(2)
    weights = tg.tensor([0.1, 0.2, 0.0, 0.3, 0.4], device=device)
    draws = weights.multinomial(4)
    assert draws.shape == (4,)
    assert sorted(draws.tolist()) == [0, 1, 3, 4]  # all nonzero ones, the zero one never
    firsts = np.bincount([weights.multinomial(1).item() for _ in range(1500)], minlength=5)
    np.testing.assert_allclose(firsts / 1500, [0.1, 0.2, 0.0, 0.3, 0.4], atol=0.04)


def test_multinomial_follows_manual_seed(device):
    weights = tg.ones(3, 10, device=device)
    tg.manual_seed(7)
    first = tg.multinomial(weights, 5, replacement=True).tolist()
    second_no = tg.multinomial(weights, 5).tolist()
    tg.manual_seed(7)
    assert tg.multinomial(weights, 5, replacement=True).tolist() == first
    assert tg.multinomial(weights, 5).tolist() == second_no


def test_multinomial_rejects_bad_input(device):
    with pytest.raises(ShapeError, match="at most n = 2"):
        tg.multinomial(tg.ones(2, device=device), 3)
    with pytest.raises(ShapeError, match="shape"):
        tg.multinomial(tg.ones(2, 2, 2, device=device), 1)
    with pytest.raises(DTypeError, match="floating"):
        tg.multinomial(tg.ones(2, dtype=tg.int64, device=device), 1)
    with pytest.raises(ValueError, match=">= 0"):
        tg.multinomial(tg.tensor([1.0, -1.0], device=device), 1)
    with pytest.raises(ValueError, match="positive sum"):
        tg.multinomial(tg.zeros(2, device=device), 1, replacement=True)


# ------------------------------------------------------------------------ PyTorch
@pytest.mark.oracle
@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_topk_match_pytorch(device, descending):
    torch = pytest.importorskip("torch")
    x = RNG.integers(-3, 4, size=(3, 7)).astype(np.float32)
    x[0, 2] = np.nan
    ours = tg.tensor(x, device=device).sort(dim=1, descending=descending, stable=True)
    theirs = torch.from_numpy(x).sort(dim=1, descending=descending, stable=True)
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    y = distinct((4, 6)).astype(np.float32)
    ours_k = tg.tensor(y, device=device).topk(3, dim=0, largest=not descending)
    theirs_k = torch.from_numpy(y).topk(3, dim=0, largest=not descending)
    np.testing.assert_array_equal(ours_k.indices.numpy(), theirs_k.indices.numpy())
    np.testing.assert_array_equal(ours_k.values.numpy(), theirs_k.values.numpy())


@pytest.mark.oracle
def test_topk_gradient_matches_pytorch(device):
    torch = pytest.importorskip("torch")
    x = distinct((3, 5))
    ours = tg.tensor(x, device=device, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    weights = np.arange(6.0).reshape(3, 2)
    (ours.topk(2).values * tg.tensor(weights, dtype=tg.float64, device=device)).sum().backward()
    (theirs.topk(2).values * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy())


def _top_k_top_p(lib, functional, logits, **device):
    """nanoGPT's top-k and Hugging Face's top-p filtering, written as they write them."""
    logits = lib.tensor(logits, **device)
    v, _ = lib.topk(logits, min(3, logits.size(-1)))
    logits = logits.clone()
    logits[logits < v[:, [-1]]] = -float("Inf")
    sorted_logits, sorted_indices = lib.sort(logits, descending=True)
    cumulative = lib.cumsum(functional.softmax(sorted_logits, dim=-1), dim=-1)
    remove = cumulative > 0.8
    remove[..., 1:] = remove[..., :-1].clone()
    remove[..., 0] = 0
    to_remove = remove.scatter(1, sorted_indices, remove)
    return functional.softmax(logits.masked_fill(to_remove, -float("inf")), dim=-1)


@pytest.mark.oracle
def test_sampling_filters_run_as_written_in_pytorch(device):
    torch = pytest.importorskip("torch")
    import tinygpt.nn.functional as F

    x = np.random.default_rng(0).normal(size=(2, 10)).astype(np.float32)
    want = _top_k_top_p(torch, torch.nn.functional, x).numpy()
    got = _top_k_top_p(tg, F, x, device=device)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-6)
    draws = tg.multinomial(got, num_samples=1)
    assert draws.shape == (2, 1)
    assert all(want[row, draws[row, 0].item()] > 0 for row in range(2))
