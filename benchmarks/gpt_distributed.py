"""Data-parallel training speed: tokens/s at 1 and 2 ranks, scaling efficiency, allreduce time.

    python benchmarks/gpt_distributed.py                 # cpu backend, 1 and 2 ranks, 30 steps
    python benchmarks/gpt_distributed.py --backend numpy --steps 10 --ranks 1 2 4

The workload is nanoGPT's CPU "baby" model (n_layer=4, n_head=4, n_embd=128, block_size=64,
vocab 65) with AdamW; each rank trains on its own micro-batch of 12 sequences per step
(weak scaling: N ranks process N times the tokens per step), one thread per rank
(OMP_NUM_THREADS=1), started by MPICH's mpiexec (tinygpt-core's [mpi] extra).

Reported per rank count, from rank 0, medians over the steps after 3 warm-up steps:
- step time and tokens/s (N * 12 * 64 tokens per step);
- scaling efficiency: tokens/s(N) / (N * tokens/s(1)); 1.0 is perfect;
- backward: the time of loss.backward(), which includes the bucket allreduces that gradient
  hooks start and finish during backward (compare 1 and 2 ranks for their cost);
- sync wait: the time DistributedDataParallel.synchronize() blocks after backward (the
  reductions backward did not finish itself);
- allreduce: one all_reduce of a flat float32 buffer the size of all gradients, timed alone.
Results go to benchmarks/results/gpt_distributed.json. Needs `pip install "./tinygpt-core[mpi]"`.
"""

# ruff: noqa: E402  (tinygpt is imported after the thread variables are set)

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np

RESULTS = Path(__file__).parent / "results" / "gpt_distributed.json"
BATCH, BLOCK, VOCAB, WARMUP = 12, 64, 65, 3


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="cpu", help="tinygpt device (default cpu)")
    parser.add_argument("--steps", type=int, default=30, help="timed steps + 3 warm-up")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="rank counts")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def worker(backend: str, steps: int) -> dict[str, float]:
    """One rank's part; rank 0 returns the measurements."""
    import tinygpt as tg
    import tinygpt.distributed as dist
    from tinygpt import optim
    from tinygpt.gpt import GPT, GPTConfig
    from tinygpt.nn.parallel import DistributedDataParallel

    dist.init()
    rank = dist.rank()
    tg.manual_seed(0)
    config = GPTConfig(n_layer=4, n_head=4, n_embd=128, block_size=BLOCK, vocab_size=VOCAB)
    model = GPT(config).to(backend)
    ddp = DistributedDataParallel(model, reduce_op="mean")
    optimizer = optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(rank)
    step_times, waits, backwards = [], [], []
    for step in range(steps + WARMUP):
        ids = rng.integers(0, VOCAB, size=(BATCH, BLOCK + 1))
        x = tg.tensor(ids[:, :-1], dtype=tg.int64, device=backend)
        y = tg.tensor(ids[:, 1:], dtype=tg.int64, device=backend)
        started = time.perf_counter()
        _, loss = ddp(x, y)
        before_backward = time.perf_counter()
        loss.backward()
        before_sync = time.perf_counter()
        ddp.synchronize()
        waited = time.perf_counter() - before_sync
        optimizer.step()
        optimizer.zero_grad()
        tg.synchronize(backend)
        if step >= WARMUP:
            step_times.append(time.perf_counter() - started)
            waits.append(waited)
            backwards.append(before_sync - before_backward)
    numel = sum(p.numel() for p in model.parameters())
    flat = tg.zeros(numel, device=backend)
    allreduce = []
    for _ in range(10):
        dist.barrier()
        started = time.perf_counter()
        dist.all_reduce(flat)
        allreduce.append(time.perf_counter() - started)
    step_time = statistics.median(step_times)
    return {
        "ranks": dist.world_size(),
        "step_ms": step_time * 1e3,
        "tokens_per_s": dist.world_size() * BATCH * BLOCK / step_time,
        "backward_ms": statistics.median(backwards) * 1e3,
        "sync_wait_ms": statistics.median(waits) * 1e3,
        "allreduce_ms": statistics.median(allreduce) * 1e3,
        "gradient_mib": numel * 4 / 2**20,
    }


def run_ranks(ranks: int, backend: str, steps: int) -> dict[str, float]:
    mpiexec = Path(sys.executable).parent / "mpiexec"
    launcher = str(mpiexec) if mpiexec.is_file() else shutil.which("mpiexec")
    if launcher is None:
        raise SystemExit('no mpiexec: pip install "./tinygpt-core[mpi]"')
    command = [launcher, "-n", str(ranks), sys.executable, __file__, "--worker"]
    command += ["--backend", backend, "--steps", str(steps)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{ranks} ranks failed:\n{done.stderr}")
    line = [s for s in done.stdout.splitlines() if s.startswith("{")][0]
    return json.loads(line)


def main() -> int:
    args = parse_args()
    if args.worker:
        result = worker(args.backend, args.steps)
        import tinygpt.distributed as dist

        if dist.rank() == 0:
            print(json.dumps(result), flush=True)
        return 0
    rows = [run_ranks(n, args.backend, args.steps) for n in args.ranks]
    base = next((r for r in rows if r["ranks"] == 1), None)
    print(f"backend {args.backend}, {args.steps} steps, 1 thread per rank, {os.cpu_count()} CPUs")
    print("| ranks | step ms | tokens/s | efficiency | backward ms | sync wait ms | allreduce ms |")
    print("|------:|--------:|---------:|-----------:|------------:|-------------:|-------------:|")
    for r in rows:
        efficiency = (
            r["tokens_per_s"] / (r["ranks"] * base["tokens_per_s"]) if base else float("nan")
        )
        r["efficiency"] = efficiency
        print(
            f"| {r['ranks']} | {r['step_ms']:.1f} | {r['tokens_per_s']:.0f} | {efficiency:.2f} "
            f"| {r['backward_ms']:.1f} | {r['sync_wait_ms']:.2f} | {r['allreduce_ms']:.2f} |"
        )
    print(f"gradients: {rows[0]['gradient_mib']:.2f} MiB float32 per allreduce")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"backend": args.backend, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
