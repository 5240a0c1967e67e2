"""No hidden device->host reads on the hot path: a GPT training step reads the device once, for
the loss it logs, and only when it logs it. Bounds and target checks run in the kernels (or
under TINYGPT_CHECKS=1), never as a host round trip per step. Runs on every backend.

A read is a call of the backend's `to_host` (every `.item()`, `.numpy()`, `.tolist()` and
`print(tensor)` goes through it); the test counts them on the backend instance.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import cli, nn, optim
from tinygpt.gpt import GPT, GPTConfig, KVCache, training

CONFIG = GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=8, vocab_size=11, dropout=0.1)


class HostReads:
    """Counts `to_host` calls on one backend instance while it is installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, device: str) -> None:
        backend = tg.get_backend(device)
        real = backend.to_host
        self.count = 0

        def counting(x):  # noqa: ANN001 - the protocol's signature
            self.count += 1
            return real(x)

        monkeypatch.setattr(backend, "to_host", counting)


def _batch(device: str, seed: int) -> tuple[tg.Tensor, tg.Tensor]:
    rng = np.random.default_rng(seed)
    windows = rng.integers(0, CONFIG.vocab_size, (4, CONFIG.block_size + 1))
    x = tg.tensor(windows[:, :-1], dtype=tg.int64, device=device)
    y = tg.tensor(windows[:, 1:], dtype=tg.int64, device=device)
    return x, y


def _train_step(model: GPT, optimizer: optim.Optimizer, x: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
    """What `tinygpt train` does per step: forward, backward, clip, AdamW, zero_grad."""
    _, loss = model(x, y)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad()
    return loss.detach()


def test_a_training_step_reads_the_device_only_for_the_logged_loss(device, monkeypatch):
    monkeypatch.setenv("TINYGPT_CHECKS", "0")
    tg.manual_seed(0)
    model = GPT(CONFIG).to(device).train()
    optimizer = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    _train_step(model, optimizer, *_batch(device, 0))  # the first step creates the state
    x, y = _batch(device, 1)

    reads = HostReads(monkeypatch, device)
    loss = _train_step(model, optimizer, x, y)
    steps_reads = reads.count
    logged = loss.item()

    assert steps_reads == 0, f"{steps_reads} host reads in one training step (want 0)"
    assert reads.count == steps_reads + 1
    assert np.isfinite(logged)


def test_the_trainer_reads_the_loss_only_when_it_logs(device, monkeypatch, tmp_path):
    """`tinygpt train`'s loop with log_interval=3: 6 steps, 2 logged losses, 2 reads."""
    monkeypatch.setenv("TINYGPT_CHECKS", "0")
    calls = []
    real = training._Loop._step  # the loop's one optimizer step

    def step(self, n):  # noqa: ANN001
        reads = HostReads(monkeypatch, device)
        out = real(self, n)
        calls.append(reads.count)
        return out

    monkeypatch.setattr(training._Loop, "_step", step)
    text = "hello tinygpt, " * 200
    data = tmp_path / "tiny.txt"
    data.write_text(text)
    code = cli.main(
        [
            "train",
            "--data",
            str(data),
            "--out-dir",
            str(tmp_path / "runs"),
            "--grad-accum",
            "2",
            "--device",
            device,
            "--max-steps",
            "6",
            "--log-interval",
            "3",
            "--eval-interval",
            "100",
            "--eval-batches",
            "1",
            "--preset",
            "nano",
            "--block-size",
            "8",
            "--batch-size",
            "2",
            "--sample-tokens",
            "0",
        ]
    )
    assert code == 0
    assert calls == [0] * 6, f"host reads inside each training step: {calls}"


def test_out_of_range_ids_still_raise_without_check_mode(device, monkeypatch):
    monkeypatch.setenv("TINYGPT_CHECKS", "0")
    table = tg.randn(5, 3, device=device)
    with pytest.raises(IndexError):
        table[tg.tensor([1, 5], device=device)].numpy()
    with pytest.raises(IndexError):
        tg.cross_entropy(tg.zeros(2, 3, device=device), tg.tensor([0, 3], device=device))


def test_negative_ids_wrap_without_check_mode(device, monkeypatch):
    monkeypatch.setenv("TINYGPT_CHECKS", "0")
    table = tg.arange(10.0, device=device).reshape(5, 2)
    got = table[tg.tensor([-1, 0, -5], device=device)]
    np.testing.assert_array_equal(got.numpy(), [[8.0, 9.0], [0.0, 1.0], [0.0, 1.0]])


def test_kv_cache_chunk_after_a_prompt_equals_full_recomputation(device):
    """T > 1 new tokens after a cached prompt: the causal mask is aligned bottom-right."""
    tg.manual_seed(0)
    model = GPT(CONFIG).to(device).eval()
    x, _ = _batch(device, 2)
    full, _ = model(x)
    cache = KVCache(CONFIG, batch_size=4, device=device)
    with tg.no_grad():
        first, _ = model(x[:, :3], kv_cache=cache)
        rest, _ = model(x[:, 3:], kv_cache=cache)  # 5 queries over 8 keys
    stepped = np.concatenate([first.numpy(), rest.numpy()], axis=1)
    np.testing.assert_allclose(stepped, full.numpy(), rtol=1e-4, atol=1e-5)
