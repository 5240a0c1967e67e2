"""Configuration as data: `GPTConfig` (the model's shape), its presets, and `TrainConfig`.

Both are frozen dataclasses; `from_dict` refuses unknown keys, so a typo in a config file or
a checkpoint from another version is an error instead of a silently ignored setting.

>>> GPTConfig.preset("micro").n_embd
128
>>> GPTConfig.preset("micro", vocab_size=65).vocab_size
65
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any, TypeVar

__all__ = ["ConfigError", "GELU_FORMS", "GPTConfig", "PRESETS", "TrainConfig", "from_dict"]

T = TypeVar("T")

#: the GELU forms `GPTConfig.gelu` accepts
GELU_FORMS = ("tanh", "exact")


class ConfigError(ValueError):
    """A configuration value or key that cannot be used."""


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a GPT, with nanoGPT's field names (and its defaults: GPT-2 124M)."""

    block_size: int = 1024  # the longest context the model sees (positions 0..block_size-1)
    vocab_size: int = 50304  # GPT-2's 50257 padded up to a multiple of 64, as nanoGPT does
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768  # must divide by n_head: each head gets n_embd // n_head channels
    dropout: float = 0.0  # 0.0 for pretraining and small CPU runs; try 0.1-0.2 to fine-tune
    bias: bool = True  # biases in Linear and LayerNorm, like GPT-2
    # the MLP's GELU: "tanh" is GPT-2's own approximation (HF's "gelu_new"), the default of
    # every tinygpt run so far; "exact" is the erf form nanoGPT uses (PyTorch's nn.GELU())
    gelu: str = "tanh"

    def __post_init__(self) -> None:
        for name in ("block_size", "vocab_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"GPTConfig.{name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head != 0:
            raise ConfigError(
                f"GPTConfig: n_embd={self.n_embd} must be a multiple of n_head={self.n_head}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"GPTConfig.dropout must be in [0, 1), got {self.dropout}")
        if self.gelu not in GELU_FORMS:
            raise ConfigError(
                f"GPTConfig.gelu must be one of {', '.join(map(repr, GELU_FORMS))}, "
                f"got {self.gelu!r} ('exact' for nanoGPT checkpoints, 'tanh' for GPT-2's)"
            )

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> GPTConfig:
        """A named shape (see PRESETS), with any field replaced by `overrides`."""
        if name not in PRESETS:
            raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GPTConfig:
        return from_dict(cls, data)


#: name -> GPTConfig fields. `micro` is nanoGPT's "baby" CPU model; `gpt2` is GPT-2 124M.
PRESETS: dict[str, dict[str, Any]] = {
    "nano": dict(n_layer=2, n_head=2, n_embd=32, block_size=32),  # tests: trains in seconds
    "micro": dict(n_layer=4, n_head=4, n_embd=128, block_size=64),  # 0.8M + embeddings
    "mini": dict(n_layer=6, n_head=6, n_embd=192, block_size=128),  # 2.7M + embeddings
    "small": dict(n_layer=6, n_head=6, n_embd=384, block_size=256),  # nanoGPT shakespeare_char
    "gpt2": dict(n_layer=12, n_head=12, n_embd=768, block_size=1024, vocab_size=50304),
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything `train()` needs; the CLI flags have the same names (`--max-steps`)."""

    # data
    data: str | None = None  # a file, a folder or a corpus name; None = python-stdlib
    data_sha256: str | None = None  # for named corpora that need a download
    val_fraction: float = 0.1  # the last 10% of the text is the validation split
    tokenizer: str = "char"  # "char" or "bpe"
    vocab_size: int = 1024  # BPE only: byte tokens + merges + special tokens
    # model: a preset, and any GPTConfig field to override (None = the preset's value)
    preset: str = "micro"
    n_layer: int | None = None
    n_head: int | None = None
    n_embd: int | None = None
    block_size: int | None = None
    dropout: float | None = None
    bias: bool | None = None
    gelu: str | None = None  # the MLP's GELU: "tanh" (the preset's) or "exact" (nanoGPT's)
    # optimisation (nanoGPT's "baby" CPU settings)
    batch_size: int = 12
    grad_accum: int = 1  # micro-batches per step: the effective batch is batch_size * this
    max_steps: int = 2000
    lr_decay_steps: int | None = None  # where cosine decay reaches min_lr; None = max_steps
    learning_rate: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1  # applied to matrices only, never to biases or LayerNorm gains
    beta1: float = 0.9
    beta2: float = 0.99  # nanoGPT's choice for small models: the loss moves fast early on
    grad_clip: float = 1.0  # 0 = no clipping
    # bookkeeping
    eval_interval: int = 250  # steps between validation losses (and best checkpoints)
    eval_batches: int = 20
    log_interval: int = 10
    time_budget: float | None = None  # seconds; stop (and save) when it runs out
    seed: int = 1337
    device: str | None = None  # None = the best available backend
    out_dir: str = "runs"
    name: str | None = None  # the run folder's name; None = a timestamp
    sample_tokens: int = 200  # a sample printed at the end (0 = none)

    def __post_init__(self) -> None:
        positive = ("batch_size", "grad_accum", "max_steps", "eval_interval", "eval_batches")
        for name in (*positive, "log_interval"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{_flag(name)} must be a positive integer, got {value!r}")
        if self.tokenizer not in ("char", "bpe"):
            raise ConfigError(f"--tokenizer must be 'char' or 'bpe', got {self.tokenizer!r}")
        if self.preset not in PRESETS:
            raise ConfigError(f"unknown preset {self.preset!r}; choose one of {', '.join(PRESETS)}")
        if self.time_budget is not None and self.time_budget <= 0:
            raise ConfigError(f"--time-budget must be positive, got {self.time_budget}")
        if self.learning_rate <= 0 or self.min_lr < 0:
            raise ConfigError("--learning-rate must be positive and --min-lr not negative")
        if self.tokenizer == "bpe" and self.vocab_size < 257:
            raise ConfigError(f"--vocab-size must be at least 257 for BPE, got {self.vocab_size}")
        self.model_config(vocab_size=1)  # validates the model fields early, with their names

    def model_config(self, vocab_size: int) -> GPTConfig:
        """The GPTConfig this run trains: the preset plus the overrides that are set."""
        names = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "bias", "gelu")
        overrides = {n: getattr(self, n) for n in names if getattr(self, n) is not None}
        return GPTConfig.preset(self.preset, **overrides, vocab_size=vocab_size)

    @property
    def decay_steps(self) -> int:
        return self.lr_decay_steps if self.lr_decay_steps is not None else self.max_steps

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return from_dict(cls, data)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """`cls(**data)`, but an unknown key is a ConfigError that names it."""
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{cls.__name__}: unknown keys {unknown}; known: {sorted(known)}")
    return cls(**data)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")
