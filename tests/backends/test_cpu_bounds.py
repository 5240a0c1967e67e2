"""The cpu backend's bounds checks: one scan of the indices before a kernel reads or writes.

The scan ORs sign bits over the whole index (vectorized, two or more int64 at a time) and looks
for the position only once that failed, so the first bad index must be the one reported
wherever it sits: in the vector body, in the odd tail, ahead of other bad ones. The extremes
of int64 must not slip through the arithmetic. The kit checks the contract; this checks the
scan, and the multi-threaded kernels behind it.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygpt.backend.registry import get_backend
from tinygpt.dtypes import DTYPES
from tinygpt.testing.helpers import to_ndarray, to_numpy, wrap

cpu = pytest.importorskip("tinygpt_backend_cpu", reason="tinygpt-backend-cpu is not installed")
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


@pytest.fixture
def backend():
    before = cpu.get_num_threads()
    cpu.set_num_threads(2)
    yield get_backend("cpu")
    cpu.set_num_threads(before)


@pytest.mark.parametrize("n", [1, 2, 3, 8, 17])
def test_gather_reports_the_first_bad_index_wherever_it_is(backend, n):
    x = to_ndarray(backend, np.zeros((5, 3), np.float32))
    for at in range(n):
        index = np.full(n, 4, np.int64)  # 4 is the last valid row
        index[at] = 5 + at
        index[at + 1 :] = -1  # later bad ones must not be the one named
        message = rf"^gather: index {5 + at} is out of bounds for dim 0 with size 5"
        with pytest.raises(IndexError, match=message):
            backend.gather(x, 0, to_ndarray(backend, index))


@pytest.mark.parametrize("bad", [INT64_MIN, INT64_MIN + 1, -(2**32), 2**32, INT64_MAX])
def test_int64_extremes_are_out_of_bounds(backend, bad):
    x = to_ndarray(backend, np.zeros((5, 3), np.float32))
    index = to_ndarray(backend, np.array([0, 1, bad, 2], np.int64))
    with pytest.raises(IndexError, match=rf"^gather: index {bad} is out of bounds"):
        backend.gather(x, 0, index)


def test_an_empty_axis_has_no_valid_index(backend):
    x = to_ndarray(backend, np.zeros((0, 3), np.float32))
    with pytest.raises(IndexError, match=r"index 0 is out of bounds for dim 0 with size 0"):
        backend.gather(x, 0, to_ndarray(backend, np.zeros(1, np.int64)))
    empty = backend.gather(x, 0, to_ndarray(backend, np.zeros(0, np.int64)))
    assert to_numpy(wrap(backend, empty, (0, 3), DTYPES["float32"])).shape == (0, 3)


@pytest.mark.parametrize("dtype_name", ["float32", "float16"])
def test_threaded_scatter_add_writes_nothing_on_a_late_bad_index(backend, dtype_name):
    dst_np = np.arange(64 * 512, dtype=dtype_name).reshape(64, 512)  # past the thread cutoff
    dst = to_ndarray(backend, dst_np)
    index = np.arange(300, dtype=np.int64) % 64
    index[-1] = 64
    src = to_ndarray(backend, np.ones((300, 512), dtype_name))
    with pytest.raises(IndexError, match=r"^scatter_add: index 64 is out of bounds"):
        backend.scatter_add(dst, 0, to_ndarray(backend, index), src)
    assert (to_numpy(dst) == dst_np).all(), "scatter_add wrote before it raised"


def test_cross_entropy_names_the_row_of_a_strided_target(backend):
    logits = to_ndarray(backend, np.zeros((2000, 7), np.float32))
    every_other = np.zeros(4000, np.int64)
    every_other[1::2] = 99  # not part of the view: must be skipped by the stride
    every_other[2 * 1500] = 7
    targets = to_ndarray(backend, every_other).slice((slice(None, None, 2),))
    message = r"^cross_entropy: target 7 \(row 1500\) is out of range for 7 classes"
    with pytest.raises(IndexError, match=message):
        backend.cross_entropy(logits, targets, -100)
    every_other[2 * 1500] = -100  # now ignored
    targets = to_ndarray(backend, every_other).slice((slice(None, None, 2),))
    loss, lse = backend.cross_entropy(logits, targets, -100)
    dloss = to_ndarray(backend, np.ones(2000, np.float32))
    lse_view = wrap(backend, lse, (2000,), DTYPES["float32"])
    dlogits = backend.cross_entropy_backward(dloss, logits, targets, lse_view, -100)
    got = to_numpy(wrap(backend, dlogits, (2000, 7), DTYPES["float32"]))
    assert (got[1500] == 0).all(), "an ignored row gets no gradient"
