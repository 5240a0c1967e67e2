"""Backend plugins: discovery, isolation of broken plugins, selection, and the CLI table.

Every test registers throwaway plugins through the `register_backend` fixture (tests/conftest.py)
or `registry.register_plugin`, and the registry is reset afterwards.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys

import pytest

import tinygpt as tg
from tinygpt.backend import hookimpl, registry


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch):
    """Each test starts from the installed backends with no env overrides, and resets after."""
    monkeypatch.delenv("TINYGPT_DEVICE", raising=False)
    monkeypatch.delenv("TINYGPT_BACKENDS", raising=False)
    registry.reset()
    tg.set_default_device(None)
    yield
    registry.reset()
    tg.set_default_device(None)


def row(name: str):
    """The tg.backends() row named `name` (the first, if a name appears twice)."""
    rows = [r for r in tg.backends() if r.name == name]
    assert rows, f"{name!r} not in {[r.name for r in tg.backends()]}"
    return rows[0]


class RaisingPlugin:
    @hookimpl
    def tinygpt_register_backends(self, register):
        raise ZeroDivisionError("the plugin is broken on purpose")


# --- registration -----------------------------------------------------------------------------


def test_a_good_plugin_is_listed_and_runs(register_backend):
    register_backend("fake2", priority=-5)
    info = row("fake2")
    assert info.available is True
    assert info.priority == -5
    assert info.reason == ""
    x = tg.ones(2, device="fake2") + 1
    assert str(x.device) == "fake2"
    assert x.tolist() == [2.0, 2.0]
    assert row("numpy").available is True


def test_backends_are_listed_by_priority(register_backend):
    register_backend("low", priority=-10)
    register_backend("high", priority=1000)
    names = [r.name for r in tg.backends() if r.available]
    priorities = [r.priority for r in tg.backends() if r.available]
    assert priorities == sorted(priorities, reverse=True)
    assert names[0] == "high" and names[-1] == "low"


def test_the_highest_priority_backend_is_the_default(register_backend):
    register_backend("best", priority=1000)
    assert str(tg.default_device()) == "best"
    assert str(tg.zeros(1).device) == "best"
    defaults = [r.name for r in tg.backends() if r.default]
    assert defaults == ["best"]


def test_an_unavailable_backend_is_never_the_default(register_backend):
    register_backend("nogpu", priority=1000, probe=lambda: "no GPU here")
    assert str(tg.default_device()) != "nogpu"


def test_a_plugin_whose_hook_raises_is_reported_not_fatal():
    registry.register_plugin(RaisingPlugin(), "raising")
    rows = tg.backends()
    broken = [r for r in rows if r.plugin == "raising" or r.name == "raising"]
    assert len(broken) == 1
    assert broken[0].available is False
    assert "ZeroDivisionError" in broken[0].reason
    assert "broken on purpose" in broken[0].reason
    assert row("numpy").available is True
    assert (tg.ones(2, device="numpy") + 1).tolist() == [2.0, 2.0]


def test_a_duplicate_name_is_reported_and_the_first_one_kept(register_backend):
    register_backend("numpy", priority=99)
    rows = [r for r in tg.backends() if r.name == "numpy"]
    assert len(rows) == 2
    assert [r.available for r in rows] == [True, False]
    assert "duplicate" in rows[1].reason
    assert rows[0].priority == 0  # the original
    assert (tg.ones(2, device="numpy") * 3).tolist() == [3.0, 3.0]


def test_a_probe_reason_makes_the_backend_unavailable(register_backend):
    register_backend("nogpu", probe=lambda: "no GPU found by the probe")
    info = row("nogpu")
    assert info.available is False
    assert info.reason == "no GPU found by the probe"
    with pytest.raises(tg.DeviceError) as error:
        tg.ones(2, device="nogpu")
    assert "no GPU found by the probe" in str(error.value)


def test_a_probe_that_raises_is_a_reason_too(register_backend):
    def probe():
        raise OSError("driver exploded")

    register_backend("flaky", probe=probe)
    info = row("flaky")
    assert info.available is False
    assert "driver exploded" in info.reason


def test_a_factory_that_raises_gives_a_device_error():
    class BadFactory:
        @hookimpl
        def tinygpt_register_backends(self, register):
            register("badfactory", self.make)

        def make(self, device):
            raise ImportError("libfoo.so not found")

    registry.register_plugin(BadFactory(), "badfactory")
    with pytest.raises(tg.DeviceError) as error:
        tg.ones(2, device="badfactory")
    assert "libfoo.so not found" in str(error.value) or "libfoo" in str(error.value.__cause__)
    assert row("badfactory").available is False


def test_no_backend_module_is_imported_by_import_tinygpt():
    code = (
        "import sys, tinygpt; "
        "loaded = [m for m in sys.modules if m.startswith('tinygpt_backend_')]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- selection --------------------------------------------------------------------------------


def test_allow_list_hides_the_other_backends(monkeypatch):
    monkeypatch.setenv("TINYGPT_BACKENDS", "somethingelse")
    registry.reset()
    info = row("numpy")
    assert info.available is False
    assert "TINYGPT_BACKENDS" in info.reason
    with pytest.raises(tg.DeviceError, match="TINYGPT_BACKENDS"):
        tg.ones(1, device="numpy")


def test_allow_list_keeps_the_named_backend(monkeypatch):
    monkeypatch.setenv("TINYGPT_BACKENDS", "numpy, somethingelse")
    registry.reset()
    assert row("numpy").available is True
    hidden = [r for r in tg.backends() if r.name != "numpy" and r.available]
    assert hidden == []


def test_tinygpt_device_picks_the_default(monkeypatch, register_backend):
    register_backend("fake2", priority=-5)
    monkeypatch.setenv("TINYGPT_DEVICE", "fake2")
    registry.reset(keep_plugins=True)
    assert str(tg.default_device()) == "fake2"
    assert str(tg.zeros(2).device) == "fake2"


def test_tinygpt_device_naming_an_unknown_device(monkeypatch):
    monkeypatch.setenv("TINYGPT_DEVICE", "nope")
    registry.reset()
    with pytest.raises(tg.DeviceError) as error:
        tg.zeros(2)
    assert "TINYGPT_DEVICE" in str(error.value) and "nope" in str(error.value)


def test_set_default_device(register_backend, monkeypatch):
    monkeypatch.delenv("TINYGPT_DEVICE", raising=False)
    best = str(tg.default_device())
    register_backend("fake2", priority=-5)
    tg.set_default_device("fake2")
    assert str(tg.zeros(2).device) == "fake2"
    assert str(tg.tensor([1.0]).device) == "fake2"
    assert str(tg.zeros(2, device="numpy").device) == "numpy"  # an explicit device wins
    tg.set_default_device(None)
    assert str(tg.zeros(2).device) == best  # back to the highest-priority backend


def test_set_default_device_checks_the_name():
    with pytest.raises(tg.DeviceError):
        tg.set_default_device("nope")


def test_moving_between_backends(register_backend):
    register_backend("fake2")
    x = tg.tensor([1.0, 2.0], requires_grad=True, device="numpy")
    y = x.to("fake2")
    assert str(y.device) == "fake2"
    (y * 3).sum().backward()
    assert str(x.grad.device) == "numpy"
    assert x.grad.tolist() == [3.0, 3.0]


# --- entry points -----------------------------------------------------------------------------


def test_an_entry_point_that_fails_to_import_is_reported(monkeypatch):
    real = importlib.metadata.entry_points
    broken = importlib.metadata.EntryPoint(
        name="broken", value="nonexistent_module_xyz", group=registry.ENTRY_POINT_GROUP
    )

    def entry_points(**params):
        found = real(**params)
        if params.get("group") == registry.ENTRY_POINT_GROUP:
            return importlib.metadata.EntryPoints([*found, broken])
        return found

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    registry.reset()
    info = row("broken")
    assert info.available is False
    assert "nonexistent_module_xyz" in info.reason
    assert "ModuleNotFoundError" in info.reason or "failed to load" in info.reason
    assert row("numpy").available is True
    assert (tg.ones(2, device="numpy") + 1).tolist() == [2.0, 2.0]
    with pytest.raises(tg.DeviceError, match="nonexistent_module_xyz"):
        tg.ones(1, device="broken")


# --- the command line -------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TINYGPT_DEVICE", "TINYGPT_BACKENDS")}
    return subprocess.run(
        [sys.executable, "-m", "tinygpt", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_prints_the_backends_table():
    result = run_cli("backends")
    assert result.returncode == 0, result.stderr
    assert "numpy" in result.stdout
    assert "available" in result.stdout


def test_cli_names_prints_one_available_backend_per_line():
    result = run_cli("backends", "--names")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "numpy" in lines
    available = [r.name for r in tg.backends() if r.available]
    assert lines == available


# --- the test suite itself --------------------------------------------------------------------


def test_the_suite_fails_loudly_when_no_backend_is_available():
    """The `device` fixture must never quietly parametrize over nothing (tests/conftest.py)."""
    env = dict(os.environ, TINYGPT_BACKENDS="no_such_backend")
    env.pop("TINYGPT_DEVICE", None)
    test_file = os.path.join(os.path.dirname(__file__), "test_errors.py")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", test_file, "-q", "-p", "no:cacheprovider",
         "-k", "unknown_device"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "no tinygpt backend is available" in result.stdout + result.stderr
