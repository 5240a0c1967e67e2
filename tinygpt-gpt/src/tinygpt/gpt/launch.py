"""`tinygpt train --nproc N`: data-parallel training in N processes over MPI.

`--nproc N` re-runs the same command under `mpiexec -n N` (MPICH's, from the [mpi] extra of
tinygpt-core); `mpiexec -n N tinygpt train ...` started by hand or by a cluster's scheduler
works the same way. Each step's global batch is `grad_accum` micro-batches, exactly as in
one process; rank r computes the micro-batches m with m % N == r, and
`DistributedDataParallel` sums their gradients over the ranks. Every rank then takes the
same AdamW step, so the weights stay identical everywhere, and equal to one process's (bit
for bit with 2 ranks: a + b is the same sum in either order).

Rank 0 alone writes: the log, the progress bar, metrics, checkpoints, samples. It also
decides when to stop (step limit, time budget, Ctrl-C) and tells the others each step.
Resuming works with any N that divides `grad_accum`: the checkpoint does not depend on N.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tinygpt as tg
import tinygpt.distributed as dist
from tinygpt.nn.parallel import DistributedDataParallel

from .config import ConfigError, TrainConfig

__all__ = ["TrainingGroup", "relaunch", "follow", "STOP_REASONS"]

#: why a run stops, as codes rank 0 broadcasts (index 0: keep going)
STOP_REASONS = (None, "max_steps", "interrupted", "time_budget")


class TrainingGroup:
    """This process's part in a (possibly one-process) training run."""

    _current: TrainingGroup | None = None

    def __init__(self, grad_accum: int) -> None:
        dist.init()
        self.rank = dist.rank()
        self.size = dist.world_size()
        if grad_accum % self.size != 0:
            raise ConfigError(
                f"--grad-accum {grad_accum} micro-batches cannot be shared by {self.size} "
                f"processes; use a --grad-accum that is a multiple of {self.size}"
            )
        self.ddp: DistributedDataParallel | None = None

    @classmethod
    def join(cls, config: TrainConfig) -> TrainingGroup:
        """The group of this run (checks that `config.grad_accum` splits over the ranks)."""
        cls._current = cls(config.grad_accum)
        return cls._current

    @classmethod
    def current(cls) -> TrainingGroup:
        return cls._current if cls._current is not None else cls(1)

    @property
    def is_writer(self) -> bool:
        return self.rank == 0

    def __enter__(self) -> TrainingGroup:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: Any
    ) -> None:
        """A rank that fails stops them all: the others would wait for it in a collective."""
        if error is None or self.size == 1:
            return
        status = 2 if isinstance(error, (ConfigError, tg.TinyGPTError)) else 1
        if isinstance(error, KeyboardInterrupt):
            status = 130
        print(f"tinygpt train (rank {self.rank}): error: {error}", file=sys.stderr, flush=True)
        dist.abort(status)

    def pick_device(self, device: Any) -> Any:
        """One GPU per rank on a machine: cuda:<local rank>; other devices as they are."""
        if self.size == 1 or device.type != "cuda":
            return device
        return tg.device(f"cuda:{dist.local_rank()}")

    def attach(self, model: Any) -> None:
        """Wrap `model` for gradient reduction (broadcasts rank 0's weights)."""
        if self.size > 1:
            self.ddp = DistributedDataParallel(model, reduce_op="sum")

    def micro_batches(self, grad_accum: int) -> range:
        """The micro-batch indices of this rank: r, r + N, r + 2N, ..."""
        return range(self.rank, grad_accum, self.size)

    @contextlib.contextmanager
    def accumulating(self, micro: int, grad_accum: int) -> Iterator[None]:
        """Around a backward: no allreduce unless it is this rank's last micro-batch."""
        last = micro + self.size >= grad_accum
        if self.ddp is None or last:
            yield
            return
        with self.ddp.no_sync():
            yield

    def synchronize(self) -> None:
        """After the step's backwards: every rank holds the summed gradients."""
        if self.ddp is not None:
            self.ddp.synchronize()

    def sum_loss(self, total: tg.Tensor) -> tg.Tensor:
        """The sum of the step's micro-batch losses over all ranks (a 0-d tensor)."""
        if self.size == 1:
            return total
        total = total.clone()
        dist.all_reduce(total, op="sum")
        return total

    def agree(self, reason: str | None) -> str | None:
        """Rank 0's stop decision, on every rank (one tiny broadcast per step)."""
        if self.size == 1:
            return reason
        code = tg.tensor([STOP_REASONS.index(reason) if self.is_writer else 0], dtype=tg.int64)
        dist.broadcast(code, src=0)
        return STOP_REASONS[int(code.item())]


def relaunch(args: argparse.Namespace, flags: list[tuple[str, Any, str]]) -> int | None:
    """Run this `tinygpt train` under `mpiexec -n args.nproc`; None to train right here."""
    nproc = args.nproc
    if nproc < 1:
        raise ConfigError(f"--nproc {nproc}: give a number of processes >= 1")
    launched = dist.launched_world_size()
    if launched > 1:  # already under mpiexec: train here, with the size we were given
        if launched != nproc:
            raise ConfigError(f"--nproc {nproc}, but mpiexec started {launched} processes")
        return None
    if nproc == 1:
        return None
    command = [_mpiexec(), "-n", str(nproc), sys.executable, "-m", "tinygpt", "train"]
    command += _train_argv(args, flags)
    env = dict(os.environ)
    # one share of the cores each: N ranks with all cores each would fight over them
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # mpiexec passes Ctrl-C on
    try:
        code = subprocess.call(command, env=env)
    finally:
        signal.signal(signal.SIGINT, previous)
    if code not in (0, 2, 130):
        print(
            f"tinygpt train: error: a rank of the {nproc} processes failed (mpiexec exit "
            f"status {code}); its traceback is above. Fix it, then continue with "
            "tinygpt train --resume RUN (any --nproc that divides --grad-accum)",
            file=sys.stderr,
        )
    return code


def _mpiexec() -> str:
    """MPICH's mpiexec next to this Python (the [mpi] extra), else the one on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.is_file() else shutil.which("mpiexec")
    if found is None:
        raise ConfigError(f"--nproc needs mpiexec: {dist.MPI_MISSING}")
    try:
        import mpi4py  # noqa: F401 - only checking that the ranks will find it
    except ImportError:
        raise ConfigError(f"--nproc needs {dist.MPI_MISSING}") from None
    return found


def _train_argv(args: argparse.Namespace, flags: list[tuple[str, Any, str]]) -> list[str]:
    """The command-line flags that produced `args`, without --nproc."""
    argv = []
    if args.resume is not None:
        argv += ["--resume", str(args.resume)]
    for name, _, _ in flags:
        value = getattr(args, name, None)
        if value is not None:
            argv += ["--" + name.replace("_", "-"), str(value)]
    return argv


def follow(config: TrainConfig, resume: str | Path | None, group: TrainingGroup) -> dict[str, Any]:
    """A rank other than 0: the same model and steps as rank 0, writing nothing."""
    from . import training
    from .resume import check_resumable, restore
    from .runs import resolve_run

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # rank 0 decides when to stop
    device = tg.device(config.device) if config.device else tg.default_device()
    device = group.pick_device(device)
    run_dir = resolve_run(resume) if resume is not None else None
    if run_dir is not None:
        check_resumable(config, run_dir)
    # NOTE: the tokenizer is rebuilt here from the same corpus and settings: deterministic,
    # so it equals rank 0's (a resumed run loads the saved one)
    _, tokenizer, data = training._load_data(config, run_dir)
    model_config = config.model_config(tokenizer.vocab_size)
    tg.manual_seed(config.seed)
    model = training.GPT(model_config).to(device)
    optimizer = training.make_optimizer(model, config)
    step = 0
    if run_dir is not None:
        step = restore(run_dir, config, model_config, model, optimizer, device)[0]
    with open(os.devnull, "w") as quiet:
        loop = training._Loop(config, model, optimizer, data, device, None, None, quiet)
        stopped: str | None = "max_steps"
        # the same loop condition as rank 0's, which broadcasts any other reason to stop
        while step < config.max_steps:
            reason = group.agree(None)
            if reason is not None:
                stopped = reason
                break
            loop._step(step)
            step += 1
    return {"step": step, "stopped": stopped, "rank": group.rank}
