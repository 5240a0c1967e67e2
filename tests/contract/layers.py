"""Check the layering contract of DESIGN §8 by reading the source (no tinygpt import).

    python tests/contract/layers.py            # from anywhere; `nox -s lint` runs it
    python tests/contract/layers.py ROOT       # check another checkout

tinygpt-nn and tinygpt-gpt use only public core API: they never call a backend, an NDArray
method or a core-private module. Core touches NumPy only in host.py (host transfer) and for
file I/O. Each violation prints as `path:line: rule: message`, grouped by rule; the exit
status is 1 if there is any. Standard library only, so it runs in the lint venv (ruff alone).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

# --- the rules, as data ---------------------------------------------------------------------

RULES = {
    "public-api": "tinygpt-nn and tinygpt-gpt import only public tinygpt modules",
    "ndarray-access": "tinygpt-nn and tinygpt-gpt never touch a backend or an NDArray",
    "numpy-in-core": "core imports numpy only for host transfer, file I/O and testing",
    "tensor-imports-ops": "tensor.py imports nothing from tinygpt.ops",
    "hidden-import": "core imports tinygpt modules at module level, not inside functions",
}

CORE_SRC = "tinygpt-core/src"
UPPER_SRCS = ("tinygpt-nn/src", "tinygpt-gpt/src")  # the layers above core

# public-api: what tinygpt-nn and tinygpt-gpt may import from tinygpt
# (tinygpt.distributed: public by DESIGN §8, the collectives nn.parallel is built on)
PUBLIC_MODULES = {"tinygpt", "tinygpt.autograd", "tinygpt.plugins", "tinygpt.distributed"}
# packages, with everything below them (tinygpt.utils: tinygpt-nn's torch.utils.data alias)
PUBLIC_PACKAGES = ("tinygpt.nn", "tinygpt.optim", "tinygpt.data", "tinygpt.utils", "tinygpt.gpt")
# NOTE: `tinygpt.tensor` and `tinygpt.device` are modules *and* public top-level names; the
# package binds the names to the creation function and the device factory, so
# `from tinygpt import tensor` imports the function, not the module.
PUBLIC_NAMES_SHADOWING_MODULES = {"tinygpt.tensor", "tinygpt.device"}

# ndarray-access: attributes that only a backend or an NDArray has
BACKEND_ATTRS = {"backend", "fused_ops"}  # flagged on anything
NDARRAY_NAMES = {"NDArray"}

# Paths below are relative to tinygpt-core/src/tinygpt; one ending in "/" is a folder.
NUMPY_ALLOWED = ("host.py", "serialization.py", "testing/", "autograd/gradcheck.py")
TENSOR_FILE = "tensor.py"
FORBIDDEN_IN_TENSOR = "tinygpt.ops"
# Lazily loading optional plugins and commands is what these files are for.
FUNCTION_IMPORTS_ALLOWED = ("cli.py", "backend/registry.py", "testing/")


class Violation(NamedTuple):
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


# --- reading imports ------------------------------------------------------------------------


def module_name(src: Path, file: Path) -> tuple[str, bool]:
    """The dotted module of `file` under `src`, and whether it is a package (__init__.py)."""
    parts = list(file.relative_to(src).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def imported_modules(node: ast.Import | ast.ImportFrom, module: str, is_package: bool):
    """(dotted name, is_from_name) for each thing an import statement may load.

    `from a import b` yields ("a", False) and ("a.b", True): b may be a submodule or a name.
    Relative imports are resolved against the importing file's package.
    """
    if isinstance(node, ast.Import):
        return [(alias.name, False) for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        if node.level - 1 > len(package) - 1:
            return [("." * node.level + base, False)]  # beyond the top: report as written
        anchor = package[: len(package) - (node.level - 1)]
        base = ".".join(anchor + ([base] if base else []))
    found = [(base, False)]
    found += [(f"{base}.{alias.name}", True) for alias in node.names if alias.name != "*"]
    return found


def is_within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def is_core_module(core: Path, name: str) -> bool:
    """Whether `name` (tinygpt.x.y) is a module or package of tinygpt-core."""
    *parents, last = name.split(".")
    folder = core.joinpath(*parents)
    if not folder.is_dir():
        return False
    names = {entry.name for entry in folder.iterdir()}  # exact case, even on macOS
    return f"{last}.py" in names or (last in names and (folder / last / "__init__.py").is_file())


def walk(tree: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every node, with whether it sits inside a function body (at any depth)."""
    for child in ast.iter_child_nodes(tree):
        yield child, in_function
        inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
        yield from walk(child, inside)


def matches(rel: str, entries: tuple[str, ...]) -> bool:
    return any(rel.startswith(e) if e.endswith("/") else rel == e for e in entries)


# --- the checks -----------------------------------------------------------------------------


def check_upper(tree: ast.AST, module: str, is_package: bool, core: Path):
    """public-api and ndarray-access for one file of tinygpt-nn or tinygpt-gpt."""
    for node, _ in walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            base_reported = False
            for name, is_from_name in imported_modules(node, module, is_package):
                if not is_within(name, "tinygpt"):
                    continue
                if name in PUBLIC_MODULES or any(is_within(name, p) for p in PUBLIC_PACKAGES):
                    continue
                if is_from_name:
                    if base_reported:
                        break  # `from tinygpt.ops import fused`: once, for tinygpt.ops
                    private = name.rsplit(".", 1)[1].startswith("_")
                    shadowed = name in PUBLIC_NAMES_SHADOWING_MODULES
                    if not private and (shadowed or not is_core_module(core, name)):
                        continue  # a public name from a public module, e.g. tinygpt.Tensor
                base_reported = not is_from_name
                yield line, "public-api", f"imports {name}; use the public names of tinygpt"
        if isinstance(node, ast.Attribute):
            if node.attr == "_data":
                yield line, "ndarray-access", "._data is the tensor's NDArray; use .data"
            elif node.attr in BACKEND_ATTRS:
                yield line, "ndarray-access", f".{node.attr} reaches into the backend"
            elif node.attr in NDARRAY_NAMES:
                yield line, "ndarray-access", f"uses {node.attr}"
        if isinstance(node, ast.Name) and node.id in NDARRAY_NAMES:
            yield line, "ndarray-access", f"uses {node.id}"


def check_core(tree: ast.AST, module: str, is_package: bool, rel: str):
    """numpy-in-core, tensor-imports-ops and hidden-import for one file of tinygpt-core."""
    for node, in_function in walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        names = [name for name, _ in imported_modules(node, module, is_package)]
        if not matches(rel, NUMPY_ALLOWED) and any(is_within(n, "numpy") for n in names):
            yield node.lineno, "numpy-in-core", "imports numpy; move host transfer to host.py"
        if rel == TENSOR_FILE:
            for name in names:
                if is_within(name, FORBIDDEN_IN_TENSOR):
                    yield node.lineno, "tensor-imports-ops", f"imports {name}"
                    break
        if in_function and not matches(rel, FUNCTION_IMPORTS_ALLOWED):
            internal = [n for n in names if is_within(n, "tinygpt")]
            if internal:
                message = f"imports {internal[0]} inside a function; import it at module level"
                yield node.lineno, "hidden-import", message


def check(root: Path) -> tuple[int, list[Violation]]:
    """The number of files checked under `root` (a checkout), and every violation found."""
    core = root / CORE_SRC
    violations: list[Violation] = []
    count = 0
    for src_name in (CORE_SRC, *UPPER_SRCS):
        src = root / src_name
        for file in sorted(src.rglob("*.py")):
            count += 1
            module, is_package = module_name(src, file)
            path = file.relative_to(root).as_posix()
            try:
                tree = ast.parse(file.read_text(encoding="utf-8"), filename=path)
            except SyntaxError as error:
                violations.append(Violation(path, error.lineno or 0, "syntax", str(error.msg)))
                continue
            if src_name == CORE_SRC:
                rel = file.relative_to(core / "tinygpt").as_posix()
                found = check_core(tree, module, is_package, rel)
            else:
                found = check_upper(tree, module, is_package, core)
            violations += [Violation(path, line, rule, msg) for line, rule, msg in found]
    return count, list(dict.fromkeys(violations))  # `x: NDArray -> NDArray`: once a line


def report(count: int, violations: list[Violation]) -> str:
    """Violations grouped by rule, then the one-line summary."""
    lines = []
    for rule, description in {**RULES, "syntax": "files that do not parse"}.items():
        group = sorted(v for v in violations if v.rule == rule)
        if group:
            lines.append(f"# {rule} ({len(group)}): {description}")
            lines += [str(v) for v in group]
    lines.append(f"layers: {count} files checked, {len(violations)} violations")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[2]
    if not (root / CORE_SRC).is_dir():
        print(f"layers: {root} has no {CORE_SRC}; pass the repository root", file=sys.stderr)
        return 2
    count, violations = check(root)
    print(report(count, violations))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
