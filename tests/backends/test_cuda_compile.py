"""The CUDA backend without a GPU: every kernel compiles, and discovery explains itself.

- Every kernel instantiation (`tinygpt_backend_cuda.sources.all_sources`) is compiled with
  NVRTC (through CuPy's `cupy_backends.cuda.libs.nvrtc`, which needs no driver), one test per
  instantiation; and, where `nvcc` is on PATH, all of them in one nvcc run.
- The fused kernels' float16 and float32 instantiations compute in float: their PTX has no
  double-precision instruction (a bare `0.5 * x` or `erf(x)` on a float would promote it).
- The plugin's probe says why `cuda` is unavailable (no CuPy, no GPU), never raises, and
  discovery never imports the kernels.

`nox -s cuda_compile` installs CuPy and NVRTC and runs this file.
"""

from __future__ import annotations

import concurrent.futures
import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import types

import pytest

sources = pytest.importorskip(
    "tinygpt_backend_cuda.sources", reason="tinygpt-backend-cuda is not installed"
)
from tinygpt_backend_cuda import plugin  # noqa: E402 - after the importorskip

#: Ampere: the oldest architecture CUDA 13's nvcc still targets, and what NVRTC checks too.
ARCH = "compute_80"
SOURCES = dict(sources.all_sources())
EXTERN_C = 'extern "C" '


def _nvrtc():
    """CuPy's NVRTC binding when it can actually compile here, else None."""
    try:
        from cupy_backends.cuda.libs import nvrtc

        nvrtc.getVersion()
    except Exception:  # noqa: BLE001 - no CuPy, or no libnvrtc: skip with the reason below
        return None
    return nvrtc


NVRTC = _nvrtc()
NVCC = shutil.which("nvcc")
GPU = plugin._probe() is None


# ------------------------------------------------------------------------- compile checks
NO_NVRTC = pytest.mark.skipif(
    NVRTC is None,
    reason="NVRTC unavailable: pip install cupy-cuda12x nvidia-cuda-nvrtc-cu12 "
    "(or run `nox -s cuda_compile`)",
)
#: the fused kernel families, whose float16/float32 instantiations must not touch double
FUSED_FAMILIES = (*sources.FUSED_FILES, "gelu.cu", "adamw.cu")
SINGLE_PRECISION_FUSED = [
    label
    for label in SOURCES
    if label.split("/")[0] in FUSED_FAMILIES and label.split("/")[1] in ("float16", "float32")
]


@functools.cache
def _ptx(label: str) -> str:
    """The PTX of one instantiation, or a test failure with NVRTC's log."""
    program = NVRTC.createProgram(SOURCES[label], label.replace("/", "_") + ".cu", [], [])
    try:
        NVRTC.compileProgram(program, [f"--gpu-architecture={ARCH}", "--std=c++17"])
    except Exception as error:  # noqa: BLE001 - re-raised with the compiler's log
        log = NVRTC.getProgramLog(program)
        pytest.fail(f"{label} does not compile with NVRTC ({error}):\n{log}")
    ptx = NVRTC.getPTX(program)
    return ptx.decode() if isinstance(ptx, bytes) else ptx


@NO_NVRTC
@pytest.mark.parametrize("label", list(SOURCES))
def test_kernel_compiles_with_nvrtc(label: str) -> None:
    assert _ptx(label)


@NO_NVRTC
@pytest.mark.parametrize("label", SINGLE_PRECISION_FUSED)
def test_single_precision_fused_kernels_stay_in_float(label: str) -> None:
    doubles = [line.strip() for line in _ptx(label).splitlines() if ".f64" in line]
    assert not doubles, f"{label} computes in double: {doubles[:5]}"


@pytest.mark.skipif(NVCC is None, reason="nvcc is not on PATH")
def test_every_kernel_compiles_with_nvcc(tmp_path) -> None:
    """All instantiations with nvcc, batched: each in its own namespace, without `extern "C"`
    (the only change: C linkage would make the kernel names collide), two files at a time."""
    parts = [
        f"namespace k{i} {{  // {label}\n{text.replace(EXTERN_C, '')}\n}}\n"
        for i, (label, text) in enumerate(SOURCES.items())
    ]
    halves = [parts[: len(parts) // 2], parts[len(parts) // 2 :]]
    commands = []
    for n, half in enumerate(halves):
        path = tmp_path / f"kernels{n}.cu"
        path.write_text("".join(half))
        ptx = str(path.with_suffix(".ptx"))
        commands.append([NVCC, "--ptx", f"-arch={ARCH}", "-std=c++17", str(path), "-o", ptx])
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(lambda c: subprocess.run(c, capture_output=True, text=True), commands)
        )
    for result in results:
        assert result.returncode == 0, f"nvcc failed:\n{result.stderr[-5000:]}"


def test_every_dtype_has_its_kernels() -> None:
    """The instantiation table covers every dtype the backend lists, and every gelu form."""
    from tinygpt.backend.protocol import GELU_APPROXIMATIONS

    assert set(sources.GELU_APPROXIMATIONS) == GELU_APPROXIMATIONS
    for dtype in ("float16", "float32", "float64", "int32", "int64", "bool"):
        assert f"where/{dtype}" in SOURCES
        assert f"reduce/sum/{dtype}" in SOURCES
        assert f"random/{dtype}" in SOURCES
    for dtype in sources.FLOATS:
        assert f"attention.cu/{dtype}" in SOURCES
        assert f"adamw.cu/{dtype}" in SOURCES
        for approximate in GELU_APPROXIMATIONS:
            assert f"gelu.cu/{dtype}/{approximate}" in SOURCES


# --------------------------------------------------------------------------- the probe
def test_probe_without_cupy(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "cupy" else real(name, *a)
    )
    reason = plugin._probe()
    assert reason == (
        "CuPy is not installed (from the tinygpt checkout: "
        "pip install './tinygpt-backend-cuda[cuda12]')"
    )


def _fake_cupy(monkeypatch, get_device_count) -> None:
    """Pretend CuPy is installed, with this getDeviceCount."""
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=get_device_count)
    )
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())


def test_probe_without_driver(monkeypatch) -> None:
    def no_driver() -> int:
        raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")

    _fake_cupy(monkeypatch, no_driver)
    reason = plugin._probe()
    assert reason.startswith("no CUDA GPU found (RuntimeError: cudaErrorInsufficientDriver")
    assert plugin._device_count() == 0


def test_probe_with_zero_devices(monkeypatch) -> None:
    _fake_cupy(monkeypatch, lambda: 0)
    assert plugin._probe() == "no CUDA GPU found (the CUDA runtime reports 0 devices)"


def test_probe_with_two_devices(monkeypatch) -> None:
    _fake_cupy(monkeypatch, lambda: 2)
    assert plugin._probe() is None
    assert plugin._device_count() == 2


def test_probe_when_cupy_fails_to_import(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` raises ImportError
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    assert plugin._probe().startswith("no CUDA GPU found (ModuleNotFoundError: import of cupy")


# ----------------------------------------------------------------- discovery, end to end
def _python(*args: str) -> str:
    env = {**os.environ}
    env.pop("TINYGPT_DEVICE", None)
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, check=True
    )
    return result.stdout


def test_discovery_never_imports_the_kernels() -> None:
    code = (
        "import sys, tinygpt as tg\n"
        "from tinygpt.backend import registry\n"
        "names = [info.name for info in registry.backends()]\n"
        "assert 'cuda' in names, names\n"
        "print(sorted(m for m in sys.modules if m.startswith('tinygpt_backend_cuda')))\n"
    )
    assert _python("-c", code).strip() == "['tinygpt_backend_cuda', 'tinygpt_backend_cuda.plugin']"


@pytest.mark.skipif(GPU, reason="a GPU is present: cuda is available here")
def test_backends_command_says_why_cuda_is_unavailable() -> None:
    output = _python("-m", "tinygpt", "backends")
    line = next(row for row in output.splitlines() if row.startswith("cuda "))
    assert " no " in line
    assert "CuPy is not installed" in line or "no CUDA GPU found" in line


@pytest.mark.skipif(GPU, reason="a GPU is present: cuda is available here")
def test_device_fixture_leaves_cuda_out() -> None:
    from tinygpt.backend import registry

    table = {info.name: info for info in registry.backends()}
    assert not table["cuda"].available
    assert table["cuda"].reason
    assert registry.default_device().type != "cuda"


# ------------------------------------------------------------------------------ TF32 switch
def test_tf32_switch_calls_cupy_with_its_documented_arguments(monkeypatch):
    """`TINYGPT_CUDA_TF32=1` sets float32's cuBLAS compute type to TF32. CuPy 14 keeps one
    compute type per dtype, `set_compute_type(dtype, compute_type)` (its docstring is the
    signature; the real call needs a GPU, so it is recorded here and checked against it)."""
    linalg = pytest.importorskip("cupy._core._routines_linalg", reason="CuPy is not installed")
    import numpy as np

    from tinygpt_backend_cuda.backend import enable_tf32

    documented = linalg.set_compute_type.__doc__.splitlines()[0]
    assert documented == "set_compute_type(dtype, compute_type)"
    calls = []
    monkeypatch.setattr(linalg, "set_compute_type", lambda *args: calls.append(args))
    enable_tf32()
    assert calls == [(np.float32, linalg.COMPUTE_TYPE_TF32)]


def test_first_contact_script_parses():
    """benchmarks/cuda_first_contact.sh, the prepared first GPU run, is valid bash."""
    script = os.path.join(
        os.path.dirname(__file__), "..", "..", "benchmarks", "cuda_first_contact.sh"
    )
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    result = subprocess.run([bash, "-n", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
