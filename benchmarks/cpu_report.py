"""One report of the cpu backend against PyTorch at its best, per machine, in one run.

    python benchmarks/cpu_report.py                       # 1 and 2 threads, baby and medium
    python benchmarks/cpu_report.py --threads 1 --quick   # a quick look
    TINYGPT_CPU_SIMD=avx2 python benchmarks/cpu_report.py # the AVX2 build on an AVX-512 CPU
    nox -s bench -- --with-torch                          # runs this too

What it measures, all float32, every ratio from runners that take turns in the same process:

- GEMM peak: the best GFLOP/s of a 1024 x 1024 x 1024 product, tinygpt's cpu matmul or
  torch.mm, whichever is faster, fastest run, before and after each config, at each thread
  count: the machine's practical limit;
- training: tinygpt.gpt.GPT (cpu backend, and numpy on the baby config) next to PyTorch at its
  best (the same nanoGPT model with `F.scaled_dot_product_attention`, fused AdamW, same
  weights and batches), steps taken in turn (with several threads, after a pause that lets
  the previous framework's spinning thread pool go idle): tokens/s, the ratio, and MFU =
  model FLOPs per second (nanoGPT's 6N + 12 L C T per token) over that GEMM peak;
- decoding with the KV cache and per-op overhead: benchmarks/decode.py and
  benchmarks/per_op.py, run as they are, their summary lines kept.

The header names the CPU's SIMD level (`tinygpt_backend_cpu.runtime.simd_variant()`). Shared
machines are noisy: compare ratios, not absolute figures across runs.
"""

# ruff: noqa: E402  (torch and tinygpt are imported after the thread variables are set)

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

#: name -> (n_layer, n_head, n_embd, block_size, batch_size)
CONFIGS = {"baby": (4, 4, 128, 64, 12), "medium": (6, 6, 384, 256, 16)}
VOCAB = 65
GOALS = {"baby": 1.5, "medium": 1.2}  # issue 22's training goals (ratio to PyTorch)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="thread counts, comma separated")
    parser.add_argument("--configs", default="baby,medium", help="training configs")
    parser.add_argument("--rounds", type=int, default=0, help="timed steps (default per config)")
    parser.add_argument("--quick", action="store_true", help="few steps, baby only")
    parser.add_argument("--no-decode", action="store_true", help="skip decode.py and per_op.py")
    return parser.parse_args()


ARGS = parse_args()
import numpy as np
import torch

import tinygpt as tg

sys.path.insert(0, str(HERE))
from user_gpt_model import UserConfig, gpt_class  # noqa: E402


def simd_level() -> str:
    tg.ones(1, device="cpu")  # loads the compiled kernels
    import tinygpt_backend_cpu.runtime as runtime

    return runtime.simd_variant()


def set_threads(n: int) -> None:
    torch.set_num_threads(n)
    tg.set_num_threads(n)


def gemm_peak(n: int = 1024) -> tuple[float, str]:
    """Best GFLOP/s of an n^3 product among tinygpt's cpu matmul and torch.mm (the fastest
    of several runs: a ceiling, which a neighbour's burst of load can only lower)."""
    host = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    a_tg, a_th = tg.tensor(host, device="cpu"), torch.from_numpy(host)
    runs = {"tinygpt": lambda: (a_tg @ a_tg).numpy(), "torch": lambda: torch.mm(a_th, a_th)}
    best, who = 0.0, ""
    for name, run in runs.items():
        run()
        times = []
        for _ in range(3 if ARGS.quick else 7):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        rate = 2 * n**3 / min(times) / 1e9  # a ceiling: the best run, not the typical
        if rate > best:
            best, who = rate, name
    return best, who


def flops_per_token(config: tuple[int, ...], params: int) -> float:
    """nanoGPT's estimate: 6 per parameter (forward + backward) + attention's 12 L C T."""
    n_layer, _, n_embd, block, _ = config
    return 6.0 * params + 12.0 * n_layer * n_embd * block


def two_groups(model: Any) -> list[dict[str, Any]]:
    """nanoGPT's AdamW groups: weight decay on matrices and embeddings only."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    return [{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}]


class Trainer:
    """One framework's model, optimizer and step on numpy batches."""

    def __init__(self, kind: str, config: tuple[int, ...], weights: dict[str, np.ndarray]):
        n_layer, n_head, n_embd, block, _ = config
        self.kind = kind
        if kind == "torch":
            user = UserConfig(block, VOCAB, n_layer, n_head, n_embd, 0.0, True, "tanh", True)
            self.model = gpt_class(torch)(user)
            self.model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
            groups = two_groups(self.model)
            try:  # fused AdamW on the CPU where this torch has it, else foreach
                self.optimizer = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99), fused=True)
            except (RuntimeError, TypeError, ValueError):
                self.optimizer = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99), foreach=True)
        else:
            from tinygpt.gpt import GPT

            self.model = GPT(gpt_config(config)).to(kind)
            self.model.load_state_dict({k: tg.tensor(v) for k, v in weights.items()})
            groups = two_groups(self.model)
            self.optimizer = tg.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99))
        self.lib = torch if kind == "torch" else tg

    def step(self, x: np.ndarray, y: np.ndarray) -> None:
        if self.kind == "torch":
            xb, yb = torch.from_numpy(x), torch.from_numpy(y)
        else:
            xb = tg.tensor(x, dtype=tg.int64, device=self.kind)
            yb = tg.tensor(y, dtype=tg.int64, device=self.kind)
        _, loss = self.model(xb, yb)
        loss.backward()
        self.lib.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        loss.item()  # one host read per step, as a training loop logs it


def gpt_config(config: tuple[int, ...]) -> Any:
    from tinygpt.gpt import GPTConfig

    n_layer, n_head, n_embd, block, _ = config
    return GPTConfig(
        block_size=block,
        vocab_size=VOCAB,
        n_layer=n_layer,
        n_head=n_head,
        n_embd=n_embd,
        dropout=0.0,
    )


def initial_weights(config: tuple[int, ...]) -> tuple[dict[str, np.ndarray], int]:
    from tinygpt.gpt import GPT

    tg.manual_seed(0)
    model = GPT(gpt_config(config))
    params = sum(p.numel() for p in model.parameters()) - model.transformer.wpe.weight.numel()
    return {k: v.numpy() for k, v in model.state_dict().items()}, params


def train_rates(name: str, threads: int) -> dict[str, float]:
    """tokens/s of each trainer on `name`, steps taken in turn."""
    config = CONFIGS[name]
    block, batch = config[3], config[4]
    weights, _ = initial_weights(config)
    kinds = ["cpu", "torch"] + (["numpy"] if name == "baby" else [])
    trainers = [Trainer(kind, config, weights) for kind in kinds]
    rounds = ARGS.rounds or (3 if ARGS.quick else 20 if name == "baby" else 4)
    rng = np.random.default_rng(1)
    times: dict[str, list[float]] = {t.kind: [] for t in trainers}
    for index in range(rounds + 1):  # the first round warms up
        x = rng.integers(0, VOCAB, (batch, block))
        y = rng.integers(0, VOCAB, (batch, block))
        for trainer in trainers:
            if threads > 1:
                # the previous framework's thread pool spins for a while after its step
                # (OpenBLAS ~0.1 s); on a 2-core machine those spinning threads would take
                # this step's cores: let them go idle first
                time.sleep(0.3)
            started = time.perf_counter()
            trainer.step(x, y)
            if index > 0:
                times[trainer.kind].append(time.perf_counter() - started)
    return {kind: batch * block / statistics.median(t) for kind, t in times.items()}


def script_summary(script: str, threads: int, keep: tuple[str, ...]) -> list[str]:
    """Run a sibling benchmark as it is; keep the lines that summarise it."""
    args = [sys.executable, str(HERE / script), "--threads", str(threads)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        return [f"{script} failed: {done.stderr.strip()[-300:]}"]
    return [line for line in done.stdout.splitlines() if line.startswith(keep)]


def main() -> int:
    configs = ["baby"] if ARGS.quick else ARGS.configs.split(",")
    thread_counts = [int(t) for t in ARGS.threads.split(",")]
    load = os.getloadavg()[0]
    print(
        f"cpu backend vs PyTorch {torch.__version__} at its best (SDPA, fused AdamW); "
        f"SIMD level: {simd_level()}; load average {load:.2f}"
    )
    print(
        "\n| threads | config | GEMM peak GFLOP/s | cpu tok/s | torch tok/s | cpu/torch | goal "
        "| cpu MFU | torch MFU | numpy/torch |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    single: dict[str, float] = {}
    for threads in thread_counts:
        set_threads(threads)
        peak, _ = gemm_peak()
        for name in configs:
            rates = train_rates(name, threads)
            peak = max(peak, gemm_peak()[0])  # measured again after: the higher ceiling
            _, params = initial_weights(CONFIGS[name])
            per_token = flops_per_token(CONFIGS[name], params)
            ratio = rates["cpu"] / rates["torch"]
            numpy_ratio = f"{rates['numpy'] / rates['torch']:.2f}x" if "numpy" in rates else "-"
            print(
                f"| {threads} | {name} | {peak:.0f} | {rates['cpu']:,.0f} | "
                f"{rates['torch']:,.0f} | {ratio:.2f}x | {GOALS[name]:.1f}x | "
                f"{rates['cpu'] * per_token / peak / 1e9:.0%} | "
                f"{rates['torch'] * per_token / peak / 1e9:.0%} | {numpy_ratio} |",
                flush=True,
            )
            if threads == thread_counts[0]:
                single[name] = rates["cpu"]
            elif name in single:
                print(
                    f"|  | {name}: {threads} threads / {thread_counts[0]}: "
                    f"{rates['cpu'] / single[name]:.2f}x (goal 1.6x on medium) |"
                )
    if not ARGS.no_decode:
        for threads in thread_counts[:1]:
            print(f"\ndecoding with the KV cache (benchmarks/decode.py, {threads} thread):")
            for line in script_summary("decode.py", threads, ("|", "baby", "medium")):
                print(line)
            print(f"\nper-op overhead (benchmarks/per_op.py, {threads} thread):")
            for line in script_summary("per_op.py", threads, ("cpu:", "numpy:", "per-op")):
                print(line)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
