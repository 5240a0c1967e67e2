"""Strict: every row of known.KNOWN_FAILURES must still fail, on every backend it names.

Each row's reproducer asserts the correct behaviour, so it fails while the bug lives. When a
fix lands the reproducer passes, and this test fails with "remove the row": the list of
tolerated failures only ever shrinks. Crash rows run in a subprocess (glibc's heap checks on),
where a crash cannot take the test session down.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from known import KNOWN_FAILURES
from strategies import backend_dtypes

pytestmark = pytest.mark.fuzz
HERE = Path(__file__).resolve().parent

CRASH_SCRIPT = """
import sys
sys.path.insert(0, {here!r})
import known
known.KNOWN_FAILURES[{index}].repro({device!r})
"""


def _still_fails_in_subprocess(index: int, device: str) -> tuple[bool, str]:
    code = CRASH_SCRIPT.format(here=str(HERE), index=index, device=device)
    # MALLOC_CHECK_/MALLOC_PERTURB_: glibc checks the heap on every call and scribbles over
    # freed memory, so an overflow shows up as an abort instead of passing by luck
    env = dict(os.environ, MALLOC_CHECK_="3", MALLOC_PERTURB_="165")
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    return proc.returncode != 0, f"exit code {proc.returncode}\n{proc.stderr[-2000:]}"


@pytest.mark.parametrize(
    "index",
    range(len(KNOWN_FAILURES)),
    ids=[f"{r.op}-{r.dtype}-{r.backend}" for r in KNOWN_FAILURES],
)
def test_known_failure_still_fails(device, index):
    row = KNOWN_FAILURES[index]
    if row.backend not in ("*", device.partition(":")[0]):
        pytest.skip(f"the row is about {row.backend}, not {device}")
    if row.dtype != "*" and row.dtype not in backend_dtypes(device):
        pytest.skip(f"{device} has no {row.dtype}")
    if row.crash:
        fails, detail = _still_fails_in_subprocess(index, device)
    else:
        try:
            row.repro(device)
        except Exception as error:  # noqa: BLE001 - any failure of the reproducer counts
            fails, detail = True, f"{type(error).__name__}: {error}"
        else:
            fails, detail = False, ""
    if not fails:
        pytest.fail(
            f"fixed? the reproducer of this KNOWN_FAILURES row passes on {device}: "
            f"remove the row from tests/fuzz/known.py\n  {row.key}"
        )
    pytest.xfail(f"{row.key}\n{detail[:500]}")
