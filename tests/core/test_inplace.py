"""In-place updates: values vs NumPy, writes through views, and the leaf-requires-grad guard."""

import numpy as np
import pytest

import tinygpt as tg

CASES = [
    ("add_", lambda t: t.add_(2.0), lambda a: a + 2.0),
    ("add_ alpha", lambda t: t.add_(tg.ones(3, device=t.device), alpha=-0.5), lambda a: a - 0.5),
    ("sub_", lambda t: t.sub_(tg.full((2, 3), 4.0, device=t.device)), lambda a: a - 4.0),
    ("mul_", lambda t: t.mul_(3.0), lambda a: a * 3.0),
    (
        "div_",
        lambda t: t.div_(tg.tensor([1.0, 2.0, 4.0], device=t.device)),
        lambda a: a / [1.0, 2.0, 4.0],
    ),
    (
        "copy_ broadcast",
        lambda t: t.copy_(tg.tensor([7.0, 8.0, 9.0], device=t.device)),
        lambda a: a * 0 + [7, 8, 9],
    ),
    ("fill_", lambda t: t.fill_(5.0), lambda a: a * 0 + 5.0),
    ("zero_", lambda t: t.zero_(), lambda a: a * 0),
]


@pytest.mark.parametrize("name, update, expected", CASES, ids=[c[0] for c in CASES])
def test_inplace_matches_numpy_and_keeps_identity(device, name, update, expected):
    a = np.arange(6, dtype=np.float32).reshape(2, 3) + 1
    t = tg.tensor(a, device=device)
    out = update(t)
    assert out is t
    np.testing.assert_allclose(t.numpy(), expected(a), rtol=1e-6)


def test_inplace_writes_through_a_view(device):
    t = tg.zeros(2, 3, device=device)
    t[1].add_(1.0)
    t[:, ::2].mul_(0.0)
    np.testing.assert_array_equal(t.numpy(), [[0, 0, 0], [0, 1, 0]])


def test_leaf_requiring_grad_needs_no_grad(device):
    w = tg.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.mul_(2.0)
    with tg.no_grad():
        w.mul_(2.0)
    assert w.requires_grad and w.tolist() == [2.0, 2.0, 2.0]


def test_random_fills_are_seeded(device):
    a = tg.empty(1000, device=device)
    b = tg.empty(1000, device=device)
    tg.manual_seed(3)
    a.normal_(1.0, 2.0)
    tg.manual_seed(3)
    b.normal_(1.0, 2.0)
    assert a.tolist() == b.tolist()
    assert 0.8 < a.mean().item() < 1.2 and 1.8 < a.std().item() < 2.2
    a.uniform_(-3.0, -1.0)
    assert -3.0 <= a.min().item() and a.max().item() < -1.0
