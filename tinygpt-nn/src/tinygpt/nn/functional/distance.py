"""Vector normalization and similarity: normalize, cosine_similarity (compositions of core's
`norm`, so gradients come for free).

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.normalize(tg.tensor([[3.0, 4.0]]), dim=-1).tolist()
[[0.6000000238418579, 0.800000011920929]]
"""

from __future__ import annotations

from tinygpt import Tensor

__all__ = ["cosine_similarity", "normalize"]


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:  # noqa: A002
    """input / max(||input||_p along dim, eps): unit vectors along `dim`."""
    return input / input.norm(p, dim=dim, keepdim=True).clamp_min(eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1 . x2 / max(||x1|| * ||x2||, eps) along `dim` (broadcasting x1 against x2)."""
    dot = (x1 * x2).sum(dim)
    norms = x1.norm(dim=dim) * x2.norm(dim=dim)
    return dot / norms.clamp_min(eps)
