"""Backend lookup and selection over the table that discovery builds.

Discovery (`discovery.py`) runs once, lazily, the first time a device is used or the backends
are listed, so `import tinygpt` never imports a backend. A broken plugin is a row in the
table with its error (shown in one line by `tinygpt backends`), never raised; selecting its
device later raises a DeviceError with the original exception chained as its ``__cause__``.
A backend name registered twice is settled by the rule in `collisions.py`, and reported.

The default device, unless one is chosen, is the highest-priority available backend that
starts: one whose factory fails is marked unavailable and the next one is used, with a
BackendWarning. A device asked for by name never falls back: it raises.
"""

from __future__ import annotations

import os
import sys
import warnings

from ..config import (
    env_backend_allow_list,
    env_backend_pins,
    env_check_kernels,
    env_default_device,
)
from ..device import Device, device
from ..errors import BackendError, DeviceError
from .checks import install_checks
from .collisions import BackendWarning, Collision
from .dense import install_dense_inputs
from .discovery import ENTRY_POINT_GROUP, BackendInfo, discover
from .hints import FIRST_PARTY_BACKENDS, checkout_install, did_you_mean, install_backend_hint
from .kernels import KernelInfo, KernelTable
from .problems import describe, one_line
from .protocol import Backend

__all__ = [
    "BackendInfo",
    "BackendWarning",
    "Collision",
    "KernelInfo",
    "backends",
    "collisions",
    "kernels",
    "get_backend",
    "default_device",
    "automatic_default",
    "set_default_device",
    "register_plugin",
    "enable_checks",
    "reset",
    "ENTRY_POINT_GROUP",
]


class _Registry:
    """The discovered backends, their instances per device, and the default device."""

    def __init__(self) -> None:
        self.discovered = False
        self.infos: dict[str, BackendInfo] = {}
        self.problems: list[BackendInfo] = []  # plugins that failed, and unused registrations
        self.collisions: list[Collision] = []
        self.kernels = KernelTable()
        self.instances: dict[Device, Backend] = {}
        self.extra_plugins: list[tuple[object, str]] = []
        self.default: Device | None = None
        self.check_kernels = env_check_kernels()

    def discover(self) -> None:
        if self.discovered:
            return
        allow, pins = env_backend_allow_list(), env_backend_pins()  # may raise: before the flag
        self.discovered = True
        found = discover(self.extra_plugins, allow, pins)
        self.infos, self.problems, self.kernels = found.infos, found.problems, found.kernels
        self.collisions = found.collisions
        for message in found.warnings:  # last: a warning turned into an error finds a full table
            _warn(message)

    # ---------------------------------------------------------- lookup
    def table(self) -> list[BackendInfo]:
        self.discover()
        default = self.resolve_default_name()
        rows = sorted(self.infos.values(), key=lambda info: -info.priority)
        for row in rows:
            row.default = row.name == default
        return rows + self.problems

    def resolve_default_name(self) -> str | None:
        best = [info for info in self.infos.values() if info.available]
        if not best:
            return None
        return max(best, key=lambda info: info.priority).name

    def default_device(self) -> Device:
        if self.default is not None:
            return self.default
        named = env_default_device()
        if named is not None:
            self.default = self.check(device(named), source="TINYGPT_DEVICE")
            return self.default
        dev = self.automatic_default()
        if dev is None:
            raise DeviceError(self.explain("no backend is available", None))
        self.default = dev
        return self.default

    def automatic_default(self) -> Device | None:
        """The highest-priority available backend that starts, or None.

        Each one that fails to start is marked unavailable (the table shows why) and reported
        in a BackendWarning that names the backend used instead.
        """
        self.discover()
        ranked = sorted(
            (info for info in self.infos.values() if info.available),
            key=lambda info: -info.priority,  # stable: ties keep discovery order, as max() does
        )
        failed: list[BackendInfo] = []
        chosen: Device | None = None
        for info in ranked:
            dev = Device(info.name, 0)
            try:
                self.get(dev)
            except (Exception, SystemExit) as error:  # noqa: BLE001 - the plugin's failure
                if info.available:  # e.g. device_count() raised or is 0: nothing marked it yet
                    self._unavailable(info, f"failed to start: {describe(error)}", error)
                failed.append(info)
                continue
            chosen = dev
            break
        instead = f"using {str(chosen)!r} instead" if chosen else "no other backend is available"
        for info in failed:
            _warn(
                f"default backend {info.name!r} failed to start: {info.reason}; {instead} "
                "(choose a device to silence this; python -m tinygpt backends lists them)"
            )
        return chosen

    def check(self, dev: Device, source: str = "device") -> Device:
        """Raise a DeviceError that explains the fix unless `dev` can be used.

        When a plugin error is behind it, that exception is chained as the ``__cause__``.
        """
        self.discover()
        info = self.infos.get(dev.type)
        if info is None:
            info = next((row for row in self.problems if row.name == dev.type), None)
        if info is None:
            raise DeviceError(self.explain(self._missing(dev, source), dev.type))
        if not info.available:
            message = f"{source}: device {str(dev)!r} is unavailable: {info.reason}"
            raise DeviceError(self.explain(message, dev.type)) from info.error
        count = info.device_count() if info.device_count is not None else 1
        if dev.index >= count:
            raise DeviceError(
                f"{source}: device {str(dev)!r} does not exist: {dev.type} has {count} "
                f"device(s), {dev.type}:0 to {dev.type}:{count - 1}"
            )
        return dev

    def get(self, dev: Device) -> Backend:
        backend = self.instances.get(dev)
        if backend is not None:
            return backend
        self.check(dev)
        info = self.infos[dev.type]
        assert info.factory is not None
        try:
            backend = info.factory(dev)
        # NOTE: a KeyboardInterrupt is let through: a factory runs when a program first uses
        # the device (a CUDA context, a compile), and a Ctrl-C then is the user's.
        except (Exception, SystemExit) as error:
            self._unavailable(info, f"factory raised: {describe(error)}", error)
            raise DeviceError(
                self.explain(f"device {str(dev)!r} failed to start", dev.type)
            ) from error
        mistake = None
        if not isinstance(backend, Backend):
            mistake = (
                f"backend {dev.type!r}: factory returned {type(backend).__name__}, "
                "expected a tinygpt.backend.Backend subclass"
            )
        elif backend.name != dev.type:
            mistake = (
                f"backend {dev.type!r}: factory returned a backend whose name is "
                f"{backend.name!r}; set `name = {dev.type!r}` on {type(backend).__name__}"
            )
        if mistake is not None:
            refused = BackendError(mistake)
            self._unavailable(info, mistake, refused)
            raise refused
        self.kernels.apply(backend)
        if getattr(backend, "dense_inputs", False):
            install_dense_inputs(backend)  # after apply: contributed kernels get dense inputs
        if self.check_kernels:
            install_checks(backend)
        self.instances[dev] = backend
        return backend

    def _missing(self, dev: Device, source: str) -> str:
        """The headline for a device no plugin registered: a first-party backend that is not
        installed, or an unknown name (with the closest known one)."""
        if dev.type in FIRST_PARTY_BACKENDS:
            return (
                f"{source}: device {str(dev)!r} is not installed: it comes with the "
                f"tinygpt-backend-{dev.type} distribution"
            )
        suggestion = did_you_mean(dev.type, self.infos)
        guess = f"; did you mean {suggestion!r}?" if suggestion is not None else ""
        return f"{source}: unknown device {str(dev)!r}{guess}"

    def _unavailable(self, info: BackendInfo, reason: str, error: BaseException) -> None:
        """Mark a backend that failed to start: the table says why, the next try re-raises."""
        info.available = False
        info.reason = one_line(reason)
        info.error = error

    def explain(self, headline: str, wanted: str | None) -> str:
        """The headline plus every backend, why it is unavailable and how to fix it."""
        lines = [headline, "installed backends:"]
        rows = self.table()
        for row in rows:
            state = "available" if row.available else f"unavailable: {row.reason}"
            lines.append(f"  {row.name:<10} {state}")
        if not rows:
            lines.append("  (none)")
        missing = [name for name in FIRST_PARTY_BACKENDS if name not in {r.name for r in rows}]
        if missing:
            lines.append(f"not installed: {', '.join(missing)} (tinygpt's own backends)")
        if self.collisions:
            lines.append("name collisions:")
            lines.extend(f"  {collision.describe()}" for collision in self.collisions)
        lines.append("fix: " + self._fix(wanted, {row.name for row in rows}))
        return "\n".join(lines)

    def _fix(self, wanted: str | None, known: set[str]) -> str:
        """The fix line of `explain`. NOTE: never a package name made from `wanted` (hints.py)."""
        then = "  (then check with: python -m tinygpt backends)"
        if wanted is None:
            return checkout_install(FIRST_PARTY_BACKENDS["numpy"]) + " (works everywhere)" + then
        if wanted in known:
            return "see the reason above, or pick another device from the list"
        hint = install_backend_hint(wanted)
        if hint is not None:
            return hint + then
        # NOTE: a close name is suggested in the headline (`_missing`)
        return (
            "pick a device from the list above; a third-party device comes with the plugin "
            "package that provides it"
        )


#: tinygpt-core's package folder: frames in it are skipped when a warning names its caller
_CORE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _warn(message: str) -> None:
    """warnings.warn a BackendWarning at the first frame outside tinygpt-core (user code)."""
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_CORE):
        frame = frame.f_back
        level += 1
    warnings.warn(message, BackendWarning, stacklevel=level)


_registry = _Registry()


def backends() -> list[BackendInfo]:
    """Every registered backend (highest priority first), then the plugins that failed."""
    return _registry.table()


def collisions() -> list[Collision]:
    """Every backend name registered more than once, and who got it (see collisions.py)."""
    _registry.discover()
    return list(_registry.collisions)


def kernels() -> list[KernelInfo]:
    """Every fused kernel contributed through `tinygpt_register_kernels`, with its status."""
    _registry.discover()
    return _registry.kernels.describe(installed=set(_registry.infos))


def get_backend(dev: Device | str | None = None) -> Backend:
    """The backend instance for a device (the default device when None)."""
    if dev is None:
        dev = _registry.default_device()
    elif not isinstance(dev, Device):
        dev = device(dev)
    backend = _registry.instances.get(dev)
    if backend is None:
        backend = _registry.get(dev)
    return backend


def default_device() -> Device:
    """The device new tensors go to: set_default_device, else TINYGPT_DEVICE, else the best."""
    return _registry.default_device()


def automatic_default() -> Device | None:
    """The default device when none is chosen: the best backend that starts (None: none).

    Unlike `default_device`, ignores set_default_device and TINYGPT_DEVICE and never raises;
    `tinygpt backends` calls it so that its table shows a default that failed to start.
    """
    return _registry.automatic_default()


def set_default_device(dev: Device | str | None) -> None:
    """Make `dev` the default device (None goes back to TINYGPT_DEVICE / the best one)."""
    if dev is None:
        _registry.default = None
        return
    _registry.default = _registry.check(device(dev), source="set_default_device")


def enable_checks(enabled: bool = True) -> None:
    """Check mode (see `tinygpt.backend.checks`) for backend instances created from now on."""
    _registry.check_kernels = enabled


def register_plugin(plugin: object, name: str) -> None:
    """Register a plugin object directly (tests, notebooks); re-runs discovery."""
    _registry.extra_plugins.append((plugin, name))
    reset(keep_plugins=True)


def reset(keep_plugins: bool = False) -> None:
    """Forget discovery results and backend instances (for tests)."""
    plugins = _registry.extra_plugins if keep_plugins else []
    _registry.__init__()  # type: ignore[misc]
    _registry.extra_plugins = plugins
