"""GPT: shapes, names, weight tying, init, causal masking, KV-cache generation, sampling,
and a tiny model overfitting one batch. Runs on every available backend."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import optim
from tinygpt.gpt import GPT, GPTConfig, KVCache
from tinygpt.gpt.config import ConfigError
from tinygpt.gpt.generate import sample_next

VOCAB = 13
CONFIG = GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=12, vocab_size=VOCAB)


def make_model(device, config: GPTConfig = CONFIG, seed: int = 0) -> GPT:
    tg.manual_seed(seed)
    return GPT(config).to(device).eval()


def ids(device, rows, seed=0, length=8):
    rng = np.random.default_rng(seed)
    return tg.tensor(rng.integers(0, VOCAB, (rows, length)), dtype=tg.int64, device=device)


def test_shapes_and_loss(device):
    model = make_model(device)
    x = ids(device, 3)
    logits, loss = model(x)
    assert logits.shape == (3, 8, VOCAB) and loss is None
    logits, loss = model(x, targets=ids(device, 3, seed=1))
    assert loss.shape == ()
    # a freshly initialised model is close to uniform: loss ~ log(vocab)
    assert abs(loss.item() - math.log(VOCAB)) < 0.3


def test_parameter_names_follow_nanogpt_and_head_is_tied():
    model = GPT(CONFIG)
    names = set(model.state_dict())
    for name in [
        "transformer.wte.weight",
        "transformer.wpe.weight",
        "transformer.h.0.ln_1.weight",
        "transformer.h.0.attn.c_attn.weight",
        "transformer.h.0.attn.c_proj.bias",
        "transformer.h.1.ln_2.bias",
        "transformer.h.1.mlp.c_fc.weight",
        "transformer.h.1.mlp.c_proj.weight",
        "transformer.ln_f.weight",
        "lm_head.weight",
    ]:
        assert name in names
    assert model.lm_head.weight is model.transformer.wte.weight
    # the tied matrix is one parameter: counted and optimized once
    assert sum(1 for p in model.parameters() if p is model.lm_head.weight) == 1


def test_gpt2_init_scales_residual_projections():
    config = GPTConfig(n_layer=8, n_head=4, n_embd=256, block_size=8, vocab_size=64)
    tg.manual_seed(0)
    model = GPT(config)
    fc = model.transformer.h[0].mlp.c_fc.weight.numpy()
    proj = model.transformer.h[0].mlp.c_proj.weight.numpy()
    assert abs(fc.std() - 0.02) < 0.002
    assert abs(proj.std() - 0.02 / math.sqrt(2 * 8)) < 0.0005
    assert np.all(model.transformer.h[0].attn.c_attn.bias.numpy() == 0)


def test_changing_a_later_token_never_changes_earlier_logits(device):
    model = make_model(device)
    x = ids(device, 2).numpy()
    y = x.copy()
    y[:, 5] = (y[:, 5] + 1) % VOCAB
    a, _ = model(tg.tensor(x, device=device))
    b, _ = model(tg.tensor(y, device=device))
    a, b = a.numpy(), b.numpy()
    np.testing.assert_array_equal(a[:, :5], b[:, :5])
    assert not np.allclose(a[:, 5:], b[:, 5:])


def test_kv_cache_steps_equal_full_recomputation(device):
    model = make_model(device)
    x = ids(device, 2, length=CONFIG.block_size)
    full, _ = model(x)
    cache = KVCache(CONFIG, batch_size=2, device=device)
    with tg.no_grad():
        parts = [model(x[:, :5], kv_cache=cache)[0]]  # a prompt, then one token at a time
        for t in range(5, CONFIG.block_size):
            parts.append(model(x[:, t : t + 1], kv_cache=cache)[0])
    stepped = np.concatenate([p.numpy() for p in parts], axis=1)
    np.testing.assert_allclose(stepped, full.numpy(), rtol=1e-4, atol=1e-5)


def test_generate_with_cache_equals_generate_without(device):
    model = make_model(device)
    prompt = ids(device, 2, length=3)
    new = CONFIG.block_size - 3  # within the block: both see exactly the same context
    cached = model.generate(prompt, new, seed=7, top_k=5)
    uncached = model.generate(prompt, new, seed=7, top_k=5, use_cache=False)
    assert cached.shape == (2, CONFIG.block_size)
    np.testing.assert_array_equal(cached.numpy(), uncached.numpy())


def test_generate_past_block_size_is_seeded_and_reproducible(device):
    model = make_model(device)
    prompt = ids(device, 1, length=4)
    a = model.generate(prompt, 30, seed=3)
    b = model.generate(prompt, 30, seed=3)
    assert a.shape == (1, 34)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(a[:, :4].numpy(), prompt.numpy())


def test_generate_stops_at_end_token(device):
    model = make_model(device)
    prompt = ids(device, 1, length=2)
    greedy = model.generate(prompt, 6, temperature=0).numpy()[0]
    stop = int(greedy[3])  # the second generated token
    out = model.generate(prompt, 6, temperature=0, stop_token=stop).numpy()[0]
    assert out[-1] == stop and len(out) <= 4


def test_generate_restores_training_mode(device):
    model = make_model(device).train()
    model.generate(ids(device, 1, length=2), 2, seed=0)
    assert model.training


def test_sequence_longer_than_block_is_a_clear_error(device):
    model = make_model(device)
    with pytest.raises(ValueError, match="longer than block_size=12"):
        model(ids(device, 1, length=13))


# ---------------------------------------------------------------------- sampling
def test_sample_next_options():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))
    assert sample_next(logits, rng, temperature=0).tolist() == [0]
    assert sample_next(logits, rng, top_k=1).tolist() == [0]
    assert sample_next(logits, rng, top_p=0.4).tolist() == [0]
    draws = [int(sample_next(logits, rng, top_p=0.75)[0]) for _ in range(300)]
    assert set(draws) == {0, 1}  # 0.5 + 0.3 pass 0.75: tokens 2 and 3 are cut
    draws = [int(sample_next(logits, rng, top_k=3)[0]) for _ in range(300)]
    assert set(draws) == {0, 1, 2}


def test_sample_next_matches_probabilities():
    rng = np.random.default_rng(1)
    logits = np.log(np.array([[0.7, 0.2, 0.1]] * 4000))
    counts = np.bincount(sample_next(logits, rng), minlength=3) / 4000
    np.testing.assert_allclose(counts, [0.7, 0.2, 0.1], atol=0.03)


# ---------------------------------------------------------------------- training
def test_tiny_model_overfits_one_batch(device):
    model = make_model(device).train()
    x = ids(device, 4, seed=1)
    y = ids(device, 4, seed=2)
    opt = optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    for _ in range(80):
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1


def test_dropout_training_path_runs_and_is_seeded(device):
    config = GPTConfig(n_layer=1, n_head=2, n_embd=8, block_size=6, vocab_size=VOCAB, dropout=0.2)
    model = make_model(device, config).train()
    x = ids(device, 2, length=6)
    tg.manual_seed(5)
    a, _ = model(x)
    tg.manual_seed(5)
    b, _ = model(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    model.eval()
    c, _ = model(x)
    assert not np.allclose(a.numpy(), c.numpy())


# ---------------------------------------------------------------------- config
def test_presets_and_config_errors():
    assert GPTConfig.preset("gpt2").n_embd == 768
    assert GPTConfig.preset("micro", vocab_size=65).vocab_size == 65
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        GPTConfig.preset("huge")
    with pytest.raises(ConfigError, match="multiple of n_head"):
        GPTConfig(n_embd=10, n_head=3)
    with pytest.raises(ConfigError, match="unknown keys"):
        GPTConfig.from_dict({"n_layers": 2})
