"""The cpu backend against the machine's limits, NumPy and PyTorch, in one run.

    python benchmarks/cpu_backend.py               # full sizes, 1 thread
    python benchmarks/cpu_backend.py --threads 2   # OpenMP, OpenBLAS and torch threads
    python benchmarks/cpu_backend.py --quick       # small sizes, few repeats (smoke test)
    nox -s bench -- --with-torch                   # runs this after benchmarks/run.py

Two sections, float32 throughout:

- memory: a plain copy measures the memory bandwidth of this machine, next to each case
  (NumPy's `np.copyto` into an existing array, STREAM-style, and the faster of it and
  tinygpt's streaming `copy_`); `a + b`, `a * b` and a fused softmax on 16M floats are
  reported in GB/s (bytes read + written) and as a fraction of each copy (target 70%);
- matmul: `x @ w` and `x @ w.T` at 256, 512, 1024, in GFLOP/s and as a fraction of NumPy's
  BLAS on the same shapes (target 90%).

Every number is a median over repeats after a warm-up; each result is checked against NumPy
before it is timed. Writes benchmarks/results/cpu_backend.json.
"""

# ruff: noqa: E402  (numpy, torch and tinygpt are imported after the thread variables are set)

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--threads", type=int, default=1, help="compute threads (default 1)")
    parser.add_argument(
        "--backend",
        action="append",
        dest="backends",
        metavar="NAME",
        help="as in run.py: this script runs only when the list includes cpu",
    )
    # NOTE: nox's bench session passes every script the same arguments; ignore the others
    args, _ = parser.parse_known_args()
    return args


ARGS = parse_args()
# NOTE: BLAS and OpenMP read these once, when they load: set them before any import below.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = str(ARGS.threads)

import numpy as np

import tinygpt as tg

try:
    import torch
except ImportError:
    torch = None

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "cpu_backend.json"
DEVICE = "cpu"


# --- timing ---------------------------------------------------------------------------------


def seconds_per_call(run: Callable[[], Any]) -> float:
    """Median seconds per call over repeats of a loop long enough to time reliably."""
    repeats = 3 if ARGS.quick else 7
    min_time = 0.02 if ARGS.quick else 0.2
    calls = 1
    while True:  # doubles as the warm-up
        start = time.perf_counter()
        for _ in range(calls):
            run()
        if time.perf_counter() - start >= min_time:
            break
        calls *= 2
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            run()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def check(got: Any, want: np.ndarray, what: str, tolerance: float) -> None:
    got = np.asarray(got, dtype=np.float64)
    error = float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-30))
    if not error <= tolerance:
        raise AssertionError(f"{what}: relative error {error:.2e} > {tolerance:.0e}")


# --- workloads ------------------------------------------------------------------------------


def softmax_numpy(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def memory_cases(n: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    a = rng.standard_normal(n, dtype=np.float32)
    b = rng.standard_normal(n, dtype=np.float32)
    rows = a.reshape(-1, 1024)  # softmax over rows of 1024, like attention scores
    ta, tb, trows = (tg.tensor(v, device=DEVICE) for v in (a, b, rows))
    cases = [
        ("a + b", 12 * n, lambda: ta + tb, lambda: a + b, "add", a + b),
        ("a * b", 12 * n, lambda: ta * tb, lambda: a * b, "mul", a * b),
        ("softmax(x, -1)", 8 * n, lambda: tg.softmax(trows, -1), lambda: softmax_numpy(rows),
         "softmax", softmax_numpy(rows.astype(np.float64))),
    ]  # fmt: skip
    if torch is not None:
        pa, pb, prows = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(rows)
        torch_ops = {"add": lambda: pa + pb, "mul": lambda: pa * pb,
                     "softmax": lambda: torch.softmax(prows, -1)}  # fmt: skip
    results = []
    for name, nbytes, mine, numpy_op, key, want in cases:
        check(mine().numpy(), want, name, 1e-5)
        # the reference is re-measured next to each case: on a shared machine the bandwidth
        # moves between runs and even within one (see copy_bandwidth)
        row = {"case": name, "bytes": nbytes, "copy": copy_bandwidth(n)}
        row["tinygpt"] = seconds_per_call(mine)
        row["numpy"] = seconds_per_call(numpy_op)
        if torch is not None:
            row["torch"] = seconds_per_call(torch_ops[key])
        results.append(row)
    return results


def copy_bandwidth(n: int) -> dict[str, Any]:
    """The machine's copy bandwidth in GB/s: the faster of two copies into an existing array
    (no allocation), NumPy's `np.copyto` and tinygpt's `dst.copy_(src)` (which may use
    streaming stores; NumPy's copy also reads the destination in, so it moves 12 bytes per
    element where 8 are counted). Either is a plain copy: no op can beat it by much."""
    src = np.ones(n, np.float32)
    dst = np.empty_like(src)
    tsrc = tg.tensor(src, device=DEVICE)
    tdst = tg.empty(n, device=DEVICE)
    numpy_s = seconds_per_call(lambda: np.copyto(dst, src))
    tinygpt_s = seconds_per_call(lambda: tdst.copy_(tsrc))
    return {"numpy": 8 * n / numpy_s / 1e9, "tinygpt": 8 * n / tinygpt_s / 1e9}


def matmul_cases(sizes: list[int]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(1)
    results = []
    for size in sizes:
        x = rng.standard_normal((size, size), dtype=np.float32)
        w = rng.standard_normal((size, size), dtype=np.float32)
        for transposed in (False, True):
            results.append(matmul_case(x, w, transposed))
    return results


def matmul_case(x: np.ndarray, w: np.ndarray, transposed: bool) -> dict[str, Any]:
    """`x @ w` (or `x @ w.T`, the Linear layer's layout: no copy of w.T may be made)."""
    tx, tw = tg.tensor(x, device=DEVICE), tg.tensor(w, device=DEVICE)
    w_np = w.T if transposed else w
    tw_view = tw.T if transposed else tw
    label = f"x @ w{'.T' if transposed else ''}, {x.shape[0]}"
    check((tx @ tw_view).numpy(), x.astype(np.float64) @ w_np, label, 1e-4)
    row = {"case": label, "flops": 2 * x.shape[0] * x.shape[1] * w.shape[1]}
    row["tinygpt"] = seconds_per_call(lambda: tx @ tw_view)
    row["numpy"] = seconds_per_call(lambda: x @ w_np)
    if torch is not None:
        px = torch.from_numpy(x)
        pw = torch.from_numpy(w).T if transposed else torch.from_numpy(w)
        row["torch"] = seconds_per_call(lambda: px @ pw)
    return row


# --- report ---------------------------------------------------------------------------------


def markdown(memory: list[dict], matmul: list[dict]) -> str:
    lines = ["### Memory-bound ops (GB/s; copy: the machine's copy bandwidth next to each case)"]
    lines.append("")
    header = "| case | tinygpt[cpu] | np.copyto | vs it | best copy | vs it | numpy | torch |"
    lines.append(header + " time vs numpy | time vs torch |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in memory:
        stream_gbs = row["copy"]["numpy"]  # STREAM-style: the usual "bandwidth" figure
        copy_gbs = max(row["copy"].values())
        mine = row["bytes"] / row["tinygpt"] / 1e9
        numpy_gbs = row["bytes"] / row["numpy"] / 1e9
        torch_gbs = f"{row['bytes'] / row['torch'] / 1e9:.1f}" if "torch" in row else ""
        vs_torch = f"{row['tinygpt'] / row['torch']:.2f}" if "torch" in row else ""
        lines.append(
            f"| {row['case']} | {mine:.1f} | {stream_gbs:.1f} | {mine / stream_gbs:.0%} | "
            f"{copy_gbs:.1f} | {mine / copy_gbs:.0%} | "
            f"{numpy_gbs:.1f} | {torch_gbs} | {row['tinygpt'] / row['numpy']:.2f} | {vs_torch} |"
        )
    lines += ["", "### Matmul (GFLOP/s)", ""]
    lines.append("| case | tinygpt[cpu] | vs numpy | numpy | torch | time vs torch |")
    lines.append("|---|---:|---:|---:|---:|---:|")
    for row in matmul:
        mine = row["flops"] / row["tinygpt"] / 1e9
        numpy_gflops = row["flops"] / row["numpy"] / 1e9
        torch_gflops = f"{row['flops'] / row['torch'] / 1e9:.1f}" if "torch" in row else ""
        vs_torch = f"{row['tinygpt'] / row['torch']:.2f}" if "torch" in row else ""
        lines.append(
            f"| {row['case']} | {mine:.1f} | {mine / numpy_gflops:.0%} | {numpy_gflops:.1f} | "
            f"{torch_gflops} | {vs_torch} |"
        )
    lines += [
        "",
        "vs it / vs numpy: tinygpt's throughput as a fraction of it (higher is better).",
        "np.copyto: NumPy's copy (regular stores, like STREAM); best copy: the faster of it and",
        "tinygpt's own copy_ (streaming stores): the stricter reference.",
        "time vs X: tinygpt's median time / X's (1.00 = as fast; below 1 = faster).",
    ]
    return "\n".join(lines)


def main() -> int:
    if ARGS.backends is not None and DEVICE not in ARGS.backends:
        print(f"skipped: --backend {ARGS.backends} does not include {DEVICE}", file=sys.stderr)
        return 0
    names = [info.name for info in tg.backends() if info.available]
    if DEVICE not in names:
        print(f"the {DEVICE!r} backend is not available: {names}", file=sys.stderr)
        return 1
    import tinygpt_backend_cpu

    tinygpt_backend_cpu.set_num_threads(ARGS.threads)
    if torch is not None:
        torch.set_num_threads(ARGS.threads)
    n = 1 << 20 if ARGS.quick else 1 << 24
    sizes = [64, 128] if ARGS.quick else [256, 512, 1024]
    memory = memory_cases(n)
    matmul = matmul_cases(sizes)
    print(markdown(memory, matmul))
    report = {
        "threads": ARGS.threads,
        "quick": ARGS.quick,
        "numpy": np.__version__,
        "torch": getattr(torch, "__version__", None),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "memory": memory,
        "matmul": matmul,
    }
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {RESULTS_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
