"""The cpu backend's one-row matmul (gemv_f32.h): x @ W.T for a (1, K) x, as decoding runs it.

Its 16 lanes are folded in a fixed order, so every thread count gives the same bits (SIMD
variants differ only by FMA contraction, within float32 rounding); and it is as accurate as
a float32 dot product (checked against float64 with a rigorous bound).
Each SIMD level runs in a child process (`TINYGPT_CPU_SIMD` is read once per process).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("tinygpt_backend_cpu", reason="tinygpt-backend-cpu is not installed")

CHECK = """
import sys
import numpy as np
import tinygpt as tg
import tinygpt.nn.functional as F

rng = np.random.default_rng(9)
shapes = [(1536, 384), (384, 1536), (65, 128), (7, 5), (1000, 33), (3, 17), (129, 16), (1, 1)]
results = []
for threads in (1, 2):
    tg.set_num_threads(threads)
    for n, k in shapes:
        x = rng.standard_normal((1, k)).astype(np.float32)
        w = rng.standard_normal((n, k)).astype(np.float32)
        y = F.linear(tg.tensor(x, device="cpu"), tg.tensor(w, device="cpu")).numpy()
        exact = x.astype(np.float64) @ w.T.astype(np.float64)
        bound = 2 * k * np.finfo(np.float32).eps * (np.abs(x) @ np.abs(w.T)) + 1e-30
        assert np.all(np.abs(y - exact) <= bound), (n, k, float(np.max(np.abs(y - exact))))
        results.append(y)
    rng = np.random.default_rng(9)  # the same data at 2 threads
np.save(sys.argv[1], np.concatenate([r.ravel() for r in results]))
"""


def _run(level: str, path) -> np.ndarray:
    prefix = "" if level == "native" else f"import os; os.environ['TINYGPT_CPU_SIMD'] = '{level}'\n"
    child = subprocess.run(
        [sys.executable, "-c", prefix + textwrap.dedent(CHECK), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    return np.load(path)


def test_one_row_matmul_is_accurate_on_every_simd_level_and_the_same_on_any_threads(tmp_path):
    got = {
        level: _run(level, tmp_path / f"{level}.npy") for level in ("native", "avx2", "baseline")
    }
    for level, values in got.items():
        half = values.size // 2
        np.testing.assert_array_equal(
            values[:half], values[half:], err_msg=f"{level}: 1 vs 2 threads"
        )
        np.testing.assert_allclose(values, got["native"], rtol=1e-5, atol=1e-5, err_msg=level)
