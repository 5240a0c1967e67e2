"""The fuzzer's fixtures: its helper modules on sys.path, its profiles, a time budget, and a
summary.

- TINYGPT_FUZZ_MINUTES=5 shares five minutes equally between the collected fuzz tests: each
  stops (and passes) when its share is spent, so a time-limited long run still covers every
  op family. Without it, each test runs its profile's max_examples.
- After a run, the terminal summary says how many fuzz cases each backend judged and how often
  each entry of `known.KNOWN_FAILURES` was met (known failures are tolerated, not hidden).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

# NOTE: the suite imports test files in importlib mode, so this folder's helper modules
# (strategies, harness, known, fuzz_profiles) are not importable without it
HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import fuzz_profiles  # noqa: E402, F401 - registers the "fuzz-ci" and "fuzz" profiles
import harness  # noqa: E402

BUDGET = float(os.environ.get("TINYGPT_FUZZ_MINUTES", "0") or 0) * 60.0
_share = {"seconds": 0.0}


def pytest_collection_finish(session) -> None:
    fuzz_items = [item for item in session.items if item.get_closest_marker("fuzz")]
    if BUDGET and fuzz_items:
        _share["seconds"] = BUDGET / len(fuzz_items)


@pytest.fixture(autouse=True)
def _fuzz_deadline():
    """Start this test's share of the time budget (no deadline without a budget)."""
    harness.DEADLINE = time.monotonic() + _share["seconds"] if _share["seconds"] else None
    yield
    harness.DEADLINE = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test stopped by the time budget passed: it judged every case it had time for."""
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and call.excinfo is not None
        and harness.OUT_OF_TIME in str(call.excinfo.value)
    ):
        report.outcome = "passed"


def pytest_terminal_summary(terminalreporter) -> None:
    if not harness.COUNTS and not harness.KNOWN_HITS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("tinygpt fuzz")
    total = sum(harness.COUNTS.values())
    per_backend = ", ".join(f"{name} {n}" for name, n in sorted(harness.COUNTS.items()))
    write(f"fuzz cases judged: {total} ({per_backend})")
    for key, n in sorted(harness.KNOWN_HITS.items()):
        write(f"  known failure met {n}x: {key}")
