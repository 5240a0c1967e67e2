"""Channel-wise dropout (dropout1d/2d/3d) and the SELU-preserving alpha dropouts.

Channel-wise ("feature") dropout zeroes whole channels: one keep/drop draw per (sample,
channel), broadcast over the spatial dims, because neighbouring pixels of a feature map are
strongly correlated and dropping single pixels barely regularises.

Alpha dropout keeps the mean and variance of SELU activations: a dropped element becomes
SELU's negative saturation value -alpha * scale instead of 0, and an affine map a * x + b
restores mean 0 and variance 1 (Klambauer et al. 2017).

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.dropout2d(tg.ones(1, 2, 2, 2), 0.5, training=False).sum().item()
8.0
"""

from __future__ import annotations

import math

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .activations_extra import apply_inplace

__all__ = [
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
]

# -SELU_ALPHA * SELU_SCALE: where SELU saturates for very negative inputs
_ALPHA_PRIME = 1.7580993408473766


def _check_p(op: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: p must be in [0, 1], got {p}")


def _channel_mask(x: Tensor, p: float, spatial: int) -> Tensor:
    """keep mask (bool) of shape (N, C, 1, ...) or (C, 1, ...): one draw per channel."""
    batched = x.ndim == spatial + 2
    leading = 2 if batched else 1
    shape = tuple(x.shape[:leading]) + (1,) * (x.ndim - leading)
    return tg.rand(*shape, dtype=x.dtype, device=x.device) >= p


def _feature_dropout(op: str, x: Tensor, p: float, training: bool, spatial: int) -> Tensor:
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(
            f"{op}: expected a {spatial + 1}-D (unbatched) or {spatial + 2}-D (batched) input "
            f"(N, C, <{spatial} spatial dims>), got {x.shape}"
        )
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = _channel_mask(x, p, spatial)
    return tg.where(keep, x * (1.0 / (1.0 - p)), tg.zeros_like(x))


def dropout1d(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) with probability p, scale the rest."""
    _check_p("dropout1d", p)
    if inplace:
        return apply_inplace(x, lambda t: _feature_dropout("dropout1d", t, p, training, 1))
    return _feature_dropout("dropout1d", x, p, training, 1)


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) or (C, H, W) with probability p, scale the rest.

    NOTE: as in PyTorch, a 3-D input is read as batched 1-D data (N, C, L).
    """
    _check_p("dropout2d", p)
    spatial = 1 if x.ndim == 3 else 2
    if inplace:
        return apply_inplace(x, lambda t: _feature_dropout("dropout2d", t, p, training, spatial))
    return _feature_dropout("dropout2d", x, p, training, spatial)


def dropout3d(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) with probability p."""
    _check_p("dropout3d", p)
    if inplace:
        return apply_inplace(x, lambda t: _feature_dropout("dropout3d", t, p, training, 3))
    return _feature_dropout("dropout3d", x, p, training, 3)


def _alpha(x: Tensor, p: float, training: bool, keep_shape: tuple[int, ...]) -> Tensor:
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = tg.rand(*keep_shape, dtype=x.dtype, device=x.device) >= p
    # a, b make a * (kept x, or -alpha') + b keep mean 0 and variance 1 for unit inputs
    a = 1.0 / math.sqrt((_ALPHA_PRIME * _ALPHA_PRIME * p + 1.0) * (1.0 - p))
    b = _ALPHA_PRIME * a * p
    dropped = tg.full_like(x, -_ALPHA_PRIME * a + b)
    return tg.where(keep, x * a + b, dropped)


def alpha_dropout(
    x: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Dropout for SELU networks; note PyTorch's default training=False here."""
    _check_p("alpha_dropout", p)
    if inplace:
        return apply_inplace(x, lambda t: _alpha(t, p, training, tuple(t.shape)))
    return _alpha(x, p, training, tuple(x.shape))


def feature_alpha_dropout(
    x: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Alpha dropout of whole channels: one draw per (N, C), broadcast over the rest."""
    _check_p("feature_alpha_dropout", p)
    if x.ndim < 2:
        raise ShapeError(f"feature_alpha_dropout: expected (N, C, ...), got {x.shape}")
    shape = tuple(x.shape[:2]) + (1,) * (x.ndim - 2)
    if inplace:
        return apply_inplace(x, lambda t: _alpha(t, p, training, shape))
    return _alpha(x, p, training, shape)
