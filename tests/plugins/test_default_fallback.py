"""A backend that fails to start never takes the whole process down with it.

Picked automatically (the highest priority), it is skipped with a BackendWarning that names it,
its exception and the backend used instead. Asked for by name (`device=`, set_default_device,
TINYGPT_DEVICE), it raises a DeviceError that says why.
"""

from __future__ import annotations

import warnings

import pytest

import tinygpt as tg
from tinygpt.backend import hookimpl, registry


class FailingFactory:
    """A plugin whose backend `name` outranks everything but whose factory raises `error`."""

    def __init__(self, name: str, error: BaseException, priority: int = 1000) -> None:
        self.name = name
        self.error = error
        self.priority = priority
        self.calls = 0

    @hookimpl
    def tinygpt_register_backends(self, register):
        register(self.name, self.make, priority=self.priority)

    def make(self, device):
        self.calls += 1
        raise self.error


class WrongObject:
    """A plugin whose factory returns something that is not a Backend."""

    @hookimpl
    def tinygpt_register_backends(self, register):
        register("wrong", lambda device: object(), priority=1000)


class NoDevices:
    """A plugin whose backend reports zero devices: `nodev:0` does not exist."""

    @hookimpl
    def tinygpt_register_backends(self, register):
        register("nodev", print, priority=1000, device_count=lambda: 0)


def best_installed() -> str:
    """The default device before any test plugin is added."""
    return str(tg.default_device())


def row(name: str):
    (found,) = [r for r in tg.backends() if r.name == name]
    return found


@pytest.mark.parametrize(
    ("plugin", "cause"),
    [
        (FailingFactory("broken", ZeroDivisionError("no device today")), "ZeroDivisionError"),
        (FailingFactory("broken", ImportError("libfoo.so not found")), "ImportError"),
        (FailingFactory("broken", SystemExit(3)), "SystemExit: 3"),
        (WrongObject(), "factory returned object, expected a tinygpt.backend.Backend"),
        (NoDevices(), "device 'nodev' does not exist: nodev has 0 device(s)"),
    ],
    ids=["raises", "import error", "sys.exit", "wrong object", "no devices"],
)
def test_the_default_falls_back_to_the_next_backend(plugin, cause):
    fallback = best_installed()
    registry.register_plugin(plugin, "failing")
    (name,) = [r.name for r in tg.backends() if r.plugin == "failing"]
    with pytest.warns(registry.BackendWarning) as caught:
        x = tg.ones(3)
    assert x.tolist() == [1.0, 1.0, 1.0]
    assert str(x.device) == fallback
    (warning,) = caught
    message = str(warning.message)
    assert f"default backend {name!r} failed to start" in message
    assert cause in message
    assert f"using {fallback!r} instead" in message
    info = row(name)
    assert info.available is False and cause in info.reason
    assert [r.name for r in tg.backends() if r.default] == [fallback]


def test_the_warning_comes_once():
    registry.register_plugin(FailingFactory("broken", OSError("driver crashed")), "failing")
    with pytest.warns(registry.BackendWarning):
        tg.ones(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tg.set_default_device(None)
        assert tg.ones(2).tolist() == [1.0, 1.0]  # resolved again, quietly: already reported


@pytest.mark.parametrize("how", ["device=", "set_default_device", "TINYGPT_DEVICE"])
def test_a_device_asked_for_by_name_still_raises_and_says_why(monkeypatch, how):
    registry.register_plugin(FailingFactory("broken", OSError("driver crashed")), "failing")
    with pytest.raises(tg.DeviceError) as error:  # noqa: PT012 - one of three ways to ask
        if how == "device=":
            tg.ones(1, device="broken")
        elif how == "set_default_device":
            tg.set_default_device("broken")
            tg.ones(1)
        else:
            monkeypatch.setenv("TINYGPT_DEVICE", "broken")
            registry.reset(keep_plugins=True)
            tg.ones(1)
    assert "device 'broken' failed to start" in str(error.value)
    assert "factory raised: OSError: driver crashed" in str(error.value)
    assert isinstance(error.value.__cause__, OSError)


def test_when_every_backend_fails_the_error_lists_them(monkeypatch):
    monkeypatch.setenv("TINYGPT_BACKENDS", "nothing-installed")
    registry.reset()
    registry.register_plugin(FailingFactory("broken", OSError("driver crashed")), "failing")
    with pytest.warns(registry.BackendWarning, match="no other backend is available"):
        with pytest.raises(tg.DeviceError) as error:
            tg.ones(1)
    assert "no backend is available" in str(error.value)
    assert "factory raised: OSError: driver crashed" in str(error.value)


def test_listing_never_starts_a_backend():
    plugin = FailingFactory("broken", OSError("driver crashed"))
    registry.register_plugin(plugin, "failing")
    assert row("broken").available is True  # not known to fail until it is started
    assert row("broken").default is True
    assert plugin.calls == 0


# --- the command line -------------------------------------------------------------------------

FAILING_PLUGIN = """
from tinygpt.backend import hookimpl

def make(device):
    raise RuntimeError("the device fell over")

@hookimpl
def tinygpt_register_backends(register):
    register("fragile", make, priority=1000)
"""


def test_cli_shows_the_failed_default_as_unavailable(site):
    site.install("tinygpt-backend-fragile", {"fragile_plugin": FAILING_PLUGIN},
                 {"fragile": "fragile_plugin"})  # fmt: skip
    result = site.run("-m", "tinygpt", "backends")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    (fragile,) = [line for line in lines if line.startswith("fragile ")]
    assert " no " in fragile and "factory raised: RuntimeError: the device fell over" in fragile
    (default,) = [line for line in lines if " * " in line]
    assert default.split()[0] != "fragile"
    assert "warning: default backend 'fragile' failed to start" in result.stderr
    code = "import tinygpt as tg; print((tg.ones(2) + 1).tolist())"
    used = site.run("-W", "ignore", "-c", code)
    assert used.returncode == 0, used.stderr
    assert used.stdout.strip() == "[2.0, 2.0]"
