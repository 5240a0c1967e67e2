"""TransformerEncoderLayer and TransformerEncoder, with PyTorch's arguments and parameter
names (self_attn, linear1, linear2, norm1, norm2), so a torch state dict loads key by key.

One layer is self-attention then a feed-forward network, each wrapped in a residual:

    norm_first=False (PyTorch's default, the 2017 paper):  x = norm1(x + sa(x))
                                                           x = norm2(x + ff(x))
    norm_first=True (pre-LN, as GPT-2):                    x = x + sa(norm1(x))
                                                           x = x + ff(norm2(x))

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> layer = nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, batch_first=True)
>>> encoder = nn.TransformerEncoder(layer, num_layers=2)
>>> encoder(tg.randn(2, 5, 16)).shape  # (B, T, E)
(2, 5, 16)
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from tinygpt import ShapeError, Tensor

from .. import functional as F
from ..module import Module
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerEncoder"]

_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"relu": F.relu, "gelu": F.gelu}


class TransformerEncoderLayer(Module):
    """(T, B, E) -> (T, B, E), or (B, T, E) with `batch_first`, or unbatched (T, E).

    `activation` is "relu", "gelu" or a callable (a function or a Module). `dropout` applies
    to the attention weights, after the activation and to both residual branches.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout, bias, batch_first=batch_first, **factory
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)
        self.d_model = d_model
        self.batch_first = batch_first

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        """src_mask (T, T) or (B * nhead, T, T): bool (True = may NOT attend) or additive float;
        src_key_padding_mask (B, T), True at padding; `is_causal` with no src_mask hides the
        future (with a src_mask it is PyTorch's hint that the mask is causal)."""
        if src.ndim not in (2, 3) or src.shape[-1] != self.d_model:
            layout = "(B, T, E)" if self.batch_first else "(T, B, E)"
            raise ShapeError(
                f"TransformerEncoderLayer(d_model={self.d_model}): expected src {layout} or "
                f"(T, E) with E = {self.d_model}, got {src.shape}"
            )
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(
        self, x: Tensor, mask: Tensor | None, padding: Tensor | None, is_causal: bool
    ) -> Tensor:
        out, _ = self.self_attn(
            x, x, x, key_padding_mask=padding, attn_mask=mask, is_causal=is_causal
        )
        return self.dropout1(out)

    def _ff_block(self, x: Tensor) -> Tensor:
        hidden = self.dropout(self.activation(self.linear1(x)))  # (..., dim_feedforward)
        return self.dropout2(self.linear2(hidden))


class TransformerEncoder(Module):
    """`num_layers` copies of `encoder_layer` (each with its own parameters), then `norm`.

    `enable_nested_tensor` and `mask_check` are accepted for PyTorch code and change nothing:
    there is no nested-tensor fast path here, so padded positions get computed outputs (PyTorch's
    eval fast path returns zeros there).
    """

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(encoder_layer, Module) or num_layers < 1:
            raise ValueError(
                f"TransformerEncoder: needs a layer Module and num_layers >= 1, got "
                f"{type(encoder_layer).__name__} and {num_layers}"
            )
        # NOTE: deep copies, as PyTorch: the layers start equal but train apart
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        """Every layer in turn with the same masks; then `norm` if there is one."""
        causal = bool(is_causal)
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=causal)
        if self.norm is not None:
            x = self.norm(x)
        return x


def _activation(activation: str | Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"TransformerEncoderLayer: activation={activation!r}; expected 'relu', 'gelu' or "
                "a callable"
            )
        return _ACTIVATIONS[activation]
    if not callable(activation):
        raise TypeError(f"TransformerEncoderLayer: activation {activation!r} is not callable")
    return activation
