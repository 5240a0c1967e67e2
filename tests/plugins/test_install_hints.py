"""Install hints name only tinygpt's own distributions, installed from the checkout.

tinygpt's distributions are not on PyPI: `pip install tinygpt-backend-numpy` fails today, and
installs a stranger's code once someone registers the name. So every hint is a checkout
folder (`pip install ./tinygpt-backend-numpy`), and a mistyped device gets a suggestion,
never a package name built from what was typed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import tinygpt as tg
from tinygpt import _missing
from tinygpt.backend import registry
from tinygpt.cli import main

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    *ROOT.glob("tinygpt-*/src/**/*.py"),
    *ROOT.glob("tinygpt-*/src/**/*.pyx"),
    *ROOT.glob("tinygpt-*/pyproject.toml"),
    *ROOT.glob("tinygpt-*/README.md"),
    *ROOT.glob("docs/**/*.md"),
    ROOT / "README.md",
]
#: a tinygpt distribution may only be installed from a folder: `./tinygpt-nn`, `'./x[extra]'`
FROM_A_FOLDER = re.compile(r"(['\"]?(\./|<tinygpt checkout>/)tinygpt-[\w.\[\]-]*['\"]?)$")


def hints() -> list[tuple[str, str]]:
    found = []
    for path in SOURCES:
        if ".egg-info" in str(path):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            for match in re.finditer(r"pip install [^\s`)]*( [^\s`)]+)?", line):
                found.append((str(path.relative_to(ROOT)), match.group(0)))
    return found


def test_the_scan_finds_the_hints():
    assert any("tinygpt-backend-cuda" in hint for _, hint in hints())


@pytest.mark.parametrize("where, hint", hints())
def test_every_hint_installs_tinygpt_from_the_checkout(where, hint):
    for word in (w.rstrip('",;\\n') for w in hint.split()[2:]):
        if "tinygpt" in word and not word.startswith("-"):
            assert FROM_A_FOLDER.match(word), f"{where}: {hint!r}: {word} is not on PyPI"


def test_the_rule_tells_folders_from_package_names():
    assert FROM_A_FOLDER.match("./tinygpt-backend-numpy")
    assert FROM_A_FOLDER.match("'./tinygpt-backend-cuda[cuda12]'")
    assert not FROM_A_FOLDER.match("tinygpt-backend-numpy")
    assert not FROM_A_FOLDER.match("'tinygpt-backend-cuda[cuda12]'")


def installs_named(message: str) -> list[str]:
    """What the message's `pip install` hints install (a backend that is installed but not
    available, e.g. cuda without CuPy, may say how to add what it lacks)."""
    return re.findall(r"pip install (\S+)", message)


@pytest.mark.parametrize(
    "typed, meant", [("cpuu", "cpu"), ("nunpy", "numpy"), ("numpi", "numpy"), ("cdua", "cuda")]
)
def test_a_typo_gets_did_you_mean(typed, meant):
    with pytest.raises(tg.DeviceError) as info:
        tg.tensor([1.0], device=typed)
    message = str(info.value)
    assert f"did you mean {meant!r}?" in message
    assert all(typed not in name for name in installs_named(message))
    assert "pip install" not in message.split("fix:")[-1]  # the fix is to retype, not install


def test_a_made_up_device_never_becomes_a_package_name():
    with pytest.raises(tg.DeviceError) as info:
        tg.tensor([1.0], device="nonsense")
    message = str(info.value)
    assert "unknown device 'nonsense'" in message
    assert "tinygpt-backend-nonsense" not in message
    assert all("nonsense" not in name for name in installs_named(message))
    assert "pip install" not in message.split("fix:")[-1]
    assert "did you mean" not in message


def drop_backend(monkeypatch, name: str) -> None:
    """Discovery as if the first-party backend `name` were not installed."""
    real = registry.discover

    def discover(*args, **kwargs):
        found = real(*args, **kwargs)
        found.infos.pop(name, None)
        return found

    monkeypatch.setattr(registry, "discover", discover)
    registry.reset()


@pytest.mark.parametrize(
    "name, command",
    [
        ("cpu", "pip install ./tinygpt-backend-cpu"),
        ("cuda", "pip install './tinygpt-backend-cuda[cuda12]'"),
    ],
)
def test_an_uninstalled_first_party_backend_is_not_installed_not_unknown(
    monkeypatch, name, command
):
    drop_backend(monkeypatch, name)
    with pytest.raises(tg.DeviceError) as info:
        tg.tensor([1.0], device=name)
    message = str(info.value)
    assert f"device {name!r} is not installed" in message
    assert "unknown" not in message
    missing = next(line for line in message.splitlines() if line.startswith("not installed:"))
    assert name in missing
    assert f"from the tinygpt checkout: {command}" in message


def test_no_backend_at_all_says_how_to_install_numpy_from_the_checkout():
    message = registry._registry.explain("no backend is available", None)
    assert "from the tinygpt checkout: pip install ./tinygpt-backend-numpy" in message


def test_a_missing_layer_names_its_checkout_folder(monkeypatch):
    monkeypatch.delitem(sys.modules, "tinygpt.gpt", raising=False)
    with pytest.raises(ImportError) as info:
        _missing._MissingDistributionFinder().find_spec("tinygpt.gpt.model")
    message = str(info.value)
    assert "tinygpt-gpt distribution" in message
    assert "from the tinygpt checkout: pip install ./tinygpt-gpt" in message


def test_version_lists_core_and_each_installed_backend(capsys):
    from importlib.metadata import version

    assert main(["--version"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"tinygpt {version('tinygpt-core')}"
    for row in tg.backends():
        if row.distribution.startswith("tinygpt-backend"):
            assert f"  {row.distribution} {version(row.distribution)}" in lines
