"""pluggy hook specifications: how plugins add backends, fused kernels and commands to tinygpt.

A plugin is any module (found through an entry point) that defines functions with these names
decorated by `tinygpt.plugins.hookimpl`, each taking one argument named ``register``.
Entry-point groups:

- ``tinygpt.backends``: modules implementing `tinygpt_register_backends` and/or
  `tinygpt_register_kernels`;
- ``tinygpt.commands``: modules implementing `tinygpt_register_commands`.

Hooks are for discovery only: they run once, the first time tinygpt needs the list. Kernel calls
never go through pluggy. docs/writing-a-backend.md walks through writing a plugin.
"""

from __future__ import annotations

from typing import Any

import pluggy

__all__ = [
    "hookspec",
    "hookimpl",
    "tinygpt_register_backends",
    "tinygpt_register_kernels",
    "tinygpt_register_commands",
]

hookspec = pluggy.HookspecMarker("tinygpt")
hookimpl = pluggy.HookimplMarker("tinygpt")


@hookspec
def tinygpt_register_backends(register: Any) -> None:
    """Call ``register(name, factory, *, priority=0, probe=None, device_count=None)``.

    - ``name``: the device name users type (``"numpy"``, ``"cpu"``, ``"mydev"``): lowercase
      letters, digits, ``_`` and ``-``, starting with a letter;
    - ``factory(device) -> Backend``: builds the backend; import heavy modules inside it;
    - ``priority``: the highest-priority available backend is the default device
      (numpy 0, cpu 10, cuda 20; a third-party backend that should never become the default
      by merely being installed uses a negative priority);
    - ``probe() -> str | None``: None when the backend can run here, else a one-line reason
      ("CuPy is not installed"); it must be cheap (a raise is reported as the reason);
    - ``device_count() -> int``: how many devices (``name:0`` .. ``name:n-1``); default 1.

    A bad call (an invalid name, a name already taken) is recorded and shown by
    ``tinygpt backends``; it never raises into the plugin.
    """


@hookspec
def tinygpt_register_kernels(register: Any) -> None:
    """Call ``register(backend, op, forward, backward=None, *, priority=0)`` per fused kernel.

    Contributes (or overrides) one optional fused kernel of an existing backend:

    - ``backend``: the backend name (``"numpy"``, ``"cuda"``, your own);
    - ``op``: a name from `tinygpt.backend.protocol.FUSED_OPS` (``"attention"``, ...);
    - ``forward(backend, *args)``: the kernel, with the protocol method's signature plus the
      backend instance first (it is bound as a method, so it may call other kernels);
    - ``backward``: the matching ``<op>_backward`` (required for every op but ``softmax``,
      whose backward core composes);
    - ``priority``: which implementation wins. The highest priority wins; the backend's own
      kernel (listed in its ``fused_ops``) counts as priority 0 and wins ties, so a plugin
      replaces it only with ``priority > 0``; among plugins with equal priority the plugin
      whose name sorts first wins, and ``tinygpt backends`` reports the tie.

    The winner is bound onto each backend instance when it is created: per-op dispatch stays
    one direct method call.
    """


@hookspec
def tinygpt_register_commands(register: Any) -> None:
    """Call ``register(name, run, *, help, add_arguments=None)`` for each ``tinygpt`` command.

    ``add_arguments(parser)`` adds the command's options to an argparse parser and
    ``run(args) -> int`` runs it and returns the exit code.
    """
