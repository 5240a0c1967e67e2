"""Discovery: entry points -> pluggy -> the table of backends, run once per process.

Each entry point is imported, and each plugin's hooks are called, inside its own guard:
whatever a plugin raises becomes one row of `tinygpt backends` (with the exception kept for the
DeviceError that selecting it raises later), never an error of tinygpt's. Registrations are
collected first and settled afterwards, so a name registered twice goes to the owner the rule
in `collisions` picks, whatever the order plugins were found in; only the winners' probes run.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pluggy

from ..device import Device
from . import hookspecs
from .collisions import FIRST_PARTY, Claimant, Collision, loser_reason, normalize, settle
from .kernels import KernelInfo, KernelTable
from .problems import check_registration, describe, one_line, run_probe
from .protocol import Backend

__all__ = ["BackendInfo", "Found", "discover", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "tinygpt.backends"


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
    distribution: str = ""  # the distribution behind the plugin ("" when registered in code)


@dataclass
class Found:
    """What discovery found: usable backends by name, problem rows, kernels, collisions."""

    infos: dict[str, BackendInfo] = field(default_factory=dict)
    problems: list[BackendInfo] = field(default_factory=list)
    kernels: KernelTable = field(default_factory=KernelTable)
    collisions: list[Collision] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # for the registry to emit, once


@dataclass(frozen=True)
class _Origin:
    """Who a pluggy plugin is: its entry point (or register_plugin) name and distribution."""

    plugin: str
    distribution: str = ""
    version: str = ""


@dataclass
class _Claim:
    """One `register(name, ...)` call, waiting for collisions to be settled."""

    key: str  # the pluggy plugin name (unique, unlike entry point names)
    info: BackendInfo
    probe: Callable[[], str | None] | None


def discover(
    extra_plugins: Sequence[tuple[object, str]],
    allow: frozenset[str] | None,
    pins: Mapping[str, str],
) -> Found:
    """Load the allowed entry points and `extra_plugins`, call their hooks, settle names.

    `allow` and `pins` come from TINYGPT_BACKENDS (config.py): the entry point names to import
    (None: all) and, per backend name, the distribution that must provide it.
    """
    return _Discovery(allow, pins).run(extra_plugins)


class _Discovery:
    def __init__(self, allow: frozenset[str] | None, pins: Mapping[str, str]) -> None:
        self.allow = allow
        self.pins = {name: normalize(dist) for name, dist in pins.items()}
        self.found = Found()
        self.origins: dict[str, _Origin] = {}  # pluggy plugin name -> who it is
        self.claims: dict[str, list[_Claim]] = {}  # backend name -> its registrations
        self.registered: set[str] = set()  # plugins that called a register callback
        self.failed: set[str] = set()  # plugins that failed to load, register or run a hook

    def run(self, extra_plugins: Sequence[tuple[object, str]]) -> Found:
        manager = pluggy.PluginManager("tinygpt")
        manager.add_hookspecs(hookspecs)
        self._load_entry_points(manager)
        for plugin, name in extra_plugins:
            if name in self.origins:
                taken = f"failed to register: a plugin named {name!r} is already registered"
                self._problem(name, name, _Origin(name), taken)
                continue
            self.origins[name] = _Origin(name)
            add = functools.partial(manager.register, plugin, name=name)
            self._guarded(name, name, "failed to register", add)
        for impl in manager.hook.tinygpt_register_backends.get_hookimpls():
            callback = self._backend_callback(impl.plugin_name)
            self._run_hook(impl, "tinygpt_register_backends", callback)
        for impl in manager.hook.tinygpt_register_kernels.get_hookimpls():
            callback = self._kernel_callback(impl.plugin_name)
            self._run_hook(impl, "tinygpt_register_kernels", callback)
        self._report_silent_plugins(manager)
        for name, claims in self.claims.items():
            self._settle(name, claims)
        return self.found

    # ---------------------------------------------------------- loading
    def _load_entry_points(self, manager: pluggy.PluginManager) -> None:
        """Import each allowed entry point and register it with pluggy."""
        found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        # NOTE: first-party entry points go first only so that they keep their own name in
        # pluggy; who owns a backend name is settled later, by the distribution.
        ordered = sorted(found, key=lambda ep: _distribution(ep) not in FIRST_PARTY)
        for entry_point in ordered:
            version = entry_point.dist.version if entry_point.dist else ""
            origin = _Origin(entry_point.name, _distribution(entry_point), version)
            disabled = self._disabled(entry_point.name, origin.distribution)
            if disabled is not None:
                self._problem(entry_point.name, entry_point.value, origin, disabled)
                continue
            key = self._unique_key(entry_point.name, origin.distribution or entry_point.value)
            self.origins[key] = origin
            load = functools.partial(_load, manager, entry_point, key)
            self._guarded(key, entry_point.name, "failed to load", load, entry_point.value)

    def _unique_key(self, name: str, qualifier: str) -> str:
        """A pluggy plugin name for an entry point: its own name unless another has it."""
        key = name
        count = 1
        while key in self.origins:
            count += 1
            key = f"{name} ({qualifier})" if count == 2 else f"{name} ({qualifier} #{count})"
        return key

    def _disabled(self, name: str, distribution: str) -> str | None:
        """Why TINYGPT_BACKENDS keeps this entry point from being imported, or None."""
        if self.allow is not None and name not in self.allow:
            entries = (f"{n}={self.pins[n]}" if n in self.pins else n for n in self.allow)
            shown = ",".join(sorted(entries))
            return f"disabled: not in TINYGPT_BACKENDS={shown} (so never imported)"
        pin = self.pins.get(name)
        if pin is not None and pin != distribution:
            picks = f"TINYGPT_BACKENDS={name}={pin} picks another distribution"
            return f"disabled: {picks} (so never imported)"
        return None

    def _guarded(
        self, key: str, name: str, what: str, action: Callable[[], object], plugin: str = ""
    ) -> bool:
        """Run `action`; on any error record a problem row and return False."""
        try:
            action()
        # subtle: BaseException, so that a plugin's KeyboardInterrupt or SystemExit cannot kill
        # `import tinygpt` + first use or `tinygpt backends`. A real Ctrl-C that lands while a
        # plugin imports is caught too and that plugin is reported broken: discovery then goes
        # on, and the next Ctrl-C stops the program as usual. Re-raising instead would let any
        # installed plugin end every tinygpt program at its first tensor.
        except BaseException as error:  # noqa: BLE001 - isolate every plugin
            origin = self.origins.get(key, _Origin(name))
            self.failed.add(key)
            reason = f"{what}: {describe(error)}"
            self._problem(name, plugin or origin.plugin, origin, reason, error)
            return False
        return True

    def _run_hook(self, impl: pluggy.HookImpl, hook: str, register: Callable[..., None]) -> None:
        call = functools.partial(impl.function, register=register)
        name = self.origins[impl.plugin_name].plugin
        self._guarded(impl.plugin_name, name, f"{hook} raised", call)

    # ---------------------------------------------------------- the register callbacks
    def _backend_callback(self, key: str) -> Callable[..., None]:
        origin = self.origins[key]

        def register(
            name: str,
            factory: Callable[[Device], Backend],
            *,
            priority: int = 0,
            probe: Callable[[], str | None] | None = None,
            device_count: Callable[[], int] | None = None,
            version: str = origin.version,
        ) -> None:
            self.registered.add(key)
            mistake = check_registration(name, factory, priority, probe, device_count)
            if mistake is None and any(c.key == key for c in self.claims.get(name, [])):
                mistake = f"{name!r} registered twice by this plugin; the first one is used"
            if mistake is not None:
                self._problem(str(name), origin.plugin, origin, f"invalid registration: {mistake}")
                return
            info = BackendInfo(
                name=name,
                plugin=origin.plugin,
                version=version or "",
                priority=priority,
                factory=factory,
                device_count=device_count,
                distribution=origin.distribution,
            )
            self.claims.setdefault(name, []).append(_Claim(key, info, probe))

        return register

    def _kernel_callback(self, key: str) -> Callable[..., None]:
        origin = self.origins[key]

        def register(
            backend: str,
            op: str,
            forward: Callable[..., object],
            backward: Callable[..., object] | None = None,
            *,
            priority: int = 0,
        ) -> None:
            self.registered.add(key)
            info = KernelInfo(str(backend), str(op), key, priority, forward, backward)
            mistake = self.found.kernels.validate(info)
            if mistake is not None:
                reason = f"invalid kernel {backend}.{op}: {mistake}"
                self._problem(origin.plugin, origin.plugin, origin, reason)
                return
            self.found.kernels.add(info)

        return register

    def _report_silent_plugins(self, manager: pluggy.PluginManager) -> None:
        """A loaded plugin that registered nothing is almost always a missing @hookimpl or a
        misspelled hook name; say which."""
        for key, plugin in manager.list_name_plugin():
            if key in self.registered or key in self.failed:
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
            origin = self.origins[key]
            self._problem(origin.plugin, origin.plugin, origin, reason)

    # ---------------------------------------------------------- settling names
    def _settle(self, name: str, claims: list[_Claim]) -> None:
        """Accept the one registration of `name` the rule picks; the others become rows."""
        pin = self.pins.get(name)
        if len(claims) == 1 and pin in (None, claims[0].info.distribution):
            self._accept(claims[0])
            return
        by_key = {claim.key: claim for claim in claims}
        claimants = [Claimant(claim.key, claim.info.distribution) for claim in claims]
        collision = settle(name, claimants, pin)
        if len(claims) > 1:
            self.found.collisions.append(collision)
            if not collision.pinned:  # an explicit choice needs no warning
                self.found.warnings.append(
                    f"backend name collision: {collision.describe()} "
                    "(python -m tinygpt backends lists them)"
                )
        for claimant in collision.claimants:
            claim = by_key[claimant.plugin]
            if claimant == collision.winner:
                self._accept(claim)
                continue
            reason = one_line(loser_reason(collision, claimant))
            row = dataclasses.replace(claim.info, reason=reason, factory=None)
            self.found.problems.append(row)

    def _accept(self, claim: _Claim) -> None:
        """The registration owns its name: run its probe and make it a backend row."""
        try:
            reason, error = run_probe(claim.probe)
        except BaseException as raised:  # noqa: BLE001 - run_probe lets these through
            reason, error = one_line(f"probe raised: {describe(raised)}"), raised
        claim.info.available = reason is None
        claim.info.reason = reason or ""
        claim.info.error = error
        self.found.infos[claim.info.name] = claim.info

    def _problem(
        self,
        name: str,
        plugin: str,
        origin: _Origin,
        reason: str,
        error: BaseException | None = None,
    ) -> None:
        info = BackendInfo(
            name,
            plugin,
            origin.version,
            reason=one_line(reason),
            error=error,
            distribution=origin.distribution,
        )
        self.found.problems.append(info)


def _distribution(entry_point: importlib.metadata.EntryPoint) -> str:
    """The normalized name of the distribution that declares `entry_point` ("" if none)."""
    dist = entry_point.dist
    if dist is None:
        return ""
    try:
        name = dist.metadata["Name"]
    except Exception:  # noqa: BLE001 - a damaged dist-info: treat it as a third party
        return ""
    return normalize(name or "")


def _load(
    manager: pluggy.PluginManager, entry_point: importlib.metadata.EntryPoint, key: str
) -> None:
    """Import an entry point's module and register it with pluggy as `key`."""
    manager.register(entry_point.load(), name=key)
