"""Everyday `tinygpt` paths that must never lose or silently change a run (issue 18).

The real commands on a tiny file with a tiny model: a refused --resume changes nothing,
`latest` moves only to a run with a checkpoint, Ctrl-C during the final save, the learning
rate schedule of an extended run, one file mode for a run folder, progress of `tinygpt eval`.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import tinygpt as tg
from tinygpt.cli import main
from tinygpt.gpt import training
from tinygpt.gpt.interrupt import StopFlag
from tinygpt.gpt.metrics import read_metrics

TEXT = "".join(f"def f{i}(x):\n    return x * {i % 7} + {i % 5}\n\n" for i in range(150))
TINY = [
    "--preset", "nano", "--block-size", "16", "--batch-size", "4", "--eval-batches", "2",
    "--log-interval", "1", "--warmup-steps", "2", "--sample-tokens", "0", "--device", "numpy",
]  # fmt: skip


@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "tiny.txt"
    path.write_text(TEXT)
    return path


def train(capsys, corpus: Path, out: Path, *argv: object) -> tuple[int, str]:
    code = main(["train", "--data", str(corpus), *TINY, "--out-dir", str(out), *map(str, argv)])
    return code, capsys.readouterr().err


def snapshot(run: Path) -> dict[str, object]:
    files = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.iterdir() if p.is_file()}
    files.pop("lock", None)
    return files


def test_a_refused_resume_changes_nothing(corpus, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert train(capsys, corpus, runs, "--max-steps", "4", "--name", "a")[0] == 0
    assert train(capsys, corpus, runs, "--max-steps", "2", "--name", "b")[0] == 0
    before = snapshot(runs / "a")
    code, err = train(capsys, corpus, runs, "--resume", runs / "a", "--max-steps", "3")
    assert code == 2 and "already at step 4 of --max-steps 3" in err
    assert snapshot(runs / "a") == before
    assert os.readlink(runs / "latest") == "b"


def test_latest_moves_only_to_a_run_with_a_checkpoint(corpus, tmp_path, capsys, monkeypatch):
    runs = tmp_path / "runs"
    assert train(capsys, corpus, runs, "--max-steps", "2", "--name", "good")[0] == 0

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(training, "save_checkpoint", full_disk)
    code, err = train(capsys, corpus, runs, "--max-steps", "2", "--name", "broken")
    assert code == 2 and "No space left on device" in err
    assert not (runs / "broken" / "last.safetensors").exists()
    assert os.readlink(runs / "latest") == "good"  # `tinygpt sample` still has a model


def test_a_new_run_moves_latest_once_it_has_saved(corpus, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert train(capsys, corpus, runs, "--max-steps", "2", "--name", "one")[0] == 0
    assert train(capsys, corpus, runs, "--max-steps", "2", "--name", "two")[0] == 0
    assert os.readlink(runs / "latest") == "two"


def lrs(run: Path) -> dict[int, float]:
    return {r["step"]: r["lr"] for r in read_metrics(run / "metrics.jsonl") if "lr" in r}


def test_extending_a_run_explains_the_schedule_and_can_keep_it(corpus, tmp_path, capsys):
    runs = tmp_path / "runs"
    for name in ("stretched", "kept"):
        assert train(capsys, corpus, runs, "--max-steps", "6", "--name", name)[0] == 0
    code, err = train(capsys, corpus, runs, "--resume", runs / "stretched", "--max-steps", "12")
    assert code == 0
    assert "cosine decay now ends at step 12 (was 6)" in err
    assert "resume with --lr-decay-steps 6" in err
    assert lrs(runs / "stretched")[7] > 1e-4 * 2  # the rate went back up: stretched decay
    keep = ["--resume", runs / "kept", "--max-steps", "12", "--lr-decay-steps", "6"]
    code, err = train(capsys, corpus, runs, *keep)
    assert code == 0 and "schedule changes" not in err
    assert lrs(runs / "kept")[7] == pytest.approx(1e-4)  # --min-lr, as after step 6 before
    saved = json.loads((runs / "kept" / "config.json").read_text())["train"]
    assert saved["lr_decay_steps"] == 6 and saved["max_steps"] == 12


def test_every_file_of_a_run_folder_has_one_mode(corpus, tmp_path, capsys):
    old = os.umask(0o027)
    try:
        assert train(capsys, corpus, tmp_path / "runs", "--max-steps", "2", "--name", "r")[0] == 0
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "runs" / "r").iterdir()}
    assert "last.safetensors" in modes and "config.json" in modes
    assert set(modes.values()) == {0o640}, modes


def test_eval_shows_its_stages_and_progress_on_stderr(corpus, tmp_path, capsys):
    assert train(capsys, corpus, tmp_path / "runs", "--max-steps", "2", "--name", "r")[0] == 0
    code = main(["eval", "--run", str(tmp_path / "runs" / "r"), "--batch-size", "2"])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.count("\n") == 1 and "perplexity" in out  # stdout: the result alone
    assert "reading the validation split" in err and "encoding" in err
    assert re.search(r"window\s+\d+/\d+ \[=+\] loss \d", err), err


def test_a_device_error_keeps_the_backend_table(corpus, tmp_path, capsys):
    code = main(["train", "--data", str(corpus), "--device", "cpuu"])
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert code == 2 and "Traceback" not in err
    assert lines[0].startswith("tinygpt train: error: ") and "did you mean 'cpu'?" in lines[0]
    assert "installed backends:" in lines
    for row in tg.backends():
        assert any(line.split() and line.split()[0] == row.name for line in lines[1:]), row.name
    assert all("cpuu" not in hint for hint in re.findall(r"pip install (\S+)", err))
    assert "pip install" not in err.split("fix:")[-1]


# ---------------------------------------------------------------------- Ctrl-C
def test_the_stop_flag_counts_presses(capsys):
    stop = StopFlag(sys.stderr)
    stop._handle(signal.SIGINT, None)
    assert stop.requested and capsys.readouterr().err == ""
    stop._handle(signal.SIGINT, None)  # ignored, with a message
    assert "once more to abort" in capsys.readouterr().err
    with pytest.raises(KeyboardInterrupt):
        stop._handle(signal.SIGINT, None)


def start(corpus: Path, out: Path, eval_batches: int) -> subprocess.Popen:
    """`tinygpt train` in a process, with a final evaluation that takes seconds."""
    argv = ["train", "--data", corpus, *TINY, "--max-steps", "100000", "--eval-interval",
            "100000", "--eval-batches", eval_batches, "--out-dir", out]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "tinygpt", *map(str, argv)]
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env, cwd=out.parent)


def press_ctrl_c(proc: subprocess.Popen, times: int) -> str:
    """Wait for the first step, press Ctrl-C `times` times 0.3 s apart; return stderr."""
    watchdog = threading.Timer(120, proc.kill)  # never leave a 100000-step run behind
    watchdog.start()
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if re.match(r"step\s+1/", line):
                break
        for _ in range(times):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.3)
        _, err = proc.communicate(timeout=120)
    finally:
        watchdog.cancel()
        proc.kill()
    return err


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery differs on Windows")
def test_a_second_ctrl_c_during_the_final_save_is_ignored(corpus, tmp_path):
    runs = tmp_path / "runs"
    proc = start(corpus, runs, eval_batches=4000)
    err = press_ctrl_c(proc, times=2)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "still finishing the step and saving" in err
    assert "interrupted at step" in err
    assert tg.load(runs / "latest" / "last.safetensors")  # the save completed


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery differs on Windows")
def test_a_third_ctrl_c_aborts_without_a_traceback(corpus, tmp_path):
    runs = tmp_path / "runs"
    proc = start(corpus, runs, eval_batches=4000)
    err = press_ctrl_c(proc, times=3)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "aborted without saving" in err
    assert not (runs / "latest").exists()  # no run with a checkpoint: `latest` never moved


# ---------------------------------------------------------------------- time left
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    from tinygpt.gpt import progress

    fake = Clock()
    monkeypatch.setattr(progress.time, "perf_counter", fake)
    return fake


def eta(bar, step: int) -> str:
    bar.update(step, 1.0, 100.0)
    return bar.stream.getvalue().splitlines()[-1].split(" | ")[-1]


def test_the_first_time_left_counts_every_step_since_the_start(clock):
    import io

    from tinygpt.gpt.progress import ProgressBar

    bar = ProgressBar(100, io.StringIO())
    clock.now += 10.0  # ten steps of 1 s before the first update (--log-interval 10)
    assert eta(bar, 10) == "10s elapsed, 1m30s left"
    resumed = ProgressBar(1000, io.StringIO(), start=900)
    clock.now += 10.0
    assert eta(resumed, 910) == "10s elapsed, 1m30s left"


def test_time_left_follows_the_recent_steps(clock):
    import io

    from tinygpt.gpt.progress import ProgressBar

    bar = ProgressBar(1000, io.StringIO(), window=5)
    clock.now += 60.0  # a slow first step (start-up, a busy machine)
    eta(bar, 1)
    for step in range(2, 12):
        clock.now += 1.0
        text = eta(bar, step)
    assert text == "1m10s elapsed, 16m29s left"  # 989 steps of 1 s: the slow one forgotten


@pytest.mark.parametrize("words", [5, 40, 400])
def test_the_block_size_hint_works_first_time(tmp_path, capsys, words):
    short = tmp_path / "short.txt"
    short.write_text(" ".join(f"w{i}" for i in range(words)))
    code, err = train(capsys, short, tmp_path / "runs", "--block-size", "4096", "--max-steps", "1")
    assert code == 2
    hinted = re.search(r"--block-size (\d+) or less", err)
    if hinted is None:  # too short for any block size: the only fix is more text
        assert err.strip().endswith("use more text"), err
        return
    code, err = train(
        capsys, short, tmp_path / "runs", "--block-size", hinted.group(1), "--max-steps", "1"
    )
    assert code == 0, err


def test_threads_flag_reaches_the_backends_as_tinygpt_threads(
    corpus, tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv("TINYGPT_THREADS", raising=False)  # restored after the test
    code, _ = train(capsys, corpus, tmp_path / "runs", "--max-steps", "1", "--threads", "1")
    assert code == 0 and os.environ["TINYGPT_THREADS"] == "1"
    with pytest.raises(SystemExit) as info:
        main(["train", "--threads", "0"])
    assert info.value.code == 2 and "not a thread count" in capsys.readouterr().err


def test_a_slow_stage_says_what_it_does_and_a_fast_one_says_nothing():
    import io

    from tinygpt.gpt.progress import slow_stage

    fast, slow = io.StringIO(), io.StringIO()
    with slow_stage("reading", fast, after=5.0):
        pass
    with slow_stage("reading", slow, after=0.01):
        time.sleep(0.5)
    assert fast.getvalue() == "" and slow.getvalue() == "reading\n"
