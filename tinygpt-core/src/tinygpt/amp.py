"""Mixed precision as PyTorch spells it: `tg.amp.autocast` and `tg.amp.GradScaler`.

`autocast(device_type, dtype)` runs the ops that gain from a lower precision (matmul,
linear, attention, convolution) in `dtype` (bfloat16 or float16) and the ones that need
range in float32 (cross-entropy; on cuda also softmax, log-softmax and layer norm, PyTorch's
lists), for tensors on devices of that type, inside the block; outside it nothing changes.
"cpu" means host memory, as in PyTorch: it covers every backend but cuda (cpu, numpy,
plugins), so `autocast("cpu")` works whichever host backend a script runs on. The
parameters stay float32 and their gradients come back float32 (the casts are recorded ops).

`GradScaler` multiplies the loss by a scale before backward so that float16 gradients do not
underflow, divides the gradients back before the optimizer step, skips a step whose
gradients overflowed and adapts the scale, as PyTorch's does. `enabled=False` makes every
method a pass-through, which is how nanoGPT's train.py uses it for bfloat16 and float32.

>>> import tinygpt as tg
>>> with tg.autocast("cpu", dtype=tg.bfloat16):
...     y = tg.ones(2, 3) @ tg.ones(3, 4)
>>> y.dtype
tinygpt.bfloat16
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from . import dtypes
from .autograd import no_grad
from .backend.registry import backends
from .dtypes import DType

__all__ = [
    "GradScaler",
    "autocast",
    "autocast_dtype",
    "get_autocast_dtype",
    "is_autocast_enabled",
]

F = TypeVar("F", bound=Callable[..., Any])

#: the dtype each device type computes in under autocast unless told (PyTorch's defaults)
_DEFAULT_DTYPE = {"cuda": dtypes.float16, "cpu": dtypes.bfloat16}


class _State(threading.local):
    #: device type ("cpu", "cuda", "numpy", ...) -> the lower dtype while autocast is on
    active: dict[str, DType]

    def __init__(self) -> None:
        self.active = {}


_state = _State()


def _device_type(device: Any) -> str:
    text = str(device)
    return text.split(":", 1)[0]


class autocast:  # noqa: N801 - PyTorch's name
    """`with tg.autocast("cpu", dtype=tg.bfloat16):` (also `tg.amp.autocast`, and
    `tg.cuda.amp.autocast(dtype=...)` for "cuda"). Nests; works as a decorator."""

    def __init__(
        self,
        device_type: str = "cuda",
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        del cache_enabled  # PyTorch caches casts of weights; tinygpt casts per call
        if not isinstance(device_type, str):
            raise TypeError(
                f"autocast: device_type must be a string like 'cpu', not {device_type!r}"
            )
        self.device_type = _device_type(device_type)
        chosen = dtypes.as_dtype(dtype) if dtype is not None else None
        if chosen is None:
            chosen = _DEFAULT_DTYPE.get(self.device_type, dtypes.bfloat16)
        if chosen not in (dtypes.bfloat16, dtypes.float16, dtypes.float32):
            raise TypeError(
                f"autocast: dtype must be tg.bfloat16 or tg.float16 (or float32, which turns "
                f"it off), not {chosen}"
            )
        self.dtype = chosen
        self.enabled = bool(enabled) and chosen != dtypes.float32
        self._saved: list[DType | None] = []

    def __enter__(self) -> autocast:
        self._saved.append(_state.active.get(self.device_type))
        if self.enabled:
            _state.active[self.device_type] = self.dtype
        else:
            _state.active.pop(self.device_type, None)
        return self

    def __exit__(self, *exc: object) -> None:
        previous = self._saved.pop()
        if previous is None:
            _state.active.pop(self.device_type, None)
        else:
            _state.active[self.device_type] = previous

    def __call__(self, fn: F) -> F:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with autocast(self.device_type, self.dtype, self.enabled):
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = fn.__doc__
        return wrapper  # type: ignore[return-value]


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on (for `device_type`, or for any device type)."""
    if device_type is None:
        return bool(_state.active)
    return autocast_dtype(device_type) is not None


def get_autocast_dtype(device_type: str) -> DType:
    """The dtype autocast uses on `device_type` (its default when autocast is off)."""
    name = _device_type(device_type)
    found = autocast_dtype(name)
    return found if found is not None else _DEFAULT_DTYPE.get(name, dtypes.bfloat16)


def autocast_dtype(device: Any) -> DType | None:
    """For the ops: the lower dtype to compute in on `device`, or None (autocast off).

    NOTE: one dict lookup when autocast is on; the ops check `_state.active` first so that
    the common case (off) costs a truth test."""
    if not _state.active:
        return None
    kind = device.type if hasattr(device, "type") else _device_type(device)
    found = _state.active.get(kind)
    if found is None and kind != "cuda":
        # PyTorch's "cpu" is host memory: here every backend but cuda (cpu, numpy, plugins)
        found = _state.active.get("cpu")
    return found


def active() -> bool:
    """Cheap test for the ops: is any autocast block open in this thread?"""
    return bool(_state.active)


class GradScaler:
    """Loss scaling for float16 training, as `torch.amp.GradScaler`:

    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)            # optional: before clipping gradients
    scaler.step(optimizer)                # skipped if a gradient is inf or nan
    scaler.update()                       # halve the scale after an overflow, double
                                          # it after growth_interval clean steps
    """

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        if growth_factor <= 1.0 or not 0.0 < backoff_factor < 1.0 or growth_interval < 1:
            raise ValueError(
                "GradScaler: needs growth_factor > 1, 0 < backoff_factor < 1 and "
                f"growth_interval >= 1 (got {growth_factor}, {backoff_factor}, {growth_interval})"
            )
        self.device = _device_type(device)
        if enabled and self.device == "cuda":
            if not _cuda_available():
                warnings.warn(
                    "GradScaler is enabled for 'cuda', but CUDA is not available; disabling it",
                    stacklevel=2,
                )
                enabled = False
        self._enabled = bool(enabled)
        self._scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        #: id(optimizer) -> whether its gradients had an inf or nan (after unscale_)
        self._found_inf: dict[int, bool] = {}
        self._stepped: set[int] = set()

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        """The current scale (1.0 when disabled, as PyTorch)."""
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def scale(self, outputs: Any) -> Any:
        """`outputs` (a tensor, or a list/tuple of them) times the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def unscale_(self, optimizer: Any) -> None:
        """Divide the optimizer's gradients by the scale, in place, once per step; note
        whether any is inf or nan (one read of the device for all of them)."""
        if not self._enabled:
            return
        key = id(optimizer)
        if key in self._found_inf:
            raise RuntimeError(
                "GradScaler.unscale_() has already been called on this optimizer since the "
                "last update(); call it once per step, before step()"
            )
        inverse = 1.0 / self._scale
        bad = None
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    p.grad.mul_(inverse)
                    count = (~p.grad.isfinite()).sum()
                    bad = count if bad is None else bad + count
        self._found_inf[key] = bool(bad is not None and bad.item() > 0)

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """optimizer.step() unless the (unscaled) gradients had an inf or nan."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        key = id(optimizer)
        if key in self._stepped:
            raise RuntimeError("GradScaler.step() has already been called since the last update()")
        if key not in self._found_inf:
            self.unscale_(optimizer)
        self._stepped.add(key)
        if self._found_inf[key]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: float | None = None) -> None:
        """Adapt the scale after a step (or set it), and start the next step's bookkeeping."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale.item() if hasattr(new_scale, "item") else new_scale)
        elif any(self._found_inf.values()):
            self._scale *= self._backoff_factor
            self._growth_tracker = 0
        elif self._found_inf:
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                self._scale *= self._growth_factor
                self._growth_tracker = 0
        self._found_inf.clear()
        self._stepped.clear()

    def state_dict(self) -> dict[str, Any]:
        if not self._enabled:
            return {}
        return {
            "scale": self._scale,
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not self._enabled:
            return
        if not state:
            raise RuntimeError("GradScaler.load_state_dict: the state is empty (saved disabled?)")
        self._scale = float(state["scale"])
        self._growth_factor = float(state["growth_factor"])
        self._backoff_factor = float(state["backoff_factor"])
        self._growth_interval = int(state["growth_interval"])
        self._growth_tracker = int(state["_growth_tracker"])


def _cuda_available() -> bool:
    """As `tg.cuda.is_available()` (which imports this module, so it cannot be imported)."""
    return any(info.name == "cuda" and info.available for info in backends())
