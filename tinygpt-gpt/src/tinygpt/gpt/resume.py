"""Resuming a run: every check first, then the first change.

`tinygpt train --resume RUN` proves that the run can continue before it touches the folder:
config.json is readable and allows the new settings, the tokenizer loads, the checkpoint
loads (offsets, sizes and checksums: `tg.load`; metadata keys, types and ranges:
`load_checkpoint`), it belongs to this config (seed, step below --max-steps) and its tensors
fit the model that config.json describes. Only after `restore` returns may training truncate
metrics.jsonl, rewrite config.json or repoint `latest`: a damaged or crafted run ends the
command with a RunError and the folder exactly as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinygpt import nn, optim

from .config import ConfigError, GPTConfig, TrainConfig
from .model import GPT
from .runs import (
    RunError,
    damaged_checkpoint_fix,
    load_checkpoint,
    misfit_error,
    read_run_config,
)

__all__ = ["RESUMABLE_FIELDS", "check_resumable", "restore", "schedule_change"]

#: settings a resumed run may change; every other one shapes the model or the data
RESUMABLE_FIELDS = frozenset(
    {
        "max_steps",
        "lr_decay_steps",  # so that an extended run can keep its learning-rate schedule
        "time_budget",
        "eval_interval",
        "log_interval",
        "device",
        "sample_tokens",
    }
)


def check_resumable(config: TrainConfig, run_dir: Path) -> None:
    """Check that `run_dir` has a checkpoint and that `config` only changes what may."""
    if not (run_dir / "last.safetensors").exists():
        raise RunError(f"{run_dir} has no last.safetensors to resume from")
    saved = read_run_config(run_dir)["train"]
    changed = sorted(
        k for k, v in config.to_dict().items() if saved.get(k) != v and k not in RESUMABLE_FIELDS
    )
    changed = [k for k in changed if k not in ("out_dir", "name")]
    if changed:
        raise ConfigError(
            f"--resume cannot change {', '.join(changed)}: they shape the model or the data; "
            f"only {', '.join(sorted(RESUMABLE_FIELDS))} may change"
        )


def schedule_change(config: TrainConfig, run_dir: Path, step: int) -> str | None:
    """What a resume does to the learning-rate schedule, when it changes it; else None.

    The cosine decay ends at --lr-decay-steps, which defaults to --max-steps: extending a run
    with a larger --max-steps (and no --lr-decay-steps) stretches the decay, so the learning
    rate jumps back up at the step where the run goes on. That is nanoGPT's behaviour and
    often what is wanted (more steps, a longer schedule), but it must not be a surprise.
    """
    saved = TrainConfig.from_dict(read_run_config(run_dir)["train"])
    if saved.decay_steps == config.decay_steps:
        return None
    before, after = _lr_at(saved, step), _lr_at(config, step)
    return (
        f"note: the learning-rate schedule changes: its cosine decay now ends at step "
        f"{config.decay_steps} (was {saved.decay_steps}), so at step {step} the learning rate "
        f"is {after:.3g} (was {before:.3g}); to keep the old schedule resume with "
        f"--lr-decay-steps {saved.decay_steps} (the rate then stays at --min-lr after "
        f"step {saved.decay_steps})"
    )


def _lr_at(config: TrainConfig, step: int) -> float:
    return optim.warmup_cosine_lr(
        step,
        max_lr=config.learning_rate,
        warmup_steps=config.warmup_steps,
        total_steps=config.decay_steps,
        min_lr=config.min_lr,
    )


def restore(
    run_dir: Path,
    config: TrainConfig,
    model_config: GPTConfig,
    model: GPT,
    optimizer: optim.Optimizer,
    device: Any,
) -> tuple[int, float]:
    """Load the run's last checkpoint into `model` and `optimizer`, checked against the
    run's config; returns (step, best validation loss). Changes nothing on disk."""
    saved = read_run_config(run_dir)["model"]
    if GPTConfig.from_dict(saved) != model_config:
        raise RunError(
            f"{run_dir / 'config.json'}: its model section does not match its train section "
            "and tokenizer: the file was edited; restore it from a copy"
        )
    path = run_dir / "last.safetensors"
    checkpoint = load_checkpoint(path, device=device)
    fix = damaged_checkpoint_fix(path)
    seed = checkpoint.meta.get("rng", {}).get("seed", config.seed)
    if seed != config.seed:
        raise RunError(
            f"{path} was trained with seed {seed}, but config.json says {config.seed}: "
            f"the checkpoint belongs to another run; {fix}"
        )
    if checkpoint.step >= config.max_steps:
        raise ConfigError(
            f"the run is already at step {checkpoint.step} of --max-steps {config.max_steps}; "
            f"pass a larger --max-steps to train longer"
        )
    try:
        model.load_state_dict(checkpoint.model)
    except nn.StateDictError as error:
        raise misfit_error(path, error) from error
    try:
        optimizer.load_state_dict(checkpoint.optimizer)
    except (ValueError, TypeError, KeyError) as error:
        raise RunError(f"{path}: its optimizer state does not fit: {error}; {fix}") from error
    return checkpoint.step, float(checkpoint.meta["best_val_loss"])
