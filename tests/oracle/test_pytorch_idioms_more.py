"""More everyday PyTorch code run as written with `tinygpt` (issue 14): utilities, errors that
PyTorch code catches, hand-written training loops, Llama-style snippets and device checks.

The harness is conftest.py.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest
from idiom_harness import IDIOM_DEVICES, Shape, idiom, linear, params, ramp

pytestmark = pytest.mark.oracle


# ------------------------------------------------------------------ utilities
@idiom
def closeness(torch, nn, F, optim):
    a = torch.tensor([1.0, 2.0])
    return [
        torch.allclose(a, a + 1e-9),
        torch.allclose(a, a + 1),
        torch.isclose(a, a + 1e-3, atol=1e-2),
        a.allclose(a),
        torch.isnan(torch.tensor([float("nan"), 1.0])),
        torch.isinf(a / 0),
    ]


@idiom
def to_python(torch, nn, F, optim):
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    n = x.numpy()
    return [
        x.tolist(),
        x.sum().item(),
        float(x[0, 0]),
        int(x[1, 1]),
        bool(x[0, 0] > 0),
        n.shape,
        str(n.dtype),
        torch.tensor(7).item(),
        x[0].tolist(),
        x.max().item(),
    ]


@idiom
def sort_topk_multinomial(torch, nn, F, optim):
    x = torch.tensor(
        [[0.1, 0.5, 0.2, 0.9], [0.3, 0.35, 0.7, 0.0]]
    )  # no ties: their order is unspecified
    v, i = torch.topk(x, 2)
    s = torch.sort(x, dim=-1, descending=True)
    torch.manual_seed(0)
    draws = torch.multinomial(x.softmax(-1), num_samples=1)
    return [v, i, s.values, s.indices, Shape(draws), x.argsort(dim=-1), x.topk(1, dim=0).values]


@idiom
def tril_triu(torch, nn, F, optim):
    T = 4
    return [
        torch.tril(torch.ones(T, T)),
        torch.ones(T, T).triu(diagonal=1),
        torch.tril(torch.ones(T, T)).view(1, 1, T, T).shape,
        torch.triu(torch.ones(3, 3), -1),
    ]


@idiom
def clone_detach(torch, nn, F, optim):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    d = x.detach().clone()
    d[0] = 5.0
    return [c, d, x, c.requires_grad, d.requires_grad, c.is_leaf, x.detach().requires_grad]


@idiom
def device_and_to(torch, nn, F, optim):
    x = torch.ones(2)
    return [
        x.to(x.device),
        x.to(torch.float64),
        x.to(x),
        x.device == x.to(x.device).device,
        x.cpu(),
        x.float().dtype,
    ]


@idiom
def gather_scatter(torch, nn, F, optim):
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    idx = torch.tensor([[2], [0]])
    return [
        x.gather(1, idx),
        torch.gather(x, 1, idx),
        torch.zeros(2, 3).scatter(1, idx, 1.0),
        F.one_hot(torch.tensor([0, 2]), num_classes=3),
        x.index_select(1, torch.tensor([0, 2])),
    ]


# ------------------------------------------------------------------ errors
@idiom(raises=IndexError)
def index_out_of_range(torch, nn, F, optim):
    return torch.zeros(3)[5]


@idiom(raises=RuntimeError)
def view_of_transposed(torch, nn, F, optim):
    return torch.zeros(2, 3).T.view(6)


@idiom(raises=RuntimeError)
def cat_shape_mismatch(torch, nn, F, optim):
    return torch.cat([torch.zeros(2, 3), torch.zeros(2, 4)])


@idiom(raises=RuntimeError)
def broadcast_mismatch(torch, nn, F, optim):
    return torch.zeros(2, 3) + torch.zeros(4)


@idiom(raises=ValueError)
def item_of_many(torch, nn, F, optim):
    try:
        torch.zeros(2).item()
    except RuntimeError as exc:
        raise ValueError("item() of a 2-element tensor") from exc  # torch and tinygpt agree


# ------------------------------------------------------- hand-written loops
@idiom
def manual_sgd_under_no_grad(torch, nn, F, optim):
    w = ramp(torch, 3, 2).requires_grad_()
    x = ramp(torch, 4, 3)
    for _ in range(3):
        loss = ((x @ w) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.5 * w.grad
            w.grad.zero_()
    return [w, loss, w.is_leaf, w.requires_grad]


@idiom
def micrograd_style_data_update(torch, nn, F, optim):
    model = linear(torch, nn, 3, 1)
    x = ramp(torch, 4, 3)
    for _ in range(2):
        for p in model.parameters():
            p.grad = None
        loss = model(x).pow(2).sum()
        loss.backward()
        for p in model.parameters():
            p.data += -0.1 * p.grad
    model.weight.data.normal_(0.0, 0.02)
    model.bias.data.zero_()
    model.weight.grad.data.zero_()
    return [model.bias, Shape(model.weight), model.weight.grad, loss]


@idiom
def accuracy_and_metrics(torch, nn, F, optim):
    logits = ramp(torch, 6, 3) * torch.tensor([1.0, -2.0, 3.0])
    y = torch.tensor([2, 0, 2, 1, 2, 2])
    pred = logits.argmax(1)
    correct = (pred == y).sum().item()
    return [
        pred,
        correct,
        correct / len(y),
        (pred == y).float().mean().item(),
        torch.sum(pred == y).item(),
        f"acc {100.0 * correct / len(y):.1f}%",
    ]


@idiom
def sequential_from_ordered_dict(torch, nn, F, optim):
    model = nn.Sequential(OrderedDict([("fc", linear(torch, nn, 3, 2)), ("act", nn.Tanh())]))
    model.add_module("out", linear(torch, nn, 2, 1))
    model.register_parameter("scale", nn.Parameter(torch.ones(1)))
    return [
        model(ramp(torch, 2, 3)),
        [n for n, _ in model.named_parameters()],
        model.fc.out_features,
    ]


@idiom
def save_load_state_dict_file(torch, nn, F, optim, tmp):
    model = linear(torch, nn, 3, 2)
    torch.save(model.state_dict(), str(tmp / "model.pt"))
    fresh = nn.Linear(3, 2)
    fresh.load_state_dict(torch.load(str(tmp / "model.pt"), weights_only=True))
    return [fresh.weight, fresh.bias]


@idiom
def embedding_padding_idx(torch, nn, F, optim):
    emb = nn.Embedding(4, 2, padding_idx=0)
    out = emb(torch.tensor([0, 1, 0]))
    out.sum().backward()
    return [out[0], out[2], emb.weight[0], emb.weight.grad[0], emb.weight.grad[1]]


@idiom
def cross_entropy_class_dim(torch, nn, F, optim):
    logits = ramp(torch, 2, 5, 3)  # (N, C, d1): classes on dim 1
    targets = torch.tensor([[1, 4, 0], [2, 2, 3]])
    return F.cross_entropy(logits, targets)


# -------------------------------------------------------- Llama-style code
@idiom
def rms_norm_and_swiglu(torch, nn, F, optim):
    x = ramp(torch, 2, 4) * 3
    normed = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
    w1, w3 = linear(torch, nn, 4, 6, bias=False), linear(torch, nn, 4, 6, bias=False)
    return [normed, F.silu(w1(x)) * w3(x), nn.RMSNorm(4, eps=1e-6)(x)]


@idiom
def rotary_embedding(torch, nn, F, optim):
    T, hs = 3, 4
    inv_freq = 1.0 / (10000 ** (torch.arange(0, hs, 2).float() / hs))
    t = torch.arange(T).float()
    freqs = torch.outer(t, inv_freq)  # (T, hs/2)
    cos, sin = freqs.cos(), freqs.sin()
    x = ramp(torch, 1, T, hs)
    x1, x2 = x[..., ::2], x[..., 1::2]
    rotated = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
    return [rotated, freqs]


@idiom
def grouped_query_repeat(torch, nn, F, optim):
    kv = ramp(torch, 1, 2, 3, 4)  # (B, n_kv_heads, T, hs)
    n_rep = 2
    expanded = kv[:, :, None, :, :].expand(1, 2, n_rep, 3, 4).reshape(1, 4, 3, 4)
    return [
        kv.repeat_interleave(n_rep, dim=1),
        expanded,
        torch.repeat_interleave(kv, 2, dim=2).shape,
    ]


# ------------------------------------------------------------ device checks
@idiom
def device_selection(torch, nn, F, optim):
    device = "cuda" if torch.cuda.is_available() else None
    x = torch.ones(2, device=device) if device else torch.ones(2)
    return [
        torch.cuda.is_available(),
        torch.cuda.device_count(),
        x,
        x.device == torch.ones(1).device,
    ]


@idiom
def get_default_dtype(torch, nn, F, optim):
    return [torch.get_default_dtype(), torch.zeros(1).dtype == torch.get_default_dtype()]


@idiom
def default_dtype(torch, nn, F, optim):
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        made = [torch.zeros(1).dtype, torch.tensor([1.5]).dtype, torch.arange(3.0).dtype]
        made += [torch.randn(2).dtype, (torch.arange(3) * 0.5).dtype, (torch.arange(3) / 2).dtype]
        made += [torch.arange(3).exp().dtype, torch.full((1,), 2.5).dtype, torch.rand(1).dtype]
        made += [nn.Linear(2, 2).weight.dtype, torch.ones(2).float().dtype]
        layer = nn.Linear(2, 1)
        with torch.no_grad():
            layer.weight.fill_(0.25)
            layer.bias.fill_(0.5)
        out = layer(torch.tensor([[1.0, 1e-9]]))  # float64 keeps the 1e-9
    finally:
        torch.set_default_dtype(before)
    return [before, made, torch.zeros(1).dtype, out]


@idiom
def numel_and_size_helpers(torch, nn, F, optim):
    x = torch.zeros(2, 3)
    return [torch.numel(x), x.nelement(), x.element_size(), x.size()[1]]


@idiom
def shape_numel(torch, nn, F, optim):
    return torch.zeros(2, 3).shape.numel()


@idiom
def random_inplace_and_bernoulli(torch, nn, F, optim):
    torch.manual_seed(0)
    u = torch.empty(1000).uniform_(-1, 1)
    b = torch.bernoulli(torch.full((1000,), 0.5))
    g = torch.Generator().manual_seed(42)
    r = torch.randn(3, generator=g)
    return [
        bool((u.abs() <= 1).all()),
        Shape(b),
        300 < int(b.sum()) < 700,
        Shape(r),
        bool((torch.rand(()) < 1.0).item()),
    ]


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
