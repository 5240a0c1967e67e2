"""TransformerBlock: one pre-LayerNorm transformer layer, the block GPT-2 stacks.

    x = x + attn(ln_1(x))    # tokens exchange information (causal: only with the past)
    x = x + mlp(ln_2(x))     # each token is transformed on its own

Normalising *before* each sublayer (pre-LN) leaves the residual path x -> x + ... untouched
from input to output, which is what lets deep stacks train without a warm-up trick.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> block = nn.TransformerBlock(n_embd=32, n_head=4)
>>> block(tg.randn(2, 10, 32)).shape  # (B, T, C)
(2, 10, 32)
"""

from __future__ import annotations

from typing import Any

from tinygpt import ShapeError, Tensor

from ..module import Module
from .activation import GELU
from .attention import MultiheadAttention
from .dropout import Dropout
from .linear import Linear
from .normalization import LayerNorm

__all__ = ["TransformerBlock", "MLP"]


class MLP(Module):
    """Linear(C -> 4C), GELU, Linear(4C -> C), Dropout, with nanoGPT's names c_fc, c_proj.

    (B, T, C) -> (B, T, C). The 4x widening is the GPT-2 / "Attention Is All You Need" ratio.
    """

    def __init__(
        self, n_embd: int, dropout: float = 0.0, bias: bool = True, **factory: Any
    ) -> None:
        super().__init__()
        self.c_fc = Linear(n_embd, 4 * n_embd, bias=bias, **factory)
        self.gelu = GELU()
        self.c_proj = Linear(4 * n_embd, n_embd, bias=bias, **factory)
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class TransformerBlock(Module):
    """Pre-LN block: (B, T, C) -> (B, T, C); `causal` hides future tokens from each token.

    Submodules: ln_1, attn (nn.MultiheadAttention, batch_first), ln_2, mlp (c_fc, c_proj).
    `dropout` applies to the attention weights, the attention output and the MLP output.
    """

    def __init__(
        self,
        n_embd: int,
        n_head: int,
        dropout: float = 0.0,
        bias: bool = True,
        causal: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.n_embd = n_embd
        self.causal = causal
        self.ln_1 = LayerNorm(n_embd, bias=bias, **factory)
        self.attn = MultiheadAttention(n_embd, n_head, dropout, bias, batch_first=True, **factory)
        self.resid_dropout = Dropout(dropout)
        self.ln_2 = LayerNorm(n_embd, bias=bias, **factory)
        self.mlp = MLP(n_embd, dropout, bias, **factory)

    def forward(self, x: Tensor, key_padding_mask: Tensor | None = None) -> Tensor:
        """x (B, T, C); key_padding_mask (B, T) bool, True at padding tokens to ignore."""
        if x.ndim != 3 or x.shape[-1] != self.n_embd:
            raise ShapeError(
                f"TransformerBlock(n_embd={self.n_embd}): expected input (B, T, {self.n_embd}), "
                f"got {x.shape}"
            )
        h = self.ln_1(x)
        attended, _ = self.attn(h, h, h, key_padding_mask, is_causal=self.causal)
        x = x + self.resid_dropout(attended)
        return x + self.mlp(self.ln_2(x))

    def extra_repr(self) -> str:
        return f"causal={self.causal}"
