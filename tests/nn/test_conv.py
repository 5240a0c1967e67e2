"""Conv2d, MaxPool2d, AvgPool2d and their functional forms: NumPy reference, PyTorch with the
same weights, float64 finite differences, errors, and a conv net that learns."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn
from tinygpt.ops import convolution as conv_module

RNG = np.random.default_rng(0)


# --- NumPy references, written with sliding windows (independent of im2col) ---------------
def np_windows(x, kernel, stride, padding, dilation, fill=0.0):
    """x (N, C, H, W) -> (N, C, Ho, Wo, kh, kw), every dilated window."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, span, axis=(2, 3))
    return windows[:, :, ::sh, ::sw, ::dh, ::dw]


def np_conv2d(x, w, b, stride, padding, dilation, groups):
    kernel = w.shape[2:]
    cols = np_windows(x, kernel, stride, padding, dilation)  # (N, C, Ho, Wo, kh, kw)
    c_per, o_per = x.shape[1] // groups, w.shape[0] // groups
    outs = []
    for g in range(groups):
        part = cols[:, g * c_per : (g + 1) * c_per]
        outs.append(np.einsum("nchwij,ocij->nohw", part, w[g * o_per : (g + 1) * o_per]))
    out = np.concatenate(outs, axis=1)
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# (N, C, H, W), (O, kh, kw), stride, padding, dilation, groups
CONV_CASES = [
    ((2, 3, 7, 8), (4, 3, 3), 1, 1, 1, 1),
    ((2, 4, 9, 7), (6, 3, 3), 2, 2, 2, 2),
    ((1, 2, 5, 6), (3, 2, 3), (1, 2), (0, 1), 1, 1),
    ((3, 6, 6, 6), (6, 3, 3), 1, 1, 1, 6),  # depthwise
    ((2, 3, 4, 4), (5, 1, 1), 1, 0, 1, 1),  # 1x1
    ((1, 1, 5, 5), (1, 5, 5), 1, 0, 1, 1),  # kernel as large as the image
]


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_forward_matches_numpy(device, case):
    shape, (o, kh, kw), stride, padding, dilation, groups = case
    x = RNG.standard_normal(shape).astype(np.float32)
    w = RNG.standard_normal((o, shape[1] // groups, kh, kw)).astype(np.float32)
    b = RNG.standard_normal(o).astype(np.float32)
    got = F.conv2d(
        tg.tensor(x, device=device),
        tg.tensor(w, device=device),
        tg.tensor(b, device=device),
        stride,
        padding,
        dilation,
        groups,
    )
    want = np_conv2d(x, w, b, pair(stride), pair(padding), pair(dilation), groups)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-4)


@given(
    channels=st.integers(1, 3),
    size=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
)
def test_conv2d_and_max_pool_match_numpy_on_any_geometry(
    device, channels, size, kernel, stride, padding, dilation
):
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    if any(s + 2 * p < k for s, p, k in zip(size, padding, span, strict=True)):
        return  # no window fits: conv2d raises (tested in test_conv2d_errors_...)
    x = RNG.standard_normal((2, channels, *size)).astype(np.float32)
    w = RNG.standard_normal((2, channels, *kernel)).astype(np.float32)
    got = F.conv2d(
        tg.tensor(x, device=device), tg.tensor(w, device=device), None, stride, padding, dilation
    )
    want = np_conv2d(x, w, None, stride, padding, dilation, 1)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-4)
    if all(p <= k // 2 for p, k in zip(padding, kernel, strict=True)):
        pooled = F.max_pool2d(tg.tensor(x, device=device), kernel, stride, padding)
        windows = np_windows(x, kernel, stride, padding, (1, 1), fill=-np.inf)
        np.testing.assert_allclose(pooled.numpy(), windows.max(axis=(4, 5)))


@pytest.mark.parametrize("case", CONV_CASES[:4], ids=str)
def test_conv2d_gradients_match_finite_differences(device, case):
    shape, (o, kh, kw), stride, padding, dilation, groups = case
    shape = (1, shape[1], 5, 5)  # tiny: finite differences run the op twice per element
    x = tg.randn(*shape, dtype=tg.float64, device=device, requires_grad=True)
    w = tg.randn(o, shape[1] // groups, kh, kw, dtype=tg.float64, device=device, requires_grad=True)
    b = tg.randn(o, dtype=tg.float64, device=device, requires_grad=True)
    conv = lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups)  # noqa: E731
    assert tg.autograd.gradcheck(conv, [x, w, b])


def test_conv2d_batch_chunks_give_the_same_values_and_gradients(device, monkeypatch):
    x = tg.randn(3, 2, 6, 6, device=device, requires_grad=True)
    w = tg.randn(4, 2, 3, 3, device=device, requires_grad=True)
    results = []
    for limit in (conv_module.MAX_UNFOLD_BYTES, 1):  # 1 byte: one sample per chunk
        monkeypatch.setattr(conv_module, "MAX_UNFOLD_BYTES", limit)
        x.grad = w.grad = None
        out = F.conv2d(x, w, padding=1, stride=2)
        (out * out).sum().backward()
        results.append((out.numpy(), x.grad.numpy(), w.grad.numpy()))
    for one, chunked in zip(*results, strict=True):
        np.testing.assert_allclose(one, chunked, rtol=1e-5, atol=1e-5)
    chunk_x = tg.randn(2, 2, 5, 5, dtype=tg.float64, device=device, requires_grad=True)
    chunk_w = tg.randn(3, 2, 3, 3, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda a, b: F.conv2d(a, b, padding=1), [chunk_x, chunk_w])


def test_conv2d_same_padding_and_unbatched_input(device):
    x = tg.randn(3, 7, 6, device=device)  # (C, H, W)
    w = tg.randn(2, 3, 4, 3, device=device)  # an even kernel: the odd pixel pads after
    out = F.conv2d(x, w, padding="same", dilation=(1, 2))
    assert out.shape == (2, 7, 6)
    assert F.conv2d(x, w, padding="valid").shape == (2, 4, 4)


def test_unfold_matches_numpy_and_pytorch_layout(device):
    x = RNG.standard_normal((2, 3, 5, 6)).astype(np.float32)
    got = F.unfold(tg.tensor(x, device=device), (2, 3), dilation=1, padding=1, stride=(2, 1))
    windows = np_windows(x, (2, 3), (2, 1), (1, 1), (1, 1))  # (N, C, Ho, Wo, kh, kw)
    n, c, ho, wo, kh, kw = windows.shape
    want = windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo)
    np.testing.assert_allclose(got.numpy(), want)
    small = tg.randn(1, 2, 4, 4, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: F.unfold(t, 3, padding=1, stride=2), [small])


# --- pooling -------------------------------------------------------------------------------
# kernel, stride, padding
POOL_CASES = [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 1)), (3, 1, 1)]


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pooling_forward_matches_numpy(device, case):
    kernel, stride, padding = case
    x = RNG.standard_normal((2, 3, 7, 8)).astype(np.float32)
    k, s, p = pair(kernel), pair(kernel if stride is None else stride), pair(padding)
    t = tg.tensor(x, device=device)
    maxed = np_windows(x, k, s, p, (1, 1), fill=-np.inf).max(axis=(4, 5))
    np.testing.assert_allclose(F.max_pool2d(t, kernel, stride, padding).numpy(), maxed)
    summed = np_windows(x, k, s, p, (1, 1)).sum(axis=(4, 5))
    got = F.avg_pool2d(t, kernel, stride, padding).numpy()
    np.testing.assert_allclose(got, summed / (k[0] * k[1]), rtol=1e-5, atol=1e-6)
    counts = np_windows(np.ones_like(x), k, s, p, (1, 1)).sum(axis=(4, 5))
    got = F.avg_pool2d(t, kernel, stride, padding, count_include_pad=False).numpy()
    np.testing.assert_allclose(got, summed / counts, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pooling_gradients_match_finite_differences(device, case):
    kernel, stride, padding = case
    x = tg.randn(1, 2, 5, 6, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: F.max_pool2d(t, kernel, stride, padding), [x])
    assert tg.autograd.gradcheck(lambda t: F.avg_pool2d(t, kernel, stride, padding), [x])
    no_pad = lambda t: F.avg_pool2d(t, kernel, stride, padding, count_include_pad=False)  # noqa: E731
    assert tg.autograd.gradcheck(no_pad, [x])


def test_max_pool_sends_a_tied_gradient_to_the_first_maximum_only(device):
    x = tg.ones(1, 1, 2, 2, device=device, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.tolist() == [[[[1.0, 0.0], [0.0, 0.0]]]]


def test_pooling_layers(device):
    x = tg.randn(2, 3, 8, 8, device=device)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert nn.AvgPool2d(3, stride=1, padding=1)(x).shape == (2, 3, 8, 8)
    assert nn.MaxPool2d(3, 2, 1)(x[0]).shape == (3, 4, 4)  # unbatched
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"


# --- the layer, against PyTorch --------------------------------------------------------------
@pytest.mark.oracle
@pytest.mark.parametrize(
    "options",
    [
        {"kernel_size": 3, "padding": 1},
        {"kernel_size": (3, 2), "stride": 2, "dilation": (2, 1), "bias": False},
        {"kernel_size": 3, "padding": "same", "groups": 2},
    ],
    ids=str,
)
def test_conv2d_layer_matches_pytorch_with_its_state_dict(device, options):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Conv2d(4, 6, **options)
    ours = nn.Conv2d(4, 6, **options, device=device)
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal((2, 4, 9, 8)).astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    gx = tg.tensor(x, device=device, requires_grad=True)
    t_out, g_out = theirs(tx), ours(gx)
    np.testing.assert_allclose(g_out.numpy(), t_out.detach().numpy(), rtol=1e-4, atol=1e-5)
    (t_out * t_out).sum().backward()
    (g_out * g_out).sum().backward()
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    for name, param in ours.named_parameters():
        want = theirs.get_parameter(name).grad.numpy()
        np.testing.assert_allclose(param.grad.numpy(), want, rtol=1e-4, atol=1e-3)


def test_conv2d_layer_init_follows_pytorch(device):
    conv = nn.Conv2d(8, 16, 3, device=device)
    bound = 1 / math.sqrt(8 * 3 * 3)  # kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in))
    w = conv.weight.numpy()
    assert conv.weight.shape == (16, 8, 3, 3) and conv.bias.shape == (16,)
    assert np.abs(w).max() <= bound and w.std() > bound / 2.5  # U(-b, b) has std b/sqrt(3)
    assert np.abs(conv.bias.numpy()).max() <= bound
    assert "Conv2d(8, 16, kernel_size=(3, 3), stride=(1, 1))" == repr(conv)


def test_conv2d_errors_name_the_layer_and_shapes(device):
    conv = nn.Conv2d(3, 4, 3, device=device)
    with pytest.raises(tg.ShapeError, match=r"Conv2d\(3, 4.*\(N, 3, H, W\).*\(2, 5, 8, 8\)"):
        conv(tg.randn(2, 5, 8, 8, device=device))
    with pytest.raises(tg.ShapeError, match=r"Conv2d.*got \(8, 8\)"):
        conv(tg.randn(8, 8, device=device))
    with pytest.raises(tg.ShapeError, match="smaller than the kernel"):
        conv(tg.randn(1, 3, 2, 2, device=device))
    with pytest.raises(tg.ShapeError, match="expects 6"):
        F.conv2d(tg.randn(1, 4, 5, 5, device=device), tg.randn(2, 3, 3, 3, device=device), groups=2)
    with pytest.raises(ValueError, match="groups=3 must divide"):
        nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match="stride must be"):
        nn.Conv2d(4, 6, 3, stride=0)
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(1, 1, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="at most half the kernel"):
        F.max_pool2d(tg.randn(1, 1, 5, 5, device=device), 2, padding=2)


def test_a_small_conv_net_overfits_a_fixed_batch(device):
    from tinygpt.optim import Adam

    tg.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 2 * 2, 4),
    ).to(device)
    x = tg.randn(8, 1, 8, 8, device=device)
    y = tg.tensor([0, 1, 2, 3, 0, 1, 2, 3], device=device)
    optimizer = Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10, losses[::10]
