"""The tiled attention kernels (kernels/attention_tiled.cu), checked without a GPU.

The real `CudaBackend` glue launches the real kernels compiled for the host, every thread of
a block a fiber (see `cuda_host.py`), and its results are compared with the numpy backend's:
forward (out, lse) and backward (dq, dk, dv), for shapes whose Tq and Tk are not multiples of
the tiles, causal with Tq < Tk and Tq > Tk, head sizes 16 to 128 and float16/32/64, in every
order the emulation runs a block's threads in. Planted bugs (a removed `__syncthreads`) must
make some order fail. `CUDA_HOST_ORDERS=all` (`nox -s cuda_emulate`) adds larger shapes.

Skips when CuPy, tinygpt-backend-cuda or a C++ compiler is missing.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from string import Template

import numpy as np
import pytest

pytest.importorskip("cupy", reason="CuPy is not installed (nox -s cuda_compile installs it)")
pytest.importorskip("tinygpt_backend_cuda.backend", reason="tinygpt-backend-cuda is not installed")

from tinygpt.dtypes import statistics_dtype  # noqa: E402
from tinygpt.testing.helpers import (  # noqa: E402
    assert_close,
    random_array,
    to_ndarray,
    to_numpy,
    wrap,
)
from tinygpt_backend_numpy.backend import NumpyBackend  # noqa: E402


def _load_cuda_host():
    """tests/backends/cuda_host.py, loaded by path (the suite imports in importlib mode)."""
    if "cuda_host" in sys.modules:
        return sys.modules["cuda_host"]
    spec = importlib.util.spec_from_file_location(
        "cuda_host", Path(__file__).with_name("cuda_host.py")
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["cuda_host"] = module
    spec.loader.exec_module(module)
    return module


cuda_host = _load_cuda_host()
COMPILER = cuda_host.find_compiler()
if COMPILER is None:
    pytest.skip("no C++ compiler (g++, c++ or $CXX) on PATH", allow_module_level=True)
fused, sources = cuda_host.fused, cuda_host.sources

ORDERS = list(cuda_host.SCHEDULES)
EVERYTHING = os.environ.get("CUDA_HOST_ORDERS") == "all"
#: (rtol, atol) against the numpy backend; float16 results may differ by one rounding
TOLERANCE = {"float16": (2e-3, 2e-3), "float32": (2e-5, 2e-5), "float64": (1e-12, 1e-12)}
#: (B, H, Tq, Tk, D, causal, head-split views): the tiles are 64 query (32 in float64) by
#: 32 key rows (16 in float64), so none of these is a multiple of both
SHAPES = [
    (1, 2, 70, 70, 16, True, False),  # 2 query tiles x 3 key tiles, the diagonal partial
    (1, 1, 5, 77, 64, True, True),  # causal Tq < Tk: 5 new queries after 72 cached keys
    (2, 1, 33, 40, 80, False, True),  # D = 80 runs in the D <= 128 build, 48 slots idle
    (1, 1, 1, 1, 128, True, False),  # a single query and key, the largest head size
    (2, 3, 1, 77, 64, True, True),  # one decode step after 76 cached keys
    (1, 1, 9, 35, 128, False, False),
]
if EVERYTHING:
    SHAPES += [
        (1, 2, 200, 200, 64, True, True),  # GPT's head size, 4 query x 7 key tiles
        (1, 1, 130, 300, 128, True, False),
        (3, 2, 65, 97, 40, False, True),
    ]
DTYPES_TESTED = ["float32", "float16", "float64"]


@pytest.fixture(scope="module")
def host_kernels(request, tmp_path_factory):
    """Attention's kernel sources, compiled (or found in pytest's cache) once per run; any
    other kernel the glue asks for is compiled on first use."""
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("cuda-host") if cache else tmp_path_factory.mktemp("cuda-host")
    compiler = cuda_host.HostCompiler(COMPILER, folder)
    wanted = [text for label, text in sources.all_sources() if label.startswith("attention")]
    compiler.compile(wanted)
    return cuda_host.HostKernels(compiler)


@pytest.fixture(scope="module")
def backend(host_kernels):
    with cuda_host.emulated_backend(host_kernels) as emulated:
        yield emulated


@pytest.fixture(scope="module")
def reference():
    return NumpyBackend()


# ------------------------------------------------------------------------------ helpers
def _arrays(shape, dtype_name, seed=1):
    """q, k, v, dout as NumPy arrays of shape (B, H, T, D)."""
    b, h, tq, tk, d = shape
    sizes = ((b, h, tq, d), (b, h, tk, d), (b, h, tk, d), (b, h, tq, d))
    return [random_array(size, dtype_name, -1, 1, seed=seed + n) for n, size in enumerate(sizes)]


def _views(be, arrays, head_split):
    """The arrays on `be`: dense, or stored (B, T, H, D) and permuted as GPT's heads are."""
    if not head_split:
        return [to_ndarray(be, a) for a in arrays]
    stored = [np.ascontiguousarray(a.transpose(0, 2, 1, 3)) for a in arrays]
    return [to_ndarray(be, a).permute((0, 2, 1, 3)) for a in stored]


def _run(be, arrays, causal, head_split=False):
    """(out, lse, dq, dk, dv) as NumPy arrays, from `be`'s forward and backward."""
    q, k, v, dout = _views(be, arrays, head_split)
    b, h, tq, d = q.shape
    tk = k.shape[2]
    scale = 1 / np.sqrt(d)
    out, lse = be.attention(q, k, v, causal, scale)
    out = wrap(be, out, (b, h, tq, d), q.dtype)
    lse = wrap(be, lse, (b, h, tq), statistics_dtype(q.dtype))
    grads = be.attention_backward(dout, q, k, v, out, lse, causal, scale)
    shapes = ((b, h, tq, d), (b, h, tk, d), (b, h, tk, d))
    grads = [to_numpy(wrap(be, g, s, q.dtype)) for g, s in zip(grads, shapes)]
    return [to_numpy(out), to_numpy(lse), *grads]


def _compare(got, expected, what, dtype_name):
    for name, g, e in zip(("out", "lse", "dq", "dk", "dv"), got, expected):
        tolerance = TOLERANCE[str(e.dtype)] if name == "lse" else TOLERANCE[dtype_name]
        assert_close(g, e, f"{what}: {name}", *tolerance)


# ------------------------------------------------------------------------------- choice
def test_attention_plan_is_the_one_place_the_kernels_are_chosen():
    plan = fused.attention_plan
    assert [plan(100, d) for d in (1, 16, 64, 65, 80, 128)] == [64, 64, 64, 128, 128, 128]
    assert plan(100, 129) is None  # past the largest build: the row kernels
    assert plan(100, 0) is None and plan(0, 64) is None  # empty: the row kernels' rules


def test_tiled_launch_fits_every_gpu():
    """<= 1024 threads and <= 48 KiB of shared memory for every dtype and build."""
    from tinygpt.dtypes import DTYPES

    for dtype_name in DTYPES_TESTED:
        rows, tile = sources.ATTENTION_TILES[sources.compute_type(dtype_name)]
        assert rows * sources.ATTENTION_GROUP <= cuda_host.MAX_THREADS
        assert rows <= 2 * tile  # a block stages its own rows through the two tiles
        itemsize = cuda_host.views.compute_dtype(DTYPES[dtype_name]).itemsize
        for head_size in sources.ATTENTION_HEAD_SIZES:
            for name in ("attention_tiled", "attention_tiled_backward_dkdv"):
                words = fused.tiled_shared_words(DTYPES[dtype_name], head_size, name)
                assert words * itemsize <= fused.SHARED_LIMIT, (dtype_name, head_size, name)


def test_the_kernels_are_deterministic_by_construction():
    """No atomics: each output row is summed by one thread group in a fixed order."""
    source = sources.fused_source("attention_tiled.cu", "float32")
    for name, kernel in cuda_host.kernels_of(source).items():
        assert "atomic" not in kernel.body, name


# -------------------------------------------------------------------- against numpy
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("dtype_name", DTYPES_TESTED)
@pytest.mark.parametrize(("b", "h", "tq", "tk", "d", "causal", "head_split"), SHAPES, ids=str)
def test_tiled_matches_numpy(
    backend, reference, host_kernels, order, dtype_name, b, h, tq, tk, d, causal, head_split
):
    shape = (b, h, tq, tk, d)
    arrays = _arrays(shape, dtype_name)
    before = host_kernels.calls["attention_tiled_backward_dkdv"]
    with cuda_host.schedule(order, seed=5):
        got = _run(backend, arrays, causal, head_split)
    assert host_kernels.calls["attention_tiled_backward_dkdv"] == before + 1  # not the rows'
    expected = _run(reference, arrays, causal, head_split)
    what = f"tiled attention {shape} {dtype_name} causal={causal} {head_split=} order={order}"
    _compare(got, expected, what, dtype_name)


@pytest.mark.parametrize("dtype_name", ["float32", "float16"])
def test_tiled_agrees_with_the_row_kernels(backend, monkeypatch, dtype_name):
    """The same call through attention.cu's row kernels (the plan forced to None)."""
    shape, causal = (1, 2, 37, 50, 24), True
    arrays = _arrays(shape, dtype_name)
    tiled = _run(backend, arrays, causal, True)
    monkeypatch.setattr(fused, "attention_plan", lambda Tk, D: None)
    rows = _run(backend, arrays, causal, True)
    _compare(tiled, rows, f"tiled vs row kernels {shape} {dtype_name}", dtype_name)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("plan", ["tiled", "rows"])
def test_queries_that_see_no_key(backend, reference, monkeypatch, order, plan):
    """Causal with Tq > Tk: the first Tq - Tk queries see no key: out 0, lse -inf and no
    gradient (numpy's composite gives NaN there); the rest is numpy's answer for the queries
    that do see keys alone (they sit at the same positions: Tk - Tq + i)."""
    if plan == "rows":
        monkeypatch.setattr(fused, "attention_plan", lambda Tk, D: None)
    shape, hidden = (1, 1, 75, 6, 16), 75 - 6
    arrays = _arrays(shape, "float32")
    with cuda_host.schedule(order, seed=3):
        out, lse, dq, dk, dv = _run(backend, arrays, True)
    assert not out[:, :, :hidden].any() and not dq[:, :, :hidden].any()
    assert np.all(lse[:, :, :hidden] == -np.inf)
    q, k, v, dout = arrays
    expected = _run(reference, [q[:, :, hidden:], k, v, dout[:, :, hidden:]], True)
    got = [out[:, :, hidden:], lse[:, :, hidden:], dq[:, :, hidden:], dk, dv]
    _compare(got, expected, f"{plan} with hidden queries, order={order}", "float32")


def test_one_block_loops_over_every_tile(backend, reference, monkeypatch):
    """With the grid capped at one block, the kernels' work loop covers every (b, h, tile)."""
    monkeypatch.setattr(fused, "MAX_BLOCKS", 1)
    arrays = _arrays((2, 2, 45, 70, 32), "float32")
    got = _run(backend, arrays, True, True)
    expected = _run(reference, arrays, True, True)
    _compare(got, expected, "one block", "float32")


@pytest.mark.skipif(not EVERYTHING, reason="slow here (3k blocks): CUDA_HOST_ORDERS=all runs it")
def test_many_heads_of_one_query(backend, reference):
    """1025 (b, h) pairs (5 x 205) of one query and key each: a block per pair and kernel."""
    arrays = _arrays((5, 205, 1, 1, 16), "float32")
    got = _run(backend, arrays, False, True)
    expected = _run(reference, arrays, False, True)
    _compare(got, expected, "1025 heads", "float32")


# ----------------------------------------------------------------- planted bugs are caught
#: each barrier of attention_tiled.cu that a mutant removes, by its line (the first match);
#: "none" removes nothing: the control, which must pass in every order
BARRIERS = {
    "none": "",
    "forward-tile-reuse": "__syncthreads();  // every thread is done with the previous tile "
    "(or with q)",
    "forward-tiles-loaded": "__syncthreads();  // the tiles are loaded",
    "dq-tile-reuse": "__syncthreads();  // every thread is done with the previous tile "
    "(or with out)",
    "dkdv-tile-reuse": "__syncthreads();  // every thread is done with the previous tile "
    "(or with v)",
    "store-rows": "__syncthreads();  // the rows are in `tile`",
}


def _without(line: str):
    """A `sources._template` that drops the first `line` from attention_tiled.cu."""
    real = sources._template.__wrapped__

    def template(name: str) -> Template:
        text = real(name).template
        if name != "attention_tiled.cu":
            return real(name)
        if not line:
            return real(name)
        assert line in text, f"the mutant's barrier is gone from attention_tiled.cu: {line!r}"
        return Template(text.replace(line, ";", 1))

    return template


@pytest.mark.parametrize("barrier", list(BARRIERS))
def test_a_removed_syncthreads_is_caught(host_kernels, reference, barrier):
    """The kernel without one barrier computes a wrong result (or deadlocks, or overruns) in
    some order; as it is, it passes in every order."""
    arrays, causal = _arrays((1, 2, 70, 70, 16), "float32"), False
    expected = _run(reference, arrays, causal)
    failing = []
    with pytest.MonkeyPatch.context() as patch, cuda_host.emulated_backend(host_kernels) as be:
        patch.setattr(sources, "_template", _without(BARRIERS[barrier]))
        patch.setattr(sources, "fused_source", sources.fused_source.__wrapped__)
        for order in ORDERS:
            with cuda_host.schedule(order, seed=11):
                try:
                    _compare(_run(be, arrays, causal), expected, barrier, "float32")
                except (AssertionError, cuda_host.BlockError):
                    failing.append(order)
    if barrier == "none":
        assert failing == [], "the harness itself fails: a mutant's failure would mean nothing"
    else:
        assert failing, f"no order exposed the missing barrier {barrier!r}"
