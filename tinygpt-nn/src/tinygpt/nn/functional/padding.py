"""pad: `torch.nn.functional.pad` with its four modes.

`pad` lists (before, after) pairs from the LAST dim backwards: (left, right) pads the last
dim, (left, right, top, bottom) the last two. Modes:

- "constant": fill with `value` (negative amounts crop, as in PyTorch);
- "reflect": mirror without repeating the edge (a b c -> c b | a b c | b a), amounts < size;
- "replicate": repeat the edge element;
- "circular": wrap around (amounts <= size).

The three index modes read the input with `index_select`, so the gradient flows back
(summed where an element was read several times).

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.pad(tg.tensor([[1, 2, 3]]), (2, 1), mode="reflect").tolist()
[[3, 2, 1, 2, 3, 2]]
"""

from __future__ import annotations

from collections.abc import Sequence

import tinygpt as tg
from tinygpt import ShapeError, Tensor

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def pad(
    input: Tensor,  # noqa: A002 - PyTorch's name
    pad: Sequence[int],
    mode: str = "constant",
    value: float | None = None,
) -> Tensor:
    """`input` padded by the (before, after) pairs in `pad`, from the last dim backwards."""
    amounts = [int(p) for p in pad]
    if len(amounts) % 2 or len(amounts) // 2 > input.ndim:
        raise ShapeError(
            f"pad: {tuple(amounts)} must be (before, after) pairs for at most {input.ndim} dims"
        )
    if mode not in _MODES:
        raise ValueError(f"pad: mode {mode!r} is not one of {', '.join(_MODES)}")
    if mode == "constant":
        return _constant(input, amounts, 0.0 if value is None else value)
    if value not in (None, 0):
        raise ValueError(f"pad: value= only applies to mode='constant', not {mode!r}")
    out = input
    for i in range(len(amounts) // 2):
        dim = input.ndim - 1 - i
        out = _by_index(out, dim, amounts[2 * i], amounts[2 * i + 1], mode)
    return out


def _constant(x: Tensor, amounts: list[int], value: float) -> Tensor:
    """Constant padding; negative amounts crop that side instead (after padding the rest)."""
    grow = [max(a, 0) for a in amounts]
    out = tg.pad(x, grow, value) if any(grow) else x
    for i in range(len(amounts) // 2):
        dim = x.ndim - 1 - i
        before = -min(amounts[2 * i], 0)
        after = -min(amounts[2 * i + 1], 0)
        if before or after:
            length = out.shape[dim] - before - after
            if length < 0:
                raise ShapeError(f"pad: cropping {(before, after)} is more than dim {dim} holds")
            out = out.narrow(dim, before, length)
    return out


def _source_index(n: int, before: int, after: int, mode: str) -> list[int]:
    """For each output position along one dim, the input position it copies."""
    positions = range(-before, n + after)
    if mode == "replicate":
        return [min(max(i, 0), n - 1) for i in positions]
    if mode == "circular":
        return [i % n for i in positions]
    # reflect: mirror about the first and last elements (which are not repeated)
    return [-i if i < 0 else (2 * (n - 1) - i if i >= n else i) for i in positions]


def _by_index(x: Tensor, dim: int, before: int, after: int, mode: str) -> Tensor:
    n = x.shape[dim]
    if before < 0 or after < 0:
        raise ShapeError(f"pad: mode {mode!r} needs non-negative amounts, got {(before, after)}")
    limit = n - 1 if mode == "reflect" else n
    if n == 0 or (mode != "replicate" and max(before, after) > limit):
        raise ShapeError(
            f"pad: mode {mode!r} pads dim {dim} of size {n} by {(before, after)}; each amount "
            f"must be at most {limit} (the input {x.shape})"
        )
    if before == 0 and after == 0:
        return x
    index = tg.tensor(_source_index(n, before, after, mode), device=x.device)
    return tg.index_select(x, dim, index)
