"""The idiom harness (conftest.py loads it): run one PyTorch-style snippet with torch and
with tinygpt, and compare the results.

An idiom is a function `idiom(torch, nn, F, optim)` written exactly as PyTorch code would be,
that returns what it computed. It runs twice: once with the real `torch` modules and once with
`tinygpt` passed in their place (on each of the numpy and cpu devices), and the two results are
compared after `normalize`:

- tensors: shape, dtype name, requires_grad and values (float32 tolerance);
- `Shape(t)`: shape and dtype only (for random tensors, whose values differ by design);
- numbers, strings, None, bools: type and value (floats with tolerance);
- tuples (torch.Size and named tuples too), lists, dicts: element by element;
- dtypes: their name (`torch.float32` and `tinygpt.float32` both become "float32").

When torch raises, tinygpt must raise too, an instance of the same built-in exception class
(tinygpt's typed errors subclass ValueError, TypeError, RuntimeError, ...). An idiom that is
meant to raise says so with `raises=`, so a mistake in an idiom cannot pass as "both raised".
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import tinygpt as tg

RTOL = 1e-5
ATOL = 1e-6
_AVAILABLE = {b.name for b in tg.backends() if b.available}
#: the devices every idiom runs on: numpy and cpu (or only TINYGPT_DEVICE's, when it is set)
IDIOM_DEVICES = [
    d
    for d in ("numpy", "cpu")
    if d in _AVAILABLE and os.environ.get("TINYGPT_DEVICE", d).partition(":")[0] == d
]


@dataclass(frozen=True)
class Shape:
    """Compare a tensor by shape and dtype only (random values differ between libraries)."""

    tensor: Any


@dataclass(frozen=True)
class Idiom:
    fn: Callable[..., Any]
    raises: type[BaseException] | None = None
    xfail: str | None = None


def idiom(
    fn: Callable[..., Any] | None = None,
    *,
    raises: type[BaseException] | None = None,
    xfail: str | None = None,
) -> Any:
    """Register an idiom; `raises=` says torch raises that built-in exception class."""

    def wrap(f: Callable[..., Any]) -> Idiom:
        return Idiom(f, raises, xfail)

    return wrap(fn) if fn is not None else wrap


def params(namespace: dict[str, Any]) -> list[Any]:
    """The idioms of a test module as pytest params, xfail(strict=True) where they say so."""
    out = []
    for name, value in namespace.items():
        if isinstance(value, Idiom):
            marks = [pytest.mark.xfail(strict=True, reason=value.xfail)] if value.xfail else []
            out.append(pytest.param(value, id=name, marks=marks))
    return out


def ramp(torch: Any, *shape: int) -> Any:
    """Deterministic values for weights and inputs: a ramp over [-0.5, 0.5)."""
    n = math.prod(shape)
    return (torch.arange(n, dtype=torch.float32) / n - 0.5).reshape(*shape)


def linear(torch: Any, nn: Any, fan_in: int, fan_out: int, bias: bool = True) -> Any:
    """An nn.Linear with ramp weights and bias 0.1, the same in both libraries."""
    lin = nn.Linear(fan_in, fan_out, bias=bias)
    with torch.no_grad():
        lin.weight.copy_(ramp(torch, fan_out, fan_in))
        if bias:
            lin.bias.fill_(0.1)
    return lin


def _dtype_name(dtype: Any) -> str:
    return str(dtype).rpartition(".")[2]


def _is_tensor(x: Any) -> bool:
    return isinstance(x, tg.Tensor) or type(x).__module__.startswith("torch")


def normalize(x: Any) -> Any:
    """A library-neutral picture of an idiom's result (see the module docstring)."""
    if isinstance(x, Shape):
        return ("shape", tuple(x.tensor.shape), _dtype_name(x.tensor.dtype))
    if type(x).__name__ == "dtype" or isinstance(x, tg.DType):
        return ("dtype", _dtype_name(x))
    if _is_tensor(x) and hasattr(x, "detach") and hasattr(x, "shape"):
        values = np.asarray(x.detach().tolist(), dtype=np.float64)
        return ("tensor", tuple(x.shape), _dtype_name(x.dtype), bool(x.requires_grad), values)
    if isinstance(x, dict):
        return ("dict", {k: normalize(v) for k, v in x.items()})
    if isinstance(x, tuple):
        return ("tuple", [normalize(v) for v in x])
    if isinstance(x, list):
        return ("list", [normalize(v) for v in x])
    if isinstance(x, bool | int | float | str) or x is None:
        return (type(x).__name__, x)
    raise TypeError(f"idiom returned a {type(x).__name__}; return tensors, numbers or containers")


def assert_same(want: Any, got: Any, where: str = "result") -> None:
    """Compare two normalized results; the message says where they differ."""
    assert type(got) is type(want), f"{where}: torch gave {want!r}, tinygpt gave {got!r}"
    if not isinstance(want, tuple):
        assert got == want, f"{where}: torch gave {want!r}, tinygpt gave {got!r}"
        return
    assert got[0] == want[0], f"{where}: torch gave a {want[0]}, tinygpt a {got[0]}"
    kind = want[0]
    if kind == "tensor":
        assert got[1:4] == want[1:4], (
            f"{where}: (shape, dtype, requires_grad) {want[1:4]} != {got[1:4]}"
        )
        np.testing.assert_allclose(got[4], want[4], rtol=RTOL, atol=ATOL, err_msg=where)
    elif kind == "float":
        ok = math.isclose(got[1], want[1], rel_tol=RTOL, abs_tol=ATOL) or (
            math.isnan(got[1]) and math.isnan(want[1])
        )
        assert ok, f"{where}: torch gave {want[1]!r}, tinygpt gave {got[1]!r}"
    elif kind in ("tuple", "list"):
        assert len(got[1]) == len(want[1]), f"{where}: lengths {len(want[1])} != {len(got[1])}"
        for i, (w, g) in enumerate(zip(want[1], got[1], strict=True)):
            assert_same(w, g, f"{where}[{i}]")
    elif kind == "dict":
        assert list(got[1]) == list(want[1]), f"{where}: keys {list(want[1])} != {list(got[1])}"
        for key in want[1]:
            assert_same(want[1][key], got[1][key], f"{where}[{key!r}]")
    else:
        assert got == want, f"{where}: torch gave {want!r}, tinygpt gave {got!r}"


def builtin_base(exc: BaseException) -> type[BaseException]:
    """The first built-in class in the exception's MRO (torch's errors subclass them too)."""
    for cls in type(exc).__mro__:
        if cls.__module__ == "builtins":
            return cls
    return Exception


def call(item: Idiom, libs: tuple[Any, ...], tmp_path: Any) -> tuple[Any, BaseException | None]:
    kwargs = {"tmp": tmp_path} if "tmp" in inspect.signature(item.fn).parameters else {}
    try:
        return item.fn(*libs, **kwargs), None
    except Exception as exc:  # noqa: BLE001 - the exception is the result under test
        return None, exc
