"""Smoke-test DESIGN §3's import contract against *installed wheels*.

`nox -s wheels` builds the wheels, installs only tinygpt-core and tinygpt-backend-numpy (plus
their PyPI dependencies) into a fresh venv, and runs this script with that venv's python from
outside the repository:

    python tests/contract/smoke.py

It is a plain script, not a pytest module (pytest only collects test_*.py), because it must run
where nothing but the wheels is installed. It prints one line per check and exits non-zero if
any check fails.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import sysconfig
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path


class SmokeFailure(Exception):
    """A broken contract; the message says which and what was seen instead."""


def check(condition: object, message: str) -> None:
    # Not `assert`: asserts vanish under `python -O`.
    if not condition:
        raise SmokeFailure(message)


# --- the checks, run in this order ----------------------------------------------------------


def check_import_is_lazy(tg) -> None:
    """`import tinygpt` alone imports no backend module (DESIGN §3)."""
    # NOTE: this must run right after the import, before any tensor or device exists.
    loaded = sorted(name for name in sys.modules if name.startswith("tinygpt_backend_"))
    check(not loaded, f"`import tinygpt` alone already imported backend modules: {loaded}")


def check_installed_from_wheel(tg) -> None:
    """tinygpt comes from this venv's site-packages, not from a source tree."""
    site_packages = Path(sysconfig.get_paths()["purelib"]).resolve()
    location = Path(tg.__file__).resolve()
    check(
        location.is_relative_to(site_packages),
        f"tinygpt was imported from {location}, not from the wheel in {site_packages}",
    )


def check_autograd(tg) -> None:
    """A tiny graph runs forward and backward: d/dx sum(2 * exp(x)) = 2 * exp(x)."""
    import numpy as np

    x = tg.randn(3, 4, requires_grad=True)
    (x.exp() * 2).sum().backward()
    check(x.grad is not None, "x.grad is None after backward()")
    check(tuple(x.grad.shape) == (3, 4), f"x.grad has shape {tuple(x.grad.shape)}, not (3, 4)")
    expected = 2 * np.exp(x.detach().numpy())
    got = x.grad.numpy()
    check(
        np.allclose(got, expected, rtol=1e-5, atol=1e-6),
        f"x.grad is wrong: expected 2 * exp(x) =\n{expected}\ngot\n{got}",
    )


def check_numpy_backend_listed(tg) -> None:
    """tg.backends() lists the numpy backend, and it is available."""
    backends = list(tg.backends())
    names = [backend.name for backend in backends]
    numpy_backends = [backend for backend in backends if backend.name == "numpy"]
    check(numpy_backends, f"tg.backends() has no backend named 'numpy'; it lists {names}")
    check(numpy_backends[0].available, f"the numpy backend is not available: {numpy_backends[0]}")


def check_missing_distributions_are_named(tg) -> None:
    """Importing a part whose distribution is not installed names the distribution."""
    for module, distribution in [
        ("tinygpt.nn", "tinygpt-nn"),
        ("tinygpt.optim", "tinygpt-nn"),
        ("tinygpt.data", "tinygpt-nn"),
        ("tinygpt.gpt", "tinygpt-gpt"),
    ]:
        check_import_error(partial(importlib.import_module, module), distribution)
    # DESIGN §3 writes `from tinygpt import nn, optim`, which takes a different path through
    # the import system than `import tinygpt.nn`.
    check_import_error(from_tinygpt_import_nn, "tinygpt-nn")


def from_tinygpt_import_nn() -> None:
    from tinygpt import nn  # noqa: F401


def check_import_error(do_import: Callable[[], object], distribution: str) -> None:
    try:
        do_import()
    except ImportError as error:
        check(
            distribution in str(error),
            f"the ImportError does not name {distribution!r}: {error!r}",
        )
        return
    raise SmokeFailure(f"an import from {distribution} succeeded, but it is not installed")


def check_backends_command(tg) -> None:
    """`python -m tinygpt backends` prints a table with numpy; `--names` one name per line."""
    table = run_tinygpt("backends")
    check("numpy" in table, f"`python -m tinygpt backends` does not mention numpy:\n{table}")
    names = run_tinygpt("backends", "--names").split()
    check("numpy" in names, f"`python -m tinygpt backends --names` printed {names}")


def run_tinygpt(*args: str) -> str:
    command = [sys.executable, "-m", "tinygpt", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    check(
        result.returncode == 0,
        f"`{' '.join(command)}` exited with {result.returncode}:\n{result.stdout}{result.stderr}",
    )
    return result.stdout


CHECKS = [
    check_import_is_lazy,  # must stay first
    check_installed_from_wheel,
    check_autograd,
    check_numpy_backend_listed,
    check_missing_distributions_are_named,
    check_backends_command,
]


def main() -> int:
    try:
        import tinygpt as tg
    except Exception:
        traceback.print_exc()
        print("smoke: FAILED: `import tinygpt` raised")
        return 1

    failed = []
    for each_check in CHECKS:
        try:
            each_check(tg)
        except SmokeFailure as failure:
            failed.append(each_check.__name__)
            print(f"FAIL {each_check.__name__}: {failure}")
        except Exception:
            failed.append(each_check.__name__)
            print(f"FAIL {each_check.__name__}: unexpected error:")
            traceback.print_exc()
        else:
            print(f"ok   {each_check.__name__}")

    if failed:
        print(f"smoke: FAILED {len(failed)} of {len(CHECKS)} checks: {', '.join(failed)}")
        return 1
    print(f"smoke: all {len(CHECKS)} import-contract checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
