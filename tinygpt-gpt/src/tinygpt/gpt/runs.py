"""Run folders and checkpoints.

A run folder (`runs/<name>/`) holds everything needed to sample from, evaluate or resume a
training run:

    config.json         the TrainConfig and the GPTConfig
    tokenizer.json      the tokenizer (versioned JSON)
    last.safetensors    the latest checkpoint: model + optimizer + step + RNG state
    best.safetensors    the checkpoint with the lowest validation loss so far
    metrics.jsonl       one JSON object per log line (train loss, val loss, lr, tokens/s)
    loss.png            the loss curves (when matplotlib is installed)
    lock                who is training the run now (see lock.py)

`runs/latest` points at the newest run (a symlink; a small text file where symlinks are not
allowed). A checkpoint is one safetensors file written atomically by `tg.save`: the tensors
are the model's `state_dict` under `model.` and the optimizer's state (flattened by
`optim.flatten_state_dict`) under `optim.`; the rest (step, RNG state, best loss) is JSON in
the file's metadata. `load_checkpoint` checks all of it (tg.load checks the file's structure
and checksums; the metadata's keys, types and ranges are checked here), so a damaged or
crafted checkpoint is a RunError that names the file and the fix, never a wrong resume.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import tinygpt as tg
from tinygpt import nn, optim

from ._files import file_mode, naming, write_text_atomic
from .tokenizers import Tokenizer, TokenizerError, load_tokenizer

__all__ = [
    "RUN_FILES",
    "Checkpoint",
    "RunError",
    "damaged_checkpoint_fix",
    "latest_link",
    "load_checkpoint",
    "load_run_tokenizer",
    "misfit_error",
    "new_run_dir",
    "read_run_config",
    "resolve_run",
    "save_checkpoint",
    "update_latest",
]

CHECKPOINT_VERSION = 1

#: the files of a run folder that are written atomically (through temp files)
RUN_FILES = (
    "config.json",
    "tokenizer.json",
    "last.safetensors",
    "best.safetensors",
    "metrics.jsonl",
)


class RunError(ValueError):
    """A run folder or checkpoint that cannot be used."""


# ---------------------------------------------------------------------- run folders
def new_run_dir(out_dir: str | os.PathLike[str], name: str | None) -> Path:
    """Create `out_dir/name` (a timestamp when `name` is None) and return it.

    A named run that already exists is an error (it would mix two runs' checkpoints);
    a timestamped one gets a numeric suffix instead.
    """
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    if name is not None:
        if name == "latest" or "/" in name or name.startswith("."):
            raise RunError(f"--name {name!r}: a run name cannot be 'latest', hidden or a path")
        run = root / name
        if run.exists():
            raise RunError(f"{run} already exists: pick another --name, or --resume {run}")
        run.mkdir()
        return run
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for suffix in [""] + [f"-{i}" for i in range(2, 1000)]:
        run = root / (stamp + suffix)
        try:
            run.mkdir()
            return run
        except FileExistsError:
            continue
    raise RunError(f"could not create a new run folder in {root}")


def latest_link(out_dir: str | os.PathLike[str]) -> Path:
    return Path(out_dir) / "latest"


def update_latest(run_dir: Path) -> None:
    """Point `<out_dir>/latest` at `run_dir` (atomically: a new link renamed over the old)."""
    link = latest_link(run_dir.parent)
    temp = link.with_name(f".latest.{os.getpid()}.tmp")
    try:
        temp.unlink(missing_ok=True)
        os.symlink(run_dir.name, temp, target_is_directory=True)
        os.replace(temp, link)
    except OSError:
        # no symlinks here (some Windows setups): a file naming the run does the same job
        temp.unlink(missing_ok=True)
        if link.is_symlink() or link.is_file():
            link.unlink()
        if not link.exists():
            write_text_atomic(link, run_dir.name + "\n")


def resolve_run(path: str | os.PathLike[str]) -> Path:
    """The run folder `path` names: a folder, or a `latest` link or file."""
    run = Path(path)
    if run.is_symlink():
        # NOTE: follow `latest` to the real folder, so that a resumed run re-points `latest`
        # at that folder and not at itself
        run = run.parent / os.readlink(run)
    elif run.is_file():  # the text-file form of `latest`
        run = run.parent / run.read_text(encoding="utf-8").strip()
    if not run.is_dir():
        raise RunError(f"no run folder at {path} (train one with: tinygpt train)")
    if not (run / "config.json").is_file():
        raise RunError(f"{path} is not a tinygpt run folder: it has no config.json")
    return run


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """The run's config.json: {"train": {...}, "model": {...}, ...}, checked to be that."""
    path = run_dir / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise RunError(f"{run_dir} is not a tinygpt run folder: it has no config.json") from error
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, nested too deep
        raise RunError(f"{path} is damaged ({error}); restore it from a copy") from error
    train = data.get("train") if isinstance(data, dict) else None
    model = data.get("model") if isinstance(data, dict) else None
    if not isinstance(train, dict) or not isinstance(model, dict):
        raise RunError(f"{path} is damaged: it lacks its 'train' and 'model' sections")
    return data


def load_run_tokenizer(run_dir: Path) -> Tokenizer:
    """The run's tokenizer.json, with a missing or damaged file as a TokenizerError."""
    path = run_dir / "tokenizer.json"
    try:
        return load_tokenizer(path)
    except (UnicodeDecodeError, FileNotFoundError, RecursionError) as error:
        raise TokenizerError(
            f"{path} is missing or damaged ({error}); restore it from a copy"
        ) from error


# ---------------------------------------------------------------------- checkpoints
class Checkpoint:
    """What `load_checkpoint` returns: the model and optimizer states and the metadata."""

    def __init__(self, model: dict[str, tg.Tensor], optimizer: Any, meta: dict[str, Any]):
        self.model = model
        self.optimizer = optimizer
        self.meta = meta

    @property
    def step(self) -> int:
        return int(self.meta["step"])


def save_checkpoint(
    path: str | os.PathLike[str],
    model_state: dict[str, tg.Tensor],
    optimizer_state: Any,
    meta: dict[str, Any],
) -> None:
    """Write one checkpoint file atomically (tg.save writes a temp file, then renames),
    with the mode of the run's other files (`file_mode`)."""
    tensors = {f"model.{name}": t for name, t in model_state.items()}
    tensors.update(optim.flatten_state_dict(optimizer_state, prefix="optim."))
    header = {"version": CHECKPOINT_VERSION, **meta}
    try:
        tg.save(tensors, path, metadata={"tinygpt": json.dumps(header)})
        os.chmod(path, file_mode())  # tg.save's temp file was owner-only: one rule per run
    except OSError as error:  # a full disk: say which file (the old one is intact)
        raise naming(error, Path(path)) from error


def load_checkpoint(path: str | os.PathLike[str], device: Any = None) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint` (tensors onto `device`).

    Raises RunError, naming the file and what to do, for a missing, damaged or foreign file.
    """
    path = Path(path)
    if not path.is_file():
        raise RunError(f"no checkpoint at {path}")
    try:
        tensors = tg.load(path, device=device)
        metadata = tg.load_metadata(path)
    except tg.SerializationError as error:
        # NOTE: tg.load says "load: <file> ...<what is wrong>; <its own fix>": keep the what
        reason = str(error).removeprefix("load: ").split("; ")[0]
        raise RunError(f"{reason}; {damaged_checkpoint_fix(path)}") from error
    meta = _parse_meta(path, metadata.get("tinygpt"))
    model = {k[len("model.") :]: t for k, t in tensors.items() if k.startswith("model.")}
    try:
        optimizer = optim.unflatten_state_dict(tensors, prefix="optim.")
    except ValueError as error:
        raise RunError(f"{path}: {error}; {damaged_checkpoint_fix(path)}") from error
    return Checkpoint(model, optimizer, meta)


def _parse_meta(path: Path, raw: str | None) -> dict[str, Any]:
    """The checkpoint's JSON metadata, with every key `train` relies on checked."""
    fix = damaged_checkpoint_fix(path)
    if raw is None:
        raise RunError(f"{path} is a safetensors file but not a tinygpt checkpoint; {fix}")
    try:
        meta = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise RunError(f"{path}: its metadata is not JSON ({error}); {fix}") from error
    if not isinstance(meta, dict):
        raise RunError(f"{path}: its metadata is not a JSON object; {fix}")
    missing = [key for key in ("version", "step", "best_val_loss") if key not in meta]
    if missing:
        raise RunError(f"{path}: its metadata lacks {', '.join(missing)}; {fix}")
    if not _is_int(meta["version"]) or meta["version"] != CHECKPOINT_VERSION:
        raise RunError(f"{path}: checkpoint version {meta['version']!r} is not supported")
    problem = _meta_problem(meta)
    if problem is not None:
        raise RunError(f"{path}: its metadata {problem}; {fix}")
    return meta


def _meta_problem(meta: dict[str, Any]) -> str | None:
    """What is wrong with the metadata's values, or None."""
    step = meta["step"]
    if not _is_int(step) or step < 0:
        return f"has step {step!r}, not an integer >= 0"
    for key in ("best_val_loss", "val_loss"):
        value = meta.get(key, 0.0)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return f"has {key} {value!r}, not a number"
    rng = meta.get("rng", {})
    if not isinstance(rng, dict):
        return f"has rng {rng!r}, not an object"
    if "seed" in rng and not _is_int(rng["seed"]):
        return f"has rng seed {rng['seed']!r}, not an integer"
    if "next_step" in rng and rng["next_step"] != step:
        return f"says step {step} but rng next_step {rng['next_step']!r}"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def misfit_error(path: Path, error: nn.StateDictError) -> RunError:
    """A RunError for a checkpoint whose tensors do not fit the run's model."""
    problems = [f"lacks {key}" for key in error.missing_keys]
    problems += [f"has an unexpected {key}" for key in error.unexpected_keys]
    for key, got, want in error.mismatched_keys:
        problems.append(f"has {key} of shape {got}, not {want}")
    what = ", ".join(problems)
    return RunError(
        f"{path} does not fit the run's model: it {what}; {damaged_checkpoint_fix(path)}"
    )


def damaged_checkpoint_fix(path: Path) -> str:
    """What to do about a damaged checkpoint: use the run's other one, if it has one."""
    other = "best.safetensors" if path.name == "last.safetensors" else "last.safetensors"
    if path.parent.joinpath(other).is_file():
        return f"restore it from a copy, or use {other} instead (copy it over {path.name})"
    return "restore it from a copy, or train a new run"
