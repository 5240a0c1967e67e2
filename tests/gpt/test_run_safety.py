"""Run folders survive what happens to real runs: a trainer killed mid-write, a damaged or
crafted checkpoint, a second trainer on the same run, a full disk, a read-only folder.

Each test copies one tiny trained run (2 steps of a nano model) and runs the real command
through `tinygpt.cli.main`; a refused command must print one line, exit 2, and leave the run
folder byte for byte as it was.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tinygpt as tg
from tinygpt.cli import main
from tinygpt.gpt import runs as runs_module
from tinygpt.gpt._files import is_temp_file_of, write_text_atomic
from tinygpt.gpt.lock import RunLock
from tinygpt.gpt.runs import RUN_FILES

TEXT = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(60))
TINY = [
    "--preset", "nano", "--block-size", "8", "--batch-size", "2", "--eval-batches", "1",
    "--sample-tokens", "0", "--log-interval", "1",
]  # fmt: skip


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """`runs/r` (and `runs/latest`) after 2 steps, with a checkpoint at step 2."""
    root = tmp_path_factory.mktemp("template")
    (root / "tiny.txt").write_text(TEXT)
    argv = ["train", "--data", root / "tiny.txt", *TINY, "--max-steps", "2"]
    code = main([str(a) for a in [*argv, "--out-dir", root / "runs", "--name", "r"]])
    assert code == 0
    return root


@pytest.fixture
def run(template, tmp_path) -> Path:
    """A fresh copy of the template run: tmp_path/runs/r."""
    shutil.copytree(template, tmp_path, symlinks=True, dirs_exist_ok=True)
    return tmp_path / "runs" / "r"


def train(capsys, *argv) -> tuple[int, str]:
    code = main(["train", *map(str, argv)])
    return code, capsys.readouterr().err


def resume(capsys, run: Path, max_steps: int = 3) -> tuple[int, str]:
    return train(capsys, "--resume", run, "--max-steps", max_steps)


def snapshot(run: Path) -> dict[str, object]:
    """Everything a refused command must leave alone: the files and where `latest` points."""
    files = {p.name: p.read_bytes() for p in sorted(run.iterdir()) if p.is_file()}
    files.pop("lock", None)  # who last held the lock: informational
    return {"files": files, "latest": os.readlink(run.parent / "latest")}


def assert_one_line_error(code: int, err: str, *needles: str, progress: bool = False) -> None:
    """Exit 2 and one error line (after the progress lines, when training had begun)."""
    lines = err.strip().splitlines()
    assert code == 2, err
    assert progress or len(lines) == 1, err
    assert lines[-1].startswith("tinygpt train: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[-1], (needle, lines[-1])


# ---------------------------------------------------------------------- 1. stale temp files
def test_resume_removes_temp_files_left_by_a_killed_write(run, capsys):
    last = (run / "last.safetensors").read_bytes()
    stale = [".last.safetensors.k3_x9qa0.tmp", ".config.json.abcd1234.tmp"]
    for name in stale:
        (run / name).write_bytes(last)  # full size, as a kill -9 mid-write leaves it
    keep = [".notes.txt.abcd1234.tmp", ".last.safetensors.tmp", ".last.safetensors.ABCD1234.tmp"]
    for name in keep:
        (run / name).write_text("not ours")
    (run / ".best.safetensors.zzzzzzzz.tmp").mkdir()  # a folder, whatever its name
    code, err = resume(capsys, run)
    assert code == 0 and "resuming at step 2" in err
    assert "removed temp files of interrupted writes" in err
    assert not any((run / name).exists() for name in stale)
    assert all((run / name).read_text() == "not ours" for name in keep)
    assert (run / ".best.safetensors.zzzzzzzz.tmp").is_dir()
    assert tg.load(run / "last.safetensors")  # the real files are untouched and usable


STALL = """
import os, sys, time
from tinygpt.cli import main

real_replace = os.replace

def replace(source, target):
    if str(target).endswith("last.safetensors"):  # the temp file is written and synced
        print("writing", flush=True)
        time.sleep(600)
    real_replace(source, target)

os.replace = replace
main(["train", "--resume", sys.argv[1], "--max-steps", "3"])
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_kill_9_during_a_checkpoint_write_then_resume(run, capsys):
    last = (run / "last.safetensors").read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-c", STALL, str(run)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    finally:
        proc.kill()  # kill -9: no handler runs, nothing is cleaned up
        proc.communicate(timeout=60)
    (temp,) = run.glob(".last.safetensors.*.tmp")
    assert temp.stat().st_size > len(last) // 2  # a whole checkpoint, left behind
    assert (run / "last.safetensors").read_bytes() == last
    code, err = resume(capsys, run)
    assert code == 0 and "resuming at step 2" in err and temp.name in err
    assert not list(run.glob(".*.tmp"))


def test_the_cleanup_pattern_matches_the_writers_temp_names(tmp_path, monkeypatch):
    temps = []
    real_replace = os.replace

    def replace(source, target):
        temps.append((Path(source).name, Path(target).name))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    tg.save({"a": tg.ones(1)}, tmp_path / "last.safetensors")
    write_text_atomic(tmp_path / "config.json", "{}")
    assert len(temps) == 2
    for temp, target in temps:
        assert is_temp_file_of(temp, RUN_FILES) and target in RUN_FILES, temp


def test_temp_files_stay_while_another_process_holds_the_lock(run, capsys):
    (run / ".last.safetensors.abcd1234.tmp").write_bytes(b"being written")
    with RunLock(run):  # the trainer that is writing it
        code, err = resume(capsys, run)
    assert_one_line_error(code, err, "is being trained by")
    assert (run / ".last.safetensors.abcd1234.tmp").read_bytes() == b"being written"


# ---------------------------------------------------------------------- 2. check, then change
LAST = "last.safetensors"


def rewrite_meta(path: Path, change) -> None:
    """Save the checkpoint again (valid checksums) with `change(meta)` applied."""
    tensors = tg.load(path)
    meta = json.loads(tg.load_metadata(path)["tinygpt"])
    change(meta)
    tg.save(tensors, path, metadata={"tinygpt": json.dumps(meta)})


def set_meta(**changes):
    return lambda run: rewrite_meta(run / LAST, lambda meta: meta.update(changes))


def drop_meta(key: str):
    return lambda run: rewrite_meta(run / LAST, lambda meta: meta.pop(key))


def drop_tensor(name: str):
    def damage(run: Path) -> None:
        tensors = tg.load(run / LAST)
        del tensors[name]
        tg.save(tensors, run / LAST, metadata=tg.load_metadata(run / LAST))

    return damage


def truncate(run: Path) -> None:
    (run / LAST).write_bytes((run / LAST).read_bytes()[:-100])


def flip_last_byte(run: Path) -> None:
    raw = bytearray((run / LAST).read_bytes())
    raw[-1] ^= 0x40
    (run / LAST).write_bytes(bytes(raw))


def edit_config(**sections):
    def damage(run: Path) -> None:
        config = json.loads((run / "config.json").read_text())
        (run / "config.json").write_text(json.dumps({**config, **sections}))

    return damage


# fmt: off
DAMAGE = [
    # name                what is done to runs/r                           the error says
    ("truncated",         truncate,                                        "truncated"),
    ("flipped byte",      flip_last_byte,                                  "checksum"),
    ("step -5",           set_meta(step=-5),                               "step -5"),
    ("step a string",     set_meta(step="2"),                              "step '2'"),
    ("step not next",     set_meta(step=1),                                "next_step 2"),
    ("no step",           drop_meta("step"),                               "lacks step"),
    ("no best loss",      drop_meta("best_val_loss"),                      "lacks best_val_loss"),
    ("loss a string",     set_meta(best_val_loss="low"),                   "'low'"),
    ("other seed",        set_meta(rng={"seed": 7}),                       "seed 7"),
    ("past max steps",    set_meta(step=3, rng={"next_step": 3}),          "already at step 3"),
    ("missing tensor",    drop_tensor("model.transformer.ln_f.weight"),    "ln_f.weight"),
    ("not a checkpoint",  lambda r: tg.save({"x": tg.ones(1)}, r / LAST),  "not a tinygpt"),
    ("config not json",   lambda r: (r / "config.json").write_text("{"),   "config.json"),
    ("config edited",     edit_config(model={"n_layer": 1}),               "model section"),
    ("tokenizer damaged", lambda r: (r / "tokenizer.json").write_bytes(b"\xff"), "tokenizer"),
]
# fmt: on


@pytest.mark.parametrize("name, damage, message", DAMAGE, ids=[d[0] for d in DAMAGE])
def test_a_damaged_run_is_refused_and_left_as_it_was(name, damage, message, run, capsys):
    damage(run)
    before = snapshot(run)
    code, err = resume(capsys, run)
    assert_one_line_error(code, err, message)
    assert snapshot(run) == before
    assert not list(run.glob(".*.tmp"))


@pytest.mark.parametrize("command", ["sample", "eval"])
def test_sample_and_eval_refuse_a_truncated_checkpoint_in_one_line(command, run, capsys):
    for name in ("best.safetensors", "last.safetensors"):
        (run / name).write_bytes((run / name).read_bytes()[:1000])
    code = main([command, "--run", str(run)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith(f"tinygpt {command}: error: ") and "best.safetensors" in err
    assert "truncated" in err


# ---------------------------------------------------------------------- 3. one trainer per run
HOLD = """
import sys
from tinygpt.gpt.lock import RunLock
with RunLock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()  # hold it until the test closes our stdin
"""


def hold_lock(run: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_trainer_is_refused_with_the_holders_pid(run, capsys):
    proc = hold_lock(run)
    try:
        before = snapshot(run)
        code, err = resume(capsys, run)
        assert_one_line_error(code, err, f"process {proc.pid}", f"kill {proc.pid}", "lock")
        assert snapshot(run) == before
    finally:
        proc.communicate(input="", timeout=60)
    code, err = resume(capsys, run)  # the holder exited: the lock went with it
    assert code == 0 and "resuming at step 2" in err


def test_a_killed_holder_leaves_no_lock_behind(run):
    proc = hold_lock(run)
    proc.kill()
    proc.communicate(timeout=60)
    holder = json.loads((run / "lock").read_text())
    assert holder["pid"] == proc.pid and holder["host"] and holder["started"]
    with RunLock(run):  # kill -9 dropped the lock: taking it needs no cleanup
        assert json.loads((run / "lock").read_text())["pid"] == os.getpid()


# ---------------------------------------------------------------------- 5. failing disks
@pytest.mark.parametrize(
    "raised", [OSError(errno.ENOSPC), OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))]
)
def test_a_full_disk_during_a_checkpoint_is_one_line(raised, run, capsys, monkeypatch):
    last = (run / "last.safetensors").read_bytes()

    def full(*args, **kwargs):
        raise raised

    monkeypatch.setattr(runs_module.tg, "save", full)
    code, err = resume(capsys, run, max_steps=4)
    checkpoint = run / "last.safetensors"
    full_disk = f"{checkpoint}: No space left on device; free some disk space"
    assert_one_line_error(code, err, full_disk, f"--resume {run}", progress=True)
    assert checkpoint.read_bytes() == last  # the previous checkpoint is intact
    assert not list(run.glob(".*.tmp"))


def test_a_read_only_run_folder_is_one_line(run, capsys, monkeypatch):
    real_access = os.access

    def access(path, mode, **kwargs):
        # what a read-only folder or file system answers (root ignores chmod, so simulate)
        if Path(path) == run and mode & os.W_OK:
            return False
        return real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
    before = snapshot(run)
    code, err = resume(capsys, run)
    assert_one_line_error(code, err, f"cannot train in {run}: the folder is read-only", "chmod")
    assert snapshot(run) == before


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="chmod does not bind root")
def test_a_chmod_read_only_run_folder_is_one_line(run, capsys):
    run.chmod(0o555)
    try:
        code, err = resume(capsys, run)
    finally:
        run.chmod(0o755)
    assert_one_line_error(code, err, "read-only")
