"""`tg.testing.assert_close(actual, expected)` as PyTorch's `torch.testing.assert_close`:
tensors (or numbers, or nested lists / tuples / dicts of them) equal in shape, dtype and
device and close in value, with PyTorch's default tolerances per dtype (float32: rtol 1.3e-6,
atol 1e-5; float64: 1e-7 both; integers and bool: exact). NaNs are unequal unless
`equal_nan=True`. The failure message counts the mismatched elements and names the largest
absolute and relative differences, as PyTorch's does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor

__all__ = ["assert_close_torch_style", "default_tolerance"]

#: dtype name -> (rtol, atol), PyTorch's defaults
_TOLERANCES = {
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
}


def default_tolerance(dtype_name: str) -> tuple[float, float]:
    return _TOLERANCES.get(dtype_name, (0.0, 0.0))


def _describe(value: Any) -> tuple[np.ndarray, str, str | None]:
    """(values as NumPy, dtype name, device or None) of a tensor or a number."""
    if isinstance(value, Tensor):
        return value.detach().numpy(), value.dtype.name, str(value.device)
    if isinstance(value, np.ndarray):
        return value, str(value.dtype), None
    if isinstance(value, bool):
        return np.asarray(value), "bool", None
    if isinstance(value, int):
        return np.asarray(value), "int64", None
    if isinstance(value, float):
        return np.asarray(value), "float64", None
    raise TypeError(f"assert_close: cannot compare a {type(value).__name__}")


def assert_close_torch_style(
    actual: Any,
    expected: Any,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    msg: str | None = None,
    where: str = "",
) -> None:
    if (rtol is None) != (atol is None):
        raise ValueError("assert_close: give both rtol and atol, or neither")
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping) or set(actual) != set(expected):
            raise AssertionError(f"assert_close{where}: the keys differ")
        for key in expected:
            assert_close_torch_style(
                actual[key], expected[key], rtol=rtol, atol=atol, equal_nan=equal_nan,
                check_device=check_device, check_dtype=check_dtype, msg=msg,
                where=f"{where}[{key!r}]",
            )  # fmt: skip
        return
    if isinstance(expected, Sequence) and not isinstance(expected, str):
        if not isinstance(actual, Sequence) or len(actual) != len(expected):
            raise AssertionError(f"assert_close{where}: the sequence lengths differ")
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close_torch_style(
                a, e, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=check_device,
                check_dtype=check_dtype, msg=msg, where=f"{where}[{index}]",
            )  # fmt: skip
        return
    got, got_dtype, got_device = _describe(actual)
    want, want_dtype, want_device = _describe(expected)
    problem = None
    if got.shape != want.shape:
        problem = f"The values for attribute 'shape' do not match: {got.shape} != {want.shape}."
    elif check_dtype and got_dtype != want_dtype:
        problem = f"The values for attribute 'dtype' do not match: {got_dtype} != {want_dtype}."
    elif check_device and None not in (got_device, want_device) and got_device != want_device:
        problem = f"The values for attribute 'device' do not match: {got_device} != {want_device}."
    if problem is None:
        if rtol is None or atol is None:
            rtol, atol = default_tolerance(want_dtype if check_dtype else got_dtype)
        problem = _value_mismatch(got, want, rtol, atol, equal_nan)
    if problem is not None:
        text = msg if msg is not None else problem
        raise AssertionError(f"{text}" + (f" (at {where})" if where and msg is None else ""))


def _value_mismatch(
    got: np.ndarray, want: np.ndarray, rtol: float, atol: float, equal_nan: bool
) -> str | None:
    a = got.astype(np.float64)
    b = want.astype(np.float64)
    close = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if close.all():
        return None
    bad = int((~close).sum())
    total = close.size
    diff = np.abs(a - b)
    diff = np.where(np.isnan(diff), np.inf, diff)
    where_abs = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(b != 0, diff / np.abs(b), np.where(diff == 0, 0.0, np.inf))
    where_rel = np.unravel_index(int(np.argmax(rel)), rel.shape) if rel.ndim else ()
    kind = "Scalars" if total == 1 and got.ndim == 0 else "Tensor-likes"
    at_abs, at_rel = tuple(map(int, where_abs)), tuple(map(int, where_rel))
    return (
        f"{kind} are not close!\n\n"
        f"Mismatched elements: {bad} / {total} ({100.0 * bad / total:.1f}%)\n"
        f"Greatest absolute difference: {float(np.max(diff))} at index {at_abs} "
        f"(up to {atol} allowed)\n"
        f"Greatest relative difference: {float(np.max(rel))} at index {at_rel} "
        f"(up to {rtol} allowed)"
    )
