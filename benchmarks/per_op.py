"""Per-op overhead: µs per op on 4-element tensors, tinygpt next to PyTorch, in one run.

    python benchmarks/per_op.py              # every installed backend (+ torch if importable)
    python benchmarks/per_op.py --quick      # fewer rounds (CI smoke)
    python benchmarks/per_op.py --backend cpu
    python benchmarks/per_op.py --stat min   # the fastest sample: on a busy, shared machine

Each case (`a + b`, `a * 2`, `a.sum()`, `a @ b` on 2x2, `a.exp()`, `a[0]`,
`a.reshape(2, 2)`, `a.relu()`) runs with plain inputs and with `requires_grad=True` inputs
(graph recording), on every tinygpt backend and in PyTorch. The frameworks and the cases
take turns round by round, so a noisy neighbour slows all of them alike; each sample is a
timed loop, and the table shows the median µs per op and tinygpt's time divided by
PyTorch's (2.00 = twice as slow). One thread; the cpu backend's SIMD level is printed in the header.
"""

# ruff: noqa: E402  (numpy, torch and tinygpt are imported after the thread variables are set)

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import time
from collections.abc import Callable
from typing import Any


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and shorter loops")
    parser.add_argument("--threads", type=int, default=1, help="compute threads (default 1)")
    parser.add_argument("--rounds", type=int, default=None, help="samples per case")
    parser.add_argument(
        "--stat",
        choices=["median", "min"],
        default="median",
        help="summary of the samples: median (default), or min on a busy machine (noise only "
        "ever adds time)",
    )
    parser.add_argument(
        "--backend",
        action="append",
        dest="backends",
        metavar="NAME",
        help="only this tinygpt backend (repeatable; default: numpy and cpu when available)",
    )
    return parser.parse_args()


ARGS = parse_args()
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TINYGPT_THREADS"):
    os.environ[variable] = str(ARGS.threads)

import tinygpt as tg

try:
    import torch
except ImportError:
    torch = None

#: name -> (input shapes, the op); `a` and `b` are float32 tensors of those shapes
CASES: dict[str, tuple[tuple[tuple[int, ...], ...], Callable[..., Any]]] = {
    "a + b": (((4,), (4,)), lambda a, b: a + b),
    "a * 2": (((4,),), lambda a: a * 2),
    "a.sum()": (((4,),), lambda a: a.sum()),
    "a @ b (2x2)": (((2, 2), (2, 2)), lambda a, b: a @ b),
    "a.exp()": (((4,),), lambda a: a.exp()),
    "a[0]": (((4,),), lambda a: a[0]),
    "a.reshape(2, 2)": (((4,),), lambda a: a.reshape(2, 2)),
    "a.relu()": (((4,),), lambda a: a.relu()),
}

VALUES = [0.5, -1.25, 2.0, 0.75]


def make_inputs(framework: str, shapes: tuple[tuple[int, ...], ...], grad: bool) -> list[Any]:
    out = []
    for shape in shapes:
        n = 1
        for d in shape:
            n *= d
        values = VALUES[:n]
        if framework == "torch":
            t = torch.tensor(values, dtype=torch.float32).reshape(shape)
            out.append(t.requires_grad_(grad))
        else:
            t = tg.tensor(values, dtype=tg.float32, device=framework).reshape(shape)
            out.append(t.detach().requires_grad_(grad))
    return out


def sample(fn: Callable[..., Any], inputs: list[Any], loops: int) -> float:
    """µs per call of `fn(*inputs)` over `loops` calls (garbage collector paused)."""
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(loops):
            fn(*inputs)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed / loops * 1e6


def check(case: str, fn: Callable[..., Any], inputs: dict[str, list[Any]]) -> None:
    """Every framework computes the same values (a wrong answer is no speed)."""
    results = {n: fn(*args) for n, args in inputs.items()}
    values = {n: r.detach().tolist() if n == "torch" else r.tolist() for n, r in results.items()}
    first = next(iter(values.values()))
    for n, value in values.items():
        if not math.isclose(_total(value), _total(first), rel_tol=1e-5, abs_tol=1e-6):
            raise SystemExit(f"per_op: {case} on {n} gives {value}, expected {first}")


def _total(value: Any) -> float:
    if isinstance(value, list):
        return sum(_total(v) * (i + 1) for i, v in enumerate(value))
    return float(value)


def frameworks() -> list[str]:
    names = ARGS.backends or [n for n in ("numpy", "cpu") if _available(n)]
    return [*names, "torch"] if torch is not None else names


def _available(name: str) -> bool:
    from tinygpt.backend.registry import get_backend

    try:
        get_backend(name)
        return True
    except Exception:  # not installed, or it cannot run here
        return False


def simd_level() -> str:
    try:
        import tinygpt_backend_cpu.native  # noqa: F401 - loads OpenBLAS before the kernels
        from tinygpt_backend_cpu import runtime

        return str(runtime.simd_variant())
    except Exception as error:  # no cpu backend here
        return f"n/a ({type(error).__name__})"


def main() -> None:
    if torch is not None:
        torch.set_num_threads(ARGS.threads)
    rounds = ARGS.rounds or (7 if ARGS.quick else 21)
    loops = 200 if ARGS.quick else 1000
    names = frameworks()
    print(
        f"per-op overhead, µs per op ({ARGS.stat} of {rounds}), {ARGS.threads} thread(s), "
        f"cpu SIMD level {simd_level()}, load average {os.getloadavg()[0]:.2f}"
    )
    header = ["op", "grad", *names] + [f"{n}/torch" for n in names if n != "torch"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    # every (case, grad) gets its inputs, a correctness check and a warm-up first; then the
    # rounds go over all of them in turn, so a burst of load from a neighbour lands on a few
    # samples of many cases rather than on every sample of one
    runs = [(case, grad) for grad in (False, True) for case in CASES]
    inputs: dict[tuple[str, bool], dict[str, list[Any]]] = {}
    for case, grad in runs:
        shapes, fn = CASES[case]
        inputs[case, grad] = {n: make_inputs(n, shapes, grad) for n in names}
        check(case, fn, inputs[case, grad])
        for n in names:  # warm-up: caches, first-call imports
            sample(fn, inputs[case, grad][n], 50)
    times = {run: {n: [] for n in names} for run in runs}
    for _ in range(rounds):
        for run in runs:
            fn = CASES[run[0]][1]
            for n in names:
                times[run][n].append(sample(fn, inputs[run][n], loops))
    summary = statistics.median if ARGS.stat == "median" else min
    ratios: dict[str, list[float]] = {n: [] for n in names if n != "torch"}
    for case, grad in runs:
        value = {n: summary(t) for n, t in times[case, grad].items()}
        row = [case, "yes" if grad else "no", *(f"{value[n]:.2f}" for n in names)]
        if "torch" in value:
            for n in ratios:
                ratio = value[n] / value["torch"]
                ratios[n].append(ratio)
                row.append(f"{ratio:.2f}x")
        print("| " + " | ".join(row) + " |", flush=True)
    if "torch" in names:
        for n, values in ratios.items():
            half = len(CASES)
            print(
                f"{n}: geometric mean vs torch {_geomean(values[:half]):.2f}x without autograd, "
                f"{_geomean(values[half:]):.2f}x recording autograd"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def _geomean(values: list[float]) -> float:
    return statistics.geometric_mean(values) if values else float("nan")


if __name__ == "__main__":
    main()
