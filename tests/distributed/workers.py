"""Programs the distributed tests run under `mpiexec -n N python workers.py MODE OUT ...`.

Each mode writes what it saw into the folder OUT (one file per rank), and the test reads it.
Run with N = 1 and no mpiexec, a mode is the one-process reference.

Modes:
- collectives DEVICE: all_reduce (sum, mean, max; dense, strided, offset, async), broadcast,
  all_gather, barrier; `collectives-hostcopy` does the same with the backend's
  export_buffer removed (the host-copy path).
- train DEVICE STEPS MICRO: a nano GPT, STEPS AdamW steps on a global batch of MICRO
  micro-batches, rank r taking micro-batches r, r + N, ... (DistributedDataParallel).
- timeout: rank 1 skips a collective; rank 0 must raise, not hang.
- fail: rank 1 raises inside a TrainingGroup; every rank must end.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import numpy as np

import tinygpt as tg
import tinygpt.distributed as dist
from tinygpt import optim
from tinygpt.gpt import GPT, GPTConfig
from tinygpt.nn.parallel import DistributedDataParallel

BATCH, BLOCK, VOCAB = 2, 16, 40


def collectives(device: str, out: Path) -> None:
    r, n = dist.rank(), dist.world_size()
    seen: dict[str, object] = {}
    x = tg.arange(6, device=device).float() + 10.0 * r
    dist.all_reduce(x)
    seen["sum"] = x.tolist()
    # a transposed view (strided) and a slice at an offset, reduced in place
    base = (tg.arange(6, device=device).float() * (r + 1)).reshape(2, 3)
    dist.all_reduce(base.T, op="mean")
    seen["mean_strided"] = base.tolist()
    wide = tg.zeros(8, device=device) + float(r + 1)
    dist.all_reduce(wide[2:5], op="max")
    seen["max_offset"] = wide.tolist()
    ints = tg.tensor([r, 2 * r], dtype=tg.int64, device=device)
    work = dist.all_reduce(ints, async_op=True)
    work.wait()
    seen["int_async"] = ints.tolist()
    z = tg.full((3,), float(r), device=device)
    dist.broadcast(z, src=n - 1)
    seen["broadcast"] = z.tolist()
    gathered = dist.all_gather(tg.tensor([r, 10 * r], device=device))
    seen["gather"] = gathered.tolist()
    seen["gather_shape"] = list(gathered.shape)
    dist.barrier()
    (out / f"collectives.{r}.json").write_text(json.dumps(seen))


def without_export(device: str) -> None:
    """Make `device`'s backend look like one without export_buffer (the host-copy path)."""
    backend = tg.get_backend(tg.device(device))

    def refuse(buffer: object) -> object:
        raise NotImplementedError("no export in this test")

    backend.export_buffer = refuse  # type: ignore[method-assign]


def batches(step: int, micro: int) -> tuple[np.ndarray, np.ndarray]:
    """The token ids of one micro-batch, the same on every rank and in the reference."""
    rng = np.random.default_rng([step, micro])
    ids = rng.integers(0, VOCAB, size=(BATCH, BLOCK + 1))
    return ids[:, :-1], ids[:, 1:]


def train(device: str, steps: int, micro_batches: int, out: Path) -> None:
    r, n = dist.rank(), dist.world_size()
    tg.manual_seed(0)
    config = GPTConfig(
        n_layer=2, n_head=2, n_embd=32, block_size=BLOCK, vocab_size=VOCAB, dropout=0.0
    )
    model = GPT(config).to(device)
    # a bucket cap of 16 KiB gives this tiny model several buckets: overlap and order matter
    ddp = DistributedDataParallel(model, bucket_cap_mb=1 / 64, reduce_op="sum")
    optimizer = optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    by_hooks = False
    for step in range(steps):
        mine = list(range(r, micro_batches, n))
        for micro in mine:
            x, y = (tg.tensor(a, dtype=tg.int64, device=device) for a in batches(step, micro))
            _, loss = ddp(x, y)
            context = ddp.no_sync() if micro != mine[-1] else contextlib.nullcontext()
            with context:
                (loss * (1.0 / micro_batches)).backward()
        # with gradient hooks in core, backward itself reduced every bucket already
        by_hooks = ddp._reduced
        ddp.synchronize()
        optimizer.step()
        optimizer.zero_grad()
    tg.save(model.state_dict(), out / f"weights.{r}.safetensors")
    facts = {"reduced_by_hooks": by_hooks, "buckets": len(ddp.buckets)}
    (out / f"facts.{r}.json").write_text(json.dumps(facts))


def timeout(out: Path) -> None:
    x = tg.ones(4)
    if dist.rank() == 0:
        try:
            dist.all_reduce(x)
        except dist.DistributedError as error:
            (out / "timeout.0.txt").write_text(str(error))
    # rank 1 skips the collective and exits


def fail(out: Path) -> None:
    from tinygpt.gpt.config import TrainConfig
    from tinygpt.gpt.launch import TrainingGroup

    with TrainingGroup.join(TrainConfig(grad_accum=dist.world_size())) as group:
        if group.rank == 1:
            raise RuntimeError("rank 1 fails on purpose")
        dist.all_reduce(tg.ones(4))  # rank 0 waits here for a rank that will never come
    (out / "fail.0.txt").write_text("rank 0 was not stopped")


def main(argv: list[str]) -> None:
    mode, out = argv[0], Path(argv[1])
    dist.init()
    if mode == "collectives":
        collectives(argv[2], out)
    elif mode == "collectives-hostcopy":
        without_export(argv[2])
        collectives(argv[2], out)
    elif mode == "train":
        train(argv[2], int(argv[3]), int(argv[4]), out)
    elif mode == "timeout":
        timeout(out)
    elif mode == "fail":
        fail(out)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
