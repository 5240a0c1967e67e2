"""`tg.Size`, `tg.dtype`, `x.type()`, `x.is_cuda`, `grad_fn.name()`, PyTorch's global switches
(`tg.backends.cudnn.benchmark`, `set_num_threads`, ...), `size=` keywords and `tg.as_tensor`
(issue 14)."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

import tinygpt as tg


def test_shape_is_a_size(device):
    x = tg.zeros(2, 3, device=device)
    for shape in (x.shape, x.size()):
        assert isinstance(shape, tg.Size) and isinstance(shape, tuple)
        assert shape == (2, 3) and hash(shape) == hash((2, 3)) and shape.numel() == 6
    assert repr(x.shape) == str(x.shape) == "(2, 3)"  # as tinygpt always printed (size.py)
    assert tg.zeros(()).shape.numel() == 1 and tg.zeros(0, 4).shape.numel() == 0
    restored = pickle.loads(pickle.dumps(x.shape))
    assert type(restored) is tg.Size and restored == (2, 3)
    assert x.shape + (4,) == (2, 3, 4) and isinstance(x.shape + (4,), tg.Size)
    assert x.size(1) == 3 and x.shape[-1] == 3 and tuple(x.shape) == (2, 3)
    assert tg.zeros(x.shape).shape == x.shape


def test_dtype_class_and_type_strings(device):
    assert isinstance(tg.float32, tg.dtype) and tg.dtype is tg.DType
    x = tg.zeros(2, device=device)
    assert x.type() == "torch.FloatTensor"
    assert x.long().type() == "torch.LongTensor" and x.double().type() == "torch.DoubleTensor"
    assert x.is_cuda is False


def test_grad_fn_name(device):
    x = tg.ones(2, device=device, requires_grad=True)
    y = (x * 2).sum()
    assert y.grad_fn.name().endswith("Backward0")
    assert y.grad_fn.name() == type(y.grad_fn).__name__ + "Backward0"


def test_backends_is_callable_and_holds_flags(monkeypatch):
    monkeypatch.setenv("TINYGPT_CUDA_TF32", "0")  # restored after the test
    names = [b.name for b in tg.backends()]
    assert "numpy" in names
    assert tg.backends.cuda.matmul.allow_tf32 is False
    tg.backends.cuda.matmul.allow_tf32 = True
    assert tg.backends.cuda.matmul.allow_tf32 is True
    assert os.environ["TINYGPT_CUDA_TF32"] == "1"  # what the cuda backend reads
    tg.set_float32_matmul_precision("highest")
    assert tg.get_float32_matmul_precision() == "highest"
    assert os.environ["TINYGPT_CUDA_TF32"] == "0"
    tg.set_float32_matmul_precision("high")
    assert tg.backends.cuda.matmul.allow_tf32 is True
    with pytest.raises(ValueError, match="precision"):
        tg.set_float32_matmul_precision("fast")
    before = tg.backends.cudnn.benchmark
    tg.backends.cudnn.benchmark = True
    tg.backends.cudnn.allow_tf32 = True
    assert tg.backends.cudnn.benchmark is True
    tg.backends.cudnn.benchmark = before


def test_deterministic_and_threads():
    tg.use_deterministic_algorithms(True)
    assert tg.are_deterministic_algorithms_enabled()
    tg.use_deterministic_algorithms(False)
    assert not tg.are_deterministic_algorithms_enabled()
    before = tg.get_num_threads()
    assert before >= 1
    try:
        tg.set_num_threads(1)
        assert tg.get_num_threads() == 1
    finally:
        tg.set_num_threads(before)
    with pytest.raises(ValueError, match="set_num_threads"):
        tg.set_num_threads(0)


def test_size_keywords(device):
    for make in (tg.zeros, tg.ones, tg.empty, tg.rand, tg.randn):
        assert make(size=(2, 3), device=device).shape == (2, 3)
        assert make(size=[4], device=device).shape == (4,)
        with pytest.raises(TypeError, match="size="):
            make(2, size=(2,), device=device)
    assert tg.zeros(size=(2,), dtype=tg.int64, device=device).dtype == tg.int64


def test_as_tensor(device):
    x = tg.ones(3, device=device)
    assert tg.as_tensor(x) is x  # no copy when nothing changes, as PyTorch
    assert tg.as_tensor(x, dtype=tg.float64).dtype == tg.float64
    made = tg.as_tensor(np.arange(3), device=device)
    assert made.dtype == tg.int64 and made.tolist() == [0, 1, 2]
    assert tg.as_tensor([1.5, 2.0], device=device).dtype == tg.float32


def test_axis_is_dims_numpy_name(device):
    data = np.arange(6.0).reshape(2, 3)
    x = tg.tensor(data, device=device)
    np.testing.assert_allclose(x.sum(axis=0).numpy(), data.sum(axis=0))
    np.testing.assert_allclose(x.mean(axis=1).numpy(), data.mean(axis=1))
    np.testing.assert_allclose(x.sum(axis=(0, 1), keepdim=True).numpy(), data.sum(keepdims=True))
    w = tg.tensor(data, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: t.sum(axis=1) * t.mean(axis=1), [w])
