"""nanoGPT's `GPT` methods on tinygpt's GPT, so a nanoGPT training script runs against it.

nanoGPT's `train.py` calls `model.configure_optimizers(...)`, `model.crop_block_size(...)`,
`model.get_num_params()` and `model.estimate_mfu(...)`; they are here with nanoGPT's
signatures and meanings, as a mixin of `GPT` (model.py stays about the model).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import tinygpt as tg
from tinygpt import nn, optim

if TYPE_CHECKING:
    from .config import GPTConfig

__all__ = ["NanoGPTMethods", "A100_BF16_PEAK_FLOPS"]

#: the peak nanoGPT's `estimate_mfu` divides by: an A100's bfloat16 tensor-core rate
A100_BF16_PEAK_FLOPS = 312e12


class NanoGPTMethods:
    """Mixed into `GPT`; expects `config`, `transformer` and `num_params` from it."""

    config: GPTConfig
    transformer: Any

    def get_num_params(self, non_embedding: bool = True) -> int:
        """nanoGPT's name for `num_params`: without the position embeddings by default."""
        return self.num_params(non_embedding)  # type: ignore[attr-defined]

    def configure_optimizers(
        self,
        weight_decay: float,
        learning_rate: float,
        betas: tuple[float, float],
        device_type: str | None = None,
    ) -> optim.AdamW:
        """AdamW with nanoGPT's two groups: weight decay on every parameter with 2 or more
        dims (matrices, embeddings), none on biases and LayerNorm gains. `device_type` is
        accepted for nanoGPT's call and not needed (tinygpt's AdamW is one fused kernel per
        group on every backend)."""
        del device_type
        params = [p for p in self.parameters() if p.requires_grad]  # type: ignore[attr-defined]
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        groups = [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        return optim.AdamW(groups, lr=learning_rate, betas=betas)

    def crop_block_size(self, block_size: int) -> None:
        """Shrink the context to `block_size` positions (e.g. a GPT-2 checkpoint's 1024 down
        to 256 for a small fine-tune): the position table keeps its first rows."""
        if not isinstance(block_size, int) or not 1 <= block_size <= self.config.block_size:
            raise ValueError(
                f"crop_block_size: block_size={block_size!r} must be an int in "
                f"[1, {self.config.block_size}] (the model's block_size); a model cannot grow"
            )
        wpe = self.transformer.wpe
        with tg.no_grad():
            rows = wpe.weight[:block_size].clone()
        wpe.weight = nn.Parameter(rows)
        wpe.num_embeddings = block_size
        self.config = dataclasses.replace(self.config, block_size=block_size)  # frozen

    def estimate_mfu(self, fwdbwd_per_iter: int, dt: float) -> float:
        """nanoGPT's model FLOPs utilization: the FLOPs of `fwdbwd_per_iter` forward +
        backward passes of block_size tokens done in `dt` seconds, as a fraction of an
        A100's bfloat16 peak (PaLM's estimate: 6 N + 12 L H Q T per token). On a CPU it is
        tiny; the CPU's own figure is in benchmarks/cpu_report.py."""
        cfg = self.config
        per_token = 6 * self.get_num_params() + 12 * cfg.n_layer * cfg.n_embd * cfg.block_size
        flops = per_token * cfg.block_size * fwdbwd_per_iter
        return flops / dt / A100_BF16_PEAK_FLOPS
