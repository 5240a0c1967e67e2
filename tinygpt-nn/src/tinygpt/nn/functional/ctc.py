"""ctc_loss: Connectionist Temporal Classification (Graves et al. 2006), PyTorch's F.ctc_loss.

CTC scores every alignment of a label sequence to T frames that, after merging repeats and
dropping blanks, reads as the labels. The forward (alpha) recursion runs over the extended
labels l' = (blank, l1, blank, l2, ..., blank), of length L = 2S + 1:

    alpha_t(s) = logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1), alpha_{t-1}(s-2) if allowed)
                 + log_probs[t, l'(s)]

where the skip from s - 2 is allowed when l'(s) is a label different from l'(s-2). The loss
is -logsumexp(alpha_{T-1}(L-1), alpha_{T-1}(L-2)). Every step is a few batched tensor ops
over (N, L), so autograd gives the gradient; T steps run in a Python loop.

subtle: "impossible" is a large finite negative number rather than -inf, because the
gradient of logsumexp over only -inf entries is nan (0 / 0), and 0 * nan poisons the rest.
Losses that stay at that level are reported as inf, as PyTorch does.

NOTE: this gradient is the true derivative with respect to log_probs. PyTorch's kernel
returns one that is only right after the log_softmax that usually produces log_probs; through
a log_softmax the two agree (a test checks it).

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> lp = tg.full((2, 1, 2), 0.5).log()  # 2 frames, 1 sample, classes {blank, a}
>>> round(F.ctc_loss(lp, tg.tensor([[1]]), [2], [1], reduction="sum").item(), 4)  # P = 3/4
0.2877
"""

from __future__ import annotations

from collections.abc import Sequence

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .loss import _reduce

__all__ = ["ctc_loss"]

Lengths = Tensor | Sequence[int]


def _as_list(op: str, name: str, value: Lengths, count: int) -> list[int]:
    items = value.tolist() if isinstance(value, Tensor) else list(value)
    flat = [int(v) for v in (items if isinstance(items, list) else [items])]
    if len(flat) != count:
        raise ShapeError(f"{op}: {name} has {len(flat)} entries for a batch of {count}")
    return flat


def _padded_targets(targets: Tensor, lengths: list[int]) -> Tensor:
    """(N, S) targets, from (N, S) as given or from the 1-D concatenation of all of them."""
    if targets.ndim == 2:
        return targets
    rows = []
    start = 0
    longest = max(lengths + [1])
    for n in lengths:
        row = targets[start : start + n]
        if n < longest:
            row = tg.cat([row, tg.zeros(longest - n, dtype=targets.dtype, device=targets.device)])
        rows.append(row)
        start += n
    return tg.stack(rows)


def _logsumexp3(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    # NOTE: the max is detached: it only keeps exp in range, the value does not depend on it
    top = tg.maximum(tg.maximum(a, b), c).detach()
    return top + ((a - top).exp() + (b - top).exp() + (c - top).exp()).log()


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Lengths,
    target_lengths: Lengths,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """CTC loss of log_probs (T, N, C) (log_softmax output) against targets (N, S) or the
    1-D concatenation of all targets; "mean" divides each loss by its target length first."""
    op = "ctc_loss"
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0) if targets.ndim == 1 else targets
    if log_probs.ndim != 3:
        raise ShapeError(f"{op}: expected log_probs (T, N, C) or (T, C), got {log_probs.shape}")
    frames, batch, classes = log_probs.shape
    in_lens = _as_list(op, "input_lengths", input_lengths, batch)
    tgt_lens = _as_list(op, "target_lengths", target_lengths, batch)
    if max(in_lens) > frames:
        raise ShapeError(f"{op}: an input length {max(in_lens)} exceeds the {frames} frames")
    if not 0 <= blank < classes:
        raise ValueError(f"{op}: blank {blank} is not a class index in [0, {classes})")
    labels = _padded_targets(targets, tgt_lens).to(tg.int64)  # (N, S)
    width = 2 * labels.shape[1] + 1
    device = log_probs.device
    # extended labels (N, L): blank at even positions, the targets at odd ones
    ext = tg.full((batch, width), blank, dtype=tg.int64, device=device)
    if labels.shape[1] > 0:
        ext[:, 1::2] = labels
    # skipping from s - 2 to s is allowed onto a label that differs from the one before
    same = tg.zeros(batch, width, dtype=tg.bool, device=device)
    if labels.shape[1] > 1:
        same[:, 3::2] = labels[:, 1:] == labels[:, :-1]
    allow_skip = (ext != blank) & ~same
    allow_skip[:, :2] = False
    neg = tg.finfo(log_probs.dtype).min / 4.0
    floor = tg.full((batch, width), neg, dtype=log_probs.dtype, device=device)
    start = tg.arange(width, device=device).reshape(1, -1) < 2  # only s = 0, 1 at t = 0
    alpha = tg.where(start, log_probs[0].gather(1, ext), floor)  # (N, L)
    lengths = tg.tensor(in_lens, device=device).reshape(-1, 1)
    pad = tg.full((batch, 1), neg, dtype=log_probs.dtype, device=device)
    pad2 = tg.full((batch, 2), neg, dtype=log_probs.dtype, device=device)
    for t in range(1, frames):
        stay = alpha
        step = tg.cat([pad, alpha[:, :-1]], 1)
        skip = tg.where(allow_skip, tg.cat([pad2, alpha[:, :-2]], 1), floor)
        new = _logsumexp3(stay, step, skip) + log_probs[t].gather(1, ext)
        alpha = tg.where(lengths > t, new, alpha)  # a finished sample keeps its alpha
    last = tg.tensor([2 * n for n in tgt_lens], device=device).reshape(-1, 1)  # (N, 1)
    end = alpha.gather(1, last)
    before = alpha.gather(1, (last - 1).clamp(min=0))
    before = tg.where(last > 0, before, pad)
    loss = -_logsumexp3(end, before, pad).reshape(batch)
    impossible = loss > -neg / 2.0
    if zero_infinity:
        loss = tg.where(impossible, tg.zeros_like(loss), loss)
    else:
        loss = tg.where(impossible, tg.full_like(loss, float("inf")), loss)
    if reduction == "mean":
        divisor = tg.tensor([max(n, 1) for n in tgt_lens], dtype=loss.dtype, device=device)
        return (loss / divisor).mean()
    if unbatched and reduction == "none":
        return loss.reshape(())
    return _reduce(op, loss, reduction)
