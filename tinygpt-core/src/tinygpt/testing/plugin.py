"""The pytest plugin behind ``pytest --pyargs tinygpt.testing --tinygpt-backend=NAME``.

pytest loads this module in *every* run in an environment where tinygpt-core is installed
(through the ``pytest11`` entry point), so it stays inert and cheap: it imports neither NumPy
nor any backend, and only acts on tests that ask for the fixtures it defines:

- ``kit_device``: a device name (``"numpy"``, ``"cuda:1"``); every test that uses it, directly
  or through ``kit_backend``, runs once per selected backend, with the name as its test id;
- ``kit_backend``: the `Backend` instance for ``kit_device``.

Selection: ``--tinygpt-backend=numpy,cpu`` (or ``all``), else the environment variable
``TINYGPT_DEVICE``, else every available backend.
"""

from __future__ import annotations

import pytest

__all__ = [
    "pytest_addoption",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_report_header",
    "kit_backend",
    "selected_devices",
]

_OPTION = "--tinygpt-backend"
_CACHE = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tinygpt", "tinygpt backend conformance kit")
    group.addoption(
        _OPTION,
        dest="tinygpt_backend",
        default=None,
        metavar="NAME[,NAME...]",
        help="backends (device names) the tinygpt.testing conformance kit runs against; "
        "'all' for every available one (default: $TINYGPT_DEVICE, else all)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("tinygpt_backend") is not None:
        selected_devices(config)  # a bad --tinygpt-backend fails here, once, with the reason


def selected_devices(config: pytest.Config) -> list[str]:
    """The device names the kit runs on, worked out once per pytest run."""
    cached = config.stash.get(_CACHE, None)
    if cached is None:
        cached = _select(config.getoption("tinygpt_backend"))
        config.stash[_CACHE] = cached
    return cached


def _select(option: str | None) -> list[str]:
    # NOTE: imported here, not at the top: this is where discovery (and backend imports)
    # may happen, and only runs that collect the kit's tests get this far.
    from tinygpt.backend.registry import backends, enable_checks, get_backend
    from tinygpt.config import env_default_device
    from tinygpt.errors import DeviceError

    # Check mode (tinygpt.backend.checks) for every backend the kit builds: a kernel that
    # returns a buffer of the wrong size fails at the call, with the kernel and shapes named.
    enable_checks()
    if option is None:
        option = env_default_device() or "all"
    names = [name.strip() for name in option.split(",") if name.strip()]
    if names != ["all"]:
        for name in names:
            try:
                get_backend(name)  # fail once, with the registry's explanation, not per test
            except DeviceError as error:
                raise pytest.UsageError(f"{_OPTION}={option}: {error}") from None
        return names
    return [info.name for info in backends() if info.available]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test that uses ``kit_device`` once per selected backend."""
    if "kit_device" not in metafunc.fixturenames:
        return
    devices = selected_devices(metafunc.config)
    metafunc.parametrize("kit_device", devices, ids=devices)


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.getoption("tinygpt_backend") is None:
        return None  # someone else's test run: say nothing, discover nothing
    return f"tinygpt conformance kit on: {', '.join(selected_devices(config)) or '(none)'}"


@pytest.fixture
def kit_backend(kit_device: str):
    """The backend under test (an unknown or unavailable name fails with the reason)."""
    from tinygpt.backend.registry import get_backend

    return get_backend(kit_device)
