"""Training speed of a GPT written the way PyTorch users write it, next to tinygpt.gpt.GPT.

    python benchmarks/user_gpt.py                  # every backend (+ PyTorch), 1 thread
    python benchmarks/user_gpt.py --rounds 10      # a quicker look
    python benchmarks/user_gpt.py --backend cpu --no-memory

The user's model is benchmarks/user_gpt_model.py: nanoGPT's `model.py` run with its imports
changed (`import tinygpt as torch` in spirit), in four variants: exact or tanh GELU
(`nn.GELU()`), `F.scaled_dot_product_attention(is_causal=True)` or attention by hand
(mask buffer, `masked_fill`, `F.softmax`), `nn.LayerNorm` with or without bias; tied
embeddings, `nn.Dropout`, `F.cross_entropy(ignore_index=-1)`, AdamW with decay / no-decay
groups and `clip_grad_norm_`. The shape is nanoGPT's CPU "baby" model (L4 H4 C128 T64 B12).

Every model (each variant and tinygpt.gpt.GPT on every backend, each variant in PyTorch)
starts from the same weights and takes the same batches. The steps alternate: round r runs
one step of every model in turn, so a slow moment of a shared machine hits all of them; the
table gives the median step time over the rounds after warm-up, as tokens/s. Peak memory is
the most bytes held by live arrays during two training steps (model, gradients, AdamW state,
activations), each model in its own process.
The last column lists where a tinygpt variant left a backend's fused kernel for a composite,
as `tg.profile()` reports it. Results go to benchmarks/results/user_gpt.json.
"""

# ruff: noqa: E402  (numpy, torch and tinygpt are imported after the thread variables are set)

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

# TINYGPT_THREADS: a fixed count (else tinygpt follows the load: tinygpt.backend.threads)
THREAD_VARIABLES = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TINYGPT_THREADS"]
RESULTS = Path(__file__).resolve().parent / "results" / "user_gpt.json"
BATCH = 12
SEED = 1337
WEIGHT_DECAY, LEARNING_RATE, BETAS = 0.1, 1e-3, (0.9, 0.99)
# tinygpt's own GPT, with and without biases: each variant is compared with the one that
# does the same work (nanoGPT's `bias` flag covers LayerNorm and Linear alike)
BASELINES = {True: "tinygpt.gpt.GPT", False: "tinygpt.gpt.GPT, bias=False"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="timed rounds (30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (3)")
    parser.add_argument("--threads", type=int, default=1, help="compute threads (1)")
    parser.add_argument("--backend", action="append", dest="backends", metavar="NAME")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    parser.add_argument("--quick", action="store_true", help="5 rounds, 1 warm-up (CI smoke)")
    parser.add_argument("--memory-worker", nargs=2, help=argparse.SUPPRESS)  # device, model
    return parser.parse_args()


ARGS = parse_args()
for variable in THREAD_VARIABLES:
    os.environ[variable] = str(ARGS.threads)
if ARGS.quick:
    ARGS.rounds, ARGS.warmup = 5, 1

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpt_common import load_data  # noqa: I001
from user_gpt_model import VARIANTS, UserConfig, gpt_class

SHAPE = UserConfig()


# --- runners: one training step of one model ---------------------------------------------
class Runner:
    """A model, its optimizer and a way to put a numpy batch on its device."""

    def __init__(self, framework: str, device: str, model_name: str, weights: dict) -> None:
        self.framework, self.device, self.model_name = framework, device, model_name
        if framework == "torch":
            import torch

            torch.set_num_threads(ARGS.threads)
            self.lib = torch
            self.model = gpt_class(torch)(UserConfig(**VARIANTS[model_name]))
            self.model.load_state_dict(
                {k: torch.from_numpy(v.copy()) for k, v in weights.items()}, strict=False
            )
        else:
            import tinygpt as tg

            self.lib = tg
            self.model = _tinygpt_model(model_name).to(device)
            # strict=False: the no-bias variants skip the checkpoint's biases
            self.model.load_state_dict({k: tg.tensor(v) for k, v in weights.items()}, strict=False)
        self.optimizer = _optimizer(self.model, self.lib)

    def batch(self, x: np.ndarray, y: np.ndarray):
        if self.framework == "torch":
            return self.lib.from_numpy(x), self.lib.from_numpy(y)
        tg = self.lib
        return (
            tg.tensor(x, dtype=tg.int64, device=self.device),
            tg.tensor(y, dtype=tg.int64, device=self.device),
        )

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        _, loss = self.model(*self.batch(x, y))
        loss.backward()
        self.lib.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.item()  # one host read per step, as a training loop logs it

    @property
    def label(self) -> str:
        return f"{self.framework}[{self.device}] {self.model_name}"


def _tinygpt_model(model_name: str):
    import tinygpt as tg

    for bias, name in BASELINES.items():
        if model_name == name:
            from tinygpt.gpt import GPT, GPTConfig

            return GPT(GPTConfig(**_gpt_config(), bias=bias))
    return gpt_class(tg)(UserConfig(**VARIANTS[model_name]))


def _gpt_config() -> dict:
    return dict(
        n_layer=SHAPE.n_layer,
        n_head=SHAPE.n_head,
        n_embd=SHAPE.n_embd,
        block_size=SHAPE.block_size,
        vocab_size=SHAPE.vocab_size,
        dropout=SHAPE.dropout,
    )


def _optimizer(model, lib):
    """nanoGPT's two groups (decay on matrices and embeddings only) for every model."""
    if hasattr(model, "configure_optimizers"):
        return model.configure_optimizers(WEIGHT_DECAY, LEARNING_RATE, BETAS)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": rest, "weight_decay": 0}]
    return lib.optim.AdamW(groups, lr=LEARNING_RATE, betas=BETAS)


def initial_weights() -> dict[str, np.ndarray]:
    """tinygpt.gpt.GPT's seeded initial weights (nanoGPT names), shared by every model."""
    import tinygpt as tg
    from tinygpt.gpt import GPT, GPTConfig

    tg.manual_seed(SEED)
    model = GPT(GPTConfig(**_gpt_config()))
    return {name: t.numpy() for name, t in model.state_dict().items()}


def batches(rounds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    train, _ = load_data(None)
    rng = np.random.default_rng(SEED)
    out = []
    for _ in range(rounds):
        starts = rng.integers(0, len(train) - SHAPE.block_size - 1, size=BATCH)
        windows = np.stack([train[s : s + SHAPE.block_size + 1] for s in starts])
        out.append((windows[:, :-1].copy(), windows[:, 1:].copy()))
    return out


# --- measuring ----------------------------------------------------------------------------
def time_alternating(runners: list[Runner]) -> dict[str, float]:
    """Median seconds per step of each runner; round r steps every runner once, in turn."""
    data = batches(ARGS.warmup + ARGS.rounds)
    times: dict[str, list[float]] = {r.label: [] for r in runners}
    for index, (x, y) in enumerate(data):
        for runner in runners:
            started = time.perf_counter()
            runner.step(x, y)
            if index >= ARGS.warmup:
                times[runner.label].append(time.perf_counter() - started)
    return {label: statistics.median(values) for label, values in times.items()}


def fallbacks(runner: Runner) -> list[str]:
    """The composite fallbacks `tg.profile()` records during one training step."""
    tg = runner.lib
    x, y = batches(1)[0]
    with tg.profile(show=False) as prof:
        runner.step(x, y)
    return [f"{row.op}: {row.reason}" for row in prof.fallbacks()]


def peak_memory_mb(framework: str, device: str, model_name: str) -> float | None:
    """Peak memory held during 2 training steps (after a first one), in a fresh process."""
    if framework != "tinygpt":
        return None  # PyTorch's CPU allocator reports nothing comparable
    argv = [sys.executable, __file__, "--memory-worker", device, model_name]
    argv += ["--threads", str(ARGS.threads)]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"memory run {device} {model_name} failed:", done.stderr[-500:], file=sys.stderr)
        return None
    return float(done.stdout.strip().splitlines()[-1])


def memory_worker(device: str, model_name: str) -> int:
    """Print the peak MB of live arrays over steps 2 and 3: model, gradients, optimizer
    state and activations. The cpu backend counts its live buffers itself (its block cache
    hides them from the resident set); NumPy's arrays are seen by tracemalloc."""
    tracemalloc.start()
    runner = Runner("tinygpt", device, model_name, initial_weights())
    data = batches(3)
    runner.step(*data[0])  # optimizer state exists from here on
    counter = _cpu_buffers() if device == "cpu" else None
    if counter is not None:
        counter.reset_peak()
    tracemalloc.reset_peak()
    for x, y in data[1:]:
        runner.step(x, y)
    if counter is not None:
        peak = counter.cache_info()["peak_live_bytes"]
    else:
        peak = tracemalloc.get_traced_memory()[1]
    print(peak / 2**20)
    return 0


def _cpu_buffers():
    try:
        from tinygpt_backend_cpu import buffer
    except ImportError:
        return None
    return buffer


# --- the run --------------------------------------------------------------------------------
def tinygpt_backends() -> list[str]:
    import tinygpt as tg

    names = [info.name for info in tg.backends() if info.available]
    if ARGS.backends:
        return [n for n in names if n in ARGS.backends]
    if "pure" in names:
        # the pure-Python example backend spends minutes on one forward pass of this shape
        print(
            "pure: skipped (pure-Python example backend; --backend pure runs it)", file=sys.stderr
        )
    return [n for n in names if n != "pure"]


def torch_available() -> bool:
    if ARGS.no_torch:
        return False
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def simd_level() -> str:
    try:
        import tinygpt_backend_cpu.runtime as runtime
    except ImportError:
        return "n/a (cpu backend not installed)"
    return str(runtime.simd_variant())


def main() -> int:
    if ARGS.memory_worker:
        return memory_worker(*ARGS.memory_worker)
    weights = initial_weights()
    models = [*BASELINES.values(), *VARIANTS]
    runners = [Runner("tinygpt", d, m, weights) for d in tinygpt_backends() for m in models]
    if torch_available():
        runners += [Runner("torch", "cpu", m, weights) for m in VARIANTS]
    print(f"timing {len(runners)} models, {ARGS.rounds} rounds ...", file=sys.stderr)
    seconds = time_alternating(runners)
    rows = []
    for runner in runners:
        row = {
            "framework": runner.framework,
            "device": runner.device,
            "model": runner.model_name,
            "tokens_per_s": BATCH * SHAPE.block_size / seconds[runner.label],
            "fallbacks": fallbacks(runner) if runner.framework == "tinygpt" else [],
        }
        if not ARGS.no_memory:
            row["peak_mb"] = peak_memory_mb(runner.framework, runner.device, runner.model_name)
        rows.append(row)
    report(rows)
    RESULTS.parent.mkdir(exist_ok=True)
    meta = {"args": vars(ARGS), "simd": simd_level(), "batch": BATCH, "shape": vars(SHAPE)}
    RESULTS.write_text(json.dumps({**meta, "results": rows}, indent=2))
    return 0


def report(rows: list[dict]) -> None:
    print(
        f"\nuser-style GPT vs tinygpt.gpt.GPT: L{SHAPE.n_layer} H{SHAPE.n_head} "
        f"C{SHAPE.n_embd} T{SHAPE.block_size} B{BATCH}, {ARGS.threads} thread(s), "
        f"{ARGS.rounds} alternating rounds, medians; cpu SIMD level: {simd_level()}\n"
    )
    print("| backend | model | tokens/s | vs GPT | vs torch | peak MB | vs GPT | fallbacks |")
    print("|---|---|---|---|---|---|---|---|")
    torch_speed = {r["model"]: r["tokens_per_s"] for r in rows if r["framework"] == "torch"}
    for row in rows:
        base = next(
            (
                r
                for r in rows
                if r["framework"] == "tinygpt"
                and r["device"] == row["device"]
                and r["model"] == BASELINES[_has_bias(row["model"])]
            ),
            None,
        )
        speed = _ratio(row["tokens_per_s"], base and base["tokens_per_s"])
        vs_torch = _ratio(row["tokens_per_s"], torch_speed.get(row["model"]))
        if row["framework"] == "torch":
            speed = vs_torch = "-"
        peak = row.get("peak_mb")
        memory = _ratio(peak, base and base.get("peak_mb")) if row["framework"] != "torch" else "-"
        where = "torch" if row["framework"] == "torch" else row["device"]
        print(
            f"| {where} | {row['model']} | {row['tokens_per_s']:,.0f} | {speed} | {vs_torch} | "
            f"{'-' if peak is None else f'{peak:.1f}'} | {memory} | "
            f"{'; '.join(row['fallbacks']) or 'none'} |"
        )


def _has_bias(model_name: str) -> bool:
    if model_name in VARIANTS:
        return VARIANTS[model_name]["bias"]
    return model_name == BASELINES[True]


def _ratio(value: float | None, reference: float | None) -> str:
    if value is None or not reference:
        return "-"
    return f"{value / reference:.2f}x"


if __name__ == "__main__":
    sys.exit(main())
