"""`tg.Size`: the type of `x.shape` and `x.size()`, PyTorch's `torch.Size`.

A tuple of ints with `numel()`; it equals (and hashes as) the plain tuple of the same sizes,
so `x.shape == (2, 3)` and dict lookups by shape work as before, and it prints as the
tuple does.

>>> import tinygpt as tg
>>> s = tg.zeros(2, 3).shape
>>> s, s.numel(), s == (2, 3), type(s).__name__
((2, 3), 6, True, 'Size')
"""

from __future__ import annotations

from typing import Any, SupportsIndex

__all__ = ["Size"]


class Size(tuple[int, ...]):
    """An immutable shape: a tuple of non-negative ints."""

    __slots__ = ()

    def numel(self) -> int:
        """How many elements a tensor of this shape holds (1 for a 0-d shape)."""
        count = 1
        for d in self:
            count *= d
        return count

    # NOTE: repr and str stay the plain tuple's "(2, 3)", where torch.Size prints
    # "torch.Size([2, 3])": error messages format shapes with f-strings, and tinygpt's
    # docstring examples and docs print shapes as tuples. `type(s).__name__` tells them apart.
    __repr__ = tuple.__repr__
    __str__ = tuple.__repr__

    # NOTE: indexing by an int stays tuple's C method (shape[0] is on hot paths); only these
    # tuple-returning operations keep the type, as torch.Size's do
    def __add__(self, other: Any) -> Size:
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(self) + other)

    def __mul__(self, count: SupportsIndex) -> Size:
        return Size(tuple(self) * count)

    def __reduce__(self) -> tuple[Any, tuple[tuple[int, ...]]]:
        # pickles as a Size (a tuple subclass would otherwise need its class's module anyway)
        return (Size, (tuple(self),))
