"""Everyday PyTorch maths run as written with `tinygpt` (issue 14): reductions with dim and
keepdim, elementwise maths and activations, comparisons, in-place updates, matmul forms.

The harness is conftest.py.
"""

from __future__ import annotations

import pytest
from idiom_harness import IDIOM_DEVICES, idiom, params

pytestmark = pytest.mark.oracle


# ------------------------------------------------------------------ reductions
@idiom
def sum_mean(torch, nn, F, optim):
    x = torch.arange(24.0).reshape(2, 3, 4)
    return [
        x.sum(),
        x.sum(dim=1),
        x.sum(-1, keepdim=True),
        x.sum(dim=(0, 2)),
        x.mean(),
        x.mean(dim=-1, keepdim=True),
        torch.sum(x, 0),
        torch.mean(x, dim=[1, 2]),
        torch.arange(4).sum(),
    ]


@idiom
def max_min_with_indices(torch, nn, F, optim):
    x = torch.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    values, indices = x.max(dim=1)
    out = torch.max(x, dim=0, keepdim=True)
    return [
        values,
        indices,
        out.values,
        out.indices,
        x.max(),
        x.min(),
        x.min(dim=-1)[1],
        torch.max(x, torch.full_like(x, 3.0)),
        torch.min(x, 1).values,
    ]


@idiom
def argmax_argmin(torch, nn, F, optim):
    x = torch.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    return [x.argmax(), x.argmax(dim=-1), torch.argmax(x, dim=0, keepdim=True), x.argmin(1)]


@idiom
def var_std(torch, nn, F, optim):
    x = torch.tensor([[1.0, 2.0, 4.0], [3.0, 7.0, 8.0]])
    return [
        x.var(),
        x.std(),
        x.var(dim=0, unbiased=False),
        x.std(dim=1, correction=0),
        x.var(-1, keepdim=True),
        torch.var(x, dim=1),
        torch.std(x, 0, unbiased=True),
        x.var(dim=1, correction=1),
    ]


@idiom
def misc_reductions(torch, nn, F, optim):
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    return [
        torch.logsumexp(x, dim=-1),
        x.prod(),
        x.cumsum(dim=0),
        x.sum().item(),
        x.norm(),
        (x > 2).any(),
        (x > 0).all(dim=1),
        x.abs().max().item(),
    ]


# ------------------------------------------------------------------ elementwise
@idiom
def clamp_forms(torch, nn, F, optim):
    x = torch.tensor([-2.0, -0.5, 0.5, 2.0])
    return [
        x.clamp(min=0),
        x.clamp(-1, 1),
        x.clamp(max=0.0),
        torch.clamp(x, min=-1.0),
        x.clamp_min(0.0),
        x.clamp_max(1.0),
        torch.clip(x, -1, 1),
    ]


@idiom
def where_masked_fill(torch, nn, F, optim):
    x = torch.tensor([[1.0, -2.0], [3.0, -4.0]])
    y = x.clone()
    y.masked_fill_(y < 0, 0.0)
    return [
        torch.where(x > 0, x, torch.zeros_like(x)),
        torch.where(x > 0, x, 0.0),
        x.masked_fill(x < 0, float("-inf")),
        y,
        torch.where(x > 0)[1],
    ]


@idiom
def math_functions(torch, nn, F, optim):
    x = torch.tensor([0.5, 1.0, 2.0])
    return [
        x.pow(2),
        x**2,
        2**x,
        x**0.5,
        x.sqrt(),
        x.rsqrt(),
        x.exp(),
        x.log(),
        (-x).abs(),
        x.neg(),
        -x,
        1 / x,
        torch.exp(x),
        torch.log(x),
        torch.sqrt(x),
        torch.pow(x, 3),
        torch.abs(-x),
        x.reciprocal(),
        x.square(),
        x.log1p(),
        torch.sin(x),
        x.cos(),
    ]


@idiom
def activations(torch, nn, F, optim):
    x = torch.tensor([[-1.0, 0.0, 2.0], [0.5, -3.0, 1.0]])
    return [
        x.tanh(),
        torch.tanh(x),
        x.sigmoid(),
        torch.sigmoid(x),
        torch.relu(x),
        F.relu(x),
        F.gelu(x),
        F.gelu(x, approximate="tanh"),
        F.silu(x),
        x.relu(),
        torch.softmax(x, -1),
    ]


@idiom
def softmax_forms(torch, nn, F, optim):
    x = torch.tensor([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    return [
        F.softmax(x, dim=-1),
        x.softmax(-1),
        torch.softmax(x, dim=0),
        F.log_softmax(x, dim=1),
        x.log_softmax(dim=-1),
        F.softmax(x, dim=-1).sum(-1),
    ]


@idiom
def comparisons_and_logic(torch, nn, F, optim):
    a = torch.tensor([1.0, 2.0, 3.0])
    b = torch.tensor([1.0, 0.0, 3.0])
    return [
        a > 1,
        a == b,
        a != b,
        a >= b,
        (a > 1).float().mean(),
        (a == b).sum().item(),
        torch.eq(a, b),
        a.eq(b),
        a.ne(b),
        a.gt(1),
        a.lt(b),
        (a > 1) & (b > 0),
        (a > 2) | (b > 2),
        ~(a > 1),
        torch.logical_not(a > 1),
        torch.equal(a, a.clone()),
    ]


@idiom
def inplace_ops(torch, nn, F, optim):
    x = torch.zeros(3)
    x.add_(1)
    x.mul_(2)
    x += 1
    x *= 2
    x -= 0.5
    x /= 2
    y = torch.ones(2)
    y.zero_()
    z = torch.empty(2).fill_(3.0)
    w = torch.tensor([-2.0, 0.5, 2.0]).clamp_(0, 1)
    c = torch.zeros(3).copy_(x)
    s = torch.ones(2)
    s.sub_(torch.ones(2), alpha=0.5)
    return [x, y, z, w, c, s, torch.ones(2).add_(torch.ones(2), alpha=2)]


@idiom
def scalar_arithmetic(torch, nn, F, optim):
    t = torch.tensor(3.0)
    return [t + 1, 1 - t, t / 2, 2 / t, t * t, t**2, -t, t // 2, t % 2, torch.maximum(t, t - 1)]


@idiom
def add_sub_mul_functions(torch, nn, F, optim):
    a = torch.tensor([1.0, 2.0])
    b = torch.tensor([3.0, 4.0])
    return [
        torch.add(a, b),
        torch.add(a, b, alpha=2),
        torch.sub(a, b),
        torch.mul(a, 2),
        torch.div(a, b),
        a.add(b),
        a.mul(b),
        a.sub(1),
        a.div(2),
        torch.neg(a),
        a.addcmul(a, b),
    ]


# ------------------------------------------------------------------ matmul
@idiom
def matmul_forms(torch, nn, F, optim):
    a = torch.arange(6.0).reshape(2, 3)
    b = torch.arange(12.0).reshape(3, 4)
    batch = torch.arange(24.0).reshape(2, 3, 4)
    w = torch.ones(5, 4)
    return [
        a @ b,
        torch.matmul(a, b),
        torch.mm(a, b),
        a.mm(b),
        torch.bmm(batch, batch.transpose(1, 2)),
        batch @ w.T,
        torch.ones(3) @ b,
        a @ torch.ones(3),
        torch.matmul(batch, torch.ones(4, 2)),
    ]


@idiom(raises=RuntimeError)
def matmul_shape_error(torch, nn, F, optim):
    return torch.ones(2, 3) @ torch.ones(4, 5)


@idiom
def einsum_attention(torch, nn, F, optim):
    q = torch.arange(24.0).reshape(2, 3, 4) / 10
    return [
        torch.einsum("bij,bkj->bik", q, q),
        torch.einsum("ij->ji", q[0]),
        torch.einsum("i,i->", q[0, 0], q[0, 1]),
    ]


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
