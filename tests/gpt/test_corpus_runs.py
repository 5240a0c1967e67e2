"""Corpora (built-in, folders, checked downloads, offline errors), the deterministic split,
configs, run folders and checkpoints."""

from __future__ import annotations

import hashlib
import io
import urllib.error

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import optim
from tinygpt.gpt import GPT, GPTConfig, TrainConfig
from tinygpt.gpt import corpus as corpus_module
from tinygpt.gpt.config import ConfigError
from tinygpt.gpt.corpus import CorpusError, load_corpus, split
from tinygpt.gpt.data import batch_offsets, eval_offsets
from tinygpt.gpt.metrics import MetricsLog
from tinygpt.gpt.runs import (
    RunError,
    load_checkpoint,
    new_run_dir,
    resolve_run,
    save_checkpoint,
    update_latest,
)


@pytest.mark.parametrize("name", ["python-stdlib", "python-docs"])
def test_builtin_corpora_need_no_download(name):
    corpus = load_corpus(name)
    assert corpus.name == name and len(corpus.text) > 100_000 and corpus.files > 10
    assert load_corpus(name).text == corpus.text  # deterministic


def test_default_corpus_is_python_stdlib():
    assert load_corpus(None).name == "python-stdlib"


def test_split_is_deterministic_last_tenth():
    train, val = split("x" * 90 + "y" * 10)
    assert train == "x" * 90 and val == "y" * 10


def test_folder_reads_text_files_in_order_and_skips_binary(tmp_path):
    (tmp_path / "b.txt").write_text("second")
    (tmp_path / "a.md").write_text("first")
    (tmp_path / "img.png").write_bytes(b"\x89PNG\x00\x00")
    (tmp_path / ".hidden").write_text("secret")
    corpus = load_corpus(tmp_path)
    assert corpus.text == "first\n\nsecond\n" and corpus.files == 2


def test_unreadable_sources_are_clear_errors(tmp_path):
    with pytest.raises(CorpusError, match="no such file or folder: .*named corpora"):
        load_corpus(tmp_path / "missing.txt")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(CorpusError, match="not UTF-8"):
        load_corpus(tmp_path / "latin1.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no UTF-8 text files"):
        load_corpus(tmp_path / "empty")


# ---------------------------------------------------------------------- downloads
@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGPT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def fake_urlopen(monkeypatch, payload: bytes | Exception):
    def urlopen(url, timeout):
        if isinstance(payload, Exception):
            raise payload
        return io.BytesIO(payload)

    monkeypatch.setattr(corpus_module.urllib.request, "urlopen", urlopen)


def test_download_without_a_pinned_checksum_asks_for_one(cache, monkeypatch):
    fake_urlopen(monkeypatch, AssertionError("must not download"))
    with pytest.raises(CorpusError, match="pins no SHA-256.*--data-sha256"):
        load_corpus("shakespeare")


def test_download_checks_sha256_and_caches(cache, monkeypatch):
    text = b"First Citizen:\nBefore we proceed any further, hear me speak.\n"
    digest = hashlib.sha256(text).hexdigest()
    fake_urlopen(monkeypatch, text)
    assert load_corpus("shakespeare", sha256=digest).text == text.decode()
    assert (cache / "tinyshakespeare.txt").read_bytes() == text
    fake_urlopen(monkeypatch, AssertionError("the cached copy is used"))
    assert load_corpus("shakespeare", sha256=digest).text == text.decode()


def test_download_with_wrong_sha256_is_refused(cache, monkeypatch):
    fake_urlopen(monkeypatch, b"tampered")
    with pytest.raises(CorpusError, match="expected 00+: refusing"):
        load_corpus("shakespeare", sha256="0" * 64)
    assert not (cache / "tinyshakespeare.txt").exists()


def test_offline_download_names_the_local_copy(cache, monkeypatch):
    fake_urlopen(monkeypatch, urllib.error.URLError("no network"))
    with pytest.raises(CorpusError, match="offline\\? put a copy at .*tinyshakespeare.txt"):
        load_corpus("shakespeare", sha256="0" * 64)


def test_a_local_copy_in_the_cache_is_used(cache, monkeypatch):
    cache.mkdir(parents=True)
    (cache / "tinyshakespeare.txt").write_text("To be, or not to be")
    fake_urlopen(monkeypatch, AssertionError("must not download"))
    assert load_corpus("shakespeare").text == "To be, or not to be"


# ---------------------------------------------------------------------- batches
def test_batches_depend_only_on_seed_and_step():
    a = batch_offsets(1000, 16, 8, [1, 5, 0])
    b = batch_offsets(1000, 16, 8, [1, 5, 0])
    c = batch_offsets(1000, 16, 8, [1, 6, 0])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.max() <= 1000 - 17
    offsets = eval_offsets(100, 10, 5)
    assert offsets[0] == 0 and offsets[-1] == 89


# ---------------------------------------------------------------------- configs
def test_train_config_errors_name_the_flag():
    with pytest.raises(ConfigError, match="--batch-size must be a positive integer"):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match="unknown keys \\['lr'\\]"):
        TrainConfig.from_dict({"lr": 0.1})
    with pytest.raises(ConfigError, match="multiple of n_head"):
        TrainConfig(n_embd=30, n_head=4)
    config = TrainConfig(preset="nano", block_size=8)
    assert config.model_config(vocab_size=50) == GPTConfig.preset(
        "nano", block_size=8, vocab_size=50
    )


# ---------------------------------------------------------------------- runs
def test_run_folders_and_latest(tmp_path):
    first = new_run_dir(tmp_path, "one")
    update_latest(first)
    second = new_run_dir(tmp_path, None)
    update_latest(second)
    with pytest.raises(RunError, match="not a tinygpt run folder"):
        resolve_run(tmp_path / "latest")  # no config.json yet
    with pytest.raises(RunError, match="already exists"):
        new_run_dir(tmp_path, "one")
    with pytest.raises(RunError, match="cannot be 'latest'"):
        new_run_dir(tmp_path, "latest")
    (second / "config.json").write_text("{}")
    assert resolve_run(tmp_path / "latest").resolve() == second.resolve()


def test_latest_as_a_text_file_also_resolves(tmp_path):
    run = new_run_dir(tmp_path, "r")
    (run / "config.json").write_text("{}")
    (tmp_path / "pointer").write_text("r\n")
    assert resolve_run(tmp_path / "pointer") == run


def test_checkpoint_round_trip(tmp_path, device):
    tg.manual_seed(0)
    model = GPT(GPTConfig.preset("nano", vocab_size=20)).to(device)
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    x = tg.tensor([[1, 2, 3]], device=device)
    _, loss = model(x, x)
    loss.backward()
    opt.step()
    meta = {"step": 7, "best_val_loss": 1.5, "rng": {"seed": 1}}
    save_checkpoint(tmp_path / "c.safetensors", model.state_dict(), opt.state_dict(), meta)
    back = load_checkpoint(tmp_path / "c.safetensors", device=device)
    assert back.step == 7 and back.meta["rng"] == {"seed": 1}
    fresh = GPT(GPTConfig.preset("nano", vocab_size=20)).to(device)
    fresh.load_state_dict(back.model)
    fresh_opt = optim.AdamW(fresh.parameters(), lr=1e-3)
    fresh_opt.load_state_dict(back.optimizer)
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    assert fresh_opt.state_dict()["state"][0]["step"] == 1
    with pytest.raises(RunError, match="no checkpoint"):
        load_checkpoint(tmp_path / "none.safetensors")


def test_metrics_truncate_after_resume_point(tmp_path):
    log = MetricsLog(tmp_path / "m.jsonl")
    for step in range(1, 6):
        log.append({"step": step, "train_loss": 1.0 / step})
    with (tmp_path / "m.jsonl").open("a") as f:
        f.write('{"step": 6, "train_l')  # a line cut by a crash
    again = MetricsLog(tmp_path / "m.jsonl")
    assert len(again.records) == 5
    again.truncate_after(3)
    assert [r["step"] for r in MetricsLog(tmp_path / "m.jsonl").records] == [1, 2, 3]


def test_loss_plot_is_optional(tmp_path):
    from tinygpt.gpt.plot import plot_losses

    records = [{"step": 1, "train_loss": 2.0}, {"step": 2, "train_loss": 1.5, "val_loss": 1.6}]
    drawn = plot_losses(records, tmp_path / "loss.png")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert drawn is None  # no matplotlib: no picture, and no error
    else:
        assert drawn is not None and drawn.stat().st_size > 0
