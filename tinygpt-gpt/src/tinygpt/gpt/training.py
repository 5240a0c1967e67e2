"""`train(config) -> metrics`: train a GPT on a corpus, in a run folder, resumably.

One step = `grad_accum` micro-batches of forward + backward, gradient clipping, one AdamW
update with the learning rate of nanoGPT's warm-up + cosine schedule. Every `eval_interval`
steps the validation loss is measured and the checkpoints are written (`last`, and `best`
when the loss improved); so are they when the run stops for any reason: the step limit,
the time budget, or Ctrl-C (which waits for the current step to finish).

Resuming is exact: every random choice of step s (the batch offsets, dropout masks) is
drawn from generators seeded by (seed, s), and the checkpoint holds the model, the
optimizer's moments and the step, so a resumed run computes the same losses, bit for bit
on the same backend, as one that never stopped. NOTE: the CPU backends' thread count follows
the machine's load (`tinygpt.backend.threads`); the default model's step gives the same bits on
any count (a test checks it), but some matmul shapes in OpenBLAS do not: `--threads N` fixes it.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import tinygpt as tg
from tinygpt import nn, optim

from ._files import describe_os_error, write_json_atomic
from .config import TrainConfig
from .corpus import DEFAULT_CORPUS, Corpus, load_corpus
from .data import TokenData, batch_offsets, get_batch, make_tokenizer
from .evaluation import estimate_loss
from .generate import generate
from .interrupt import StopFlag
from .launch import TrainingGroup, follow
from .lock import RunLock
from .metrics import MetricsLog
from .model import GPT
from .plot import plot_losses
from .progress import ProgressBar, format_duration, slow_stage
from .resume import RESUMABLE_FIELDS, check_resumable, restore, schedule_change
from .runs import (
    RunError,
    load_run_tokenizer,
    new_run_dir,
    resolve_run,
    save_checkpoint,
    update_latest,
)
from .tokenizers import Tokenizer

__all__ = ["train", "make_optimizer", "RESUMABLE_FIELDS", "sample_text"]


def make_optimizer(model: GPT, config: TrainConfig) -> optim.AdamW:
    """AdamW with two groups: weight decay for matrices (Linear weights, embeddings), none
    for biases and LayerNorm gains, which set scales and offsets rather than features."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return optim.AdamW(groups, lr=config.learning_rate, betas=(config.beta1, config.beta2))


def train(
    config: TrainConfig, resume: str | Path | None = None, log: TextIO | None = None
) -> dict[str, Any]:
    """Train (or, with `resume`, continue) a run; returns its final metrics as a dict.

    Progress goes to `log` (stderr by default). Raises ConfigError, CorpusError, RunError or
    tg.DeviceError for unusable settings, before any training starts and before anything in
    a resumed run's folder changes. The run folder is locked (lock.py) while it trains.
    """
    log = log if log is not None else sys.stderr
    device = tg.device(config.device) if config.device else tg.default_device()
    tg.get_backend(device)  # fail now, with the list of backends, if it cannot be used
    with contextlib.ExitStack() as held:
        # one process, or one rank of `mpiexec -n N` (launch.py): rank 0 alone writes
        group = held.enter_context(TrainingGroup.join(config))
        if not group.is_writer:
            return follow(config, resume, group)
        device = group.pick_device(device)
        run_dir = None
        if resume is not None:
            run_dir = resolve_run(resume)
            _lock(run_dir, held, log)  # before anything is read: no other trainer writes
            check_resumable(config, run_dir)
        what = f"{config.data or DEFAULT_CORPUS} and the {config.tokenizer} tokenizer"
        with slow_stage(f"preparing {what} ...", log):
            corpus, tokenizer, data = _load_data(config, run_dir)
        model_config = config.model_config(tokenizer.vocab_size)
        data.check_block_size(model_config.block_size, corpus.name)
        tg.manual_seed(config.seed)
        model = GPT(model_config).to(device)
        optimizer = make_optimizer(model, config)
        if run_dir is None:
            # only now, with every argument checked, is a run folder made: errors leave no litter
            run_dir = new_run_dir(config.out_dir, config.name)
            _lock(run_dir, held, log)
            tokenizer.save(run_dir / "tokenizer.json")
            start_step, best, change = 0, float("inf"), None
        else:
            start_step, best = restore(run_dir, config, model_config, model, optimizer, device)
            change = schedule_change(config, run_dir, start_step)  # config.json is still old
        # NOTE: every check has passed; only from here on does the run folder change
        try:
            metrics = MetricsLog(run_dir / "metrics.jsonl")
            if resume is not None:
                metrics.truncate_after(start_step)  # those steps will be redone
            saved = {"train": config.to_dict(), "model": model_config.to_dict()}
            write_json_atomic(run_dir / "config.json", {**saved, "corpus": corpus.name})
            # NOTE: `latest` moves only once this run has written a checkpoint (_evaluate), so
            # that `tinygpt sample` keeps working on the last good run until then
            summary = (
                f"run {run_dir}: {corpus.name} ({len(data.train):,} train / {len(data.val):,} "
                f"val tokens, {config.tokenizer} vocab {tokenizer.vocab_size}), GPT "
                f"{config.preset} {model.num_params() / 1e6:.2f}M params, device {device}"
            )
            resuming = f", resuming at step {start_step}" if resume is not None else ""
            print(summary + resuming, file=log)
            if change is not None:
                print(change, file=log)
            loop = _Loop(config, model, optimizer, data, device, run_dir, metrics, log)
            return loop.run(start_step, best, tokenizer)
        except KeyboardInterrupt:  # the third Ctrl-C (interrupt.py): the checkpoints on disk stay
            print(f"aborted without saving; {_next_step(run_dir)}", file=log)
            raise
        except OSError as error:  # a full disk, a folder made read-only mid-run, ...
            raise RunError(f"{describe_os_error(error)}; then {_next_step(run_dir)}") from error


def _load_data(config: TrainConfig, run_dir: Path | None) -> tuple[Corpus, Tokenizer, TokenData]:
    """The corpus, the tokenizer (a resumed run's own, else a new one) and the token ids."""
    corpus = load_corpus(config.data, config.data_sha256)
    if run_dir is None:
        tokenizer = make_tokenizer(config.tokenizer, corpus, config.val_fraction, config.vocab_size)
    else:
        tokenizer = load_run_tokenizer(run_dir)
    return corpus, tokenizer, TokenData.encode(corpus, tokenizer, config.val_fraction)


def _lock(run_dir: Path, held: contextlib.ExitStack, log: TextIO) -> None:
    """Lock `run_dir` until `held` closes, and remove what killed writes left in it."""
    lock = held.enter_context(RunLock(run_dir))
    removed = lock.remove_stale_temp_files()
    if removed:
        print(f"removed temp files of interrupted writes: {', '.join(removed)}", file=log)


def _next_step(run_dir: Path) -> str:
    """How to go on after a failed write: resume from the last good checkpoint, if any."""
    if (run_dir / "last.safetensors").is_file():
        return f"continue from its last checkpoint with: tinygpt train --resume {run_dir}"
    return "train again"


class _Loop:
    """The training loop's state; `run` is the loop itself."""

    def __init__(self, config, model, optimizer, data, device, run_dir, metrics, log) -> None:
        self.config: TrainConfig = config
        self.model: GPT = model
        self.optimizer: optim.AdamW = optimizer
        self.data: TokenData = data
        self.device = device
        self.run_dir: Path = run_dir
        self.metrics: MetricsLog = metrics
        self.log: TextIO = log
        self.block_size = model.config.block_size
        self.latest_moved = False
        self.group = TrainingGroup.current()
        self.group.attach(model)  # N ranks: gradients summed over them (DDP)

    def run(self, step: int, best: float, tokenizer: Tokenizer) -> dict[str, Any]:
        c = self.config
        bar = ProgressBar(c.max_steps, self.log, start=step)
        started = time.perf_counter()
        window_start, window_tokens = started, 0
        train_loss = val_loss = float("nan")
        last_loss: tg.Tensor | None = None  # on the device: read only when it is logged
        evaluated_at = step if step > 0 else -1  # a resumed run's checkpoint is current
        stopped = "max_steps"
        with StopFlag(self.log) as stop:
            while step < c.max_steps:
                reason = None
                if stop.requested:
                    reason = "interrupted"
                elif c.time_budget is not None and time.perf_counter() - started > c.time_budget:
                    reason = "time_budget"
                reason = self.group.agree(reason)  # rank 0 decides for every rank
                if reason is not None:
                    stopped = reason
                    break
                last_loss = self._step(step)
                step += 1
                window_tokens += c.batch_size * c.grad_accum * self.block_size
                if step % c.log_interval == 0 or step == c.max_steps:
                    train_loss = last_loss.item()  # the step's one read of the device
                    now = time.perf_counter()
                    rate = window_tokens / max(now - window_start, 1e-9)
                    window_start, window_tokens = now, 0
                    lr = self.optimizer.param_groups[0]["lr"]
                    record = dict(step=step, train_loss=train_loss, lr=lr, tokens_per_s=rate)
                    self.metrics.append({**record, "elapsed": now - started})
                    bar.update(step, train_loss, rate)
                if step % c.eval_interval == 0 or step == c.max_steps:
                    paused = time.perf_counter()
                    val_loss, best = self._evaluate(step, best, bar)
                    evaluated_at = step
                    window_start += time.perf_counter() - paused  # tokens/s counts training only
            if evaluated_at != step:
                val_loss, best = self._evaluate(step, best, bar)  # checkpoints where it stopped
        if last_loss is not None:
            train_loss = last_loss.item()
        bar.close()
        elapsed = time.perf_counter() - started
        self._report(stopped, step, elapsed, train_loss, val_loss, best)
        plot_losses(self.metrics.records, self.run_dir / "loss.png")
        result = dict(
            run_dir=str(self.run_dir),
            step=step,
            train_loss=train_loss,
            val_loss=val_loss,
            best_val_loss=best,
            elapsed=elapsed,
            stopped=stopped,
        )
        if c.sample_tokens > 0 and stopped != "interrupted":
            result["sample"] = sample_text(self.model, tokenizer, c.sample_tokens, seed=c.seed)
        return result

    def _report(self, stopped, step, elapsed, train_loss, val_loss, best) -> None:
        notes = {
            "interrupted": f"interrupted at step {step}",
            "time_budget": f"time budget reached at step {step}",
            "max_steps": f"finished {step} steps",
        }
        print(
            f"{notes[stopped]} in {format_duration(elapsed)}: train loss {train_loss:.4f}, "
            f"val loss {val_loss:.4f} (best {best:.4f}); checkpoints in {self.run_dir}",
            file=self.log,
        )
        if stopped != "max_steps":
            print(f"continue with: tinygpt train --resume {self.run_dir}", file=self.log)

    def _step(self, step: int) -> tg.Tensor:
        """One optimizer step (all micro-batches); returns the mean training loss, a 0-d
        tensor left on the device (reading it is a host sync: the caller does it to log)."""
        c = self.config
        lr = optim.warmup_cosine_lr(
            step,
            max_lr=c.learning_rate,
            warmup_steps=c.warmup_steps,
            total_steps=c.decay_steps,
            min_lr=c.min_lr,
        )
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        # dropout's randomness, like the batches', is a function of (seed, step): see top
        total = None
        # with N ranks, rank r takes micro-batches r, r + N, ... (launch.py)
        for micro in self.group.micro_batches(c.grad_accum):
            # seeded per micro-batch, so a rank draws the same dropout masks as one process
            tg.manual_seed(c.seed * 1_000_003 + step + micro * 1_000_000_007)
            offsets = batch_offsets(
                len(self.data.train), self.block_size, c.batch_size, [c.seed, step, micro]
            )
            x, y = get_batch(self.data.train, offsets, self.block_size, self.device)
            _, loss = self.model(x, y)
            assert loss is not None
            # the gradients of the micro-batches add up, so each counts 1/grad_accum
            with self.group.accumulating(micro, c.grad_accum):
                (loss * (1.0 / c.grad_accum)).backward()
            total = loss.detach() if total is None else total + loss.detach()
        self.group.synchronize()  # every rank holds the gradient of the global batch
        if c.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad()
        assert total is not None
        return self.group.sum_loss(total) / c.grad_accum

    def _evaluate(self, step: int, best: float, bar: ProgressBar) -> tuple[float, float]:
        """Measure the validation loss, then write `last` (and `best` if it improved)."""
        c = self.config
        val_loss = estimate_loss(
            self.model, self.data.val, c.batch_size, c.eval_batches, self.device
        )
        self.metrics.append({"step": step, "val_loss": val_loss})
        improved = val_loss < best
        best = min(best, val_loss)
        meta = {
            "step": step,
            "best_val_loss": best,
            "val_loss": val_loss,
            # every random draw of step s is seeded by (seed, s): this is the whole RNG state
            "rng": {"scheme": "seed-and-step", "seed": c.seed, "next_step": step},
            "device": str(self.device),
        }
        model_state = self.model.state_dict()
        optimizer_state = self.optimizer.state_dict()
        save_checkpoint(self.run_dir / "last.safetensors", model_state, optimizer_state, meta)
        if improved:
            save_checkpoint(self.run_dir / "best.safetensors", model_state, optimizer_state, meta)
        if not self.latest_moved:
            update_latest(self.run_dir)  # the run has a checkpoint now: `latest` may point here
            self.latest_moved = True
        mark = " (best)" if improved else ""
        bar.message(f"step {step}: val loss {val_loss:.4f}{mark}")
        return val_loss, best


def sample_text(
    model: GPT,
    tokenizer: Tokenizer,
    max_new_tokens: int,
    prompt: str = "",
    temperature: float = 0.8,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> str:
    """Sample a continuation of `prompt` (the prompt itself included in the text)."""
    ids = tokenizer.encode(prompt, allowed_special="all") if prompt else [_start_id(tokenizer)]
    device = model.transformer.wte.weight.device
    idx = tg.tensor([ids], dtype=tg.int64, device=device)
    out = generate(
        model,
        idx,
        max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        stop_token=tokenizer.eot_id,
        seed=seed,
    )
    new = out[0].tolist()[len(ids) :]
    if tokenizer.eot_id in new:
        new = new[: new.index(tokenizer.eot_id)]  # the end token is not part of the text
    return prompt + tokenizer.decode(new)


def _start_id(tokenizer: Tokenizer) -> int:
    """What to condition on without a prompt: <|endoftext|> (a document starts after it),
    else a newline (a line starts after it), else token 0."""
    if tokenizer.eot_id is not None:
        return tokenizer.eot_id
    try:
        return tokenizer.encode("\n")[0]
    except ValueError:
        return 0
