"""AdaptiveLogSoftmaxWithLoss: the efficient softmax for large vocabularies (Grave et al.
2017), with PyTorch's parameter names (`head`, `tail.i.0`, `tail.i.1`) so checkpoints load.

Frequent classes (below cutoffs[0]) get a full row in the `head`; each rarer band of classes
is one extra head entry ("is it in cluster i?") plus a small two-layer projection `tail[i]`
that only runs on the rows whose targets fall in that band. So
log p(c) = log p_head(c) for shortlist classes, and
log p(c) = log p_head(cluster i) + log p_tail_i(c - cutoff) otherwise.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> asm = nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=[4, 8])
>>> out = asm(tg.randn(3, 8), tg.tensor([1, 5, 9]))
>>> out.output.shape, out.loss.shape, asm.log_prob(tg.randn(3, 8)).shape
((3,), (), (3, 10))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from ..module import Module
from .container import ModuleList, Sequential
from .linear import Linear

__all__ = ["AdaptiveLogSoftmaxWithLoss", "ASMOutput"]


class ASMOutput(NamedTuple):
    """output: the log-probability of each target (N,); loss: the mean negative of it."""

    output: Tensor
    loss: Tensor


class AdaptiveLogSoftmaxWithLoss(Module):
    """forward(input (N, in_features), target (N,)) -> ASMOutput(output (N,), loss ())."""

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        cutoffs: Sequence[int],
        div_value: float = 4.0,
        head_bias: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        cuts = list(cutoffs)
        if (
            not cuts
            or cuts != sorted(cuts)
            or min(cuts) <= 0
            or max(cuts) > n_classes - 1
            or len(set(cuts)) != len(cuts)
            or any(int(c) != c for c in cuts)
        ):
            raise ValueError(
                "AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of unique, positive "
                f"integers sorted in increasing order, each between 1 and n_classes - 1; got "
                f"{cuts} for n_classes={n_classes}"
            )
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cuts + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, head_bias, device, dtype)
        tails = []
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            width = self.cutoffs[i + 1] - self.cutoffs[i]
            tails.append(
                Sequential(
                    Linear(in_features, hidden, False, device, dtype),
                    Linear(hidden, width, False, device, dtype),
                )
            )
        self.tail = ModuleList(tails)

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for projection in self.tail:
            for layer in projection:
                layer.reset_parameters()

    def forward(self, input: Tensor, target: Tensor) -> ASMOutput:  # noqa: A002
        unbatched = input.ndim == 1
        if unbatched:
            input, target = input.unsqueeze(0), target.reshape(1)
        if input.ndim != 2 or target.ndim != 1 or input.shape[0] != target.shape[0]:
            raise ShapeError(
                f"AdaptiveLogSoftmaxWithLoss: expected input (N, {self.in_features}) and target "
                f"(N,), got {input.shape} and {target.shape}"
            )
        if bool(((target < 0) | (target >= self.n_classes)).any().item()):
            raise IndexError(
                f"AdaptiveLogSoftmaxWithLoss: targets must lie in [0, {self.n_classes - 1}]"
            )
        batch = target.shape[0]
        output = tg.zeros(batch, dtype=input.dtype, device=input.device)
        head_index = target
        for i in range(self.n_clusters):
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            in_cluster = (target >= low) & (target < high)
            head_index = tg.where(
                in_cluster, tg.full_like(target, self.shortlist_size + i), head_index
            )
            rows = in_cluster.nonzero().reshape(-1)  # NOTE: a host read, as in PyTorch
            if rows.numel() == 0:
                continue
            # the tail runs only on its own rows
            logits = self._tail(i, tg.index_select(input, 0, rows))  # (n_i, width)
            local = tg.index_select(target, 0, rows) - low
            picked = logits.log_softmax(1).gather(1, local.unsqueeze(1)).reshape(-1)
            output = tg.index_add(output, 0, rows, picked)
        head = self.head(input).log_softmax(1)  # (N, head_size)
        output = output + head.gather(1, head_index.unsqueeze(1)).reshape(-1)
        loss = (-output).mean()
        return ASMOutput(output[0] if unbatched else output, loss)

    def _tail(self, i: int, x: Tensor) -> Tensor:
        """Cluster i's logits (..., width)."""
        first, second = self.tail[i][0], self.tail[i][1]
        if first.out_features == 0:
            # subtle: in_features // div_value**(i+1) can round down to 0; the logits are then
            # zeros, and core's matmul cannot contract an empty dim (reported)
            return tg.zeros(*x.shape[:-1], second.out_features, dtype=x.dtype, device=x.device)
        return self.tail[i](x)

    def log_prob(self, input: Tensor) -> Tensor:  # noqa: A002
        """Every class's log-probability: (N, in_features) -> (N, n_classes)."""
        head = self.head(input).log_softmax(-1)
        parts = [head[..., : self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster = head[..., self.shortlist_size + i : self.shortlist_size + i + 1]
            parts.append(self._tail(i, input).log_softmax(-1) + cluster)
        return tg.cat(parts, -1)

    def predict(self, input: Tensor) -> Tensor:  # noqa: A002
        """The most likely class of each row: (N, in_features) -> (N,) int64."""
        return self.log_prob(input).argmax(-1)

    def extra_repr(self) -> str:
        return ""
