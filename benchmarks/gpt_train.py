"""Training speed, memory and loss of tinygpt's GPT next to PyTorch, on the same work.

    python benchmarks/gpt_train.py                  # 300 steps, 2 threads, every backend + torch
    python benchmarks/gpt_train.py --steps 50       # a quicker look
    python benchmarks/gpt_train.py --backend numpy --no-torch

The workload is nanoGPT's CPU "baby" model (n_layer=4, n_head=4, n_embd=128, block_size=64,
batch_size=12, dropout 0, vocab 65) trained with AdamW (weight decay on matrices only,
betas 0.9/0.99), warm-up + cosine learning rate and gradient clipping at 1.0.

Both frameworks start from the same weights (made once by tinygpt and copied into torch, whose
nanoGPT-style model has the same parameter names), see the same batches, and are evaluated
on the same validation windows, so their final validation losses are directly comparable.
PyTorch runs the same architecture with attention written out by hand (q @ k^T, mask,
softmax, @ v), GELU with the tanh approximation as in tinygpt.

The text: `--data FILE` (e.g. tiny Shakespeare, whose 65 characters give vocab 65), else
Python's own documentation (pydoc_data), its 64 most frequent characters plus one "other"
id, so the vocabulary is 65 here too. The last 10% is validation.

Each framework runs in its own process, so its peak resident memory (ru_maxrss) is its own;
"training peak" is the peak resident memory during the steps (the high-water mark is reset just
before the first one, on Linux) minus the resident memory then (model, optimizer and libraries
loaded): what the steps themselves added;
tinygpt's Python-side peak (tracemalloc, which sees NumPy's buffers) over two extra steps is
reported too. Tokens/s = batch_size * block_size / step time, from the 10th percentile of the
step times after 3 warm-up steps (the median-based figure is in the JSON file too).
Results go to benchmarks/results/gpt_train.json.
"""

# ruff: noqa: E402  (numpy, torch and tinygpt are imported after the thread variables are set)

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# TINYGPT_THREADS: a fixed count (else tinygpt follows the load: tinygpt.backend.threads)
THREAD_VARIABLES = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TINYGPT_THREADS"]
RESULTS = Path(__file__).resolve().parent / "results" / "gpt_train.json"
BABY = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, vocab_size=65, dropout=0.0)
BATCH = 12
SEED = 1337


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps (300)")
    parser.add_argument("--threads", type=int, default=2, help="compute threads (2)")
    parser.add_argument("--eval-batches", type=int, default=20, help="validation batches (20)")
    parser.add_argument("--backend", action="append", dest="backends", metavar="NAME")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--data", default=None, help="a text file (default: pydoc_data)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # internal
    parser.add_argument("--init", default=None, help=argparse.SUPPRESS)  # internal
    return parser.parse_args()


ARGS = parse_args()
for variable in THREAD_VARIABLES:
    os.environ[variable] = str(ARGS.threads)

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpt_common import estimate_val_loss, load_data, lr_at, run_steps  # noqa: I001


def main() -> int:
    if ARGS.worker is not None:
        return worker(ARGS.worker, ARGS.init)
    frameworks = [f"tinygpt:{name}" for name in tinygpt_backends()]
    if not ARGS.no_torch and torch_available():
        frameworks.append("torch:cpu")
    with tempfile.TemporaryDirectory() as folder:
        init = str(Path(folder) / "init.npz")
        make_initial_weights(init)
        results = [spawn(name, init) for name in frameworks]
    report(results)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"args": vars(ARGS), "results": results}, indent=2))
    return 0 if all("error" not in r for r in results) else 1


def tinygpt_backends() -> list[str]:
    import tinygpt as tg

    names = [info.name for info in tg.backends() if info.available]
    return [n for n in names if not ARGS.backends or n in ARGS.backends]


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def make_initial_weights(path: str) -> None:
    """GPT-2 style initial weights from tinygpt (seeded), shared by every framework."""
    import tinygpt as tg
    from tinygpt.gpt import GPT, GPTConfig

    tg.manual_seed(SEED)
    model = GPT(GPTConfig(**BABY))
    np.savez(path, **{name: t.numpy() for name, t in model.state_dict().items()})


def spawn(name: str, init: str) -> dict:
    argv = [sys.executable, __file__, "--worker", name, "--init", init]
    argv += ["--steps", str(ARGS.steps), "--threads", str(ARGS.threads)]
    argv += ["--eval-batches", str(ARGS.eval_batches)]
    if ARGS.data:
        argv += ["--data", ARGS.data]
    print(f"running {name} ...", file=sys.stderr, flush=True)
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        return {"framework": name, "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def worker(name: str, init: str) -> int:
    framework, device = name.split(":")
    train, val = load_data(ARGS.data)
    weights = dict(np.load(init))
    if framework == "torch":
        from gpt_torch import TorchRunner

        runner = TorchRunner(BABY, weights, ARGS.threads)
    else:
        from gpt_common import TinygptRunner

        runner = TinygptRunner(BABY, weights, device)
    # the model, optimizer and libraries, before any step; the high-water mark restarts here
    # (loading the text peaks higher than that, and would hide the steps' own peak)
    baseline = current_rss_mb() if reset_peak_rss() else None
    times, losses = run_steps(runner, train, BABY["block_size"], BATCH, ARGS.steps, SEED)
    training_peak = status_mb("VmHWM") - baseline if baseline is not None else None
    val_loss = estimate_val_loss(runner, val, BABY["block_size"], BATCH, ARGS.eval_batches)
    result = {
        "framework": name,
        "steps": ARGS.steps,
        # NOTE: the 10th-percentile step time: on a shared machine, the steps that other
        # jobs slowed down say nothing about either framework (the median is kept too)
        "tokens_per_s": BATCH * BABY["block_size"] / float(np.percentile(times[3:], 10)),
        "tokens_per_s_median": BATCH * BABY["block_size"] / float(np.median(times[3:])),
        "final_train_loss": float(np.mean(losses[-10:])),
        "val_loss": val_loss,
        "peak_rss_mb": peak_rss_mb(),
        # what training added on top of the loaded model: activations, gradients, state
        "training_peak_mb": training_peak,
        "python_peak_mb": runner.python_peak_mb(train, BATCH, lr_at(0, ARGS.steps)),
    }
    print(json.dumps(result))
    return 0


def peak_rss_mb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


def current_rss_mb() -> float:
    return status_mb("VmRSS")


def status_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS: resident now, VmHWM: its peak) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak_rss() -> bool:
    """Restart the resident-memory high-water mark (Linux: "5" into clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False  # not Linux, or not allowed: no training-peak column
    return True


def report(results: list[dict]) -> None:
    torch_row = next((r for r in results if r["framework"].startswith("torch")), None)
    print(f"\nnanoGPT baby config, {ARGS.steps} steps, batch {BATCH}, {ARGS.threads} threads\n")
    header = "| framework | tokens/s | (median) | vs torch | val loss | vs torch | peak RSS MB |"
    print(header + " training peak MB | vs torch | py peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            print(f"| {r['framework']} | error: {r['error']} | | | | | | |")
            continue
        speed = ratio = memory = "-"
        if torch_row is not None and "error" not in torch_row:
            speed = f"{r['tokens_per_s'] / torch_row['tokens_per_s']:.2f}x"
            ratio = f"{(r['val_loss'] / torch_row['val_loss'] - 1) * 100:+.2f}%"
            if r["training_peak_mb"] and torch_row["training_peak_mb"]:
                memory = f"{r['training_peak_mb'] / torch_row['training_peak_mb']:.2f}x"
        py_peak = "-" if r["python_peak_mb"] is None else f"{r['python_peak_mb']:.0f}"
        training = "-" if r["training_peak_mb"] is None else f"{r['training_peak_mb']:.0f}"
        print(
            f"| {r['framework']} | {r['tokens_per_s']:,.0f} | {r['tokens_per_s_median']:,.0f} | "
            f"{speed} | {r['val_loss']:.4f} | "
            f"{ratio} | {r['peak_rss_mb']:.0f} | {training} | {memory} | {py_peak} |"
        )


if __name__ == "__main__":
    sys.exit(main())
