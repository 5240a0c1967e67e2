"""Train a character-level LSTM language model on a text, then sample from it.

    python examples/char_lstm.py                          # built-in text: Python's textwrap.py
    python examples/char_lstm.py --data book.txt --steps 3000 --hidden 256 --layers 2

The model reads a window of characters and predicts each next one: embedding -> LSTM ->
linear over the vocabulary. Training windows are drawn at random from the text. Exits 1 if
the loss does not fall.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
from _common import loss_fell  # helpers beside this script

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import Tensor, nn
from tinygpt.optim import Adam


def load_text(path: str | None) -> str:
    """The file at `path`, else the source of a stdlib module (present wherever Python is)."""
    if path is not None:
        return Path(path).read_text(encoding="utf-8")
    try:
        return Path(textwrap.__file__).read_text(encoding="utf-8")
    except OSError:  # a Python without its .py sources: fall back to this script itself
        return Path(__file__).read_text(encoding="utf-8")


class CharLSTM(nn.Module):
    """ids (B, T) int64 -> logits (B, T, V) for the next character, plus the LSTM state."""

    def __init__(self, vocab_size: int, embed: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids: Tensor, state: tuple[Tensor, Tensor] | None = None):
        out, state = self.lstm(self.embedding(ids), state)  # (B, T, H)
        return self.head(out), state  # (B, T, V)


def random_windows(data: np.ndarray, batch: int, length: int, rng: np.random.Generator):
    """x, y (B, T) int64: random windows of the text, y shifted one character ahead of x."""
    starts = rng.integers(0, len(data) - length - 1, size=batch)
    rows = np.stack([data[s : s + length + 1] for s in starts])  # (B, T + 1)
    return rows[:, :-1], rows[:, 1:]


def train(model: CharLSTM, data: np.ndarray, args: argparse.Namespace, device: str) -> list[float]:
    """`args.steps` Adam updates on random windows; returns every step's loss."""
    optimizer = Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    losses: list[float] = []
    for step in range(1, args.steps + 1):
        x, y = random_windows(data, args.batch_size, args.seq_len, rng)
        logits, _ = model(tg.tensor(x, device=device))
        vocab = logits.shape[-1]
        loss = F.cross_entropy(logits.reshape(-1, vocab), tg.tensor(y, device=device).reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        # NOTE: recurrent nets occasionally produce huge gradients; clipping keeps a step sane
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        if step % max(1, args.steps // 10) == 0:
            print(f"step {step:5d}  loss {losses[-1]:.4f}")
    return losses


@tg.no_grad()
def sample(model: CharLSTM, prompt: list[int], length: int, temperature: float, device: str):
    """`length` new character ids after `prompt`, one at a time, carrying the LSTM state."""
    model.eval()
    rng = np.random.default_rng(0)
    logits, state = model(tg.tensor([prompt], device=device))
    out = []
    for _ in range(length):
        probs = (logits[0, -1] / temperature).softmax(-1).numpy().astype(np.float64)
        next_id = int(rng.choice(len(probs), p=probs / probs.sum()))
        out.append(next_id)
        logits, state = model(tg.tensor([[next_id]], device=device), state)
    model.train()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a UTF-8 text file (default: Python's textwrap.py)")
    parser.add_argument("--steps", type=int, default=200, help="optimizer steps (default 200)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=32, help="characters per window")
    parser.add_argument("--embed", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--sample", type=int, default=200, help="characters to sample after")
    parser.add_argument("--device", help="numpy, cpu, cuda, ... (default: the best available)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    tg.manual_seed(args.seed)
    device = args.device if args.device is not None else str(tg.default_device())
    text = load_text(args.data)
    chars = sorted(set(text))
    index = {ch: i for i, ch in enumerate(chars)}
    data = np.array([index[ch] for ch in text], dtype=np.int64)
    if len(data) <= args.seq_len + 1:
        print(f"error: the text has {len(data)} characters, fewer than --seq-len + 2")
        return 2
    model = CharLSTM(len(chars), args.embed, args.hidden, args.layers).to(device)
    print(f"{len(text)} characters, vocabulary of {len(chars)}, on {device}")
    start = time.perf_counter()
    losses = train(model, data, args, device)
    print(f"trained {args.steps} steps in {time.perf_counter() - start:.1f} s")
    if args.sample > 0:
        ids = sample(model, [index[ch] for ch in text[:16]], args.sample, 0.8, device)
        print("sample:\n" + text[:16] + "".join(chars[i] for i in ids))
    if not loss_fell(losses):
        print("error: the loss did not fall", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
