"""Speed of tinygpt next to NumPy (and PyTorch, if importable), in one run.

    python benchmarks/run.py                 # full sizes, 1 thread
    python benchmarks/run.py --quick         # small sizes and few repeats (CI smoke)
    python benchmarks/run.py --threads 4     # BLAS/OpenMP/torch threads
    nox -s bench -- --quick --with-torch     # the same through nox, with PyTorch installed

Three sections, each case run on every available tinygpt backend, NumPy and PyTorch:

- overhead:  `a + b` on shape (4,) float32, plain and with requires_grad=True (µs per op);
- bandwidth: large elementwise ops, counting bytes read + written (GB/s);
- matmul:    square float32 matmuls, `x @ w` and `x @ w.T` (GFLOP/s).

Every number is the median over repeats of a timed loop (after a warm-up), with the
interquartile range as spread. Prints markdown tables and writes benchmarks/results/latest.json.
"""

# ruff: noqa: E402  (numpy, torch and tinygpt are imported after the thread variables are set)

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# NOTE: thread counts must be in the environment before NumPy (or torch, or a tinygpt
# backend) is imported: BLAS and OpenMP read them once, at load time. So the arguments are
# parsed and the variables set before any of those imports below.
THREAD_VARIABLES = [
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "TINYGPT_THREADS",  # fixed, not following the machine's load (tinygpt.backend.threads)
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--threads", type=int, default=1, help="compute threads (default 1)")
    parser.add_argument(
        "--backend",
        action="append",
        dest="backends",
        metavar="NAME",
        help="only this tinygpt backend (repeatable; default: every available one)",
    )
    return parser.parse_args()


ARGS = parse_args()
if "numpy" in sys.modules:
    print("warning: numpy was imported before --threads could take effect", file=sys.stderr)
for variable in THREAD_VARIABLES:
    os.environ[variable] = str(ARGS.threads)

import numpy as np

import tinygpt as tg

try:
    import torch
except ImportError:
    torch = None

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "latest.json"


# --- frameworks: one way to make arrays, compute exp, read results back and wait ---------


@dataclass
class Framework:
    name: str  # as printed: "tinygpt[numpy]", "numpy", "torch[cpu]"
    kind: str  # "tinygpt", "numpy" or "torch"
    device: str
    array: Callable[[np.ndarray, bool], Any]  # (host array, requires_grad) -> its array
    exp: Callable[[Any], Any]
    to_numpy: Callable[[Any], np.ndarray]
    sync: Callable[[], None]  # wait for queued work (GPUs); a no-op elsewhere


def no_sync() -> None:
    pass


def tinygpt_framework(device: str) -> Framework:
    def array(host: np.ndarray, requires_grad: bool) -> Any:
        return tg.tensor(host, dtype=tg.float32, device=device, requires_grad=requires_grad)

    def sync() -> None:
        if hasattr(tg, "synchronize"):  # backends that queue work (GPUs) provide it
            tg.synchronize(device)

    return Framework(
        name=f"tinygpt[{device}]",
        kind="tinygpt",
        device=device,
        array=array,
        exp=lambda t: t.exp(),
        to_numpy=lambda t: t.detach().numpy(),
        sync=sync,
    )


def numpy_framework() -> Framework:
    def array(host: np.ndarray, requires_grad: bool) -> Any:
        if requires_grad:
            raise NotImplementedError("NumPy has no autograd")
        return host.copy()

    return Framework("numpy", "numpy", "cpu", array, np.exp, np.asarray, no_sync)


NUMPY = numpy_framework()  # also computes the reference answers


def torch_framework(device: str) -> Framework:
    def array(host: np.ndarray, requires_grad: bool) -> Any:
        return torch.tensor(host, device=device, requires_grad=requires_grad)

    sync = no_sync
    if device == "cuda":
        sync = torch.cuda.synchronize
    return Framework(
        name=f"torch[{device}]",
        kind="torch",
        device=device,
        array=array,
        exp=lambda t: t.exp(),
        to_numpy=lambda t: t.detach().cpu().numpy(),
        sync=sync,
    )


def all_frameworks() -> list[Framework]:
    frameworks = [numpy_framework()]
    if torch is not None:
        torch.set_num_threads(ARGS.threads)
        frameworks.append(torch_framework("cpu"))
        if torch.cuda.is_available():
            frameworks.append(torch_framework("cuda"))
    for backend in tg.backends():
        wanted = ARGS.backends is None or backend.name in ARGS.backends
        if backend.available and wanted:
            frameworks.append(tinygpt_framework(backend.name))
    return frameworks


def torch_counterpart(device: str) -> str:
    """The torch framework a tinygpt device is compared with: same kind of hardware."""
    if device.startswith("cuda"):
        return "torch[cuda]"
    return "torch[cpu]"


# --- cases ----------------------------------------------------------------------------------


@dataclass
class Case:
    section: str  # "overhead", "bandwidth" or "matmul"
    name: str
    shapes: list[tuple[int, ...]]  # one per input
    op: Callable[..., Any]  # (framework, *inputs) -> output
    work: float  # per call: 1 op, bytes moved or flops
    requires_grad: bool = False
    tolerance: float = 1e-5  # max |got - numpy| / max |numpy|


SECTIONS = {
    "overhead": ("Per-op overhead", "µs/op", 1e-6),  # (title, unit, unit in SI)
    "bandwidth": ("Elementwise throughput", "GB/s", 1e9),
    "matmul": ("Matmul", "GFLOP/s", 1e9),
}


def add(fw: Framework, a: Any, b: Any) -> Any:
    return a + b


def mul(fw: Framework, a: Any, b: Any) -> Any:
    return a * b


def exp(fw: Framework, a: Any) -> Any:
    return fw.exp(a)


def add_transposed(fw: Framework, a: Any, b: Any) -> Any:
    return a.T + b  # a strided view on the left: no copy should be needed


def matmul(fw: Framework, x: Any, w: Any) -> Any:
    return x @ w


def matmul_transposed(fw: Framework, x: Any, w: Any) -> Any:
    return x @ w.T  # the Linear layer's layout


def all_cases(quick: bool) -> list[Case]:
    f32 = 4  # bytes
    n = 1 << 20 if quick else 1 << 24  # elements: 1M or 16M
    side = 1024 if quick else 4096  # (side, side) for the 2-D cases
    matmul_sizes = [64, 128] if quick else [256, 512, 1024]

    cases = [
        Case("overhead", "a + b, (4,)", [(4,), (4,)], add, 1),
        Case("overhead", "a + b, (4,), requires_grad", [(4,), (4,)], add, 1, requires_grad=True),
        Case("bandwidth", f"a + b, ({n},)", [(n,), (n,)], add, 3 * n * f32),
        Case("bandwidth", f"a * b, ({n},)", [(n,), (n,)], mul, 3 * n * f32),
        Case("bandwidth", f"exp(a), ({n},)", [(n,)], exp, 2 * n * f32, tolerance=1e-4),
    ]
    bias_bytes = (2 * side * side + side) * f32
    cases.append(
        Case("bandwidth", f"({side}, {side}) + ({side},)", [(side, side), (side,)], add, bias_bytes)
    )
    square = [(side, side), (side, side)]
    cases.append(
        Case(
            "bandwidth", f"a.T + b, ({side}, {side})", square, add_transposed, 3 * side * side * f32
        )
    )
    for size in matmul_sizes:
        flops = 2 * size**3
        shapes = [(size, size), (size, size)]
        cases.append(Case("matmul", f"x @ w, {size}", shapes, matmul, flops, tolerance=1e-4))
        cases.append(
            Case("matmul", f"x @ w.T, {size}", shapes, matmul_transposed, flops, tolerance=1e-4)
        )
    return cases


# --- timing ---------------------------------------------------------------------------------


def time_loop(run: Callable[[], Any], sync: Callable[[], None], calls: int) -> float:
    """Seconds per call of `run`, over `calls` calls, waiting for the device at the end."""
    start = time.perf_counter()
    for _ in range(calls):
        run()
    sync()
    return (time.perf_counter() - start) / calls


def measure(run: Callable[[], Any], sync: Callable[[], None], quick: bool) -> list[float]:
    """Seconds per call, one sample per repeat.

    Each repeat loops long enough (min_time) to dwarf the timer's resolution, the way
    `timeit.autorange` does; tiny ops therefore run thousands of times per sample.
    """
    repeats = 3 if quick else 9
    min_time = 0.005 if quick else 0.05
    calls = 1
    while time_loop(run, sync, calls) * calls < min_time:  # doubles as the warm-up
        calls *= 2
    # subtle: like timeit, the collector is off while timing, so a collection triggered by
    # another case's garbage is not charged to this one.
    gc.collect()
    gc.disable()
    try:
        return [time_loop(run, sync, calls) for _ in range(repeats)]
    finally:
        gc.enable()


def run_case(case: Case, fw: Framework, hosts: list[np.ndarray]) -> dict[str, Any]:
    inputs = [fw.array(host, case.requires_grad) for host in hosts]

    def run() -> Any:
        return case.op(fw, *inputs)

    # Check the answer first: a fast wrong result (or a lazy one never computed) is no result.
    got = fw.to_numpy(run())
    want = case.op(NUMPY, *hosts)
    if got.shape != want.shape:
        raise AssertionError(f"wrong result: shape {got.shape}, expected {want.shape}")
    error = float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-30))
    if not error <= case.tolerance:  # `not <=` so that NaN fails too
        raise AssertionError(f"wrong result: relative error {error:.2e} > {case.tolerance:.0e}")

    samples = measure(run, fw.sync, ARGS.quick)
    median = statistics.median(samples)
    q1, _, q3 = statistics.quantiles(samples, n=4)
    _, unit, scale = SECTIONS[case.section]
    if case.section == "overhead":
        value = median / scale  # µs per op
    else:
        value = case.work / median / scale  # GB/s or GFLOP/s
    return {
        "median_s": median,
        "iqr_s": q3 - q1,
        "samples_s": samples,
        "value": value,
        "unit": unit,
    }


# --- report ---------------------------------------------------------------------------------


def ratio(results: dict[tuple[str, str], dict], case: Case, mine: str, theirs: str) -> str:
    """tinygpt's time over theirs: 1.00 = as fast, 2.00 = takes twice as long."""
    a = results.get((case.name, mine), {})
    b = results.get((case.name, theirs), {})
    if "median_s" not in a or "median_s" not in b:
        return ""
    return f"{a['median_s'] / b['median_s']:.2f}"


def markdown(cases: list[Case], frameworks: list[Framework], results: dict) -> str:
    lines = []
    for section, (title, unit, _) in SECTIONS.items():
        lines += [f"### {title} ({unit})", ""]
        lines.append(f"| case | framework | {unit} | spread | time vs NumPy | time vs torch |")
        lines.append("|---|---|---:|---:|---:|---:|")
        for case in [c for c in cases if c.section == section]:
            for fw in frameworks:
                result = results.get((case.name, fw.name))
                if result is None:  # not applicable, e.g. NumPy with requires_grad
                    continue
                if "error" in result:
                    message = result["error"].replace("|", "/").replace("\n", " ")[:80]
                    lines.append(f"| {case.name} | {fw.name} | error: {message} | | | |")
                    continue
                spread = 50 * result["iqr_s"] / result["median_s"]  # half the IQR, % of median
                vs_numpy = vs_torch = ""
                if fw.kind == "tinygpt":
                    vs_numpy = ratio(results, case, fw.name, "numpy")
                    vs_torch = ratio(results, case, fw.name, torch_counterpart(fw.device))
                row = [case.name, fw.name, f"{result['value']:.3g}", f"±{spread:.0f}%"]
                lines.append("| " + " | ".join(row + [vs_numpy, vs_torch]) + " |")
        lines.append("")
    lines.append("time vs X = tinygpt's median time / X's (1.00 = as fast; 2.00 = twice as slow).")
    lines.append("spread = half the interquartile range of the samples, relative to the median.")
    return "\n".join(lines)


def environment(frameworks: list[Framework]) -> dict[str, Any]:
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "threads": ARGS.threads,
        "quick": ARGS.quick,
        "numpy": np.__version__,
        "torch": getattr(torch, "__version__", None),
        "tinygpt": getattr(tg, "__version__", None),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "frameworks": [fw.name for fw in frameworks],
    }


def main() -> int:
    frameworks = all_frameworks()
    cases = all_cases(ARGS.quick)
    rng = np.random.default_rng(0)
    results: dict[tuple[str, str], dict[str, Any]] = {}
    failures = 0
    for case in cases:
        hosts = [rng.standard_normal(shape, dtype=np.float32) for shape in case.shapes]
        for fw in frameworks:
            if case.requires_grad and fw.kind == "numpy":
                continue
            print(f"{case.name:<40} {fw.name:<16}", end=" ", flush=True, file=sys.stderr)
            try:
                result = run_case(case, fw, hosts)
                print(f"{result['value']:.3g} {result['unit']}", file=sys.stderr)
            except Exception as exception:  # report it and go on with the other cases
                result = {"error": f"{type(exception).__name__}: {exception}"}
                failures += 1
                print(result["error"], file=sys.stderr)
            results[(case.name, fw.name)] = result
            gc.collect()  # free this case's arrays before the next one allocates

    print(markdown(cases, frameworks, results))
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {"section": c.section, "case": c.name, "framework": fw.name, **results[(c.name, fw.name)]}
        for c in cases
        for fw in frameworks
        if (c.name, fw.name) in results
    ]
    report = {"environment": environment(frameworks), "results": rows}
    RESULTS_FILE.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {RESULTS_FILE}", file=sys.stderr)
    if failures:
        print(f"{failures} benchmark(s) failed; see the errors above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
