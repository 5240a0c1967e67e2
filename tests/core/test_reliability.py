"""Regression tests for silent wrong answers and crashes found by differential testing against
PyTorch: grad mode as a plain call, `.grad` assignment, concurrent backward, pickling, tied
weights, and bad indices that used to wrap around. Runs on every backend."""

from __future__ import annotations

import multiprocessing
import operator
import pickle
import threading

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn


def test_set_grad_enabled_as_a_plain_call_takes_effect():
    assert tg.autograd.is_grad_enabled()
    tg.set_grad_enabled(False)
    try:
        assert not tg.autograd.is_grad_enabled()
        assert not (tg.ones(2, requires_grad=True) * 2).requires_grad
    finally:
        tg.set_grad_enabled(True)
    assert tg.autograd.is_grad_enabled()


def test_set_grad_enabled_as_context_and_decorator_restore_the_mode():
    with tg.set_grad_enabled(False):
        assert not tg.autograd.is_grad_enabled()
    assert tg.autograd.is_grad_enabled()

    @tg.set_grad_enabled(False)
    def inside() -> bool:
        return tg.autograd.is_grad_enabled()

    assert tg.autograd.is_grad_enabled()  # decorating changes nothing by itself
    assert inside() is False
    assert tg.autograd.is_grad_enabled()


def test_grad_assignment_is_checked_like_pytorch(device):
    p = tg.ones(2, device=device, requires_grad=True)
    with pytest.raises(TypeError, match="assigned grad must be a Tensor or None, got int"):
        p.grad = 0
    with pytest.raises(tg.ShapeError, match="assigned grad has shape"):
        p.grad = tg.ones(3, device=device)
    with pytest.raises(tg.DTypeError, match="assigned grad is float64"):
        p.grad = tg.ones(2, dtype=tg.float64, device=device)
    p.grad = tg.full((2,), 3.0, device=device)
    p.grad = None
    assert p.grad is None


def test_threads_running_backward_into_one_leaf_lose_nothing(device):
    w = tg.ones(64, device=device, requires_grad=True)
    rounds, threads = 25, 4

    def work() -> None:
        for _ in range(rounds):
            (w * 2.0).sum().backward()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    np.testing.assert_array_equal(w.grad.numpy(), np.full(64, 2.0 * rounds * threads))


def test_a_tied_weight_gets_its_gradients_summed_once_per_backward(device):
    # the same leaf along two paths: .grad += (g1 + g2), not (.grad + g1) + g2
    w = tg.tensor([0.1, 0.2], device=device, requires_grad=True)
    w.grad = tg.tensor([1e8, 1e8], device=device)
    (w * 5.0 + w * 5.0).sum().backward()
    expected = np.float32(1e8) + (np.float32(5.0) + np.float32(5.0))  # 1e8 + 8 (spacing 8)
    assert expected != (np.float32(1e8) + np.float32(5.0)) + np.float32(5.0)  # 1e8 + 16
    np.testing.assert_array_equal(w.grad.numpy(), [expected, expected])


def test_tensors_pickle_by_value(device):
    x = tg.arange(12, dtype=tg.float32, device=device).reshape(3, 4)[:, 1::2]  # a view
    y = pickle.loads(pickle.dumps(x))
    assert y.dtype is tg.float32 and y.dtype == tg.float32
    assert y.device == x.device and y.shape == (3, 2)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    w = tg.ones(2, device=device, requires_grad=True)
    assert pickle.loads(pickle.dumps(w)).requires_grad
    assert pickle.loads(pickle.dumps(tg.int64)) is tg.int64


def test_modules_and_parameters_pickle(device):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    copy = pickle.loads(pickle.dumps(model))
    assert isinstance(copy[0].weight, nn.Parameter)
    assert [name for name, _ in copy.named_parameters()] == [
        name for name, _ in model.named_parameters()
    ]
    x = tg.randn(5, 3, device=device)
    np.testing.assert_array_equal(copy(x).numpy(), model(x).numpy())


def test_a_tensor_crosses_a_process_boundary():
    x = tg.tensor([1.0, -2.0, 3.0])
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        y = pool.apply(operator.neg, (x,))
    assert y.tolist() == [-1.0, 2.0, -3.0]


@pytest.mark.parametrize("checks", ["0", "1"])
def test_negative_ids_are_errors_in_embedding_and_losses(device, monkeypatch, checks):
    monkeypatch.setenv("TINYGPT_CHECKS", checks)
    weight = tg.randn(5, 3, device=device)
    with pytest.raises(IndexError, match="-1"):
        F.embedding(tg.tensor([1, -1], device=device), weight).numpy()
    logp = tg.zeros(2, 3, device=device)
    with pytest.raises(IndexError, match="-1"):
        F.nll_loss(logp, tg.tensor([0, -1], device=device)).numpy()
    with pytest.raises(IndexError, match="-1"):
        F.cross_entropy(logp, tg.tensor([0, -1], device=device)).numpy()
    # ignore_index may be negative: those rows are skipped, not looked up
    loss = F.nll_loss(logp, tg.tensor([0, -100], device=device), reduction="sum")
    assert loss.item() == 0.0


def test_index_select_matches_pytorch_rules(device):
    x = tg.arange(12.0, device=device).reshape(3, 4)
    assert tg.index_select(x, 1, tg.tensor([3, 0], device=device)).tolist() == [
        [3.0, 0.0],
        [7.0, 4.0],
        [11.0, 8.0],
    ]
    with pytest.raises(tg.ShapeError, match="index must be 1-D"):
        tg.index_select(x, 0, tg.tensor([[0]], device=device))


def test_a_boolean_mask_must_have_the_shape_it_selects_from(device):
    x = tg.arange(6, device=device).reshape(2, 3)
    with pytest.raises(IndexError, match=r"mask of shape \(2,\) does not match the dims \(3,\)"):
        x[:, tg.tensor([True, False], device=device)]
    with pytest.raises(IndexError, match="does not match"):
        x[tg.tensor([True, False, True], device=device)]
    assert x[tg.tensor([False, True], device=device)].tolist() == [[3, 4, 5]]


def test_maximum_and_minimum_take_a_number_on_either_side(device):
    x = tg.tensor([1.0, 3.0], device=device)
    assert tg.maximum(2.0, x).tolist() == [2.0, 3.0]
    assert tg.minimum(2.0, x).tolist() == [1.0, 2.0]
    with pytest.raises(tg.DTypeError, match="needs at least one tensor"):
        tg.maximum(1.0, 2.0)


def test_chunk_of_an_empty_dim_gives_the_chunks_asked_for(device):
    pieces = tg.zeros(0, 3, device=device).chunk(2)
    assert [p.shape for p in pieces] == [(0, 3), (0, 3)]  # as PyTorch


def test_copy_of_a_python_number_keeps_float64_precision(device):
    x = tg.zeros(2, dtype=tg.float64, device=device)
    with tg.no_grad():
        x.copy_(0.1)
    assert x.tolist() == [0.1, 0.1]


def test_augmented_assignment_is_in_place_like_pytorch(device):
    x = tg.zeros(4, device=device)
    view = x[1:3]
    view += 1.0  # a view: the base sees it
    assert x.tolist() == [0.0, 1.0, 1.0, 0.0]
    ints = tg.zeros(2, dtype=tg.int64, device=device)
    with pytest.raises(tg.DTypeError, match="cannot be written into the int64 tensor"):
        ints += 0.5
    a = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = a * 1
    y *= 3.0  # recorded in the graph
    y.sum().backward()
    assert a.grad.tolist() == [3.0, 3.0]


def test_small_pytorch_agreements_found_by_the_fuzzer(device):
    x = tg.tensor([float("nan"), -0.0, 2.0], device=device)
    assert x.sign().tolist() == [0.0, 0.0, 1.0]  # PyTorch: sign(nan) is 0
    with pytest.raises(tg.ShapeError, match="must all be >= 0"):
        tg.arange(9.0, device=device).split([10, -1])
    with pytest.raises(ValueError, match="rectangular"):
        tg.tensor([[1, 2], [3]], device=device)
