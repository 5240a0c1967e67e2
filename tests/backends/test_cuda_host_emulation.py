"""The CUDA backend's numbers, checked without a GPU: the conformance kit against its kernels
run on the CPU (see `cuda_host.py` for how, and for what cannot run that way).

The real `CudaBackend` (its Python glue unchanged) launches the real rendered kernels, compiled
for the host; the kit's own test functions run against it, for every dtype they cover
(float16 included). Kernels that need a block of threads (reductions, softmax, layer norm,
cross-entropy, attention) and cuBLAS's matmul are left out; `test_what_runs_here` lists them.

Skips when CuPy, tinygpt-backend-cuda or a C++ compiler is missing; a kernel that fails to
compile fails the test. Compiled libraries are cached in pytest's cache (``cuda-host``), keyed
by their source. `nox -s cuda_compile` runs this file.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cupy", reason="CuPy is not installed (nox -s cuda_compile installs it)")
pytest.importorskip("tinygpt_backend_cuda.backend", reason="tinygpt-backend-cuda is not installed")


def _load_cuda_host():
    # NOTE: the suite imports test files in importlib mode, so a sibling module is not on
    # sys.path: load it by path (registered first, as dataclasses need).
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

# The kit's tests, collected here as this module's own: they take `kit_backend`, which the
# fixture below provides (the emulated backend) in place of the kit plugin's.
from tinygpt.testing.helpers import to_ndarray, to_numpy, wrap  # noqa: E402
from tinygpt.testing.test_conformance import test_random_views_copy_and_elementwise  # noqa: E402
from tinygpt.testing.test_conformance_attention import (  # noqa: E402
    test_attention,
    test_attention_backward,
    test_attention_backward_finite_differences,
)
from tinygpt.testing.test_conformance_bounds import (  # noqa: E402
    test_cross_entropy_bad_target,
    test_cross_entropy_ignored_target_is_not_checked,
    test_gather_out_of_bounds,
    test_scatter_add_out_of_bounds_writes_nothing,
)
from tinygpt.testing.test_conformance_elementwise import (  # noqa: E402
    test_binary,
    test_binary_scalar,
    test_erf_tails,
    test_sigmoid_is_stable,
    test_unary,
    test_where,
)
from tinygpt.testing.test_conformance_fused import (  # noqa: E402
    _cross_entropy_reference,
    test_cross_entropy,
    test_cross_entropy_backward,
    test_cross_entropy_backward_finite_differences,
    test_cross_entropy_float16_keeps_a_float32_logsumexp,
    test_layer_norm,
    test_layer_norm_backward,
    test_layer_norm_backward_finite_differences,
    test_softmax,
    test_softmax_huge_logits,
)
from tinygpt.testing.test_conformance_gelu_adamw import (  # noqa: E402
    test_adamw,
    test_gelu,
    test_gelu_backward,
    test_gelu_backward_finite_differences,
    test_gelu_extremes,
)
from tinygpt.testing.test_conformance_matmul_index import (  # noqa: E402
    test_gather,
    test_scatter_add,
)
from tinygpt.testing.test_conformance_memory import (  # noqa: E402
    test_cast,
    test_cast_result_is_new,
    test_copy,
    test_copy_does_not_alias,
    test_empty,
    test_fill,
    test_from_host_copies,
    test_full,
    test_host_round_trip,
    test_setitem,
    test_setitem_overlapping,
    test_to_host_copies,
)
from tinygpt.testing.test_conformance_random import (  # noqa: E402
    test_bernoulli,
    test_normal,
    test_random_bits_known_answers,
    test_random_is_the_spec_bit_for_bit,
    test_reproducible_per_seed,
    test_sizes_and_dtypes,
    test_uniform,
)
from tinygpt.testing.test_conformance_reduce import (  # noqa: E402
    test_arg_reduce,
    test_arg_reduce_ties_take_first_index,
    test_float16_sum_accumulates_precisely,
    test_reduce,
    test_reduce_size_one_dims,
    test_sum_over_empty_axes_is_zero,
)
from tinygpt.testing.test_conformance_sort import (  # noqa: E402
    test_argsort_edge_shapes,
    test_argsort_matches_numpy,
    test_argsort_puts_nan_last_ascending_and_first_descending,
)

#: the kit's tests that run here (every one that needs no reduction, matmul or fused block kernel)
KIT_TESTS = [
    test_random_views_copy_and_elementwise,
    *(test_unary, test_sigmoid_is_stable, test_erf_tails, test_binary, test_binary_scalar),
    *(test_where, test_gelu, test_gelu_extremes, test_gelu_backward),
    *(test_gelu_backward_finite_differences, test_adamw, test_gather, test_scatter_add),
    *(test_empty, test_full, test_host_round_trip, test_from_host_copies, test_to_host_copies),
    *(test_copy, test_copy_does_not_alias, test_setitem, test_setitem_overlapping, test_fill),
    *(test_cast, test_cast_result_is_new, test_reproducible_per_seed, test_sizes_and_dtypes),
    *(test_uniform, test_normal, test_bernoulli),
    *(test_random_bits_known_answers, test_random_is_the_spec_bit_for_bit),
    # an index out of range is found by check.cu on the "device", raised at synchronize()
    *(test_gather_out_of_bounds, test_scatter_add_out_of_bounds_writes_nothing),
    *(test_argsort_matches_numpy, test_argsort_puts_nan_last_ascending_and_first_descending),
    test_argsort_edge_shapes,
]
#: the kit's tests of the block kernels (every thread of a block a fiber, see cuda_host_blocks.h)
BLOCK_KIT_TESTS = [
    *(test_reduce, test_reduce_size_one_dims, test_sum_over_empty_axes_is_zero),
    *(
        test_float16_sum_accumulates_precisely,
        test_arg_reduce,
        test_arg_reduce_ties_take_first_index,
    ),
    *(test_softmax, test_softmax_huge_logits, test_layer_norm, test_layer_norm_backward),
    *(test_layer_norm_backward_finite_differences, test_cross_entropy, test_cross_entropy_backward),
    *(
        test_cross_entropy_float16_keeps_a_float32_logsumexp,
        test_cross_entropy_backward_finite_differences,
    ),
    *(test_cross_entropy_bad_target, test_cross_entropy_ignored_target_is_not_checked),
    *(test_attention, test_attention_backward, test_attention_backward_finite_differences),
]
#: kernel families (the first part of a `sources.all_sources` label): all grid-stride loops
#: (one host call runs every iteration), or with kernels that need their block (fibers)
GRID_STRIDE = {"unary", "binary", "scalar", "cast", "where", "setitem", "index", "random", "check"}
GRID_STRIDE |= {"gelu.cu", "adamw.cu", "sort"}
BLOCKS = {"reduce", "arg_reduce", "matmul_tiled", "softmax.cu", "layer_norm.cu"}
BLOCKS |= {"cross_entropy.cu", "attention.cu", "attention_tiled.cu"}
#: the orders a block's threads run in between barriers: CI runs two, `nox -s cuda_emulate`
#: all (CUDA_HOST_ORDERS=all); a missing barrier shows only under some orders
ORDERS = ["forward", "warp-greedy"]
if os.environ.get("CUDA_HOST_ORDERS") == "all":
    ORDERS = list(cuda_host.SCHEDULES)


@pytest.fixture(scope="module")
def host_kernels(request, tmp_path_factory):
    """Every emulatable kernel source, compiled (or found in the cache) once per run."""
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("cuda-host") if cache else tmp_path_factory.mktemp("cuda-host")
    compiler = cuda_host.HostCompiler(COMPILER, folder)
    compiler.compile(list(cuda_host.emulatable_sources().values()))
    return cuda_host.HostKernels(compiler)


@pytest.fixture(scope="module", params=ORDERS)
def kit_backend(request, host_kernels):
    with cuda_host.emulated_backend(host_kernels) as backend:
        with cuda_host.schedule(request.param, seed=7):
            yield backend


# --------------------------------------------------------------------- the harness itself
def test_what_runs_here():
    """Every kernel runs here: which families are grid-stride loops and which need a block."""
    families = {label.split("/")[0]: False for label, _ in cuda_host.sources.all_sources()}
    for label, source in cuda_host.emulatable_sources().items():
        kernels = cuda_host.kernels_of(source).values()
        families[label.split("/")[0]] |= any(cuda_host.block_features(k) for k in kernels)
    assert {name for name, block in families.items() if not block} == GRID_STRIDE
    assert {name for name, block in families.items() if block} == BLOCKS


def test_the_kernels_really_run(kit_backend, host_kernels):
    """The kit's tests above go through the host kernels, not some fallback."""
    before = host_kernels.calls["binary"]
    x = to_ndarray(kit_backend, np.arange(6, dtype=np.float32).reshape(2, 3))
    got = to_numpy(wrap(kit_backend, kit_backend.binary("mul", x, x), (2, 3), x.dtype))
    assert got.tolist() == [[0, 1, 4], [9, 16, 25]]
    assert host_kernels.calls["binary"] == before + 1
    assert isinstance(x.buffer, np.ndarray)


def test_block_kernels_run_as_fibers(kit_backend, host_kernels):
    """A reduction's kernel needs its whole block (block_reduce): it runs, with every thread."""
    before = host_kernels.calls["reduce"]
    x = to_ndarray(kit_backend, np.arange(600, dtype=np.float32).reshape(2, 300))
    got = to_numpy(wrap(kit_backend, kit_backend.reduce("sum", x, (1,)), (2,), x.dtype))
    assert got.tolist() == [44850.0, 134850.0]
    assert host_kernels.calls["reduce"] == before + 1


def test_launch_arguments_are_checked(host_kernels):
    """A Python float where the kernel takes `float` would be a double on the GPU: refused."""
    source = cuda_host.sources.scalar_source("add", "float32", False)
    kernel = host_kernels(source, "scalar")
    x, meta, out = np.ones(4, np.float32), np.array([1, 0, 4, 1], np.int64), np.empty(4, np.float32)
    with pytest.raises(
        TypeError, match=r"scalar argument 2 \(float\): expected float32, got float"
    ):
        kernel((1,), (256,), (x, meta, 2.0, out, np.int64(4)))
    with pytest.raises(TypeError, match="expected contiguous float32, got float64"):
        kernel((1,), (256,), (x.astype(np.float64), meta, np.float32(2), out, np.int64(4)))
    too_far = np.array([1, 1, 4, 1], np.int64)  # 4 elements from offset 1: one past the end
    with pytest.raises(IndexError, match=r"view xp reaches elements \[1, 5\) of a buffer of 4"):
        kernel((1,), (256,), (x, too_far, np.float32(2), out, np.int64(4)))
    kernel((1,), (256,), (x, meta, np.float32(2), out, np.int64(4)))
    assert out.tolist() == [3.0] * 4


# ------------------------------------------------------------- at(): the view addressing
#: a probe kernel: out[j] = at(meta, positions[j]), the prelude's view addressing alone
AT_PROBE = """
extern "C" __global__ void at_probe(const i64* m, const i64* __restrict__ positions,
                                    i64* __restrict__ out, i64 n) {
    GRID_STRIDE_LOOP(j, n) { out[j] = at(m, positions[j]); }
}
"""
#: (shape, strides, offset): dense, dense with odd size-1 strides, permuted, broadcast,
#: reversed, and a view of 2**31 + 7 elements (64-bit division; only offsets are computed)
AT_LAYOUTS = [
    ((3, 4), (4, 1), 0),
    ((3, 1, 4), (4, 99, 1), 5),
    ((4, 3), (1, 4), 0),
    ((2, 3, 5), (0, 5, 1), 2),
    ((3, 4), (-4, -1), 11),
    ((2**31 + 7, 3), (3, 1), 1),
    ((2**31 + 7, 3), (1, 2**31 + 7), 0),
]


def _expected_offsets(shape, strides, offset, positions):
    coords = np.unravel_index(np.array(positions, np.int64), shape)
    return offset + sum(c.astype(np.int64) * s for c, s in zip(coords, strides))


@pytest.mark.parametrize(("shape", "strides", "offset"), AT_LAYOUTS, ids=str)
def test_at_fast_paths_address_the_same_elements(host_kernels, shape, strides, offset):
    """prelude.cuh's at(): the dense and 32-bit fast paths (chosen by views.layout_flags)
    give the general 64-bit path's buffer index, for every flag the host may set."""
    import ctypes

    views = cuda_host.views
    source = cuda_host.sources._prelude() + AT_PROBE
    probe = host_kernels.compiler.function(source, "at_probe")
    total = int(np.prod(shape))
    positions = np.unique(np.r_[0 : min(total, 60), total - 5 : total, total // 3 : total // 3 + 5])
    positions = positions.astype(np.int64)
    expected = _expected_offsets(shape, strides, offset, positions)
    chosen = views.layout_flags(shape, strides)
    for flags in {0, chosen, chosen & views.META_INT32}:
        meta = np.array([len(shape) | flags, offset, *shape, *strides], np.int64)
        out = np.zeros(len(positions), np.int64)
        pointers = (meta.ctypes.data, positions.ctypes.data, out.ctypes.data)
        probe(*(ctypes.c_void_p(p) for p in pointers), ctypes.c_int64(len(positions)))
        assert out.tolist() == expected.tolist(), f"flags {flags:#x}"


def test_layout_flags():
    views = cuda_host.views
    dense, small = views.META_DENSE, views.META_INT32
    assert views.layout_flags((3, 4), (4, 1)) == dense | small
    assert views.layout_flags((3, 1, 4), (4, 7, 1)) == dense | small
    assert views.layout_flags((4, 3), (1, 4)) == small
    assert views.layout_flags((2**31,), (1,)) == dense  # 2**31 positions do not fit 32 bits
    assert views.layout_flags((2**16, 2**15), (1, 2**16)) == 0


# --------------------------------------------- block kernels at the edges of their launch
#: (kit test, arguments after the backend): one block per row for 1 and 4097 rows, rows
#: longer than the block (k, C > 256 threads), Tk and D larger than the block, causal with
#: Tq < Tk, and float16 (statistics in float32)
EDGE_CASES = {
    "softmax-1-row": (test_softmax, "float32", False, (1, 3), 1, False),
    "softmax-4097-rows": (test_softmax, "float32", True, (4097, 3), 1, False),
    "softmax-long-rows-f16": (test_softmax, "float16", False, (2, 1000), 1, True),
    "layer-norm-4097-rows": (test_layer_norm, "float32", (4097, 3), True, False),
    "layer-norm-long-rows-f16": (test_layer_norm, "float16", (2, 1000), True, True),
    "layer-norm-backward-long": (test_layer_norm_backward, "float32", (3, 700), True, False),
    # 4097 rows: dweight/dbias sum 65 chunks of rows in two stages; 40 columns: 2 column tiles
    "layer-norm-backward-4097-rows": (
        *(test_layer_norm_backward, "float32", (4097, 40), True, True),
    ),
    "attention-Tk>threads-causal": (test_attention, "float32", 1, 1, 3, 300, 8, True, False),
    "attention-D>threads": (test_attention, "float16", 1, 2, 2, 5, 300, False, True),
    "attention-backward-Tk>threads": (
        *(test_attention_backward, "float32", 1, 1, 3, 300, 8, True, False),
    ),
    "attention-backward-D>threads": (
        *(test_attention_backward, "float32", 1, 1, 4, 4, 300, False, False),
    ),
}


@pytest.mark.parametrize("case", list(EDGE_CASES.values()), ids=list(EDGE_CASES))
def test_block_kernels_at_the_edges(kit_backend, case):
    test, *arguments = case
    test(kit_backend, *arguments)


@pytest.mark.parametrize("dtype_name", ["float32", "float16"])
def test_cross_entropy_over_gpt2_vocabulary(kit_backend, dtype_name):
    """C = 50257 classes: each row's block walks 196 columns per thread."""
    rows, classes = 3, 50257
    rng = np.random.default_rng(3)
    logits_np = rng.uniform(-3, 3, (rows, classes)).astype(dtype_name)
    targets_np = np.array([0, classes - 1, 17], np.int64)
    logits, targets = to_ndarray(kit_backend, logits_np), to_ndarray(kit_backend, targets_np)
    loss, _ = kit_backend.cross_entropy(logits, targets, -100)
    got = to_numpy(wrap(kit_backend, loss, (rows,), logits.dtype)).astype(np.float64)
    expected, _ = _cross_entropy_reference(logits_np.astype(np.float64), targets_np, -100)
    np.testing.assert_allclose(got, expected, rtol=1e-3 if dtype_name == "float16" else 1e-5)


# ----------------------------------------------------- the emulation catches planted bugs
def _mutated(patch, old: str, new: str) -> None:
    """Render every kernel from a prelude with `old` replaced by `new` (exactly once)."""
    prelude = cuda_host.sources._prelude()
    assert prelude.count(old) == 1, f"the mutant's target is gone from prelude.cuh: {old!r}"
    patch.setattr(cuda_host.sources, "_prelude", lambda: prelude.replace(old, new))
    for name in ("fused_source", "reduce_source"):
        patch.setattr(cuda_host.sources, name, getattr(cuda_host.sources, name).__wrapped__)


def _fails_under_some_order(check) -> list[str]:
    """The orders (of all four) under which `check` raises or computes a wrong result."""
    failing = []
    for order in cuda_host.SCHEDULES:
        with cuda_host.schedule(order, seed=11):
            try:
                check()
            except (AssertionError, cuda_host.BlockError):
                failing.append(order)
    return failing


def test_a_removed_syncthreads_is_caught(host_kernels):
    """block_reduce without its first barrier: a second reduction overwrites the first's
    result while slower warps still read it (layer norm reduces twice: mean, variance)."""
    barrier = "    __syncthreads();  // subtle: a previous call may still be reading `partial`\n"
    with pytest.MonkeyPatch.context() as patch, cuda_host.emulated_backend(host_kernels) as be:
        _mutated(patch, barrier, "")
        failing = _fails_under_some_order(
            lambda: test_layer_norm(be, "float32", (2, 300), True, False)
        )
    assert failing, "no order exposed the missing __syncthreads"
    assert failing != list(cuda_host.SCHEDULES), "the unmutated kernel must pass somewhere"


def test_a_shared_buffer_one_word_short_is_caught(host_kernels):
    """attention's dynamic shared memory sized one float short: the last score is written
    past the end, onto the canary."""
    with pytest.MonkeyPatch.context() as patch, cuda_host.emulated_backend(host_kernels) as be:
        real = cuda_host.fused._shared_bytes
        patch.setattr(cuda_host.fused, "_shared_bytes", lambda *a: real(*a) - 4)
        failing = _fails_under_some_order(
            lambda: test_attention(be, "float32", 1, 1, 2, 40, 8, False, False)
        )
    assert failing == list(cuda_host.SCHEDULES)


def test_a_deadlocked_barrier_reports_every_thread(host_kernels):
    """A barrier only some threads reach never completes: the launch stops and says where."""
    source = (
        cuda_host.sources._prelude()
        + """
extern "C" __global__ void half_barrier(float* out, i64 n) {
    if (threadIdx.x < 128) __syncthreads();
    out[threadIdx.x] = 1;
}
"""
    )
    kernel = host_kernels(source, "half_barrier")
    out = np.zeros(256, np.float32)
    with pytest.raises(cuda_host.BlockError, match="can never complete") as caught:
        kernel((1,), (256,), (out, np.int64(256)))
    assert "thread 0 (warp 0 lane 0): at __syncthreads" in str(caught.value)
    assert "thread 63 (warp 1 lane 31): at __syncthreads" in str(caught.value)


def test_memory_counters_for_tg_cuda(kit_backend):
    """tg.cuda.memory_allocated and friends read these (the host pool counts nothing)."""
    stats = kit_backend.memory_stats()
    assert set(stats) == {"allocated", "reserved", "peak_allocated", "peak_reserved"}
    kit_backend.empty(16, kit_backend.dtypes and next(iter(kit_backend.dtypes)))
    assert kit_backend.memory_stats()["peak_allocated"] >= stats["allocated"]
    kit_backend.reset_peak_memory_stats()
    kit_backend.empty_cache()
    assert all(isinstance(v, int) for v in kit_backend.memory_stats().values())
