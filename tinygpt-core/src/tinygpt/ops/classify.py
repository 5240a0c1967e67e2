"""Questions about values: isnan, isinf, isfinite, isclose, allclose.

Compositions of comparisons, so bool results with no gradient. nan is the one value that is
not equal to itself, and |x| == inf finds both infinities; integer and bool tensors hold
neither.

>>> import tinygpt as tg
>>> x = tg.tensor([1.0, float("nan"), float("inf")])
>>> x.isnan().tolist(), x.isfinite().tolist()
([False, True, False], [True, False, False])
>>> tg.allclose(tg.tensor([1.0]), tg.tensor([1.0 + 1e-7]))
True
"""

from __future__ import annotations

from ..creation import full
from ..dtypes import bool_
from ..tensor import Tensor
from .promotion import as_tensor_like, promote

__all__ = ["isnan", "isinf", "isposinf", "isneginf", "isfinite", "isclose", "allclose"]


def _constant(x: Tensor, value: bool) -> Tensor:
    return full(x.shape, value, dtype=bool_, device=x.device)


def isnan(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """True where the element is nan."""
    if not input.dtype.is_floating_point:
        return _constant(input, False)
    return input != input


def isinf(input: Tensor) -> Tensor:  # noqa: A002
    """True where the element is +inf or -inf."""
    if not input.dtype.is_floating_point:
        return _constant(input, False)
    return input.abs() == float("inf")


def isposinf(input: Tensor) -> Tensor:  # noqa: A002
    if not input.dtype.is_floating_point:
        return _constant(input, False)
    return input == float("inf")


def isneginf(input: Tensor) -> Tensor:  # noqa: A002
    if not input.dtype.is_floating_point:
        return _constant(input, False)
    return input == float("-inf")


def isfinite(input: Tensor) -> Tensor:  # noqa: A002
    """True where the element is neither nan nor infinite."""
    if not input.dtype.is_floating_point:
        return _constant(input, True)
    return input.abs() < float("inf")  # nan compares false


def isclose(
    input: Tensor,  # noqa: A002
    other: object,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> Tensor:
    """|input - other| <= atol + rtol * |other| elementwise (broadcasting), as PyTorch.

    Equal values are close (so inf is close to inf); nan is close to nan only with
    `equal_nan`.
    """
    a, b = promote("isclose", input, as_tensor_like(other, input))
    if a.dtype == bool_:
        return a == b
    equal = a == b
    if not a.dtype.is_floating_point:
        # as PyTorch: integers compare exactly up to the tolerance, computed in float
        diff = (a - b).abs().double()
        return equal | (diff <= atol + rtol * b.abs().double())
    near = (a - b).abs() <= atol + rtol * b.abs()  # inf - inf is nan: false, equal covers it
    close = equal | (near & isfinite(a) & isfinite(b))
    if equal_nan:
        close = close | (isnan(a) & isnan(b))
    return close


def allclose(
    input: Tensor,  # noqa: A002
    other: object,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> bool:
    """True when every element is `isclose` (a Python bool: reads the device once)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all())
