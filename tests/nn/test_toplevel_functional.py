"""`tg.conv1d`, `tg.max_pool1d`, `tg.pixel_shuffle`, ...: PyTorch's top-level spellings of
nn.functional ops, found lazily in tinygpt-nn, with the same results."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F


@pytest.mark.parametrize(
    "name", ["conv1d", "max_pool1d", "avg_pool1d", "adaptive_avg_pool1d", "pixel_shuffle"]
)
def test_same_function_as_nn_functional(name):
    assert getattr(tg, name) is getattr(F, name)


def test_conv1d_and_pooling_values(device):
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((2, 3, 8)), device=device)
    w = tg.tensor(rng.standard_normal((4, 3, 3)), device=device)
    np.testing.assert_allclose(
        tg.conv1d(x, w, padding=1).numpy(), F.conv1d(x, w, padding=1).numpy()
    )
    assert tg.max_pool1d(x, 2).shape == (2, 3, 4)
    assert tg.pixel_shuffle(tg.ones(1, 4, 2, 2, device=device), 2).shape == (1, 1, 4, 4)


def test_unknown_names_still_raise():
    with pytest.raises(AttributeError, match="no attribute"):
        tg.not_a_function  # noqa: B018
