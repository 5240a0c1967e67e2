"""More losses with PyTorch's names and rules: binary_cross_entropy (on probabilities),
kl_div, smooth_l1_loss and huber_loss.

`reduction` is "mean" (default), "sum" or "none"; kl_div also takes "batchmean" (the sum
divided by the batch size, the true KL divergence per sample).

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.smooth_l1_loss(tg.tensor([0.0, 3.0]), tg.tensor([0.5, 0.0]), reduction="none").tolist()
[0.125, 2.5]
"""

from __future__ import annotations

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .loss import _reduce

__all__ = ["binary_cross_entropy", "kl_div", "smooth_l1_loss", "huber_loss"]

#: PyTorch clamps each log in binary_cross_entropy here, so p = 0 or 1 gives a finite loss
_LOG_FLOOR = -100.0


def _same_shape(op: str, input: Tensor, target: Tensor) -> None:  # noqa: A002
    if input.shape != target.shape:
        raise ShapeError(
            f"{op}: input {input.shape} and target {target.shape} must have one shape "
            "(broadcasting is refused, as it hides bugs); reshape one of them"
        )


def binary_cross_entropy(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-w [y log p + (1 - y) log(1 - p)] for probabilities p in [0, 1] (after a sigmoid).

    Each log is clamped at -100, as in PyTorch. Prefer binary_cross_entropy_with_logits on
    raw scores: it is stabler.
    """
    _same_shape("binary_cross_entropy", input, target)
    if not target.dtype.is_floating_point:
        target = target.to(input.dtype)
    log_p = input.log().clamp(min=_LOG_FLOOR)
    log_not_p = (1.0 - input).log().clamp(min=_LOG_FLOOR)
    loss = -(target * log_p + (1.0 - target) * log_not_p)
    if weight is not None:
        loss = loss * weight
    return _reduce("binary_cross_entropy", loss, reduction)


def kl_div(
    input: Tensor,  # noqa: A002
    target: Tensor,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL(target || exp(input)) pointwise: target * (log target - input), input a log-prob.

    With log_target=True the target is given as log-probabilities too. "batchmean" divides
    the sum by input.shape[0]; "mean" divides by the element count (as PyTorch, which warns).
    """
    _same_shape("kl_div", input, target)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # target * log(target) is taken as 0 where target == 0 (its limit); the clamp keeps
        # log(0) = -inf out of the branch `where` drops, whose gradient would be nan
        safe = target.clamp(min=1e-38)
        loss = tg.where(target > 0, target * (safe.log() - input), -(target * input))
    if reduction == "batchmean":
        batch = input.shape[0] if input.ndim > 0 else 1
        return loss.sum() / batch
    return _reduce("kl_div", loss, reduction)


def smooth_l1_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)."""
    _same_shape("smooth_l1_loss", input, target)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    diff = (input - target).abs()
    if beta == 0.0:
        return _reduce("smooth_l1_loss", diff, reduction)  # the l1 loss, as PyTorch
    loss = tg.where(diff < beta, diff * diff * (0.5 / beta), diff - 0.5 * beta)
    return _reduce("smooth_l1_loss", loss, reduction)


def huber_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): smooth_l1 scaled by delta."""
    _same_shape("huber_loss", input, target)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    diff = (input - target).abs()
    loss = tg.where(diff < delta, diff * diff * 0.5, (diff - 0.5 * delta) * delta)
    return _reduce("huber_loss", loss, reduction)
