"""tinygpt.gpt: tokenizers, the GPT model, and training / sampling / evaluation.

    from tinygpt.gpt import GPT, GPTConfig, BPETokenizer
    tok = BPETokenizer().train(text, vocab_size=1024)
    model = GPT(GPTConfig.preset("micro", vocab_size=tok.vocab_size))
    logits, loss = model(idx, targets)
    model = GPT.from_pretrained("gpt2")  # a local folder in the Hugging Face layout

Reading order: tokenizers/ -> config.py -> model.py -> generate.py -> corpus.py, data.py ->
runs.py -> lock.py -> resume.py -> training.py -> commands.py (see the README for every
file).
"""

from .config import PRESETS, GPTConfig, TrainConfig
from .generate import KVCache, generate
from .model import GPT
from .pretrained import PretrainedError
from .tokenizers import (
    ENDOFTEXT,
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    TokenizerError,
    load_tokenizer,
)
from .training import sample_text, train

__all__ = [
    "BPETokenizer",
    "CharTokenizer",
    "ENDOFTEXT",
    "GPT",
    "GPTConfig",
    "KVCache",
    "PRESETS",
    "PretrainedError",
    "TokenizerError",
    "Tokenizer",
    "TrainConfig",
    "generate",
    "load_tokenizer",
    "sample_text",
    "train",
]
