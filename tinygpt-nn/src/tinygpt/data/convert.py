"""`default_convert`: what a DataLoader with `batch_size=None` does to each sample in PyTorch:
NumPy arrays and numbers become tensors, containers are converted element by element, and
anything else passes through unchanged. No stacking: a sample stays one sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

import tinygpt as tg

__all__ = ["default_convert"]


def default_convert(data: Any) -> Any:
    """NumPy arrays (not of strings/objects) and NumPy scalars -> tensors, recursively.

    >>> import numpy as np
    >>> out = default_convert({"x": np.zeros(2), "name": "a", "n": 3})
    >>> type(out["x"]).__name__, out["name"], out["n"]
    ('Tensor', 'a', 3)
    """
    if isinstance(data, tg.Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)):
        if data.dtype.kind in "SUOV":  # strings and objects have no tensor form
            return data
        return tg.tensor(np.asarray(data))
    if isinstance(data, Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        try:
            return type(data)(converted)  # type: ignore[call-arg]
        except TypeError:  # a mapping type that cannot be built from a dict
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # a named tuple stays one
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # as PyTorch: a tuple becomes a list
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data
