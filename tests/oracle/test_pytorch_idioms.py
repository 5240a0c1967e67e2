"""Everyday PyTorch tensor code, run as written with `tinygpt` in place of `torch` (issue 14).

Each idiom is plain PyTorch code; the harness (conftest.py) runs it with torch and with tinygpt
on the numpy and cpu devices and compares the results. Reductions, maths and matmul are in
test_pytorch_idioms_math.py; autograd and nn in _nn, losses and optim in _optim, nanoGPT and
micrograd in _gpt, the rest in _more.

    python -m pytest tests/oracle -q -p no:cacheprovider
"""

from __future__ import annotations

import numpy as np
import pytest
from idiom_harness import IDIOM_DEVICES, Shape, idiom, params

pytestmark = pytest.mark.oracle


# ------------------------------------------------------------------ creation
@idiom
def tensor_from_data(torch, nn, F, optim):
    return [
        torch.tensor([[1, 2], [3, 4]]),
        torch.tensor([1.0, 2.0]),
        torch.tensor(3.5),
        torch.tensor([True, False]),
        torch.tensor([1, 2], dtype=torch.float32),
    ]


@idiom
def zeros_ones_full(torch, nn, F, optim):
    return [
        torch.zeros(2, 3),
        torch.ones((2, 3)),
        torch.full((2, 2), 7.0),
        torch.full((2,), 3),
        torch.zeros(3, dtype=torch.long),
        torch.ones(2, 2).sum(),
    ]


@idiom
def arange_forms(torch, nn, F, optim):
    return [
        torch.arange(5),
        torch.arange(1, 10, 2),
        torch.arange(0, 1, 0.25),
        torch.arange(5, dtype=torch.float32),
        torch.arange(10)[-3:],
    ]


@idiom
def linspace_and_eye(torch, nn, F, optim):
    return [torch.linspace(0, 1, 5), torch.linspace(-1, 1, steps=3), torch.eye(3), torch.eye(2, 3)]


@idiom
def empty_and_like(torch, nn, F, optim):
    x = torch.arange(6.0).reshape(2, 3)
    return [
        Shape(torch.empty(2, 3)),
        torch.zeros_like(x),
        torch.ones_like(x),
        torch.full_like(x, 2.0),
        Shape(torch.empty_like(x)),
        Shape(torch.randn_like(x)),
        Shape(torch.rand_like(x)),
        torch.zeros_like(x, dtype=torch.long),
    ]


@idiom
def seeded_random(torch, nn, F, optim):
    torch.manual_seed(1337)
    ix = torch.randint(0, 10, (3,))
    perm = torch.randperm(5)
    return [
        Shape(torch.randn(2, 3)),
        Shape(torch.rand(4)),
        Shape(ix),
        bool((ix < 10).all()),
        sorted(perm.tolist()),
        Shape(torch.randint(10, (2, 2))),
        Shape(torch.randn(3) * 0.02),
    ]


@idiom
def from_numpy_keeps_dtype(torch, nn, F, optim):
    a = np.arange(4, dtype=np.int64)
    return [torch.from_numpy(a), torch.tensor(np.ones(2)), torch.from_numpy(a.astype(np.float32))]


@idiom
def new_tensor_methods(torch, nn, F, optim):
    x = torch.ones(2, dtype=torch.float64)
    return [x.new_zeros(2, 3), x.new_ones((2,)), x.new_full((2,), 5.0), x.new_tensor([1, 2])]


# ------------------------------------------------------------------ dtypes
@idiom
def dtype_conversions(torch, nn, F, optim):
    x = torch.tensor([1.7, -2.2, 0.0])
    return [
        x.float(),
        x.long(),
        x.double(),
        x.int(),
        x.bool(),
        x.to(torch.float64),
        x.to(dtype=torch.int64),
        x.half().dtype,
        x.type_as(torch.zeros(1, dtype=torch.long)),
    ]


@idiom
def dtype_aliases(torch, nn, F, optim):
    return [
        torch.float is torch.float32,
        torch.long is torch.int64,
        torch.double is torch.float64,
        torch.half is torch.float16,
        torch.int is torch.int32,
        torch.zeros(1).dtype,
        torch.ones(2, dtype=torch.long).dtype == torch.int64,
        torch.float32.is_floating_point,
    ]


@idiom
def dtype_promotion(torch, nn, F, optim):
    i = torch.tensor([1, 2, 3])
    f = torch.tensor([1.0, 2.0, 3.0])
    return [
        i + 1.5,
        i / 2,
        i * 2,
        i + i,
        f + f.double(),
        (i > 1).sum(),
        f * True,
        i.float() / 2,
        torch.tensor([True, False]).sum(),
    ]


@idiom
def floating_point_checks(torch, nn, F, optim):
    return [
        torch.zeros(1).is_floating_point(),
        torch.zeros(1, dtype=torch.long).is_floating_point(),
        torch.is_tensor(torch.zeros(1)),
        torch.is_floating_point(torch.zeros(1)),
    ]


# ------------------------------------------------------------------ indexing
@idiom
def basic_indexing(torch, nn, F, optim):
    x = torch.arange(24.0).reshape(2, 3, 4)
    return [
        x[0],
        x[:, 1],
        x[1:3],
        x[..., ::2],
        x[-1],
        x[..., 0],
        x[None].shape,
        x[:, None].shape,
        x[0, 1, 2],
        x[:, -1, :],
        x[0][1],
    ]


@idiom
def bool_mask_indexing(torch, nn, F, optim):
    x = torch.tensor([[1.0, -2.0], [-3.0, 4.0]])
    y = x.clone()
    y[y < 0] = 0.0
    z = x.clone()
    z[z > 0] *= 10
    return [x[x > 0], y, z, x[torch.tensor([True, False])]]


@idiom
def int_tensor_indexing(torch, nn, F, optim):
    x = torch.arange(12.0).reshape(3, 4)
    idx = torch.tensor([2, 0])
    targets = torch.tensor([1, 3, 0])
    return [x[idx], x[[0, 2]], x[idx, idx], x[torch.arange(3), targets], x[:, idx], x[:, [-1]]]


@idiom
def setitem(torch, nn, F, optim):
    x = torch.zeros(3, 4)
    x[0] = 1.0
    x[:, 1] = torch.tensor([5.0, 6.0, 7.0])
    x[1:, :2] += 1
    x[2, 3] = 9
    x[..., -1] = x[..., 0]
    return x


@idiom
def size_queries(torch, nn, F, optim):
    x = torch.zeros(2, 3, 4)
    return [
        x.shape[-1],
        x.size(),
        x.size(0),
        x.size(-1),
        x.dim(),
        x.ndim,
        x.numel(),
        len(x),
        tuple(x.shape),
        x.shape == (2, 3, 4),
        list(x.shape),
    ]


# ------------------------------------------------------------------ shapes
@idiom
def reshape_view(torch, nn, F, optim):
    x = torch.arange(24.0)
    B, T, C, nh = 2, 3, 4, 2
    y = x.view(B, T, C)
    heads = y.view(B, T, nh, C // nh).transpose(1, 2)  # (B, nh, T, hs)
    back = heads.transpose(1, 2).contiguous().view(B, T, C)
    return [
        x.reshape(4, -1),
        x.view(-1, 6),
        heads,
        back,
        x.reshape(2, 3, 4).reshape(-1),
        x.view(2, 12).is_contiguous(),
        heads.is_contiguous(),
        y.view_as(torch.zeros(6, 4)),
    ]


@idiom
def permute_transpose(torch, nn, F, optim):
    x = torch.arange(24.0).reshape(2, 3, 4)
    m = x[0]
    return [
        x.permute(2, 0, 1),
        x.transpose(0, 2),
        m.T,
        m.t(),
        x.mT,
        x.permute(0, 2, 1).shape,
        torch.transpose(x, 1, 2),
    ]


@idiom
def squeeze_unsqueeze(torch, nn, F, optim):
    x = torch.zeros(1, 3, 1)
    return [
        x.squeeze().shape,
        x.squeeze(0).shape,
        x.squeeze(-1).shape,
        x.unsqueeze(0).shape,
        x.unsqueeze(-1).shape,
        torch.unsqueeze(x, 1).shape,
        torch.squeeze(x).shape,
    ]


@idiom
def expand_repeat(torch, nn, F, optim):
    x = torch.tensor([[1.0], [2.0]])
    return [
        x.expand(2, 3),
        x.expand(-1, 4),
        x.expand_as(torch.zeros(2, 5)),
        x.repeat(2, 3),
        x.expand(3, 2, 2).shape,
    ]


@idiom
def cat_stack(torch, nn, F, optim):
    a = torch.arange(6.0).reshape(2, 3)
    b = -a
    return [
        torch.cat([a, b]),
        torch.cat((a, b), dim=-1),
        torch.stack([a, b]),
        torch.stack([a, b], dim=1),
        torch.cat([a, b], 1).shape,
        torch.stack((a[0], b[0]), -1),
    ]


@idiom
def split_chunk(torch, nn, F, optim):
    x = torch.arange(12.0).reshape(2, 6)
    q, k, v = x.split(2, dim=1)  # nanoGPT's qkv split
    return [
        q,
        k,
        v,
        list(x.split([1, 5], dim=-1)),
        list(x.chunk(3, dim=1)),
        list(torch.chunk(x, 2)),
        list(x.unbind(0)),
        list(torch.split(x, 4, dim=1)),
    ]


@idiom
def flatten(torch, nn, F, optim):
    x = torch.zeros(2, 3, 4)
    return [
        x.flatten().shape,
        x.flatten(1).shape,
        torch.flatten(x, start_dim=0, end_dim=1).shape,
        x.flatten(start_dim=1),
    ]


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
