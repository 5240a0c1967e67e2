"""The smoke test behind `tinygpt backends --check`: a few ops on one device, timed.

It answers "does this backend basically work?" in milliseconds: allocate, add (with a
broadcast), matmul (with a transposed operand), reduce, softmax and one backward pass, each
compared with the exact answer. It is no substitute for the conformance kit
(`pytest --pyargs tinygpt.testing --tinygpt-backend=NAME`), which checks every kernel.

>>> result = smoke_test("numpy")
>>> result.passed, result.failure
(True, '')
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import tinygpt as tg

from .registry import get_backend

__all__ = ["SmokeResult", "smoke_test", "STEPS"]

#: the steps in the order they run
STEPS = ("allocate", "add", "matmul", "reduce", "softmax", "backward")


@dataclass
class SmokeResult:
    """How one device did: passed, or the first failing step and why, and how long it took."""

    device: str
    passed: bool
    startup_seconds: float = 0.0  # building the backend (imports, context creation)
    seconds: float = 0.0  # running the steps
    failure: str = ""  # "matmul: got [[...]], expected [[...]]" or "add: BackendError: ..."


def smoke_test(device: str) -> SmokeResult:
    """Run the steps on `device`; never raises (a failure is reported in the result)."""
    start = time.perf_counter()
    try:
        get_backend(device)
    except Exception as error:  # noqa: BLE001 - report it, keep checking other backends
        cause = error.__cause__ or error  # the plugin's own exception, not the explanation
        return SmokeResult(device, False, failure=f"startup: {_one_line(cause)}")
    started = time.perf_counter()
    step = "allocate"
    try:
        for name, check in _steps(device):
            step = name
            check()
    except Exception as error:  # noqa: BLE001
        return SmokeResult(
            device,
            False,
            started - start,
            time.perf_counter() - started,
            f"{step}: {_one_line(error)}",
        )
    return SmokeResult(device, True, started - start, time.perf_counter() - started)


def _steps(device: str) -> Iterator[tuple[str, Callable[[], None]]]:
    """(step name, a check that raises AssertionError on a wrong answer)."""
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)  # (2, 2)
    yield "allocate", lambda: _expect(x, [[1.0, 2.0], [3.0, 4.0]], "tensor(...)")
    bias = tg.tensor([10.0, 20.0], device=device)  # (2,), broadcast over the rows
    yield "add", lambda: _expect(x + x, [[2.0, 4.0], [6.0, 8.0]], "x + x")
    yield "add", lambda: _expect(x + bias, [[11.0, 22.0], [13.0, 24.0]], "x + bias")
    yield "matmul", lambda: _expect(x @ x, [[7.0, 10.0], [15.0, 22.0]], "x @ x")
    xt = x.transpose(0, 1)  # a view with swapped strides, read in place
    yield "matmul", lambda: _expect(x @ xt, [[5.0, 11.0], [11.0, 25.0]], "x @ x.T")
    yield "reduce", lambda: _expect(x.sum(dim=0), [4.0, 6.0], "x.sum(dim=0)")
    yield "reduce", lambda: _expect(x.max(), 4.0, "x.max()")
    yield "softmax", lambda: _expect(tg.zeros(2, device=device).softmax(0), [0.5, 0.5], "softmax")
    yield "backward", lambda: _expect(_weight_grad(tg, x, device), [[4.0], [6.0]], "w.grad")


def _weight_grad(tg: Any, x: Any, device: str) -> Any:
    """d sum(x @ w) / dw = column sums of x, as a (2, 1) column."""
    w = tg.tensor([[1.0], [2.0]], device=device, requires_grad=True)
    (x @ w).sum().backward()
    return w.grad


def _expect(got: Any, expected: Any, what: str) -> None:
    values = got.tolist()
    if values != expected:
        raise AssertionError(f"{what} gave {values}, expected {expected}")


def _one_line(error: BaseException) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())
