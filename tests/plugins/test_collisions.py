"""Backend name collisions are never settled silently, and never by install order.

The rule under test (tinygpt/backend/collisions.py): TINYGPT_BACKENDS=name=distribution picks
one explicitly; else a first-party backend (from tinygpt-backend-numpy, -cpu or -cuda, told
apart by the distribution behind the entry point) wins over third parties; else two third
parties make the name an error and neither is used. Every collision is reported: a
BackendWarning, `tinygpt backends`, and the DeviceError for that name.

Each plugin is "installed" as a real distribution (the `site` fixture); the planted one is
the attack from the issue: it registers `numpy` with `+` turned into `-`.
"""

from __future__ import annotations

import importlib.metadata
import sys
import warnings

import pytest

import tinygpt as tg
from tinygpt.backend import registry
from tinygpt.backend.collisions import FIRST_PARTY

#: A numpy clone named NAME whose `add` subtracts. Its factory counts calls in CALLS.
PLANTED = """
from tinygpt.backend import hookimpl

CALLS = []

def make(device):
    from tinygpt_backend_numpy.backend import NumpyBackend

    class Planted(NumpyBackend):
        name = NAME

        def binary(self, op, a, b):
            return NumpyBackend.binary(self, "sub" if op == "add" else op, a, b)

    CALLS.append(device)
    return Planted(device)

@hookimpl
def tinygpt_register_backends(register):
    register(NAME, make, priority=PRIORITY)
"""


def planted(name: str, priority: int = 99) -> str:
    return f"NAME = {name!r}\nPRIORITY = {priority}\n" + PLANTED


def installed_first_party() -> list[str]:
    """The first-party backend names installed and available here (numpy at least)."""
    return [row.name for row in tg.backends() if row.available and row.distribution in FIRST_PARTY]


def rows_named(name: str):
    return [row for row in tg.backends() if row.name == name]


def discover() -> list[warnings.WarningMessage]:
    """Rediscover, returning the BackendWarnings discovery emitted."""
    registry.reset()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tg.backends()
    return [w for w in caught if issubclass(w.category, registry.BackendWarning)]


# --- a third party never replaces a first-party backend ---------------------------------------


@pytest.mark.parametrize("entry_point", ["numpy", "helper"], ids=["same entry point", "other"])
def test_the_planted_numpy_never_replaces_the_real_one(site, entry_point):
    site.install("evil-numpy", {"evil_plugin": planted("numpy")}, {entry_point: "evil_plugin"})
    caught = discover()
    assert (tg.ones(2, device="numpy") + tg.ones(2, device="numpy")).tolist() == [2.0, 2.0]
    assert type(tg.get_backend("numpy")).__name__ == "NumpyBackend"
    assert sys.modules["evil_plugin"].CALLS == []  # its factory never even ran
    real, shadowed = rows_named("numpy")
    assert (real.distribution, real.available, real.priority) == ("tinygpt-backend-numpy", True, 0)
    assert (shadowed.distribution, shadowed.available) == ("evil-numpy", False)
    assert shadowed.reason == (
        "duplicate: name 'numpy' from evil-numpy is shadowed by tinygpt-backend-numpy "
        "(a first-party backend wins over third parties)"
    )
    (warning,) = caught
    assert "'numpy' is registered by tinygpt-backend-numpy and evil-numpy" in str(warning.message)
    assert "tinygpt-backend-numpy is used" in str(warning.message)
    (collision,) = registry.collisions()
    assert collision.name == "numpy" and str(collision.winner) == "tinygpt-backend-numpy"


def test_every_installed_first_party_name_is_protected(site):
    names = installed_first_party()
    modules = {f"evil_{name}": planted(name, priority=1000) for name in names}
    site.install("evil-all", modules, {name: f"evil_{name}" for name in names})
    caught = discover()
    assert len(caught) == len(names)
    for name in names:
        real, shadowed = rows_named(name)
        assert real.distribution == f"tinygpt-backend-{name}" and real.available
        assert shadowed.distribution == "evil-all" and not shadowed.available
        x = tg.ones(2, device=name)
        assert (x + x).tolist() == [2.0, 2.0]
    assert tg.default_device().type in names  # priority 1000 bought nothing
    assert all(sys.modules[module].CALLS == [] for module in modules)


@pytest.mark.parametrize("order", ["planted first", "planted last"])
def test_the_outcome_does_not_depend_on_discovery_order(site, monkeypatch, order):
    site.install("evil-numpy", {"evil_plugin": planted("numpy")}, {"numpy": "evil_plugin"})
    real_entry_points = importlib.metadata.entry_points

    def entry_points(**params):
        found = list(real_entry_points(**params))
        if params.get("group") == registry.ENTRY_POINT_GROUP:
            found.sort(key=lambda ep: (ep.dist.name == "evil-numpy") == (order == "planted last"))
        return importlib.metadata.EntryPoints(found)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    assert len(discover()) == 1
    assert (tg.ones(2, device="numpy") + 1).tolist() == [2.0, 2.0]
    assert [row.distribution for row in rows_named("numpy")] == [
        "tinygpt-backend-numpy",
        "evil-numpy",
    ]


# --- two third parties: an error for that name until TINYGPT_BACKENDS picks one ---------------


def install_two(site) -> None:
    for letter in "ab":
        site.install(f"backend-{letter}", {f"shared_{letter}": planted("shared", -5)},
                     {"shared": f"shared_{letter}"})  # fmt: skip


def test_two_third_parties_with_one_name_make_it_an_error(site):
    install_two(site)
    (warning,) = discover()
    assert "neither is used" in str(warning.message)
    rows = rows_named("shared")
    assert [(row.distribution, row.available) for row in rows] == [
        ("backend-a", False),
        ("backend-b", False),
    ]
    assert rows[0].reason == (
        "duplicate: name 'shared' from backend-a is also registered by backend-b: neither is "
        "used; pick one with TINYGPT_BACKENDS=shared=backend-a or TINYGPT_BACKENDS=shared=backend-b"
    )
    with pytest.raises(tg.DeviceError) as error:
        tg.ones(1, device="shared")
    message = str(error.value)
    assert "device 'shared' is unavailable: duplicate: name 'shared'" in message
    assert "name collisions:" in message
    assert "'shared' is registered by backend-a and backend-b: neither is used" in message
    assert sys.modules["shared_a"].CALLS == sys.modules["shared_b"].CALLS == []
    assert (tg.ones(2, device="numpy") + 1).tolist() == [2.0, 2.0]


def test_tinygpt_backends_picks_the_distribution(site, monkeypatch):
    install_two(site)
    monkeypatch.setenv("TINYGPT_BACKENDS", "numpy, shared=Backend_B")  # names are normalized
    assert discover() == []  # an explicit choice is no surprise: no warning
    (row,) = [row for row in rows_named("shared") if row.available]
    assert row.distribution == "backend-b"
    assert "shared_a" not in sys.modules  # the other entry point named `shared`: never imported
    (skipped,) = [row for row in rows_named("shared") if not row.available]
    assert skipped.reason == (
        "disabled: TINYGPT_BACKENDS=shared=backend-b picks another distribution (so never imported)"
    )
    x = tg.ones(2, device="shared")
    assert (x + x).tolist() == [0.0, 0.0]  # the user asked for this one, planted or not
    assert registry.collisions() == []


def test_a_pin_also_settles_a_registration_under_another_entry_point(site, monkeypatch):
    site.install("evil-numpy", {"evil_plugin": planted("numpy")}, {"helper": "evil_plugin"})
    monkeypatch.setenv("TINYGPT_BACKENDS", "numpy=tinygpt-backend-numpy,helper")
    assert discover() == []
    real, other = rows_named("numpy")
    assert real.distribution == "tinygpt-backend-numpy" and real.available
    assert other.reason == (
        "duplicate: name 'numpy' from evil-numpy is not used: "
        "TINYGPT_BACKENDS=numpy=tinygpt-backend-numpy picks tinygpt-backend-numpy"
    )
    (collision,) = registry.collisions()
    assert collision.why == "TINYGPT_BACKENDS=numpy=tinygpt-backend-numpy picks it"


def test_a_pin_to_a_missing_distribution_says_so(monkeypatch):
    monkeypatch.setenv("TINYGPT_BACKENDS", "numpy=tinygpt-backend-nope")
    registry.reset()
    (row,) = rows_named("numpy")
    assert row.reason.startswith("disabled: TINYGPT_BACKENDS=numpy=tinygpt-backend-nope picks")
    with pytest.raises(tg.DeviceError, match="TINYGPT_BACKENDS=numpy=tinygpt-backend-nope"):
        tg.ones(1, device="numpy")


@pytest.mark.parametrize("value", ["numpy=", "=tinygpt-backend-numpy", "a=b=c"])
def test_a_malformed_tinygpt_backends_is_an_error_that_shows_the_syntax(monkeypatch, value):
    monkeypatch.setenv("TINYGPT_BACKENDS", value)
    registry.reset()
    with pytest.raises(tg.DeviceError, match="NAME or NAME=DISTRIBUTION"):
        tg.backends()


# --- the command line -------------------------------------------------------------------------


def test_cli_lists_every_collision_and_its_outcome(site):
    site.install("evil-numpy", {"evil_plugin": planted("numpy")}, {"numpy": "evil_plugin"})
    install_two(site)
    result = site.run("-m", "tinygpt", "backends")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    numpy_lines = [line for line in lines if line.split()[:1] == ["numpy"]]
    assert " yes " in numpy_lines[0] and " tinygpt-backend-numpy " in numpy_lines[0]
    assert " no " in numpy_lines[1] and " evil-numpy " in numpy_lines[1]
    start = lines.index(next(line for line in lines if line.startswith("name collisions")))
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    section = [line.strip() for line in lines[start + 1 : end]]
    assert section == [
        "'numpy' is registered by tinygpt-backend-numpy and evil-numpy: tinygpt-backend-numpy "
        "is used (a first-party backend wins over third parties)",
        "'shared' is registered by backend-a and backend-b: neither is used; pick one with "
        "TINYGPT_BACKENDS=shared=backend-a or TINYGPT_BACKENDS=shared=backend-b",
    ]
    assert result.stderr.count("warning: backend name collision:") == 2
    assert "Traceback" not in result.stderr
