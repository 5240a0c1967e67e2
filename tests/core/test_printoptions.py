"""`tg.set_printoptions` with PyTorch's names: precision, sci_mode, threshold, edgeitems,
linewidth and the profiles; bad values are a ValueError."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg


@pytest.fixture(autouse=True)
def _default_options():
    yield
    tg.set_printoptions(profile="default")


def test_precision_and_fixed_notation():
    x = tg.tensor(np.array([[1.23456789, -2.5e-5, 100.0], [3.0, 4.5, 1e6]], np.float32))
    assert "1.2346e+00" in repr(x)  # the default: scientific over a wide range
    tg.set_printoptions(precision=2, sci_mode=False)
    text = repr(x)
    assert "1000000.00" in text and "      1.23" in text and "e+" not in text


def test_scientific_mode_and_profile_reset():
    tg.set_printoptions(sci_mode=True)
    assert repr(tg.tensor([1.5, 2.25])).startswith("tensor([1.5000e+00, 2.2500e+00]")
    tg.set_printoptions(profile="default")
    assert repr(tg.tensor([1.5, 2.25])).startswith("tensor([1.5000, 2.2500]")
    assert tg.get_printoptions()["sci_mode"] is None


def test_threshold_and_edgeitems_summarize():
    tg.set_printoptions(threshold=5, edgeitems=2)
    assert repr(tg.arange(10)).startswith("tensor([0, 1, ..., 8, 9]")
    tg.set_printoptions(profile="full")
    assert "..." not in repr(tg.arange(2000))


def test_linewidth_wraps_rows():
    tg.set_printoptions(linewidth=30)
    assert repr(tg.arange(20)).count("\n") > repr(tg.arange(4)).count("\n")


@pytest.mark.parametrize("kwargs", [{"profile": "long"}, {"precision": -1}])
def test_bad_values(kwargs):
    with pytest.raises(ValueError, match="set_printoptions"):
        tg.set_printoptions(**kwargs)
