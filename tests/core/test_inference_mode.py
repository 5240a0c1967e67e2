"""tg.inference_mode(): no graph inside, and the tensors made there cannot join autograd."""

from __future__ import annotations

import pytest

import tinygpt as tg


def test_inside_no_graph_is_recorded(device):
    w = tg.ones(3, device=device, requires_grad=True)
    with tg.inference_mode():
        assert tg.is_inference_mode_enabled()
        assert not tg.is_grad_enabled()
        y = w * 2
    assert not tg.is_inference_mode_enabled() and tg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert y.is_inference() and not w.is_inference()


def test_as_a_decorator_and_with_false(device):
    @tg.inference_mode()
    def predict(x):
        return x * 2

    w = tg.ones(2, device=device, requires_grad=True)
    assert predict(w).is_inference()
    with tg.inference_mode(False):
        z = w * 2
    assert z.requires_grad and not z.is_inference()


def test_views_of_an_inference_tensor_are_inference_tensors(device):
    with tg.inference_mode():
        x = tg.arange(6.0, device=device)
    assert x.reshape(2, 3).is_inference()
    assert not x.clone().is_inference()


def test_saving_an_inference_tensor_for_backward_raises(device):
    with tg.inference_mode():
        x = tg.ones(3, device=device)
    w = tg.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="inference tensor.*saved for backward"):
        w * x  # mul saves x for its backward
    (w + x).sum().backward()  # add saves nothing: allowed, as in PyTorch
    assert w.grad.tolist() == [1.0, 1.0, 1.0]
    (w * x.clone()).sum().backward()  # the documented way out


def test_in_place_update_outside_the_mode_raises(device):
    with tg.inference_mode():
        x = tg.zeros(3, device=device)
        x += 1  # inside: fine
    with pytest.raises(RuntimeError, match="inference tensor.*in place"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="inference tensor"):
        x.requires_grad_()
    assert x.tolist() == [1.0, 1.0, 1.0]


def test_no_grad_tensors_are_not_inference_tensors(device):
    w = tg.ones(2, device=device, requires_grad=True)
    with tg.no_grad():
        y = w * 2
    y.add_(1)  # fine: a normal tensor
    assert not y.is_inference()


@pytest.mark.oracle
def test_matches_pytorch_rules():
    torch = pytest.importorskip("torch")
    with torch.inference_mode():
        tx = torch.ones(3)
    with pytest.raises(RuntimeError):
        torch.ones(3, requires_grad=True) * tx
    with pytest.raises(RuntimeError):
        tx.add_(1)
    with tg.inference_mode():
        x = tg.ones(3)
    with pytest.raises(RuntimeError):
        tg.ones(3, requires_grad=True) * x
    with pytest.raises(RuntimeError):
        x.add_(1)
