"""Exact (erf) GELU against the tanh form on the numpy backend: forward + backward, one run.

    python benchmarks/gelu_numpy.py                   # shape (12, 64, 512), 301 samples each
    python benchmarks/gelu_numpy.py --quick           # fewer samples (CI smoke)
    python benchmarks/gelu_numpy.py --shape 4 1024 --rounds 101

Times the numpy backend's fused GELU kernels (`fused.gelu` then `fused.gelu_backward`, the
pair a training step calls) on float32 data, the two forms taking turns sample by sample so a
noisy neighbour slows both alike. Prints the median time per form, the ratio exact / tanh
(issue 21 asks for <= 1.5) and the forward-only and backward-only medians. One thread.
"""

# ruff: noqa: E402  (numpy is imported after the thread variables are set)

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from collections.abc import Callable

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TINYGPT_THREADS"):
    os.environ[_variable] = "1"

import numpy as np
from tinygpt_backend_numpy import fused

FORMS = ("none", "tanh")  # "none" is the exact (erf) GELU, PyTorch's name


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="21 samples instead of 301")
    parser.add_argument("--rounds", type=int, default=None, help="samples per form and part")
    parser.add_argument("--shape", type=int, nargs="+", default=[12, 64, 512])
    return parser.parse_args()


def time_once(fn: Callable[[], object]) -> float:
    """Seconds for one call, the garbage collector paused."""
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def main() -> None:
    args = parse_args()
    rounds = args.rounds or (21 if args.quick else 301)
    rng = np.random.default_rng(0)
    # GELU inputs in a GPT's MLP are roughly normal; scale 2 also reaches both tails
    x = rng.normal(scale=2.0, size=tuple(args.shape)).astype(np.float32)
    dy = rng.normal(size=x.shape).astype(np.float32)
    parts: dict[str, Callable[[str], object]] = {
        "forward": lambda form: fused.gelu(x, form),
        "backward": lambda form: fused.gelu_backward(dy, x, form),
        "fwd+bwd": lambda form: (fused.gelu(x, form), fused.gelu_backward(dy, x, form)),
    }
    samples = {(part, form): [] for part in parts for form in FORMS}
    for part, fn in parts.items():  # warm-up: page in the buffers, NumPy's dispatch caches
        for form in FORMS:
            fn(form)
    for _ in range(rounds):
        for part, fn in parts.items():
            for form in FORMS:  # the forms alternate within each round
                samples[part, form].append(time_once(lambda: fn(form)))

    print(f"numpy {np.__version__}, shape {tuple(args.shape)} float32, {rounds} samples, median")
    print(f"{'part':<9} {'exact (ms)':>11} {'tanh (ms)':>10} {'exact / tanh':>13}")
    for part in parts:
        exact = statistics.median(samples[part, "none"]) * 1e3
        tanh = statistics.median(samples[part, "tanh"]) * 1e3
        print(f"{part:<9} {exact:>11.3f} {tanh:>10.3f} {exact / tanh:>13.2f}")


if __name__ == "__main__":
    main()
