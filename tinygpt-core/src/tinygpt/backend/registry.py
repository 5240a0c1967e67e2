"""Backend discovery and lookup: entry points -> pluggy -> a table of backends.

Discovery runs once, lazily, the first time a device is used or the backends are listed, so
`import tinygpt` never imports a backend. Each plugin is loaded and called in its own
try/except: a broken plugin is recorded in the table with its error (shown in one line by
`tinygpt backends`), never raised; selecting its device later raises a DeviceError with the
original exception chained as its ``__cause__``.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass

import pluggy

from ..config import env_backend_allow_list, env_check_kernels, env_default_device
from ..device import Device, device
from ..errors import BackendError, DeviceError
from . import hookspecs
from .checks import install_checks
from .dense import install_dense_inputs
from .kernels import KernelInfo, KernelTable
from .problems import check_registration, describe, one_line, run_probe
from .protocol import Backend

__all__ = [
    "BackendInfo",
    "KernelInfo",
    "backends",
    "kernels",
    "get_backend",
    "default_device",
    "set_default_device",
    "register_plugin",
    "enable_checks",
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
    reason: str = ""  # why not available, in one line ("" when available)
    default: bool = False
    factory: Callable[[Device], Backend] | None = None
    device_count: Callable[[], int] | None = None
    error: BaseException | None = None  # the exception behind `reason`, chained when selected


class _Registry:
    """The discovered backends, their instances per device, and the default device."""

    def __init__(self) -> None:
        self.discovered = False
        self.infos: dict[str, BackendInfo] = {}
        self.problems: list[BackendInfo] = []  # plugins that failed to load or register
        self.kernels = KernelTable()
        self.instances: dict[Device, Backend] = {}
        self.extra_plugins: list[tuple[object, str]] = []
        self.default: Device | None = None
        self.check_kernels = env_check_kernels()

    # ---------------------------------------------------------- discovery
    def discover(self) -> None:
        if self.discovered:
            return
        self.discovered = True
        manager = pluggy.PluginManager("tinygpt")
        manager.add_hookspecs(hookspecs)
        versions = self._load_entry_points(manager)
        for plugin, name in self.extra_plugins:
            add = functools.partial(manager.register, plugin, name=name)
            self._guarded(name, "", "failed to register", add)
        registered: set[str] = set()  # plugins that called a register callback
        for impl in manager.hook.tinygpt_register_backends.get_hookimpls():
            version = versions.get(impl.plugin_name, "")
            callback = self._backend_callback(impl.plugin_name, version, registered)
            self._run_hook(impl, "tinygpt_register_backends", version, callback)
        for impl in manager.hook.tinygpt_register_kernels.get_hookimpls():
            version = versions.get(impl.plugin_name, "")
            callback = self._kernel_callback(impl.plugin_name, version, registered)
            self._run_hook(impl, "tinygpt_register_kernels", version, callback)
        self._report_silent_plugins(manager, versions, registered)

    def _load_entry_points(self, manager: pluggy.PluginManager) -> dict[str, str]:
        """Import each allowed entry point and register it; plugin name -> version."""
        allow = env_backend_allow_list()
        versions: dict[str, str] = {}
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            version = entry_point.dist.version if entry_point.dist else ""
            name = entry_point.name
            if allow is not None and name not in allow:
                shown = ",".join(sorted(allow))
                reason = f"disabled: not in TINYGPT_BACKENDS={shown} (so never imported)"
                self._problem(name, entry_point.value, version, reason)
                continue
            if manager.has_plugin(name):
                reason = f"duplicate: entry point {name!r} is already used by another plugin"
                self._problem(name, entry_point.value, version, reason)
                continue
            load = functools.partial(_load, manager, entry_point)
            if self._guarded(name, version, "failed to load", load, plugin=entry_point.value):
                versions[name] = version
        return versions

    def _guarded(
        self, name: str, version: str, what: str, action: Callable[[], object], plugin: str = ""
    ) -> bool:
        """Run `action`; on any error record a problem row and return False."""
        try:
            action()
        except (Exception, SystemExit) as error:  # noqa: BLE001 - isolate every plugin
            self._problem(name, plugin or name, version, f"{what}: {describe(error)}", error)
            return False
        return True

    def _run_hook(
        self, impl: pluggy.HookImpl, hook: str, version: str, register: Callable[..., None]
    ) -> None:
        call = functools.partial(impl.function, register=register)
        self._guarded(impl.plugin_name, version, f"{hook} raised", call)

    def _backend_callback(
        self, plugin: str, version: str, registered: set[str]
    ) -> Callable[..., None]:
        def register(
            name: str,
            factory: Callable[[Device], Backend],
            *,
            priority: int = 0,
            probe: Callable[[], str | None] | None = None,
            device_count: Callable[[], int] | None = None,
            version: str = version,
        ) -> None:
            registered.add(plugin)
            mistake = check_registration(name, factory, priority, probe, device_count)
            if mistake is not None:
                self._problem(str(name), plugin, version, f"invalid registration: {mistake}")
                return
            taken = self.infos.get(name)
            if taken is not None:
                # A name belongs to the plugin named after it (entry point `numpy` owns the
                # "numpy" device), else to the first to register it: never to sys.path order.
                if plugin != name or taken.plugin == name:
                    clash = f"duplicate: name {name!r} already registered by {taken.plugin}"
                    self._problem(name, plugin, version, clash)
                    return
                clash = f"duplicate: name {name!r} belongs to the plugin named {name!r}"
                self._problem(name, taken.plugin, taken.version, clash)
            reason, error = run_probe(probe)
            self.infos[name] = BackendInfo(
                name=name,
                plugin=plugin,
                version=version or "",
                priority=priority,
                available=reason is None,
                reason=reason or "",
                factory=factory,
                device_count=device_count,
                error=error,
            )

        return register

    def _kernel_callback(
        self, plugin: str, version: str, registered: set[str]
    ) -> Callable[..., None]:
        def register(
            backend: str,
            op: str,
            forward: Callable[..., object],
            backward: Callable[..., object] | None = None,
            *,
            priority: int = 0,
        ) -> None:
            registered.add(plugin)
            info = KernelInfo(str(backend), str(op), plugin, priority, forward, backward)
            mistake = self.kernels.validate(info)
            if mistake is not None:
                reason = f"invalid kernel {backend}.{op}: {mistake}"
                self._problem(plugin, plugin, version, reason)
                return
            self.kernels.add(info)

        return register

    def _report_silent_plugins(
        self, manager: pluggy.PluginManager, versions: dict[str, str], registered: set[str]
    ) -> None:
        """A loaded plugin that registered nothing is almost always a missing @hookimpl or a
        misspelled hook name; say which."""
        failed = {row.name for row in self.problems}
        for name, plugin in manager.list_name_plugin():
            if name in registered or name in failed:
                continue
            unknown = [
                attr
                for attr in dir(plugin)
                if attr.startswith("tinygpt_") and not hasattr(hookspecs, attr)
            ]
            if unknown:
                hooks = ", ".join(h for h in hookspecs.__all__ if h.startswith("tinygpt_"))
                reason = f"registered nothing: {unknown[0]} is not a tinygpt hook (hooks: {hooks})"
            else:
                reason = (
                    "registered nothing: is its tinygpt_register_backends decorated with "
                    "@tinygpt.backend.hookimpl and does it call register(...)?"
                )
            self._problem(name, name, versions.get(name, ""), reason)

    def _problem(
        self,
        name: str,
        plugin: str,
        version: str,
        reason: str,
        error: BaseException | None = None,
    ) -> None:
        info = BackendInfo(name, plugin, version, reason=one_line(reason), error=error)
        self.problems.append(info)

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
        """Raise a DeviceError that explains the fix unless `dev` can be used.

        When a plugin error is behind it, that exception is chained as the ``__cause__``.
        """
        self.discover()
        info = self.infos.get(dev.type)
        if info is None:
            info = next((row for row in self.problems if row.name == dev.type), None)
        if info is None:
            raise DeviceError(self.explain(f"{source}: unknown device {str(dev)!r}", dev.type))
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
        except Exception as error:
            info.available = False
            info.reason = one_line(f"factory raised: {describe(error)}")
            info.error = error
            raise DeviceError(
                self.explain(f"device {str(dev)!r} failed to start", dev.type)
            ) from error
        if not isinstance(backend, Backend):
            raise BackendError(
                f"backend {dev.type!r}: factory returned {type(backend).__name__}, "
                "expected a tinygpt.backend.Backend subclass"
            )
        if backend.name != dev.type:
            raise BackendError(
                f"backend {dev.type!r}: factory returned a backend whose name is "
                f"{backend.name!r}; set `name = {dev.type!r}` on {type(backend).__name__}"
            )
        self.kernels.apply(backend)
        if getattr(backend, "dense_inputs", False):
            install_dense_inputs(backend)  # after apply: contributed kernels get dense inputs
        if self.check_kernels:
            install_checks(backend)
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
        known = {row.name for row in rows}
        if wanted is not None and wanted not in known:
            dist = KNOWN_DISTRIBUTIONS.get(wanted, f"tinygpt-backend-{wanted}")
            lines.append(f"fix: pip install {dist}  (then check with: python -m tinygpt backends)")
        elif wanted is not None:
            lines.append("fix: see the reason above, or pick another device from the list")
        else:
            lines.append("fix: pip install tinygpt-backend-numpy (works everywhere)")
        return "\n".join(lines)


def _load(manager: pluggy.PluginManager, entry_point: importlib.metadata.EntryPoint) -> None:
    """Import an entry point's module and register it under the entry point's name."""
    manager.register(entry_point.load(), name=entry_point.name)


_registry = _Registry()


def backends() -> list[BackendInfo]:
    """Every registered backend (highest priority first), then the plugins that failed."""
    return _registry.table()


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
