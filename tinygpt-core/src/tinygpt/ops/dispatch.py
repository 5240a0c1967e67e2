"""The one place that decides between a backend's fused kernel and core's composite.

A backend lists the optional kernels it implements in `backend.fused_ops` (see
`backend/protocol.py`; a plugin may add more through `tinygpt_register_kernels`). Each fused
op in core (softmax, gelu in `activation.py`; layer norm in `normalization.py`; attention in
`attention.py`; cross-entropy in `loss.py`; the AdamW update in `inplace.py`) asks
`use_fused` and otherwise composes the same maths from ordinary primitives, whose gradients
autograd derives. Both paths give the same numbers (tests/core/test_fused.py compares them).

Every decision is reported to an open `tg.profile()`, which lists the fused calls and each
composite fallback with its reason ("attn_mask given", "no fused 'gelu' kernel"), so a user
can see why a step is slow. Closed, that costs one global lookup.

>>> import tinygpt as tg
>>> q = tg.ones(1, 1, 3, 4)
>>> with tg.profile(show=False) as prof:
...     _ = tg.scaled_dot_product_attention(q, q, q, attn_mask=tg.ones(3, 3, dtype=tg.bool))
>>> prof.fallbacks()[0].reason
'attn_mask given (the fused kernel takes is_causal only)'
"""

from __future__ import annotations

from ..autograd import function
from ..tensor import Tensor

__all__ = ["use_fused", "fall_back"]


def use_fused(name: str, x: Tensor, unsupported: str | None = None) -> bool:
    """True when the backend holding `x` offers the fused kernel `name` (one of FUSED_OPS)
    and this call is one the kernel takes.

    `unsupported` names what in this call the kernel cannot do (None: nothing); the caller
    then composes the op. Either way the choice is reported to an open `tg.profile()`.
    """
    backend = x._data.backend
    offered = name in backend.fused_ops
    hook = function.profile_hook
    if hook is not None:
        if not offered:
            unsupported = f"the {backend.name} backend has no fused {name!r} kernel"
        hook.dispatch(name, unsupported)
    return offered and unsupported is None


def fall_back(name: str, x: Tensor, reason: str) -> None:
    """Report that op `name` on `x` is composed because of `reason`, without asking the
    backend (for calls decided before the backend matters, e.g. a mask the kernel lacks)."""
    use_fused(name, x, reason)
