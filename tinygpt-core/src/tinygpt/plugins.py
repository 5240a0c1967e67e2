"""The public marker for tinygpt plugins: backends and command plugins alike.

A plugin module decorates its hook functions with `hookimpl` and is found through an entry
point (group ``tinygpt.backends`` or ``tinygpt.commands``); the hooks it may implement, and
what each one's ``register`` callback takes, are in `tinygpt.backend.hookspecs`.

    from tinygpt.plugins import hookimpl

    def hello(args):
        print("hello")
        return 0

    @hookimpl
    def tinygpt_register_commands(register):
        register("hello", hello, help="say hello")

This module is the supported import for plugins outside tinygpt-core, so that they need no
core-private module.

    >>> from tinygpt.backend.hookspecs import hookimpl as marker
    >>> hookimpl is marker
    True
"""

from __future__ import annotations

from .backend.hookspecs import hookimpl

__all__ = ["hookimpl"]
