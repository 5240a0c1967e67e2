"""The cpu backend as built and installed: OpenMP, flags, threads, OpenBLAS, registration.

Its kernels are checked by the conformance kit (`pytest --pyargs tinygpt.testing
--tinygpt-backend=cpu`) and by the whole suite with TINYGPT_DEVICE=cpu; this file checks what
the kit cannot see: how the extension was compiled and how it plugs into tinygpt.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import tinygpt as tg

cpu = pytest.importorskip("tinygpt_backend_cpu", reason="tinygpt-backend-cpu is not installed")


@pytest.fixture
def restore_threads():
    before = cpu.get_num_threads()
    yield
    cpu.set_num_threads(before)


def test_openmp_is_compiled_in():
    assert cpu.openmp_enabled(), "the extension was built without OpenMP: rebuild it"
    assert cpu.build_info()["openmp"] >= 201107  # OpenMP 3.1 or newer


def test_build_flags():
    info = cpu.build_info()
    assert info["optimized"], f"built without optimization: {info}"
    assert not info["fast_math"], "built with -ffast-math, which breaks nan/inf semantics"
    assert info["no_math_errno"], f"built without -fno-math-errno: {info}"
    # wheels must run on any x86-64: AVX2 only through run-time dispatch
    assert not info["avx2_baseline"], "built for AVX2 CPUs only (-mavx2 / -march)"
    assert info["simd"] in ("baseline", "avx2+fma", "avx512")


def test_set_num_threads_round_trip(restore_threads):
    cpu.set_num_threads(1)
    assert cpu.get_num_threads() == 1
    cpu.set_num_threads(2)
    assert cpu.get_num_threads() == 2


def test_set_num_threads_rejects_zero(restore_threads):
    with pytest.raises(ValueError, match="at least 1"):
        cpu.set_num_threads(0)


def test_openblas_is_loaded():
    from tinygpt_backend_cpu.native import runtime

    info = runtime.blas_info()
    assert "OpenBLAS" in info["config"] or "DYNAMIC_ARCH" in info["config"]
    assert info["threads"] >= 1


def test_registered_above_numpy():
    rows = {row.name: row for row in tg.backends()}
    assert rows["cpu"].available, rows["cpu"].reason
    assert rows["cpu"].priority == 10
    assert rows["cpu"].priority > rows["numpy"].priority


def test_probe_explains_a_broken_extension(monkeypatch):
    from tinygpt_backend_cpu import plugin

    # None in sys.modules makes `from . import native` raise ImportError, as a .so that
    # fails to load would (the package attribute would short-cut the import: drop it too)
    monkeypatch.setitem(sys.modules, "tinygpt_backend_cpu.native", None)
    monkeypatch.delattr(cpu, "native", raising=False)
    reason = plugin._probe()
    assert reason is not None
    assert "compiled extension" in reason and "reinstall" in reason


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_kernels_run_without_numpy():
    """NumPy is core's host-conversion tool, never a runtime dependency of this backend."""
    out = _run(
        """
        import sys
        import tinygpt
        from tinygpt.device import Device
        from tinygpt.dtypes import float32
        from tinygpt.ndarray import NDArray
        from tinygpt_backend_cpu.backend import CpuBackend

        backend = CpuBackend(Device("cpu"))
        x = NDArray(backend, backend.full(4, float32, 1.5), (2, 2), float32)
        y = NDArray(backend, backend.matmul(x, x.transpose(0, 1)), (2, 2), float32)
        s = NDArray(backend, backend.softmax(y, 1, False), (2, 2), float32)
        print(len(bytes(backend.to_host(s))), "numpy" in sys.modules)
        """
    )
    assert out == "16 False"


def test_probe_does_not_import_numpy():
    out = _run(
        """
        import sys
        from tinygpt_backend_cpu import plugin
        print(plugin._probe(), "numpy" in sys.modules)
        """
    )
    assert out == "None False"


@pytest.mark.parametrize("level", ["baseline", "avx2"])
def test_every_simd_variant_computes_the_same(level):
    """The vecmath.h loops exist once per instruction set; check the ones this CPU skips."""
    out = _run(
        f"""
        import os
        os.environ["TINYGPT_CPU_SIMD"] = "{level}"
        import numpy as np
        import tinygpt as tg
        import tinygpt_backend_cpu as cpu

        x = np.random.default_rng(0).uniform(-30, 30, (257, 300)).astype(np.float32)
        t = tg.tensor(x, device="cpu")
        e = np.exp(x.astype(np.float64) - x.max(1, keepdims=True))
        checks = [
            (t.exp().numpy(), np.exp(x.astype(np.float64))),
            (t.tanh().numpy(), np.tanh(x.astype(np.float64))),
            (t.sigmoid().numpy(), 1 / (1 + np.exp(-x.astype(np.float64)))),
            (tg.softmax(t, -1).numpy(), e / e.sum(1, keepdims=True)),
        ]
        worst = max(
            float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-30)))
            for got, want in checks
        )
        print(cpu.build_info()["simd"], worst < 5e-6)  # exp(x - m): |x - m| * eps
        """
    )
    variant = {"baseline": "baseline", "avx2": ("avx2+fma", "baseline")}[level]
    simd, ok = out.split()
    assert simd in variant
    assert ok == "True", f"the {simd} variant is off by more than 5e-6 relative"
