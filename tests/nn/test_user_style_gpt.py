"""The user-style GPT of benchmarks/user_gpt_model.py (nanoGPT's model.py on tinygpt) takes
every fused kernel its backend has, in each variant, and trains to the composite's numbers.

One training step (forward, backward, clip_grad_norm_, AdamW over two groups) runs under
`tg.profile()`: no fallback may show, and each kernel the variant needs must have run. Then
the same step with the backend's fused kernels hidden must give the same loss, gradients
and updated weights within float32 tolerance.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygpt as tg

MODEL_FILE = Path(__file__).resolve().parents[2] / "benchmarks" / "user_gpt_model.py"
TINY = dict(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=16)


def _user_model_module():
    spec = importlib.util.spec_from_file_location("user_gpt_model", MODEL_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


USER = _user_model_module()


def _kernels(variant: dict) -> set[str]:
    attention = "attention" if variant["flash"] else "softmax"
    return {"gelu", "layer_norm", "cross_entropy", "adamw", attention}


def _train_step(variant: dict, device: str):
    """(loss, {name: grad}, {name: updated weight}, profile) of one step from seed 0."""
    tg.manual_seed(0)
    model = USER.gpt_class(tg)(USER.UserConfig(**TINY, **variant)).to(device)
    optimizer = model.configure_optimizers(0.1, 1e-2, (0.9, 0.99))
    rng = np.random.default_rng(0)
    idx = tg.tensor(rng.integers(0, 11, size=(3, 8)), dtype=tg.long, device=device)
    targets = rng.integers(0, 11, size=(3, 8))
    targets[0, :2] = -1  # ignored positions, as nanoGPT pads
    targets = tg.tensor(targets, dtype=tg.long, device=device)
    with tg.profile(show=False) as prof:
        _, loss = model(idx, targets)
        loss.backward()
        tg.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        grads = {n: p.grad.numpy() for n, p in model.named_parameters()}
        optimizer.step()
    weights = {n: p.detach().numpy() for n, p in model.named_parameters()}
    return loss.item(), grads, weights, prof


@pytest.mark.parametrize("name", list(USER.VARIANTS))
def test_variant_takes_every_fused_kernel_and_matches_the_composite(device, name, monkeypatch):
    variant = USER.VARIANTS[name]
    loss, grads, weights, prof = _train_step(variant, device)
    offered = tg.get_backend(device).fused_ops
    assert all(f.reason.startswith(f"the {device} backend has no") for f in prof.fallbacks()), (
        prof.table()
    )
    for kernel in _kernels(variant) & offered:
        assert prof.fused_calls(kernel) >= 1, f"{kernel} not fused:\n{prof.table()}"
    monkeypatch.setattr(tg.get_backend(device), "fused_ops", frozenset())
    plain_loss, plain_grads, plain_weights, _ = _train_step(variant, device)
    np.testing.assert_allclose(loss, plain_loss, rtol=1e-5)
    for n in grads:
        np.testing.assert_allclose(grads[n], plain_grads[n], rtol=1e-4, atol=1e-6, err_msg=n)
        # NOTE: Adam's first step moves each weight by about lr * sign(grad), so where a
        # gradient is float32 noise (e.g. the query biases' at init) the two paths may step
        # either way: compare the weights where the gradient is clearly not noise
        clear = np.abs(plain_grads[n]) > 1e-3 * max(np.abs(plain_grads[n]).max(), 1e-12)
        np.testing.assert_allclose(
            weights[n][clear], plain_weights[n][clear], rtol=1e-4, atol=1e-6, err_msg=n
        )
        assert np.abs(weights[n] - plain_weights[n]).max() <= 2.5e-2, n  # at most 2 lr apart


def test_user_style_gpt_computes_what_tinygpt_gpt_does(device):
    """Same weights, same batch: the user's sdpa + tanh-GELU + bias model is tinygpt.gpt.GPT."""
    from tinygpt.gpt import GPT, GPTConfig

    tg.manual_seed(0)
    reference = GPT(GPTConfig(**TINY, dropout=0.0)).to(device)
    config = USER.UserConfig(**TINY, flash=True, gelu="tanh", bias=True)
    user = USER.gpt_class(tg)(config).to(device)
    user.load_state_dict(reference.state_dict())
    idx = tg.tensor(np.arange(16).reshape(2, 8) % 11, dtype=tg.long, device=device)
    targets = tg.tensor((np.arange(16).reshape(2, 8) + 1) % 11, dtype=tg.long, device=device)
    _, expected = reference(idx, targets)
    _, got = user(idx, targets)
    np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-6)
