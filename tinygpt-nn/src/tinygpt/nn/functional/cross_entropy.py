"""cross_entropy and nll_loss with all of PyTorch's arguments: per-class `weight`, class
probability targets, label smoothing, ignore_index, and the legacy size_average / reduce.

The everyday call (integer targets, no weight) goes straight to core's `tg.cross_entropy`
/ `tg.nll_loss`, which use a backend's fused kernel when there is one; the rest is composed
here. With class weights PyTorch's "mean" divides by the summed weight of the counted
targets, not by their number; with probability targets it divides by the number of samples.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> logits = tg.tensor([[0.0, 0.0], [0.0, 0.0]])
>>> round(F.cross_entropy(logits, tg.tensor([0, 1]), tg.tensor([1.0, 3.0])).item(), 4)
0.6931
>>> round(F.cross_entropy(logits, tg.tensor([[0.5, 0.5], [1.0, 0.0]])).item(), 4)
0.6931
"""

from __future__ import annotations

import tinygpt as tg
from tinygpt import DTypeError, ShapeError, Tensor

from .loss_more import legacy_reduction

__all__ = ["cross_entropy", "nll_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def _class_dim(op: str, x: Tensor) -> int:
    if x.ndim == 0:
        raise ShapeError(f"{op}: input must have a class dim, got a 0-d tensor")
    return 1 if x.ndim >= 2 else 0


def _weight_view(weight: Tensor, x: Tensor, dim: int) -> Tensor:
    view = [1] * x.ndim
    view[dim] = weight.shape[0]
    return weight.reshape(*view)


def _weighted_nll(
    op: str,
    log_probs: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float = 0.0,
) -> Tensor:
    """PyTorch's weighted negative log-likelihood (with optional label smoothing)."""
    dim = _class_dim(op, log_probs)
    classes = log_probs.shape[dim]
    if weight is None:
        weight = tg.ones(classes, dtype=log_probs.dtype, device=log_probs.device)
    if weight.shape != (classes,):
        raise ShapeError(f"{op}: weight {weight.shape} must have one entry per class ({classes})")
    valid = target != ignore_index
    safe = tg.where(valid, target, tg.zeros_like(target))
    picked = log_probs.gather(dim, safe.unsqueeze(dim)).squeeze(dim)
    w = tg.index_select(weight, 0, safe.reshape(-1)).reshape(*safe.shape)
    w = tg.where(valid, w, tg.zeros_like(w))
    loss = -picked * w
    if label_smoothing > 0.0:
        smooth = -(log_probs * _weight_view(weight, log_probs, dim)).sum(dim)
        smooth = tg.where(valid, smooth, tg.zeros_like(smooth))
        loss = loss * (1.0 - label_smoothing) + smooth * (label_smoothing / classes)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / w.sum()  # NOTE: nan when every target is ignored, as in PyTorch


def _soft_targets(
    log_probs: Tensor,
    target: Tensor,
    weight: Tensor | None,
    reduction: str,
    label_smoothing: float,
) -> Tensor:
    """Cross-entropy against class probabilities: -sum_c w_c t_c log p_c per sample."""
    if target.shape != log_probs.shape:
        # NOTE: most often integer labels stored as floats, so say that first
        raise DTypeError(
            f"cross_entropy: targets must be class indices (int64), got {target.dtype} of "
            f"shape {target.shape}; use .long(), or pass class probabilities of the input's "
            f"shape {log_probs.shape}"
        )
    dim = _class_dim("cross_entropy", log_probs)
    classes = log_probs.shape[dim]
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    terms = log_probs * target
    if weight is not None:
        terms = terms * _weight_view(weight, log_probs, dim)
    loss = -terms.sum(dim)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (log_probs.numel() // classes)


def _check(op: str, reduction: str, label_smoothing: float) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")


def cross_entropy(
    input: Tensor,  # noqa: A002 - PyTorch's name
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """-log softmax(input)[target] from raw scores: input (N, C) or (C,) or (N, C, d...),
    target class indices (N,) / () / (N, d...) int64, or class probabilities like input."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check("cross_entropy", reduction, label_smoothing)
    if target.dtype.is_floating_point:
        dim = _class_dim("cross_entropy", input)
        return _soft_targets(input.log_softmax(dim), target, weight, reduction, label_smoothing)
    if weight is None:
        return tg.cross_entropy(
            input,
            target,
            ignore_index=ignore_index,
            reduction=reduction,
            label_smoothing=label_smoothing,
        )
    log_probs = input.log_softmax(_class_dim("cross_entropy", input))
    return _weighted_nll(
        "cross_entropy", log_probs, target, weight, ignore_index, reduction, label_smoothing
    )


def nll_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-input[target] for log-probabilities input (N, C) (after a log_softmax)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check("nll_loss", reduction, 0.0)
    if weight is None:
        return tg.nll_loss(input, target, ignore_index=ignore_index, reduction=reduction)
    return _weighted_nll("nll_loss", input, target, weight, ignore_index, reduction)
