"""A broken plugin never breaks the host: every failure mode is one row, the rest keeps working.

Each plugin here is "installed" as a real distribution with an entry point (the `site`
fixture), the way a user's broken third-party backend would arrive.
"""

from __future__ import annotations

import sys

import pytest

import tinygpt as tg
from tinygpt.backend import hookimpl, registry

NUMPY_CLONE = """
from tinygpt.backend import hookimpl

def make(device, name, **overrides):
    from tinygpt_backend_numpy.backend import NumpyBackend
    return type("Clone", (NumpyBackend,), dict(name=name, **overrides))(device)
"""

#: entry point (= backend name) -> module source. One plugin per failure mode.
BROKEN = {
    "broken": 'raise ImportError("libbroken.so: cannot open shared object file")\n',
    "exploding": """
from tinygpt.backend import hookimpl

@hookimpl
def tinygpt_register_backends(register):
    raise RuntimeError("the hook exploded\\nover two lines")
""",
    "dupe": NUMPY_CLONE
    + """
@hookimpl
def tinygpt_register_backends(register):
    register("numpy", lambda device: make(device, "numpy"), priority=99)
""",
    "nodevice": NUMPY_CLONE
    + """
@hookimpl
def tinygpt_register_backends(register):
    register("nodevice", lambda device: make(device, "nodevice"),
             probe=lambda: "no device found (driver 0.0 is too old)")
""",
    "flaky": NUMPY_CLONE
    + """
def probe():
    raise OSError("the driver crashed while probing")

@hookimpl
def tinygpt_register_backends(register):
    register("flaky", lambda device: make(device, "flaky"), probe=probe)
""",
    "badfactory": """
from tinygpt.backend import hookimpl

def make(device):
    return 1 / 0

@hookimpl
def tinygpt_register_backends(register):
    register("badfactory", make)
""",
    "shortbuf": NUMPY_CLONE
    + """
def binary(self, op, a, b):  # one element short: a kernel that returns the wrong shape
    from tinygpt_backend_numpy.backend import NumpyBackend
    return NumpyBackend.binary(self, op, a, b)[:-1]

@hookimpl
def tinygpt_register_backends(register):
    register("shortbuf", lambda device: make(device, "shortbuf", binary=binary), priority=-1)
""",
    "healthy": NUMPY_CLONE
    + """
@hookimpl
def tinygpt_register_backends(register):
    register("healthy", lambda device: make(device, "healthy"), priority=-5)
""",
    "heavy": "from tinygpt.backend import hookimpl\nimport not_a_real_module_xyz\n",
    "exiting": "import sys\nsys.exit(3)\n",
    "silent": "def tinygpt_register_backends(register):  # no @hookimpl\n    pass\n",
    "misnamed": NUMPY_CLONE
    + """
@hookimpl
def tinygpt_register_backends(register):
    register("My Device", lambda device: make(device, "x"))
""",
}


def install_broken(site) -> None:
    for name, source in BROKEN.items():
        site.install(
            f"tinygpt-backend-{name}", {f"{name}_plugin": source}, {name: f"{name}_plugin"}
        )
    registry.reset()


FIRST_PARTY = {"numpy", "cpu", "cuda"}


def rows_named(name: str):
    return [row for row in tg.backends() if row.name == name]


def numpy_still_works() -> None:
    assert rows_named("numpy")[0].available
    assert (tg.ones(2, device="numpy") + 1).tolist() == [2.0, 2.0]
    # the default is still a first-party backend (cpu or cuda when installed), never a plugin
    # from here: `dupe` registers "numpy" with priority 99 and must not win
    assert tg.zeros(1).device.type in FIRST_PARTY


# --- in-process: the table and selection ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("broken", "failed to load: ImportError: libbroken.so"),
        ("exploding", "tinygpt_register_backends raised: RuntimeError: the hook exploded over"),
        ("dupe", "duplicate: name 'numpy' "),
        ("nodevice", "no device found (driver 0.0 is too old)"),
        ("flaky", "probe raised: OSError: the driver crashed while probing"),
        ("exiting", "failed to load: SystemExit: 3"),
        ("heavy", "No module named 'not_a_real_module_xyz' ("),
        ("silent", "registered nothing: is its tinygpt_register_backends decorated with @"),
        ("My Device", "invalid registration: backend name 'My Device' is not a device name"),
    ],
)
def test_each_failure_is_one_row_with_its_reason(site, name, reason):
    install_broken(site)
    rows = rows_named("numpy" if name == "dupe" else name)
    broken = rows[-1]
    assert broken.available is False
    assert reason in broken.reason
    assert "\n" not in broken.reason
    numpy_still_works()


class MisspelledHook:
    @hookimpl
    def tinygpt_register_backend(self, register):  # singular: not a tinygpt hook
        register("typo", print)


class MisnamedArgument:
    @hookimpl
    def tinygpt_register_backends(self, reg):  # pluggy passes `register` by name
        reg("misnamed", print)


@pytest.mark.parametrize(
    ("plugin", "reason"),
    [
        (MisspelledHook(), "registered nothing: tinygpt_register_backend is not a tinygpt hook"),
        (MisnamedArgument(), "Argument(s) {'reg'} are declared in the hookimpl but can not be"),
    ],
    ids=["misspelled hook", "misnamed argument"],
)
def test_hook_mistakes_are_explained(plugin, reason):
    registry.register_plugin(plugin, "mistaken")
    (row,) = [row for row in tg.backends() if row.plugin == "mistaken"]
    assert reason in row.reason
    numpy_still_works()


def test_a_failed_import_points_at_the_plugins_own_import_line(site):
    install_broken(site)
    (row,) = rows_named("heavy")
    assert row.reason.endswith("heavy_plugin.py:2)"), row.reason  # not importlib's frames


class Misnamed:
    @hookimpl
    def tinygpt_register_backends(self, register):
        register("mine", self.make)

    def make(self, device):
        from tinygpt_backend_numpy.backend import NumpyBackend

        return NumpyBackend(device)  # still called "numpy"


def test_a_backend_whose_name_differs_from_its_registration_is_refused():
    registry.register_plugin(Misnamed(), "mine")
    with pytest.raises(tg.BackendError, match="set `name = 'mine'` on NumpyBackend"):
        tg.ones(1, device="mine")
    numpy_still_works()


def test_every_other_backend_keeps_working(site):
    install_broken(site)
    assert (tg.ones(3, device="healthy") * 2).tolist() == [2.0, 2.0, 2.0]
    numpy_still_works()


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("broken", ImportError),
        ("exploding", RuntimeError),
        ("flaky", OSError),
        ("badfactory", ZeroDivisionError),
    ],
)
def test_selecting_a_broken_backend_chains_the_original_exception(site, name, cause):
    install_broken(site)
    with pytest.raises(tg.DeviceError) as error:
        tg.ones(1, device=name)
    assert isinstance(error.value.__cause__, cause)
    assert repr(name) in str(error.value)
    assert "installed backends:" in str(error.value)  # with the table that explains the fix
    # the second time too (the factory is not retried, its error is remembered)
    with pytest.raises(tg.DeviceError) as again:
        tg.ones(1, device=name)
    assert isinstance(again.value.__cause__, cause)
    numpy_still_works()


def test_an_unavailable_backend_says_why_without_a_cause(site):
    install_broken(site)
    with pytest.raises(tg.DeviceError, match="driver 0.0 is too old") as error:
        tg.set_default_device("nodevice")
    assert error.value.__cause__ is None


def test_the_allow_list_keeps_other_plugins_from_being_imported(site, monkeypatch):
    install_broken(site)
    monkeypatch.setenv("TINYGPT_BACKENDS", "numpy,nodevice")
    registry.reset()
    for name in ("broken", "exploding", "exiting", "shortbuf"):
        (row,) = rows_named(name)
        assert row.reason.startswith("disabled: not in TINYGPT_BACKENDS=nodevice,numpy")
        assert f"{name}_plugin" not in sys.modules, f"{name} was imported"
    assert rows_named("nodevice")[0].reason == "no device found (driver 0.0 is too old)"
    with pytest.raises(tg.DeviceError, match="TINYGPT_BACKENDS"):
        tg.ones(1, device="shortbuf")
    numpy_still_works()


# --- the command line -------------------------------------------------------------------------


def test_cli_shows_each_problem_in_one_line(site):
    install_broken(site)
    result = site.run("-m", "tinygpt", "backends")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    shown = {
        "broken": "ImportError: libbroken.so: cannot open shared object file",
        "exploding": "RuntimeError: the hook exploded over two lines",
        "exiting": "SystemExit: 3",
        "silent": "registered nothing",
        "nodevice": "no device found (driver 0.0 is too old)",
        "flaky": "OSError: the driver crashed while probing",
    }
    for name, reason in shown.items():
        mine = [line for line in lines if line.split()[:1] == [name]]
        assert len(mine) == 1, (name, lines)
        assert " no " in mine[0] and reason in mine[0], mine[0]
    assert any(line.startswith("My Device ") and "invalid" in line for line in lines)
    numpy_lines = [line for line in lines if line.split()[:1] == ["numpy"]]
    assert len(numpy_lines) == 2, lines
    assert " yes " in numpy_lines[0] and numpy_lines[0].endswith(" numpy")  # the real one
    default = [line for line in lines if " * " in line]
    assert len(default) == 1 and default[0].split()[0] in FIRST_PARTY
    assert "dupe" in numpy_lines[1] and "duplicate: name 'numpy'" in numpy_lines[1]


def test_a_name_belongs_to_the_plugin_named_after_it_whatever_the_install_order(site):
    install_broken(site)  # `dupe` is found before the real numpy plugin (earlier on sys.path)
    real, impostor = rows_named("numpy")
    assert (real.plugin, real.available, real.priority) == ("numpy", True, 0)
    assert (impostor.plugin, impostor.available) == ("dupe", False)
    assert type(tg.get_backend("numpy")).__name__ == "NumpyBackend"


def test_cli_check_fails_the_broken_backends_and_passes_numpy(site):
    install_broken(site)
    result = site.run("-m", "tinygpt", "backends", "--check")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()

    def check_line(device):
        found = [line for line in lines if line.split()[1:2] == [device]]
        assert len(found) == 1, (device, lines)
        return found[0]

    assert check_line("numpy").startswith("pass ")
    assert " ms " in check_line("numpy") + " "
    short = check_line("shortbuf")
    assert short.startswith("FAIL ")
    assert "add: BackendError: backend 'shortbuf': binary('add', (2, 2) float32" in short
    assert "returned a buffer of 3 elements, expected 4" in short
    factory = check_line("badfactory")
    assert factory.startswith("FAIL ") and "startup: ZeroDivisionError" in factory
