"""Loss functions: cross_entropy, nll_loss, mse_loss, l1_loss,
binary_cross_entropy_with_logits.

cross_entropy and nll_loss come from core (`tinygpt.ops.loss`, where the fused kernel is);
the others are compositions.

`reduction` is "mean" (default), "sum" or "none" (the per-element losses), as in PyTorch.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> logits = tg.tensor([[0.0, 0.0], [0.0, 0.0]])
>>> round(F.cross_entropy(logits, tg.tensor([0, 1])).item(), 4)  # log(2)
0.6931
"""

from __future__ import annotations

from tinygpt import ShapeError, Tensor, cross_entropy, nll_loss

__all__ = [
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "binary_cross_entropy_with_logits",
]

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(op: str, loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    """(input - target)^2, same shapes (broadcasting is refused, as it hides bugs)."""
    if input.shape != target.shape:
        raise ShapeError(
            f"mse_loss: input {input.shape} and target {target.shape} must have one shape"
        )
    diff = input - target
    return _reduce("mse_loss", diff * diff, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    """|input - target|, same shapes (as mse_loss, broadcasting is refused)."""
    if input.shape != target.shape:
        raise ShapeError(
            f"l1_loss: input {input.shape} and target {target.shape} must have one shape"
        )
    return _reduce("l1_loss", (input - target).abs(), reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,  # noqa: A002
    target: Tensor,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """-[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] from raw scores x, any shape.

    `target` holds probabilities in [0, 1] (float); `pos_weight` weighs the positive term.
    """
    if input.shape != target.shape:
        raise ShapeError(
            f"binary_cross_entropy_with_logits: input {input.shape} and target {target.shape} "
            "must have one shape"
        )
    if not target.dtype.is_floating_point:
        target = target.to(input.dtype)
    # NOTE: log(1 + exp(-|x|)) never overflows, unlike log(1 + exp(-x)) for x << 0, and
    # max(x, 0) - x*y + log(1 + exp(-|x|)) equals the definition for every x
    softplus_neg = (1.0 + (-input.abs()).exp()).log()  # log(1 + exp(-|x|))
    if pos_weight is None:
        loss = input.clamp(min=0.0) - input * target + softplus_neg
    else:
        # -[w y log s(x) + (1 - y) log(1 - s(x))], with -log s(x) = softplus(-x)
        log_sig_neg = (-input).clamp(min=0.0) + softplus_neg  # -log sigmoid(x)
        loss = (1.0 - target) * input + (1.0 + (pos_weight - 1.0) * target) * log_sig_neg
    return _reduce("binary_cross_entropy_with_logits", loss, reduction)
