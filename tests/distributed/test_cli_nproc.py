"""`tinygpt train --nproc N` on tiny data: the same checkpoint as one process, resumable."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.gpt.commands import TRAIN_FLAGS
from tinygpt.gpt.config import ConfigError
from tinygpt.gpt.launch import _train_argv, relaunch

from .conftest import needs_mpi, worker_env

TEXT = "".join(f"def f{i}(x):\n    return x * {i % 7} + {i % 5}\n\n" for i in range(150))
TINY = [
    "--preset", "nano", "--block-size", "16", "--batch-size", "4", "--eval-batches", "2",
    "--log-interval", "1", "--warmup-steps", "2", "--eval-interval", "3", "--grad-accum", "2",
    "--sample-tokens", "0", "--device", "numpy",
]  # fmt: skip


def tinygpt(*argv: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tinygpt", "train", *map(str, argv)]
    return subprocess.run(
        command, cwd=cwd, env=worker_env(), capture_output=True, text=True, timeout=300
    )


def model_weights(run: Path) -> dict[str, np.ndarray]:
    from tinygpt.gpt.runs import load_checkpoint

    checkpoint = load_checkpoint(run / "last.safetensors")
    return {name: tensor.numpy() for name, tensor in checkpoint.model.items()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("nproc")
    (folder / "tiny.txt").write_text(TEXT)
    return folder


@pytest.fixture(scope="module")
def one_process(corpus) -> Path:
    result = tinygpt("--data", "tiny.txt", *TINY, "--max-steps", "6", "--name", "one", cwd=corpus)
    assert result.returncode == 0, result.stderr
    return corpus / "runs" / "one"


@needs_mpi
def test_nproc_2_writes_one_run_equal_to_one_process(corpus, one_process):
    args = ("--data", "tiny.txt", *TINY, "--max-steps", "6", "--name", "two", "--nproc", "2")
    result = tinygpt(*args, cwd=corpus)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("finished 6 steps") == 1  # rank 0 alone reports
    run = corpus / "runs" / "two"
    lines = (run / "metrics.jsonl").read_text().splitlines()
    steps = [line for line in lines if "train_loss" in line]
    assert len(steps) == 6  # one writer: no line twice
    reference = model_weights(one_process)
    got = model_weights(run)
    assert all(np.array_equal(got[k], reference[k]) for k in reference)


@needs_mpi
@pytest.mark.parametrize("resume_nproc", ["2", "1"])
def test_a_run_resumes_with_another_number_of_processes(corpus, one_process, resume_nproc):
    name = f"resumed{resume_nproc}"
    first = tinygpt(
        "--data", "tiny.txt", *TINY, "--max-steps", "3", "--name", name, "--nproc", "2", cwd=corpus
    )
    assert first.returncode == 0, first.stderr
    run = corpus / "runs" / name
    second = tinygpt("--resume", run, "--max-steps", "6", "--nproc", resume_nproc, cwd=corpus)
    assert second.returncode == 0, second.stderr
    assert "resuming at step 3" in second.stderr
    reference = model_weights(one_process)
    got = model_weights(run)
    # grad_accum 2 over 1 or 2 ranks sums the same two gradients: bitwise equal
    assert all(np.array_equal(got[k], reference[k]) for k in reference)


@needs_mpi
def test_nproc_that_does_not_divide_grad_accum_is_a_usage_error(corpus):
    result = tinygpt("--data", "tiny.txt", *TINY, "--max-steps", "2", "--nproc", "3", cwd=corpus)
    assert result.returncode != 0
    assert "--grad-accum 2 micro-batches cannot be shared by 3 processes" in result.stderr


def test_the_relaunch_passes_every_given_flag_but_nproc():
    parser = argparse.ArgumentParser()
    parser.add_argument("--resume", default=None)
    parser.add_argument("--nproc", type=int, default=None)
    for name, kind, _ in TRAIN_FLAGS:
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None)
    given = ["--max-steps", "7", "--learning-rate", "0.002", "--resume", "runs/x", "--nproc", "2"]
    argv = _train_argv(parser.parse_args(given), TRAIN_FLAGS)
    assert "--nproc" not in argv
    again = parser.parse_args(argv)
    assert (again.max_steps, again.learning_rate, again.resume) == (7, 0.002, "runs/x")


def test_nproc_below_one_is_a_usage_error():
    args = argparse.Namespace(nproc=0, resume=None)
    with pytest.raises(ConfigError, match="--nproc 0"):
        relaunch(args, [])


def test_nproc_1_trains_in_this_process():
    assert relaunch(argparse.Namespace(nproc=1, resume=None), []) is None
    assert tg.distributed.world_size() == 1
