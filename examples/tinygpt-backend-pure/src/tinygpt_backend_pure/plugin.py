"""The plugin module named by the entry point ``pure = "tinygpt_backend_pure.plugin"``.

tinygpt imports it when it discovers backends and calls its two hooks:

- `tinygpt_register_backends`: the device name, a priority, and a lazy factory;
- `tinygpt_register_kernels`: one optional fused kernel (attention), contributed for the
  ``pure`` backend through the same hook any plugin can use to add or override a fused kernel
  of any backend.

Keep this module cheap to import: it runs in every process that lists or picks a device.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tinygpt.backend.hookspecs import hookimpl

if TYPE_CHECKING:
    from tinygpt.backend.protocol import Backend
    from tinygpt.device import Device

__all__ = ["tinygpt_register_backends", "tinygpt_register_kernels", "PRIORITY"]

#: Below numpy's 0: installing this backend must never change anyone's default device.
#: Ask for it by name: tg.ones(2, device="pure"), TINYGPT_DEVICE=pure.
PRIORITY = -10


@hookimpl
def tinygpt_register_backends(register: Any) -> None:
    """Register the ``pure`` device. No probe: plain Python runs everywhere."""
    register("pure", _make_backend, priority=PRIORITY)


@hookimpl
def tinygpt_register_kernels(register: Any) -> None:
    """Contribute the fused attention kernel (forward and backward) to the ``pure`` backend.

    `PureBackend` does not implement attention itself, so priority 0 is enough for this one
    to be used; a plugin that wanted to replace a backend's own kernel would pass priority > 0.
    """
    # NOTE: a cheap import (pure Python, no dependencies), so doing it at discovery is fine.
    from .attention import attention, attention_backward

    register("pure", "attention", attention, attention_backward, priority=0)


def _make_backend(device: Device) -> Backend:
    # Imported here, not at the top: discovering backends never imports the kernels.
    from .backend import PureBackend

    return PureBackend(device)
