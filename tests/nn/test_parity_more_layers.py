"""ConvTranspose1d/2d, Bilinear, InstanceNorm, LocalResponseNorm, distances, EmbeddingBag and
nn.Buffer: forward vs NumPy, backward vs float64 finite differences, state_dict keys as
PyTorch's."""

from __future__ import annotations

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


def np_conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation):
    """Scatter form: every input pixel adds weight * value into the (uncropped) output."""
    n, c_in, h, wd = x.shape
    _, c_out_g, kh, kw = w.shape
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = stride, padding, output_padding, dilation
    full_h = (h - 1) * sh + dh * (kh - 1) + 1 + oh
    full_w = (wd - 1) * sw + dw * (kw - 1) + 1 + ow
    out = np.zeros((n, c_out_g * groups, full_h, full_w))
    c_in_g = c_in // groups
    for ci in range(c_in):
        g = ci // c_in_g
        for i in range(h):
            for j in range(wd):
                for a in range(kh):
                    for bb in range(kw):
                        r, q = i * sh + a * dh, j * sw + bb * dw
                        out[:, g * c_out_g : (g + 1) * c_out_g, r, q] += (
                            x[:, ci, i, j][:, None] * w[ci, :, a, bb][None]
                        )
    out = out[:, :, ph : full_h - ph, pw : full_w - pw]
    return out if b is None else out + b.reshape(1, -1, 1, 1)


# (N, C_in, H, W), C_out, kernel, stride, padding, output_padding, groups, dilation
CT2D = [
    ((2, 4, 3, 4), 3, (3, 3), (1, 1), (0, 0), (0, 0), 1, (1, 1)),
    ((1, 4, 3, 3), 2, (3, 2), (2, 2), (1, 0), (1, 1), 1, (1, 1)),
    ((2, 4, 2, 3), 6, (2, 3), (2, 3), (0, 2), (0, 0), 2, (2, 1)),
]


@pytest.mark.parametrize("shape, c_out, k, s, p, op, g, d", CT2D)
def test_conv_transpose2d_matches_scatter_reference(device, shape, c_out, k, s, p, op, g, d):
    x = randn(*shape)
    w = randn(shape[1], c_out // g, *k)
    b = randn(c_out)
    got = F.conv_transpose2d(t(x, device), t(w, device), t(b, device), s, p, op, g, d)
    want = np_conv_transpose2d(x, w, b, s, p, op, g, d)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-10)
    xs, ws, bs = t(x[:1], device, True), t(w, device, True), t(b, device, True)

    def fn(xv, wv, bv):
        return F.conv_transpose2d(xv, wv, bv, s, p, op, g, d)

    assert tg.autograd.gradcheck(fn, [xs, ws, bs])


def test_conv_transpose1d_and_modules(device):
    x = randn(2, 4, 5)
    layer = nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2).to(device)
    layer.double()
    want = np_conv_transpose2d(
        x[:, :, None],
        layer.weight.detach().numpy()[:, :, None],
        layer.bias.detach().numpy(),
        (1, 2),
        (0, 1),
        (0, 1),
        2,
        (1, 1),
    )[:, :, 0]
    np.testing.assert_allclose(layer(t(x, device)).numpy(), want, rtol=1e-10, atol=1e-12)
    assert layer.weight.shape == (4, 3, 3)
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert repr(layer) == (
        "ConvTranspose1d(4, 6, kernel_size=(3,), stride=(2,), padding=(1,), "
        "output_padding=(1,), groups=2)"
    )
    up = nn.ConvTranspose2d(3, 2, 3, stride=2, bias=False)
    assert repr(up) == "ConvTranspose2d(3, 2, kernel_size=(3, 3), stride=(2, 2), bias=False)"
    assert up(tg.randn(1, 3, 4, 4), output_size=(10, 10)).shape == (1, 2, 10, 10)
    with pytest.raises(ValueError, match="output_size"):
        up(tg.randn(1, 3, 4, 4), output_size=(12, 12))
    with pytest.raises(tg.ShapeError, match="ConvTranspose2d"):
        up(tg.randn(1, 4, 4, 4))


def test_conv_transpose_init_bounds_use_pytorchs_fan_in():
    tg.manual_seed(0)
    layer = nn.ConvTranspose2d(64, 8, 3)
    bound = 1 / np.sqrt(8 * 9)  # fan_in = weight.shape[1] * kh * kw
    assert np.abs(layer.weight.numpy()).max() <= bound
    assert np.abs(layer.weight.numpy()).max() > 0.9 * bound
    assert np.abs(layer.bias.numpy()).max() <= bound


def test_bilinear_matches_einsum(device):
    x1, x2 = randn(5, 3), randn(5, 4)
    layer = nn.Bilinear(3, 4, 2).to(device).double()
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    want = np.einsum("ni,kij,nj->nk", x1, w, x2) + b
    np.testing.assert_allclose(layer(t(x1, device), t(x2, device)).numpy(), want, rtol=1e-10)
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert repr(layer) == "Bilinear(in1_features=3, in2_features=4, out_features=2, bias=True)"
    args = [t(x1[:2], device, True), t(x2[:2], device, True), t(w, device, True)]
    assert tg.autograd.gradcheck(F.bilinear, args)


def np_instance_norm(x, eps=1e-5):
    axes = tuple(range(2, x.ndim))
    mean = x.mean(axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axes, keepdims=True) + eps)


@pytest.mark.parametrize(
    "cls, shape", [(nn.InstanceNorm1d, (2, 3, 5)), (nn.InstanceNorm2d, (2, 3, 4, 5))]
)
def test_instance_norm_matches_numpy_and_tracks_stats(device, cls, shape):
    x = randn(*shape) * 2 + 1
    plain = cls(3)
    np.testing.assert_allclose(plain(t(x, device)).numpy(), np_instance_norm(x), rtol=1e-9)
    np.testing.assert_allclose(plain(t(x[0], device)).numpy(), np_instance_norm(x[:1])[0])
    assert list(plain.state_dict()) == []
    tracked = cls(3, affine=True, track_running_stats=True).to(device).double()
    assert list(tracked.state_dict()) == [
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    tracked(t(x, device))
    axes = tuple(range(2, x.ndim))
    count = np.prod(shape[2:])
    want_mean = 0.1 * x.mean(axes).mean(0)
    want_var = 0.9 + 0.1 * (x.var(axes) * count / (count - 1)).mean(0)
    np.testing.assert_allclose(tracked.running_mean.numpy(), want_mean, rtol=1e-10)
    np.testing.assert_allclose(tracked.running_var.numpy(), want_var, rtol=1e-10)
    assert int(tracked.num_batches_tracked.item()) == 1
    tracked.eval()
    y = tracked(t(x, device)).numpy()
    view = (1, 3) + (1,) * len(axes)
    want_eval = (x - want_mean.reshape(view)) / np.sqrt(want_var.reshape(view) + 1e-5)
    np.testing.assert_allclose(y, want_eval, rtol=1e-9)
    x64 = t(x[:1], device, True)
    assert tg.autograd.gradcheck(lambda v: F.instance_norm(v), [x64])


def test_instance_norm_repr_like_pytorch():
    assert repr(nn.InstanceNorm2d(3)) == (
        "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, "
        "track_running_stats=False)"
    )


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_local_response_norm_matches_numpy(device, size):
    x = randn(2, 6, 3, 2)
    sq = np.pad(x**2, ((0, 0), (size // 2, (size - 1) // 2), (0, 0), (0, 0)))
    window = sum(sq[:, i : i + 6] for i in range(size))
    want = x / (1.0 + 0.3 * window / size) ** 0.75
    got = nn.LocalResponseNorm(size, alpha=0.3)(t(x, device)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10)
    x64 = t(x[:1], device, True)
    assert tg.autograd.gradcheck(lambda v: F.local_response_norm(v, size, 0.3), [x64])


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
def test_pairwise_distance_and_pdist_match_numpy(device, p):
    a, b = randn(4, 5), randn(4, 5)
    want = np.linalg.norm(a - b + 1e-6, ord=p, axis=-1)
    np.testing.assert_allclose(F.pairwise_distance(t(a, device), t(b, device), p).numpy(), want)
    got = nn.PairwiseDistance(p, keepdim=True)(t(a, device), t(b, device))
    assert got.shape == (4, 1)
    pairs = [np.linalg.norm(a[i] - a[j], ord=p) for i in range(4) for j in range(i + 1, 4)]
    np.testing.assert_allclose(F.pdist(t(a, device), p).numpy(), pairs, rtol=1e-10)
    if p != float("inf"):
        args = [t(a, device, True), t(b, device, True)]
        assert tg.autograd.gradcheck(lambda u, v: F.pairwise_distance(u, v, p), args)
        assert tg.autograd.gradcheck(lambda u: F.pdist(u, p), [args[0]])


def test_cosine_similarity_module(device):
    a, b = randn(3, 4), randn(3, 4)
    want = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(nn.CosineSimilarity()(t(a, device), t(b, device)).numpy(), want)
    assert repr(nn.CosineSimilarity()) == "CosineSimilarity()"


def np_bags(ids, offsets, w, mode, padding_idx=None, weights=None):
    bounds = list(offsets) + [len(ids)]
    out = []
    for s, e in zip(bounds[:-1], bounds[1:], strict=True):
        rows = [
            w[i] * (1.0 if weights is None else weights[k])
            for k, i in enumerate(ids[s:e], start=s)
            if i != padding_idx
        ]
        if not rows:
            out.append(np.zeros(w.shape[1]))
        elif mode == "sum":
            out.append(np.sum(rows, 0))
        elif mode == "mean":
            out.append(np.mean(rows, 0))
        else:
            out.append(np.max(rows, 0))
    return np.stack(out)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 4])
def test_embedding_bag_matches_numpy(device, mode, padding_idx):
    w = randn(10, 3)
    ids = np.array([1, 2, 4, 5, 4, 3, 2, 9])
    offsets = np.array([0, 2, 2, 5])
    got = F.embedding_bag(t(ids, device), t(w, device), t(offsets, device), mode=mode,
                          padding_idx=padding_idx)  # fmt: skip
    np.testing.assert_allclose(got.numpy(), np_bags(ids, offsets, w, mode, padding_idx))
    rows = F.embedding_bag(t(ids.reshape(2, 4), device), t(w, device), mode=mode)
    np.testing.assert_allclose(rows.numpy(), np_bags(ids, [0, 4], w, mode))
    wt = t(w, device, True)
    fn = lambda v: F.embedding_bag(t(ids, device), v, t(offsets, device), mode=mode)  # noqa: E731
    assert tg.autograd.gradcheck(fn, [wt])


def test_embedding_bag_module_weights_and_per_sample_weights(device):
    tg.manual_seed(0)
    bag = nn.EmbeddingBag(10, 3, mode="sum", padding_idx=0).to(device)
    assert list(bag.state_dict()) == ["weight"]
    assert repr(bag) == "EmbeddingBag(10, 3, mode='sum', padding_idx=0)"
    np.testing.assert_array_equal(bag.weight.numpy()[0], 0.0)
    ids = tg.tensor([1, 2, 3, 0, 5], device=device)
    per = tg.tensor([0.5, 1.0, 2.0, 1.0, -1.0], device=device)
    got = bag(ids, tg.tensor([0, 3, 5], device=device), per_sample_weights=per)
    w = bag.weight.detach().numpy()
    want = np.stack([0.5 * w[1] + w[2] + 2 * w[3], -w[5]])
    # three offsets without include_last_offset: three bags, the last one empty (zeros)
    np.testing.assert_allclose(got.numpy(), np.concatenate([want, np.zeros((1, 3))]), rtol=1e-6)
    last = F.embedding_bag(ids, bag.weight, tg.tensor([0, 3, 5], device=device), mode="sum",
                           per_sample_weights=per, include_last_offset=True)  # fmt: skip
    np.testing.assert_allclose(last.numpy(), want, rtol=1e-6)
    with pytest.raises(NotImplementedError, match="per_sample_weights"):
        F.embedding_bag(ids, bag.weight, tg.tensor([0], device=device), per_sample_weights=per)


def test_buffer_registers_as_a_buffer(device):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Buffer(tg.ones(3))
            self.cache = nn.Buffer(tg.zeros(2), persistent=False)
            self.lin = nn.Linear(3, 3)

        def forward(self, x):
            return self.lin(x) * self.scale

    net = Net().to(device)
    assert sorted(net.state_dict()) == ["lin.bias", "lin.weight", "scale"]
    assert [n for n, _ in net.named_buffers()] == ["scale", "cache"]
    assert net.scale.device == tg.device(device)
    assert [n for n, _ in net.named_parameters()] == ["lin.weight", "lin.bias"]
    assert type(net(tg.ones(1, 3, device=device))).__name__ == "Tensor"


def np_cross_map_lrn(x, size, alpha, beta, k):
    """The legacy recurrence on the data: add the next square, drop the oldest."""
    channels = x.shape[1]
    sq = x**2
    pre_pad = int((size - 1) / 2 + 1)
    scale = np.zeros_like(x)
    scale[:, 0] = sq[:, : min(pre_pad, channels)].sum(1)
    for c in range(1, channels):
        scale[:, c] = scale[:, c - 1]
        if c < channels - pre_pad + 1:
            scale[:, c] += sq[:, c + pre_pad - 1]
        if c > pre_pad:
            scale[:, c] -= sq[:, c - pre_pad]
    return x * (scale * alpha / size + k) ** -beta


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_cross_map_lrn2d_matches_the_legacy_recurrence(device, size):
    x = randn(2, 6, 3, 2)
    layer = nn.CrossMapLRN2d(size, alpha=0.3)
    want = np_cross_map_lrn(x, size, 0.3, 0.75, 1.0)
    np.testing.assert_allclose(layer(t(x, device)).numpy(), want, rtol=1e-10)
    assert tg.autograd.gradcheck(lambda v: layer(v), [t(x[:1], device, True)])
    assert repr(nn.CrossMapLRN2d(3)) == "CrossMapLRN2d(3, alpha=0.0001, beta=0.75, k=1)"


def test_uninitialized_buffer_materializes_in_place():
    buf = nn.UninitializedBuffer()
    assert repr(buf) == "<UninitializedBuffer>" and buf.shape == (0,)
    buf.materialize((2, 3))
    assert type(buf) is tg.Tensor and buf.shape == (2, 3) and not buf.requires_grad


def np_mha(q, k, v, heads, w, b, wo, bo, mask=None, padding=None):
    """Direct multi-head attention on (L, N, E) inputs; returns output and mean weights."""
    e = q.shape[-1]
    d = e // heads
    qp, kp, vp = (
        x @ w[i * e : (i + 1) * e].T + b[i * e : (i + 1) * e] for i, x in enumerate((q, k, v))
    )
    out = np.zeros_like(qp)
    weights = np.zeros((q.shape[1], q.shape[0], k.shape[0]))
    for n in range(q.shape[1]):
        for h in range(heads):
            cols = slice(h * d, (h + 1) * d)
            scores = qp[:, n, cols] @ kp[:, n, cols].T / np.sqrt(d)
            if mask is not None:
                scores = np.where(mask, -np.inf, scores)
            if padding is not None:
                scores = np.where(padding[n][None, :], -np.inf, scores)
            p = np.exp(scores - scores.max(-1, keepdims=True))
            p /= p.sum(-1, keepdims=True)
            out[:, n, cols] = p @ vp[:, n, cols]
            weights[n] += p / heads
    return out @ wo.T + bo, weights


def test_multi_head_attention_forward_matches_numpy(device):
    q, k, v = randn(4, 2, 6), randn(5, 2, 6), randn(5, 2, 6)
    w, b, wo, bo = randn(18, 6), randn(18), randn(6, 6), randn(6)
    mask = np.triu(np.ones((4, 5), bool), 2)
    padding = np.zeros((2, 5), bool)
    padding[1, -1] = True
    args = [t(a, device) for a in (q, k, v)]
    out, weights = F.multi_head_attention_forward(
        *args, 6, 3, t(w, device), t(b, device), None, None, False, 0.0, t(wo, device),
        t(bo, device), attn_mask=t(mask, device), key_padding_mask=t(padding, device),
    )  # fmt: skip
    want, want_w = np_mha(q, k, v, 3, w, b, wo, bo, mask, padding)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), want_w, rtol=1e-9, atol=1e-12)

    def fn(qv, wv):
        out, _ = F.multi_head_attention_forward(
            qv, args[1], args[2], 6, 3, wv, t(b, device), None, None, False, 0.0,
            t(wo, device), t(bo, device), attn_mask=t(mask, device),
        )  # fmt: skip
        return out

    assert tg.autograd.gradcheck(fn, [t(q, device, True), t(w, device, True)])
    with pytest.raises(RuntimeError, match="is_causal"):
        F.multi_head_attention_forward(*args, 6, 3, t(w, device), None, None, None, False, 0.0,
                                       t(wo, device), None, is_causal=True)  # fmt: skip
