"""Weight averaging, PyTorch's `torch.optim.swa_utils`: `AveragedModel` keeps a running
average of a model's weights (SWA, Izmailov et al. 2018, or an EMA), `SWALR` anneals the lr
to a constant for the averaging phase, and `update_bn` recomputes BatchNorm statistics for
the averaged weights.

    swa_model = AveragedModel(model)       # EMA: multi_avg_fn=get_ema_multi_avg_fn(0.999)
    swa_sched = SWALR(opt, swa_lr=0.05)
    for epoch in range(epochs):
        train_one_epoch(model, opt)
        if epoch >= swa_start:
            swa_model.update_parameters(model); swa_sched.step()
    update_bn(loader, swa_model)
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

import tinygpt as tg
from tinygpt import Tensor
from tinygpt.nn import Module

from .lr_scheduler import LRScheduler
from .optimizer import Optimizer

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]

#: (averaged, current, number averaged so far) -> the new average
AvgFn = Callable[[Tensor, Tensor, Any], Tensor]
#: the same for lists of tensors, updating the averages in place
MultiAvgFn = Callable[[list[Tensor], list[Tensor], Any], None]


def get_ema_avg_fn(decay: float = 0.999) -> AvgFn:
    """An exponential moving average: `decay * averaged + (1 - decay) * current`."""

    def ema_update(averaged: Tensor, current: Tensor, num_averaged: Any) -> Tensor:
        return decay * averaged + (1 - decay) * current

    return ema_update


def get_swa_avg_fn() -> AvgFn:
    """The plain mean of every model seen: `averaged + (current - averaged) / (n + 1)`."""

    def swa_update(averaged: Tensor, current: Tensor, num_averaged: Any) -> Tensor:
        return averaged + (current - averaged) / (_count(num_averaged) + 1)

    return swa_update


def get_ema_multi_avg_fn(decay: float = 0.999) -> MultiAvgFn:
    """`get_ema_avg_fn` over lists, in place: each average moves `1 - decay` towards current."""

    def ema_update(averaged: list[Tensor], current: list[Tensor], num_averaged: Any) -> None:
        for a, c in zip(averaged, current, strict=True):
            if a.is_floating_point():
                a.lerp_(c, 1 - decay)
            else:
                a.copy_(c)  # NOTE: counters (integer buffers) cannot be averaged

    return ema_update


def get_swa_multi_avg_fn() -> MultiAvgFn:
    """`get_swa_avg_fn` over lists, in place."""

    def swa_update(averaged: list[Tensor], current: list[Tensor], num_averaged: Any) -> None:
        weight = 1.0 / (_count(num_averaged) + 1)
        for a, c in zip(averaged, current, strict=True):
            if a.is_floating_point():
                a.lerp_(c, weight)
            else:
                a.copy_(c)  # NOTE: counters (integer buffers) cannot be averaged

    return swa_update


def _count(num_averaged: Any) -> float:
    return float(num_averaged.item()) if isinstance(num_averaged, Tensor) else float(num_averaged)


class AveragedModel(Module):
    """A copy of `model` whose weights are an average of the weights it was given by
    `update_parameters(model)`; calling it runs the copy.

    The default is SWA's equal-weight mean; `avg_fn` (per tensor) or `multi_avg_fn` (per
    list, in place) choose another, e.g. `get_ema_multi_avg_fn(0.999)`. With `use_buffers`
    the buffers (BatchNorm statistics) are averaged too, else copied from the model.
    """

    def __init__(
        self,
        model: Module,
        device: Any = None,
        avg_fn: AvgFn | None = None,
        multi_avg_fn: MultiAvgFn | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("AveragedModel: pass avg_fn or multi_avg_fn, not both")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tg.tensor(0, dtype=tg.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold `model`'s current weights into the average (the first call copies them)."""
        ours = self._tensors(self.module)
        theirs = [t.detach().to(a.device) for a, t in zip(ours, self._tensors(model))]
        n = int(self.n_averaged.item())
        with tg.no_grad():
            if n == 0:
                for a, t in zip(ours, theirs):
                    a.copy_(t)
            elif self.avg_fn is not None:
                for a, t in zip(ours, theirs):
                    a.copy_(self.avg_fn(a, t, self.n_averaged))
            else:
                update = self.multi_avg_fn or get_swa_multi_avg_fn()
                update(ours, theirs, self.n_averaged)
            if not self.use_buffers:
                # the buffers are not averaged: they follow the model
                for b_ours, b_theirs in zip(self.module.buffers(), model.buffers(), strict=True):
                    b_ours.copy_(b_theirs.detach().to(b_ours.device))
            self.n_averaged.add_(1)

    def _tensors(self, module: Module) -> list[Tensor]:
        """The tensors averaged: parameters, then buffers with use_buffers (detached)."""
        chosen: Iterable[Tensor] = module.parameters()
        if self.use_buffers:
            chosen = itertools.chain(module.parameters(), module.buffers())
        return [t.detach() for t in chosen]


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute every BatchNorm's running statistics with one pass over `loader`, as a plain
    average over its batches (the averaged weights never produced the old statistics).

    Each batch is the input, or a list/tuple whose first element is.
    """
    momenta: dict[Module, Any] = {}
    for module in model.modules():
        if hasattr(module, "reset_running_stats") and hasattr(module, "momentum"):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None  # None: a cumulative average over the batches
    with tg.no_grad():
        for batch in loader:
            inputs = batch[0] if isinstance(batch, (list, tuple)) else batch
            if device is not None:
                inputs = inputs.to(device)
            model(inputs)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr from its current value to `swa_lr` over `anneal_epochs` steps
    ("cos" or "linear"), then hold it: `swa_lr * a + lr0 * (1 - a)`, a from 0 to 1.

    NOTE: lr0 is the lr when SWALR is built (a schedule before it may have moved it), as in
    PyTorch, which recovers it from the current lr at every step.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: float | list[float],
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        groups = optimizer.param_groups
        targets = list(swa_lr) if isinstance(swa_lr, (list, tuple)) else [swa_lr] * len(groups)
        if len(targets) != len(groups):
            raise ValueError(f"SWALR: got {len(targets)} swa_lr values for {len(groups)} groups")
        for group, target in zip(groups, targets):
            group["swa_lr"] = target
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"SWALR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"SWALR: anneal_epochs must be an int >= 0, got {anneal_epochs}")
        self.anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        self.start_lrs = [group["lr"] for group in groups]
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if self.anneal_epochs == 0:
            step = max(1, step)  # no annealing: swa_lr from the first step
        t = max(0.0, min(1.0, step / max(1, self.anneal_epochs)))
        a = t if self.anneal_strategy == "linear" else (1 - math.cos(math.pi * t)) / 2
        groups = self.optimizer.param_groups
        return [g["swa_lr"] * a + lr0 * (1 - a) for g, lr0 in zip(groups, self.start_lrs)]
