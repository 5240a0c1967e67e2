"""The real `tinygpt train / sample / eval` commands on a tiny file with a tiny model.

Most tests call `tinygpt.cli.main(argv)` in this process (the same code the console script
runs, without a new interpreter per test); two run the installed `tinygpt` script itself.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.cli import main
from tinygpt.gpt.metrics import read_metrics

TEXT = "".join(f"def f{i}(x):\n    return x * {i % 7} + {i % 5}\n\n" for i in range(150))
TINY = [
    "--preset", "nano", "--block-size", "16", "--batch-size", "4", "--eval-batches", "2",
    "--log-interval", "1", "--warmup-steps", "2",
]  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "tiny.txt"
    path.write_text(TEXT)
    return path


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory) -> Path:
    """One finished 6-step run shared by the tests below: runs/a."""
    out = tmp_path_factory.mktemp("runs")
    code = main(
        [
            "train",
            "--data",
            str(corpus),
            *TINY,
            "--max-steps",
            "6",
            "--eval-interval",
            "3",
            "--sample-tokens",
            "20",
            "--out-dir",
            str(out),
            "--name",
            "a",
        ]
    )
    assert code == 0
    return out


def test_train_writes_a_complete_run_folder(trained):
    run = trained / "a"
    for name in ["config.json", "tokenizer.json", "last.safetensors", "best.safetensors"]:
        assert (run / name).is_file(), name
    assert (trained / "latest").resolve() == run.resolve()
    records = read_metrics(run / "metrics.jsonl")
    assert [r["step"] for r in records if "train_loss" in r] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in records if "val_loss" in r] == [3, 6]
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["n_layer"] == 2 and config["model"]["block_size"] == 16


def test_train_prints_progress_and_a_sample(corpus, tmp_path, capsys):
    code, out, err = run_cli(
        capsys,
        "train",
        "--data",
        corpus,
        *TINY,
        "--max-steps",
        "2",
        "--out-dir",
        tmp_path,
        "--sample-tokens",
        "30",
    )
    assert code == 0
    assert "step 2/2" in err and "tok/s" in err and "val loss" in err
    assert out.startswith("--- sample from step 2")
    assert len(out.splitlines()) >= 2


def test_resume_continues_with_the_same_losses(corpus, tmp_path, trained, capsys):
    # the uninterrupted run `a` did 6 steps with the cosine decay ending at step 6
    args = ["--data", corpus, *TINY, "--eval-interval", "3", "--sample-tokens", "0"]
    code, _, _ = run_cli(
        capsys,
        "train",
        *args,
        "--max-steps",
        "3",
        "--lr-decay-steps",
        "6",
        "--out-dir",
        tmp_path,
        "--name",
        "b",
    )
    assert code == 0
    # through `latest`, which must keep pointing at b afterwards
    code, _, err = run_cli(capsys, "train", "--resume", tmp_path / "latest", "--max-steps", "6")
    assert code == 0 and "resuming at step 3" in err
    assert (tmp_path / "latest").resolve() == (tmp_path / "b").resolve()
    whole = read_metrics(trained / "a" / "metrics.jsonl")
    resumed = read_metrics(tmp_path / "b" / "metrics.jsonl")
    assert without_timings(resumed) == without_timings(whole)
    a = tg.load(trained / "a" / "last.safetensors")
    b = tg.load(tmp_path / "b" / "last.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key].numpy(), b[key].numpy(), err_msg=key)


def without_timings(records: list[dict]) -> list[dict]:
    """Metrics records minus what depends on the clock."""
    timings = ("elapsed", "tokens_per_s")
    return [{k: v for k, v in r.items() if k not in timings} for r in records]


def test_resume_refuses_to_change_the_model(trained, capsys):
    code, _, err = run_cli(capsys, "train", "--resume", trained / "a", "--n-layer", "3")
    assert code == 2 and "--resume cannot change n_layer" in err


def test_sample_and_eval_on_the_run(trained, capsys):
    code, out, _ = run_cli(
        capsys,
        "sample",
        "--run",
        trained / "latest",
        "--prompt",
        "def ",
        "--max-new-tokens",
        "25",
        "--seed",
        "1",
    )
    assert code == 0 and out.startswith("def ") and len(out) > 10
    again = run_cli(
        capsys,
        "sample",
        "--run",
        trained / "a",
        "--prompt",
        "def ",
        "--max-new-tokens",
        "25",
        "--seed",
        "1",
    )
    assert again[1] == out  # seeded: the same text
    code, out, _ = run_cli(capsys, "eval", "--run", trained / "latest")
    assert code == 0 and "loss" in out and "perplexity" in out


def test_eval_on_another_file(trained, tmp_path, capsys):
    heldout = tmp_path / "heldout.txt"
    heldout.write_text(TEXT[:2000])
    code, out, _ = run_cli(capsys, "eval", "--run", trained / "a", "--data", heldout)
    assert code == 0 and str(heldout) in out


def test_time_budget_stops_and_saves(corpus, tmp_path, capsys):
    code, _, err = run_cli(
        capsys,
        "train",
        "--data",
        corpus,
        *TINY,
        "--max-steps",
        "100000",
        "--time-budget",
        "1s",
        "--out-dir",
        tmp_path,
        "--sample-tokens",
        "0",
    )
    assert code == 0 and "time budget reached" in err
    assert (tmp_path / "latest" / "last.safetensors").is_file()


# ---------------------------------------------------------------------- bad arguments
def bad(tmp_path: Path) -> dict[str, tuple[list, str]]:
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    short = tmp_path / "short.txt"
    short.write_text("hello world, a short text")
    return {
        "missing file": (["train", "--data", tmp_path / "nope.txt"], "no such file or folder"),
        "empty corpus": (["train", "--data", empty], "is empty"),
        "block size": (["train", "--data", short, "--block-size", "64"], "larger than the corpus"),
        "preset": (["train", "--preset", "huge"], "unknown preset 'huge'"),
        "device": (["train", "--device", "nosuchdevice"], "unknown device 'nosuchdevice'"),
        "tokenizer": (["train", "--tokenizer", "words"], "--tokenizer must be"),
        "max steps": (["train", "--max-steps", "0"], "--max-steps must be a positive"),
        "resume": (["train", "--resume", tmp_path / "nope"], "no run folder"),
        "sample run": (["sample", "--run", tmp_path / "nope"], "no run folder"),
        "eval run": (["eval", "--run", tmp_path / "nope"], "no run folder"),
    }


CASES = list(bad(Path("/")).keys())


@pytest.mark.parametrize("case", CASES)
def test_bad_arguments_give_one_clear_line(case, tmp_path, capsys):
    argv, message = bad(tmp_path)[case]
    if argv[0] == "train":
        argv = [*argv, "--out-dir", tmp_path / "runs"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    if case == "device":  # one error, with the table of backends on its own lines after it
        assert "installed backends:" in lines and "Traceback" not in err
        lines = lines[:1]
    assert len(lines) == 1 and lines[0].startswith(f"tinygpt {argv[0]}: error:"), err
    assert message in lines[0]
    assert not (tmp_path / "runs").exists()  # checked before any folder is made


# ---------------------------------------------------------------------- the real script
def script(*argv: object, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "tinygpt", *map(str, argv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def test_script_bad_argument_has_no_traceback(tmp_path):
    proc = script("train", "--data", tmp_path / "missing.txt", cwd=tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "Traceback" not in err
    missing = tmp_path / "missing.txt"
    names = "python-stdlib, python-docs, shakespeare"
    expected = f"tinygpt train: error: no such file or folder: {missing} (named corpora: {names})"
    assert err.strip() == expected


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery differs on Windows")
def test_ctrl_c_saves_a_checkpoint_and_exits_130(corpus, tmp_path):
    proc = script(
        "train",
        "--data",
        corpus,
        *TINY,
        "--max-steps",
        "100000",
        "--eval-interval",
        "100000",
        "--out-dir",
        tmp_path,
        cwd=tmp_path,
    )
    # NOTE: a watchdog, so that a regression can never leave a 100000-step run behind
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # wait until training runs ("step      1/100000 ...")
            if re.match(r"step\s+1/", line):
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        watchdog.cancel()
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted at step" in err and "tinygpt train --resume" in err
    meta = tg.load(tmp_path / "latest" / "last.safetensors")
    assert "model.transformer.wte.weight" in meta


def test_train_with_exact_gelu_records_it_and_samples(corpus, tmp_path, capsys):
    """`--gelu exact` (nanoGPT's erf GELU) reaches the model config of the run, and a bad form
    is refused naming both choices."""
    runs = tmp_path / "runs"
    args = ["train", "--data", corpus, *TINY, "--max-steps", "2", "--eval-interval", "2"]
    code, _, err = run_cli(capsys, *args, "--gelu", "exact", "--out-dir", runs, "--name", "g")
    assert code == 0, err
    config = json.loads((runs / "g" / "config.json").read_text())
    assert config["train"]["gelu"] == config["model"]["gelu"] == "exact"
    code, _, err = run_cli(capsys, *args, "--gelu", "relu", "--out-dir", runs, "--name", "bad")
    assert code == 2 and "'tanh'" in err and "'exact'" in err
