"""The top-level README says what happens (issue 18): the commands, the corpus, the checks."""

from __future__ import annotations

import re
from pathlib import Path

from tinygpt.gpt.corpus import DEFAULT_CORPUS, load_corpus

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_the_first_two_commands_keep_their_form():
    first, second = bash_blocks(README)[:2]
    assert first.strip().startswith("python -m venv .venv && . .venv/bin/activate && pip install")
    assert first.strip().endswith("&& tinygpt train")
    assert second.strip() == "python -m pip install nox && nox -s lint typecheck tests"


def test_the_default_corpus_is_described_as_it_is():
    intro = README.split("```bash")[0]
    assert "`.py` source files" in intro and "reference docs" not in intro
    corpus = load_corpus(None)
    assert corpus.name == DEFAULT_CORPUS == "python-stdlib"
    assert "def " in corpus.text[:100_000] and "import " in corpus.text[:100_000]


def test_the_conformance_kit_line_says_what_to_install_first():
    checks = README.split("## Checks", 1)[1]
    install = checks.index("pip install './tinygpt-core[test]'")
    assert install < checks.index("pytest --pyargs tinygpt.testing")


def test_runs_are_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "runs/" in ignored


def test_speed_figures_name_their_machine_or_benchmark():
    for paragraph in README.split("\n\n"):
        for figure in re.finditer(r"\d+(\.\d+)?(-\d+(\.\d+)?)?x\b", paragraph):
            assert "issue 18" in paragraph or "benchmarks/" in paragraph, figure.group(0)


def test_the_thread_controls_the_readme_names_exist():
    from tinygpt.config import env_threads  # TINYGPT_THREADS

    assert "TINYGPT_THREADS" in README and "--threads" in README
    assert env_threads is not None
    assert (ROOT / "benchmarks" / "contention.py").is_file()
