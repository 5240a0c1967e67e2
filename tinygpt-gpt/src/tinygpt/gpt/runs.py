"""Run folders and checkpoints.

A run folder (`runs/<name>/`) holds everything needed to sample from, evaluate or resume a
training run:

    config.json         the TrainConfig and the GPTConfig
    tokenizer.json      the tokenizer (versioned JSON)
    last.safetensors    the latest checkpoint: model + optimizer + step + RNG state
    best.safetensors    the checkpoint with the lowest validation loss so far
    metrics.jsonl       one JSON object per log line (train loss, val loss, lr, tokens/s)
    loss.png            the loss curves (when matplotlib is installed)

`runs/latest` points at the newest run (a symlink; a small text file where symlinks are not
allowed). A checkpoint is one safetensors file written atomically by `tg.save`: the tensors
are the model's `state_dict` under `model.` and the optimizer's state (flattened by
`optim.flatten_state_dict`) under `optim.`; the rest (step, RNG state, best loss) is JSON in
the file's metadata.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import tinygpt as tg
from tinygpt import optim

from ._files import write_text_atomic

__all__ = [
    "Checkpoint",
    "RunError",
    "latest_link",
    "load_checkpoint",
    "new_run_dir",
    "resolve_run",
    "save_checkpoint",
    "update_latest",
]

CHECKPOINT_VERSION = 1


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
    """Write one checkpoint file atomically (tg.save writes a temp file, then renames)."""
    tensors = {f"model.{name}": t for name, t in model_state.items()}
    tensors.update(optim.flatten_state_dict(optimizer_state, prefix="optim."))
    header = {"version": CHECKPOINT_VERSION, **meta}
    tg.save(tensors, path, metadata={"tinygpt": json.dumps(header)})


def load_checkpoint(path: str | os.PathLike[str], device: Any = None) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint` (tensors onto `device`)."""
    if not Path(path).is_file():
        raise RunError(f"no checkpoint at {path}")
    tensors = tg.load(path, device=device)
    meta = _read_metadata(Path(path))
    if meta.get("version") != CHECKPOINT_VERSION:
        raise RunError(f"{path}: checkpoint version {meta.get('version')!r} is not supported")
    model = {k[len("model.") :]: t for k, t in tensors.items() if k.startswith("model.")}
    optimizer = optim.unflatten_state_dict(tensors, prefix="optim.")
    return Checkpoint(model, optimizer, meta)


def _read_metadata(path: Path) -> dict[str, Any]:
    # the safetensors header: 8 bytes of length, then that much JSON
    with path.open("rb") as f:
        length = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(length))
    raw = header.get("__metadata__", {}).get("tinygpt")
    if raw is None:
        raise RunError(f"{path} is a safetensors file but not a tinygpt checkpoint")
    return json.loads(raw)
