"""More of PyTorch's lr schedules, closed forms of the step number like those in
`lr_scheduler.py` (which re-exports them): LinearLR, ExponentialLR, MultiStepLR, and
SequentialLR, which runs one schedule after another (the usual warm-up then decay):

    warmup = LinearLR(opt, start_factor=0.1, total_iters=100)
    decay = CosineAnnealingLR(opt, T_max=4900)
    sched = SequentialLR(opt, [warmup, decay], milestones=[100])
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

from .lr_scheduler import LRScheduler
from .optimizer import Optimizer

__all__ = ["ExponentialLR", "LinearLR", "MultiStepLR", "SequentialLR"]


class LinearLR(LRScheduler):
    """Scale the lr by a factor moving linearly from `start_factor` to `end_factor` over
    `total_iters` steps, then hold it: `base_lr * (start + (end - start) * min(t, n) / n)`."""

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError(
                f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], "
                f"got {start_factor} and {end_factor}"
            )
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        done = min(self.last_epoch, self.total_iters) / self.total_iters if self.total_iters else 1
        factor = self.start_factor + (self.end_factor - self.start_factor) * done
        return [base_lr * factor for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by `gamma` every step: `base_lr * gamma ** t`."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * self.gamma**self.last_epoch for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by `gamma` at each milestone: `base_lr * gamma ** (milestones <= t)`."""

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.milestones = sorted(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        passed = bisect.bisect_right(self.milestones, self.last_epoch)
        return [base_lr * self.gamma**passed for base_lr in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run `schedulers[i]` from `milestones[i - 1]` on, each counting its steps from 0 there.

    The schedulers must drive this optimizer; SequentialLR owns the stepping from then on.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ) -> None:
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: {len(schedulers)} schedulers need {len(schedulers) - 1} "
                f"milestones, got {len(milestones)}"
            )
        for i, scheduler in enumerate(schedulers):
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: scheduler {i} drives another optimizer")
        self.schedulers = list(schedulers)
        self.milestones = list(milestones)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        index = bisect.bisect_right(self.milestones, self.last_epoch)
        start = self.milestones[index - 1] if index > 0 else 0
        current = self.schedulers[index]
        current.last_epoch = self.last_epoch - start  # its own step count
        return current.get_lr()

    def state_dict(self) -> dict[str, Any]:
        own = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "schedulers")}
        own["schedulers"] = [s.state_dict() for s in self.schedulers]
        return own

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        for scheduler, saved in zip(self.schedulers, state.pop("schedulers"), strict=True):
            scheduler.load_state_dict(saved)
        self.__dict__.update(state)
