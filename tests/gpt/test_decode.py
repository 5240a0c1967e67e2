"""Decoding with the KV cache (gpt/kv_cache.py): `DecodeStep` gives the logits of a full
forward pass, across block_size (the cache restarts from the last half block, as generate
does), writes the cache in place, and steps aside for hooked, subclassed or training models.
Runs on every available backend; the PyTorch comparison is an oracle test."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import nn
from tinygpt.gpt import GPT, GPTConfig
from tinygpt.gpt.kv_cache import DecodeStep, KVCache

VOCAB = 17
CONFIG = GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=10, vocab_size=VOCAB)
NO_BIAS = GPTConfig(
    n_layer=1, n_head=4, n_embd=32, block_size=8, vocab_size=VOCAB, bias=False, gelu="exact"
)


def make_model(device, config: GPTConfig = CONFIG, seed: int = 0) -> GPT:
    tg.manual_seed(seed)
    return GPT(config).to(device).eval()


def random_ids(rows: int, length: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, VOCAB, (rows, length))


def full_last_logits(model: GPT, context: np.ndarray, device) -> np.ndarray:
    """The reference: the whole context through the model, no cache; (B, V)."""
    with tg.no_grad():
        logits, _ = model(tg.tensor(context, dtype=tg.int64, device=device))
    return logits.numpy()[:, -1, :]


def stepped_logits(model: GPT, tokens: np.ndarray, prompt: int, device) -> list[np.ndarray]:
    """Logits after each position from `prompt` on, with the cache and generate's policy:
    prefill the prompt, one DecodeStep per token, and a restart from the last half block
    whenever the cache is full. Returns [(B, V)] for positions prompt-1 .. end-1."""
    block = model.config.block_size
    cache = KVCache(model.config, tokens.shape[0], device)
    step = DecodeStep(model)
    out = []
    with tg.no_grad():
        logits, _ = model(tg.tensor(tokens[:, :prompt], device=device), kv_cache=cache)
        out.append(logits.numpy()[:, -1, :])
        for t in range(prompt, tokens.shape[1]):
            if cache.length >= block:
                cache.length = 0
                context = tokens[:, t + 1 - block // 2 : t + 1]
                logits, _ = model(tg.tensor(context, device=device), kv_cache=cache)
                out.append(logits.numpy()[:, -1, :])
            else:
                ids = tg.tensor(tokens[:, t], dtype=tg.int64, device=device)
                out.append(step(ids, cache).numpy())
    return out


def window_starts(block: int, prompt: int, length: int) -> list[int]:
    """Where the context of each stepped position starts, under the same restart policy."""
    starts, start = [0], 0
    for t in range(prompt, length):
        if t - start >= block:  # the cache held `block` positions: restart
            start = t + 1 - block // 2
        starts.append(start)
    return starts


@pytest.mark.parametrize("config", [CONFIG, NO_BIAS], ids=["bias", "no-bias-exact-gelu"])
@pytest.mark.parametrize("length", [4, 10, 11, 23])
def test_decode_step_logits_equal_a_full_forward(device, config, length):
    model = make_model(device, config)
    prompt = 3
    tokens = random_ids(2, length, seed=length)
    stepped = stepped_logits(model, tokens, prompt, device)
    starts = window_starts(config.block_size, prompt, length)
    for i, (got, start) in enumerate(zip(stepped, starts)):
        end = prompt + i
        expected = full_last_logits(model, tokens[:, start:end], device)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5, err_msg=f"pos {end}")


def test_greedy_generate_equals_full_recomputation_past_block_size(device):
    model = make_model(device)
    prompt = random_ids(1, 4, seed=5)
    out = model.generate(tg.tensor(prompt, device=device), 25, temperature=0).numpy()
    tokens = prompt
    starts = window_starts(CONFIG.block_size, prompt.shape[1], out.shape[1] - 1)
    for start in starts:
        logits = full_last_logits(model, tokens[:, start:], device)
        tokens = np.concatenate([tokens, logits.argmax(-1)[:, None]], axis=1)
    np.testing.assert_array_equal(out, tokens)


def test_the_cache_is_written_in_place(device):
    model = make_model(device)
    cache = KVCache(CONFIG, 1, device)
    buffers = [layer.kv for layer in cache.layers]
    with tg.no_grad():
        model(tg.tensor(random_ids(1, 3), device=device), kv_cache=cache)
        DecodeStep(model)(tg.tensor([5], device=device), cache)
    assert cache.length == 4
    for layer, buffer in zip(cache.layers, buffers):
        assert layer.kv is buffer
        kv = buffer.numpy()  # (B, 2 nh, block, hs)
        assert np.all(np.abs(kv[:, :, :4]).sum(-1) > 0)  # positions 0..3 written
        assert np.all(kv[:, :, 4:] == 0)  # the rest untouched


def test_decode_step_refuses_a_full_cache(device):
    model = make_model(device)
    cache = KVCache(CONFIG, 1, device)
    cache.length = CONFIG.block_size
    with pytest.raises(ValueError, match="block_size=10"):
        DecodeStep(model)(tg.tensor([1], device=device), cache)


def test_the_fast_step_steps_aside_for_hooks_subclasses_and_training(device):
    model = make_model(device)
    assert DecodeStep.supports(model)
    assert not DecodeStep.supports(make_model(device).train())

    class Louder(GPT):
        pass

    tg.manual_seed(0)
    assert not DecodeStep.supports(Louder(CONFIG).eval())
    swapped = make_model(device)
    swapped.transformer.h[1].mlp.c_fc = ScaledLinear(CONFIG.n_embd, 4 * CONFIG.n_embd)
    assert not DecodeStep.supports(swapped.to(device))
    calls = []
    handle = model.transformer.h[0].mlp.register_forward_hook(lambda m, i, o: calls.append(1))
    assert not DecodeStep.supports(model)
    model.generate(tg.tensor(random_ids(1, 2), device=device), 4, temperature=0)
    assert len(calls) == 4  # prefill + 3 single-token steps, all through the module
    handle.remove()
    assert DecodeStep.supports(model)


def test_seeded_sampling_is_the_same_with_and_without_the_fast_step(device, monkeypatch):
    model = make_model(device)
    prompt = tg.tensor(random_ids(2, 3), device=device)
    options = dict(seed=11, top_k=6, temperature=0.8)
    fast = model.generate(prompt, 20, **options).numpy()
    monkeypatch.setattr(DecodeStep, "supports", staticmethod(lambda model: False))
    slow = model.generate(prompt, 20, **options).numpy()
    np.testing.assert_array_equal(fast, slow)


class ScaledLinear(nn.Linear):
    """A Linear with a forward of its own (as a LoRA layer has)."""

    def forward(self, x):
        return super().forward(x) * 2.0


# --- PyTorch: the same greedy tokens from the same weights ---------------------------------


def torch_greedy(weights: dict, config: GPTConfig, prompt: np.ndarray, new: int) -> np.ndarray:
    """Greedy decoding by full recomputation in PyTorch (the restart policy of generate)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    w = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()}
    C, nh = config.n_embd, config.n_head

    def forward(ids):
        T = ids.shape[1]
        x = F.embedding(ids, w["transformer.wte.weight"]) + w["transformer.wpe.weight"][:T]
        for i in range(config.n_layer):
            p = f"transformer.h.{i}."
            h = F.layer_norm(x, (C,), w[p + "ln_1.weight"], w[p + "ln_1.bias"])
            q, k, v = F.linear(h, w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"]).split(
                C, dim=2
            )
            q, k, v = (t.view(1, T, nh, C // nh).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            y = y.transpose(1, 2).reshape(1, T, C)
            x = x + F.linear(y, w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"])
            h = F.layer_norm(x, (C,), w[p + "ln_2.weight"], w[p + "ln_2.bias"])
            h = F.gelu(
                F.linear(h, w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"]), approximate="tanh"
            )
            x = x + F.linear(h, w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"])
        x = F.layer_norm(x, (C,), w["transformer.ln_f.weight"], w["transformer.ln_f.bias"])
        return F.linear(x[:, -1], w["transformer.wte.weight"])

    tokens = torch.from_numpy(prompt)
    starts = window_starts(config.block_size, prompt.shape[1], prompt.shape[1] + new - 1)
    with torch.inference_mode():
        for start in starts:
            next_id = forward(tokens[:, start:]).argmax(-1, keepdim=True)
            tokens = torch.cat([tokens, next_id], dim=1)
    return tokens.numpy()


@pytest.mark.oracle
def test_greedy_tokens_equal_pytorchs(device):
    config = GPTConfig(n_layer=2, n_head=4, n_embd=32, block_size=16, vocab_size=VOCAB)
    model = make_model(device, config, seed=3)
    weights = {k: v.numpy() for k, v in model.state_dict().items()}
    prompt = random_ids(1, 5, seed=2)
    expected = torch_greedy(weights, config, prompt, 40)
    got = model.generate(tg.tensor(prompt, device=device), 40, temperature=0).numpy()
    np.testing.assert_array_equal(got, expected)


def test_a_hooked_module_sees_single_tokens(device):
    # (the module path is the reference the fast step must match: it stays exercised)
    model = make_model(device)
    shapes = []
    model.transformer.h[1].attn.register_forward_hook(lambda m, i, o: shapes.append(o.shape))
    model.generate(tg.tensor(random_ids(1, 3), device=device), 3, temperature=0)
    assert shapes == [(1, 3, CONFIG.n_embd), (1, 1, CONFIG.n_embd), (1, 1, CONFIG.n_embd)]
    assert isinstance(model.transformer.h[1].attn, nn.Module)


def test_generate_takes_the_fast_step_for_a_stock_model(device, monkeypatch):
    model = make_model(device)
    calls = []
    original = DecodeStep.__call__

    def counted(self, ids, cache):
        calls.append(ids.shape)
        return original(self, ids, cache)

    monkeypatch.setattr(DecodeStep, "__call__", counted)
    model.generate(tg.tensor(random_ids(2, 3), device=device), 5, temperature=0)
    assert calls == [(2,)] * 4  # the prompt goes through the modules, then one step a token
