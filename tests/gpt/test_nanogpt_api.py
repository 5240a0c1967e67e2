"""nanoGPT's GPT methods on tinygpt's GPT (nanogpt_api.py), with nanoGPT's meanings."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.gpt import GPT, GPTConfig


def _model() -> GPT:
    tg.manual_seed(0)
    return GPT(GPTConfig(block_size=16, vocab_size=11, n_layer=2, n_head=2, n_embd=8))


def test_get_num_params_is_num_params():
    model = _model()
    assert model.get_num_params() == model.num_params()
    assert model.get_num_params(False) - model.get_num_params() == 16 * 8  # wpe


def test_configure_optimizers_decays_matrices_only():
    model = _model()
    opt = model.configure_optimizers(0.1, 3e-4, (0.9, 0.95), "cpu")
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decay["params"])
    assert all(p.dim() < 2 for p in no_decay["params"])
    total = sum(p.numel() for g in opt.param_groups for p in g["params"])
    assert total == model.get_num_params(False)  # tied lm_head counted once
    assert decay["lr"] == 3e-4 and tuple(decay["betas"]) == (0.9, 0.95)
    x = tg.randint(0, 11, (2, 16))
    _, loss = model(x, x)
    loss.backward()
    opt.step()  # a real step runs


def test_crop_block_size_keeps_the_first_positions():
    model = _model()
    before = model.transformer.wpe.weight.numpy()[:8].copy()
    x = tg.randint(0, 11, (1, 8))
    logits_before, _ = model(x)
    model.crop_block_size(8)
    assert model.config.block_size == 8
    np.testing.assert_array_equal(model.transformer.wpe.weight.numpy(), before)
    logits_after, _ = model(x)
    np.testing.assert_allclose(logits_after.numpy(), logits_before.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="block_size"):
        model(tg.randint(0, 11, (1, 9)))
    with pytest.raises(ValueError, match="cannot grow"):
        model.crop_block_size(9)
    names = [n for n, _ in model.named_parameters()]
    assert "transformer.wpe.weight" in names  # still a parameter, trained and saved


def test_estimate_mfu_follows_nanogpt_formula():
    model = _model()
    cfg = model.config
    per_token = 6 * model.get_num_params() + 12 * cfg.n_layer * cfg.n_embd * cfg.block_size
    assert model.estimate_mfu(4, 0.5) == pytest.approx(per_token * 16 * 4 / 0.5 / 312e12)
