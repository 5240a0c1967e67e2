"""A fourth sweep of everyday PyTorch code run as written with `tinygpt` (issue 14): the
shape type, type strings, PyTorch's global switches, `size=` keywords, and the linear-algebra,
counting and statistics functions added in ops/extras_linalg.py and ops/extras_stats.py.

The harness is conftest.py.
"""

from __future__ import annotations

import pickle

import pytest
from idiom_harness import IDIOM_DEVICES, Shape, idiom, params, ramp

pytestmark = pytest.mark.oracle


@idiom
def shape_object(torch, nn, F, optim):
    x = torch.zeros(2, 3, 4)
    s = x.shape
    return [
        s.numel(),
        s == (2, 3, 4),
        s[1:],
        x.size(),
        len(s),
        isinstance(s, tuple),
        pickle.loads(pickle.dumps(s)) == s,
        isinstance(s, torch.Size),
        torch.Size([2, 3]) == (2, 3),
        s + (5,),
        type(x.dtype) is torch.dtype,
    ]


@idiom
def type_strings_and_flags(torch, nn, F, optim):
    x = torch.ones(2, requires_grad=True)
    y = (x * 3).sum()
    return [
        torch.zeros(1).type(),
        torch.zeros(1, dtype=torch.int64).type(),
        torch.zeros(1).double().type(),
        torch.zeros(1, dtype=torch.bool).type(),
        x.is_cuda,
        y.grad_fn.name().endswith("Backward0"),
    ]


@idiom
def training_script_switches(torch, nn, F, optim):
    # the preamble of nanoGPT-style train.py files
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = True
    torch.use_deterministic_algorithms(False)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    one = torch.get_num_threads()
    torch.set_num_threads(before)
    torch.set_float32_matmul_precision("highest")
    return [one, torch.get_num_threads() == before, torch.get_float32_matmul_precision()]


@idiom
def size_keywords_and_as_tensor(torch, nn, F, optim):
    x = torch.ones(3)
    return [
        torch.zeros(size=(2, 3)),
        torch.ones(size=[4]),
        Shape(torch.randn(size=(2, 3))),
        Shape(torch.rand(size=(5,))),
        Shape(torch.empty(size=(1, 2))),
        torch.as_tensor([1, 2, 3]),
        torch.as_tensor([1.5, 2.5]),
        torch.as_tensor(x) is x,
        torch.as_tensor(x, dtype=torch.float64),
        ramp(torch, 2, 3).sum(axis=0),
        ramp(torch, 2, 3).mean(axis=-1, keepdim=True),
    ]


@idiom
def diagonals_and_products(torch, nn, F, optim):
    a = ramp(torch, 3, 4)
    b = ramp(torch, 4, 2)
    v = torch.arange(1.0, 4.0)
    return [
        torch.diag(v),
        torch.diag(v, 1),
        torch.diag(a),
        torch.diag(a, -1),
        a.diagonal(),
        a.diagonal(offset=2),
        ramp(torch, 2, 3, 3).diagonal(dim1=1, dim2=2),
        torch.trace(ramp(torch, 3, 3)),
        torch.tensordot(a, b, dims=1),
        torch.tensordot(ramp(torch, 2, 3, 4), ramp(torch, 4, 3, 5), dims=([1, 2], [1, 0])),
        torch.kron(torch.eye(2), ramp(torch, 2, 2)),
        torch.inner(a, a),
        torch.addmm(torch.ones(3, 2), a, b, beta=0.5, alpha=2.0),
        torch.baddbmm(torch.zeros(2, 3, 2), ramp(torch, 2, 3, 4), ramp(torch, 2, 4, 2)),
        a.addmm(a, ramp(torch, 4, 4)),
    ]


@idiom
def grids_and_distances(torch, nn, F, optim):
    xs, ys = torch.meshgrid(torch.arange(3), torch.arange(2), indexing="ij")
    gx, gy = torch.meshgrid(torch.arange(3.0), torch.arange(2.0), indexing="xy")
    pts = ramp(torch, 4, 3)
    return [xs, ys, gx, gy, torch.cdist(pts, pts[:2]), torch.cdist(pts, pts + 1, p=1)]


@idiom
def counting(torch, nn, F, optim):
    x = torch.tensor([[3, 1, 3], [0, 1, 7]])
    values, inverse, counts = torch.unique(x, return_inverse=True, return_counts=True)
    return [
        values,
        inverse,
        counts,
        x.unique(),
        torch.unique(torch.tensor([2.5, -1.0, 2.5])),
        torch.bincount(torch.tensor([0, 2, 2, 5])),
        torch.bincount(torch.tensor([0, 2]), minlength=4),
        torch.bincount(torch.tensor([1, 1, 3]), weights=torch.tensor([0.5, 1.0, 2.0])),
        torch.count_nonzero(x),
        x.count_nonzero(dim=1),
    ]


@idiom
def statistics(torch, nn, F, optim):
    x = ramp(torch, 3, 5)
    values, indices = x.median(dim=1)
    std, mean = torch.std_mean(x, dim=0)
    var, mean_all = torch.var_mean(x)
    with_nan = x.masked_fill(x > 0.3, float("nan"))
    return [
        values,
        indices,
        torch.median(x),
        x.median(dim=0, keepdim=True).values,
        std,
        mean,
        var,
        mean_all,
        torch.nansum(with_nan),
        with_nan.nansum(dim=1),
        torch.diff(torch.tensor([1.0, 4.0, 9.0, 16.0])),
        x.diff(dim=0),
        torch.diff(torch.tensor([1, 4, 9]), n=2, prepend=torch.tensor([0])),
    ]


@idiom
def selection_and_index_updates(torch, nn, F, optim):
    x = ramp(torch, 3, 4)
    out = torch.zeros(3, 2)
    out.index_add_(1, torch.tensor([1, 0, 1]), torch.ones(3, 3))
    filled = torch.zeros(2, 3)
    filled.index_fill_(1, torch.tensor([0, 2]), 5.0)
    return [
        torch.masked_select(x, x > 0.1),
        x.masked_select(torch.tensor([True, False, True, False])),
        out,
        x.index_add(0, torch.tensor([2, 2]), torch.ones(2, 4), alpha=3),
        filled,
        x.index_fill(0, torch.tensor([1]), -1.0),
    ]


@idiom
def more_elementwise_maths(torch, nn, F, optim):
    x = ramp(torch, 2, 4)
    p = x + 1.0
    return [
        torch.tan(x),
        x.sinh(),
        torch.cosh(x),
        torch.log2(p),
        p.log10(),
        torch.exp2(x),
        torch.expm1(x),
    ]


@idiom
def more_in_place(torch, nn, F, optim):
    torch.manual_seed(0)
    x = torch.zeros(1, 3, 1)
    x.squeeze_()
    y = torch.zeros(3)
    y.unsqueeze_(0)
    z = (torch.ones(2, requires_grad=True) * 2).detach_()
    e = torch.empty(4).exponential_()
    b = torch.empty(4).bernoulli_(0.5)
    return [x.shape, y.shape, z, z.requires_grad, z.grad_fn is None, Shape(e), Shape(b)]


@idiom
def gradients_through_the_new_ops(torch, nn, F, optim):
    a = ramp(torch, 3, 3).requires_grad_()
    b = ramp(torch, 3, 2).requires_grad_()
    loss = (
        torch.trace(a)
        + torch.diag(a, 1).sum()
        + torch.cdist(a, a.flip(0) + 1).sum()
        + torch.kron(a[:2, :2], b[:2]).pow(2).sum()
        + torch.tensordot(a, b, dims=1).sum()
        + a.index_add(0, torch.tensor([0, 0]), a[:2] * 2).sum()
        + torch.sinh(a).sum()
        + torch.log2(a + 2).sum()
        + a.median(dim=1).values.sum()
    )
    loss.backward()
    return [a.grad, b.grad]


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
