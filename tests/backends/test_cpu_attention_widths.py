"""attention_tiles.h is compiled once per vector width (16 lanes AVX-512, 8 AVX2, 4 SSE):
every width must give the numpy backend's forward and backward, on shapes that are and are
not multiples of each width (queries, keys, head size), causal with Tq < Tk included.

The SIMD level is fixed per process (`TINYGPT_CPU_SIMD`, read once), so each level runs in
a child process; the level this CPU picks by itself is covered by the rest of the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("tinygpt_backend_cpu", reason="tinygpt-backend-cpu is not installed")

CHECK = """
import numpy as np
import tinygpt as tg
import tinygpt.nn.functional as F
import tinygpt_backend_cpu.runtime as runtime

rng = np.random.default_rng(3)
worst = 0.0
# (B, H, Tq, Tk, D, causal): whole vectors and ragged tails for 4, 8 and 16 lanes
shapes = [
    (2, 2, 64, 64, 32, True), (1, 3, 17, 17, 5, True), (2, 1, 7, 23, 13, True),
    (1, 2, 33, 33, 40, False), (1, 1, 1, 9, 8, True), (3, 2, 24, 24, 16, True),
    (1, 2, 12, 30, 20, False), (1, 1, 5, 5, 1, True),
]
for B, H, tq, tk, d, causal in shapes:
    q, k, v, g = (rng.standard_normal(s).astype(np.float32) for s in
                  [(B, H, tq, d), (B, H, tk, d), (B, H, tk, d), (B, H, tq, d)])
    results = {}
    for device in ("cpu", "numpy"):
        qt, kt, vt = (tg.tensor(a, device=device, requires_grad=True) for a in (q, k, v))
        y = F.scaled_dot_product_attention(qt, kt, vt, is_causal=causal)
        y.backward(tg.tensor(g, device=device))
        results[device] = [y.numpy(), qt.grad.numpy(), kt.grad.numpy(), vt.grad.numpy()]
    for got, want in zip(results["cpu"], results["numpy"]):
        assert np.isfinite(want).all()
        worst = max(worst, float(np.max(np.abs(got - want) / (1.0 + np.abs(want)))))
print(runtime.simd_variant(), worst)
"""


@pytest.mark.parametrize("level", ["baseline", "avx2", "native"])
def test_every_width_of_the_tiled_attention_matches_numpy(level):
    env_line = (
        "" if level == "native" else f"import os; os.environ['TINYGPT_CPU_SIMD'] = '{level}'\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", env_line + textwrap.dedent(CHECK)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    simd, worst = child.stdout.split()
    if level != "native":
        assert simd.startswith(level) or simd == "baseline"
    assert float(worst) < 2e-5, f"{simd}: attention differs from numpy by {worst}"
