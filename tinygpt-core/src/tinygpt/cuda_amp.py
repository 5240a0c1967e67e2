"""`tg.cuda.amp`: PyTorch's older spelling of mixed precision, for the "cuda" device type.

`torch.cuda.amp.GradScaler(...)` and `torch.cuda.amp.autocast(...)` still appear in many
training scripts (nanoGPT's train.py makes a GradScaler this way, enabled only for float16);
they are `tg.amp.GradScaler("cuda", ...)` and `tg.amp.autocast("cuda", ...)`.
"""

from __future__ import annotations

from typing import Any

from . import amp, dtypes

__all__ = ["GradScaler", "autocast"]


class GradScaler(amp.GradScaler):
    """`tg.amp.GradScaler("cuda", ...)`, with torch.cuda.amp's argument order."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        super().__init__(
            "cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled
        )


class autocast(amp.autocast):  # noqa: N801 - PyTorch's name
    """`tg.amp.autocast("cuda", ...)`, with torch.cuda.amp's argument order."""

    def __init__(
        self, enabled: bool = True, dtype: Any = dtypes.float16, cache_enabled: bool = True
    ) -> None:
        super().__init__("cuda", dtype, enabled, cache_enabled)
