"""Run one fuzz case on a device and judge it: the differential checks every fuzz test shares.

A `Case` is an op (a function of tinygpt tensors) and its operands. `check(case, device)`:

1. runs it on `device` (errors are outcomes too, and must be typed: a `tg.TinyGPTError`, or
   an IndexError/ValueError/TypeError/RuntimeError that core raised on purpose; never a
   NumPy error, a backend's stray exception or an internal assert);
2. runs it on the numpy reference backend and requires the same outcome: both raise, or the
   same dtype, shape and values within the dtype's tolerance;
3. runs it again on `.contiguous()` copies of the operands and requires the same bits
   (elementwise and movement ops) or agreement within a few ulps (reductions, matmul);
4. compares with an oracle on the same input, the one that catches a bug every backend
   shares: PyTorch where it is importable, or NumPy itself for indexing.

A failure whose (op, dtype, backend) is listed in `known.KNOWN_FAILURES` is tolerated and
counted; a listed crash is never run. Anything else raises `FuzzFailure` with the reproducer.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from strategies import Operand

import tinygpt as tg

try:  # the oracle is optional: `nox -s fuzz` does not install PyTorch
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

__all__ = [
    "Case",
    "FuzzFailure",
    "check",
    "settle",
    "tick",
    "COUNTS",
    "KNOWN_HITS",
    "Outcome",
    "run",
]

#: survey mode (finding bugs, not CI): record every failure in this file instead of raising
SURVEY = os.environ.get("TINYGPT_FUZZ_SURVEY", "")
#: when the current test must stop (a time-budgeted long run, see conftest.py), or None
DEADLINE: float | None = None
OUT_OF_TIME = "fuzz time budget spent"
#: cases judged per backend, and known failures met per entry (printed by conftest.py)
COUNTS: Counter[str] = Counter()
KNOWN_HITS: Counter[str] = Counter()

EPS = {"float16": 2.0**-10, "float32": 2.0**-23, "float64": 2.0**-52}
ULPS = {"exact": 0, "elementwise": 4, "reduce": 16}  # allowed error, in eps of the scale
TYPED = (IndexError, ValueError, TypeError, RuntimeError, NotImplementedError)


class FuzzFailure(AssertionError):
    """A fuzz case that broke a rule; the message is its reproducer."""


@dataclass
class Case:
    """One op on concrete operands. `fn(*tensors)` returns a tensor or a tuple of them."""

    op: str
    fn: Callable[..., Any]
    operands: Sequence[Operand]
    kind: str = "elementwise"  # "exact", "elementwise" or "reduce": how close is close
    oracle: Callable[..., Any] | None = None  # the same op on torch tensors
    oracle_raises: str = ""  # when the oracle raises with this in its message, so must tinygpt
    note: str = ""  # the op's other arguments, for the reproducer
    extra: dict = field(default_factory=dict)

    @property
    def dtype(self) -> str:
        names = dict.fromkeys(o.dtype for o in self.operands)
        return "+".join(names) or "-"

    def describe(self) -> str:
        lines = [f"op {self.op}({self.note})  dtype {self.dtype}"]
        lines += [f"  input {k}: {o!r}" for k, o in enumerate(self.operands)]
        return "\n".join(lines)


@dataclass
class Outcome:
    """What an op did: its results as NumPy arrays with their tinygpt dtypes, or an error."""

    arrays: list[np.ndarray] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=list)
    error: BaseException | None = None

    def __repr__(self) -> str:
        if self.error is not None:
            return f"raised {type(self.error).__name__}: {str(self.error)[:200]}"
        parts = [
            f"{d} {a.shape} {np.array2string(a, threshold=40, precision=6)}"
            for a, d in zip(self.arrays, self.dtypes)
        ]
        return "; ".join(parts)


def run(fn: Callable[..., Any], inputs: Sequence[Any]) -> Outcome:
    """fn(*inputs), its results copied to the host (where a lazy device error shows)."""
    try:
        return _outcome(fn(*inputs))
    except FuzzFailure:
        raise
    except Exception as error:  # noqa: BLE001 - every error is an outcome to judge
        return Outcome(error=error)


def _outcome(result: Any) -> Outcome:
    results = list(result) if isinstance(result, (tuple, list)) else [result]
    out = Outcome()
    for r in results:
        if isinstance(r, (np.ndarray, np.generic)):  # a NumPy oracle's result
            out.arrays.append(np.asarray(r))
            out.dtypes.append(str(np.asarray(r).dtype))
        elif torch is not None and isinstance(r, torch.Tensor):
            out.arrays.append(r.detach().numpy())
            out.dtypes.append(str(r.dtype).removeprefix("torch."))
        else:
            out.arrays.append(np.asarray(r.numpy()))
            out.dtypes.append(r.dtype.name)
    return out


# ------------------------------------------------------------------ checking
def tick() -> None:
    """End the current test once its share of TINYGPT_FUZZ_MINUTES is spent."""
    if DEADLINE is not None and time.monotonic() > DEADLINE:
        pytest.skip(OUT_OF_TIME)  # NOTE: hypothesis re-raises a skip at once, no shrinking


def check(case: Case, device: str) -> None:
    """Judge `case` on `device` (see the module docstring); tolerate listed known failures."""
    import known

    tick()
    entry = known.match(case, device)
    if entry is not None and entry.crash:
        KNOWN_HITS[entry.key] += 1  # NOTE: never run: it corrupts memory or kills the process
        return
    COUNTS[device] += 1
    try:
        _check(case, device)
    except FuzzFailure as failure:
        settle(case, device, failure, entry)


def settle(case: Case, device: str, failure: FuzzFailure, entry: Any) -> None:
    """A failure: recorded (survey mode), tolerated (a known row), or raised."""
    if SURVEY:
        _record(case, device, failure, entry)
    elif entry is None:
        raise failure
    else:
        KNOWN_HITS[entry.key] += 1


def _record(case: Case, device: str, failure: FuzzFailure, entry: Any) -> None:
    """Survey mode: append the failure to $TINYGPT_FUZZ_SURVEY (JSON lines) and go on."""
    row = {
        "op": case.op,
        "dtype": case.dtype,
        "device": device,
        "what": str(failure).splitlines()[0],
        "size": sum(o.base.size for o in case.operands),
        "known": None if entry is None else entry.key,
        "message": str(failure),
    }
    with open(SURVEY, "a") as file:
        file.write(json.dumps(row) + "\n")


def _check(case: Case, device: str) -> None:
    got = run(case.fn, [o.on(device) for o in case.operands])
    _require_typed(case, device, got)
    want = _oracle(case)
    if device != "numpy":
        ref = run(case.fn, [o.on("numpy") for o in case.operands])
        try:
            _require_agree(case, got, ref, f"{device} vs the numpy reference", case.kind)
        except FuzzFailure:
            # NOTE: when PyTorch sides with this backend, the reference is the one at fault,
            # and its own run of this test reports it
            if want is None or not _agrees(case, got, want):
                raise
    if got.error is None and not all(o.view.is_dense for o in case.operands):
        dense = run(case.fn, [o.on(device).contiguous() for o in case.operands])
        kind = "exact" if case.kind in ("exact", "elementwise") else "reduce"
        _require_agree(case, got, dense, f"{device}: view vs .contiguous() copy", kind)
    if want is None:
        return
    if want.error is not None:
        if case.oracle_raises and case.oracle_raises in str(want.error) and got.error is None:
            _fail(case, f"{device}: the oracle raises but tinygpt returns a value", want, got)
    elif got.error is None:
        name = "NumPy" if case.extra.get("numpy_oracle") else "PyTorch"
        _require_agree(case, got, want, f"{device} vs {name}", case.kind, oracle=True)


def _oracle(case: Case) -> Outcome | None:
    """The oracle's outcome on dense copies of the inputs: PyTorch tensors, or NumPy arrays
    when the case says `numpy_oracle`; None when PyTorch is needed but missing."""
    if case.oracle is None:
        return None
    inputs = [np.array(o.host()) for o in case.operands]  # NOTE: np.array keeps 0-d arrays
    if case.extra.get("numpy_oracle"):
        return run(case.oracle, inputs)
    if torch is None:
        return None
    return run(case.oracle, [torch.from_numpy(x) for x in inputs])


def _agrees(case: Case, got: Outcome, want: Outcome) -> bool:
    """Whether this backend's *value* agrees with PyTorch's (errors never settle a dispute)."""
    if want.error is not None or got.error is not None:
        return False
    try:
        _require_agree(case, got, want, "", case.kind, oracle=True)
    except FuzzFailure:
        return False
    return True


def _require_typed(case: Case, device: str, outcome: Outcome) -> None:
    error = outcome.error
    if error is None or isinstance(error, tg.TinyGPTError):
        return
    where = _raised_in(error)
    if type(error).__module__.split(".")[0] == "numpy" or where == "numpy":
        problem = "a raw NumPy error"
    elif where == "backend" and not isinstance(error, IndexError):
        problem = "an untyped error from the backend (the protocol says BackendError)"
    elif not isinstance(error, TYPED) or isinstance(error, AssertionError):
        problem = f"an unexpected {type(error).__name__}"
    else:
        return
    _fail(case, f"{device}: {problem} escaped", None, outcome)


def _raised_in(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "unknown"
    path = frames[-1].filename.replace(os.sep, "/")
    if "/numpy/" in path:
        return "numpy"
    if "tinygpt_backend_" in path:
        return "backend"
    return "core" if "/tinygpt/" in path else "other"


def _require_agree(
    case: Case, got: Outcome, want: Outcome, what: str, kind: str, oracle: bool = False
) -> None:
    if (got.error is None) != (want.error is None):
        _fail(case, f"{what}: one raises, the other does not", want, got)
    if got.error is not None:
        return
    if len(got.arrays) != len(want.arrays):
        _fail(case, f"{what}: {len(got.arrays)} results, expected {len(want.arrays)}", want, got)
    for a, b, da, db in zip(got.arrays, want.arrays, got.dtypes, want.dtypes):
        if da != db and not (oracle and _dtype_free(case)):
            _fail(case, f"{what}: dtype {da}, expected {db}", want, got)
        if a.shape != b.shape:
            _fail(case, f"{what}: shape {a.shape}, expected {b.shape}", want, got)
        problem = _compare_values(a, b, kind, _scale(case), loose=oracle, dtype=da)
        if problem:
            _fail(case, f"{what}: {problem}", want, got)


def _dtype_free(case: Case) -> bool:
    """PyTorch's dtype need not match: a 0-d operand (PyTorch promotes it like a scalar,
    tinygpt like any tensor), or an op PyTorch refuses for ints that tinygpt makes float."""
    return case.extra.get("oracle_dtype_free", False) or any(not o.shape for o in case.operands)


def _scale(case: Case) -> float:
    """The size of the numbers involved: rounding error is measured against it."""
    biggest = 1.0
    for o in case.operands:
        x = o.host()
        if x.size and x.dtype.kind in "fiu":
            finite = np.abs(x[np.isfinite(x)].astype(np.float64))
            if finite.size:
                biggest = max(biggest, float(finite.max()))
    return biggest * case.extra.get("terms", 1)


def _compare_values(a, b, kind: str, scale: float, loose: bool, dtype: str) -> str:
    if a.dtype.kind != "f" and b.dtype.kind != "f":
        return "" if np.array_equal(a, b) else "values differ"
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    if kind == "exact" and not loose and a.dtype == b.dtype:
        bits_a = np.ascontiguousarray(a).reshape(-1).view(np.uint8)
        bits_b = np.ascontiguousarray(b).reshape(-1).view(np.uint8)
        same = np.array_equal(bits_a, bits_b) or np.array_equal(x, y, equal_nan=True)
        return "" if same else "bits differ"
    nan_x, nan_y = np.isnan(x), np.isnan(y)
    if not np.array_equal(nan_x, nan_y):
        return "nan in different places"
    inf_x, inf_y = np.isinf(x), np.isinf(y)
    eps = max(EPS.get(dtype, 0.0), EPS.get(str(b.dtype), 0.0), EPS["float64"])
    ulps = max(ULPS[kind], 1) * (8 if loose else 1)
    tol = ulps * eps * np.maximum(scale, np.abs(y))
    finite = ~(nan_x | inf_x | inf_y)
    if not np.array_equal(x[inf_x | inf_y], y[inf_x | inf_y]):
        # an overflow at the very edge of the range is rounding, not a bug
        edge = np.abs(np.where(np.isinf(x), y, x)[inf_x | inf_y]) >= 0.99 * _max_finite(dtype)
        if not np.all(edge):
            return "inf in different places"
    err = np.abs(x - y)[finite]
    if err.size and np.any(err > tol[finite]):
        worst = float(np.max(err))
        return f"values differ by up to {worst:.3g} (tolerance {float(np.min(tol)):.3g})"
    return ""


def _max_finite(dtype: str) -> float:
    return float(np.finfo(dtype).max) if dtype in EPS else np.inf


def _fail(case: Case, what: str, want: Outcome | None, got: Outcome) -> None:
    lines = [what, case.describe()]
    if want is not None:
        lines.append(f"  expected: {want!r}")
    lines.append(f"  got:      {got!r}")
    raise FuzzFailure("\n".join(lines))
