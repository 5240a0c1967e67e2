"""The cpu backend's multi-threaded paths, which the conformance kit's small arrays never reach.

A kernel only splits its work over OpenMP threads above ~32k elements, and several kernels
then take a different route: per-thread partial sums (total reductions, layer norm's weight
gradients), column blocks (scatter_add, column sums), parallel batches of small gemms with
OpenBLAS made single-threaded, streaming stores for results over 16 MiB. Each is checked here
on 2 threads against NumPy, and random fills must not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygpt.backend.registry import get_backend
from tinygpt.dtypes import DTYPES
from tinygpt.testing.helpers import assert_close, to_ndarray, to_numpy, wrap

cpu = pytest.importorskip("tinygpt_backend_cpu", reason="tinygpt-backend-cpu is not installed")
F32 = DTYPES["float32"]
I64 = DTYPES["int64"]


@pytest.fixture
def backend():
    before = cpu.get_num_threads()
    cpu.set_num_threads(2)
    yield get_backend("cpu")
    cpu.set_num_threads(before)


def _data(*shape, seed=0, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def _out(backend, buffer, shape, dtype=F32):
    return to_numpy(wrap(backend, buffer, shape, dtype))


# ---------------------------------------------------------------------- elementwise
def test_binary_with_broadcast_and_transposed_operands(backend):
    a = _data(600, 1000)
    bias = _data(1000, seed=1)
    at = to_ndarray(backend, np.ascontiguousarray(a.T)).permute((1, 0))  # a, stored transposed
    b = to_ndarray(backend, bias).broadcast_to((600, 1000))
    got = _out(backend, backend.binary("add", at, b), (600, 1000))
    assert_close(got, a + bias, "add(transposed a, broadcast bias), 2 threads")


def test_streaming_stores_for_a_large_result(backend):
    a = _data(5_000_000)  # 20 MB of float32: past the streaming threshold
    b = _data(5_000_000, seed=1)
    x = to_ndarray(backend, a)
    y = to_ndarray(backend, b)
    assert_close(_out(backend, backend.binary("mul", x, y), a.shape), a * b, "mul, 5M")
    got = _out(backend, backend.unary("exp", x), a.shape)
    assert_close(got, np.exp(a.astype(np.float64)).astype(np.float32), "exp, 5M", rtol=2e-6)


@pytest.mark.parametrize("op", ["tanh", "sigmoid", "exp"])
def test_vectorized_transcendentals(backend, op):
    a = _data(200_000, low=-30, high=30)
    reference = {
        "tanh": np.tanh,
        "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
        "exp": np.exp,
    }[op](a.astype(np.float64))
    got = _out(backend, backend.unary(op, to_ndarray(backend, a)), a.shape)
    assert_close(got, reference.astype(np.float32), f"{op} over [-30, 30]", rtol=2e-6, atol=1e-30)


# ---------------------------------------------------------------------- reductions
@pytest.mark.parametrize("axes", [(0,), (1,), (0, 1)], ids=["columns", "rows", "total"])
def test_sum(backend, axes):
    a = _data(3000, 300)
    x = to_ndarray(backend, a)
    shape = tuple(d for i, d in enumerate(a.shape) if i not in axes)
    got = _out(backend, backend.reduce("sum", x, axes), shape)
    expected = a.astype(np.float64).sum(axis=axes).astype(np.float32)
    assert_close(got, expected, f"sum over {axes}, 2 threads", rtol=1e-5, atol=1e-3)


def test_max_of_a_transposed_view_and_argmax(backend):
    a = _data(800, 500)
    xt = to_ndarray(backend, np.ascontiguousarray(a.T)).permute((1, 0))
    assert_close(_out(backend, backend.reduce("max", xt, (0,)), (500,)), a.max(0), "max")
    got = _out(backend, backend.arg_reduce("argmax", xt, 1), (800,), I64)
    assert_close(got, a.argmax(1), "argmax along rows of a transposed view")


# -------------------------------------------------------------------- fused kernels
@pytest.mark.parametrize("axis", [1, 0])
def test_softmax(backend, axis):
    a = _data(2000, 500, low=-8, high=8)
    got = _out(backend, backend.softmax(to_ndarray(backend, a), axis, False), a.shape)
    e = np.exp(a - a.max(axis, keepdims=True))
    assert_close(got, e / e.sum(axis, keepdims=True), f"softmax axis {axis}", atol=1e-7)


def test_layer_norm_backward_partial_sums(backend):
    from tinygpt_backend_numpy import fused

    x, dy, w = _data(4000, 64), _data(4000, 64, seed=1), _data(64, seed=2)
    y, mean, rstd = backend.layer_norm(to_ndarray(backend, x), to_ndarray(backend, w), None, 1e-5)
    dx, dw, db = backend.layer_norm_backward(
        to_ndarray(backend, dy),
        to_ndarray(backend, x),
        to_ndarray(backend, w),
        wrap(backend, mean, (4000,), F32),
        wrap(backend, rstd, (4000,), F32),
    )
    _, mean64, rstd64 = fused.layer_norm(x.astype(np.float64), None, None, 1e-5)
    ref = fused.layer_norm_backward(dy.astype(np.float64), x.astype(np.float64),
                                    w.astype(np.float64), mean64, rstd64)  # fmt: skip
    assert_close(_out(backend, dx, x.shape), ref[0].astype(np.float32), "dx", 1e-4, 1e-5)
    assert_close(_out(backend, dw, (64,)), ref[1].astype(np.float32), "dweight", 1e-4, 1e-3)
    assert_close(_out(backend, db, (64,)), ref[2].astype(np.float32), "dbias", 1e-4, 1e-3)


def test_cross_entropy_forward_and_backward(backend):
    from tinygpt_backend_numpy import fused

    logits = _data(4000, 100, low=-5, high=5)
    targets = np.random.default_rng(3).integers(0, 100, 4000)
    targets[::7] = -100
    lv, tv = to_ndarray(backend, logits), to_ndarray(backend, targets)
    loss, lse = backend.cross_entropy(lv, tv, -100)
    ref_loss, ref_lse = fused.cross_entropy(logits.astype(np.float64), targets, -100)
    assert_close(_out(backend, loss, (4000,)), ref_loss.astype(np.float32), "loss", 1e-5, 1e-5)
    ones = to_ndarray(backend, np.ones(1, np.float32)).broadcast_to((4000,))  # stride 0
    grad = backend.cross_entropy_backward(ones, lv, tv, wrap(backend, lse, (4000,), F32), -100)
    ref = fused.cross_entropy_backward(
        np.ones(4000), logits.astype(np.float64), targets, ref_lse, -100
    )
    assert_close(_out(backend, grad, logits.shape), ref.astype(np.float32), "dlogits", 1e-5, 1e-6)


@pytest.mark.parametrize("causal", [True, False])
def test_attention_parallel_heads(backend, causal):
    from tinygpt_backend_numpy import fused

    b, h, t, d = 4, 4, 130, 32  # 130: the last tile of 64 queries is partial
    stored = _data(b, t, 3, h, d, low=-1, high=1)  # (B, T, 3, H, D), as a fused qkv output
    base = to_ndarray(backend, stored)
    q, k, v = (
        base.slice((slice(None), slice(None), i, slice(None), slice(None))).permute((0, 2, 1, 3))
        for i in range(3)
    )
    q64, k64, v64 = (stored[:, :, i].transpose(0, 2, 1, 3).astype(np.float64) for i in range(3))
    out, lse = backend.attention(q, k, v, causal, 0.2)
    ref_out, ref_lse = fused.attention(q64, k64, v64, causal, 0.2)
    assert_close(_out(backend, out, (b, h, t, d)), ref_out.astype(np.float32), "out", 1e-4, 1e-5)
    dout = _data(b, h, t, d, seed=5)
    grads = backend.attention_backward(
        to_ndarray(backend, dout), q, k, v,
        wrap(backend, out, (b, h, t, d), F32), wrap(backend, lse, (b, h, t), F32), causal, 0.2,
    )  # fmt: skip
    refs = fused.attention_backward(
        dout.astype(np.float64), q64, k64, v64, ref_out, ref_lse, causal, 0.2
    )
    for name, got, ref in zip(("dq", "dk", "dv"), grads, refs):
        assert_close(_out(backend, got, (b, h, t, d)), ref.astype(np.float32), name, 1e-4, 1e-5)


# ------------------------------------------------------------- matmul and indexing
def test_many_small_matmuls_in_parallel(backend):
    a, b = _data(256, 32, 48), _data(256, 48, 40, seed=1)
    bt = to_ndarray(backend, np.ascontiguousarray(b.transpose(0, 2, 1))).permute((0, 2, 1))
    got = _out(backend, backend.matmul(to_ndarray(backend, a), bt), (256, 32, 40))
    expected = (a.astype(np.float64) @ b).astype(np.float32)
    assert_close(got, expected, "batched (256,) 32x48 @ 48x40", 1e-5, 1e-5)


def test_a_large_matmul_runs_openblas_jobs_on_the_openmp_team(backend):
    """OpenBLAS hands its parallel jobs to an OpenMP callback (see runtime.pyx)."""
    a, b = _data(700, 500), _data(500, 600, seed=1)
    got = _out(backend, backend.matmul(to_ndarray(backend, a), to_ndarray(backend, b)), (700, 600))
    expected = (a.astype(np.float64) @ b).astype(np.float32)
    assert_close(got, expected, "700x500 @ 500x600 on 2 threads", 1e-5, 1e-4)


def test_gather_and_scatter_add_with_repeated_indices(backend):
    table = _data(50, 4096)
    index = np.random.default_rng(4).integers(0, 50, 20_000)
    got = _out(backend, backend.gather(to_ndarray(backend, table), 0, to_ndarray(backend, index)),
               (20_000, 4096))  # fmt: skip
    assert_close(got, table[index], "gather rows", 0, 0)
    src = _data(20_000, 4096, seed=6)
    dst = to_ndarray(backend, np.zeros((50, 4096), np.float32))
    backend.scatter_add(dst, 0, to_ndarray(backend, index), to_ndarray(backend, src))
    expected = np.zeros((50, 4096))
    np.add.at(expected, index, src.astype(np.float64))
    assert_close(to_numpy(dst), expected.astype(np.float32), "scatter_add", 1e-4, 1e-3)


def test_random_fills_do_not_depend_on_the_thread_count(backend):
    for dist, a, b in (("normal", 0.0, 1.0), ("uniform", -1.0, 1.0), ("bernoulli", 0.3, 0.0)):
        cpu.set_num_threads(1)
        one = _out(backend, backend.random(dist, 300_001, F32, 42, a, b), (300_001,))
        cpu.set_num_threads(2)
        two = _out(backend, backend.random(dist, 300_001, F32, 42, a, b), (300_001,))
        assert one.tobytes() == two.tobytes(), f"random({dist!r}) changed with the threads"


# -------------------------------------------------------------------- gelu, adamw
@pytest.mark.parametrize("approximate", ["tanh", "none"])
def test_gelu_and_its_backward_split_over_threads(backend, approximate):
    from tinygpt_backend_numpy import fused as reference

    x = _data(100_003, low=-8, high=8)  # not a multiple of 16: a ragged last part
    dy = _data(100_003, seed=1)
    xs, dys = to_ndarray(backend, x), to_ndarray(backend, dy)
    x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
    got = _out(backend, backend.gelu(xs, approximate), x.shape)
    assert_close(got, reference.gelu(x64, approximate).astype(np.float32), "gelu, 2 threads")
    got = _out(backend, backend.gelu_backward(dys, xs, approximate), x.shape)
    want = reference.gelu_backward(dy64, x64, approximate).astype(np.float32)
    assert_close(got, want, "gelu_backward, 2 threads", rtol=2e-5, atol=1e-6)


def test_adamw_split_over_threads(backend):
    from tinygpt_backend_numpy import fused as reference

    p, g = _data(70_001), _data(70_001, seed=1)
    m, v = _data(70_001, seed=2) * 0.1, _data(70_001, seed=3, low=0.0, high=0.1)
    arrays = [to_ndarray(backend, a) for a in (p, g, m, v)]
    backend.adamw(*arrays, 1e-2, 0.9, 0.99, 1e-8, 0.1, 3)
    ref = [a.astype(np.float64) for a in (p, g, m, v)]
    reference.adamw(*ref, 1e-2, 0.9, 0.99, 1e-8, 0.1, 3)  # in place on the float64 copies
    for name, got, want in zip(
        ("param", "exp_avg", "exp_avg_sq"), arrays[::2] + arrays[3:], ref[::2] + ref[3:]
    ):
        assert_close(to_numpy(got), want.astype(np.float32), f"adamw {name}, 2 threads", 1e-5, 1e-6)
