"""linear, embedding and dropout: the functional forms of Linear, Embedding and Dropout.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.linear(tg.ones(2, 3), tg.ones(4, 3), tg.zeros(4)).shape
(2, 4)
"""

from __future__ import annotations

import tinygpt as tg
from tinygpt import DTypeError, ShapeError, Tensor, linear

__all__ = ["linear", "embedding", "dropout"]


def embedding(idx: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of `weight` picked by integer ids.  idx (...) int, weight (V, D) -> (..., D).

    Ids equal to `padding_idx` get their row but send no gradient back to it.
    """
    if idx.dtype.kind != "i":
        raise DTypeError(f"embedding: ids must be an integer tensor (int64), got {idx.dtype}")
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be (num_embeddings, dim), got {weight.shape}")
    # (..., D); as in PyTorch an id outside [0, V) is an error (negative ones too), which
    # the backend reports without a host read
    rows = tg.index_select(weight, 0, idx.reshape(-1)).reshape(*idx.shape, weight.shape[1])
    if padding_idx is None:
        return rows
    keep = (idx != padding_idx).unsqueeze(-1)  # (..., 1)
    # same values either way; only the detached branch cuts the padding rows' gradient
    return tg.where(keep, rows, rows.detach())


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p), in training.

    The scaling keeps the expected value unchanged, so evaluation needs no rescaling.
    Seeded by `tg.manual_seed`. `inplace=True` writes the result into x.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if inplace:
        from .activations_extra import apply_inplace

        return apply_inplace(x, lambda t: dropout(t, p, training))
    if p == 1.0:
        return x * 0.0
    keep = tg.rand(*x.shape, dtype=x.dtype, device=x.device) >= p  # bool, P(True) = 1 - p
    return tg.where(keep, x * (1.0 / (1.0 - p)), 0.0)
