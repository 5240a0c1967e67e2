"""PyTorch's global switches, accepted so training scripts run unmodified (issue 14):
`tg.backends.cuda.matmul.allow_tf32 = True`, `tg.backends.cudnn.benchmark = True`,
`tg.set_float32_matmul_precision("high")`, `tg.use_deterministic_algorithms(True)`,
`tg.set_num_threads(4)`.

`tg.backends` stays what it was, the function that lists tinygpt's backends
(`tg.backends()`); it is now an object whose attributes are also PyTorch's flag namespaces.

What each flag does in tinygpt:
- `backends.cuda.matmul.allow_tf32` (and `set_float32_matmul_precision("high"/"medium")`):
  a hint the cuda backend reads. Setting it sets TINYGPT_CUDA_TF32, which a cuda backend
  reads when it is made (the first cuda tensor), so set it before, as nanoGPT does.
- `backends.cudnn.*`: stored only; tinygpt has no cuDNN.
- `use_deterministic_algorithms`: stored only; tinygpt's kernels give the same bits for the
  same thread count already (backend/threads.py).
- `set_num_threads`/`get_num_threads`: the cpu backend's thread count when it is installed
  (a count set here stays, as TINYGPT_THREADS would), otherwise stored.

>>> import tinygpt as tg
>>> tg.backends.cudnn.benchmark = True
>>> [b.name for b in tg.backends()][:1] != []
True
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from .backend import registry
from .backend.threads import cpu_count, fix_threads

__all__ = [
    "are_deterministic_algorithms_enabled",
    "backends",
    "get_float32_matmul_precision",
    "get_num_threads",
    "set_float32_matmul_precision",
    "set_num_threads",
    "use_deterministic_algorithms",
]

_TF32_ENV = "TINYGPT_CUDA_TF32"


class _Flags:
    """A namespace of settable flags (`torch.backends.cudnn` and the like)."""

    _name: str

    def __init__(self, name: str, **flags: Any) -> None:
        object.__setattr__(self, "_name", name)
        for key, value in flags.items():
            object.__setattr__(self, key, value)

    def __repr__(self) -> str:
        return f"<tinygpt.backends.{self._name}>"


class _Matmul(_Flags):
    """`backends.cuda.matmul`: `allow_tf32` is read from and written to TINYGPT_CUDA_TF32."""

    @property
    def allow_tf32(self) -> bool:
        return os.environ.get(_TF32_ENV, "0") == "1"

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        os.environ[_TF32_ENV] = "1" if value else "0"


class _Backends:
    """`tg.backends()` lists the backends; `tg.backends.cuda` etc. are PyTorch's flags."""

    def __init__(self) -> None:
        # Any: the flags are set by name at run time, as PyTorch's are
        self.cuda: Any = _Flags(
            "cuda",
            matmul=_Matmul(
                "cuda.matmul",
                allow_fp16_reduced_precision_reduction=True,
                allow_bf16_reduced_precision_reduction=True,
            ),
        )
        self.cudnn: Any = _Flags(
            "cudnn", enabled=True, benchmark=False, deterministic=False, allow_tf32=True
        )
        self.mps: Any = _Flags("mps", is_available=lambda: False, is_built=lambda: False)

    def __call__(self) -> list[registry.BackendInfo]:
        return registry.backends()

    def __repr__(self) -> str:
        return "<tinygpt.backends: call it to list the backends; .cuda/.cudnn hold flags>"


#: `tg.backends`
backends = _Backends()

_state: dict[str, Any] = {"deterministic": False, "threads": None}


def set_float32_matmul_precision(precision: str) -> None:
    """ "highest" keeps float32 matmuls exact; "high"/"medium" allow TF32 on the cuda backend."""
    if precision not in ("highest", "high", "medium"):
        raise ValueError(
            f"set_float32_matmul_precision: unknown precision {precision!r}; "
            "use 'highest', 'high' or 'medium'"
        )
    backends.cuda.matmul.allow_tf32 = precision != "highest"


def get_float32_matmul_precision() -> str:
    return "high" if backends.cuda.matmul.allow_tf32 else "highest"


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Recorded only: tinygpt's kernels are deterministic for a fixed thread count."""
    _state["deterministic"] = bool(mode)


def are_deterministic_algorithms_enabled() -> bool:
    return bool(_state["deterministic"])


def _cpu_backend() -> Any:
    """The cpu backend's package when it is installed and built, else None."""
    try:
        cpu = importlib.import_module("tinygpt_backend_cpu")
        importlib.import_module("tinygpt_backend_cpu.native")
    except ImportError:
        return None
    return cpu


def set_num_threads(threads: int) -> None:
    """The CPU backends' threads (cpu: kernels and matmul; numpy: its BLAS): they stop
    adapting the count to the machine's load, now and for backends made later."""
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"set_num_threads: expected an int >= 1, got {threads!r}")
    _state["threads"] = threads
    fix_threads(threads)
    cpu = _cpu_backend()
    if cpu is not None:
        cpu.set_num_threads(threads)


def get_num_threads() -> int:
    """The cpu backend's thread count; without it, the count set last (else the cores)."""
    cpu = _cpu_backend()
    if cpu is not None:
        return int(cpu.get_num_threads())
    if _state["threads"] is not None:
        return int(_state["threads"])
    return cpu_count()
