"""nanoGPT's and micrograd's PyTorch snippets, run as written with `tinygpt` (issue 14).

The snippets follow nanoGPT's model.py/train.py/sample.py and micrograd's tests (written here
again, not copied); the harness is conftest.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from idiom_harness import IDIOM_DEVICES, Shape, idiom, params, ramp

pytestmark = pytest.mark.oracle


def _tiny_gpt(torch, nn, F, vocab=7, n_embd=4, block_size=5):
    """A one-block causal language model written the way nanoGPT writes one."""

    class TinyGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(
                dict(
                    wte=nn.Embedding(vocab, n_embd),
                    wpe=nn.Embedding(block_size, n_embd),
                    ln_f=nn.LayerNorm(n_embd),
                )
            )
            self.c_attn = nn.Linear(n_embd, 3 * n_embd)
            self.lm_head = nn.Linear(n_embd, vocab, bias=False)
            self.transformer.wte.weight = self.lm_head.weight  # weight tying
            self.register_buffer(
                "bias",
                torch.tril(torch.ones(block_size, block_size)).view(1, 1, block_size, block_size),
            )
            with torch.no_grad():
                for i, p in enumerate(self.parameters()):
                    p.copy_(ramp(torch, *p.shape) * (1 + i / 10))

        def forward(self, idx, targets=None):
            B, T = idx.size()
            pos = torch.arange(0, T, dtype=torch.long, device=idx.device)
            x = self.transformer.wte(idx) + self.transformer.wpe(pos)
            q, k, v = self.c_attn(x).split(n_embd, dim=2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T][0] == 0, float("-inf"))
            x = x + F.softmax(att, dim=-1) @ v
            x = self.transformer.ln_f(x)
            if targets is None:
                return self.lm_head(x[:, [-1], :]), None
            logits = self.lm_head(x)
            loss = F.cross_entropy(
                logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1
            )
            return logits, loss

    return TinyGPT()


@idiom
def gpt_forward_backward(torch, nn, F, optim):
    model = _tiny_gpt(torch, nn, F)
    idx = torch.tensor([[1, 2, 3, 4], [0, 6, 5, 1]])
    logits, loss = model(idx, torch.tensor([[2, 3, 4, -1], [6, 5, 1, 0]]))
    loss.backward()
    last, none = model(idx)
    return [
        logits,
        loss,
        last,
        none,
        model.lm_head.weight.grad,
        model.transformer.wte.weight is model.lm_head.weight,
    ]


@idiom
def weight_tying_counts_once(torch, nn, F, optim):
    model = _tiny_gpt(torch, nn, F)
    n_params = sum(p.numel() for p in model.parameters())
    n_params -= model.transformer.wpe.weight.numel()  # nanoGPT's get_num_params
    return [n_params, len(list(model.parameters())), sorted(model.state_dict().keys())]


@idiom
def configure_optimizers(torch, nn, F, optim):
    model = _tiny_gpt(torch, nn, F)
    param_dict = {pn: p for pn, p in model.named_parameters()}
    param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
    decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
    nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
    optim_groups = [
        {"params": decay_params, "weight_decay": 0.1},
        {"params": nodecay_params, "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(optim_groups, lr=1e-2, betas=(0.9, 0.95))
    idx = torch.tensor([[1, 2, 3, 4]])
    for _ in range(2):
        _, loss = model(idx, idx)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return [
        sum(p.numel() for p in decay_params),
        sum(p.numel() for p in nodecay_params),
        model.c_attn.weight,
        loss,
    ]


@idiom
def lr_by_hand(torch, nn, F, optim):
    model = _tiny_gpt(torch, nn, F)
    opt = optim.AdamW(model.parameters(), lr=6e-4)
    lrs = []
    for it in range(3):
        lr = 6e-4 * 0.5 * (1.0 + math.cos(math.pi * it / 3))
        for param_group in opt.param_groups:
            param_group["lr"] = lr
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


@idiom
def generate_top_k(torch, nn, F, optim):
    torch.manual_seed(1337)
    model = _tiny_gpt(torch, nn, F)
    model.eval()
    idx = torch.zeros((1, 1), dtype=torch.long)
    top_k, temperature, ok = 3, 0.8, True
    with torch.no_grad():
        for _ in range(6):
            idx_cond = idx if idx.size(1) <= 5 else idx[:, -5:]
            logits, _ = model(idx_cond)
            logits = logits[:, -1, :] / temperature
            v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
            logits[logits < v[:, [-1]]] = -float("Inf")
            probs = F.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
            ok = ok and bool(probs[0, idx_next[0, 0]] > 0)
            idx = torch.cat((idx, idx_next), dim=1)
    return [Shape(idx), ok, idx.tolist()[0][0], len(idx[0].tolist())]


@idiom
def causal_attention_sdpa(torch, nn, F, optim):
    q = ramp(torch, 1, 2, 4, 3)
    k = q.flip(-1) * 2
    v = q.exp()
    T = q.size(-2)
    bias = torch.tril(torch.ones(T, T)).view(1, 1, T, T)
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
    att = att.masked_fill(bias[:, :, :T, :T] == 0, float("-inf"))
    manual = F.softmax(att, dim=-1) @ v
    fused = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=True)
    return [fused, manual, hasattr(F, "scaled_dot_product_attention")]


@idiom
def estimate_loss(torch, nn, F, optim):
    model = _tiny_gpt(torch, nn, F)

    @torch.no_grad()
    def estimate():
        out = {}
        model.eval()
        for split in ["train", "val"]:
            losses = torch.zeros(3)
            for k in range(3):
                idx = (
                    torch.tensor([[k, 1, 2], [3, k, 5]])
                    if split == "train"
                    else torch.tensor([[k, 6, 6]])
                )
                _, loss = model(idx, idx)
                losses[k] = loss.item()
            out[split] = losses.mean()
        model.train()
        return out

    losses = estimate()
    return [
        losses,
        model.training,
        f"step 0: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}",
    ]


@idiom
def get_batch(torch, nn, F, optim):
    data = np.arange(100, dtype=np.uint16)
    block_size, batch_size = 8, 4
    torch.manual_seed(0)
    ix = torch.randint(len(data) - block_size, (batch_size,))
    x = torch.stack([torch.from_numpy((data[i : i + block_size]).astype(np.int64)) for i in ix])
    y = torch.stack(
        [torch.from_numpy((data[i + 1 : i + 1 + block_size]).astype(np.int64)) for i in ix]
    )
    return [Shape(x), Shape(y), bool(((y - x) == 1).all()), x.dtype]


@idiom
def checkpoint_save_load(torch, nn, F, optim, tmp):
    model = _tiny_gpt(torch, nn, F)
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    _, loss = model(torch.tensor([[1, 2]]), torch.tensor([[2, 3]]))
    loss.backward()
    opt.step()
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "iter_num": 5,
        "best_val_loss": 1.5,
        "config": {"n_embd": 4, "bias": True},
    }
    torch.save(checkpoint, str(tmp / "ckpt.pt"))
    ck = torch.load(str(tmp / "ckpt.pt"), map_location="cpu" if torch.__name__ == "torch" else None)
    state_dict = {("_orig_mod." + k): v for k, v in ck["model"].items()}
    unwanted_prefix = "_orig_mod."
    for k, _v in list(state_dict.items()):  # nanoGPT's loop, as written there
        if k.startswith(unwanted_prefix):
            state_dict[k[len(unwanted_prefix) :]] = state_dict.pop(k)
    fresh = _tiny_gpt(torch, nn, F)
    fresh.load_state_dict(state_dict)
    opt2 = optim.AdamW(fresh.parameters(), lr=1e-3)
    opt2.load_state_dict(ck["optimizer"])
    return [
        ck["iter_num"],
        ck["best_val_loss"],
        ck["config"],
        fresh.c_attn.weight,
        sorted(ck["model"].keys()),
    ]


@idiom
def crop_block_size(torch, nn, F, optim):
    model = _tiny_gpt(torch, nn, F)
    model.transformer.wpe.weight = nn.Parameter(model.transformer.wpe.weight[:3])
    return [
        model.transformer.wpe.weight.shape,
        model.transformer.wpe.weight.is_leaf,
        model(torch.tensor([[1, 2, 3]]))[0],
    ]


@idiom
def init_by_name(torch, nn, F, optim):
    torch.manual_seed(0)
    model = _tiny_gpt(torch, nn, F)
    for pn, p in model.named_parameters():
        if pn.endswith("c_attn.weight"):
            torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * 2))
    w = model.c_attn.weight
    return [
        Shape(w),
        bool(w.std() < 0.05),
        f"number of parameters: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M",
    ]


# ------------------------------------------------------------------ micrograd
@idiom
def micrograd_sanity_check(torch, nn, F, optim):
    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return [y.data.item(), x.grad.item()]


@idiom
def micrograd_more_ops(torch, nn, F, optim):
    a = torch.Tensor([-4.0]).double()
    b = torch.Tensor([2.0]).double()
    a.requires_grad = True
    b.requires_grad = True
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    return [g.data.item(), a.grad.item(), b.grad.item()]


@idiom
def zero_dim_scalars(torch, nn, F, optim):
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(-3.0, requires_grad=True)
    c = (a * b + a**2).tanh()
    c.backward()
    return [
        c,
        float(c),
        c.item(),
        c.ndim,
        c.shape,
        c.shape == (),
        a.grad.item(),
        b.grad,
        a.dim(),
        c.numel(),
        int(torch.tensor(5)),
        a.data,
    ]


@idiom
def printing_and_formatting(torch, nn, F, optim):
    loss = torch.tensor(2.718281)
    t = torch.tensor([1.0, 2.5])
    return [
        f"{loss.item():.4f}",
        f"{loss:.4f}",
        f"loss {loss.item():.3f}",
        str(t).startswith("tensor([1.0000, 2.5000]"),
        repr(t).startswith("tensor([1.0000, 2.5000]"),
        str(torch.tensor([1, 2])).startswith("tensor([1, 2]"),
        f"{t.shape}" in ("torch.Size([2])", "(2,)"),
        str(torch.tensor(3.5)).startswith("tensor(3.5000"),
    ]


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
