"""More constructors with PyTorch's names: `tg.range` (end included), `tg.logspace`,
`tg.scalar_tensor`, `tg.asarray`, `tg.frombuffer`, `tg.empty_strided`, and `tg.normal`'s
tensor forms.

>>> import tinygpt as tg
>>> tg.range(1, 3).tolist()
[1.0, 2.0, 3.0]
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

from . import dtypes
from .creation import empty, full, linspace, tensor
from .dtypes import as_dtype
from .errors import DTypeError
from .functional_extras import as_tensor
from .ops.structure_more import broadcast_shapes
from .random import Generator, randn
from .tensor import Tensor

__all__ = [
    "asarray",
    "empty_strided",
    "frombuffer",
    "logspace",
    "normal",
    "range",
    "scalar_tensor",
]


# ------------------------------------------------------------------ constructors
def range(  # noqa: A001 - PyTorch's name
    start: float = 0,
    end: float | None = None,
    step: float = 1,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: builtins.bool = False,
) -> Tensor:
    """[start, end] in steps, END INCLUDED (deprecated in PyTorch; float32 by default)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("range: step must not be zero")
    count = builtins.max(0, math.floor((end - start) / step) + 1)
    values = [start + i * step for i in builtins.range(count)]
    dtype = dtypes.get_default_dtype() if dtype is None else dtype
    out = tensor(values, dtype=dtype, device=device)
    return out.requires_grad_(requires_grad) if requires_grad else out


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: builtins.bool = False,
) -> Tensor:
    """`steps` values from base**start to base**end, evenly spaced in the exponent."""
    exponents = linspace(start, end, steps, dtype=dtypes.float64)
    values = [base**e for e in exponents.tolist()]
    out = tensor(
        values, dtype=dtypes.get_default_dtype() if dtype is None else dtype, device=device
    )
    return out.requires_grad_(requires_grad) if requires_grad else out


def scalar_tensor(
    s: Any, *, dtype: Any = None, device: Any = None, requires_grad: builtins.bool = False
) -> Tensor:
    """A 0-d tensor holding `s`, float32 by default (unlike tg.tensor, which infers)."""
    dtype = dtypes.get_default_dtype() if dtype is None else dtype
    out = full((), s, dtype=dtype, device=device)
    return out.requires_grad_(requires_grad) if requires_grad else out


def asarray(
    obj: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    copy: builtins.bool | None = None,
    requires_grad: builtins.bool = False,
) -> Tensor:
    """`obj` as a tensor; a tensor of that dtype and device comes back as itself unless
    `copy=True`."""
    out = as_tensor(obj, dtype=dtype, device=device)
    if copy and out is obj:
        out = out.clone()
    return out.requires_grad_(requires_grad) if requires_grad else out


#: struct format character of each dtype (memoryview.cast) for `frombuffer`
_FORMATS = {
    "float32": "f",
    "float64": "d",
    "int64": "q",
    "int32": "i",
    "int8": "b",
    "uint8": "B",
    "bool": "?",
    "float16": "e",
}


def frombuffer(
    buffer: Any,
    *,
    dtype: Any,
    count: int = -1,
    offset: int = 0,
    requires_grad: builtins.bool = False,
) -> Tensor:
    """A 1-D tensor of the values in a bytes-like object (copied: tinygpt tensors own their
    memory, so later writes to `buffer` are not seen)."""
    kind = as_dtype(dtype)
    if kind.name not in _FORMATS:
        raise DTypeError(f"frombuffer: dtype {kind} cannot be read from a buffer")
    raw = memoryview(buffer).cast("B")[offset:]
    usable = len(raw) - len(raw) % kind.itemsize
    values = raw[:usable].cast(_FORMATS[kind.name]).tolist()  # type: ignore[call-overload]
    if count >= 0:
        if count > len(values):
            raise ValueError(
                f"frombuffer: count {count} needs {count * kind.itemsize} bytes after offset "
                f"{offset}, the buffer has {len(raw)}"
            )
        values = values[:count]
    out = tensor(values, dtype=kind)
    return out.requires_grad_(requires_grad) if requires_grad else out


def empty_strided(
    size: Sequence[int],
    stride: Sequence[int],
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: builtins.bool = False,
) -> Tensor:
    """An uninitialized tensor of `size`. NOTE: `stride` is accepted for PyTorch code but the
    tensor is contiguous (tinygpt allocates dense memory)."""
    if len(size) != len(stride):
        raise ValueError(f"empty_strided: size {tuple(size)} and stride {tuple(stride)} differ")
    return empty(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Sequence[int] | None = None,
    *,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: builtins.bool = False,
) -> Tensor:
    """Normal samples: `normal(mean_tensor, std_tensor)` (elementwise, broadcast),
    `normal(mean, std_tensor)`, `normal(mean_tensor, std=1.0)` or `normal(mean, std, size)`."""
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal: give a mean or std tensor, or a size with Python numbers")
        noise = randn(*size, generator=generator, dtype=dtype, device=device)
    else:
        like = tensors[0]  # the noise takes the first tensor's dtype and device
        shape = broadcast_shapes(*(t.shape for t in tensors))
        noise = randn(
            *shape, generator=generator, dtype=dtype or like.dtype, device=device or like.device
        )
    out = noise * std + mean
    return out.requires_grad_(requires_grad) if requires_grad else out
