"""The examples run to completion with tiny settings, their loss falls, and they read the
MNIST / CIFAR-10 file formats when given `--data`."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, *args: str) -> str:
    env = dict(os.environ)
    # NOTE: tiny matmuls gain nothing from BLAS threads, and on a busy machine spinning
    # threads make them ~10x slower; one thread keeps these runs short and steady
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    assert "loss" in result.stdout and "->" in result.stdout
    return result.stdout


def write_idx(path: Path, array: np.ndarray) -> None:
    """An idx file: 0, 0, type 0x08 (ubyte), ndim, then big-endian int32 dims and the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">i4").tobytes()
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def fake_images(count: int, shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images that are noisy copies of ten fixed patterns, and their labels."""
    prototypes = np.random.default_rng(99).integers(0, 256, size=(10, *shape))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=count)
    noisy = prototypes[labels] + rng.normal(0, 40, size=(count, *shape))
    return np.clip(noisy, 0, 255).astype(np.uint8), labels


def test_mnist_mlp_on_synthetic_data():
    out = run_example("mnist_mlp.py", "--steps", "30", "--batch-size", "32")
    assert "test accuracy" in out


def test_mnist_mlp_reads_idx_files(tmp_path):
    for prefix, count, seed in (("train", 256, 0), ("t10k", 64, 1)):
        images, labels = fake_images(count, (28, 28), seed)
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", images)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", labels)
    out = run_example("mnist_mlp.py", "--data", str(tmp_path), "--steps", "30")
    assert "256 training images" in out


@pytest.mark.parametrize("data", [False, True], ids=["synthetic", "batches"])
def test_cifar_resnet(tmp_path, data):
    args = ["--steps", "50", "--batch-size", "16", "--width", "8"]
    if data:
        names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        for seed, name in enumerate(names):
            images, labels = fake_images(32, (3, 32, 32), seed)
            batch = {b"data": images.reshape(32, -1), b"labels": labels.tolist()}
            (tmp_path / name).write_bytes(pickle.dumps(batch, protocol=2))
        args += ["--data", str(tmp_path)]
    out = run_example("cifar_resnet.py", *args)
    assert "test accuracy" in out


def test_char_lstm(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    args = ["--steps", "40", "--seq-len", "16", "--hidden", "64", "--sample", "20"]
    out = run_example("char_lstm.py", *args, "--data", str(text))
    assert "vocabulary of 28" in out and "sample:" in out


def test_char_lstm_on_its_built_in_text():
    run_example(
        "char_lstm.py", "--steps", "40", "--seq-len", "16", "--hidden", "64", "--sample", "0"
    )
