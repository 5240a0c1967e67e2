"""What `tg.autocast` does to an op's inputs (the state lives in tinygpt/amp.py).

Two lists, as PyTorch's autocast has them:

- `lower`: matmul, linear, attention, convolution: floating inputs are cast to the autocast
  dtype (bfloat16 / float16), where they are fast and their error is averaged out;
- `upper`: ops that need float32's range: half-precision inputs are cast to float32. As in
  PyTorch the list depends on the device type: on "cuda" softmax, log-softmax, layer norm and
  cross-entropy; on the CPU backends (cpu, numpy, plugins) only cross-entropy.

Both are one truth test when no autocast block is open. The casts are recorded ops, so the
gradients reaching float32 parameters come back in float32.
"""

from __future__ import annotations

from typing import overload

from .. import amp
from ..dtypes import float32
from ..tensor import Tensor
from .promotion import cast

__all__ = ["lower", "on", "upper"]


def on() -> bool:
    """Whether any autocast block is open in this thread (the ops' cheap first test)."""
    return amp.active()


@overload
def lower(x: Tensor) -> Tensor: ...
@overload
def lower(x: None) -> None: ...
def lower(x: Tensor | None) -> Tensor | None:
    """`x` in the autocast dtype when a block is open for its device and it is floating."""
    if x is None or not amp.active():
        return x
    target = amp.autocast_dtype(x.device)
    if target is None or not x.dtype.is_floating_point or x.dtype is target:
        return x
    return cast(x, target)


#: ops run in float32 under autocast, per device type (PyTorch's lists); others: "host"
_FLOAT32_OPS = {
    "cuda": frozenset({"softmax", "log_softmax", "layer_norm", "cross_entropy"}),
    "host": frozenset({"cross_entropy"}),
}


@overload
def upper(x: Tensor, op: str) -> Tensor: ...
@overload
def upper(x: None, op: str) -> None: ...
def upper(x: Tensor | None, op: str) -> Tensor | None:
    """`x` in float32 when a block is open for its device, `op` is on that device type's
    float32 list and `x` is half precision."""
    if x is None or not amp.active():
        return x
    if amp.autocast_dtype(x.device) is None or x.dtype.itemsize >= 4:
        return x
    if not x.dtype.is_floating_point:
        return x
    if op not in _FLOAT32_OPS["cuda" if x.device.type == "cuda" else "host"]:
        return x
    return cast(x, float32)
