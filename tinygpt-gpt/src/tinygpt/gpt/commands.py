"""The `tinygpt train`, `tinygpt sample`, `tinygpt eval` and `tinygpt plot` commands.

This module is a `tinygpt.commands` plugin (see tinygpt-core's `cli.py`): the entry point
in pyproject.toml names it, and core calls `tinygpt_register_commands` to add the commands.

Bad arguments (a missing file, an empty corpus, a block size larger than the corpus, an
unknown preset or device, a path that is not a run), damaged run files (a truncated or
corrupt checkpoint, bad checkpoint metadata, a run another process is training) and failing
file systems (a full disk, a read-only folder) end the command with one
`tinygpt CMD: error: ...` line on stderr, naming the file and the fix, and exit status 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import sys
from collections.abc import Callable
from typing import Any

import tinygpt as tg
from tinygpt.plugins import hookimpl

from ._files import describe_os_error
from .config import ConfigError, TrainConfig
from .corpus import DEFAULT_CORPUS, CorpusError, corpus_names
from .plot import MATPLOTLIB_MISSING, PlotError, plot_runs, read_run, summary_table
from .progress import EvalProgress
from .runs import RunError, read_run_config, resolve_run
from .tokenizers import TokenizerError

__all__ = ["tinygpt_register_commands", "parse_duration", "USAGE_ERRORS"]

#: errors that mean "the arguments cannot work", reported as one line instead of a traceback
USAGE_ERRORS = (
    ConfigError,
    CorpusError,
    PlotError,
    RunError,
    TokenizerError,
    tg.DeviceError,
    tg.SerializationError,
)

#: (TrainConfig field, argparse type, help) for every `tinygpt train` option
TRAIN_FLAGS: list[tuple[str, Callable[[str], Any], str]] = [
    (
        "data",
        str,
        f"text file, folder, or corpus name ({', '.join(corpus_names())}); "
        f"default: {DEFAULT_CORPUS}, which needs no download",
    ),
    ("data_sha256", str, "SHA-256 of a named corpus that must be downloaded"),
    ("tokenizer", str, "char (default) or bpe"),
    ("vocab_size", int, "BPE vocabulary size (default 1024)"),
    ("preset", str, "model size: nano, micro (default), mini, small, gpt2"),
    ("n_layer", int, "override the preset's number of layers"),
    ("n_head", int, "override the preset's number of attention heads"),
    ("n_embd", int, "override the preset's embedding width"),
    ("block_size", int, "override the preset's context length"),
    ("dropout", float, "dropout probability (default 0)"),
    ("gelu", str, "the MLP's GELU: tanh (default, GPT-2's) or exact (erf, as nanoGPT)"),
    ("batch_size", int, "sequences per micro-batch (default 12)"),
    ("grad_accum", int, "micro-batches per optimizer step (default 1)"),
    ("max_steps", int, "optimizer steps (default 2000)"),
    (
        "lr_decay_steps",
        int,
        "step where the cosine decay ends (default: max-steps; a --resume with a larger "
        "--max-steps stretches the decay unless this keeps the old end)",
    ),
    ("learning_rate", float, "peak learning rate (default 1e-3)"),
    ("min_lr", float, "final learning rate (default 1e-4)"),
    ("warmup_steps", int, "linear warm-up steps (default 100)"),
    ("weight_decay", float, "AdamW weight decay on matrices (default 0.1)"),
    ("grad_clip", float, "clip the gradient norm to this (default 1.0; 0 = off)"),
    ("eval_interval", int, "steps between validation losses and checkpoints (default 250)"),
    ("eval_batches", int, "batches per validation loss (default 20)"),
    ("log_interval", int, "steps between progress updates (default 10)"),
    ("time_budget", lambda text: parse_duration(text), "stop after this long: 90s, 10m, 1h"),
    ("seed", int, "random seed (default 1337)"),
    ("device", str, "numpy, cpu, cuda, ... (default: the best available; see tinygpt backends)"),
    ("out_dir", str, "folder for run folders (default runs)"),
    ("name", str, "run folder name (default: a timestamp)"),
    ("sample_tokens", int, "tokens to sample at the end (default 200; 0 = none)"),
]


def parse_duration(text: str) -> float:
    """'90' or '90s' -> 90.0, '10m' -> 600.0, '1h' -> 3600.0, '1h30m' -> 5400.0.

    >>> parse_duration("10m"), parse_duration("1h30m"), parse_duration("45")
    (600.0, 5400.0, 45.0)
    """
    match = re.fullmatch(
        r"\s*(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?\s*", text
    )
    if not match or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 90s, 10m or 1h)")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


# ---------------------------------------------------------------------- train
def _train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--resume", metavar="RUN", help="continue RUN (e.g. runs/latest)")
    _threads_argument(parser)
    for name, kind, help_text in TRAIN_FLAGS:
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, dest=name, type=kind, default=None, help=help_text)
    parser.add_argument(
        "--nproc",
        type=int,
        default=None,
        help="data-parallel processes through mpiexec (needs tinygpt-core's [mpi] extra)",
    )


def _threads_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=_threads,
        default=None,
        help="CPU threads for the kernels: a number, or auto (default: the cores that other "
        "processes leave free, re-measured every second; also TINYGPT_THREADS)",
    )


def _threads(text: str) -> str:
    if text != "auto" and not (text.isdigit() and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"not a thread count: {text!r} (a number >= 1, or auto)")
    return text


def _apply_threads(args: argparse.Namespace) -> None:
    """--threads, passed on the way every backend reads it: TINYGPT_THREADS (before the
    backend starts, which the commands do only after parsing)."""
    if getattr(args, "threads", None) is not None:
        os.environ["TINYGPT_THREADS"] = args.threads


def _train_run(args: argparse.Namespace) -> int:
    from .training import train

    _apply_threads(args)
    if args.nproc is not None:
        from .launch import relaunch

        code = relaunch(args, TRAIN_FLAGS)  # None: this process trains (one rank of N)
        if code is not None:
            return code
    given = {name: getattr(args, name) for name, _, _ in TRAIN_FLAGS}
    given = {name: value for name, value in given.items() if value is not None}
    if args.resume is not None:
        # a resumed run keeps its saved settings; the flags given override them
        saved = read_run_config(resolve_run(args.resume))["train"]
        config = TrainConfig.from_dict({**saved, **given})
    else:
        config = TrainConfig(**given)
    try:
        result = train(config, resume=args.resume)
    except KeyboardInterrupt:  # Ctrl-C before training started, or the third one: no traceback
        return 130
    if "sample" in result:
        print(f"--- sample from step {result['step']} (temperature 0.8) ---")
        print(result["sample"])
    return 130 if result["stopped"] == "interrupted" else 0


# ---------------------------------------------------------------------- sample
def _sample_arguments(parser: argparse.ArgumentParser) -> None:
    _run_arguments(parser)
    parser.add_argument("--prompt", default="", help="text to continue (default: none)")
    parser.add_argument("--max-new-tokens", type=int, default=200, help="default 200")
    parser.add_argument("--num-samples", type=int, default=1, help="default 1")
    parser.add_argument("--temperature", type=float, default=0.8, help="0 = greedy (0.8)")
    parser.add_argument("--top-k", type=int, default=None, help="keep the k likeliest tokens")
    parser.add_argument("--top-p", type=float, default=None, help="nucleus sampling mass")
    parser.add_argument("--seed", type=int, default=None, help="fix the sample")


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", default="runs/latest", help="run folder (runs/latest)")
    parser.add_argument("--checkpoint", default="best", help="best (default) or last")
    parser.add_argument("--device", default=None, help="default: the best available")
    _threads_argument(parser)


def _sample_run(args: argparse.Namespace) -> int:
    from .evaluation import load_run
    from .training import sample_text

    _apply_threads(args)
    if args.max_new_tokens < 0 or args.num_samples < 1:
        raise ConfigError("--max-new-tokens must be >= 0 and --num-samples >= 1")
    if args.temperature < 0 or (args.top_p is not None and not 0 < args.top_p <= 1):
        raise ConfigError("--temperature must be >= 0 and --top-p in (0, 1]")
    loaded = load_run(resolve_run(args.run), args.checkpoint, args.device)
    for i in range(args.num_samples):
        if args.num_samples > 1:
            print(f"--- sample {i + 1} ---")
        seed = None if args.seed is None else args.seed + i
        text = sample_text(
            loaded.model,
            loaded.tokenizer,
            args.max_new_tokens,
            prompt=args.prompt,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            seed=seed,
        )
        print(text)
    return 0


# ---------------------------------------------------------------------- eval
def _eval_arguments(parser: argparse.ArgumentParser) -> None:
    _run_arguments(parser)
    parser.add_argument("--data", default=None, help="text to score (default: the run's val split)")
    parser.add_argument("--batch-size", type=int, default=12, help="default 12")
    parser.add_argument("--max-windows", type=int, default=None, help="score at most this many")


def _eval_run(args: argparse.Namespace) -> int:
    import numpy as np

    from .corpus import load_corpus, split
    from .evaluation import evaluate_ids, load_run, perplexity

    # NOTE: each slow stage says what it does on stderr (stdout keeps only the result):
    # reading and encoding a corpus, then scoring it, can take minutes
    _apply_threads(args)
    say = functools.partial(print, file=sys.stderr, flush=True)
    loaded = load_run(resolve_run(args.run), args.checkpoint, args.device)
    config = loaded.train_config
    if args.data is None:
        what = f"the validation split of {config.data or DEFAULT_CORPUS}"
        say(f"reading {what}")
        text = split(load_corpus(config.data, config.data_sha256).text, config.val_fraction)[1]
    else:
        what = args.data
        say(f"reading {what}")
        text = load_corpus(args.data).text
    say(f"encoding {len(text):,} characters with the run's tokenizer")
    ids = np.array(loaded.tokenizer.encode(text, allowed_special="all"), dtype=np.int64)
    if len(ids) < loaded.model.config.block_size + 1:
        raise CorpusError(
            f"{what} has {len(ids)} tokens, fewer than block_size + 1 = "
            f"{loaded.model.config.block_size + 1}; evaluate on more text"
        )
    progress = EvalProgress(loaded.model.config.block_size)
    loss, tokens = evaluate_ids(
        loaded.model,
        ids,
        args.batch_size,
        args.max_windows,
        device=args.device,
        progress=progress,
    )
    progress.close()
    print(
        f"{what}: loss {loss:.4f} nats/token, perplexity {perplexity(loss):.2f} "
        f"({tokens:,} tokens, {loaded.checkpoint.name} at step {loaded.step})"
    )
    return 0


# ---------------------------------------------------------------------- plot
def _plot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", help="run folders (runs/a runs/latest) or .jsonl files")
    parser.add_argument(
        "--out", default="loss-comparison.png", help="picture to write (.png, .svg, .pdf)"
    )
    parser.add_argument("--title", default="", help="title of the picture")


def _plot_run(args: argparse.Namespace) -> int:
    runs = [read_run(path) for path in args.runs]
    print(summary_table(runs))
    try:
        out = plot_runs(runs, args.out, args.title)
    except ImportError:
        # the table is printed either way: exit 1 only says that the picture is missing
        print(f"tinygpt plot: {MATPLOTLIB_MISSING}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


# ---------------------------------------------------------------------- plugin
def _one_line_errors(name: str, run: Callable[[argparse.Namespace], int]):
    """Wrap a command so that usage errors and OSErrors print one line and exit 2."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except tg.DeviceError as error:
            # NOTE: kept on its lines: the table of backends (and why each one is unavailable)
            # reads as a table, not as one long line
            print(f"tinygpt {name}: error: {error}", file=sys.stderr)
            return 2
        except USAGE_ERRORS as error:
            message = str(error)
        except OSError as error:  # the file system said no: the file and the fix, no traceback
            message = describe_os_error(error)
        message = "; ".join(line.strip() for line in message.splitlines() if line.strip())
        print(f"tinygpt {name}: error: {message}", file=sys.stderr)
        return 2

    return wrapped


@hookimpl
def tinygpt_register_commands(register: Callable[..., None]) -> None:
    register(
        "train",
        _one_line_errors("train", _train_run),
        help="train a GPT (no arguments: a small one on a built-in corpus)",
        add_arguments=_train_arguments,
    )
    register(
        "sample",
        _one_line_errors("sample", _sample_run),
        help="write text with a trained run",
        add_arguments=_sample_arguments,
    )
    register(
        "eval",
        _one_line_errors("eval", _eval_run),
        help="report a trained run's loss on some text",
        add_arguments=_eval_arguments,
    )
    register(
        "plot",
        _one_line_errors("plot", _plot_run),
        help="compare the loss curves of training runs in one picture",
        add_arguments=_plot_arguments,
    )
