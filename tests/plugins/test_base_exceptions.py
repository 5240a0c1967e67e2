"""A plugin that raises KeyboardInterrupt or SystemExit is a broken plugin, not an exit.

They derive from BaseException, so an `except Exception` lets them through: one plugin could
kill `tinygpt backends` and the first `tg.ones(...)` of every program. Discovery records them
like any other plugin failure (registry.py says why a Ctrl-C at import is treated so).
"""

from __future__ import annotations

import pytest

import tinygpt as tg
from tinygpt.backend import registry

HOOK = """
from tinygpt.backend import hookimpl

@hookimpl
def tinygpt_register_backends(register):
    raise {error}
"""

PROBE = """
from tinygpt.backend import hookimpl

def probe():
    raise {error}

@hookimpl
def tinygpt_register_backends(register):
    register("{name}", print, probe=probe)
"""

#: entry point (= backend name) -> (module source, the start of its row's reason)
PLUGINS = {
    "ctrlc-import": ("raise KeyboardInterrupt\n", "failed to load: KeyboardInterrupt"),
    "exit-import": ("import sys\nsys.exit('bye')\n", "failed to load: SystemExit: bye"),
    "ctrlc-hook": (
        HOOK.format(error="KeyboardInterrupt('in the hook')"),
        "tinygpt_register_backends raised: KeyboardInterrupt: in the hook",
    ),
    "exit-hook": (
        HOOK.format(error="SystemExit(2)"),
        "tinygpt_register_backends raised: SystemExit: 2",
    ),
    "ctrlc-probe": (
        PROBE.format(error="KeyboardInterrupt('in the probe')", name="ctrlc-probe"),
        "probe raised: KeyboardInterrupt: in the probe",
    ),
}


def install(site) -> None:
    for name, (source, _) in PLUGINS.items():
        module = name.replace("-", "_") + "_plugin"
        site.install(f"tinygpt-backend-{name}", {module: source}, {name: module})
    registry.reset()


def listed() -> list:
    """tg.backends(), turning an escaped BaseException into a test failure, not an exit."""
    try:
        return tg.backends()
    except BaseException as error:  # noqa: BLE001 - the bug under test
        pytest.fail(f"a plugin's {type(error).__name__} escaped discovery")


@pytest.mark.parametrize("name", list(PLUGINS))
def test_each_is_one_broken_row(site, name):
    install(site)
    (row,) = [row for row in listed() if row.name == name]
    assert row.available is False
    assert row.reason.startswith(PLUGINS[name][1]), row.reason
    assert (tg.ones(2, device="numpy") + 1).tolist() == [2.0, 2.0]


def test_first_use_and_the_cli_survive_them(site):
    install(site)
    code = "import tinygpt as tg; print((tg.ones(2) + tg.ones(2)).tolist())"
    used = site.run("-c", code)
    assert used.returncode == 0, used.stderr
    assert used.stdout.strip() == "[2.0, 2.0]"
    table = site.run("-m", "tinygpt", "backends")
    assert table.returncode == 0, table.stderr
    for name, (_, reason) in PLUGINS.items():
        (line,) = [line for line in table.stdout.splitlines() if line.startswith(f"{name} ")]
        assert " no " in line and reason in line, line
