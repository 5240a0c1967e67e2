"""Conv1d, GroupNorm, AdaptiveAvgPool2d, TransformerEncoderLayer / TransformerEncoder and
clip_grad_value_: forward vs NumPy references, backward vs float64 finite differences, on every
backend; and vs PyTorch with the same weights (marked `oracle`, skipped without torch)."""

from __future__ import annotations

import doctest
import importlib
import math

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def fresh_rng():
    """The same numbers for a test however many ran before it (-k, -x, reordering)."""
    global RNG
    RNG = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def as_tg(array, device, requires_grad=False):
    t = tg.tensor(array, device=device)
    return t.requires_grad_() if requires_grad else t


# --- NumPy references ----------------------------------------------------------------------
def np_conv1d(x, w, b, stride, padding, dilation, groups):
    """x (N, C, L), w (O, C / groups, k): a direct sum over the kernel taps."""
    n, c, length = x.shape
    o, c_per, k = w.shape
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    out_len = (length + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    o_per = o // groups
    out = np.zeros((n, o, out_len), dtype=np.float64)
    for oc in range(o):
        g = oc // o_per
        for t in range(out_len):
            for j in range(k):
                pos = t * stride + j * dilation
                out[:, oc, t] += padded[:, g * c_per : (g + 1) * c_per, pos] @ w[oc, :, j]
    return out if b is None else out + b.reshape(1, -1, 1)


def np_group_norm(x, groups, w, b, eps):
    n, c = x.shape[:2]
    g = x.reshape(n, groups, -1).astype(np.float64)
    y = (g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + eps)
    y = y.reshape(x.shape)
    view = (1, c) + (1,) * (x.ndim - 2)
    if w is not None:
        y = y * w.reshape(view) + b.reshape(view)
    return y


def np_adaptive_avg_pool2d(x, out_h, out_w):
    h, w = x.shape[-2:]
    out = np.zeros(x.shape[:-2] + (out_h, out_w))
    for i in range(out_h):
        top, bottom = (i * h) // out_h, math.ceil((i + 1) * h / out_h)
        for j in range(out_w):
            left, right = (j * w) // out_w, math.ceil((j + 1) * w / out_w)
            out[..., i, j] = x[..., top:bottom, left:right].mean(axis=(-2, -1))
    return out


# --- Conv1d ----------------------------------------------------------------------------------
# (N, C, L), (O, k), stride, padding, dilation, groups, bias
CONV1D_CASES = [
    ((2, 3, 9), (4, 3), 1, 1, 1, 1, True),
    ((2, 4, 11), (6, 3), 2, 2, 2, 2, True),
    ((1, 2, 5), (3, 5), 1, 0, 1, 1, False),  # kernel as long as the sequence
    ((3, 4, 6), (4, 1), 1, 0, 1, 4, True),  # depthwise, 1-tap
]


@pytest.mark.parametrize("case", CONV1D_CASES, ids=str)
def test_conv1d_forward_matches_numpy(device, case):
    shape, (o, k), stride, padding, dilation, groups, bias = case
    layer = nn.Conv1d(shape[1], o, k, stride, padding, dilation, groups, bias, device=device)
    x = randn(*shape)
    want = np_conv1d(
        x,
        layer.weight.numpy(),
        None if layer.bias is None else layer.bias.numpy(),
        stride,
        padding,
        dilation,
        groups,
    )
    got = layer(as_tg(x, device))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)
    unbatched = layer(as_tg(x[0], device))  # (C, L) -> (O, Lo)
    np.testing.assert_allclose(unbatched.numpy(), want[0], rtol=1e-5, atol=1e-5)


def test_conv1d_same_padding_keeps_the_length(device):
    layer = nn.Conv1d(3, 5, 4, padding="same", dilation=2, device=device)
    assert layer(as_tg(randn(2, 3, 10), device)).shape == (2, 5, 10)


@pytest.mark.parametrize("case", CONV1D_CASES[:2], ids=str)
def test_conv1d_backward_matches_finite_differences(device, case):
    shape, (o, k), stride, padding, dilation, groups, _ = case
    x = as_tg(randn(*shape, dtype=np.float64), device, True)
    w = as_tg(randn(o, shape[1] // groups, k, dtype=np.float64), device, True)
    b = as_tg(randn(o, dtype=np.float64), device, True)

    def fn(x, w, b):
        return F.conv1d(x, w, b, stride, padding, dilation, groups)

    assert tg.autograd.gradcheck(fn, [x, w, b])


# --- GroupNorm -------------------------------------------------------------------------------
# input shape, groups, affine
GROUP_NORM_CASES = [
    ((2, 6, 5, 4), 3, True),
    ((3, 4, 7), 2, True),
    ((2, 6), 2, True),  # no spatial dims: three channels per group
    ((2, 4, 5), 4, True),  # instance-norm-like: one channel per group
    ((2, 4, 3, 3), 1, False),  # layer-norm-like: one group
]


@pytest.mark.parametrize("case", GROUP_NORM_CASES, ids=str)
def test_group_norm_forward_matches_numpy(device, case):
    shape, groups, affine = case
    layer = nn.GroupNorm(groups, shape[1], eps=1e-5, affine=affine, device=device)
    if affine:  # not the ones/zeros init, so that the affine part is checked too
        layer.weight.data.copy_(as_tg(randn(shape[1]), device))
        layer.bias.data.copy_(as_tg(randn(shape[1]), device))
    x = randn(*shape) * 3 + 1
    w = layer.weight.numpy() if affine else None
    b = layer.bias.numpy() if affine else None
    want = np_group_norm(x, groups, w, b, 1e-5)
    np.testing.assert_allclose(layer(as_tg(x, device)).numpy(), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", GROUP_NORM_CASES[:2], ids=str)
def test_group_norm_backward_matches_finite_differences(device, case):
    shape, groups, _ = case
    x = as_tg(randn(*shape, dtype=np.float64), device, True)
    w = as_tg(randn(shape[1], dtype=np.float64), device, True)
    b = as_tg(randn(shape[1], dtype=np.float64), device, True)
    assert tg.autograd.gradcheck(lambda x, w, b: F.group_norm(x, groups, w, b), [x, w, b])


# --- AdaptiveAvgPool2d -----------------------------------------------------------------------
# input shape, output_size, the (oh, ow) it means
POOL_CASES = [
    ((2, 3, 8, 6), (4, 3), (4, 3)),  # bins divide evenly
    ((2, 3, 7, 5), (3, 2), (3, 2)),  # uneven, overlapping bins
    ((1, 2, 5, 5), 1, (1, 1)),  # global average pooling
    ((1, 2, 3, 4), (5, 6), (5, 6)),  # larger than the input: bins repeat pixels
    ((2, 6, 4), (None, 2), (6, 2)),  # unbatched, None keeps the height
]


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_adaptive_avg_pool2d_forward_matches_numpy(device, case):
    shape, size, (oh, ow) = case
    x = randn(*shape)
    got = nn.AdaptiveAvgPool2d(size)(as_tg(x, device))
    np.testing.assert_allclose(got.numpy(), np_adaptive_avg_pool2d(x, oh, ow), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", POOL_CASES[1:4], ids=str)
def test_adaptive_avg_pool2d_backward_matches_finite_differences(device, case):
    shape, size, _ = case
    x = as_tg(randn(*shape, dtype=np.float64), device, True)
    assert tg.autograd.gradcheck(lambda x: F.adaptive_avg_pool2d(x, size), [x])


# --- TransformerEncoderLayer -----------------------------------------------------------------
def np_layer_norm(x, w, b, eps=1e-5):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps) * w + b


def np_self_attention(x, p, nhead, additive_mask):
    """x (B, T, E); p the layer's parameters as arrays; mask (B, 1 | nh, T, T) or None."""
    batch, length, e = x.shape
    hs = e // nhead
    qkv = x @ p["self_attn.in_proj_weight"].T + p["self_attn.in_proj_bias"]
    q, k, v = (
        part.reshape(batch, length, nhead, hs).transpose(0, 2, 1, 3)
        for part in np.split(qkv, 3, axis=-1)
    )
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hs)
    if additive_mask is not None:
        scores = scores + additive_mask
    scores = scores - scores.max(-1, keepdims=True)
    weights = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    out = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, length, e)
    return out @ p["self_attn.out_proj.weight"].T + p["self_attn.out_proj.bias"]


def np_encoder_layer(x, p, nhead, norm_first, activation, additive_mask=None):
    def sa(h):
        return np_self_attention(h, p, nhead, additive_mask)

    def ff(h):
        hidden = activation(h @ p["linear1.weight"].T + p["linear1.bias"])
        return hidden @ p["linear2.weight"].T + p["linear2.bias"]

    def norm(i, h):
        return np_layer_norm(h, p[f"norm{i}.weight"], p[f"norm{i}.bias"])

    if norm_first:
        x = x + sa(norm(1, x))
        return x + ff(norm(2, x))
    x = norm(1, x + sa(x))
    return norm(2, x + ff(x))


def np_relu(x):
    return np.maximum(x, 0.0)


def np_gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def randomize(module, device, dtype=np.float32):
    """Random values in every parameter (the default init zeroes biases, which hides bugs)."""
    for p in module.parameters():
        p.data.copy_(as_tg(randn(*p.shape, dtype=dtype) * 0.5, device))
    return {name: p.numpy().astype(np.float64) for name, p in module.named_parameters()}


def causal_additive(length):
    return np.triu(np.full((length, length), -np.inf), k=1)


# norm_first, activation, batch_first, masking
ENCODER_CASES = [
    (False, "relu", True, None),
    (True, "gelu", True, "causal"),
    (False, "gelu", False, "padding"),
    (True, "relu", False, "float mask"),
]


@pytest.mark.parametrize("case", ENCODER_CASES, ids=str)
def test_encoder_layer_forward_matches_numpy(device, case):
    norm_first, activation, batch_first, masking = case
    batch, length, e, nhead = 2, 5, 8, 2
    layer = nn.TransformerEncoderLayer(
        e, nhead, 12, 0.0, activation, batch_first=batch_first, norm_first=norm_first
    ).to(device)
    p = randomize(layer, device)
    x = randn(batch, length, e)  # (B, T, E)
    kwargs, mask = encoder_masks(masking, batch, length, device)
    want = np_encoder_layer(
        x.astype(np.float64),
        p,
        nhead,
        norm_first,
        {"relu": np_relu, "gelu": np_gelu}[activation],
        mask,
    )
    src = x if batch_first else x.transpose(1, 0, 2)
    got = layer(as_tg(src, device), **kwargs).numpy()
    got = got if batch_first else got.transpose(1, 0, 2)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def encoder_masks(masking, batch, length, device):
    """(the layer's keyword arguments, the same masking as an additive (B|1, 1, T, T) array)."""
    if masking is None:
        return {}, None
    if masking == "causal":
        future = as_tg(np.triu(np.ones((length, length), dtype=bool), k=1), device)
        return {"src_mask": future, "is_causal": True}, causal_additive(length)
    if masking == "padding":
        pad = np.zeros((batch, length), dtype=bool)
        pad[0, -2:] = True  # the last two tokens of sample 0 are padding
        additive = np.where(pad, -np.inf, 0.0).reshape(batch, 1, 1, length)
        return {"src_key_padding_mask": as_tg(pad, device)}, additive
    floats = randn(length, length)
    return {"src_mask": as_tg(floats, device)}, floats.astype(np.float64)


def test_encoder_is_causal_alone_hides_the_future(device):
    layer = nn.TransformerEncoderLayer(8, 2, 12, 0.0, batch_first=True).to(device)
    randomize(layer, device)
    x = as_tg(randn(2, 4, 8), device)
    with_flag = layer(x, is_causal=True).numpy()
    future = as_tg(np.triu(np.ones((4, 4), dtype=bool), k=1), device)
    np.testing.assert_allclose(with_flag, layer(x, src_mask=future).numpy(), atol=1e-6)
    changed = x.numpy().copy()
    changed[:, -1] += 10.0  # the last token cannot change what earlier tokens see
    later = layer(as_tg(changed, device), is_causal=True).numpy()
    np.testing.assert_allclose(later[:, :-1], with_flag[:, :-1], atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_backward_matches_finite_differences(device, norm_first):
    layer = nn.TransformerEncoderLayer(
        4, 2, 6, 0.0, "gelu", batch_first=True, norm_first=norm_first, dtype=tg.float64
    ).to(device)
    randomize(layer, device, np.float64)
    x = as_tg(randn(2, 3, 4, dtype=np.float64), device, True)
    assert tg.autograd.gradcheck(lambda x: layer(x), [x])
    probe = as_tg(randn(2, 3, 4, dtype=np.float64), device)

    def loss() -> float:
        return (layer(x) * probe).sum().item()

    layer.zero_grad()
    (layer(x) * probe).sum().backward()
    eps = 1e-6
    for name, param in layer.named_parameters():
        values = param.numpy().copy()
        for flat in RNG.choice(values.size, size=min(3, values.size), replace=False):
            index = np.unravel_index(flat, values.shape)
            sides = []
            for step in (eps, -eps):
                moved = values.copy()
                moved[index] += step
                param.data.copy_(as_tg(moved, device))
                sides.append(loss())
            param.data.copy_(as_tg(values, device))
            numeric = (sides[0] - sides[1]) / (2 * eps)
            analytic = param.grad.numpy()[index]
            assert abs(numeric - analytic) <= 1e-5 + 1e-4 * abs(numeric), (name, index)


def test_encoder_stacks_deep_copies_and_a_final_norm(device):
    layer = nn.TransformerEncoderLayer(8, 2, 12, 0.0, batch_first=True)
    encoder = nn.TransformerEncoder(layer, 3, norm=nn.LayerNorm(8)).to(device)
    params = dict(encoder.named_parameters())
    assert "layers.2.self_attn.in_proj_weight" in params and "norm.weight" in params
    assert params["layers.0.linear1.weight"] is not params["layers.1.linear1.weight"]
    x = as_tg(randn(2, 5, 8), device)
    h = x
    for sub in encoder.layers:
        h = sub(h)
    np.testing.assert_allclose(encoder(x).numpy(), encoder.norm(h).numpy(), atol=1e-6)


# --- errors ---------------------------------------------------------------------------------
BAD_INPUTS = [
    # name, the call, the error it raises
    ("conv1d channels", lambda: nn.Conv1d(3, 4, 3)(tg.randn(2, 5, 8)), tg.ShapeError),
    ("conv1d 4-d input", lambda: nn.Conv1d(3, 4, 3)(tg.randn(2, 3, 4, 4)), tg.ShapeError),
    ("conv1d groups", lambda: nn.Conv1d(3, 4, 3, groups=2), ValueError),
    (
        "conv1d padding_mode",
        lambda: nn.Conv1d(3, 4, 3, padding_mode="reflect"),
        NotImplementedError,
    ),
    ("conv1d kernel 0", lambda: nn.Conv1d(3, 4, 0), ValueError),
    ("group_norm groups", lambda: nn.GroupNorm(4, 6), ValueError),
    ("group_norm channels", lambda: nn.GroupNorm(2, 6)(tg.randn(2, 4, 3)), tg.ShapeError),
    ("adaptive 2-d input", lambda: nn.AdaptiveAvgPool2d(2)(tg.randn(4, 4)), tg.ShapeError),
    ("adaptive size 0", lambda: nn.AdaptiveAvgPool2d(0)(tg.randn(1, 1, 4, 4)), ValueError),
    ("encoder d_model", lambda: nn.TransformerEncoderLayer(8, 2)(tg.randn(3, 2, 6)), tg.ShapeError),
    ("encoder nhead", lambda: nn.TransformerEncoderLayer(8, 3), ValueError),
    ("encoder activation", lambda: nn.TransformerEncoderLayer(8, 2, activation="elu"), ValueError),
    (
        "encoder num_layers",
        lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), 0),
        ValueError,
    ),
    ("clip negative", lambda: nn.utils.clip_grad_value_([], -1.0), ValueError),
]


@pytest.mark.parametrize("name, call, error", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_arguments_raise_typed_errors(name, call, error):
    with pytest.raises(error):
        call()


# --- clip_grad_value_ ------------------------------------------------------------------------
def test_clip_grad_value_clamps_every_gradient_in_place(device):
    grads = [randn(3, 4) * 3, randn(5) * 3]
    params = [as_tg(np.zeros_like(g), device, True) for g in grads]
    for p, g in zip(params, grads):
        (p * as_tg(g, device)).sum().backward()
    skipped = as_tg(np.zeros(2, dtype=np.float32), device, True)  # no grad: left alone
    before = [p.grad for p in params]
    nn.utils.clip_grad_value_([*params, skipped], 1.5)
    for p, g, same in zip(params, grads, before):
        assert p.grad is same  # in place, as PyTorch
        np.testing.assert_array_equal(p.grad.numpy(), np.clip(g, -1.5, 1.5))
    assert skipped.grad is None


# --- docstring examples ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "tinygpt.nn.functional.conv1d",
        "tinygpt.nn.functional.group_norm",
        "tinygpt.nn.functional.adaptive_pool",
        "tinygpt.nn.layers.conv1d",
        "tinygpt.nn.layers.group_norm",
        "tinygpt.nn.layers.adaptive_pool",
        "tinygpt.nn.layers.transformer_encoder",
        "tinygpt.nn.utils",
    ],
)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


# --- PyTorch with the same weights (oracle) --------------------------------------------------
def load_torch_weights(ours, theirs, device):
    state = {k: as_tg(v.detach().numpy(), device) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)  # strict: every name must exist on both sides


def compare_with_torch(ours, theirs, x, device, extra=None, theirs_extra=None, atol=1e-5):
    """Forward output, input gradient and every parameter gradient, for the same probe."""
    torch = pytest.importorskip("torch")
    probe = randn(*theirs(torch.tensor(x), **(theirs_extra or {})).shape)
    t_x = torch.tensor(x, requires_grad=True)
    t_out = theirs(t_x, **(theirs_extra or {}))
    (t_out * torch.tensor(probe)).sum().backward()
    g_x = as_tg(x, device, True)
    g_out = ours(g_x, **(extra or {}))
    (g_out * as_tg(probe, device)).sum().backward()
    np.testing.assert_allclose(g_out.numpy(), t_out.detach().numpy(), rtol=1e-4, atol=atol)
    np.testing.assert_allclose(g_x.grad.numpy(), t_x.grad.numpy(), rtol=1e-4, atol=atol)
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        want = t_params[name].grad.numpy()
        np.testing.assert_allclose(p.grad.numpy(), want, rtol=1e-4, atol=atol, err_msg=name)


@pytest.mark.oracle
@pytest.mark.parametrize("case", CONV1D_CASES, ids=str)
def test_conv1d_matches_torch(device, case):
    torch = pytest.importorskip("torch")
    shape, (o, k), stride, padding, dilation, groups, bias = case
    args = (shape[1], o, k, stride, padding, dilation, groups, bias)
    theirs = torch.nn.Conv1d(*args)
    ours = nn.Conv1d(*args, device=device)
    load_torch_weights(ours, theirs, device)
    compare_with_torch(ours, theirs, randn(*shape), device)


@pytest.mark.oracle
@pytest.mark.parametrize("case", GROUP_NORM_CASES, ids=str)
def test_group_norm_matches_torch(device, case):
    torch = pytest.importorskip("torch")
    shape, groups, affine = case
    theirs = torch.nn.GroupNorm(groups, shape[1], affine=affine)
    if affine:
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(randn(shape[1])))
            theirs.bias.copy_(torch.tensor(randn(shape[1])))
    ours = nn.GroupNorm(groups, shape[1], affine=affine, device=device)
    load_torch_weights(ours, theirs, device)
    compare_with_torch(ours, theirs, randn(*shape) * 2 + 1, device)


@pytest.mark.oracle
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_adaptive_avg_pool2d_matches_torch(device, case):
    torch = pytest.importorskip("torch")
    shape, size, _ = case
    theirs = torch.nn.AdaptiveAvgPool2d(size)
    compare_with_torch(nn.AdaptiveAvgPool2d(size), theirs, randn(*shape), device)


@pytest.mark.oracle
@pytest.mark.parametrize("case", ENCODER_CASES, ids=str)
def test_encoder_layer_matches_torch(device, case):
    torch = pytest.importorskip("torch")
    norm_first, activation, batch_first, masking = case
    batch, length, e, nhead = 2, 5, 8, 2
    args = (e, nhead, 12, 0.0, activation)
    options = {"batch_first": batch_first, "norm_first": norm_first}
    theirs = torch.nn.TransformerEncoderLayer(*args, **options)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(randn(*p.shape) * 0.5))
    ours = nn.TransformerEncoderLayer(*args, **options).to(device)
    load_torch_weights(ours, theirs, device)
    kwargs, _ = encoder_masks(masking, batch, length, device)
    theirs_kwargs = {
        k: (torch.tensor(v.numpy()) if isinstance(v, tg.Tensor) else v) for k, v in kwargs.items()
    }
    x = randn(batch, length, e) if batch_first else randn(length, batch, e)
    compare_with_torch(ours, theirs, x, device, kwargs, theirs_kwargs)


@pytest.mark.oracle
def test_encoder_stack_matches_torch_key_by_key(device):
    torch = pytest.importorskip("torch")
    layer = torch.nn.TransformerEncoderLayer(8, 2, 16, 0.0, "gelu", batch_first=True)
    theirs = torch.nn.TransformerEncoder(
        layer, 2, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False
    )
    ours_layer = nn.TransformerEncoderLayer(8, 2, 16, 0.0, "gelu", batch_first=True)
    ours = nn.TransformerEncoder(ours_layer, 2, norm=nn.LayerNorm(8)).to(device)
    assert sorted(dict(ours.named_parameters())) == sorted(dict(theirs.named_parameters()))
    load_torch_weights(ours, theirs, device)
    pad = np.zeros((2, 6), dtype=bool)
    pad[1, -3:] = True
    extra = {"src_key_padding_mask": as_tg(pad, device)}
    theirs_extra = {"src_key_padding_mask": torch.tensor(pad)}
    compare_with_torch(ours, theirs, randn(2, 6, 8), device, extra, theirs_extra)


@pytest.mark.oracle
def test_clip_grad_value_matches_torch(device):
    torch = pytest.importorskip("torch")
    grads = [randn(4, 3) * 2, randn(6) * 2]
    ours = [as_tg(np.zeros_like(g), device, True) for g in grads]
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for o, t, g in zip(ours, theirs, grads):
        (o * as_tg(g, device)).sum().backward()
        (t * torch.tensor(g)).sum().backward()
    nn.utils.clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.grad.numpy(), t.grad.numpy())
