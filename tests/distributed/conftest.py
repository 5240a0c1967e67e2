"""Helpers for the multi-process tests: run `workers.py` under mpiexec, with a timeout.

The tests that start several ranks skip, with the reason, only when mpi4py is missing; the
`tests` nox session installs tinygpt-core's [mpi] extra, so in CI they run.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
WORKERS = HERE / "workers.py"
HAVE_MPI = importlib.util.find_spec("mpi4py") is not None

needs_mpi = pytest.mark.skipif(
    not HAVE_MPI,
    reason='mpi4py is not installed: pip install "./tinygpt-core[mpi]" (nox -s tests does)',
)


def mpiexec() -> str:
    """MPICH's mpiexec from the [mpi] extra, next to this Python, else the one on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.is_file() else shutil.which("mpiexec")
    if found is None:
        pytest.fail("mpi4py is installed but no mpiexec was found next to Python or on PATH")
    return found


def worker_env(**extra: str) -> dict[str, str]:
    """One thread per rank (bitwise comparisons need the same thread count everywhere)."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", TINYGPT_DIST_TIMEOUT="120")
    env.update(extra)
    return env


def run_ranks(
    nproc: int, *args: object, timeout: float = 240, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`mpiexec -n nproc python workers.py args...` (plain python when nproc is 0)."""
    command = [sys.executable, str(WORKERS), *map(str, args)]
    if nproc > 0:
        command = [mpiexec(), "-n", str(nproc), *command]
    return subprocess.run(
        command,
        env=env if env is not None else worker_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def check_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
