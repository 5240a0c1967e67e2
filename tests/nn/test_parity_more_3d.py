"""3-D convolution and pooling, max unpooling, BatchNorm3d and LazyLinear: forward vs direct
NumPy loops, backward vs float64 finite differences, on every backend."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn, optim

RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape)


def t(array, device, grad=False):
    out = tg.tensor(array, device=device)
    return out.requires_grad_() if grad else out


def np_conv3d(x, w, b, stride, padding, dilation, groups):
    """A direct sum over the kernel taps of every output voxel."""
    n, c, *size = x.shape
    o, c_per, *k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), *[(p, p) for p in padding]))
    out_size = [
        (size[a] + 2 * padding[a] - dilation[a] * (k[a] - 1) - 1) // stride[a] + 1 for a in range(3)
    ]
    out = np.zeros((n, o, *out_size))
    o_per = o // groups
    for oc in range(o):
        g = oc // o_per
        chans = slice(g * c_per, (g + 1) * c_per)
        for pos in itertools.product(*[range(s) for s in out_size]):
            for tap in itertools.product(*[range(kk) for kk in k]):
                at = [pos[a] * stride[a] + tap[a] * dilation[a] for a in range(3)]
                out[(slice(None), oc, *pos)] += (
                    xp[:, chans, at[0], at[1], at[2]] @ w[(oc, slice(None), *tap)]
                )
    return out if b is None else out + b.reshape(1, -1, 1, 1, 1)


# (N, C, D, H, W), O, kernel, stride, padding, dilation, groups
CONV3D = [
    ((2, 2, 3, 4, 4), 3, (2, 2, 2), (1, 1, 1), (0, 0, 0), (1, 1, 1), 1),
    ((1, 4, 4, 3, 5), 2, (3, 2, 2), (2, 1, 2), (1, 1, 0), (1, 2, 1), 2),
]


@pytest.mark.parametrize("shape, o, k, s, p, d, g", CONV3D)
def test_conv3d_matches_numpy_and_finite_differences(device, shape, o, k, s, p, d, g):
    x, w, b = randn(*shape), randn(o, shape[1] // g, *k), randn(o)
    got = F.conv3d(t(x, device), t(w, device), t(b, device), s, p, d, g)
    np.testing.assert_allclose(got.numpy(), np_conv3d(x, w, b, s, p, d, g), rtol=1e-10, atol=1e-12)
    args = [t(x[:1], device, True), t(w, device, True), t(b, device, True)]
    assert tg.autograd.gradcheck(lambda xv, wv, bv: F.conv3d(xv, wv, bv, s, p, d, g), args)


def test_conv_transpose3d_is_the_adjoint_of_conv3d(device):
    # <conv3d(x, w), y> == <x, conv_transpose3d(y, w)> for the same stride / padding
    x, w = randn(1, 2, 5, 4, 6), randn(3, 2, 2, 3, 2)
    s, p = (2, 1, 2), (1, 1, 0)
    y = F.conv3d(t(x, device), t(w, device), None, s, p)
    probe = randn(*y.shape)
    # output_padding (1, 0, 0) makes the transposed output exactly x's shape
    back = F.conv_transpose3d(t(probe, device), t(w, device), None, s, p, (1, 0, 0))
    assert back.shape == x.shape
    lhs = (y.numpy() * probe).sum()
    rhs = (x * back.numpy()).sum()
    assert np.isclose(lhs, rhs, rtol=1e-10)
    args = [t(probe, device, True), t(w, device, True)]
    assert tg.autograd.gradcheck(lambda v, wv: F.conv_transpose3d(v, wv, None, s, p), args)


def test_conv3d_modules(device):
    conv = nn.Conv3d(2, 4, 3, padding=1, bias=False)
    assert conv.weight.shape == (4, 2, 3, 3, 3)
    assert list(conv.state_dict()) == ["weight"]
    assert (
        repr(conv)
        == "Conv3d(2, 4, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1), bias=False)"
    )
    assert conv(tg.randn(1, 2, 3, 4, 5)).shape == (1, 4, 3, 4, 5)
    up = nn.ConvTranspose3d(4, 2, 2, stride=2)
    assert up.weight.shape == (4, 2, 2, 2, 2)
    assert up(tg.randn(1, 4, 2, 3, 4)).shape == (1, 2, 4, 6, 8)
    assert repr(up) == "ConvTranspose3d(4, 2, kernel_size=(2, 2, 2), stride=(2, 2, 2))"
    with pytest.raises(tg.ShapeError, match="Conv3d"):
        conv(tg.randn(1, 3, 3, 4, 5))


def np_max_pool3d(x, k, s, p, d):
    n, c, *size = x.shape
    out_size = [(size[a] + 2 * p[a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a in range(3)]
    vals = np.full((n, c, *out_size), -np.inf)
    idx = np.zeros((n, c, *out_size), dtype=np.int64)
    for pos in itertools.product(*[range(v) for v in out_size]):
        for tap in itertools.product(*[range(kk) for kk in k]):
            at = [pos[a] * s[a] - p[a] + tap[a] * d[a] for a in range(3)]
            if all(0 <= at[a] < size[a] for a in range(3)):
                v = x[:, :, at[0], at[1], at[2]]
                better = v > vals[(slice(None), slice(None), *pos)]
                flat = (at[0] * size[1] + at[1]) * size[2] + at[2]
                vals[(slice(None), slice(None), *pos)] = np.where(better, v, vals[(..., *pos)])
                idx[(slice(None), slice(None), *pos)] = np.where(better, flat, idx[(..., *pos)])
    return vals, idx


@pytest.mark.parametrize(
    "k, s, p, d",
    [((2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1)), ((3, 2, 3), (1, 2, 2), (1, 1, 1), (1, 1, 2))],
)
def test_max_pool3d_matches_numpy(device, k, s, p, d):
    x = randn(2, 2, 4, 5, 6)
    got, index = F.max_pool3d(t(x, device), k, s, p, d, return_indices=True)
    want, want_index = np_max_pool3d(x, k, s, p, d)
    np.testing.assert_allclose(got.numpy(), want)
    np.testing.assert_array_equal(index.numpy(), want_index)
    x64 = t(randn(1, 1, 4, 4, 5), device, True)
    assert tg.autograd.gradcheck(lambda v: F.max_pool3d(v, k, s, p, d), [x64])


def test_avg_and_lp_pool3d_match_numpy(device):
    x = randn(2, 2, 4, 4, 6)
    blocks = x.reshape(2, 2, 2, 2, 2, 2, 3, 2)
    np.testing.assert_allclose(
        nn.AvgPool3d(2)(t(x, device)).numpy(), blocks.mean((3, 5, 7)), rtol=1e-10
    )
    padded = F.avg_pool3d(t(x, device), 3, 2, 1, count_include_pad=False).numpy()
    want = np.zeros_like(padded)
    for pos in itertools.product(*[range(v) for v in padded.shape[2:]]):
        lo = [max(pos[a] * 2 - 1, 0) for a in range(3)]
        hi = [min(pos[a] * 2 + 2, x.shape[2 + a]) for a in range(3)]
        want[(..., *pos)] = x[:, :, lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]].mean((2, 3, 4))
    np.testing.assert_allclose(padded, want, rtol=1e-10)
    ax = np.abs(x) + 0.1
    lp = nn.LPPool3d(2, 2)(t(ax, device)).numpy()
    np.testing.assert_allclose(
        lp, np.sqrt((ax.reshape(2, 2, 2, 2, 2, 2, 3, 2) ** 2).sum((3, 5, 7)))
    )
    x64 = t(randn(1, 1, 3, 4, 4), device, True)
    assert tg.autograd.gradcheck(lambda v: F.avg_pool3d(v, 2, 1, 1, True, False), [x64])


def test_adaptive_pool3d_matches_numpy(device):
    x = randn(2, 2, 5, 4, 7)
    bins = [
        [(i * n // m, -(-((i + 1) * n) // m)) for i in range(m)]
        for n, m in ((5, 2), (4, 3), (7, 3))
    ]
    avg = nn.AdaptiveAvgPool3d((2, 3, 3))(t(x, device)).numpy()
    mx, index = nn.AdaptiveMaxPool3d((2, 3, 3), return_indices=True)(t(x, device))
    for i, j, k in itertools.product(range(2), range(3), range(3)):
        (a0, a1), (b0, b1), (c0, c1) = bins[0][i], bins[1][j], bins[2][k]
        block = x[:, :, a0:a1, b0:b1, c0:c1]
        np.testing.assert_allclose(avg[..., i, j, k], block.mean((2, 3, 4)))
        np.testing.assert_allclose(mx.numpy()[..., i, j, k], block.max((2, 3, 4)))
        flat = block.reshape(2, 2, -1).argmax(-1)
        dd, hh, ww = np.unravel_index(flat, block.shape[2:])
        np.testing.assert_array_equal(
            index.numpy()[..., i, j, k], ((a0 + dd) * 4 + b0 + hh) * 7 + c0 + ww
        )
    x64 = t(randn(1, 1, 3, 4, 5), device, True)
    assert tg.autograd.gradcheck(lambda v: F.adaptive_max_pool3d(v, 2), [x64])
    assert tg.autograd.gradcheck(lambda v: F.adaptive_avg_pool3d(v, (2, None, 3)), [x64])


def test_max_unpool_puts_maxima_back(device):
    x = randn(2, 3, 4, 6)
    vals, index = F.max_pool2d(t(x, device), 2, return_indices=True)
    back = nn.MaxUnpool2d(2)(vals, index).numpy()
    blocks = x.reshape(2, 3, 2, 2, 3, 2)
    is_max = blocks == blocks.max((3, 5), keepdims=True)
    np.testing.assert_allclose(back, np.where(is_max, blocks, 0.0).reshape(x.shape))
    one, where = F.max_pool1d(t(x[:, :, 0], device), 3, return_indices=True)
    wide = F.max_unpool1d(one, where, 3, output_size=(7,))
    assert wide.shape == (2, 3, 7)
    # each value sits at its index, and everything else is zero
    np.testing.assert_allclose(wide.gather(-1, where).numpy(), one.numpy())
    assert np.count_nonzero(wide.numpy()) == one.numel()
    v64 = t(vals.numpy(), device, True)
    assert tg.autograd.gradcheck(lambda v: F.max_unpool2d(v, index, 2), [v64])
    assert (
        repr(nn.MaxUnpool2d(2)) == "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    )


def test_batchnorm3d_normalises_per_channel(device):
    x = randn(3, 2, 2, 3, 4) * 3 + 1
    bn = nn.BatchNorm3d(2).to(device).double()
    y = bn(t(x, device)).numpy()
    mean = x.mean((0, 2, 3, 4), keepdims=True)
    np.testing.assert_allclose(
        y, (x - mean) / np.sqrt(x.var((0, 2, 3, 4), keepdims=True) + 1e-5), rtol=1e-9
    )
    assert list(bn.state_dict()) == [
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    with pytest.raises(tg.ShapeError, match="BatchNorm3d"):
        bn(t(x[0], device))


def test_lazy_linear_infers_in_features(device):
    tg.manual_seed(0)
    # as in PyTorch, the placeholders are made on the module's device: move it first
    lazy = nn.LazyLinear(3).to(device)
    assert repr(lazy) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    params = list(lazy.parameters())
    assert [type(p).__name__ for p in params] == ["UninitializedParameter"] * 2
    opt = optim.SGD(params, lr=0.1)  # made before the first forward, as PyTorch allows
    y = lazy(tg.randn(2, 5, device=device))
    assert y.shape == (2, 3) and type(lazy) is nn.Linear
    assert lazy.weight.shape == (3, 5) and lazy.weight.device == tg.device(device)
    assert list(lazy.state_dict()) == ["weight", "bias"]
    # the same parameter objects were given their shapes in place
    assert list(lazy.parameters())[0] is params[0] and type(params[0]) is nn.Parameter
    bound = 1 / np.sqrt(5)
    assert np.abs(lazy.weight.numpy()).max() <= bound
    y.sum().backward()
    before = lazy.weight.detach().clone()
    opt.step()
    assert not np.allclose(lazy.weight.numpy(), before.numpy())


def np_starts(u, size, out, k):
    """PyTorch's fractional-pooling interval rule, in float32 like its kernel."""
    if out == 1:
        return [size - k]
    alpha = np.float32(size - k) / np.float32(out - 1)
    u = np.float32(u)
    first = [int((np.float32(i) + u) * alpha) - int(u * alpha) for i in range(out - 1)]
    return first + [size - k]


@pytest.mark.parametrize("k, out", [((2, 2), (5, 6)), ((3, 2), (4, 7)), ((2, 3), (1, 3))])
def test_fractional_max_pool2d_matches_numpy(device, k, out):
    x = randn(2, 3, 9, 11).astype(np.float32)
    samples = RNG.uniform(0, 1, (2, 3, 2)).astype(np.float32)
    got, index = F.fractional_max_pool2d(t(x, device), k, out, return_indices=True,
                                         _random_samples=t(samples, device))  # fmt: skip
    for n in range(2):
        for c in range(3):
            rows = np_starts(samples[n, c, 1], 9, out[0], k[0])  # sample 1 is for H
            cols = np_starts(samples[n, c, 0], 11, out[1], k[1])  # sample 0 is for W
            for i, r in enumerate(rows):
                for j, q in enumerate(cols):
                    block = x[n, c, r : r + k[0], q : q + k[1]]
                    flat = block.argmax()
                    assert got.numpy()[n, c, i, j] == block.max()
                    want = (r + flat // k[1]) * 11 + q + flat % k[1]
                    assert index.numpy()[n, c, i, j] == want
    x64 = t(randn(1, 2, 6, 7), device, True)
    s64 = t(samples[:1, :2].astype(np.float64), device)
    fn = lambda v: F.fractional_max_pool2d(v, 2, (3, 4), _random_samples=s64)  # noqa: E731
    assert tg.autograd.gradcheck(fn, [x64])


def test_fractional_max_pool_modules(device):
    tg.manual_seed(0)
    layer = nn.FractionalMaxPool2d(3, output_ratio=0.5, return_indices=True)
    values, index = layer(tg.randn(2, 3, 10, 10, device=device))
    assert values.shape == (2, 3, 5, 5) and index.dtype == tg.int64
    assert repr(layer) == "FractionalMaxPool2d()" and list(layer.state_dict()) == []
    cube = nn.FractionalMaxPool3d(2, output_size=3)(tg.randn(1, 2, 6, 6, 6, device=device))
    assert cube.shape == (1, 2, 3, 3, 3)
    with pytest.raises(ValueError, match="exactly one"):
        nn.FractionalMaxPool2d(2)
    with pytest.raises(tg.ShapeError, match="too large"):
        F.fractional_max_pool2d(tg.randn(1, 1, 4, 4), 3, output_size=3)


def test_conv_tbc_is_conv1d_in_time_batch_channel_layout(device):
    x, w, b = randn(7, 2, 3), randn(3, 3, 4), randn(4)
    got = F.conv_tbc(t(x, device), t(w, device), t(b, device), 1)
    xp = np.pad(x, ((1, 1), (0, 0), (0, 0)))
    want = np.stack([sum(xp[i + j] @ w[j] for j in range(3)) + b for i in range(7)])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)
    args = [t(x, device, True), t(w, device, True), t(b, device, True)]
    assert tg.autograd.gradcheck(lambda u, v, c: F.conv_tbc(u, v, c, 2), args)
