"""multinomial: draw category indices from rows of non-negative weights, as PyTorch.

The uniform numbers come from `tg.rand`, so draws follow `tg.manual_seed` on every backend;
the rest is a composition (no kernel of its own):

- with replacement, inverse-CDF sampling: u in [0, total) lands on the first category whose
  running sum (`cumsum`) exceeds it, so a zero weight is never picked;
- without replacement, the exponential-race trick: each category gets the key
  log(u) / w, and the `num_samples` largest keys are an ordered draw without replacement
  (Efraimidis and Spirakis), in one `topk`. A zero weight gets -inf and comes last.

NOTE: the same seed gives other indices than PyTorch (another generator and method); the
distribution is the same. With TINYGPT_CHECKS=1 bad weights (negative, inf, nan, a row
summing to 0) raise a ValueError; without it they give undefined indices, as a check would
read the weights back to the host.

>>> import tinygpt as tg
>>> _ = tg.manual_seed(0)
>>> tg.multinomial(tg.tensor([0.0, 1.0, 0.0]), 2, replacement=True).tolist()
[1, 1]
"""

from __future__ import annotations

from ..config import env_checks
from ..creation import rand
from ..dtypes import float32, float64, int64
from ..errors import DTypeError, ShapeError
from ..ndarray import as_int
from ..random import Generator
from ..tensor import Tensor
from .comparison import where
from .promotion import cast
from .scan import cumsum
from .sorting import topk

__all__ = ["multinomial"]


def multinomial(
    input: Tensor,  # noqa: A002 - PyTorch's name
    num_samples: int,
    replacement: bool = False,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """`num_samples` category indices per row of weights `input`.

    input (n,) or (B, n) float, non-negative, each row with a positive sum ->
    int64 (num_samples,) or (B, num_samples). The uniforms come from `generator` (a
    `tg.Generator`) when given, else from the default one that `tg.manual_seed` seeds.
    """
    num_samples = as_int("multinomial", num_samples, "num_samples")
    if input.ndim not in (1, 2) or input.shape[-1] == 0:
        raise ShapeError(
            f"multinomial: expects weights of shape (n,) or (B, n) with n > 0, got {input.shape}"
        )
    if not input.dtype.is_floating_point:
        raise DTypeError(f"multinomial: weights must be floating, got {input.dtype}; use .float()")
    n = input.shape[-1]
    if num_samples <= 0 or (not replacement and num_samples > n):
        limit = "without replacement at most n = " + str(n) if not replacement else "> 0"
        raise ShapeError(f"multinomial: num_samples={num_samples} must be {limit}")
    weights = input.detach().reshape(-1, n)  # (B, n)
    # float64 where the backend has it: the running sum must tell tiny weights apart
    wide = float64 if float64 in weights._data.backend.dtypes else float32
    weights = cast(weights, wide)
    if env_checks():
        _check_weights(weights)
    rows = weights.shape[0]
    if replacement:
        out = _with_replacement(weights, rows, num_samples, generator)
    else:
        u = rand(rows, n, dtype=wide, device=weights.device, generator=generator)
        positive = weights > 0
        # (B, n): log(u) <= 0, so a larger weight gives a larger key; weight 0 gets -inf
        keys = where(positive, u.log() / where(positive, weights, 1.0), float("-inf"))
        out = topk(keys, num_samples, dim=-1).indices
    return out.reshape(num_samples) if input.ndim == 1 else out


def _with_replacement(
    weights: Tensor, rows: int, num_samples: int, generator: Generator | None
) -> Tensor:
    """(B, n) weights -> (B, S) draws by inverse CDF."""
    n = weights.shape[-1]
    running = cumsum(weights, -1)  # (B, n)
    total = running[:, n - 1 :]  # (B, 1)
    u = rand(rows, num_samples, dtype=weights.dtype, device=weights.device, generator=generator)
    u = u * total  # (B, S)
    # the index is how many running sums are <= u: (B, 1, n) <= (B, S, 1) -> (B, S)
    passed = (running.unsqueeze(1) <= u.unsqueeze(2)).sum(-1)
    return passed.clamp(max=n - 1).to(int64)


def _check_weights(weights: Tensor) -> None:
    """TINYGPT_CHECKS=1 only: PyTorch's checks on the weights (NOTE: host reads)."""
    if bool((weights < 0).any()) or not bool((weights.abs() < float("inf")).all()):
        raise ValueError("multinomial: weights must be finite and >= 0 (no inf, nan or < 0)")
    if bool((weights.sum(-1) <= 0).any()):
        raise ValueError("multinomial: every row of weights must have a positive sum")
