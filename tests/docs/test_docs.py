"""Run every ```python block in docs/**/*.md, so the docs can never go stale.

- The blocks of one Markdown file run in order in one shared namespace (a fresh module), like
  cells of a notebook; each file is one test, with its path as the test id (files without
  a runnable python block are not collected).
- A block is skipped when its fence says ```python no-run, or when the line before the fence
  is `<!-- no-run -->` (for code that needs a GPU, a download, or is only a sketch).
- `<!-- requires: tinygpt.nn, matplotlib -->` anywhere in a file skips the whole file, with a
  reason, when one of those modules cannot be imported.
- Blocks run in a temporary working directory, so files they write never land in the repo.
- A failure names the Markdown file and line: code is compiled with its real line numbers.

    pytest tests/docs -k tutorial/03     # one chapter
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

from tinygpt.backend import registry

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>```+|~~~+)(?P<info>.*)$")
_REQUIRES = re.compile(r"<!--\s*requires:\s*(?P<modules>[^>]*?)\s*-->")
_NO_RUN_COMMENT = "<!-- no-run -->"


@dataclass
class Block:
    """One fenced code block: where it starts (1-based line of its first code line)."""

    line: int
    language: str
    words: list[str]
    code: str
    no_run_comment: bool

    @property
    def runs(self) -> bool:
        """A Python block without a no-run marker."""
        is_python = self.language in ("python", "py")
        return is_python and "no-run" not in self.words and not self.no_run_comment


def parse_blocks(text: str) -> list[Block]:
    """Every fenced block of Markdown `text`, with its info string split into words."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    previous = ""  # the last non-blank line outside a block
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        indent = match["indent"]
        ticks = match["ticks"]
        words = match["info"].strip().split()
        body: list[str] = []
        i += 1
        start = i + 1  # 1-based number of the first code line
        while i < len(lines) and not lines[i].strip().startswith(ticks):
            line = lines[i]
            # a block inside a list item is indented: drop the fence's indentation
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            i += 1
        i += 1  # the closing fence
        language = words[0].lower() if words else ""
        code = "\n".join(body) + "\n"
        blocks.append(Block(start, language, words[1:], code, previous == _NO_RUN_COMMENT))
        previous = ""
    return blocks


def required_modules(text: str) -> list[str]:
    """The modules named by `<!-- requires: a, b -->` comments."""
    names: list[str] = []
    for match in _REQUIRES.finditer(text):
        names += [name.strip() for name in match["modules"].split(",") if name.strip()]
    return names


def markdown_files() -> list[Path]:
    """The Markdown files under docs/ that have at least one runnable python block."""
    found = []
    for path in sorted(DOCS.rglob("*.md")):
        if any(block.runs for block in parse_blocks(path.read_text(encoding="utf-8"))):
            found.append(path)
    return found


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ImportError:  # a missing parent package
        return True


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_markdown_code_blocks_run(path: Path, tmp_path, monkeypatch) -> None:
    text = path.read_text(encoding="utf-8")
    for module in required_modules(text):
        if _missing(module):
            pytest.skip(f"{path.name} needs {module}, which is not installed")
    blocks = [block for block in parse_blocks(text) if block.runs]
    monkeypatch.chdir(tmp_path)
    name = "__docs_" + re.sub(r"\W", "_", path.stem)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    # subtle: dataclasses and pickling look classes up in sys.modules by their __module__
    monkeypatch.setitem(sys.modules, name, module)
    plugins = list(registry._registry.extra_plugins)
    try:
        for block in blocks:
            # Blank lines in front keep the Markdown file's line numbers, so a traceback points
            # at the real line of the .md file (and shows it: linecache reads that file).
            source = "\n" * (block.line - 1) + block.code
            code = compile(source, str(path), "exec")
            exec(code, module.__dict__)
    finally:
        # a page that registers a demo backend and fails before its own cleanup must not
        # leave that backend behind for the tests that run after it
        if registry._registry.extra_plugins != plugins:
            registry._registry.extra_plugins = plugins
            registry.reset(keep_plugins=True)


# --- the runner itself ------------------------------------------------------------------------

SAMPLE = """\
Intro.

```python
x = 1
```

```python no-run
raise SystemExit("never runs")
```

<!-- no-run -->
```python
raise SystemExit("never runs either")
```

```bash
echo not python
```

1. A list item with a block:

   ```python
   y = x + 1
   ```
<!-- requires: tinygpt.nn, matplotlib -->
"""


def test_parse_blocks_finds_languages_markers_and_lines() -> None:
    blocks = parse_blocks(SAMPLE)
    assert [b.language for b in blocks] == ["python", "python", "python", "bash", "python"]
    assert [b.runs for b in blocks] == [True, False, False, False, True]
    assert blocks[0].line == 4
    assert blocks[0].code == "x = 1\n"
    assert blocks[4].code == "y = x + 1\n"  # list indentation removed
    assert required_modules(SAMPLE) == ["tinygpt.nn", "matplotlib"]


def test_the_tutorial_is_all_there() -> None:
    """Ten chapters plus the architecture guide, each with runnable code (a broken parser
    or a renamed folder must not silently turn this suite into zero checks)."""
    chapters = sorted((DOCS / "tutorial").glob("[0-9][0-9]-*.md"))
    assert [p.name[:2] for p in chapters] == [f"{i:02d}" for i in range(1, 11)]
    for path in [DOCS / "architecture.md", *chapters]:
        runnable = [b for b in parse_blocks(path.read_text(encoding="utf-8")) if b.runs]
        assert runnable, f"{path.relative_to(ROOT)} has no runnable python block"
