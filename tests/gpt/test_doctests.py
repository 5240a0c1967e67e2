"""The examples in tinygpt.gpt's docstrings run (doctest), so they stay true."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import tinygpt.gpt

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(tinygpt.gpt.__path__, prefix="tinygpt.gpt.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
