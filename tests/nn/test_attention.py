"""scaled_dot_product_attention, MultiheadAttention and TransformerBlock: NumPy reference,
PyTorch with the same state dict, float64 finite differences, masks, and errors."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn

RNG = np.random.default_rng(0)


def np_attention(q, k, v, mask=None, causal=False, scale=None):
    """softmax(q k^T * scale + mask) v; a bool mask is True where attending is allowed."""
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        scores = np.where(np.tril(np.ones(scores.shape[-2:], dtype=bool)), scores, -np.inf)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf) if mask.dtype == bool else scores + mask
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    return (weights / weights.sum(-1, keepdims=True)) @ v


def allowed(*shape):
    mask = RNG.random(shape) > 0.3
    mask[..., 0] = True  # every query sees at least one key
    return mask


# q shape, k shape, v shape, options
SDPA_CASES = [
    ((2, 3, 5, 4), (2, 3, 5, 4), (2, 3, 5, 4), {}),
    ((2, 3, 5, 4), (2, 3, 5, 4), (2, 3, 5, 4), {"is_causal": True}),
    ((2, 3, 4, 4), (2, 3, 6, 4), (2, 3, 6, 4), {"is_causal": True}),  # top-left, as PyTorch
    ((3, 5, 4), (3, 6, 4), (3, 6, 7), {"scale": 0.3}),  # 3-D, Ev != E
    ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), {"attn_mask": allowed(5, 6)}),
    ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), {"attn_mask": RNG.standard_normal((1, 3, 5, 6))}),
]


def as_tensor(value, device, dtype=np.float32):
    if isinstance(value, np.ndarray):
        return tg.tensor(value if value.dtype == bool else value.astype(dtype), device=device)
    return value


@pytest.mark.parametrize("case", SDPA_CASES, ids=range(len(SDPA_CASES)))
def test_sdpa_matches_numpy(device, case):
    q_shape, k_shape, v_shape, options = case
    q, k, v = (RNG.standard_normal(s).astype(np.float32) for s in (q_shape, k_shape, v_shape))
    kwargs = {name: as_tensor(value, device) for name, value in options.items()}
    got = F.scaled_dot_product_attention(
        *(tg.tensor(a, device=device) for a in (q, k, v)), **kwargs
    )
    want = np_attention(
        q, k, v, options.get("attn_mask"), options.get("is_causal", False), options.get("scale")
    )
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", SDPA_CASES, ids=range(len(SDPA_CASES)))
def test_sdpa_gradients_match_finite_differences(device, case):
    q_shape, k_shape, v_shape, options = case
    shrink = lambda s: s[:-3] + (1,) + s[-2:] if len(s) == 4 else (1,) + s[1:]  # noqa: E731
    inputs = [
        tg.randn(*shrink(s), dtype=tg.float64, device=device, requires_grad=True)
        for s in (q_shape, k_shape, v_shape)
    ]
    kwargs = {name: as_tensor(value, device, np.float64) for name, value in options.items()}
    assert tg.autograd.gradcheck(lambda *t: F.scaled_dot_product_attention(*t, **kwargs), inputs)


def test_sdpa_fused_and_composite_paths_agree(device):
    q, k, v = (tg.randn(2, 2, 6, 4, device=device, requires_grad=True) for _ in range(3))
    fused = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    rows = tg.arange(6, device=device).reshape(6, 1)
    causal_mask = tg.arange(6, device=device).reshape(1, 6) <= rows
    composite = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask)
    np.testing.assert_allclose(fused.numpy(), composite.numpy(), rtol=1e-5, atol=1e-6)
    fused.sum().backward()
    grads = [t.grad.numpy() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    composite.sum().backward()
    for want, t in zip(grads, (q, k, v), strict=True):
        np.testing.assert_allclose(t.grad.numpy(), want, rtol=1e-4, atol=1e-5)


def test_sdpa_dropout(device):
    q, k, v = (tg.randn(1, 1, 4, 3, device=device) for _ in range(3))
    assert F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy().max() == 0.0
    tg.manual_seed(0)
    dropped = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert not np.allclose(dropped.numpy(), F.scaled_dot_product_attention(q, k, v).numpy())


def test_sdpa_errors(device):
    q = tg.randn(2, 5, 4, device=device)
    with pytest.raises(tg.ShapeError, match=r"query \(2, 5, 4\), key \(2, 5, 3\)"):
        F.scaled_dot_product_attention(q, tg.randn(2, 5, 3, device=device), q)
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, q, q, tg.ones(5, 5, dtype=tg.bool), is_causal=True)
    with pytest.raises(tg.DTypeError, match="floating"):
        F.scaled_dot_product_attention(q, q, q.to(tg.float64))


# --- MultiheadAttention against PyTorch --------------------------------------------------
E, NH = 8, 2

MHA_CASES = [
    {"batch_first": True, "self": True},
    {"batch_first": False, "self": True, "is_causal": True},
    {"batch_first": True, "self": False, "key_padding_mask": True},
    {"batch_first": True, "self": True, "key_padding_mask": True, "is_causal": True},
    {"batch_first": False, "self": False, "need_weights": True},
    {"batch_first": True, "self": True, "need_weights": True, "average": False, "is_causal": True},
    {"batch_first": True, "self": False, "attn_mask": "bool"},
    {"batch_first": True, "self": False, "attn_mask": "float", "need_weights": True},
    {"batch_first": True, "self": True, "bias": False},
    {"batch_first": True, "self": False, "unbatched": True, "key_padding_mask": True},
]


@pytest.mark.oracle
@pytest.mark.parametrize("case", MHA_CASES, ids=range(len(MHA_CASES)))
def test_multihead_attention_matches_pytorch(device, case):
    torch = pytest.importorskip("torch")
    batch_first, bias = case["batch_first"], case.get("bias", True)
    theirs = torch.nn.MultiheadAttention(E, NH, bias=bias, batch_first=batch_first)
    ours = nn.MultiheadAttention(E, NH, bias=bias, batch_first=batch_first, device=device)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    length, source, batch = 5, 5 if case["self"] else 6, 3
    if case.get("unbatched"):
        q_shape, k_shape = (length, E), (source, E)
    elif batch_first:
        q_shape, k_shape = (batch, length, E), (batch, source, E)
    else:
        q_shape, k_shape = (length, batch, E), (source, batch, E)
    arrays = [RNG.standard_normal(s).astype(np.float32) for s in (q_shape, k_shape, k_shape)]
    t_kw, g_kw = {}, {}
    if case.get("key_padding_mask"):
        pad = ~allowed(source) if case.get("unbatched") else ~allowed(batch, source)
        t_kw["key_padding_mask"], g_kw["key_padding_mask"] = (
            torch.tensor(pad),
            tg.tensor(pad, device=device),
        )
    if case.get("attn_mask") == "bool":
        blocked = ~allowed(length, source)
        t_kw["attn_mask"], g_kw["attn_mask"] = (
            torch.tensor(blocked),
            tg.tensor(blocked, device=device),
        )
    if case.get("attn_mask") == "float":
        added = RNG.standard_normal((batch * NH, length, source)).astype(np.float32)
        t_kw["attn_mask"], g_kw["attn_mask"] = torch.tensor(added), tg.tensor(added, device=device)
    if case.get("is_causal"):
        # PyTorch needs the mask itself and takes is_causal as a hint; ours builds it
        t_kw["attn_mask"] = torch.nn.Transformer.generate_square_subsequent_mask(length)
        t_kw["is_causal"] = g_kw["is_causal"] = True
        if "key_padding_mask" in t_kw:  # PyTorch wants both masks of one type: float
            pad = t_kw["key_padding_mask"]
            t_kw["key_padding_mask"] = torch.zeros(pad.shape).masked_fill(pad, float("-inf"))
    for options in (t_kw, g_kw):
        options["need_weights"] = case.get("need_weights", False)
        options["average_attn_weights"] = case.get("average", True)
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    g_in = [tg.tensor(a, device=device, requires_grad=True) for a in arrays]
    if case["self"]:
        t_in, g_in = [t_in[0]] * 3, [g_in[0]] * 3
    t_out, t_weights = theirs(*t_in, **t_kw)
    g_out, g_weights = ours(*g_in, **g_kw)
    np.testing.assert_allclose(g_out.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-5)
    if case.get("need_weights"):
        np.testing.assert_allclose(g_weights.numpy(), t_weights.detach().numpy(), atol=1e-6)
    else:
        assert g_weights is None
    probe = RNG.standard_normal(t_out.shape).astype(np.float32)
    (t_out * torch.tensor(probe)).sum().backward()
    (g_out * tg.tensor(probe, device=device)).sum().backward()
    np.testing.assert_allclose(g_in[0].grad.numpy(), t_in[0].grad.numpy(), atol=1e-5)
    for name, param in ours.named_parameters():
        want = theirs.get_parameter(name).grad.numpy()
        np.testing.assert_allclose(param.grad.numpy(), want, rtol=1e-4, atol=1e-5)


def test_multihead_attention_gradients_match_finite_differences(device):
    mha = nn.MultiheadAttention(4, 2, batch_first=True).to(device).double()
    x = tg.randn(1, 3, 4, dtype=tg.float64, device=device, requires_grad=True)
    memory = tg.randn(1, 4, 4, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda a: mha(a, a, a, is_causal=True)[0], [x])
    assert tg.autograd.gradcheck(lambda a, m: mha(a, m, m)[0], [x, memory])


def test_multihead_attention_errors(device):
    mha = nn.MultiheadAttention(8, 2, device=device)
    x = tg.randn(5, 3, 6, device=device)
    with pytest.raises(tg.ShapeError, match=r"MultiheadAttention\(embed_dim=8.*\(5, 3, 6\)"):
        mha(x, x, x)
    with pytest.raises(ValueError, match="divisible by num_heads=3"):
        nn.MultiheadAttention(8, 3)


# --- TransformerBlock -------------------------------------------------------------------
def test_transformer_block_is_causal_and_keeps_shapes(device):
    tg.manual_seed(0)
    block = nn.TransformerBlock(n_embd=16, n_head=4).to(device)
    x = tg.randn(2, 6, 16, device=device)
    out = block(x)
    assert out.shape == (2, 6, 16)
    changed = x.numpy()
    changed[:, -1] += 1.0  # only the last token changes: earlier outputs must not
    again = block(tg.tensor(changed, device=device)).numpy()
    np.testing.assert_allclose(again[:, :-1], out.numpy()[:, :-1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(again[:, -1], out.numpy()[:, -1])
    names = {name for name, _ in block.named_parameters()}
    assert {"ln_1.weight", "attn.in_proj_weight", "mlp.c_fc.weight", "mlp.c_proj.bias"} <= names


@pytest.mark.oracle
def test_transformer_block_matches_pytorch_pre_ln_block(device):
    torch = pytest.importorskip("torch")

    class TorchBlock(torch.nn.Module):  # the same maths, written with torch modules
        def __init__(self) -> None:
            super().__init__()
            self.ln_1 = torch.nn.LayerNorm(16)
            self.attn = torch.nn.MultiheadAttention(16, 4, batch_first=True)
            self.ln_2 = torch.nn.LayerNorm(16)
            self.mlp = torch.nn.Module()
            self.mlp.c_fc = torch.nn.Linear(16, 64)
            self.mlp.c_proj = torch.nn.Linear(64, 16)

        def forward(self, x):
            h = self.ln_1(x)
            mask = torch.nn.Transformer.generate_square_subsequent_mask(x.shape[1])
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
            gelu = torch.nn.functional.gelu(self.mlp.c_fc(self.ln_2(x)))
            return x + self.mlp.c_proj(gelu)

    theirs = TorchBlock()
    ours = nn.TransformerBlock(16, 4, device=device)
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal((2, 7, 16)).astype(np.float32)
    want = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(tg.tensor(x, device=device)).numpy(), want, atol=1e-5)


def test_transformer_block_gradients_match_finite_differences(device):
    block = nn.TransformerBlock(4, 2).to(device).double()
    x = tg.randn(1, 3, 4, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(block, [x])
    with pytest.raises(tg.ShapeError, match=r"TransformerBlock\(n_embd=4\).*\(3, 4\)"):
        block(tg.randn(3, 4, dtype=tg.float64, device=device))


def test_sdpa_query_with_every_key_masked_gets_zeros(device):
    """PyTorch's scaled_dot_product_attention: a fully masked row attends to nothing (0),
    where a plain softmax would give nan; its gradients are 0 too."""
    rng = np.random.default_rng(5)
    q = tg.tensor(
        rng.standard_normal((1, 2, 3, 4)).astype(np.float32), device=device, requires_grad=True
    )
    k = tg.tensor(
        rng.standard_normal((1, 2, 2, 4)).astype(np.float32), device=device, requires_grad=True
    )
    mask = tg.tensor([[False, False], [True, False], [True, True]], device=device)
    out = F.scaled_dot_product_attention(q, k, k, attn_mask=mask)
    assert np.all(out.detach().numpy()[:, :, 0] == 0.0)
    assert np.all(np.isfinite(out.detach().numpy()))
    out.sum().backward()
    assert np.all(q.grad.numpy()[:, :, 0] == 0.0) and np.all(np.isfinite(k.grad.numpy()))
    # the rows that see keys are the plain softmax attention
    want = np_attention(q.detach().numpy(), k.detach().numpy(), k.detach().numpy(), mask.numpy())
    np.testing.assert_allclose(out.detach().numpy()[:, :, 1:], want[:, :, 1:], rtol=1e-5, atol=1e-6)
