"""Environment variables, read in this one place.

- ``TINYGPT_DEVICE``: the default device (``numpy``, ``cpu``, ``cuda:1``, ...).
- ``TINYGPT_BACKENDS``: a comma-separated allow-list of backend names; plugins not named are
  never imported (handy to keep a broken or slow plugin out of the way). An entry
  ``name=distribution`` also says which distribution provides ``name`` when several register
  it (``numpy=tinygpt-backend-numpy``); see `tinygpt.backend.collisions`.
- ``TINYGPT_CHECK_KERNELS``: ``1`` checks every buffer a kernel returns (its size, that it is
  new) and names the kernel at fault; for debugging a backend, off by default.
- ``TINYGPT_CHECKS``: ``1`` makes core check index bounds and class targets on the host
  before a kernel runs, with errors that name the first bad value. Off by default: each check
  reads device memory back to the host (a stall per step on a GPU), and backends raise an
  IndexError for out-of-range indices themselves. The test suite turns it on.
- ``TINYGPT_FAST_PATHS``: ``0`` turns off the per-op fast paths (`tinygpt.fast_paths`), so
  every call takes the general path; on by default.
- ``TINYGPT_THREADS``: how many threads CPU backends' kernels use: ``auto`` (the default) for
  the cores other processes leave free, re-measured every second, or a number (see
  `tinygpt.backend.threads`).
"""

from __future__ import annotations

import os

from .errors import DeviceError

__all__ = [
    "env_default_device",
    "env_backend_allow_list",
    "env_backend_pins",
    "env_check_kernels",
    "env_checks",
    "env_fast_paths",
    "env_threads",
]


def env_default_device() -> str | None:
    """The device named by TINYGPT_DEVICE, or None when it is unset or empty."""
    value = os.environ.get("TINYGPT_DEVICE", "").strip()
    return value or None


def env_backend_allow_list() -> frozenset[str] | None:
    """The backend names allowed by TINYGPT_BACKENDS, or None when every backend is allowed."""
    entries = _backend_entries()
    if entries is None:
        return None
    return frozenset(name for name, _ in entries)


def env_backend_pins() -> dict[str, str]:
    """Backend name -> the distribution TINYGPT_BACKENDS picks for it (``name=distribution``)."""
    return {name: dist for name, dist in _backend_entries() or [] if dist}


def _backend_entries() -> list[tuple[str, str]] | None:
    """TINYGPT_BACKENDS as (name, distribution or "") pairs; None when it is unset or empty.

    A malformed entry is an error: silently ignoring it could load the very plugin it was
    meant to keep out.
    """
    value = os.environ.get("TINYGPT_BACKENDS", "").strip()
    if not value:
        return None
    entries = []
    for entry in value.split(","):
        name, eq, dist = (part.strip() for part in entry.strip().partition("="))
        if not name and not eq:
            continue  # a stray comma
        if not name or (eq and not dist) or "=" in dist:
            raise DeviceError(
                f"TINYGPT_BACKENDS={value!r}: entry {entry.strip()!r} is not NAME or "
                "NAME=DISTRIBUTION (e.g. TINYGPT_BACKENDS=numpy,cpu or "
                "TINYGPT_BACKENDS=numpy=tinygpt-backend-numpy)"
            )
        entries.append((name, dist))
    return entries


def env_check_kernels() -> bool:
    """Whether TINYGPT_CHECK_KERNELS asks for check mode (1, true, yes, on)."""
    return _flag("TINYGPT_CHECK_KERNELS")


def env_checks() -> bool:
    """Whether TINYGPT_CHECKS asks core for host-side input checks (1, true, yes, on)."""
    return _flag("TINYGPT_CHECKS")


def env_fast_paths() -> bool:
    """Whether the per-op fast paths are on: TINYGPT_FAST_PATHS=0 (false, no, off) turns
    them off."""
    value = os.environ.get("TINYGPT_FAST_PATHS", "").strip().lower()
    return value not in ("0", "false", "no", "off")


def env_threads() -> int | None:
    """The thread count TINYGPT_THREADS fixes, or None for ``auto`` (also when unset)."""
    value = os.environ.get("TINYGPT_THREADS", "").strip().lower()
    if value in ("", "auto"):
        return None
    if not value.isdigit() or int(value) < 1:
        raise DeviceError(
            f"TINYGPT_THREADS={value!r}: expected a number of threads >= 1, or 'auto' "
            "(the cores that other processes leave free)"
        )
    return int(value)


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
