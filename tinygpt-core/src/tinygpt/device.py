"""Device names: ``numpy``, ``cpu``, ``cuda``, ``cuda:1``, ``<plugin>:<n>``.

A Device is only a name; the registry (`tinygpt.backend.registry`) turns it into the backend
object that runs kernels.

>>> device("cuda:1")
device('cuda:1')
>>> device("cpu") == device("cpu:0")
True
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import DeviceError

__all__ = ["Device", "device", "DeviceLike"]


@dataclass(frozen=True, repr=False)
class Device:
    """A backend name plus a device index (0 for single-device backends)."""

    type: str
    index: int = 0

    def __str__(self) -> str:
        return self.type if self.index == 0 else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device('{self}')"


DeviceLike = "Device | str"


def device(spec: Device | str, index: int | None = None) -> Device:
    """Parse a device name. Whether the device exists is checked when it is first used."""
    if isinstance(spec, Device):
        if index is not None:
            return Device(spec.type, index)
        return spec
    if not isinstance(spec, str):
        raise DeviceError(f"device: expected a name like 'cpu' or 'cuda:1', got {spec!r}")
    name, _, number = spec.strip().partition(":")
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise DeviceError(f"device: {spec!r} is not a device name like 'cpu' or 'cuda:1'")
    if number:
        if not number.isdigit():
            raise DeviceError(f"device: {spec!r}: the index after ':' must be a number")
        if index is not None and int(number) != index:
            raise DeviceError(f"device: {spec!r} and index={index} disagree")
        index = int(number)
    return Device(name.lower(), index or 0)
