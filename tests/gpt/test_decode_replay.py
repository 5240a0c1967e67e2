"""Decoding on replayed kernels (`tg.kernel_replay` in gpt/kv_cache.py): `DecodeStep` and its
prefill give, bit for bit, what running them op by op gives; they do replay (no reason to
refuse); the step is kept between sampling loops and rebuilt, or recorded again, when the
model's parameters change; and two loops at once each get their own cache."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import fast_paths, nn
from tinygpt.gpt import GPT, GPTConfig
from tinygpt.gpt.generate import generate_stream
from tinygpt.gpt.kv_cache import DecodeStep, KVCache

VOCAB = 13
CONFIG = GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=8, vocab_size=VOCAB)
NO_BIAS = GPTConfig(
    n_layer=1, n_head=4, n_embd=32, block_size=8, vocab_size=VOCAB, bias=False, gelu="exact"
)


@pytest.fixture(autouse=True)
def no_host_checks(monkeypatch):
    """The test suite's TINYGPT_CHECKS=1 reads ids back to check their range: a host read,
    which no replay can repeat (the step would run op by op). Decoding runs without it."""
    monkeypatch.setenv("TINYGPT_CHECKS", "0")


def make_model(device, config: GPTConfig = CONFIG, seed: int = 0) -> GPT:
    tg.manual_seed(seed)
    return GPT(config).to(device).eval()


def ids(rows: int, length: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, VOCAB, (rows, length))


def decode(model: GPT, tokens: np.ndarray, prompt: int, device) -> tuple[list, list, int]:
    """Prefill `prompt` tokens, then one step per token (restarting from the last half
    block when full): each position's logits, the caches' contents after each call, and
    how many calls replayed."""
    step = DecodeStep(model)
    cache = KVCache(model.config, tokens.shape[0], device)
    logits, caches = [], []
    block = model.config.block_size
    with tg.no_grad():
        out = step.prefill(tg.tensor(tokens[:, :prompt], device=device), cache)
        logits.append(out.numpy())
        for t in range(prompt, tokens.shape[1]):
            if cache.length >= block:
                context = tokens[:, t + 1 - block // 2 : t + 1]
                out = step.prefill(tg.tensor(context, device=device), cache)
            else:
                out = step(tg.tensor(tokens[:, t], device=device), cache)
            logits.append(out.numpy())
            caches.append([layer.kv.numpy()[:, :, : cache.length] for layer in cache.layers])
    prefills = [r for r in step._prefills.values() if r is not None]
    replays = step._replay.replays + sum(r.replays for r in prefills)
    return logits, caches, replays


@pytest.mark.parametrize("config", [CONFIG, NO_BIAS], ids=["bias", "no-bias-exact-gelu"])
def test_replays_give_what_running_op_by_op_gives(device, config, monkeypatch):
    model = make_model(device, config)
    tokens = ids(2, 21, seed=1)  # past block_size twice: prefills of 4 tokens replay too
    replayed = decode(model, tokens, 3, device)
    monkeypatch.setattr(fast_paths, "enabled", False)  # (the replay's off switch)
    eager = decode(model, tokens, 3, device)
    # 15 steps (1 recording) and prefills of 3, 4, 4, 4 tokens (a shape records when seen
    # the second time)
    assert replayed[2] == 14 + 1 and eager[2] == 0
    for got, expected in zip(replayed[0], eager[0]):
        np.testing.assert_array_equal(got, expected)
    for got, expected in zip(replayed[1], eager[1]):
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a, b)


def test_prefill_gives_the_module_paths_logits_and_cache(device):
    model = make_model(device)
    context = ids(2, 5, seed=2)
    cache, reference = KVCache(CONFIG, 2, device), KVCache(CONFIG, 2, device)
    with tg.no_grad():
        got = DecodeStep(model).prefill(tg.tensor(context, device=device), cache).numpy()
        logits, _ = model(tg.tensor(context, device=device), kv_cache=reference)
    np.testing.assert_allclose(got, logits.numpy()[:, -1], rtol=1e-5, atol=1e-6)
    assert cache.length == reference.length == 5
    for layer, expected in zip(cache.layers, reference.layers):
        np.testing.assert_allclose(layer.kv.numpy(), expected.kv.numpy(), rtol=1e-5, atol=1e-6)


def test_sampling_replays_and_keeps_its_step_between_loops(device):
    model = make_model(device)
    prompt = tg.tensor(ids(1, 3, seed=3), device=device)
    first = model.generate(prompt, 20, temperature=0).numpy()
    step = DecodeStep.of(model)
    assert step._replay.reason is None and step._replay.replays > 0
    recordings = step._replay.recordings
    again = model.generate(prompt, 20, temperature=0).numpy()
    assert DecodeStep.of(model) is step and step._replay.recordings == recordings
    np.testing.assert_array_equal(first, again)
    uncached = model.generate(prompt, 20, temperature=0, use_cache=False).numpy()
    np.testing.assert_array_equal(first[:, :11], uncached[:, :11])  # (same context so far)


def test_new_parameter_memory_or_new_parameters_are_used(device):
    model = make_model(device)
    prompt = tg.tensor(ids(1, 3, seed=4), device=device)
    model.generate(prompt, 12, temperature=0)
    step = DecodeStep.of(model)
    fc = model.transformer.h[0].mlp.c_fc
    tg.manual_seed(7)
    fc.weight.data = tg.randn(*fc.weight.shape, device=device)  # new memory: records again
    recordings = step._replay.recordings
    swapped = model.generate(prompt, 12, temperature=0).numpy()
    assert step._replay.recordings == recordings + 1
    fc.weight = nn.Parameter(fc.weight.detach() * 1.0)  # a new parameter: a new step
    replaced = model.generate(prompt, 12, temperature=0).numpy()
    assert DecodeStep.of(model) is not step
    with fast_paths_off():
        expected = model.generate(prompt, 12, temperature=0).numpy()
    np.testing.assert_array_equal(swapped, expected)
    np.testing.assert_array_equal(replaced, expected)


@pytest.mark.parametrize(
    "options",
    [dict(temperature=0, stop_token=3), dict(temperature=0.8, top_k=5, seed=11)],
    ids=["greedy-stop-token", "sampled"],
)
def test_generate_gives_the_tokens_of_the_op_by_op_path(device, options):
    model = make_model(device)
    prompt = tg.tensor(ids(2, 3, seed=8), device=device)
    got = model.generate(prompt, 18, **options).numpy()
    with fast_paths_off():
        expected = model.generate(prompt, 18, **options).numpy()
    np.testing.assert_array_equal(got, expected)


def test_two_loops_at_once_each_get_their_own_cache(device):
    model = make_model(device)
    a, b = (tg.tensor(ids(1, 3, seed=s), device=device) for s in (5, 6))
    alone = [model.generate(p, 15, temperature=0).numpy()[0, 3:] for p in (a, b)]
    streams = [generate_stream(model, p, 15, temperature=0) for p in (a, b)]
    together: list[list[int]] = [[], []]
    for pair in zip(*streams):
        for out, token in zip(together, pair):
            out.append(int(token[0]))
    np.testing.assert_array_equal(together, alone)
    assert tg.is_grad_enabled()  # (neither loop left gradients off for the caller)


def test_a_suspended_loop_leaves_gradients_on_for_its_caller(device):
    model = make_model(device)
    stream = generate_stream(model, tg.tensor(ids(1, 3), device=device), 5, temperature=0)
    next(stream)
    assert tg.is_grad_enabled()
    with tg.no_grad():
        next(stream)
    assert tg.is_grad_enabled()
    stream.close()


class fast_paths_off:
    """`with fast_paths_off():` runs the model op by op (no replay)."""

    def __enter__(self) -> None:
        self.was = fast_paths.enabled
        fast_paths.enabled = False

    def __exit__(self, *exc: object) -> None:
        fast_paths.enabled = self.was
