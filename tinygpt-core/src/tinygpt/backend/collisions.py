"""Who gets a backend name that more than one plugin registers. Never install order.

The rule, first match wins:

1. ``TINYGPT_BACKENDS=name=distribution`` picks the registration from that distribution
   (an explicit choice, so no warning; entry points of that name from other distributions
   are not even imported);
2. a first-party backend (registered by a distribution in `FIRST_PARTY`, told apart by the
   distribution that provides the entry point, never by the entry point's name) wins over
   every third party;
3. otherwise (two third parties) the name is an error: neither is used until
   ``TINYGPT_BACKENDS`` picks one.

The registry reports every collision: a `BackendWarning` when discovery finishes (unless
TINYGPT_BACKENDS settled it), a row per loser in `tinygpt backends` and its "name collisions"
section, and the DeviceError for that name.

>>> numpy, evil = Claimant("numpy", "tinygpt-backend-numpy"), Claimant("numpy", "evil-numpy")
>>> print(settle("numpy", [evil, numpy], pin=None).outcome())
tinygpt-backend-numpy is used (a first-party backend wins over third parties)
>>> print(settle("numpy", [evil, numpy], pin="Evil_NumPy").winner)
evil-numpy
>>> print(settle("mine", [evil, Claimant("mine", "other")], pin=None).outcome())
none is used: pick one with TINYGPT_BACKENDS=mine=evil-numpy or TINYGPT_BACKENDS=mine=other
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "FIRST_PARTY",
    "BackendWarning",
    "Claimant",
    "Collision",
    "normalize",
    "settle",
    "loser_reason",
]

#: The distributions whose backends win a name collision (normalized names).
FIRST_PARTY = frozenset({"tinygpt-backend-numpy", "tinygpt-backend-cpu", "tinygpt-backend-cuda"})


class BackendWarning(UserWarning):
    """A backend plugin problem that tinygpt worked around: a shadowed or ambiguous name, or
    a default backend that failed to start."""


def normalize(distribution: str) -> str:
    """A distribution name as pip compares them (PEP 503).

    >>> normalize("TinyGPT_Backend.NumPy")
    'tinygpt-backend-numpy'
    """
    return re.sub(r"[-_.]+", "-", distribution).lower()


@dataclass(frozen=True)
class Claimant:
    """One registration of a backend name: the plugin and the distribution behind it."""

    plugin: str
    distribution: str  # normalized; "" for a plugin registered in code (register_plugin)

    @property
    def first_party(self) -> bool:
        return self.distribution in FIRST_PARTY

    def __str__(self) -> str:
        return self.distribution or f"plugin {self.plugin!r} (registered in code)"


@dataclass(frozen=True)
class Collision:
    """A backend name registered more than once (or pinned), and how it was settled."""

    name: str
    claimants: tuple[Claimant, ...]
    winner: Claimant | None  # None: the name is unusable until TINYGPT_BACKENDS picks one
    why: str  # one line: why the winner won, or why none did
    pinned: bool = False  # settled by TINYGPT_BACKENDS (explicit: no warning)

    def outcome(self) -> str:
        if self.winner is None:
            return f"none is used: {self.why}"
        return f"{self.winner} is used ({self.why})"

    def describe(self) -> str:
        """One line for warnings and error messages."""
        who = " and ".join(str(c) for c in self.claimants)
        if self.winner is None:
            return f"{self.name!r} is registered by {who}: neither is used; {self.why}"
        return f"{self.name!r} is registered by {who}: {self.outcome()}"


def settle(name: str, claimants: Sequence[Claimant], pin: str | None) -> Collision:
    """Apply the rule above to the registrations of `name` (`pin`: TINYGPT_BACKENDS's choice).

    The claimants come back sorted (first party first, then by distribution), so neither the
    outcome nor the report depends on discovery order.
    """
    every = tuple(sorted(claimants, key=lambda c: (not c.first_party, str(c), c.plugin)))
    if pin is not None:
        pin = normalize(pin)
        chosen = [c for c in every if c.distribution == pin]
        why = f"TINYGPT_BACKENDS={name}={pin} picks it"
        if len(chosen) == 1:
            return Collision(name, every, chosen[0], why, pinned=True)
        found = " and ".join(str(c) for c in every)
        why = f"TINYGPT_BACKENDS={name}={pin} asks for {pin}, but {found} registered it"
        return Collision(name, every, None, why, pinned=True)
    first = [c for c in every if c.first_party]
    if len(first) == 1:
        return Collision(name, every, first[0], "a first-party backend wins over third parties")
    named = [c.distribution for c in every if c.distribution]
    options = " or ".join(f"TINYGPT_BACKENDS={name}={dist}" for dist in named)
    why = f"pick one with {options}" if options else "register only one of them"
    return Collision(name, every, None, why)


def loser_reason(collision: Collision, loser: Claimant) -> str:
    """The `why not` of a registration that was not used, naming itself and the others."""
    head = f"name {collision.name!r} from {loser}"
    if len(collision.claimants) > 1:
        head = f"duplicate: {head}"
    winner = collision.winner
    if winner is not None and collision.pinned:
        return f"{head} is not used: TINYGPT_BACKENDS={collision.name}={winner} picks {winner}"
    if winner is not None:
        return f"{head} is shadowed by {winner} ({collision.why})"
    if collision.pinned:
        return f"{head} is not used: {collision.why}"
    others = " and ".join(str(c) for c in collision.claimants if c != loser)
    return f"{head} is also registered by {others}: neither is used; {collision.why}"
