"""The rest of PyTorch's losses: Poisson and Gaussian NLL, the margin and embedding losses,
soft-margin losses and the triplet losses, each with PyTorch's formula, defaults and
reduction ("mean", "sum" or "none"; the legacy size_average / reduce flags map onto it).

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> x1, x2 = tg.tensor([1.0, 2.0]), tg.tensor([2.0, 1.0])
>>> F.margin_ranking_loss(x1, x2, tg.tensor([1.0, 1.0])).item()
0.5
>>> F.soft_margin_loss(tg.tensor([0.0]), tg.tensor([1.0])).item() == tg.tensor(2.0).log().item()
True
"""

from __future__ import annotations

import math
from collections.abc import Callable

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .activations_more import logsigmoid
from .loss import _reduce
from .norm_distance import pairwise_distance

__all__ = [
    "poisson_nll_loss",
    "gaussian_nll_loss",
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "cosine_embedding_loss",
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "legacy_reduction",
]


def legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """PyTorch's deprecated size_average / reduce flags as a reduction string."""
    if size_average is None and reduce is None:
        return reduction
    average = True if size_average is None else size_average
    total = True if reduce is None else reduce
    if not total:
        return "none"
    return "mean" if average else "sum"


def _relu(x: Tensor) -> Tensor:
    return x.clamp(min=0.0)


def poisson_nll_loss(
    input: Tensor,  # noqa: A002 - PyTorch's name
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """exp(input) - target * input (log_input), else input - target * log(input + eps).

    full=True adds Stirling's approximation of log(target!) where target > 1.
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        safe = tg.where(target > 1, target, tg.ones_like(target))
        stirling = safe * safe.log() - safe + 0.5 * (safe * (2 * math.pi)).log()
        loss = loss + tg.where(target > 1, stirling, tg.zeros_like(stirling))
    return _reduce("poisson_nll_loss", loss, reduction)


def gaussian_nll_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    var: Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """0.5 * (log(var) + (input - target)**2 / var) (+ 0.5 * log(2 pi) with full=True).

    var has input's shape, or input's with the last dim 1 or missing (one var per sample),
    or is a float (homoscedastic). var is clamped to >= eps without changing its gradient.
    """
    if not isinstance(var, Tensor):
        var = tg.full_like(input, float(var))
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)  # one variance per sample
        elif not (input.shape[:-1] == var.shape[:-1] and var.shape[-1] == 1):
            raise ShapeError(
                f"gaussian_nll_loss: var {var.shape} must match input {input.shape}, or be "
                "that shape with the last dim 1 or dropped"
            )
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"gaussian_nll_loss: {reduction!r} is not a valid reduction")
    if bool((var < 0).any().item()):
        raise ValueError("gaussian_nll_loss: var has negative entries")
    # NOTE: PyTorch clamps a copy under no_grad: the value is clamped, the gradient is not
    var = var + (var.clamp(min=eps) - var).detach()
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce("gaussian_nll_loss", loss, reduction)


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -target * (input1 - input2) + margin); target is +1 or -1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if not (input1.shape == input2.shape == target.shape):
        raise ShapeError(
            f"margin_ranking_loss: input1 {input1.shape}, input2 {input2.shape} and target "
            f"{target.shape} must have the same shape"
        )
    loss = _relu(-target * (input1 - input2) + margin)
    return _reduce("margin_ranking_loss", loss, reduction)


def hinge_embedding_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """input where target == 1, max(0, margin - input) where target == -1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    zeros = tg.zeros_like(input)
    pulled = tg.where(target != 1, _relu(margin - input), zeros)
    kept = tg.where(target != -1, input, zeros)
    return _reduce("hinge_embedding_loss", pulled + kept, reduction)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where target == 1, max(0, cos(x1, x2) - margin) where target == -1.

    x1, x2 (N, D) or (D,), target (N,) or ().
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if input1.shape != input2.shape or input1.ndim not in (1, 2):
        raise ShapeError(
            f"cosine_embedding_loss: expected input1 and input2 both (N, D) or (D,), got "
            f"{input1.shape} and {input2.shape}"
        )
    dim = input1.ndim - 1
    # PyTorch's formula: a tiny constant keeps zero vectors finite
    dot = (input1 * input2).sum(dim)
    sq1 = (input1 * input1).sum(dim) + 1e-12
    sq2 = (input2 * input2).sum(dim) + 1e-12
    cos = dot / (sq1 * sq2).sqrt()
    zeros = tg.zeros_like(cos)
    loss = tg.where(target == 1, 1.0 - cos, zeros) + tg.where(
        target == -1, _relu(cos - margin), zeros
    )
    return _reduce("cosine_embedding_loss", loss, reduction)


def soft_margin_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """log(1 + exp(-target * input)), target +1 or -1 (a logistic loss)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    loss = -logsigmoid(target * input)
    return _reduce("soft_margin_loss", loss, reduction)


def multilabel_soft_margin_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Per-class binary logistic loss averaged over the C classes: (N, C) -> (N,) then reduced."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1.0 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    per_sample = loss.sum(-1) / input.shape[-1]
    return _reduce("multilabel_soft_margin_loss", per_sample, reduction)


def multi_margin_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge: sum over i != y of max(0, margin - x[y] + x[i]) ** p / C.

    input (N, C) or (C,), target (N,) or () class indices; weight (C,) scales by class y.
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p = 1 and p = 2 are supported, got {p}")
    if input.ndim not in (1, 2) or target.ndim != input.ndim - 1:
        raise ShapeError(
            f"multi_margin_loss: expected input (N, C) with target (N,), or (C,) with (), "
            f"got {input.shape} and {target.shape}"
        )
    x = input.unsqueeze(0) if input.ndim == 1 else input
    y = target.reshape(-1, 1).to(tg.int64)  # (N, 1)
    correct = x.gather(1, y)  # (N, 1)
    hinge = _relu(margin - correct + x)  # (N, C)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * tg.index_select(weight, 0, y.reshape(-1)).reshape(-1, 1)
    classes = tg.arange(x.shape[1], device=x.device).reshape(1, -1)
    hinge = tg.where(classes == y, tg.zeros_like(hinge), hinge)  # i == y does not count
    loss = hinge.sum(1) / x.shape[1]  # (N,)
    if input.ndim == 1:
        loss = loss.reshape(())
    return _reduce("multi_margin_loss", loss, reduction)


def multilabel_margin_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-label hinge: for each target class j and non-target class i,
    max(0, 1 - (x[j] - x[i])), summed and divided by C.

    target (N, C) int64 lists the target classes, ended by the first -1 (as PyTorch).
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if input.shape != target.shape or input.ndim not in (1, 2):
        raise ShapeError(
            f"multilabel_margin_loss: expected input and target both (N, C) or (C,), got "
            f"{input.shape} and {target.shape}"
        )
    x = input.unsqueeze(0) if input.ndim == 1 else input
    t = (target.unsqueeze(0) if target.ndim == 1 else target).to(tg.int64)
    n, c = x.shape
    # entries before the first -1 are targets
    valid = (t >= 0).to(tg.int64).cumprod(1) > 0  # (N, C)
    slot = tg.where(valid, t, tg.full_like(t, c))  # invalid entries go to a spare column c
    ones = tg.ones(n, c, dtype=x.dtype, device=x.device)
    counts = tg.zeros(n, c + 1, dtype=x.dtype, device=x.device).scatter_add(1, slot, ones)
    counts = counts[:, :c]  # (N, C): how often class j is listed as a target
    is_target = counts > 0
    # (N, j, i): hinge of target j against class i
    hinge = _relu(1.0 - (x.unsqueeze(2) - x.unsqueeze(1)))
    others = (~is_target).to(x.dtype).unsqueeze(1)  # (N, 1, i)
    loss = (hinge * counts.unsqueeze(2) * others).sum((1, 2)) / c  # (N,)
    if input.ndim == 1:
        loss = loss.reshape(())
    return _reduce("multilabel_margin_loss", loss, reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin) with the p-norm distance d; swap=True uses
    min(d(a, n), d(p, n)) as the negative distance."""
    reduction = legacy_reduction(size_average, reduce, reduction)

    def distance(x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, p, eps)

    return _triplet(anchor, positive, negative, distance, margin, swap, reduction)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """triplet_margin_loss with any distance (default pairwise_distance)."""
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: margin must be > 0, got {margin}")
    distance = pairwise_distance if distance_function is None else distance_function
    return _triplet(anchor, positive, negative, distance, margin, swap, reduction)


def _triplet(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    distance: Callable[[Tensor, Tensor], Tensor],
    margin: float,
    swap: bool,
    reduction: str,
) -> Tensor:
    if not (anchor.ndim == positive.ndim == negative.ndim) or anchor.ndim not in (1, 2):
        raise ShapeError(
            f"triplet_margin_loss: anchor {anchor.shape}, positive {positive.shape} and "
            f"negative {negative.shape} must all be (N, D) or (D,)"
        )
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = tg.minimum(d_neg, distance(positive, negative))
    loss = _relu(margin + d_pos - d_neg)
    return _reduce("triplet_margin_loss", loss, reduction)
