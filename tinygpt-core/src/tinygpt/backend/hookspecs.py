"""pluggy hook specifications: how plugins add backends and commands to tinygpt.

A plugin is any module (found through an entry point) that defines functions with these names
decorated by `tinygpt.hookimpl`. Entry-point groups:

- ``tinygpt.backends``: modules implementing `tinygpt_register_backends`;
- ``tinygpt.commands``: modules implementing `tinygpt_register_commands`.

Hooks are for discovery only: they run once, the first time tinygpt needs the list. Kernel calls
never go through pluggy.
"""

from __future__ import annotations

from typing import Any

import pluggy

__all__ = ["hookspec", "hookimpl", "tinygpt_register_backends", "tinygpt_register_commands"]

hookspec = pluggy.HookspecMarker("tinygpt")
hookimpl = pluggy.HookimplMarker("tinygpt")


@hookspec
def tinygpt_register_backends(register: Any) -> None:
    """Call ``register(name, factory, *, priority=0, probe=None, device_count=None)``.

    - ``name``: the device name users type (``"numpy"``, ``"cpu"``, ``"mydev"``);
    - ``factory(device) -> Backend``: builds the backend; import heavy modules inside it;
    - ``priority``: the highest-priority available backend is the default device
      (numpy 0, cpu 10, cuda 20);
    - ``probe() -> str | None``: None when the backend can run here, else a one-line reason
      ("CuPy is not installed"); it must be cheap and must not raise;
    - ``device_count() -> int``: how many devices (``name:0`` .. ``name:n-1``); default 1.
    """


@hookspec
def tinygpt_register_commands(register: Any) -> None:
    """Call ``register(name, run, *, help, add_arguments=None)`` for each ``tinygpt`` command.

    ``add_arguments(parser)`` adds the command's options to an argparse parser and
    ``run(args) -> int`` runs it and returns the exit code.
    """
