"""Checkpoints: a module's tensors by dotted name, and loading them back with strict checks.

Names follow PyTorch ("0.weight", "blocks.3.ln_1.bias"), so a state dict of the same
architecture maps onto a PyTorch one key by key. `Module.state_dict` and
`Module.load_state_dict` call the two functions here.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> model = nn.Sequential(nn.Linear(2, 2))
>>> model.load_state_dict({"0.weight": tg.zeros(2, 2), "0.bias": tg.zeros(2)})
IncompatibleKeys(missing_keys=[], unexpected_keys=[])
>>> try:
...     model.load_state_dict({"0.weight": tg.zeros(2, 2)})
... except nn.StateDictError as error:
...     print(str(error).splitlines()[1])
  missing keys (1): 0.bias
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

import tinygpt as tg
from tinygpt import Tensor, TinyGPTError

if TYPE_CHECKING:
    from .module import Module

__all__ = ["StateDictError", "IncompatibleKeys", "collect_state", "load_state"]


class StateDictError(TinyGPTError, RuntimeError):
    """`load_state_dict` found missing, unexpected or wrongly shaped entries (all listed)."""

    def __init__(
        self,
        module: str,
        missing: list[str],
        unexpected: list[str],
        mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]],
    ) -> None:
        self.missing_keys = missing
        self.unexpected_keys = unexpected
        self.mismatched_keys = mismatched
        lines = [f"load_state_dict: the state dict does not fit {module}:"]
        if missing:
            lines.append(f"  missing keys ({len(missing)}): {', '.join(missing)}")
        if unexpected:
            lines.append(f"  unexpected keys ({len(unexpected)}): {', '.join(unexpected)}")
        for key, got, want in mismatched:
            lines.append(f"  shape mismatch for {key}: checkpoint {got}, model {want}")
        lines.append(
            "fix: load a checkpoint of the same architecture, or pass strict=False to skip "
            "missing and unexpected keys (shapes must always match)"
        )
        super().__init__("\n".join(lines))


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict` returns: the keys it skipped (strict=False) or none."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def collect_state(module: Module, prefix: str = "", keep_vars: bool = False) -> dict[str, Tensor]:
    """Parameters, then persistent buffers, of each module in depth-first order.

    NOTE: shared modules and tied weights are listed under every name (remove_duplicate=False),
    as PyTorch does, so a checkpoint loads whichever name the other model uses.
    """
    out: dict[str, Tensor] = {}
    for owner_prefix, owner in module.named_modules(prefix=prefix, remove_duplicate=False):
        dot = f"{owner_prefix}." if owner_prefix else ""
        for name, param in owner._parameters.items():
            if param is not None:
                out[dot + name] = param if keep_vars else param.detach()
        for name, buffer in owner._buffers.items():
            if buffer is not None and name not in owner._non_persistent:
                out[dot + name] = buffer if keep_vars else buffer.detach()
    return out


def load_state(module: Module, state_dict: Mapping[str, Tensor], strict: bool) -> IncompatibleKeys:
    """Check every key and shape first, raise one error listing all problems, then copy."""
    own = collect_state(module, keep_vars=True)
    missing = [key for key in own if key not in state_dict]
    unexpected = [key for key in state_dict if key not in own]
    mismatched = [
        (key, tuple(state_dict[key].shape), tuple(own[key].shape))
        for key in own
        if key in state_dict and tuple(state_dict[key].shape) != own[key].shape
    ]
    if mismatched or (strict and (missing or unexpected)):
        raise StateDictError(type(module).__name__, missing, unexpected, mismatched)
    with tg.no_grad():
        for key, tensor in own.items():
            # NOTE: an empty tensor has nothing to copy (and core refuses to write into one)
            if key not in state_dict or tensor.numel() == 0:
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor):
                value = tg.tensor(value, device=tensor.device)
            # copy_ writes into the existing memory (casting the dtype), so every Parameter
            # object stays the one an optimizer may already hold
            tensor.copy_(value.to(tensor.device))
    return IncompatibleKeys(missing, unexpected)
