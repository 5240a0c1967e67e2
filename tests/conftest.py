"""Shared fixtures: the `device` every backend-dependent test runs on, and test hygiene.

- A test that takes a `device` argument runs once per available backend ("numpy", "cpu",
  "cuda", ...), with the backend name as the test id: `test_add[numpy]`. Set
  TINYGPT_DEVICE=cpu to run on one backend only.
- If no backend is available, collection fails loudly: a suite that silently collects
  nothing must never pass.
- After every test the default device goes back to TINYGPT_DEVICE / the best backend.
- Hypothesis runs the "ci" profile (HYPOTHESIS_PROFILE=thorough for a longer search).
- Core's host-side input checks are on (TINYGPT_CHECKS=1, unless the environment says
  otherwise), so bad indices and targets fail with core's messages; tests of the default,
  sync-free mode turn them off with monkeypatch.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

import tinygpt as tg
from tinygpt.backend import hookimpl, registry

# NOTE: the autouse fixture below is function-scoped; it only resets global state, so sharing
# it between the examples of one hypothesis test is harmless.
settings.register_profile(
    "ci",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# NOTE: HYPOTHESIS_PROFILE=fuzz selects the fuzzer's long profile, which tests/fuzz registers
# and applies to its own tests; every other test keeps "ci" then
_profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(_profile if _profile in ("ci", "thorough") else "ci")
os.environ.setdefault("TINYGPT_CHECKS", "1")


def available_devices() -> list[str]:
    """Names of the available backends, restricted to TINYGPT_DEVICE's backend when it is set."""
    names = [info.name for info in tg.backends() if info.available]
    wanted = os.environ.get("TINYGPT_DEVICE", "").strip()
    if wanted:
        backend_name = wanted.partition(":")[0]
        if backend_name not in names:
            raise pytest.UsageError(
                f"TINYGPT_DEVICE={wanted!r}, but the available backends are {names}"
            )
        return [wanted]
    if not names:
        rows = "\n".join(f"  {info.name}: {info.reason}" for info in tg.backends())
        raise pytest.UsageError(
            "no tinygpt backend is available, so no test that needs a device can run.\n"
            f"{rows or '  (no backend is installed)'}\n"
            "fix: pip install -e ./tinygpt-backend-numpy"
        )
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames:
        names = available_devices()
        metafunc.parametrize("device", names, ids=names)


@pytest.fixture(autouse=True)
def _reset_default_device():
    """Undo any tg.set_default_device(...) a test made."""
    yield
    tg.set_default_device(None)


class ThrowawayPlugin:
    """A backend plugin made in a test: a copy of the numpy backend under another name."""

    def __init__(self, name: str, priority: int = 0, probe=None, raises: Exception | None = None):
        self.name = name
        self.priority = priority
        self.probe = probe
        self.raises = raises

    @hookimpl
    def tinygpt_register_backends(self, register) -> None:
        if self.raises is not None:
            raise self.raises
        register(self.name, self.make, priority=self.priority, probe=self.probe)

    def make(self, device):
        from tinygpt_backend_numpy.backend import NumpyBackend

        class Clone(NumpyBackend):
            name = self.name

        return Clone(device)


@pytest.fixture
def register_backend():
    """`register_backend("fake2", priority=5, probe=...)` adds a throwaway numpy clone.

    The registry is reset afterwards, so later tests see only the installed backends.
    """

    def register(name: str, **options) -> ThrowawayPlugin:
        plugin = ThrowawayPlugin(name, **options)
        registry.register_plugin(plugin, f"test-plugin-{name}")
        return plugin

    yield register
    registry.reset()
    tg.set_default_device(None)


@pytest.fixture(params=["fused", "composite"])
def path(request, device, monkeypatch):
    """Run the test through the backend's fused kernels, then with them hidden (the composite
    fallback core builds from ordinary ops)."""
    if request.param == "composite":
        monkeypatch.setattr(tg.get_backend(device), "fused_ops", frozenset())
    return request.param
