"""In-place ops under autograd, as in PyTorch: recorded in the graph, checked by version
counters, and a write through a view updates its base's gradient. Expected values are
PyTorch 2.13's (checked by hand against it). Runs on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg


def _t(values, device, requires_grad=False):
    return tg.tensor(values, device=device, requires_grad=requires_grad)


def test_inplace_on_a_non_leaf_is_recorded(device):
    a = _t([1.0, 2.0], device, True)
    x = a * 1
    x.mul_(3)
    x.sum().backward()
    assert a.grad.tolist() == [3.0, 3.0]  # it was [1, 1]: the mul_ was lost


def test_inplace_with_a_tensor_that_requires_grad(device):
    a = _t([1.0, 2.0], device, True)
    w = _t([5.0, 7.0], device, True)
    x = a * 1
    x.add_(w, alpha=2.0)
    (x * x).sum().backward()
    # x = a + 2w: d/da = 2x, d/dw = 4x
    assert a.grad.tolist() == [22.0, 32.0]
    assert w.grad.tolist() == [44.0, 64.0]


def test_earlier_uses_keep_their_gradient_after_an_inplace_op(device):
    a = _t([1.0, 2.0], device, True)
    x = a * 1
    y = x + 1  # uses x's value before the mul_
    x.mul_(3)
    (y.sum() + x.sum()).backward()
    assert a.grad.tolist() == [4.0, 4.0]


@pytest.mark.parametrize(
    "modify",
    [
        lambda t: t.add_(1),
        lambda t: t.mul_(2.0),
        lambda t: t.zero_(),
        lambda t: t.copy_(t * 0),
        lambda t: t.__setitem__(0, 5.0),
    ],
    ids=["add_", "mul_", "zero_", "copy_", "setitem"],
)
def test_modifying_a_saved_tensor_is_an_error_naming_the_op(device, modify):
    b = _t([1.0, 2.0], device, True)
    c = b * 1
    d = c * c  # Mul saves c
    with tg.no_grad():
        modify(c)
    with pytest.raises(RuntimeError, match=r"MulBackward needs its input 0 .* in-place"):
        d.sum().backward()


def test_modifying_a_view_of_a_saved_tensor_is_caught_too(device):
    b = _t([[1.0, 2.0], [3.0, 4.0]], device, True)
    c = b * 1
    d = c.exp()  # Exp saves its output, not c
    e = c * c  # Mul saves c
    with tg.no_grad():
        c[0].mul_(2)  # the same memory as c
    d.sum().backward(retain_graph=True)  # exp's output was not touched
    with pytest.raises(RuntimeError, match="in-place"):
        e.sum().backward()


def test_ops_that_save_nothing_do_not_complain(device):
    b = _t([1.0, 2.0], device, True)
    c = b * 1
    d = c + c  # Add saves nothing
    e = c * 3.0  # a scalar multiply saves nothing
    c.add_(1)
    (d.sum() + e.sum() + c.sum()).backward()
    assert b.grad.tolist() == [6.0, 6.0]


def test_a_write_through_a_view_updates_the_base_and_its_gradient(device):
    a = _t([[1.0, 2.0], [3.0, 4.0]], device, True)
    w = _t([10.0, 20.0], device, True)
    x = a * 2
    x[0].mul_(w)
    assert x.tolist() == [[20.0, 80.0], [6.0, 8.0]]
    x.sum().backward()
    assert a.grad.tolist() == [[20.0, 40.0], [2.0, 2.0]]
    assert w.grad.tolist() == [2.0, 4.0]


def test_setitem_through_a_transposed_view(device):
    a = _t([[1.0, 2.0], [3.0, 4.0]], device, True)
    value = _t([5.0, 6.0], device, True)
    x = a * 2
    x.T[1] = value  # column 1 of x
    weights = _t([[1.0, 2.0], [3.0, 4.0]], device)
    (x * weights).sum().backward()
    assert x.tolist() == [[2.0, 5.0], [6.0, 6.0]]
    assert a.grad.tolist() == [[2.0, 0.0], [6.0, 0.0]]
    assert value.grad.tolist() == [2.0, 4.0]


def test_setitem_on_a_non_leaf_is_differentiable(device):
    a = _t([[1.0, 2.0], [3.0, 4.0]], device, True)
    x = a * 2
    x[:, 1] = 0.0
    x.sum().backward()
    assert a.grad.tolist() == [[2.0, 0.0], [2.0, 0.0]]


def test_views_see_the_recorded_write(device):
    a = _t([1.0, 2.0, 3.0], device, True)
    x = a * 1
    v = x[1:]
    x.mul_(10)
    assert v.tolist() == [20.0, 30.0]


def test_leaf_and_views_of_leaves_are_refused_while_recording(device):
    a = _t([1.0, 2.0], device, True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        a.add_(1)
    with pytest.raises(RuntimeError, match="view of a leaf tensor that requires grad"):
        a[0:1].add_(1)
    with tg.no_grad():
        a[0:1].add_(1)  # an optimizer-style update is fine
    assert a.tolist() == [2.0, 2.0]


def test_writes_into_broadcast_views_are_refused(device):
    e = tg.ones(3, device=device).expand(2, 3)
    with pytest.raises(RuntimeError, match="broadcast view"):
        e.add_(1)
    with pytest.raises(RuntimeError, match="broadcast view"):
        e[0] = 5.0


def test_versions_count_writes(device):
    x = tg.zeros(3, device=device)
    v = x[1:]
    before = x._version_now
    with tg.no_grad():
        v.add_(1)
        x.fill_(2)
        x[0] = 3.0
    assert x._version_now == before + 3
    assert v._version_now == x._version_now
    np.testing.assert_array_equal(x.numpy(), [3.0, 2.0, 2.0])
