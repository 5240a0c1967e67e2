"""Forward + backward time of whole nn layers in tinygpt, next to PyTorch with the same weights.

    python benchmarks/nn_layers.py                 # full sizes, 1 thread
    python benchmarks/nn_layers.py --quick         # small sizes, few repeats (CI smoke)
    python benchmarks/nn_layers.py --threads 4     # BLAS/OpenMP/torch threads
    nox -s bench -- --quick --with-torch           # with benchmarks/run.py, through nox

Three workloads, each one training step without the optimizer: forward, a scalar loss
(the sum of the output times a fixed random probe) and backward into every parameter:

- conv:        Conv2d(16->32, 3x3) -> ReLU -> Conv2d(32->32, 3x3) -> ReLU -> Conv2d(32->32, 3x3);
- lstm:        a one-layer nn.LSTM over a (T, B, I) sequence;
- transformer: a pre-LN TransformerBlock (causal attention + GELU MLP) on (B, T, C).

tinygpt loads the PyTorch model's state dict key by key, and each case first checks that both
give the same output. Every number is the median of repeated timings (after a warm-up), with
half the interquartile range as spread; `time vs torch` is tinygpt's median over torch's
(2.00 = twice as slow). Writes benchmarks/results/nn_layers.json.
"""

# ruff: noqa: E402  (numpy, torch and tinygpt are imported after the thread variables are set)

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# NOTE: thread counts must be in the environment before NumPy (or torch, or a tinygpt
# backend) is imported: BLAS and OpenMP read them once, at load time.
# TINYGPT_THREADS: a fixed count (else tinygpt follows the load: tinygpt.backend.threads)
THREAD_VARIABLES = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TINYGPT_THREADS"]


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
for variable in THREAD_VARIABLES:
    os.environ[variable] = str(ARGS.threads)

import numpy as np

import tinygpt as tg
from tinygpt import nn

try:
    import torch
except ImportError:
    torch = None

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "nn_layers.json"


@dataclass
class Case:
    name: str
    input_shape: tuple[int, ...]
    make_tinygpt: Callable[[], nn.Module]
    make_torch: Callable[[], Any] | None  # None when torch is not importable
    flops_note: str  # the sizes, as printed


def conv_stack_tinygpt() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1),
    )


def conv_stack_torch() -> Any:
    c = torch.nn
    return c.Sequential(
        c.Conv2d(16, 32, 3, padding=1),
        c.ReLU(),
        c.Conv2d(32, 32, 3, padding=1),
        c.ReLU(),
        c.Conv2d(32, 32, 3, padding=1),
    )


class FirstOutput(nn.Module):
    """Keep only the output of a layer that returns (output, state), like LSTM."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: Any) -> Any:
        return self.inner(x)[0]


def torch_first_output(inner: Any) -> Any:
    class First(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: Any) -> Any:
            return self.inner(x)[0]

    return First()


def torch_transformer_block(n_embd: int, n_head: int) -> Any:
    """The same pre-LN block written with torch modules and tinygpt's parameter names."""

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1 = torch.nn.LayerNorm(n_embd)
            self.attn = torch.nn.MultiheadAttention(n_embd, n_head, batch_first=True)
            self.ln_2 = torch.nn.LayerNorm(n_embd)
            self.mlp = torch.nn.Module()
            self.mlp.c_fc = torch.nn.Linear(n_embd, 4 * n_embd)
            self.mlp.c_proj = torch.nn.Linear(4 * n_embd, n_embd)

        def forward(self, x: Any) -> Any:
            h = self.ln_1(x)
            t = x.shape[1]
            mask = torch.nn.Transformer.generate_square_subsequent_mask(t, device=x.device)
            x = x + self.attn(h, h, h, attn_mask=mask, is_causal=True, need_weights=False)[0]
            gelu = torch.nn.functional.gelu(self.mlp.c_fc(self.ln_2(x)))
            return x + self.mlp.c_proj(gelu)

    return Block()


def all_cases(quick: bool) -> list[Case]:
    batch, side = (4, 16) if quick else (16, 32)
    steps, lstm_batch, lstm_in, hidden = (16, 8, 32, 64) if quick else (64, 32, 128, 256)
    tb, tt, tc, th = (2, 32, 64, 4) if quick else (8, 128, 256, 8)
    have_torch = torch is not None
    return [
        Case(
            "conv",
            (batch, 16, side, side),
            conv_stack_tinygpt,
            conv_stack_torch if have_torch else None,
            f"3 x Conv2d 3x3, x ({batch}, 16, {side}, {side})",
        ),
        Case(
            "lstm",
            (steps, lstm_batch, lstm_in),
            lambda: FirstOutput(nn.LSTM(lstm_in, hidden)),
            (lambda: torch_first_output(torch.nn.LSTM(lstm_in, hidden))) if have_torch else None,
            f"LSTM({lstm_in}, {hidden}), x ({steps}, {lstm_batch}, {lstm_in})",
        ),
        Case(
            "transformer",
            (tb, tt, tc),
            lambda: nn.TransformerBlock(tc, th),
            (lambda: torch_transformer_block(tc, th)) if have_torch else None,
            f"TransformerBlock({tc}, {th} heads), x ({tb}, {tt}, {tc})",
        ),
    ]


# --- one framework's step ------------------------------------------------------------------


@dataclass
class Runner:
    name: str  # "tinygpt[numpy]", "torch[cpu]"
    step: Callable[[], None]  # forward + backward
    output: Callable[[], np.ndarray]  # the forward's output, for the answer check
    sync: Callable[[], None]


def tinygpt_runner(case: Case, device: str, state: dict, x: np.ndarray, probe: np.ndarray):
    model = case.make_tinygpt().to(device)
    if state:
        model.load_state_dict({k: tg.tensor(v, device=device) for k, v in state.items()})
    inputs = tg.tensor(x, device=device, requires_grad=True)
    weights = tg.tensor(probe, device=device)

    def step() -> None:
        model.zero_grad()
        (model(inputs) * weights).sum().backward()

    def output() -> np.ndarray:
        with tg.no_grad():
            return model(inputs).numpy()

    return Runner(f"tinygpt[{device}]", step, output, lambda: tg.synchronize(device))


def torch_runner(case: Case, device: str, model: Any, x: np.ndarray, probe: np.ndarray):
    model = model.to(device)
    inputs = torch.tensor(x, device=device, requires_grad=True)
    weights = torch.tensor(probe, device=device)

    def step() -> None:
        model.zero_grad()
        (model(inputs) * weights).sum().backward()

    def output() -> np.ndarray:
        with torch.no_grad():
            return model(inputs).cpu().numpy()

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    return Runner(f"torch[{device}]", step, output, sync)


def measure(runner: Runner, quick: bool) -> list[float]:
    """Seconds per step, one sample per repeat (each repeat long enough for the timer)."""
    repeats = 3 if quick else 7
    min_time = 0.02 if quick else 0.2
    calls = 1
    while True:  # doubles as the warm-up
        start = time.perf_counter()
        for _ in range(calls):
            runner.step()
        runner.sync()
        if time.perf_counter() - start >= min_time:
            break
        calls *= 2
    samples = []
    gc.collect()
    gc.disable()  # a collection caused by an earlier case must not be charged to this one
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(calls):
                runner.step()
            runner.sync()
            samples.append((time.perf_counter() - start) / calls)
    finally:
        gc.enable()
    return samples


def runners_for(case: Case, x: np.ndarray, probe: np.ndarray) -> list[tuple[Runner, str]]:
    """(runner, the torch runner's name it is compared with) for each framework to time."""
    torch_models = {}
    state: dict[str, np.ndarray] = {}
    if case.make_torch is not None:
        torch.manual_seed(0)
        reference = case.make_torch()
        state = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
        torch_models["cpu"] = reference
        if torch.cuda.is_available():
            import copy

            torch_models["cuda"] = copy.deepcopy(reference)
    found = []
    for device, model in torch_models.items():
        found.append((torch_runner(case, device, model, x, probe), ""))
    for backend in tg.backends():
        if backend.available and (ARGS.backends is None or backend.name in ARGS.backends):
            counterpart = "torch[cuda]" if backend.name.startswith("cuda") else "torch[cpu]"
            found.append((tinygpt_runner(case, backend.name, state, x, probe), counterpart))
    return found


def main() -> int:
    if torch is not None:
        torch.set_num_threads(ARGS.threads)
    rng = np.random.default_rng(0)
    rows = []
    failures = 0
    for case in all_cases(ARGS.quick):
        x = rng.standard_normal(case.input_shape, dtype=np.float32)
        with tg.no_grad():  # the probe weighs every output element: it needs their shape
            out_shape = case.make_tinygpt()(tg.tensor(x)).shape
        probe = rng.standard_normal(out_shape, dtype=np.float32)
        runners = runners_for(case, x, probe)
        medians: dict[str, float] = {}
        reference = next((r.output() for r, _ in runners if r.name.startswith("torch")), None)
        for runner, counterpart in runners:
            print(f"{case.name:<12} {runner.name:<16}", end=" ", flush=True, file=sys.stderr)
            row: dict[str, Any] = {"case": case.name, "sizes": case.flops_note}
            row["framework"] = runner.name
            try:
                got = runner.output()
                if reference is not None:
                    error = float(np.max(np.abs(got - reference)) / np.max(np.abs(reference)))
                    if not error <= 1e-3:  # `not <=` so that NaN fails too
                        raise AssertionError(f"output differs from torch by {error:.1e}")
                samples = measure(runner, ARGS.quick)
                median = statistics.median(samples)
                q1, _, q3 = statistics.quantiles(samples, n=4)
                medians[runner.name] = median
                row.update(median_s=median, iqr_s=q3 - q1, samples_s=samples)
                if counterpart in medians:
                    row["vs_torch"] = median / medians[counterpart]
                print(f"{median * 1e3:.1f} ms", file=sys.stderr)
            except Exception as exception:  # report it and go on with the other cases
                row["error"] = f"{type(exception).__name__}: {exception}"
                failures += 1
                print(row["error"], file=sys.stderr)
            rows.append(row)
            gc.collect()
    print(markdown(rows))
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    environment = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "threads": ARGS.threads,
        "quick": ARGS.quick,
        "numpy": np.__version__,
        "torch": getattr(torch, "__version__", None),
    }
    RESULTS_FILE.write_text(json.dumps({"environment": environment, "results": rows}, indent=2))
    print(f"\nwrote {RESULTS_FILE}", file=sys.stderr)
    return 1 if failures else 0


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"### nn layers: forward + backward (ms per step, {ARGS.threads} thread(s))",
        "",
        "| case | sizes | framework | ms | spread | time vs torch |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in rows:
        if "error" in row:
            message = row["error"].replace("|", "/")[:80]
            lines.append(f"| {row['case']} | {row['sizes']} | {row['framework']} | {message} | | |")
            continue
        spread = 50 * row["iqr_s"] / row["median_s"]  # half the IQR, % of the median
        ratio = f"{row['vs_torch']:.2f}" if "vs_torch" in row else ""
        cells = [row["case"], row["sizes"], row["framework"], f"{row['median_s'] * 1e3:.2f}"]
        lines.append("| " + " | ".join(cells + [f"±{spread:.0f}%", ratio]) + " |")
    lines += [
        "",
        "time vs torch = tinygpt's median / torch's (1.00 = as fast, 2.00 = twice as slow).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
