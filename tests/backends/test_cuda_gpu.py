"""GPU-only checks of the cuda backend beyond the conformance kit; skipped without a GPU.

The conformance kit (`pytest --pyargs tinygpt.testing --tinygpt-backend=cuda`) checks every
protocol method against numpy; this file checks what the protocol does not name: the tiled
reference matmul against cuBLAS, and seeded random reproducibility.
"""

from __future__ import annotations

import pytest

plugin = pytest.importorskip("tinygpt_backend_cuda.plugin", reason="tinygpt-backend-cuda missing")
REASON = plugin._probe()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(REASON is not None, reason=f"cuda: {REASON}")]


def _setup(shape_a, shape_b, dtype_name, transpose_b=False):
    import numpy as np

    from tinygpt.device import Device
    from tinygpt.dtypes import DTYPES
    from tinygpt.ndarray import NDArray
    from tinygpt_backend_cuda.backend import CudaBackend

    backend = CudaBackend(Device("cuda"))
    dtype = DTYPES[dtype_name]
    rng = np.random.default_rng(0)
    a_host = rng.standard_normal(shape_a).astype(dtype_name)
    b_host = rng.standard_normal(shape_b).astype(dtype_name)
    if transpose_b:
        b_host = np.ascontiguousarray(np.swapaxes(b_host, -1, -2))
    a = NDArray(backend, backend.from_host(memoryview(a_host).cast("B"), dtype), shape_a, dtype)
    b = NDArray(
        backend, backend.from_host(memoryview(b_host).cast("B"), dtype), b_host.shape, dtype
    )
    if transpose_b:
        b = b.transpose(-1, -2)  # `x @ w.T`: a view with swapped strides
        b_host = np.swapaxes(b_host, -1, -2)
    return backend, a, b, a_host @ b_host


@pytest.mark.parametrize(
    "shape_a, shape_b, dtype, transpose_b",
    [
        ((33, 17), (17, 40), "float32", False),
        ((64, 48), (48, 32), "float32", True),
        ((3, 20, 31), (3, 31, 9), "float64", False),
        ((2, 16, 16), (2, 16, 16), "float16", True),
    ],
)
def test_tiled_matmul_matches_cublas(shape_a, shape_b, dtype, transpose_b) -> None:
    import cupy
    import numpy as np

    backend, a, b, expected = _setup(shape_a, shape_b, dtype, transpose_b)
    fast = cupy.asnumpy(backend.matmul(a, b)).reshape(expected.shape)
    reference = cupy.asnumpy(backend.matmul_reference(a, b)).reshape(expected.shape)
    tolerance = {"float16": 2e-2, "float32": 1e-4, "float64": 1e-10}[dtype]
    np.testing.assert_allclose(reference, expected, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(fast, reference, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dist", ["uniform", "normal", "bernoulli"])
def test_random_is_reproducible_per_seed(dist) -> None:
    import cupy

    from tinygpt.device import Device
    from tinygpt.dtypes import float32
    from tinygpt_backend_cuda.backend import CudaBackend

    backend = CudaBackend(Device("cuda"))
    first = cupy.asnumpy(backend.random(dist, 1001, float32, 1234, 0.5, 1.0))
    again = cupy.asnumpy(backend.random(dist, 1001, float32, 1234, 0.5, 1.0))
    other = cupy.asnumpy(backend.random(dist, 1001, float32, 4321, 0.5, 1.0))
    assert (first == again).all()
    assert not (first == other).all()
    if dist == "uniform":
        assert first.min() >= 0.5 and first.max() < 1.0
