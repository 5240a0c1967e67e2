"""Conformance: an index or target out of range raises IndexError, before anything is touched.

A synchronous backend raises at the call. An asynchronous one (cuda) may check on the device
and raise at its next `synchronize()` (or `to_host`), so a step never waits for the device to
validate its indices; either way, nothing is read or written out of range, the error names
the op and the value, and the backend works normally after it.

Core wraps negative indices but does not check bounds (that would read device memory back to
the host every step), so the kernels must: gather and scatter_add raise IndexError for any
index outside [0, size), cross_entropy and its backward for any target outside [0, C) that is
not ignore_index. The message names the op and the bad value; scatter_add writes nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygpt.testing.helpers import random_array, require_dtypes, to_ndarray, to_numpy, wrap

#: value -> test id: the first index past the end, one far past it, and a negative one
BAD_INDICES = {5: "size", 2**40: "huge", -1: "negative"}
# (x shape, axis, index with None where the bad value goes); every indexed dim has size 5
BOUNDS_CASES = {
    "rows": ((5, 4), 0, [0, 4, None]),
    "middle-axis": ((2, 5, 3), 1, [[1, None], [0, 4]]),
    "long": ((5, 4), 0, [3] * 777 + [None] + [2] * 300),  # long enough for a vectorized scan
    "empty-rows": ((5, 0), 0, [None]),  # nothing to copy, still an error
}


def _index(template, bad):
    index = np.array([bad if value is None else value for value in np.ravel(template)], np.int64)
    return index.reshape(np.shape(template))


def _flipped(backend, index):
    """`index` as a view with negative strides on every dim (a kernel may have to compact it)."""
    flip = (slice(None, None, -1),) * index.ndim
    return to_ndarray(backend, index[flip].copy()).slice(flip)


def _raises(backend, op, bad, call):
    with pytest.raises(IndexError) as caught:
        call()
        backend.synchronize()  # where the error was found on the device, it is raised here
    message = str(caught.value)
    assert op in message and str(bad) in message, f"{op}: message {message!r} names no {bad}"
    backend.synchronize()  # reported once: the backend is usable again


@pytest.mark.parametrize("bad", list(BAD_INDICES), ids=list(BAD_INDICES.values()))
@pytest.mark.parametrize(
    ("shape", "axis", "template"), list(BOUNDS_CASES.values()), ids=list(BOUNDS_CASES)
)
@pytest.mark.parametrize("index_kind", ["contiguous", "reversed"])
def test_gather_out_of_bounds(kit_backend, bad, shape, axis, template, index_kind):
    require_dtypes(kit_backend, "float32")
    x = to_ndarray(kit_backend, random_array(shape, "float32"))
    index_np = _index(template, bad)
    if index_kind == "reversed":
        ix = _flipped(kit_backend, index_np)
    else:
        ix = to_ndarray(kit_backend, index_np)
    _raises(kit_backend, "gather", bad, lambda: kit_backend.gather(x, axis, ix))


@pytest.mark.parametrize("bad", list(BAD_INDICES), ids=list(BAD_INDICES.values()))
@pytest.mark.parametrize(
    ("shape", "axis", "template"), list(BOUNDS_CASES.values()), ids=list(BOUNDS_CASES)
)
@pytest.mark.parametrize("dtype_name", ["float32", "float16"])
def test_scatter_add_out_of_bounds_writes_nothing(
    kit_backend, bad, shape, axis, template, dtype_name
):
    require_dtypes(kit_backend, dtype_name)
    index_np = _index(template, bad)
    dst_np = random_array(shape, dtype_name, -5, 5, seed=1)
    dst = to_ndarray(kit_backend, dst_np)
    src_shape = shape[:axis] + index_np.shape + shape[axis + 1 :]
    src = to_ndarray(kit_backend, random_array(src_shape, dtype_name, -5, 5, seed=2))
    ix = to_ndarray(kit_backend, index_np)
    _raises(kit_backend, "scatter_add", bad, lambda: kit_backend.scatter_add(dst, axis, ix, src))
    got = to_numpy(dst)
    assert (got == dst_np).all(), f"scatter_add(index {bad}) wrote to dst before raising"


# -------------------------------------------------------------- cross-entropy
# (bad target in row 2, ignore_index): a target equal to ignore_index is never out of range
BAD_TARGETS = [(5, -100), (9, -100), (-1, -100), (2**40, -100), (-100, -1), (5, 1)]
IGNORED_TARGETS = [(-100, -100), (-1, -1), (5, 5), (2**40, 2**40)]


def _targets_for(backend, target, reversed_view):
    targets_np = np.array([0, 4, target, 2, 2, 1], np.int64)
    if reversed_view:
        return _flipped(backend, targets_np)
    return to_ndarray(backend, targets_np)


def _require_cross_entropy(backend):
    if "cross_entropy" not in backend.fused_ops:
        pytest.skip(f"backend {backend.name!r} does not list fused 'cross_entropy'")
    return require_dtypes(backend, "float32")[0]


def _valid_lse(backend, logits, dtype):
    """The logsumexp of every row, from a forward pass all of whose targets are valid."""
    _, lse = backend.cross_entropy(logits, to_ndarray(backend, np.zeros(6, np.int64)), -100)
    return wrap(backend, lse, (6,), dtype)


@pytest.mark.parametrize(("target", "ignore_index"), BAD_TARGETS, ids=str)
@pytest.mark.parametrize("reversed_view", [False, True], ids=["dense", "reversed"])
def test_cross_entropy_bad_target(kit_backend, target, ignore_index, reversed_view):
    dtype = _require_cross_entropy(kit_backend)
    logits = to_ndarray(kit_backend, random_array((6, 5), "float32", -3, 3, seed=1))
    targets = _targets_for(kit_backend, target, reversed_view)
    dloss = to_ndarray(kit_backend, np.ones(6, np.float32))
    lse = _valid_lse(kit_backend, logits, dtype)
    _raises(
        kit_backend,
        "cross_entropy",
        target,
        lambda: kit_backend.cross_entropy(logits, targets, ignore_index),
    )
    _raises(
        kit_backend,
        "cross_entropy",  # the backward's name contains it too
        target,
        lambda: kit_backend.cross_entropy_backward(dloss, logits, targets, lse, ignore_index),
    )


@pytest.mark.parametrize(("target", "ignore_index"), IGNORED_TARGETS, ids=str)
def test_cross_entropy_ignored_target_is_not_checked(kit_backend, target, ignore_index):
    dtype = _require_cross_entropy(kit_backend)
    logits = to_ndarray(kit_backend, random_array((6, 5), "float32", -3, 3, seed=1))
    targets = _targets_for(kit_backend, target, False)
    loss, _ = kit_backend.cross_entropy(logits, targets, ignore_index)
    got_loss = to_numpy(wrap(kit_backend, loss, (6,), dtype))
    assert got_loss[2] == 0, f"cross_entropy(ignore_index={ignore_index}): ignored row's loss"
    dloss = to_ndarray(kit_backend, np.ones(6, np.float32))
    lse = _valid_lse(kit_backend, logits, dtype)
    dlogits = kit_backend.cross_entropy_backward(dloss, logits, targets, lse, ignore_index)
    got = to_numpy(wrap(kit_backend, dlogits, (6, 5), dtype))
    assert (got[2] == 0).all(), f"cross_entropy_backward(ignore_index={ignore_index}): row 2"
