"""`tg.multinomial(..., generator=g)`: draws come from `g` (the same seed gives the same draws
on every backend), and the default generator is left where it was."""

from __future__ import annotations

import pytest

import tinygpt as tg


@pytest.mark.parametrize("replacement", [True, False])
def test_generator_draws_are_reproducible_and_leave_the_default_alone(device, replacement):
    weights = tg.tensor([[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]], device=device)
    tg.manual_seed(7)
    default_next = tg.rand(3, device=device).tolist()
    tg.manual_seed(7)
    first = tg.multinomial(weights, 3, replacement, generator=tg.Generator().manual_seed(5))
    assert tg.rand(3, device=device).tolist() == default_next  # the default did not move
    again = tg.multinomial(weights, 3, replacement, generator=tg.Generator().manual_seed(5))
    assert first.tolist() == again.tolist()
    assert first.dtype == tg.int64 and first.shape == (2, 3)


def test_generator_draws_match_across_backends(device):
    weights = tg.tensor([0.05, 0.15, 0.3, 0.5], device=device)
    got = tg.multinomial(weights, 8, True, generator=tg.Generator().manual_seed(11)).tolist()
    want = tg.multinomial(weights.to("numpy"), 8, True, generator=tg.Generator().manual_seed(11))
    assert got == want.tolist()


def test_a_generator_that_is_not_one_is_a_type_error():
    with pytest.raises(TypeError, match="Generator"):
        tg.multinomial(tg.ones(3), 1, generator=object())
