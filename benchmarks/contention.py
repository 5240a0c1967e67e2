"""Training speed on shared cores: ms/step quiet, and with one competing CPU-bound process.

For each backend (and each thread setting), one worker process builds the README's default
model (preset `micro`, batch 12, block 64) and trains it; in each round the parent asks every
worker in turn for a median ms/step, then starts a competing process (a Python busy loop) and
asks every worker again, so that all settings, quiet and busy, see the same machine even when
its load drifts. The ratio
busy/quiet is what a user sees when something else runs next to `tinygpt train`.

    python benchmarks/contention.py                      # numpy and cpu, tinygpt's defaults
    python benchmarks/contention.py --before             # ...and the settings before the fix
    python benchmarks/contention.py --setting cpu:1t:TINYGPT_THREADS=1

Settings are `backend:label[:ENV=VALUE,ENV=VALUE]`. `--before` adds each backend with the
thread settings tinygpt used before it managed them itself: every core, always
(TINYGPT_THREADS=<cores>), with libgomp's and OpenBLAS's own spinning waits.
NOTE: measure on a machine with nothing else running; on a busy one the ratios of one run
are still comparable with each other, the absolute numbers are not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

__all__ = ["main"]

#: a competing process: one core's worth of pure-Python work, as a neighbour's job would be
COMPETITOR = "while True: pass"

#: seconds between starting or stopping the competitor and measuring: more than the thread
#: governor's one-second interval (tinygpt.backend.threads), as a long training run sees it
SETTLE = 1.2

#: before tinygpt chose its thread counts: every core, always (libgomp's and OpenBLAS's own
#: defaults, which spin while they wait for work)
BEFORE = {"TINYGPT_THREADS": str(os.cpu_count() or 1)}


def worker(device: str, warmup: int) -> None:
    """Train the default model on `device`; for each line "N" on stdin, run N steps and
    print their median ms/step."""
    import numpy as np

    import tinygpt as tg
    from tinygpt import nn, optim
    from tinygpt.gpt import GPT, GPTConfig

    tg.manual_seed(0)
    config = GPTConfig.preset("micro", vocab_size=128)
    model = GPT(config).to(device)
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    batch, block = 12, config.block_size

    def step() -> float:
        ids = rng.integers(0, config.vocab_size, size=(batch, block + 1))
        x = tg.tensor(ids[:, :-1], device=device)
        y = tg.tensor(ids[:, 1:], device=device)
        started = time.perf_counter()
        _, loss = model(x, y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        loss.item()  # waits for the device
        return time.perf_counter() - started

    for _ in range(warmup):
        step()
    print("ready", flush=True)
    for line in sys.stdin:
        # unmeasured steps for longer than the thread governor's interval, so that it has
        # measured the machine as it is now (not while another worker was running)
        settled = time.perf_counter() + SETTLE
        while time.perf_counter() < settled:
            step()
        times = [step() for _ in range(int(line))]
        print(f"{statistics.median(times) * 1e3:.2f}", flush=True)


class Worker:
    """A worker process and the two-line conversation with it."""

    def __init__(self, device: str, env: dict[str, str], warmup: int) -> None:
        full_env = {**os.environ, **env}
        command = [sys.executable, __file__, "--worker", device, "--warmup", str(warmup)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=full_env
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline().strip()
        if ready != "ready":
            raise RuntimeError(f"worker for {device} failed to start ({ready!r})")

    def measure(self, steps: int) -> float:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{steps}\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


def measure(
    settings: list[tuple[str, str, dict[str, str]]], steps: int, rounds: int
) -> list[tuple[float, float]]:
    """(quiet, busy) median ms/step per setting. Every round measures each setting's worker
    quiet, then starts the competitor and measures each busy: all settings see the same
    machine, whatever else it runs."""
    workers = [Worker(device, env, warmup=5) for device, _, env in settings]
    quiet: list[list[float]] = [[] for _ in workers]
    busy: list[list[float]] = [[] for _ in workers]
    try:
        for _ in range(rounds):
            for i, work in enumerate(workers):
                quiet[i].append(work.measure(steps))
            competitor = subprocess.Popen([sys.executable, "-c", COMPETITOR])
            try:
                time.sleep(SETTLE)
                for i, work in enumerate(workers):
                    busy[i].append(work.measure(steps))
            finally:
                competitor.kill()
                competitor.wait()
            time.sleep(SETTLE)
    finally:
        for work in workers:
            work.close()
    return [(statistics.median(q), statistics.median(b)) for q, b in zip(quiet, busy)]


def parse_setting(text: str) -> tuple[str, str, dict[str, str]]:
    """'cpu:1t:TINYGPT_THREADS=1' -> ('cpu', '1t', {'TINYGPT_THREADS': '1'})."""
    parts = text.split(":", 2)
    if len(parts) < 2:
        raise argparse.ArgumentTypeError(f"not backend:label[:ENV=VALUE,...]: {text!r}")
    env = dict(item.split("=", 1) for item in parts[2].split(",")) if len(parts) == 3 else {}
    return parts[0], parts[1], env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=5, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=8, help="steps per round (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="quiet/busy rounds (default 3)")
    parser.add_argument("--backends", default="numpy,cpu", help="default: numpy,cpu")
    parser.add_argument("--before", action="store_true", help="also the settings before")
    parser.add_argument("--setting", type=parse_setting, action="append", default=[])
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.warmup)
        return 0
    from tinygpt.backend import registry

    available = {row.name for row in registry.backends() if row.available}
    settings = list(args.setting)
    for name in args.backends.split(","):
        if name not in available:
            print(f"skipping {name}: not available here (python -m tinygpt backends)")
            continue
        if not args.setting:
            settings.append((name, "default", {}))
            if args.before:
                settings.append((name, "before", BEFORE))
    print(f"{os.cpu_count()} cores; micro preset, batch 12 x 64 tokens; median ms/step")
    header = f"{'backend':<8} {'setting':<10} {'quiet':>9} {'busy':>9} {'busy/quiet tok/s':>17}"
    print(header)
    for (device, label, _), (quiet, busy) in zip(
        settings, measure(settings, args.steps, args.rounds)
    ):
        print(f"{device:<8} {label:<10} {quiet:>9.1f} {busy:>9.1f} {quiet / busy:>17.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
