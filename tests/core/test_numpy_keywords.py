"""NumPy's `axis=` and `keepdims=` wherever PyTorch takes `dim=` and `keepdim=`
(tinygpt/numpy_keywords.py): functions and Tensor methods alike, same results as the PyTorch
names, and a clear TypeError when both names are given."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg

DATA = np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 7.0


@pytest.mark.parametrize(
    "name", ["sum", "mean", "amax", "amin", "std", "var", "prod", "logsumexp", "nansum"]
)
def test_reductions_take_keepdims_and_axis(device, name):
    x = tg.tensor(DATA, device=device)
    want = getattr(x, name)(dim=1, keepdim=True)
    for got in (
        getattr(x, name)(1, keepdims=True),
        getattr(x, name)(axis=1, keepdims=True),
        getattr(tg, name)(x, 1, keepdims=True),
        getattr(tg, name)(x, axis=1, keepdim=True),
    ):
        assert got.shape == (2, 1, 4)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_value_and_index_reductions(device):
    x = tg.tensor(DATA, device=device)
    assert x.max(axis=2, keepdims=True).values.shape == (2, 3, 1)
    assert x.argmax(axis=0, keepdims=True).tolist() == x.argmax(dim=0, keepdim=True).tolist()
    assert tg.median(x, axis=-1).values.tolist() == tg.median(x, dim=-1).values.tolist()
    assert x.any(axis=1).shape == (2, 4)


def test_other_dim_ops_take_axis(device):
    x = tg.tensor(DATA, device=device)
    assert tg.cat([x, x], axis=0).shape == (4, 3, 4)
    assert tg.stack([x, x], axis=1).shape == (2, 2, 3, 4)
    np.testing.assert_allclose(x.softmax(axis=-1).numpy(), x.softmax(dim=-1).numpy())
    assert x.cumsum(axis=1).tolist() == x.cumsum(dim=1).tolist()
    assert x.unsqueeze(axis=0).shape == (1, 2, 3, 4)


def test_both_names_is_a_type_error(device):
    x = tg.tensor(DATA, device=device)
    with pytest.raises(TypeError, match="both dim= and its alias axis="):
        x.amax(dim=1, axis=1)
    with pytest.raises(TypeError, match="both keepdim= and its alias keepdims="):
        tg.amax(x, 1, keepdim=True, keepdims=True)


def test_wrapping_keeps_names_and_docs():
    assert tg.Tensor.amax.__name__ == "amax"
    assert tg.amax.__doc__ == tg.amax.__wrapped__.__doc__
    assert tg.Tensor.sum.__dict__.get("__numpy_keywords__") is None  # its own signature
