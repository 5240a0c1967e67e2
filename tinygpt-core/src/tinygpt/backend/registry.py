"""Backend discovery and lookup: entry points -> pluggy -> a table of backends.

Discovery runs once, lazily, the first time a device is used or the backends are listed, so
`import tinygpt` never imports a backend. Each plugin is loaded and called in its own
try/except: a broken plugin is recorded in the table with its error, never raised.
"""

from __future__ import annotations

import importlib.metadata
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import pluggy

from ..config import env_backend_allow_list, env_default_device
from ..device import Device, device
from ..errors import BackendError, DeviceError
from . import hookspecs
from .protocol import Backend

__all__ = [
    "BackendInfo",
    "backends",
    "get_backend",
    "default_device",
    "set_default_device",
    "register_plugin",
    "reset",
    "ENTRY_POINT_GROUP",
]

ENTRY_POINT_GROUP = "tinygpt.backends"
#: How to install the first-party backends, for error messages.
KNOWN_DISTRIBUTIONS = {
    "numpy": "tinygpt-backend-numpy",
    "cpu": "tinygpt-backend-cpu",
    "cuda": "'tinygpt-backend-cuda[cuda12]'",
}


@dataclass
class BackendInfo:
    """One row of `tinygpt backends`: what was registered and whether it can run here."""

    name: str
    plugin: str
    version: str = ""
    priority: int = 0
    available: bool = False
    reason: str = ""  # why not available ("" when available)
    default: bool = False
    factory: Callable[[Device], Backend] | None = None
    device_count: Callable[[], int] | None = None


class _Registry:
    """The discovered backends, their instances per device, and the default device."""

    def __init__(self) -> None:
        self.discovered = False
        self.infos: dict[str, BackendInfo] = {}
        self.problems: list[BackendInfo] = []  # plugins that failed to load or register
        self.instances: dict[Device, Backend] = {}
        self.extra_plugins: list[tuple[object, str]] = []
        self.default: Device | None = None

    # ---------------------------------------------------------- discovery
    def discover(self) -> None:
        if self.discovered:
            return
        self.discovered = True
        manager = pluggy.PluginManager("tinygpt")
        manager.add_hookspecs(hookspecs)
        allow = env_backend_allow_list()
        versions: dict[str, str] = {}
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            version = entry_point.dist.version if entry_point.dist else ""
            if allow is not None and entry_point.name not in allow:
                self._problem(
                    entry_point.name,
                    entry_point.value,
                    version,
                    "disabled: not in TINYGPT_BACKENDS",
                )
                continue
            try:
                module = entry_point.load()
                manager.register(module, name=entry_point.name)
            except Exception as error:  # noqa: BLE001 - isolate every plugin
                self._problem(
                    entry_point.name,
                    entry_point.value,
                    version,
                    f"failed to load: {_describe(error)}",
                )
                continue
            versions[entry_point.name] = version
        for plugin, name in self.extra_plugins:
            manager.register(plugin, name=name)
        for impl in manager.hook.tinygpt_register_backends.get_hookimpls():
            register = self._register_callback(impl.plugin_name, versions.get(impl.plugin_name))
            try:
                impl.function(register=register)
            except Exception as error:  # noqa: BLE001 - isolate every plugin
                self._problem(
                    impl.plugin_name,
                    impl.plugin_name,
                    "",
                    f"tinygpt_register_backends raised: {_describe(error)}",
                )

    def _register_callback(self, plugin: str, version: str | None) -> Callable[..., None]:
        def register(
            name: str,
            factory: Callable[[Device], Backend],
            *,
            priority: int = 0,
            probe: Callable[[], str | None] | None = None,
            device_count: Callable[[], int] | None = None,
            version: str | None = version,
        ) -> None:
            if name in self.infos:
                first = self.infos[name].plugin
                self._problem(
                    name,
                    plugin,
                    version or "",
                    f"duplicate: name {name!r} already registered by {first}",
                )
                return
            reason = _run_probe(probe)
            self.infos[name] = BackendInfo(
                name=name,
                plugin=plugin,
                version=version or "",
                priority=priority,
                available=reason is None,
                reason=reason or "",
                factory=factory,
                device_count=device_count,
            )

        return register

    def _problem(self, name: str, plugin: str, version: str, reason: str) -> None:
        self.problems.append(BackendInfo(name, plugin, version, reason=reason))

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
        self.discover()
        name = self.resolve_default_name()
        if name is None:
            raise DeviceError(self.explain("no backend is available", None))
        self.default = Device(name, 0)
        return self.default

    def check(self, dev: Device, source: str = "device") -> Device:
        """Raise a DeviceError that explains the fix unless `dev` can be used."""
        self.discover()
        info = self.infos.get(dev.type)
        if info is None:
            raise DeviceError(self.explain(f"{source}: unknown device {str(dev)!r}", dev.type))
        if not info.available:
            message = f"{source}: device {str(dev)!r} is unavailable: {info.reason}"
            raise DeviceError(self.explain(message, dev.type))
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
        except Exception as error:
            info.available = False
            info.reason = f"factory raised: {_describe(error)}"
            raise DeviceError(
                self.explain(f"device {str(dev)!r} failed to start", dev.type)
            ) from error
        if not isinstance(backend, Backend):
            raise BackendError(
                f"backend {dev.type!r}: factory returned {type(backend).__name__}, "
                "expected a tinygpt.backend.Backend subclass"
            )
        self.instances[dev] = backend
        return backend

    def explain(self, headline: str, wanted: str | None) -> str:
        """The headline plus every backend, why it is unavailable and how to fix it."""
        lines = [headline, "installed backends:"]
        rows = self.table()
        if not rows:
            lines.append("  (none)")
        for row in rows:
            state = "available" if row.available else f"unavailable: {row.reason}"
            lines.append(f"  {row.name:<10} {state}")
        if wanted is not None and wanted not in self.infos:
            dist = KNOWN_DISTRIBUTIONS.get(wanted, f"tinygpt-backend-{wanted}")
            lines.append(f"fix: pip install {dist}  (then check with: python -m tinygpt backends)")
        elif wanted is not None:
            lines.append("fix: see the reason above, or pick another device from the list")
        else:
            lines.append("fix: pip install tinygpt-backend-numpy (works everywhere)")
        return "\n".join(lines)


def _run_probe(probe: Callable[[], str | None] | None) -> str | None:
    if probe is None:
        return None
    try:
        return probe()
    except Exception as error:  # noqa: BLE001 - a probe must never break discovery
        return f"probe raised: {_describe(error)}"


def _describe(error: BaseException) -> str:
    frame = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    where = f" ({frame[0].filename}:{frame[0].lineno})" if frame else ""
    return f"{type(error).__name__}: {error}{where}"


_registry = _Registry()


def backends() -> list[BackendInfo]:
    """Every registered backend (highest priority first), then the plugins that failed."""
    return _registry.table()


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


def set_default_device(dev: Device | str | None) -> None:
    """Make `dev` the default device (None goes back to TINYGPT_DEVICE / the best one)."""
    if dev is None:
        _registry.default = None
        return
    _registry.default = _registry.check(device(dev), source="set_default_device")


def register_plugin(plugin: object, name: str) -> None:
    """Register a plugin object directly (tests, notebooks); re-runs discovery."""
    _registry.extra_plugins.append((plugin, name))
    reset(keep_plugins=True)


def reset(keep_plugins: bool = False) -> None:
    """Forget discovery results and backend instances (for tests)."""
    plugins = _registry.extra_plugins if keep_plugins else []
    _registry.__init__()  # type: ignore[misc]
    _registry.extra_plugins = plugins
