"""What error messages tell a user to install, and the "did you mean" for a mistyped device.

NOTE: a hint names only tinygpt's own distributions, installed from the tinygpt checkout
(`pip install ./tinygpt-backend-numpy`): they are not published on PyPI, so installing
one by name would fail today, and would install whatever a stranger registered under that
name tomorrow. For the same reason a hint is never built from a name
the user typed: a typo gets a suggestion, never a package name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "FIRST_PARTY_BACKENDS",
    "checkout_install",
    "did_you_mean",
    "install_backend_hint",
]

#: first-party device name -> the checkout folder (with extras) that `pip install` takes
FIRST_PARTY_BACKENDS = {
    "numpy": "./tinygpt-backend-numpy",
    "cpu": "./tinygpt-backend-cpu",
    "cuda": "'./tinygpt-backend-cuda[cuda12]'",
}


def checkout_install(*folders: str) -> str:
    """The command that installs tinygpt distributions from a checkout of its repository.

    >>> checkout_install("./tinygpt-nn")
    'from the tinygpt checkout: pip install ./tinygpt-nn'
    """
    return f"from the tinygpt checkout: pip install {' '.join(folders)}"


def install_backend_hint(name: str) -> str | None:
    """How to install the first-party backend `name`, or None when `name` is not one.

    >>> install_backend_hint("cpu")
    'from the tinygpt checkout: pip install ./tinygpt-backend-cpu'
    >>> install_backend_hint("cpuu") is None
    True
    """
    folder = FIRST_PARTY_BACKENDS.get(name)
    return checkout_install(folder) if folder is not None else None


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The known device name closest to a mistyped `name`, or None when none is close.

    >>> did_you_mean("cpuu", ["numpy", "cpu"]), did_you_mean("nosuchdevice", ["cpu"])
    ('cpu', None)
    """
    candidates = sorted(set(known) | set(FIRST_PARTY_BACKENDS))
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return close[0] if close else None
