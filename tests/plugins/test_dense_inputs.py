"""Dense-inputs mode: a backend that sets `dense_inputs = True` only ever sees dense inputs.

`Recorder` is a throwaway numpy clone with the flag set that writes down the layout of every
NDArray its compute kernels receive. Each case feeds it transposed, reversed, stepped,
broadcast and offset views; every argument must arrive dense (offset 0, row-major) and every
result must equal what the plain numpy backend computes from the views themselves.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.backend import hookimpl, registry
from tinygpt.backend.dense import DATA
from tinygpt.dtypes import int32
from tinygpt.ndarray import NDArray, strides_for
from tinygpt.testing.helpers import random_array, to_ndarray, to_numpy
from tinygpt_backend_numpy.backend import NumpyBackend

from .conftest import ROOT


class Recorder(NumpyBackend):
    """numpy's kernels, with dense_inputs set and every compute argument's layout recorded."""

    name = "dense"
    dense_inputs = True

    def __init__(self, device):
        super().__init__(device)
        self.seen = []  # (method, shape, strides, offset, buffer size) of each NDArray argument
        self.copies = 0

    def copy(self, x):
        self.copies += 1
        return super().copy(x)


def _recording(method):
    def kernel(self, *args, **kwargs):
        for arg in args:
            if isinstance(arg, NDArray):
                layout = (method, arg.shape, arg.strides, arg.offset, arg.buffer.size)
                self.seen.append(layout)
        return getattr(NumpyBackend, method)(self, *args, **kwargs)

    return kernel


for _method in DATA:
    setattr(Recorder, _method, _recording(_method))


class DensePlugin:
    @hookimpl
    def tinygpt_register_backends(self, register):
        register("dense", Recorder, priority=-5)


@pytest.fixture
def dense():
    registry.register_plugin(DensePlugin(), "dense-plugin")
    return tg.get_backend("dense")


def is_dense_layout(shape, strides, offset, size):
    """Offset 0 and row-major strides (any stride on a dim of size 1), within the buffer."""
    row_major = strides_for(shape)
    same = all(d == 1 or s == r for d, s, r in zip(shape, strides, row_major, strict=True))
    return offset == 0 and same and size >= int(np.prod(shape))


class Views:
    """Views on `backend` that hold the values of the NumPy array given, laid out awkwardly."""

    def __init__(self, backend):
        self.backend = backend

    def dense(self, a):
        return to_ndarray(self.backend, a)

    def transposed(self, a):  # last two dims swapped in memory
        axes = tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2)
        return to_ndarray(self.backend, np.ascontiguousarray(a.transpose(axes))).permute(axes)

    def reversed(self, a):  # negative strides
        flipped = (slice(None, None, -1),) * a.ndim
        return to_ndarray(self.backend, np.ascontiguousarray(a[flipped])).slice(flipped)

    def stepped(self, a):  # every other row of a buffer twice as long
        return self._rows(np.repeat(a, 2, axis=0), slice(None, None, 2))

    def offset(self, a):  # contiguous, but one row into its buffer
        return self._rows(np.concatenate([a[:1], a]), slice(1, None))

    def prefix(self, a):  # dense: offset 0, the first rows of a longer buffer
        return self._rows(np.concatenate([a, a]), slice(0, len(a)))

    def _rows(self, a, rows):
        return to_ndarray(self.backend, a).slice((rows,) + (slice(None),) * (a.ndim - 1))

    def broadcast(self, a, shape):  # stride 0
        return to_ndarray(self.backend, a).broadcast_to(shape)


X = random_array((4, 6), "float32", -2, 2, seed=0)
Y = random_array((4, 6), "float32", -2, 2, seed=1)
W = random_array((5, 6), "float32", -1, 1, seed=2)
ROW = random_array((6,), "float32", -1, 1, seed=3)
MASK = random_array((6,), "bool", seed=4)
Q, K, V, DOUT = (random_array((1, 2, 3, 4), "float32", -1, 1, seed=s) for s in range(5, 9))
INDEX = np.array([[3, 0, 3], [1, 1, 2]], dtype=np.int64)
TARGETS = np.array([5, 0, 2, 2], dtype=np.int64)
ZEROS = np.zeros((4, 6), np.float32)


def _layer_norm_backward(b, v):
    x = v.transposed(X)  # (4, 6), column-major
    y, mean, rstd = b.layer_norm(x, v.dense(ROW), v.dense(ROW), 1e-5)
    mean, rstd = (NDArray(b, m, (4,), x.dtype) for m in (mean, rstd))
    return b.layer_norm_backward(v.reversed(Y), x, v.reversed(ROW), mean, rstd)


def _cross_entropy_backward(b, v):
    logits = v.transposed(X)
    loss, lse = b.cross_entropy(logits, v.dense(TARGETS), -100)
    lse = NDArray(b, lse, (4,), logits.dtype)
    return b.cross_entropy_backward(
        v.broadcast(ROW[:1], (4,)), logits, v.reversed(TARGETS), lse, -100
    )


def _attention_backward(b, v):
    q, k, val = v.transposed(Q), v.reversed(K), v.stepped(V)
    out, lse = b.attention(q, k, val, True, 0.5)
    out = NDArray(b, out, Q.shape, q.dtype)
    lse = NDArray(b, lse, Q.shape[:-1], q.dtype)
    return b.attention_backward(v.transposed(DOUT), q, k, val, out, lse, True, 0.5)


def _scatter_add(b, v):
    dst = v.offset(ZEROS)  # not dense: core never sends that, but it must still work
    b.scatter_add(dst, 1, v.reversed(INDEX), v.transposed(random_array((4, 2, 3), "float32")))
    return dst


def _adamw(b, v):
    param, exp_avg, exp_avg_sq = v.offset(X), v.offset(ZEROS), v.offset(ZEROS)
    b.adamw(param, v.transposed(Y), exp_avg, exp_avg_sq, 1e-2, 0.9, 0.99, 1e-8, 0.1, 1)
    return param, exp_avg, exp_avg_sq


# name -> the kernel call on backend `b` with views `v`: its result(s), or the arrays it updated
CASES = {
    "cast, transposed": lambda b, v: b.cast(v.transposed(X), int32),
    "unary, stepped": lambda b, v: b.unary("exp", v.stepped(X)),
    "binary, broadcast and offset": lambda b, v: b.binary(
        "add", v.broadcast(ROW, (4, 6)), v.offset(X)
    ),
    "binary_scalar, reversed": lambda b, v: b.binary_scalar("sub", v.reversed(X), 2.0, True),
    "where, broadcast mask": lambda b, v: b.where(
        v.broadcast(MASK, (4, 6)), v.transposed(X), v.reversed(Y)
    ),
    "reduce, transposed": lambda b, v: b.reduce("sum", v.transposed(X), (0,)),
    "arg_reduce, reversed": lambda b, v: b.arg_reduce("argmax", v.reversed(X), 1),
    "matmul, x @ w.T": lambda b, v: b.matmul(v.offset(X), v.dense(W).transpose(0, 1)),
    "matmul, broadcast batch": lambda b, v: b.matmul(
        v.broadcast(X, (2, 4, 6)), v.dense(np.stack([W.T, W.T]))
    ),
    "gather, offset x, stepped index": lambda b, v: b.gather(v.offset(X), 1, v.stepped(INDEX)),
    "scatter_add, offset dst": _scatter_add,
    "softmax, transposed": lambda b, v: b.softmax(v.transposed(X), 0, False),
    "layer_norm, reversed weight": lambda b, v: b.layer_norm(
        v.transposed(X), v.reversed(ROW), v.broadcast(ROW[:1], (6,)), 1e-5
    ),
    "layer_norm_backward": _layer_norm_backward,
    "cross_entropy, stepped targets": lambda b, v: b.cross_entropy(
        v.offset(X), v.stepped(TARGETS), 2
    ),
    "cross_entropy_backward": _cross_entropy_backward,
    "attention, transposed q": lambda b, v: b.attention(
        v.transposed(Q), v.offset(K), v.reversed(V), False, 0.5
    ),
    "attention_backward": _attention_backward,
    "gelu, reversed": lambda b, v: b.gelu(v.reversed(X), "tanh"),
    "gelu_backward": lambda b, v: b.gelu_backward(v.broadcast(ROW, (4, 6)), v.stepped(X), "none"),
    "adamw, offset state": _adamw,
}


def _arrays(result):
    """A kernel's result(s) as NumPy arrays: buffers as they are, NDArrays read back."""
    results = result if isinstance(result, tuple) else (result,)
    return [
        to_numpy(r) if isinstance(r, NDArray) else np.asarray(r) for r in results if r is not None
    ]


@pytest.mark.parametrize("name", CASES)
def test_compute_kernels_see_only_dense_inputs(dense, name):
    got = _arrays(CASES[name](dense, Views(dense)))
    numpy = tg.get_backend("numpy")
    expected = _arrays(CASES[name](numpy, Views(numpy)))  # numpy reads the views in place
    assert dense.seen, f"{name}: no compute kernel was called"
    for method, *layout in dense.seen:
        assert is_dense_layout(*layout), (
            f"{name}: {method} got (shape, strides, offset, size) {layout}"
        )
    assert dense.copies > 0, f"{name}: no view was compacted (is the case really strided?)"
    for mine, reference in zip(got, expected, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-6, atol=1e-6, err_msg=name)


def test_dense_views_are_passed_as_they_are(dense):
    """A prefix of a longer buffer is dense: no copy, and the kernel gets that very view."""
    v = Views(dense)
    out = dense.binary("mul", v.prefix(X), v.dense(Y))
    np.testing.assert_allclose(out.reshape(4, 6), X * Y)
    assert dense.copies == 0
    assert dense.seen[0] == ("binary", (4, 6), (6, 1), 0, 48)


def test_backends_without_the_flag_are_not_wrapped(dense):
    numpy = tg.get_backend("numpy")
    assert not numpy.dense_inputs
    assert "unary" not in vars(numpy)  # the class's own method: no wrapper, no cost
    assert "unary" in vars(dense) and "copy" not in vars(dense)  # memory movers stay as they are


def test_check_mode_wraps_the_compacting_wrapper(dense):
    """Check mode outermost (it sees what core passed), compaction inside, the kernel last."""
    registry.reset(keep_plugins=True)
    registry.enable_checks()
    checked = tg.get_backend("dense")
    assert checked.unary.__wrapped__.__wrapped__.__func__ is Recorder.unary
    x = Views(checked).transposed(X)
    assert np.asarray(checked.unary("neg", x)).tolist() == (-X).reshape(-1).tolist()
    assert is_dense_layout(*checked.seen[-1][1:])


def test_contributed_kernels_get_dense_inputs_too(dense):
    seen = []

    def softmax(backend, x, axis, log):
        seen.append((x.strides, x.offset))
        return NumpyBackend.softmax(backend, x, axis, log)

    class Kernels:
        @hookimpl
        def tinygpt_register_kernels(self, register):
            register("dense", "softmax", softmax, priority=5)

    registry.register_plugin(Kernels(), "dense-kernels")
    backend = tg.get_backend("dense")
    backend.softmax(Views(backend).transposed(X), 1, False)
    assert seen == [((6, 1), 0)]


def test_tensors_train_on_it_like_on_numpy(dense):
    """End to end through core: `x @ w.T + b`, a softmax over dim 0, backward."""
    results = []
    for device in ("dense", "numpy"):
        x = tg.tensor(X, device=device)
        w = tg.tensor(W, device=device, requires_grad=True)
        b = tg.tensor(ROW[:5], device=device, requires_grad=True)
        y = (x @ w.T + b).softmax(dim=0)  # (4, 5)
        (y * tg.tensor(Y[:, :5], device=device)).sum().backward()
        results.append([y.numpy(), w.grad.numpy(), b.grad.numpy()])
    for mine, reference in zip(*results, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)
    assert all(is_dense_layout(*layout) for _, *layout in dense.seen)
    assert dense.copies > 0


def test_the_guide_s_smallest_backend_passes_the_whole_kit(site, tmp_path):
    """docs/writing-a-backend.md section 3 says so: its code, installed as a plugin, kit run."""
    guide = (ROOT / "docs" / "writing-a-backend.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", guide, flags=re.DOTALL | re.MULTILINE)
    (walk,) = [block for block in blocks if block.startswith("from tinygpt.dtypes")]
    (backend,) = [block for block in blocks if "class MyBackend(Backend)" in block]
    assert "dense_inputs = True" in backend
    hook = (
        "from tinygpt.backend import hookimpl\n\n\n@hookimpl\n"
        "def tinygpt_register_backends(register):\n"
        "    register('mydev', MyBackend, priority=-10)\n"
    )
    module = "\n".join([walk, backend, hook])
    site.install("tinygpt-backend-mydev", {"guide_mydev": module}, {"mydev": "guide_mydev"})
    result = site.run(
        "-m", "pytest", "--pyargs", "tinygpt.testing", "--tinygpt-backend=mydev",
        "-x", "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert " passed" in result.stdout and " failed" not in result.stdout
