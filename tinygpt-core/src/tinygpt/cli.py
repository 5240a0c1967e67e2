"""The `tinygpt` command (also `python -m tinygpt`). Subcommands come from plugins through the
`tinygpt_register_commands` hook; core registers `backends` the same way."""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy

from .backend import hookspecs
from .backend.hookspecs import hookimpl

__all__ = ["main", "COMMANDS_ENTRY_POINT_GROUP"]

COMMANDS_ENTRY_POINT_GROUP = "tinygpt.commands"


@dataclass
class Command:
    name: str
    run: Callable[[argparse.Namespace], int]
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None


def _backends_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--names",
        action="store_true",
        help="print only the names of available backends, one per line",
    )


def _backends_run(args: argparse.Namespace) -> int:
    from .backend.registry import backends

    rows = backends()
    if args.names:
        for row in rows:
            if row.available:
                print(row.name)
        return 0
    print(format_table(rows))
    return 0 if any(row.available for row in rows) else 1


def format_table(rows: Sequence[Any]) -> str:
    """The backends as an aligned text table."""
    header = ("name", "version", "available", "priority", "default", "plugin", "why not")
    lines = [header]
    for r in rows:
        lines.append(
            (
                r.name,
                r.version or "-",
                "yes" if r.available else "no",
                str(r.priority),
                "*" if r.default else "",
                r.plugin,
                r.reason,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    out = []
    for line in lines:
        cells = [cell.ljust(w) for cell, w in zip(line, widths, strict=False)]
        out.append("  ".join(cells + [line[-1]]).rstrip())
    if len(lines) == 1:
        out.append("(no backends installed: pip install tinygpt-backend-numpy)")
    return "\n".join(out)


class _CorePlugin:
    @hookimpl
    def tinygpt_register_commands(self, register: Callable[..., None]) -> None:
        register(
            "backends",
            _backends_run,
            help="list the installed backends and the default",
            add_arguments=_backends_arguments,
        )


def _collect_commands() -> tuple[dict[str, Command], list[str]]:
    manager = pluggy.PluginManager("tinygpt")
    manager.add_hookspecs(hookspecs)
    manager.register(_CorePlugin(), name="tinygpt-core")
    problems = []
    for entry_point in importlib.metadata.entry_points(group=COMMANDS_ENTRY_POINT_GROUP):
        try:
            manager.register(entry_point.load(), name=entry_point.name)
        except Exception as error:  # noqa: BLE001 - a broken plugin must not break the CLI
            problems.append(f"command plugin {entry_point.name!r} failed to load: {error}")
    commands: dict[str, Command] = {}

    def register(
        name: str,
        run: Callable[[argparse.Namespace], int],
        *,
        help: str = "",
        add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    ) -> None:
        if name in commands:
            problems.append(f"command {name!r} registered twice; keeping the first")
            return
        commands[name] = Command(name, run, help, add_arguments)

    for impl in manager.hook.tinygpt_register_commands.get_hookimpls():
        try:
            impl.function(register=register)
        except Exception as error:  # noqa: BLE001
            problems.append(f"command plugin {impl.plugin_name!r} raised: {error}")
    return commands, problems


def main(argv: Sequence[str] | None = None) -> int:
    commands, problems = _collect_commands()
    parser = argparse.ArgumentParser(prog="tinygpt", description="tinygpt command line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in commands.values():
        child = sub.add_parser(command.name, help=command.help, description=command.help)
        if command.add_arguments is not None:
            command.add_arguments(child)
    args = parser.parse_args(argv)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if args.command is None:
        parser.print_help()
        return 2
    return int(commands[args.command].run(args) or 0)
