"""Everyday PyTorch calls of the functions and methods added in session 26 (core-fns), run as
written with `tinygpt` and compared with torch: other names, stacking and splitting, moving
dims, maths, statistics, scans, scatters, in-place forms and special functions.

The harness is conftest.py.
"""

from __future__ import annotations

import pytest
from idiom_harness import IDIOM_DEVICES, idiom, params

pytestmark = pytest.mark.oracle


@idiom
def other_names(torch, nn, F, optim):
    x = torch.tensor([[1.0, -2.0], [3.0, 4.0]])
    y = torch.tensor([[2.0, 2.0], [-1.0, 8.0]])
    return [
        torch.multiply(x, y),
        torch.divide(x, y, rounding_mode="floor"),
        torch.true_divide(x, 2),
        torch.subtract(x, y, alpha=2),
        torch.greater(x, y),
        torch.less_equal(x, 1.0),
        torch.not_equal(x, y),
        torch.absolute(x),
        torch.clamp_min(x, 0.0),
        torch.clamp_max(x, 2.0),
        torch.logical_xor(x > 0, y > 0),
        x.where(x > 0, y),
        torch.clone(x),
        torch.detach(x),
        x.multiply(3),
        x.greater_equal(y),
        x.logical_and(y > 0),
        torch.result_type(x, 1),
        torch.result_type(torch.tensor([1]), 1.5),
        torch.can_cast(torch.float32, torch.int64),
        x.ndimension(),
        x.is_signed(),
        x.is_complex(),
        torch.is_same_size(x, y),
        x.get_device(),
    ]


@idiom
def stacking_and_splitting(torch, nn, F, optim):
    a = torch.arange(6.0).reshape(2, 3)
    b = torch.arange(6.0, 12.0).reshape(2, 3)
    v = torch.tensor([1.0, 2.0, 3.0])
    return [
        torch.hstack([a, b]),
        torch.vstack([a, v]),
        torch.dstack([a, b]),
        torch.column_stack([v, v * 2]),
        torch.row_stack([v, v]),
        torch.concat([a, b], dim=1),
        torch.concatenate([a, b]),
        torch.atleast_2d(v),
        torch.atleast_3d(a),
        list(torch.tensor_split(torch.arange(7), 3)),
        list(a.tensor_split([1], dim=1)),
        list(torch.hsplit(a, 3)),
        list(torch.vsplit(a, [1])),
        torch.block_diag(a, v),
        torch.cartesian_prod(v, v[:2]),
        torch.combinations(v, 2),
        torch.tril_indices(3, 3),
        torch.triu_indices(3, 4, 1),
        torch.broadcast_shapes((2, 1), (1, 3)),
    ]


@idiom
def moving_dims_and_windows(torch, nn, F, optim):
    x = torch.arange(24.0).reshape(2, 3, 4)
    return [
        x.movedim(0, -1),
        torch.moveaxis(x, (0, 1), (1, 2)),
        x.swapaxes(0, 2),
        torch.swapdims(x, 1, 2),
        x.ravel(),
        torch.roll(x, 1, 2),
        x.roll(shifts=(1, -1), dims=(0, 1)),
        torch.rot90(x[0]),
        x.rot90(2, (1, 2)),
        x.tile((2, 1)),
        torch.tile(x[0, 0], (2,)),
        x.unflatten(2, (2, 2)),
        x.select(1, 0),
        torch.take(x, torch.tensor([0, 23])),
        x.unfold(2, 2, 1),
        x[0].unfold(0, 2, 1),
        torch.narrow_copy(x, 2, 1, 2),
        torch.diag_embed(x[0]),
        torch.diagflat(torch.tensor([1.0, 2.0]), 1),
    ]


@idiom
def elementwise_maths(torch, nn, F, optim):
    x = torch.tensor([-2.5, -0.5, 0.0, 0.5, 3.0])
    y = torch.tensor([1.5, -2.0, 2.0, 0.25, -1.0])
    p = torch.tensor([0.1, 0.4, 0.5, 0.9])
    return [
        torch.fmod(x, 1.5),
        x.fmod(y),
        torch.logaddexp(x, y),
        torch.logaddexp2(x, y),
        torch.hypot(x, y),
        torch.xlogy(x, p.sum() + y.abs()),
        torch.deg2rad(x),
        x.rad2deg(),
        torch.copysign(x, y),
        torch.signbit(torch.tensor([-0.0, 0.0, -1.0])),
        torch.heaviside(x, torch.tensor(0.5)),
        torch.fmax(x, torch.tensor([float("nan"), 0.0, 1.0, float("nan"), 2.0])),
        torch.fmin(x, y),
        torch.sinc(x),
        torch.logit(p),
        p.logit(eps=0.2),
        torch.float_power(x.abs(), 2),
        torch.nan_to_num(torch.tensor([float("nan"), float("inf"), -float("inf")]), posinf=9.0),
        torch.sgn(x),
        torch.fix(x),
    ]


@idiom
def inverse_and_special_functions(torch, nn, F, optim):
    u = torch.tensor([-0.9, -0.3, 0.0, 0.4, 0.99])
    x = torch.tensor([0.3, 1.0, 2.5, 7.0, 40.0])
    return [
        torch.atan(x),
        torch.arctan(-x),
        torch.asin(u),
        torch.acos(u),
        torch.atan2(u, x[:5] - 2),
        torch.arctan2(torch.tensor([0.0, 1.0]), torch.tensor([-1.0, 0.0])),
        torch.asinh(x - 3),
        torch.acosh(x + 1),
        torch.atanh(u),
        torch.lgamma(x - 3.2),
        torch.digamma(x),
        torch.polygamma(1, x),
        torch.polygamma(2, x),
        torch.erfinv(u),
        torch.erfc(u),
        u.arcsinh(),
    ]


@idiom
def gradients_of_special_functions(torch, nn, F, optim):
    x = torch.tensor([0.2, 0.5, 0.8], requires_grad=True)
    y = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    out = (x.atan() + x.asin() + x.acos() + x.atanh() + x.asinh() + (x + 1).acosh()).sum()
    out = out + (x.lgamma() + x.digamma() + x.erfinv() + torch.atan2(x, y)).sum()
    out.backward()
    return [x.grad, y.grad]


@idiom
def statistics(torch, nn, F, optim):
    x = torch.tensor([[1.0, 5.0, 3.0, 8.0], [4.0, 2.0, 9.0, 6.0], [0.0, 7.0, 1.5, 2.5]])
    return [
        torch.quantile(x, 0.3),
        x.quantile(torch.tensor([0.25, 0.75]), dim=1, keepdim=True),
        torch.quantile(x, 0.5, dim=0, interpolation="nearest"),
        torch.nanquantile(torch.tensor([1.0, float("nan"), 3.0]), 0.5),
        torch.nanmean(torch.tensor([1.0, float("nan"), 3.0])),
        torch.kthvalue(x, 2, dim=1).values,
        x.kthvalue(1, 0),
        torch.aminmax(x),
        x.aminmax(dim=1),
        torch.mode(torch.tensor([[1, 2, 2, 3], [4, 4, 0, 0]]), 1),
        torch.histc(x, bins=4, min=0, max=8),
        torch.cov(x),
        torch.corrcoef(x),
        torch.trapezoid(x),
        torch.trapz(x, dx=0.5),
        torch.cumulative_trapezoid(x, dim=0),
        torch.cross(x[:, :3], x[:, 1:], dim=1),
        torch.dist(x[0], x[1]),
        x.dist(x * 2, p=1),
        torch.renorm(x, 2, 0, 5.0),
    ]


@idiom
def searching_and_scans(torch, nn, F, optim):
    seq = torch.tensor([1.0, 3.0, 5.0, 7.0])
    vals = torch.tensor([[0.0, 3.0], [6.0, 9.0]])
    x = torch.tensor([[1.0, 3.0, 2.0, 5.0], [4.0, 4.0, 1.0, 0.0]])
    return [
        torch.searchsorted(seq, vals),
        torch.searchsorted(seq, vals, right=True),
        torch.searchsorted(seq, 4.0),
        torch.bucketize(vals, seq),
        torch.isin(torch.tensor([1, 2, 3]), torch.tensor([2, 5])),
        torch.cummax(x, dim=1),
        x.cummin(0),
        torch.logcumsumexp(x, 1),
        torch.unique_consecutive(torch.tensor([1, 1, 2, 2, 1]), return_counts=True),
        torch.unique(torch.tensor([[1, 2], [0, 1], [1, 2]]), dim=0, return_inverse=True),
    ]


@idiom
def writes_at_positions(torch, nn, F, optim):
    x = torch.zeros(3, 4)
    src = torch.arange(1.0, 13.0).reshape(3, 4)
    index = torch.tensor([[0, 1, 0, 3], [2, 2, 1, 0], [3, 3, 3, 1]])
    return [
        x.index_copy(1, torch.tensor([3, 0]), src[:, :2]),
        torch.index_copy(x, 0, torch.tensor([2]), src[:1]),
        x.index_put((torch.tensor([0, 2]), torch.tensor([1, 3])), torch.tensor([5.0, 6.0])),
        x.index_put((torch.tensor([0, 0]),), torch.tensor(1.0), accumulate=True),
        x.put(torch.tensor([0, 11, 0]), torch.tensor([1.0, 2.0, 3.0]), accumulate=True),
        x.masked_scatter(src > 6, src),
        src.scatter_reduce(1, index, src * 10, "sum"),
        src.scatter_reduce(1, index, src * 10, "amax", include_self=False),
        torch.scatter_reduce(src, 1, index, src, "mean"),
        src.scatter_reduce(1, index, src, "prod", include_self=False),
        src.scatter_reduce(1, index, -src, "amin"),
    ]


@idiom
def in_place_forms(torch, nn, F, optim):
    x = torch.tensor([[0.5, -1.5], [2.0, 0.25]])
    a = x.clone().sin_()
    b = x.clone().clamp_min_(0.0)
    c = x.clone().lt_(0.3)
    d = x.clone().tril_()
    e = x.clone().t_()
    f = torch.zeros(3, 3).fill_diagonal_(2.0)
    g = x.clone().abs_().log_()
    h = x.clone().mul_(3).floor_()
    i = torch.ones(2, 2).addmm_(x, x, alpha=2)
    j = x.clone().atan2_(torch.ones(2, 2))
    k = x.clone().index_copy_(0, torch.tensor([1]), torch.ones(1, 2))
    m = x.clone().transpose_(0, 1)
    return [a, b, c, d, e, f, g, h, i, j, k, m]


@idiom
def constructors(torch, nn, F, optim):
    return [
        torch.range(1, 4),
        torch.range(0, 1, 0.25),
        torch.logspace(0, 2, 3),
        torch.logspace(0, 3, 4, base=2),
        torch.scalar_tensor(3),
        torch.asarray([1, 2, 3]),
        torch.frombuffer(bytearray(b"\x01\x02\x03\x04"), dtype=torch.uint8),
        torch.empty_strided((2, 3), (3, 1)).shape,
        torch.normal(torch.zeros(3), 1.0).shape,
        torch.normal(0.0, 1.0, size=(2, 2)).shape,
    ]


@idiom
def last_everyday_names(torch, nn, F, optim):
    x = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    y = torch.tensor([[1.0, 2.0, 0.5], [-1.0, 0.5, 4.0]])
    nans = torch.tensor([[1.0, float("nan"), 3.0, 2.0], [4.0, 0.0, float("nan"), float("nan")]])
    return [
        torch.addcdiv(x, x, y, value=0.5),
        x.addcdiv(y, y + 3),
        torch.addcmul(x, x, y, value=2),
        torch.addbmm(torch.zeros(2, 2), x.reshape(1, 2, 3), y.reshape(1, 3, 2), alpha=2),
        torch.rsub(x, 1.0),
        x.adjoint(),
        torch.argwhere(x > 0),
        torch.nanmedian(nans),
        torch.nanmedian(nans, dim=1),
        x.sum_to_size(1, 3),
        torch.select_scatter(x, torch.ones(3), 0, 1),
        torch.slice_scatter(x, torch.ones(2, 2), 1, 0, 3, 2),
        torch.diagonal_scatter(x, torch.ones(2)),
        torch.gcd(torch.tensor([12, 0, -9]), torch.tensor([18, 5, 6])),
        torch.lcm(torch.tensor([4, 0, -6]), torch.tensor([6, 3, 4])),
        torch.ldexp(x, torch.tensor([1, 2, -1])),
        torch.unravel_index(torch.tensor([5, 7]), (2, 4)),
        torch.mvlgamma(y.abs() + 2, 2),
        torch.pairwise_distance(x, y),
        torch.cosine_similarity(x, y),
        torch.pdist(x),
        torch.hann_window(5),
        torch.hamming_window(4, periodic=False),
        torch.blackman_window(6),
        torch.bartlett_window(5),
        torch.typename(x),
        torch.sqrt_(x.abs()),
        torch.clamp_(x.clone(), -0.5, 0.5),
        x.isreal(),
        x.real,
        torch.conj(x),
        list(torch.split_with_sizes(x, [1, 2], 1)),
        x.nbytes,
        x.itemsize,
        x.is_cpu,
    ]


@idiom
def bits_and_number_formats(torch, nn, F, optim):
    x = torch.tensor([5, -3, 12])
    mask = torch.tensor([True, False, True])
    return [
        ~x,
        x & 6,
        x | 8,
        x ^ 1,
        x << 2,
        x >> 1,
        torch.bitwise_and(x, torch.tensor([3, 3, 3])),
        torch.bitwise_or(x, 1),
        torch.bitwise_xor(x, x),
        torch.bitwise_not(mask),
        mask & torch.tensor([True, True, False]),
        x.bitwise_left_shift(1),
        torch.frexp(torch.tensor([0.0, 1.0, -3.0, 0.75, 1e-40])),
        torch.vander(torch.tensor([1, 2, 3])),
        torch.vander(torch.tensor([1.0, 2.0]), N=3, increasing=True),
        torch.histogram(torch.tensor([1.0, 2.0, 1.0, 4.0]), bins=3),
        torch.histogram(torch.tensor([1.0, 2.0, 1.0, 4.0]), bins=4, range=(0.0, 4.0), density=True),
        torch.dropout(torch.ones(3), 0.5, False),
    ]


@idiom
def top_level_activations_and_bessel(torch, nn, F, optim):
    x = torch.tensor([[-1.5, -0.2, 0.0, 0.3, 2.0]])
    return [
        torch.selu(x),
        torch.celu(x, 0.5),
        torch.threshold(x, 0.1, -2.0),
        torch.hardshrink(x, 0.25),
        torch.rrelu(x),
        torch.prelu(x.reshape(1, 5), torch.tensor([0.25])),
        torch.i0(x * 10),
        x.i0(),
        torch.kaiser_window(6),
        torch.kaiser_window(5, periodic=False, beta=4.0),
        torch.selu_(x.clone()),
    ]


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
