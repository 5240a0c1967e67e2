"""A last-resort import finder: `import tinygpt.nn` without tinygpt-nn installed raises an
ImportError that names the distribution to install, instead of a bare "No module named"."""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder

__all__ = ["install"]

#: subpackage -> the distribution that ships it
PROVIDERS = {
    "tinygpt.nn": "tinygpt-nn",
    "tinygpt.optim": "tinygpt-nn",
    "tinygpt.data": "tinygpt-nn",
    "tinygpt.utils": "tinygpt-nn",
    "tinygpt.gpt": "tinygpt-gpt",
}


class _MissingDistributionFinder(MetaPathFinder):
    """Consulted only after every real finder failed to find the module."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        top = ".".join(fullname.split(".")[:2])
        dist = PROVIDERS.get(top)
        # an installed tinygpt.nn that lacks a submodule is a plain missing module, not a
        # missing distribution: let the normal "No module named" error through
        if dist is not None and top not in sys.modules:
            # subtle: a plain ImportError, not ModuleNotFoundError: `from tinygpt import nn`
            # swallows a ModuleNotFoundError for that name and shows a vaguer message instead
            raise ImportError(
                f"{fullname} is part of the {dist} distribution, which is not installed; "
                # NOTE: the checkout folder, not a PyPI name: tinygpt is not published there
                f"fix: from the tinygpt checkout: pip install ./{dist}"
            )
        return None


def install() -> None:
    if not any(isinstance(f, _MissingDistributionFinder) for f in sys.meta_path):
        sys.meta_path.append(_MissingDistributionFinder())
