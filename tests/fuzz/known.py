"""KNOWN_FAILURES: the bugs the fuzzer has found and that are not fixed yet, one row each.

A row names the op (as the fuzz test names it), the dtype ("*": any), the backend ("*": every
backend), a one-line reason, and a reproducer `repro(device)` that asserts the *correct*
behaviour. The fuzz tests tolerate a failure that matches a row (and count it); the strict
test in test_known_failures.py runs each reproducer and fails as soon as one passes, so a fix
must delete its row and the list only shrinks. A row with `crash=True` is never run in the
test process (its reproducer runs in a subprocess): it can corrupt memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import tinygpt as tg

__all__ = ["KNOWN_FAILURES", "Known", "match"]


@dataclass(frozen=True)
class Known:
    op: str
    dtype: str
    backend: str
    reason: str
    repro: Callable[[str], None]
    when: Callable[[Any], bool] | None = None  # narrows the row to some inputs of the op
    crash: bool = False

    @property
    def key(self) -> str:
        return f"{self.op}[{self.dtype}] on {self.backend}: {self.reason}"


def match(case: Any, device: str) -> Known | None:
    """The first row that covers `case` on `device`, or None."""
    backend = device.partition(":")[0]
    for row in KNOWN_FAILURES:
        if row.op != case.op or row.backend not in ("*", backend):
            continue
        if row.dtype != "*" and row.dtype not in case.dtype.split("+"):
            continue
        if row.when is None or row.when(case):
            return row
    return None


# --- reproducers: each asserts the correct behaviour, so it fails while the bug lives ------


def _exp_view_vs_contiguous(device: str) -> None:
    a = np.random.default_rng(0).normal(0, 2, (8, 8)).astype(np.float32)
    x = tg.tensor(a, device=device)
    strided = x.T.exp().numpy()
    dense = x.T.contiguous().exp().numpy()
    assert np.array_equal(strided, dense), f"{np.sum(strided != dense)} of 64 differ by 1 ulp"


def _nondense(case: Any) -> bool:
    return not all(o.view.is_dense for o in case.operands)


# NOTE: `Known("matmul", "bool", "cpu", ..., crash=True)` kept bool @ bool away from the cpu
# kernel (a heap overflow: glibc aborted) until core began to refuse bool matmul; a crash row
# like it is matched before anything runs, and its reproducer runs in a subprocess only.
# Fixed since the fuzzer found them, and so removed: maximum/minimum(2.0, x) raising an
# AttributeError, `x += y` not in place, x.copy_(0.1) rounding through float32, chunk(n) of
# an empty dim giving one chunk, cross_entropy's fused and composite paths disagreeing on a
# +inf logit (nan and inf).
KNOWN_FAILURES: list[Known] = [
    Known(
        "exp",
        "float32",
        "cpu",
        "exp of a strided view and of its contiguous copy differ by 1 ulp",
        _exp_view_vs_contiguous,
        when=_nondense,
    ),
]
