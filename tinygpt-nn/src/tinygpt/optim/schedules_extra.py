"""Still more of PyTorch's lr schedules (re-exported by `lr_scheduler.py`): ConstantLR,
PolynomialLR, MultiplicativeLR, CosineAnnealingWarmRestarts, CyclicLR and ChainedScheduler.

Like the others they compute each lr from the step number (PyTorch's closed forms), so the
sequences match PyTorch's step for step. ChainedScheduler multiplies the factors
(`lr / base_lr`) of the schedules it chains, which is what PyTorch's chained recursive forms
amount to:

    sched = ChainedScheduler([ConstantLR(opt, factor=0.1, total_iters=2),
                              ExponentialLR(opt, gamma=0.9)])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from .lr_scheduler import LRScheduler, _per_group
from .optimizer import Optimizer
from .plateau import ReduceLROnPlateau

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "MultiplicativeLR",
    "PolynomialLR",
]


class ConstantLR(LRScheduler):
    """`base_lr * factor` for the first `total_iters` steps, then `base_lr`."""

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError(f"ConstantLR: factor must be in [0, 1], got {factor}")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        factor = self.factor if self.last_epoch < self.total_iters else 1.0
        return [base_lr * factor for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    """`base_lr * (1 - min(t, total_iters) / total_iters) ** power`: down to 0 at
    `total_iters`, then held there."""

    def __init__(
        self,
        optimizer: Optimizer,
        total_iters: int = 5,
        power: float = 1.0,
        last_epoch: int = -1,
    ) -> None:
        if total_iters <= 0:
            raise ValueError(f"PolynomialLR: total_iters must be a positive int, got {total_iters}")
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        left = 1.0 - min(self.total_iters, self.last_epoch) / self.total_iters
        return [base_lr * left**self.power for base_lr in self.base_lrs]


class MultiplicativeLR(LRScheduler):
    """Multiply the lr by `lr_lambda(t)` at every step t >= 1:
    `base_lr * lr_lambda(1) * ... * lr_lambda(t)`.

    NOTE: the functions are not part of `state_dict()`; pass the same ones when resuming.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(
                    f"MultiplicativeLR: expected {n} lr_lambdas, but got {len(lr_lambda)}"
                )
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(
                    f"MultiplicativeLR: lr_lambda should be a function, got {type(fn).__name__}"
                )
        # the running products for steps 1.._product_epoch, so a step costs one call per group
        self._product_epoch = 0
        self._products = [1.0] * n
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch < self._product_epoch:  # moved back (resumed, SequentialLR): redo
            self._product_epoch = 0
            self._products = [1.0] * len(self.lr_lambdas)
        while self._product_epoch < self.last_epoch:
            self._product_epoch += 1
            for i, fn in enumerate(self.lr_lambdas):
                self._products[i] *= fn(self._product_epoch)
        return [base_lr * p for base_lr, p in zip(self.base_lrs, self._products)]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter, 2017): a cosine from `base_lr` to `eta_min` over `T_i` steps,
    then a restart, with `T_0, T_0 * T_mult, T_0 * T_mult**2, ...` steps per cycle.

    `T_cur` counts steps since the last restart. `step(epoch)` takes a fractional epoch
    (`epoch + i / iters` inside an epoch), as in PyTorch.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: expected positive int T_0, got {T_0}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"CosineAnnealingWarmRestarts: expected int T_mult >= 1, got {T_mult}")
        self.T_0 = T_0
        self.T_i: float = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur: float = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        coeff = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base_lr - self.eta_min) * coeff for base_lr in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one step, or jump to `epoch` (may be fractional), and set the lrs."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:  # a restart
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            self._jump(epoch)
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _jump(self, epoch: float) -> None:
        """T_cur and T_i at `epoch`, PyTorch's formula (cycle n starts at T_0 (m^n - 1)/(m - 1))."""
        if epoch < 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: expected epoch >= 0, got {epoch}")
        if epoch < self.T_0:
            self.T_i = self.T_0
            self.T_cur = epoch
        elif self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        else:
            m = self.T_mult
            n = int(math.log(epoch / self.T_0 * (m - 1) + 1, m))
            self.T_cur = epoch - self.T_0 * (m**n - 1) / (m - 1)
            self.T_i = self.T_0 * m**n


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith, 2017): the lr goes up from `base_lr` to `max_lr` in
    `step_size_up` steps and back down in `step_size_down`; momentum (or Adam's beta1) moves
    the opposite way between `max_momentum` and `base_momentum` when `cycle_momentum`.

    `mode`: "triangular" (same amplitude every cycle), "triangular2" (amplitude halved each
    cycle), "exp_range" (amplitude `gamma ** step`), or a custom `scale_fn(x)` of the cycle
    number (`scale_mode="cycle"`) or of the step (`"iterations"`). Step it once per batch.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | Sequence[float],
        max_lr: float | Sequence[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.8,
        max_momentum: float | Sequence[float] = 0.9,
        last_epoch: int = -1,
    ) -> None:
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(
                f"CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range' (or pass "
                f"scale_fn), got {mode!r}"
            )
        base_lrs = _per_group("base_lr", optimizer, base_lr, "CyclicLR")
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _per_group("max_lr", optimizer, max_lr, "CyclicLR")
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        # the built-in modes fix whether the amplitude follows the cycle or the step
        self.scale_mode = scale_mode if scale_fn is not None else _MODE_SCALE[mode]
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._init_momentum(optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_momentum(
        self,
        optimizer: Optimizer,
        base_momentum: float | Sequence[float],
        max_momentum: float | Sequence[float],
        last_epoch: int,
    ) -> None:
        if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
            raise ValueError(
                f"CyclicLR: {type(optimizer).__name__} has no momentum or betas; pass "
                "cycle_momentum=False"
            )
        self.use_beta1 = "betas" in optimizer.defaults
        self.base_momentums = _per_group("base_momentum", optimizer, base_momentum, "CyclicLR")
        self.max_momentums = _per_group("max_momentum", optimizer, max_momentum, "CyclicLR")
        if last_epoch == -1:
            for high, low, group in zip(
                self.max_momentums, self.base_momentums, optimizer.param_groups
            ):
                self._set_momentum(group, high)
                group["max_momentum"] = high
                group["base_momentum"] = low

    def scale_fn(self, x: float) -> float:
        """The amplitude multiplier at cycle (or step) x."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x  # exp_range

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)  # counts from 1
        x = 1.0 + self.last_epoch / self.total_size - cycle  # position in the cycle, [0, 1)
        if x <= self.step_ratio:
            rise = x / self.step_ratio  # going up: 0 -> 1
        else:
            rise = (x - 1) / (self.step_ratio - 1)  # coming down: 1 -> 0
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [low + (high - low) * rise * scale for low, high in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, low, high in zip(
                self.optimizer.param_groups, self.base_momentums, self.max_momentums
            ):
                self._set_momentum(group, high - (high - low) * rise * scale)
        return lrs

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def state_dict(self) -> dict[str, Any]:
        """As LRScheduler's, without the custom `scale_fn` (pass the same one to resume)."""
        state = super().state_dict()
        state["_scale_fn_custom"] = None
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        custom = self._scale_fn_custom
        super().load_state_dict(state_dict)
        self._scale_fn_custom = custom


_MODE_SCALE = {"triangular": "cycle", "triangular2": "cycle", "exp_range": "iterations"}


class ChainedScheduler(LRScheduler):
    """Step several schedulers of one optimizer together; the lr is `base_lr` times the
    product of their factors (`their lr / base_lr`), like PyTorch's chained schedules."""

    def __init__(
        self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None
    ) -> None:
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler: expects at least one scheduler to be chained")
        owner: Optimizer = schedulers[0].optimizer if optimizer is None else optimizer
        for i, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(
                    f"ChainedScheduler: scheduler {i} is a ReduceLROnPlateau, whose step needs a "
                    "metric; step it on its own"
                )
            if getattr(scheduler, "optimizer", None) is not owner:
                raise ValueError(f"ChainedScheduler: scheduler {i} drives another optimizer")
        # NOTE: no LRScheduler.__init__: the chained schedulers already took their first step
        self.optimizer = owner
        self._schedulers = list(schedulers)
        self.base_lrs = [group["initial_lr"] for group in owner.param_groups]
        self.last_epoch = self._schedulers[0].last_epoch
        self._apply()

    def step(self) -> None:  # type: ignore[override]  # PyTorch's: no epoch argument
        """Step every chained scheduler, then set the combined lr."""
        for scheduler in self._schedulers:
            scheduler.step()
        self.last_epoch += 1
        self._apply()

    def get_lr(self) -> list[float]:
        lrs = list(self.base_lrs)
        for scheduler in self._schedulers:
            own = scheduler.get_last_lr()
            for i, base in enumerate(scheduler.base_lrs):
                lrs[i] *= own[i] / base if base != 0 else 1.0
        return lrs

    def _apply(self) -> None:
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        own = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        own["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return own

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        for scheduler, saved in zip(self._schedulers, state.pop("_schedulers"), strict=True):
            scheduler.load_state_dict(saved)
        self.__dict__.update(state)
