"""1-D / adaptive / power pooling, padding layers, interpolate, pixel and channel shuffles,
fold: forward vs direct NumPy loops, backward vs float64 finite differences, on every backend."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn

RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape)


def t(array, device, grad=False):
    out = tg.tensor(array, device=device)
    return out.requires_grad_() if grad else out


def out_len(size, k, s, p, d, ceil):
    span = d * (k - 1) + 1
    n = (-(-(size + 2 * p - span) // s) if ceil else (size + 2 * p - span) // s) + 1
    if ceil and (n - 1) * s >= size + p:
        n -= 1
    return n


def np_max_pool2d(x, k, s, p, d, ceil):
    """Direct loops: the max of every window and its flat index h * W + w (first max wins)."""
    n, c, h, w = x.shape
    ho, wo = (out_len(h, k[0], s[0], p[0], d[0], ceil), out_len(w, k[1], s[1], p[1], d[1], ceil))
    vals = np.zeros((n, c, ho, wo))
    idx = np.zeros((n, c, ho, wo), dtype=np.int64)
    for i in range(ho):
        for j in range(wo):
            best = np.full((n, c), -np.inf)
            where = np.zeros((n, c), dtype=np.int64)
            for a in range(k[0]):
                for b in range(k[1]):
                    r, q = i * s[0] - p[0] + a * d[0], j * s[1] - p[1] + b * d[1]
                    if 0 <= r < h and 0 <= q < w:
                        better = x[:, :, r, q] > best
                        best = np.where(better, x[:, :, r, q], best)
                        where = np.where(better, r * w + q, where)
            vals[:, :, i, j], idx[:, :, i, j] = best, where
    return vals, idx


def np_avg_pool2d(x, k, s, p, ceil, include_pad, divisor=None):
    n, c, h, w = x.shape
    ho, wo = out_len(h, k[0], s[0], p[0], 1, ceil), out_len(w, k[1], s[1], p[1], 1, ceil)
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            r0, q0 = i * s[0] - p[0], j * s[1] - p[1]
            r1, q1 = min(r0 + k[0], h + p[0]), min(q0 + k[1], w + p[1])
            total = x[:, :, max(r0, 0) : min(r1, h), max(q0, 0) : min(q1, w)].sum((2, 3))
            if divisor is not None:
                count = divisor
            elif include_pad:
                count = (r1 - r0) * (q1 - q0)
            else:
                count = (min(r1, h) - max(r0, 0)) * (min(q1, w) - max(q0, 0))
            out[:, :, i, j] = total / count
    return out


# kernel, stride, padding, dilation, ceil_mode
MAX2D = [
    ((2, 2), (2, 2), (0, 0), (1, 1), False),
    ((3, 3), (2, 2), (1, 1), (1, 1), True),
    ((2, 3), (1, 2), (1, 1), (2, 1), False),
    ((3, 2), (2, 3), (0, 1), (1, 2), True),
]


@pytest.mark.parametrize("k, s, p, d, ceil", MAX2D)
def test_max_pool2d_values_and_indices_match_numpy(device, k, s, p, d, ceil):
    x = randn(2, 3, 7, 8)
    got, index = F.max_pool2d(t(x, device), k, s, p, d, ceil, return_indices=True)
    want, want_index = np_max_pool2d(x, k, s, p, d, ceil)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    np.testing.assert_array_equal(index.numpy(), want_index)
    assert index.dtype == tg.int64


@pytest.mark.parametrize("k, s, p, d, ceil", MAX2D)
def test_max_pool2d_backward_matches_finite_differences(device, k, s, p, d, ceil):
    x = t(randn(1, 2, 6, 7), device, grad=True)
    assert tg.autograd.gradcheck(lambda v: F.max_pool2d(v, k, s, p, d, ceil), [x])


@pytest.mark.parametrize("k, s, p, d, ceil", [(3, 1, 1, 1, False), (2, 2, 0, 2, True)])
def test_max_pool1d_matches_the_2d_reference(device, k, s, p, d, ceil):
    x = randn(2, 3, 9)
    got, index = F.max_pool1d(t(x, device), k, s, p, d, ceil, return_indices=True)
    want, want_index = np_max_pool2d(x[:, :, None], (1, k), (1, s), (0, p), (1, d), ceil)
    np.testing.assert_allclose(got.numpy(), want[:, :, 0])
    np.testing.assert_array_equal(index.numpy(), want_index[:, :, 0])
    layer = nn.MaxPool1d(k, s, p, d, return_indices=True, ceil_mode=ceil)
    np.testing.assert_allclose(layer(t(x[0], device))[0].numpy(), want[0, :, 0])
    x64 = t(randn(1, 2, 9), device, grad=True)
    assert tg.autograd.gradcheck(lambda v: F.max_pool1d(v, k, s, p, d, ceil), [x64])


# kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
AVG2D = [
    ((3, 3), (2, 2), (1, 1), True, True, None),
    ((3, 3), (2, 2), (1, 1), True, False, None),
    ((2, 3), (2, 2), (1, 0), False, True, 4),
]


@pytest.mark.parametrize("k, s, p, ceil, include, divisor", AVG2D)
def test_avg_pool2d_options_match_numpy(device, k, s, p, ceil, include, divisor):
    x = randn(2, 3, 7, 8)
    got = F.avg_pool2d(t(x, device), k, s, p, ceil, include, divisor)
    np.testing.assert_allclose(got.numpy(), np_avg_pool2d(x, k, s, p, ceil, include, divisor))
    x64 = t(randn(1, 2, 5, 6), device, grad=True)
    assert tg.autograd.gradcheck(lambda v: F.avg_pool2d(v, k, s, p, ceil, include, divisor), [x64])


def test_avg_pool1d_and_module(device):
    x = randn(2, 3, 9)
    got = F.avg_pool1d(t(x, device), 3, 2, 1, ceil_mode=True, count_include_pad=False)
    want = np_avg_pool2d(x[:, :, None], (1, 3), (1, 2), (0, 1), True, False)[:, :, 0]
    np.testing.assert_allclose(got.numpy(), want)
    layer = nn.AvgPool1d(3)
    assert repr(layer) == "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"
    np.testing.assert_allclose(
        layer(t(x, device)).numpy(), x[:, :, :9].reshape(2, 3, 3, 3).mean(-1)
    )


def test_lp_pool_is_the_p_norm_of_each_window(device):
    x = np.abs(randn(2, 3, 6, 6)) + 0.1
    got = F.lp_pool2d(t(x, device), 3, 2)
    want = (x.reshape(2, 3, 3, 2, 3, 2) ** 3).sum((3, 5)) ** (1 / 3)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)
    got1 = nn.LPPool1d(2, 3)(t(x[:, :, 0], device))
    np.testing.assert_allclose(got1.numpy(), np.sqrt((x[:, :, 0].reshape(2, 3, 2, 3) ** 2).sum(-1)))
    x64 = t(x[:1, :1], device, grad=True)
    assert tg.autograd.gradcheck(lambda v: F.lp_pool2d(v, 2, (2, 3), 2), [x64])


def bins(n, m):
    return [(i * n // m, math.ceil((i + 1) * n / m)) for i in range(m)]


@pytest.mark.parametrize("out", [(3, 4), (7, 2), 5, (None, 3)])
def test_adaptive_max_pool2d_matches_numpy(device, out):
    x = randn(2, 3, 7, 9)
    pair = (out, out) if isinstance(out, int) else out
    oh, ow = (7 if pair[0] is None else pair[0]), pair[1]
    want = np.zeros((2, 3, oh, ow))
    want_index = np.zeros((2, 3, oh, ow), dtype=np.int64)
    for i, (r0, r1) in enumerate(bins(7, oh)):
        for j, (q0, q1) in enumerate(bins(9, ow)):
            block = x[:, :, r0:r1, q0:q1].reshape(2, 3, -1)
            flat = block.argmax(-1)
            want[:, :, i, j] = block.max(-1)
            width = q1 - q0
            want_index[:, :, i, j] = (r0 + flat // width) * 9 + q0 + flat % width
    got, index = F.adaptive_max_pool2d(t(x, device), out, return_indices=True)
    np.testing.assert_allclose(got.numpy(), want)
    np.testing.assert_array_equal(index.numpy(), want_index)
    x64 = t(randn(1, 2, 5, 7), device, grad=True)
    assert tg.autograd.gradcheck(lambda v: F.adaptive_max_pool2d(v, (2, 3)), [x64])


@pytest.mark.parametrize("out", [1, 3, 4, 9])
def test_adaptive_pool1d_matches_numpy(device, out):
    x = randn(2, 3, 9)
    got_max, index = nn.AdaptiveMaxPool1d(out, return_indices=True)(t(x, device))
    got_avg = nn.AdaptiveAvgPool1d(out)(t(x, device))
    for i, (a, b) in enumerate(bins(9, out)):
        np.testing.assert_allclose(got_max.numpy()[..., i], x[..., a:b].max(-1))
        np.testing.assert_array_equal(index.numpy()[..., i], a + x[..., a:b].argmax(-1))
        np.testing.assert_allclose(got_avg.numpy()[..., i], x[..., a:b].mean(-1))
    x64 = t(randn(2, 9), device, grad=True)
    assert tg.autograd.gradcheck(lambda v: F.adaptive_max_pool1d(v, out), [x64])
    assert tg.autograd.gradcheck(lambda v: F.adaptive_avg_pool1d(v, out), [x64])


# --- padding layers ---------------------------------------------------------------------------
PADS = [
    (nn.ZeroPad1d(2), "constant", ((2, 2),), "ZeroPad1d((2, 2))"),
    (nn.ZeroPad2d((1, 0, 2, 1)), "constant", ((2, 1), (1, 0)), "ZeroPad2d((1, 0, 2, 1))"),
    (nn.ConstantPad1d(1, 3.5), "constant", ((1, 1),), "ConstantPad1d(padding=(1, 1), value=3.5)"),
    (nn.ReflectionPad1d((2, 1)), "reflect", ((2, 1),), "ReflectionPad1d((2, 1))"),
    (nn.ReflectionPad2d(1), "reflect", ((1, 1), (1, 1)), "ReflectionPad2d((1, 1, 1, 1))"),
    (nn.ReplicationPad1d(3), "edge", ((3, 3),), "ReplicationPad1d((3, 3))"),
    (nn.ReplicationPad2d((0, 2, 1, 0)), "edge", ((1, 0), (0, 2)), "ReplicationPad2d((0, 2, 1, 0))"),
    (nn.CircularPad1d(2), "wrap", ((2, 2),), "CircularPad1d((2, 2))"),
    (nn.CircularPad2d((1, 2, 0, 1)), "wrap", ((0, 1), (1, 2)), "CircularPad2d((1, 2, 0, 1))"),
    (nn.ZeroPad3d(1), "constant", ((1, 1),) * 3, "ZeroPad3d((1, 1, 1, 1, 1, 1))"),
    (nn.ReplicationPad3d(1), "edge", ((1, 1),) * 3, "ReplicationPad3d((1, 1, 1, 1, 1, 1))"),
]


@pytest.mark.parametrize("layer, mode, widths, text", PADS, ids=[p[3] for p in PADS])
def test_padding_layers_match_numpy_pad(device, layer, mode, widths, text):
    x = randn(2, 3, *([4] * len(widths)))
    kwargs = {"constant_values": getattr(layer, "value", 0.0)} if mode == "constant" else {}
    want = np.pad(x, ((0, 0), (0, 0), *widths), mode=mode, **kwargs)
    np.testing.assert_allclose(layer(t(x, device)).numpy(), want)
    np.testing.assert_allclose(layer(t(x[0], device)).numpy(), want[0])  # unbatched
    assert repr(layer) == text
    x64 = t(randn(1, 2, *([3] * len(widths))), device, grad=True)
    assert tg.autograd.gradcheck(lambda v: layer(v), [x64])


# --- interpolate ------------------------------------------------------------------------------
def np_linear_1d(x, n_out, align, factor=None):
    """Resize the last axis of x with PyTorch's linear coordinates, one output at a time."""
    n_in = x.shape[-1]
    out = np.zeros(x.shape[:-1] + (n_out,))
    for i in range(n_out):
        if align:
            src = i * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        else:
            scale = 1 / factor if factor else n_in / n_out
            src = max((i + 0.5) * scale - 0.5, 0.0)
        lo = min(int(np.floor(src)), n_in - 1)
        hi = min(lo + 1, n_in - 1)
        lam = src - lo
        out[..., i] = x[..., lo] * (1 - lam) + x[..., hi] * lam
    return out


@pytest.mark.parametrize("size, align", [((5, 11), False), ((9, 4), True), ((3, 3), False)])
def test_bilinear_interpolate_matches_numpy(device, size, align):
    x = randn(2, 3, 4, 6)
    got = F.interpolate(t(x, device), size=size, mode="bilinear", align_corners=align)
    rows = np_linear_1d(np.swapaxes(x, -1, -2), size[0], align)  # resize H
    want = np_linear_1d(np.swapaxes(rows, -1, -2), size[1], align)  # then W
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)
    x64 = t(randn(1, 2, 3, 4), device, grad=True)
    fn = lambda v: F.interpolate(v, size=size, mode="bilinear", align_corners=align)  # noqa: E731
    assert tg.autograd.gradcheck(fn, [x64])


def test_linear_and_nearest_interpolate_match_numpy(device):
    x = randn(2, 3, 5)
    got = F.interpolate(t(x, device), scale_factor=2.5, mode="linear")
    np.testing.assert_allclose(got.numpy(), np_linear_1d(x, 12, False, 2.5), rtol=1e-10)
    near = F.interpolate(t(x, device), size=8).numpy()
    np.testing.assert_allclose(near, x[..., [int(np.floor(i * 5 / 8)) for i in range(8)]])
    exact = F.interpolate(t(x, device), size=3, mode="nearest-exact").numpy()
    np.testing.assert_allclose(exact, x[..., [int(np.floor((i + 0.5) * 5 / 3)) for i in range(3)]])
    image = randn(1, 2, 3, 4)
    twice = nn.Upsample(scale_factor=2)(t(image, device)).numpy()
    np.testing.assert_allclose(twice, image.repeat(2, axis=2).repeat(2, axis=3))
    x64 = t(x, device, grad=True)
    assert tg.autograd.gradcheck(lambda v: F.interpolate(v, size=8), [x64])


def test_upsample_modules_repr_and_modes(device):
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert repr(nn.Upsample(size=(4, 5), mode="bilinear")) == (
        "Upsample(size=(4, 5), mode='bilinear')"
    )
    x = t(randn(1, 2, 3, 4), device)
    bilinear = nn.UpsamplingBilinear2d(scale_factor=2)(x).numpy()
    want = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True).numpy()
    np.testing.assert_allclose(bilinear, want)
    np.testing.assert_allclose(nn.UpsamplingNearest2d(size=6)(x).shape, (1, 2, 6, 6))


INTERP_ERRORS = [
    ("mode", lambda: F.interpolate(tg.ones(1, 1, 4), size=2, mode="cubic"), NotImplementedError),
    ("bilinear on 3-D", lambda: F.interpolate(tg.ones(1, 1, 4), 2, mode="bilinear"), tg.ShapeError),
    ("both", lambda: F.interpolate(tg.ones(1, 1, 4), 2, 2.0), ValueError),
    ("neither", lambda: F.interpolate(tg.ones(1, 1, 4)), ValueError),
    ("align nearest", lambda: F.interpolate(tg.ones(1, 1, 4), 2, align_corners=True), ValueError),
]


@pytest.mark.parametrize("name, call, error", INTERP_ERRORS, ids=[e[0] for e in INTERP_ERRORS])
def test_interpolate_errors(name, call, error):
    with pytest.raises(error, match="interpolate"):
        call()


# --- shuffles, fold / unfold ------------------------------------------------------------------
def test_pixel_shuffle_and_unshuffle_match_the_index_formula(device):
    r = 2
    x = randn(2, 3 * r * r, 3, 4)
    got = F.pixel_shuffle(t(x, device), r).numpy()
    want = np.zeros((2, 3, 3 * r, 4 * r))
    for c in range(3):
        for h in range(3 * r):
            for w in range(4 * r):
                want[:, c, h, w] = x[:, c * r * r + (h % r) * r + (w % r), h // r, w // r]
    np.testing.assert_allclose(got, want)
    back = nn.PixelUnshuffle(r)(nn.PixelShuffle(r)(t(x, device)))
    np.testing.assert_allclose(back.numpy(), x)
    x64 = t(randn(1, 8, 2, 2), device, grad=True)
    assert tg.autograd.gradcheck(lambda v: F.pixel_shuffle(v, 2), [x64])


def test_channel_shuffle_interleaves_groups(device):
    x = np.arange(6.0).reshape(1, 6, 1, 1)
    got = nn.ChannelShuffle(2)(t(x, device)).numpy().ravel()
    np.testing.assert_array_equal(got, [0, 3, 1, 4, 2, 5])
    assert repr(nn.ChannelShuffle(2)) == "ChannelShuffle(groups=2)"


@pytest.mark.parametrize(
    "k, d, p, s", [((2, 2), 1, 0, 1), ((2, 3), (1, 2), 1, 2), ((3, 3), 1, 1, (2, 1))]
)
def test_fold_is_the_adjoint_of_unfold(device, k, d, p, s):
    x = randn(2, 3, 6, 7)
    cols = F.unfold(t(x, device), k, d, p, s)
    y = randn(*cols.shape)
    # <unfold(x), y> == <x, fold(y)> for every x, y: fold is unfold's transpose
    folded = F.fold(t(y, device), (6, 7), k, d, p, s)
    assert np.isclose((cols.numpy() * y).sum(), (x * folded.numpy()).sum(), rtol=1e-10)
    layer = nn.Fold((6, 7), k, d, p, s)
    np.testing.assert_allclose(layer(t(y[0], device)).numpy(), folded.numpy()[0])
    np.testing.assert_allclose(nn.Unfold(k, d, p, s)(t(x, device)).numpy(), cols.numpy())
    y64 = t(y[:1], device, grad=True)
    assert tg.autograd.gradcheck(lambda v: F.fold(v, (6, 7), k, d, p, s), [y64])


def test_fold_counts_overlaps():
    ones = F.unfold(tg.ones(1, 1, 3, 3, dtype=tg.float64), 2)
    np.testing.assert_array_equal(
        F.fold(ones, 3, 2).numpy()[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    )
    with pytest.raises(tg.ShapeError, match="fold"):
        F.fold(tg.ones(1, 4, 5), 3, 2)


def test_pooling_module_reprs_and_no_state():
    layers = {
        "MaxPool1d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=False)": (
            nn.MaxPool1d(3)
        ),
        "AdaptiveMaxPool2d(output_size=3)": nn.AdaptiveMaxPool2d(3),
        "AdaptiveAvgPool1d(output_size=2)": nn.AdaptiveAvgPool1d(2),
        "LPPool2d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)": nn.LPPool2d(2, 3),
        "PixelShuffle(upscale_factor=2)": nn.PixelShuffle(2),
        "Fold(output_size=(4, 4), kernel_size=2, dilation=1, padding=0, stride=1)": nn.Fold(
            (4, 4), 2
        ),
        "Unfold(kernel_size=2, dilation=1, padding=0, stride=1)": nn.Unfold(2),
    }
    for text, layer in layers.items():
        assert repr(layer) == text
        assert list(layer.state_dict()) == []


def test_maxpool2d_module_takes_pytorch_arguments(device):
    x = t(randn(1, 2, 7, 7), device)
    values, index = nn.MaxPool2d(3, 2, 1, dilation=1, return_indices=True, ceil_mode=True)(x)
    want, want_index = np_max_pool2d(x.numpy(), (3, 3), (2, 2), (1, 1), (1, 1), True)
    np.testing.assert_allclose(values.numpy(), want)
    np.testing.assert_array_equal(index.numpy(), want_index)
    avg = nn.AvgPool2d(3, 2, 1, True, False)(x).numpy()
    np.testing.assert_allclose(avg, np_avg_pool2d(x.numpy(), (3, 3), (2, 2), (1, 1), True, False))
