"""Fixtures for plugin tests: a clean registry, fake installed distributions, the pure backend.

- Every test starts from the installed backends with no TINYGPT_* overrides, and the registry
  is reset afterwards (autouse `clean_registry`).
- `site` "pip installs" throwaway plugin distributions into a temporary folder: a module plus
  a ``<name>-<version>.dist-info`` with METADATA and entry_points.txt, exactly what
  importlib.metadata reads after a real install. The folder goes on sys.path (in-process) and
  in `site.env` as PYTHONPATH (for `python -m tinygpt ...` in a subprocess).
- `pure` registers the example backend in examples/tinygpt-backend-pure (installed or not).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import tinygpt as tg
from tinygpt.backend import registry

ROOT = Path(__file__).resolve().parents[2]
PURE = ROOT / "examples" / "tinygpt-backend-pure"
_TINYGPT_VARS = ("TINYGPT_DEVICE", "TINYGPT_BACKENDS", "TINYGPT_CHECK_KERNELS")


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch):
    for name in _TINYGPT_VARS:
        monkeypatch.delenv(name, raising=False)
    registry.reset()
    tg.set_default_device(None)
    yield
    registry.reset()
    tg.set_default_device(None)


class Site:
    """A folder that plays site-packages for throwaway plugin distributions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.modules: list[str] = []

    def install(
        self,
        dist: str,
        modules: dict[str, str],
        entry_points: dict[str, str],
        version: str = "1.0",
    ) -> None:
        """Write `modules` (name -> source) and a dist-info declaring `entry_points`."""
        for name, source in modules.items():
            (self.path / f"{name}.py").write_text(source)
            self.modules.append(name)
        info = self.path / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = [f"{name} = {value}" for name, value in entry_points.items()]
        (info / "entry_points.txt").write_text("[tinygpt.backends]\n" + "\n".join(lines) + "\n")
        importlib.invalidate_caches()

    def install_pure(self) -> None:
        """The example backend as pip would install it: its pyproject's name, version and
        entry points, its sources from examples/ (on the path through `env`)."""
        project = tomllib.loads((PURE / "pyproject.toml").read_text())["project"]
        entry_points = project["entry-points"]["tinygpt.backends"]
        self.install(project["name"], {}, entry_points, project["version"])

    @property
    def env(self) -> dict[str, str]:
        """os.environ for a subprocess that sees these distributions (and no TINYGPT_*)."""
        env = {k: v for k, v in os.environ.items() if k not in _TINYGPT_VARS}
        paths = [str(self.path), str(PURE / "src"), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        return env

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """`python ARGS` in a subprocess that sees this site; output captured as text."""
        return subprocess.run(
            [sys.executable, *args],
            capture_output=True,
            text=True,
            env=env or self.env,
            timeout=300,
        )


@pytest.fixture
def site(tmp_path, monkeypatch):
    """Fake installed plugin distributions (see `Site`), visible in-process after a reset."""
    folder = tmp_path / "site-packages"
    folder.mkdir()
    fake = Site(folder)
    monkeypatch.syspath_prepend(str(folder))
    yield fake
    for name in fake.modules:
        sys.modules.pop(name, None)
    registry.reset()


@pytest.fixture
def pure(monkeypatch):
    """The `pure` backend instance, registered from examples/ when it is not installed."""
    if importlib.util.find_spec("tinygpt_backend_pure") is None:
        monkeypatch.syspath_prepend(str(PURE / "src"))
    if "pure" not in [row.name for row in tg.backends()]:
        from tinygpt_backend_pure import plugin

        registry.register_plugin(plugin, "pure")
    yield tg.get_backend("pure")
    registry.reset()
