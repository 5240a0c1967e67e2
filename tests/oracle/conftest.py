"""Puts the idiom harness (idiom_harness.py) on sys.path and provides the `check_idiom` fixture.

The harness runs one PyTorch-style snippet with torch and with tinygpt and compares the results;
its docstring explains the comparison.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tinygpt as tg

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from idiom_harness import Idiom, assert_same, builtin_base, call, normalize  # noqa: E402


@pytest.fixture
def check_idiom(tmp_path: Any) -> Callable[[Idiom, str], None]:
    """Run an idiom with torch, then with tinygpt on `device`, and compare."""
    torch = pytest.importorskip("torch")
    import torch.nn as tnn
    import torch.nn.functional as tF
    import torch.optim as toptim

    import tinygpt.nn as gnn
    import tinygpt.nn.functional as gF
    import tinygpt.optim as goptim

    def check(item: Idiom, device: str) -> None:
        want, want_exc = call(item, (torch, tnn, tF, toptim), tmp_path / "torch")
        if item.raises is not None:
            assert want_exc is not None and builtin_base(want_exc) is item.raises, want_exc
        elif want_exc is not None:
            raise AssertionError("the idiom fails with torch itself") from want_exc
        tg.set_default_device(device)
        got, got_exc = call(item, (tg, gnn, gF, goptim), tmp_path / "tinygpt")
        if want_exc is not None:
            if got_exc is None:
                pytest.fail(f"torch raised {want_exc!r}; tinygpt returned {got!r}")
            assert isinstance(got_exc, builtin_base(want_exc)), (
                f"torch raised {type(want_exc).__name__}, tinygpt {got_exc!r}"
            )
            return
        if got_exc is not None:
            raise got_exc
        assert_same(normalize(want), normalize(got))

    (tmp_path / "torch").mkdir()
    (tmp_path / "tinygpt").mkdir()
    return check
