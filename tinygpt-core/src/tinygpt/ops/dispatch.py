"""The one place that decides between a backend's fused kernel and core's composite.

A backend lists the optional kernels it implements in `backend.fused_ops` (see
`backend/protocol.py`; a plugin may add more through `tinygpt_register_kernels`). Each fused
op in core (softmax, gelu in `activation.py`; layer norm in `normalization.py`; attention in
`attention.py`; cross-entropy in `loss.py`; the AdamW update in `inplace.py`) asks
`use_fused` and otherwise composes the same maths from ordinary primitives, whose gradients
autograd derives. Both paths give the same numbers (tests/core/test_fused.py compares them).
"""

from __future__ import annotations

from ..tensor import Tensor

__all__ = ["use_fused"]


def use_fused(name: str, x: Tensor) -> bool:
    """True when the backend holding `x` offers the fused kernel `name` (one of FUSED_OPS)."""
    return name in x._data.backend.fused_ops
