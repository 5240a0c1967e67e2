"""`tg.set_printoptions`: how `repr(tensor)` shows values, with PyTorch's names and defaults
(4 decimals, summaries beyond 1000 elements with 3 items at each edge, 80 columns, scientific
notation chosen by the values unless `sci_mode` says).

>>> import tinygpt as tg
>>> tg.set_printoptions(precision=2)
>>> tg.tensor([1.23456, 2.5])
tensor([1.23, 2.50], dtype=float32, device='cpu')
>>> tg.set_printoptions(profile="default")
"""

from __future__ import annotations

from typing import Any

__all__ = ["get_printoptions", "set_printoptions"]

#: PyTorch's profiles: "default", "short" (2 decimals, summaries beyond 1000) and "full"
_PROFILES: dict[str, dict[str, Any]] = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": float("inf"), "edgeitems": 3, "linewidth": 80},
}

_options: dict[str, Any] = {**_PROFILES["default"], "sci_mode": None}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set how tensors print; a `profile` first resets the others to its values."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(
                f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}"
            )
        _options.update(_PROFILES[profile], sci_mode=None)
    given = {"precision": precision, "threshold": threshold, "edgeitems": edgeitems}
    given["linewidth"] = linewidth
    for name, value in given.items():
        if value is not None:
            if value < 0:
                raise ValueError(f"set_printoptions: {name} must be >= 0, got {value}")
            _options[name] = value
    _options["sci_mode"] = sci_mode if sci_mode is not None else _options["sci_mode"]


def get_printoptions() -> dict[str, Any]:
    """The options in force (a copy)."""
    return dict(_options)


def numpy_options(floating: bool, whole: bool, values: Any = ()) -> dict[str, Any]:
    """`np.array2string` keywords for the options in force (`values`: the floats to print,
    for the column width in fixed notation)."""
    threshold = _options["threshold"]
    options: dict[str, Any] = {
        "threshold": int(min(threshold, 2**62)),
        "edgeitems": int(_options["edgeitems"]),
        "max_line_width": int(_options["linewidth"]),
    }
    if not floating:
        return options
    precision = int(_options["precision"])
    if _options["sci_mode"] is True:
        options["formatter"] = {"float_kind": lambda v: f"{v:.{precision}e}"}
    elif _options["sci_mode"] is False:
        width = max((len(f"{v:.{precision}f}") for v in values), default=0)
        options["formatter"] = {"float_kind": lambda v: f"{v:.{precision}f}".rjust(width)}
    elif not whole:
        options.update(precision=precision, floatmode="fixed")
    return options
