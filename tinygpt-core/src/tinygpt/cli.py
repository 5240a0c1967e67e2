"""The `tinygpt` command (also `python -m tinygpt`). Subcommands come from plugins through the
`tinygpt_register_commands` hook; core registers `backends` the same way."""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy

from .backend import hookspecs
from .backend.hints import checkout_install
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
    parser.add_argument(
        "--check",
        action="store_true",
        help="also run a short smoke test (allocate, add, matmul, reduce, softmax, backward) "
        "on every available backend, with kernel checks on; exit 1 if one fails",
    )


def _backends_run(args: argparse.Namespace) -> int:
    from .backend import registry

    if args.check:
        registry.enable_checks()  # before any backend instance exists: all of them checked
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", registry.BackendWarning)
        if not args.check:  # --check starts (and times) every backend itself
            registry.automatic_default()  # a default that fails to start shows as unavailable
        rows = registry.backends()
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    if args.names:
        for row in rows:
            if row.available:
                print(row.name)
        return 0
    print(format_table(rows))
    collisions = registry.collisions()
    if collisions:
        print()
        print(format_collisions(collisions))
    results = []
    if args.check:
        results = [_smoke(row) for row in rows if row.available]
        print()
        print(format_checks(results))
    contributed = registry.kernels()  # after --check: resolved against the live backends
    if contributed:
        print()
        print(format_kernels(contributed))
    if any(not result.passed for result in results):
        return 1
    return 0 if any(row.available for row in rows) else 1


def _smoke(row: Any) -> Any:
    from .backend.smoke import smoke_test

    return smoke_test(row.name)


def format_checks(results: Sequence[Any]) -> str:
    """The smoke-test results, one line per backend: pass/FAIL, timings, the first failure."""
    lines = [("check", "backend", "startup", "smoke test", "details")]
    for r in results:
        startup = f"{r.startup_seconds * 1e3:.1f} ms" if r.passed or r.seconds else "-"
        smoke = f"{r.seconds * 1e3:.1f} ms" if r.passed or r.seconds else "-"
        lines.append(("pass" if r.passed else "FAIL", r.device, startup, smoke, r.failure))
    if len(lines) == 1:
        return "(no available backend to check)"
    return _align(lines)


def format_kernels(rows: Sequence[Any]) -> str:
    """The fused kernels contributed by plugins (tinygpt_register_kernels) and which won."""
    lines = [("kernel", "plugin", "priority", "status")]
    for k in rows:
        lines.append((f"{k.backend}.{k.op}", k.plugin, str(k.priority), k.status))
    header = "fused kernels from plugins (a backend's own kernel counts as priority 0, wins ties):"
    return header + "\n" + _align(lines)


def format_collisions(collisions: Sequence[Any]) -> str:
    """Backend names registered more than once: by which distributions, and who got each."""
    header = (
        "name collisions (a first-party backend wins; between third parties neither is used "
        "until TINYGPT_BACKENDS=name=distribution picks one):"
    )
    # NOTE: each line starts with the quoted name, so it never reads as a row of the table
    return "\n".join([header] + [f"  {c.describe()}" for c in collisions])


def format_table(rows: Sequence[Any]) -> str:
    """The backends as an aligned text table."""
    header = (
        "name",
        "version",
        "available",
        "priority",
        "default",
        "distribution",
        "plugin",
        "why not",
    )
    lines = [header]
    for r in rows:
        lines.append(
            (
                r.name,
                r.version or "-",
                "yes" if r.available else "no",
                str(r.priority),
                "*" if r.default else "",
                getattr(r, "distribution", "") or "-",
                r.plugin,
                r.reason,
            )
        )
    text = _align(lines)
    if len(lines) == 1:
        text += "\n(no backends installed: " + checkout_install("./tinygpt-backend-numpy") + ")"
    return text


def _align(lines: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns; the last column is left ragged (it holds free text)."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]) - 1)]
    out = []
    for line in lines:
        cells = [cell.ljust(w) for cell, w in zip(line, widths, strict=False)]
        out.append("  ".join(cells + [line[-1]]).rstrip())
    return "\n".join(out)


def version_text() -> str:
    """`tinygpt --version`: tinygpt-core's version, then every other installed tinygpt
    distribution (the nn and gpt layers, each backend) and its version, one per line.

    Read from the installed metadata only: no backend is imported for it.
    """
    lines = [f"tinygpt {_version('tinygpt-core')}"]
    group = importlib.metadata.entry_points(group="tinygpt.backends")
    backends = {_normalize(ep.dist.metadata["Name"]) for ep in group if ep.dist is not None}
    names = set()
    for dist in importlib.metadata.distributions():
        name = _normalize(dist.metadata["Name"] or "")
        # tinygpt's own distributions, and third-party backends whatever their names
        if name != "tinygpt-core" and (name.startswith("tinygpt-") or name in backends):
            names.add((name, dist.version))
    for name, version in sorted(names):
        lines.append(f"  {name} {version}")
    return "\n".join(lines)


def _normalize(name: str) -> str:
    """A distribution name as pip compares them (PEP 503): `A_b.C` -> `a-b-c`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:  # a source tree that was never installed
        return "(not installed)"


class _CorePlugin:
    @hookimpl
    def tinygpt_register_commands(self, register: Callable[..., None]) -> None:
        register(
            "backends",
            _backends_run,
            help="list the installed backends and the default (--check: smoke-test them)",
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
        except BaseException as error:  # noqa: BLE001 - a broken plugin must not break the CLI
            # NOTE: KeyboardInterrupt/SystemExit raised by a plugin's import count as broken too
            problems.append(f"command plugin {entry_point.name!r} failed to load: {error!r}")
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
        except BaseException as error:  # noqa: BLE001
            problems.append(f"command plugin {impl.plugin_name!r} raised: {error!r}")
    return commands, problems


def main(argv: Sequence[str] | None = None) -> int:
    commands, problems = _collect_commands()
    parser = argparse.ArgumentParser(prog="tinygpt", description="tinygpt command line")
    parser.add_argument(
        "--version",
        action="store_true",
        help="show the versions of tinygpt and of its installed distributions, and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in commands.values():
        child = sub.add_parser(command.name, help=command.help, description=command.help)
        if command.add_arguments is not None:
            command.add_arguments(child)
    args = parser.parse_args(argv)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if args.version:
        print(version_text())  # NOTE: not argparse's version action, which rewraps lines
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    return int(commands[args.command].run(args) or 0)
