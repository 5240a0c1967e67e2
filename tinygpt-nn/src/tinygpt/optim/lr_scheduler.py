"""Learning-rate schedules: they set each param group's `lr` once per `scheduler.step()`.

Like PyTorch, a scheduler records each group's starting lr as `group["initial_lr"]` (its
`base_lrs`), applies the lr for step 0 when it is built, and moves one step per `step()`:

    opt = AdamW(model.parameters(), lr=6e-4)
    sched = LinearWarmupCosine(opt, warmup_steps=100, total_steps=5000, min_lr=6e-5)
    for batch in loader:
        ...; opt.step(); sched.step()

Every schedule here is a closed form of the step number, so resuming needs only `last_epoch`;
`state_dict()` is plain JSON-able numbers and lists.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

from .optimizer import Optimizer
from .plateau import ReduceLROnPlateau

__all__ = [
    "LRScheduler",
    "StepLR",
    "CosineAnnealingLR",
    "LinearWarmupCosine",
    "LambdaLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "warmup_cosine_lr",
    "ExponentialLR",
    "LinearLR",
    "MultiStepLR",
    "SequentialLR",
    "ConstantLR",
    "PolynomialLR",
    "MultiplicativeLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ChainedScheduler",
]


def warmup_cosine_lr(
    step: int, *, max_lr: float, warmup_steps: int, total_steps: int, min_lr: float = 0.0
) -> float:
    """nanoGPT's schedule: linear warm-up to `max_lr`, cosine decay to `min_lr` at `total_steps`.

    Warm-up gives `max_lr * (step + 1) / (warmup_steps + 1)`, so step 0 already learns a little;
    from `total_steps` on the lr stays at `min_lr`.

    >>> [round(warmup_cosine_lr(s, max_lr=1.0, warmup_steps=2, total_steps=6), 3)
    ...  for s in range(8)]
    [0.333, 0.667, 1.0, 0.854, 0.5, 0.146, 0.0, 0.0]
    """
    if step < warmup_steps:
        return max_lr * (step + 1) / (warmup_steps + 1)
    if step >= total_steps:
        return min_lr
    decay_ratio = (step - warmup_steps) / (total_steps - warmup_steps)  # 0 -> 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))  # 1 -> 0
    return min_lr + coeff * (max_lr - min_lr)


class LRScheduler:
    """Base class: subclasses implement `get_lr()` -> one lr per param group for
    `self.last_epoch`, from `self.base_lrs`."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {optimizer!r:.60}")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(
                    f"{type(self).__name__}: resuming at last_epoch={last_epoch}, but param group "
                    f"{i} has no 'initial_lr'; load the optimizer's state dict first"
                )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._last_lr: list[float] = []
        self.step()  # apply the lr of step last_epoch + 1 (step 0 for a fresh run)

    def get_lr(self) -> list[float]:
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr")

    def step(self, epoch: int | None = None) -> None:
        """Advance one step and write the new lr into every param group.

        `epoch` (deprecated in PyTorch, accepted for its code) jumps to that step instead;
        every schedule here is a closed form of the step, so the jump is exact.
        """
        if epoch is None:
            self.last_epoch += 1
        else:
            self.last_epoch = int(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The lr of each param group as last set by this scheduler."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (and functions): JSON-able numbers and lists."""
        saved = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        return copy.deepcopy(saved)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        unknown = set(state_dict) - set(self.state_dict())
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: unknown keys {sorted(unknown)}; was it "
                "saved from another kind of scheduler?"
            )
        self.__dict__.update(copy.deepcopy(state_dict))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


class StepLR(LRScheduler):
    """Multiply the lr by `gamma` every `step_size` steps: `base_lr * gamma ** (t // step_size)`."""

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        if step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        decays = self.last_epoch // self.step_size
        return [base_lr * self.gamma**decays for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from `base_lr` (t = 0) down to `eta_min` (t = T_max).

    `eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2`; past `T_max` it rises
    again (the cosine is periodic), as in PyTorch.
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        if T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive int, got {T_max}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        coeff = 0.5 * (1.0 + math.cos(math.pi * self.last_epoch / self.T_max))
        return [self.eta_min + (base_lr - self.eta_min) * coeff for base_lr in self.base_lrs]


class LinearWarmupCosine(LRScheduler):
    """`warmup_cosine_lr` for every param group, with the group's initial lr as `max_lr`."""

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int,
        total_steps: int,
        min_lr: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if warmup_steps < 0 or total_steps < warmup_steps:
            raise ValueError(
                "LinearWarmupCosine: need 0 <= warmup_steps <= total_steps, got warmup_steps="
                f"{warmup_steps}, total_steps={total_steps}"
            )
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.min_lr = min_lr
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [
            warmup_cosine_lr(
                self.last_epoch,
                max_lr=base_lr,
                warmup_steps=self.warmup_steps,
                total_steps=self.total_steps,
                min_lr=self.min_lr,
            )
            for base_lr in self.base_lrs
        ]


class LambdaLR(LRScheduler):
    """`base_lr * lr_lambda(t)`, with one function for all groups or one per group.

    NOTE: the functions are not part of `state_dict()`; pass the same ones when resuming.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        n = len(optimizer.param_groups)
        if callable(lr_lambda):
            self.lr_lambdas = [lr_lambda] * n
        else:
            self.lr_lambdas = list(lr_lambda)
            if len(self.lr_lambdas) != n:
                raise ValueError(
                    f"LambdaLR: got {len(self.lr_lambdas)} lr_lambdas for {n} param groups"
                )
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [
            base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)
        ]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018): the lr rises from `max_lr / div_factor` to
    `max_lr` over the first `pct_start` of `total_steps`, then falls to
    `max_lr / div_factor / final_div_factor`; momentum (or Adam's beta1) moves the opposite
    way, between `max_momentum` and `base_momentum`. PyTorch's arguments and phase ends.

    `three_phase` adds a symmetric fall back to the initial lr before the final decay. Step
    it once per batch: stepping past `total_steps` is a ValueError, as in PyTorch.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.85,
        max_momentum: float | Sequence[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        self.total_steps = _total_steps(total_steps, epochs, steps_per_epoch)
        if not 0.0 <= pct_start <= 1.0:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        self.anneal_strategy = anneal_strategy
        self.phases = _one_cycle_phases(self.total_steps, pct_start, three_phase)
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group, peak in zip(groups, _per_group("max_lr", optimizer, max_lr)):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        self.use_beta1 = "betas" in optimizer.defaults
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and not self.use_beta1:
                raise ValueError(
                    f"OneCycleLR: {type(optimizer).__name__} has no momentum or betas; pass "
                    "cycle_momentum=False"
                )
            if last_epoch == -1:
                highs = _per_group("max_momentum", optimizer, max_momentum)
                lows = _per_group("base_momentum", optimizer, base_momentum)
                for group, high, low in zip(groups, highs, lows):
                    self._set_momentum(group, high)
                    group["max_momentum"] = high
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"OneCycleLR: stepped {step} times, but total_steps is {self.total_steps}; "
                "build it with the number of batches you will run"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self.phases):
                end_step = phase["end_step"]
                if step <= end_step or i == len(self.phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        start, end = group[phase["start_momentum"]], group[phase["end_momentum"]]
                        self._set_momentum(group, self._anneal(start, end, pct))
                    break
                start_step = end_step
        return lrs

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "linear":
            return (end - start) * pct + start
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value


def _total_steps(total_steps: int | None, epochs: int | None, steps_per_epoch: int | None) -> int:
    if total_steps is not None:
        if not isinstance(total_steps, int) or total_steps <= 0:
            raise ValueError(f"OneCycleLR: total_steps must be a positive int, got {total_steps}")
        return total_steps
    if epochs is None or steps_per_epoch is None:
        raise ValueError("OneCycleLR: pass total_steps, or both epochs and steps_per_epoch")
    if epochs <= 0 or steps_per_epoch <= 0:
        raise ValueError(
            f"OneCycleLR: epochs and steps_per_epoch must be positive, got {epochs} and "
            f"{steps_per_epoch}"
        )
    return epochs * steps_per_epoch


def _one_cycle_phases(total: int, pct_start: float, three_phase: bool) -> list[dict[str, Any]]:
    """Where each phase ends (a step number, maybe fractional) and which group keys it
    anneals between; PyTorch's exact end steps, so the two agree step for step."""
    up = float(pct_start * total) - 1
    if not three_phase:
        return [
            _phase(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
            _phase(total - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
        ]
    return [
        _phase(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
        _phase(
            float(2 * pct_start * total) - 2,
            "max_lr",
            "initial_lr",
            "base_momentum",
            "max_momentum",
        ),
        _phase(total - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
    ]


def _phase(end: float, lr_from: str, lr_to: str, m_from: str, m_to: str) -> dict[str, Any]:
    return {
        "end_step": end,
        "start_lr": lr_from,
        "end_lr": lr_to,
        "start_momentum": m_from,
        "end_momentum": m_to,
    }


def _per_group(
    name: str, optimizer: Optimizer, value: float | Sequence[float], where: str = "OneCycleLR"
) -> list[float]:
    """One value per param group: a number for all, or a list with one per group."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{where}: {name} has {len(value)} values for {n} param groups")
        return [float(v) for v in value]
    return [float(value)] * n  # type: ignore[arg-type]


# the schedules of schedules_more.py (split off to keep this file small), reachable here as
# in PyTorch's `torch.optim.lr_scheduler`; imported last because they subclass LRScheduler
# the schedules of schedules_extra.py, likewise; `_LRScheduler` is PyTorch's old name of the base
from .schedules_extra import (  # noqa: E402
    ChainedScheduler,
    ConstantLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    MultiplicativeLR,
    PolynomialLR,
)
from .schedules_more import ExponentialLR, LinearLR, MultiStepLR, SequentialLR  # noqa: E402

_LRScheduler = LRScheduler
