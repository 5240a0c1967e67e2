"""einsum: forward against np.einsum over a table of equations, backward against float64
finite differences, every backend; the same equations against PyTorch where installed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg
from tinygpt.errors import ShapeError

# fmt: off
EQUATIONS = [
    ("ij,jk->ik",          [(2, 3), (3, 4)]),       # matmul
    ("bij,bjk->bik",       [(2, 2, 3), (2, 3, 4)]),  # batched matmul
    ("bhqd,bhkd->bhqk",    [(2, 2, 3, 4), (2, 2, 5, 4)]),  # attention scores
    ("ij->ji",             [(2, 3)]),                # transpose
    ("ij->",               [(2, 3)]),                # sum of all
    ("ij->j",              [(2, 3)]),                # column sums
    ("ii->i",              [(3, 3)]),                # diagonal
    ("ii",                 [(3, 3)]),                # trace (implicit output)
    ("iij->j",             [(2, 2, 3)]),             # diagonal, then a sum
    ("i,j->ij",            [(2,), (3,)]),            # outer product
    ("i,i->",              [(4,), (4,)]),            # dot product
    ("ij,ij->ij",          [(2, 3), (2, 3)]),        # elementwise
    ("ijk,jil->kl",        [(2, 3, 4), (3, 2, 5)]),  # two summed labels, permuted
    ("ij,jk,kl->il",       [(2, 3), (3, 4), (4, 2)]),  # a chain of three
    ("i,i,i->i",           [(3,), (3,), (3,)]),      # three-way elementwise
    ("...ij,...jk",        [(5, 2, 3), (3, 4)]),     # ellipsis, broadcast batch
    ("b...,b->...",        [(2, 3, 4), (2,)]),       # ellipsis on the right
    ("ab,cd->",            [(2, 3), (4, 5)]),        # disconnected operands
    ("ba,ab->b",           [(3, 2), (2, 3)]),
    ("ij",                 [(2, 3)]),                # implicit: the identity
    ("ji",                 [(2, 3)]),                # implicit: sorted labels, a transpose
]
# fmt: on


def operands(shapes, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype(dtype) for s in shapes]


@pytest.mark.parametrize(("equation", "shapes"), EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_einsum_matches_numpy(device, equation, shapes):
    arrays = operands(shapes, dtype=np.float32)
    got = tg.einsum(equation, *[tg.tensor(a, device=device) for a in arrays])
    want = np.einsum(equation, *arrays)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("equation", "shapes"), EQUATIONS[::2], ids=[e for e, _ in EQUATIONS[::2]])
def test_einsum_gradients(device, equation, shapes):
    tensors = [
        tg.tensor(a, dtype=tg.float64, device=device, requires_grad=True)
        for a in operands(shapes, seed=1)
    ]
    assert tg.autograd.gradcheck(lambda *ts: tg.einsum(equation, *ts), tensors)


def test_einsum_takes_a_list_and_size_one_broadcasts(device):
    a, b = operands([(2, 3), (3, 4)])
    ta, tb = tg.tensor(a, device=device), tg.tensor(b, device=device)
    np.testing.assert_allclose(tg.einsum("ij,jk", [ta, tb]).numpy(), a @ b)
    one = tg.tensor(np.ones((1, 3)), device=device)  # label i of size 1 meets size 2
    np.testing.assert_allclose(tg.einsum("ij,ij->ij", one, ta).numpy(), a)


@pytest.mark.parametrize(
    ("equation", "shapes", "message"),
    [
        ("ij,jk->ik", [(2, 3)], "names 2 operands but 1"),
        ("ij->ij", [(2, 3, 4)], "has 2 labels for an operand with 3 dims"),
        ("ij,jk->ik", [(2, 3), (4, 5)], "label 'j' has size 3"),
        ("ij->k", [(2, 3)], "output label 'k' is in no operand"),
        ("ij->ii", [(2, 2)], "appears twice"),
        ("i1->i", [(2, 2)], "must be letters"),
    ],
)
def test_einsum_errors_name_the_problem(device, equation, shapes, message):
    with pytest.raises(ShapeError, match=message):
        tg.einsum(equation, *[tg.ones(*s, device=device) for s in shapes])


@given(
    m=st.integers(1, 4),
    k=st.integers(1, 4),
    n=st.integers(1, 4),
    batch=st.integers(1, 3),
)
def test_batched_contraction_any_size(m, k, n, batch):
    a, b = operands([(batch, m, k), (batch, n, k)], seed=m * 16 + k * 4 + n)
    want = np.einsum("bmk,bnk->bnm", a, b)
    for device in [info.name for info in tg.backends() if info.available]:
        got = tg.einsum("bmk,bnk->bnm", tg.tensor(a, device=device), tg.tensor(b, device=device))
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


@pytest.mark.oracle
@pytest.mark.parametrize(("equation", "shapes"), EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_einsum_matches_pytorch(device, equation, shapes):
    torch = pytest.importorskip("torch")
    arrays = operands(shapes, seed=2)
    ours = [tg.tensor(a, device=device, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_ours = tg.einsum(equation, *ours)
    out_theirs = torch.einsum(equation, *theirs)
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), atol=1e-12)
    weights = np.random.default_rng(3).normal(size=out_theirs.shape)
    (out_ours * tg.tensor(weights, device=device)).sum().backward()
    (out_theirs * torch.from_numpy(weights)).sum().backward()
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-12)
