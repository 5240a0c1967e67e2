"""`tinygpt plot`: reading run folders, the summary table, the picture, and missing matplotlib."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tinygpt.cli import main
from tinygpt.gpt.plot import METRICS_FILE, PlotError, read_run, summary_table


def fake_run(folder: Path, rate: float, steps: int = 100) -> Path:
    """A run folder like `tinygpt train` leaves: train lines every 10 steps, val every 50,
    and a last line cut short by a crash."""
    folder.mkdir(parents=True)
    lines = []
    for step in range(0, steps + 1, 10):
        lines.append({"step": step, "train_loss": 4.0 - rate * step, "lr": 1e-3, "elapsed": 0.1})
        if step % 50 == 0:
            lines.append({"step": step, "val_loss": 4.2 - rate * step})
    text = "".join(json.dumps(line) + "\n" for line in lines) + '{"step": 11'
    (folder / METRICS_FILE).write_text(text)
    (folder / "config.json").write_text("{}")
    return folder


@pytest.fixture
def runs(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the default --out lands here, not in the repo
    fake_run(tmp_path / "runs" / "a", rate=0.01)
    fake_run(tmp_path / "runs" / "b", rate=0.02)
    return tmp_path / "runs"


def test_read_run_collects_train_and_val_points(runs):
    run = read_run(runs / "a")
    assert run.name == str(runs / "a")
    assert len(run.train) == 11  # steps 0..100 by 10; the cut-short last line is skipped
    assert run.train[0] == (0.0, 4.0)
    assert run.val == [(0.0, 4.2), (50.0, 3.7), (100.0, 3.2)]
    assert run.best_val() == (100.0, 3.2)


def test_a_metrics_file_and_a_latest_text_file_work_too(runs):
    assert len(read_run(runs / "a" / METRICS_FILE).train) == 11
    (runs / "latest").write_text("b\n")  # the form `latest` takes where symlinks are not allowed
    assert read_run(runs / "latest").val[-1] == (100.0, 2.2)


def test_summary_table(runs):
    table = summary_table([read_run(runs / "a", name="a"), read_run(runs / "b", name="b")])
    assert table.splitlines() == [
        "run  steps  last train loss  best val loss  at step",
        "a    100    3.0000           3.2000         100",
        "b    100    2.0000           2.2000         100",
    ]


def test_not_a_run_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(PlotError, match="no metrics.jsonl"):
        read_run(tmp_path)
    (tmp_path / METRICS_FILE).write_text('{"step": 1, "lr": 0.1}\n')
    with pytest.raises(PlotError, match="no train_loss or val_loss"):
        read_run(tmp_path)
    assert main(["plot", str(tmp_path / "missing")]) == 2
    assert "tinygpt plot: error:" in capsys.readouterr().err


def test_without_matplotlib_the_table_and_a_clear_message(runs, monkeypatch, capsys):
    # None in sys.modules makes `import matplotlib...` raise ImportError
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert main(["plot", "runs/a", "runs/b"]) == 1
    captured = capsys.readouterr()
    assert "runs/a" in captured.out and "runs/b" in captured.out
    assert "matplotlib is not installed" in captured.err
    assert "pip install matplotlib" in captured.err
    assert not Path("loss-comparison.png").exists()


def test_the_picture(runs, capsys):
    pytest.importorskip("matplotlib", reason="matplotlib is optional; the picture is untested")
    assert main(["plot", "runs/a", "runs/b", "--out", "cmp.png", "--title", "a vs b"]) == 0
    assert "wrote cmp.png" in capsys.readouterr().out
    assert Path("cmp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", "runs/a", "--out", "cmp.svg"]) == 0
    assert "runs/a (train)" in Path("cmp.svg").read_text()  # the legend names each run


def test_the_real_command_lists_plot(runs):
    done = subprocess.run(
        [sys.executable, "-m", "tinygpt", "plot", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "run folders" in done.stdout
