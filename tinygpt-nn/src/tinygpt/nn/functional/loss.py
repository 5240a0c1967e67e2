"""Loss functions: cross_entropy, nll_loss, mse_loss, binary_cross_entropy_with_logits.

`reduction` is "mean" (default), "sum" or "none" (the per-element losses), as in PyTorch.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> logits = tg.tensor([[0.0, 0.0], [0.0, 0.0]])
>>> round(F.cross_entropy(logits, tg.tensor([0, 1])).item(), 4)  # log(2)
0.6931
"""

from __future__ import annotations

import tinygpt as tg
from tinygpt import Tensor
from tinygpt.errors import DTypeError, ShapeError
from tinygpt.ops import fused

__all__ = [
    "cross_entropy",
    "nll_loss",
    "mse_loss",
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


def _flatten_classes(op: str, logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """(C,), (N, C) or (N, C, d1, ...) logits -> (M, C); targets -> (M,), as PyTorch pairs them.

    NOTE: like PyTorch the class dim is dim 1 for 3-D and larger inputs; for GPT logits of
    shape (B, T, C) call `cross_entropy(logits.view(-1, C), targets.view(-1))`.
    """
    if target.dtype.kind != "i":
        raise DTypeError(
            f"{op}: targets must be class indices (int64), got {target.dtype}; "
            "class-probability targets are not supported, and integer-valued float targets "
            "need .long()"
        )
    if logits.ndim == 0:
        raise ShapeError(f"{op}: logits must have a class dim, got a 0-d tensor")
    expected = logits.shape[:1] + logits.shape[2:] if logits.ndim > 1 else ()
    if target.shape != expected:
        raise ShapeError(
            f"{op}: logits {logits.shape} need targets of shape {expected}, got {target.shape}"
        )
    if logits.ndim == 1:
        return logits.reshape(1, -1), target.reshape(1)
    if logits.ndim > 2:
        dims = (0, *range(2, logits.ndim), 1)
        logits = logits.permute(*dims)  # (N, d1, ..., C)
    return logits.reshape(-1, logits.shape[-1]), target.reshape(-1)


def cross_entropy(
    logits: Tensor,
    target: Tensor,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """-log softmax(logits)[target], from raw scores (no softmax beforehand).

    logits (N, C) (or (C,), or (N, C, d1, ...)), target (N,) (or (), (N, d1, ...)) int64.
    "mean" averages over the targets that are not `ignore_index`. With `label_smoothing` e
    the target is the mix (1 - e) * onehot + e / C, as in PyTorch.
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"cross_entropy: reduction must be one of {_REDUCTIONS}, got {reduction!r}"
        )
    out_shape = target.shape
    flat_logits, flat_target = _flatten_classes("cross_entropy", logits, target)
    loss = fused.cross_entropy(flat_logits, flat_target, ignore_index)  # (M,)
    valid = flat_target != ignore_index
    if label_smoothing > 0.0:
        # the uniform part: -mean_c log p_c = logsumexp(x) - mean_c x_c
        uniform = flat_logits.logsumexp(-1) - flat_logits.mean(-1)
        uniform = tg.where(valid, uniform, 0.0)
        loss = loss * (1.0 - label_smoothing) + uniform * label_smoothing
    if reduction == "none":
        return loss.reshape(*out_shape)
    if reduction == "sum":
        return loss.sum()
    # NOTE: ignored rows count neither in the sum nor in the divisor (nan if all are ignored)
    return loss.sum() / valid.sum().to(loss.dtype)


def nll_loss(
    log_probs: Tensor, target: Tensor, *, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """-log_probs[target]: cross_entropy after a log_softmax.  (N, C), (N,) int64."""
    flat, flat_target = _flatten_classes("nll_loss", log_probs, target)
    valid = flat_target != ignore_index
    safe = tg.where(valid, flat_target, 0)
    rows = tg.arange(flat.shape[0], device=flat.device)
    loss = tg.where(valid, -flat[rows, safe], 0.0)  # (M,)
    if reduction == "mean":
        return loss.sum() / valid.sum().to(loss.dtype)
    return _reduce("nll_loss", loss.reshape(*target.shape), reduction)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    """(input - target)^2, same shapes (broadcasting is refused, as it hides bugs)."""
    if input.shape != target.shape:
        raise ShapeError(
            f"mse_loss: input {input.shape} and target {target.shape} must have one shape"
        )
    diff = input - target
    return _reduce("mse_loss", diff * diff, reduction)


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
