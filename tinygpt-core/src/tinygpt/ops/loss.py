"""Cross-entropy: the fused `CrossEntropy` primitive, the per-row losses it computes, and
PyTorch's `cross_entropy` (reductions, ignore_index, label smoothing) built on them.

No host sync: a target out of range is reported by the backend's kernel (an IndexError), and
with TINYGPT_CHECKS=1 core checks the targets on the host first, naming the first bad one.

>>> import tinygpt as tg
>>> logits = tg.tensor([[0.0, 0.0], [0.0, 0.0]])
>>> round(tg.cross_entropy(logits, tg.tensor([0, 1])).item(), 4)  # log(2)
0.6931
"""

from __future__ import annotations

from .. import array_ops as A
from ..autograd.function import Function
from ..config import env_checks
from ..creation import arange
from ..dtypes import int64, statistics_dtype
from ..errors import DTypeError, ShapeError
from ..ndarray import NDArray
from ..tensor import Tensor
from . import autocast
from .activation import log_softmax
from .comparison import where
from .dispatch import use_fused
from .indexing import Gather
from .promotion import cast, check_devices, check_float
from .reductions import argmax

__all__ = ["CrossEntropy", "cross_entropy", "nll_loss", "cross_entropy_rows"]

_REDUCTIONS = ("mean", "sum", "none")


class CrossEntropy(Function):
    """Per-row loss logsumexp(logits) - logits[target].  (N, C), (N,) int64 -> (N,)."""

    def forward(self, logits: NDArray, targets: NDArray, ignore_index: int) -> NDArray:
        loss, lse = A.fused_call("cross_entropy", logits, targets, ignore_index)
        rows = logits.shape[:1]
        # float16 logits keep a float32 logsumexp (1e4 + log 3 would round to 1e4)
        lse_arr = A.wrap(logits, lse, rows, statistics_dtype(logits.dtype))
        self.ignore_index = ignore_index
        self.save_for_backward(logits, targets, lse_arr)
        return A.wrap(logits, loss, rows, logits.dtype)

    def backward(self, grad: NDArray) -> tuple[NDArray, None]:
        logits, targets, lse = self.saved
        dlogits = A.fused(
            "cross_entropy_backward",
            logits.shape,
            logits.dtype,
            grad,
            logits,
            targets,
            lse,
            self.ignore_index,
        )
        return dlogits, None


# ------------------------------------------------------------------ functions
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
    logits = autocast.upper(logits, "cross_entropy")
    flat_logits, flat_target = _flatten_classes("cross_entropy", logits, target)
    loss = cross_entropy_rows(flat_logits, flat_target, ignore_index)  # (M,)
    valid = flat_target != ignore_index
    if label_smoothing > 0.0:
        # the uniform part: -mean_c log p_c = logsumexp(x) - mean_c x_c
        uniform = flat_logits.logsumexp(-1) - flat_logits.mean(-1)
        uniform = where(valid, uniform, 0.0)
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
    if env_checks():
        _check_targets(flat_target, flat.shape[1], ignore_index, "nll_loss")
    loss = where(valid, -_pick(flat, flat_target, ignore_index), 0.0)  # (M,)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"nll_loss: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if reduction == "mean":
        return loss.sum() / valid.sum().to(loss.dtype)
    if reduction == "sum":
        return loss.sum()
    return loss.reshape(*target.shape)


def cross_entropy_rows(logits: Tensor, targets: Tensor, ignore_index: int = -100) -> Tensor:
    """Per-row cross-entropy; rows whose target is `ignore_index` get loss 0.

    logits (N, C) floating, targets (N,) int64 with values in [0, C) -> losses (N,).
    """
    check_float("cross_entropy", logits)
    if logits.ndim != 2 or targets.shape != logits.shape[:1]:
        raise ShapeError(
            f"cross_entropy: expected logits (N, C) and targets (N,), got {logits.shape} and "
            f"{targets.shape}"
        )
    if targets.dtype.kind != "i":
        raise DTypeError(
            f"cross_entropy: targets must be class indices (int64), got {targets.dtype}; "
            "use .long() on integer-valued targets"
        )
    check_devices("cross_entropy", logits, targets)
    targets = cast(targets, int64)
    if env_checks():
        _check_targets(targets, logits.shape[1], ignore_index)
    if use_fused("cross_entropy", logits):
        return CrossEntropy.apply(logits, targets, ignore_index=ignore_index)
    valid = targets != ignore_index
    # NOTE: PyTorch's definition, nll(log_softmax(x)), and its answers: a +inf logit gives
    # nan (as the fused kernels), where logsumexp(x) - x[target] would give inf
    loss = -_pick(log_softmax(logits, 1), targets, ignore_index)  # (N,)
    return where(valid, loss, 0.0)


def _check_targets(
    targets: Tensor, classes: int, ignore_index: int, op: str = "cross_entropy"
) -> None:
    """TINYGPT_CHECKS=1 only: name the first bad target (NOTE: host reads)."""
    if targets.numel() == 0:
        return
    outside = (targets < 0) | (targets >= classes)
    bad = outside & (targets != ignore_index)
    if not bool(bad.any()):
        return
    first = int(argmax(cast(bad, int64)).item())
    value = int(targets[first].item())
    raise IndexError(
        f"{op}: target {value} (row {first}) is out of range for {classes} classes; "
        f"targets must be in [0, {classes}) or equal ignore_index={ignore_index}"
    )


def _pick(scores: Tensor, targets: Tensor, ignore_index: int) -> Tensor:
    """scores[i, targets[i]] for each row: (N, C), (N,) -> (N,); ignored rows pick column 0.

    Unlike `scores[rows, targets]`, a negative target is not counted from the end: it is an
    error, as in PyTorch. No host read: a bad target becomes index -1, which the backend's
    gather refuses (TINYGPT_CHECKS=1 names it first).
    """
    classes = scores.shape[1]
    valid = targets != ignore_index
    inside = (targets >= 0) & (targets < classes)
    rows = arange(scores.shape[0], device=scores.device)
    linear = where(valid, rows * classes + targets, rows * classes)
    linear = where(inside | ~valid, linear, -1)
    return Gather.apply(scores.reshape(-1), linear, axis=0)
