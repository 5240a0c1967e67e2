"""Embedding: a lookup table from integer ids to learned vectors.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> wte = nn.Embedding(10, 4)
>>> wte(tg.tensor([[1, 2, 3]])).shape
(1, 3, 4)
"""

from __future__ import annotations

from typing import Any

import tinygpt as tg
from tinygpt import Tensor

from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """weight[idx].  idx (...) int64 -> (..., embedding_dim); weight starts as N(0, 1).

    The row `padding_idx` (if given) starts at zero and gets no gradient.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx {padding_idx} is out of range for "
                    f"{num_embeddings} embeddings"
                )
            padding_idx %= num_embeddings
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        shape = (num_embeddings, embedding_dim)
        self.weight = Parameter(tg.empty(*shape, device=device, dtype=dtype))
        self.reset_parameters()

    @classmethod
    def from_pretrained(
        cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None
    ) -> Embedding:
        """An Embedding holding a copy of `embeddings` (num_embeddings, embedding_dim);
        frozen (no gradient) unless `freeze=False`, as PyTorch's."""
        if embeddings.ndim != 2:
            raise tg.ShapeError(
                f"Embedding.from_pretrained: embeddings must be 2-D, got {embeddings.shape}"
            )
        rows, dim = embeddings.shape
        out = cls(rows, dim, padding_idx, device=embeddings.device, dtype=embeddings.dtype)
        with tg.no_grad():
            out.weight.copy_(embeddings)  # subtle: padding_idx's row keeps the given values
        out.weight.requires_grad = not freeze
        return out

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with tg.no_grad():
                self.weight[self.padding_idx].fill_(0.0)

    def forward(self, idx: Tensor) -> Tensor:
        return F.embedding(idx, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text
