"""Every comparison with a reference library is marked `oracle`, so `nox -s oracle` runs it.

`nox -s oracle` installs PyTorch, tiktoken and regex and runs `pytest -m oracle`. A test that
calls `pytest.importorskip("torch")` (or tiktoken, regex, transformers) without the marker would
skip in `nox -s tests`, where the library is absent, and never run in `nox -s oracle`
either: checked here statically, so no library needs to be installed.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ORACLE_LIBRARIES = ("torch", "tiktoken", "transformers", "regex")


def imports_an_oracle(node: ast.AST) -> bool:
    """Whether `node` calls pytest.importorskip("torch") (or another oracle library)."""
    for call in ast.walk(node):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        if call.func.attr != "importorskip" or not call.args:
            continue
        first = call.args[0]
        if isinstance(first, ast.Constant) and str(first.value).split(".")[0] in ORACLE_LIBRARIES:
            return True
    return False


def marked_oracle(decorators: list[ast.expr]) -> bool:
    return any("mark.oracle" in ast.unparse(d) for d in decorators)


def module_marked_oracle(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            return "mark.oracle" in ast.unparse(node.value)
    return False


def unmarked_oracle_tests(path: Path, root: Path = TESTS) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if module_marked_oracle(tree):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            if imports_an_oracle(node) and not marked_oracle(node.decorator_list):
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}")
    return found


def test_every_reference_comparison_is_marked_oracle():
    unmarked = []
    for path in sorted(TESTS.rglob("test_*.py")):
        unmarked += unmarked_oracle_tests(path)
    assert not unmarked, (
        "these tests import a reference library (torch, tiktoken, regex, transformers) but are "
        "not marked @pytest.mark.oracle, so `nox -s oracle` would never run them:\n  "
        + "\n  ".join(unmarked)
    )


def test_the_check_finds_an_unmarked_test(tmp_path):
    path = tmp_path / "test_x.py"
    path.write_text(
        "import pytest\n"
        "def test_a():\n    pytest.importorskip('torch')\n"
        "@pytest.mark.oracle\ndef test_b():\n    pytest.importorskip('tiktoken')\n"
        "def test_c():\n    pytest.importorskip('numpy')\n"
    )
    assert unmarked_oracle_tests(path, root=tmp_path) == ["test_x.py:2 test_a"]
