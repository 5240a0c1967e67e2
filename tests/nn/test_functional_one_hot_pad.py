"""F.one_hot and F.pad (constant, reflect, replicate, circular): forward against NumPy,
backward against float64 finite differences, every backend; against PyTorch where installed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt.errors import DTypeError, ShapeError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 3, 4)).astype(np.float32)
NP_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def np_pad_width(ndim, pad):
    """F.pad's (last dim first) pairs as np.pad's per-dim list."""
    width = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        width[ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return width


def test_one_hot_matches_numpy(device):
    ids = np.array([[0, 3], [2, 2]])
    got = F.one_hot(tg.tensor(ids, device=device), 5)
    assert got.dtype == tg.int64 and got.shape == (2, 2, 5)
    np.testing.assert_array_equal(got.numpy(), np.eye(5, dtype=np.int64)[ids])
    inferred = F.one_hot(tg.tensor(ids, device=device))
    np.testing.assert_array_equal(inferred.numpy(), np.eye(4, dtype=np.int64)[ids])
    empty = F.one_hot(tg.zeros(0, dtype=tg.int64, device=device), 3)
    assert empty.shape == (0, 3)


def test_one_hot_rejects_bad_ids(device):
    with pytest.raises(ShapeError, match="class id 5 is outside \\[0, 3\\)"):
        F.one_hot(tg.tensor([0, 5], device=device), 3)
    with pytest.raises(ShapeError, match="class id -1"):
        F.one_hot(tg.tensor([-1, 0], device=device))
    with pytest.raises(DTypeError, match="int64"):
        F.one_hot(tg.tensor([0.0], device=device), 2)


@pytest.mark.parametrize("pad", [(1, 2), (2, 1, 1, 0), (1, 1, 2, 2, 1, 0), (0, 0)])
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_matches_numpy(device, pad, mode):
    got = F.pad(tg.tensor(X, device=device), pad, mode=mode)
    width = np_pad_width(X.ndim, pad)
    want = np.pad(X, width) if mode == "constant" else np.pad(X, width, mode=NP_MODES[mode])
    np.testing.assert_array_equal(got.numpy(), want)


def test_constant_pad_value_and_negative_crop(device):
    x = tg.tensor(X, device=device)
    np.testing.assert_array_equal(
        F.pad(x, (1, 1), value=-3.0).numpy(),
        np.pad(X, np_pad_width(3, (1, 1)), constant_values=-3.0),
    )
    np.testing.assert_array_equal(
        F.pad(x, (-1, 2)).numpy(), np.pad(X[..., 1:], np_pad_width(3, (0, 2)))
    )
    np.testing.assert_array_equal(F.pad(x, (0, 0, -1, -1)).numpy(), X[:, 1:2])


def test_pad_errors(device):
    x = tg.tensor(X, device=device)
    with pytest.raises(ShapeError, match="pairs"):
        F.pad(x, (1,))
    with pytest.raises(ValueError, match="mode 'mirror'"):
        F.pad(x, (1, 1), mode="mirror")
    with pytest.raises(ShapeError, match="at most 3"):
        F.pad(x, (4, 0), mode="reflect")  # reflect needs amounts < size (4)
    with pytest.raises(ShapeError, match="non-negative"):
        F.pad(x, (-1, 0), mode="replicate")


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradients(device, mode):
    x = tg.tensor(RNG.normal(size=(2, 3)), dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: F.pad(t, (2, 1, 1, 1), mode=mode), [x])


@given(
    size=st.integers(2, 5),
    before=st.integers(0, 4),
    after=st.integers(0, 4),
    mode=st.sampled_from(["reflect", "replicate", "circular"]),
)
def test_pad_any_amount(size, before, after, mode):
    limit = size - 1 if mode == "reflect" else (size if mode == "circular" else 99)
    x = np.arange(size * 2, dtype=np.float32).reshape(2, size)
    for device in [info.name for info in tg.backends() if info.available]:
        if max(before, after) > limit:
            with pytest.raises(ShapeError):
                F.pad(tg.tensor(x, device=device), (before, after), mode=mode)
            continue
        got = F.pad(tg.tensor(x, device=device), (before, after), mode=mode)
        want = np.pad(x, [(0, 0), (before, after)], mode=NP_MODES[mode])
        np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_and_one_hot_match_pytorch(device, mode):
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=(2, 3, 4))
    ours = tg.tensor(x, device=device, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out_ours = F.pad(ours, (2, 1, 1, 2), mode=mode)
    out_theirs = torch.nn.functional.pad(theirs, (2, 1, 1, 2), mode=mode)
    np.testing.assert_array_equal(out_ours.detach().numpy(), out_theirs.detach().numpy())
    weights = np.arange(out_theirs.numel(), dtype=np.float64).reshape(out_theirs.shape)
    (out_ours * tg.tensor(weights, device=device)).sum().backward()
    (out_theirs * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy())
    ids = np.array([[1, 0, 3]])
    np.testing.assert_array_equal(
        F.one_hot(tg.tensor(ids, device=device)).numpy(),
        torch.nn.functional.one_hot(torch.from_numpy(ids)).numpy(),
    )
