"""Variable-length sequences for recurrent layers, PyTorch's `torch.nn.utils.rnn`.

A batch of sequences of different lengths is kept either *padded* — one (T, B, *) tensor
(or (B, T, *) with `batch_first`) with filler after each sequence's end — or *packed*: a
`PackedSequence` whose `data` holds, time step by time step, the elements of the sequences
still running at that step, longest sequence first, and whose `batch_sizes` says how many
there are per step. RNN, LSTM and GRU take a PackedSequence and return one; their final
state is each sequence's state at its own last element.

>>> import tinygpt as tg
>>> from tinygpt.nn.utils.rnn import pack_padded_sequence, pad_sequence
>>> padded = pad_sequence([tg.tensor([1.0, 2.0, 3.0]), tg.tensor([4.0])])
>>> padded.tolist()
[[1.0, 4.0], [2.0, 0.0], [3.0, 0.0]]
>>> packed = pack_padded_sequence(padded, [3, 1])
>>> packed.data.tolist(), packed.batch_sizes.tolist()
([1.0, 4.0, 2.0, 3.0], [2, 1, 1])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import tinygpt as tg
from tinygpt import ShapeError, Tensor

__all__ = [
    "PackedSequence",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


class PackedSequence(NamedTuple):
    """Sequences packed step by step (see the module docstring). `sorted_indices[i]` is the
    batch position of the i-th longest sequence (None: already longest first);
    `unsorted_indices` is its inverse."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """The same packing with `data` moved or cast (`Tensor.to`'s arguments)."""
        return self._replace(data=self.data.to(*args, **kwargs))

    @property
    def is_cuda(self) -> bool:
        return self.data.device.type == "cuda"


def _lengths(op: str, lengths: Any, batch: int) -> list[int]:
    values = lengths.tolist() if isinstance(lengths, Tensor) else [int(n) for n in lengths]
    if len(values) != batch:
        raise ShapeError(f"{op}: {len(values)} lengths for a batch of {batch} sequences")
    if any(n <= 0 for n in values):
        raise ValueError(f"{op}: every length must be >= 1, got {values}")
    return [int(n) for n in values]


def pad_sequence(
    sequences: Sequence[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Tensors (L_i, *) -> one (T, B, *) tensor ((B, T, *) with `batch_first`), T = max L_i,
    each padded with `padding_value` after its end (before it with padding_side="left")."""
    if not sequences:
        raise ValueError("pad_sequence: needs at least one sequence")
    if padding_side not in ("right", "left"):
        raise ValueError(
            f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}"
        )
    rest = sequences[0].shape[1:]
    for seq in sequences:
        if seq.shape[1:] != rest:
            raise ShapeError(
                f"pad_sequence: every sequence must be (L, {', '.join(map(str, rest))}) after its "
                f"length; got {seq.shape} next to {sequences[0].shape}"
            )
    longest = max(seq.shape[0] for seq in sequences)
    rows = []
    for seq in sequences:
        missing = longest - seq.shape[0]
        if missing:
            fill = tg.full((missing, *rest), padding_value, dtype=seq.dtype, device=seq.device)
            seq = tg.cat([seq, fill] if padding_side == "right" else [fill, seq])
        rows.append(seq)
    return tg.stack(rows, 0 if batch_first else 1)


def pack_padded_sequence(
    input: Tensor,  # noqa: A002 - PyTorch's name
    lengths: Any,
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """A padded batch (T, B, *) and each sequence's length -> a PackedSequence.

    With `enforce_sorted` the lengths must already be longest first; without it they are
    sorted here and the order is kept in `sorted_indices` (undone by pad_packed_sequence)."""
    padded = input.transpose(0, 1) if batch_first else input  # (T, B, *)
    sizes = _lengths("pack_padded_sequence", lengths, padded.shape[1])
    if max(sizes) > padded.shape[0]:
        raise ShapeError(
            f"pack_padded_sequence: a length of {max(sizes)} exceeds the {padded.shape[0]} time "
            f"steps of the input {input.shape}"
        )
    order = sorted(range(len(sizes)), key=lambda b: -sizes[b])  # stable: ties keep their order
    sorted_indices = unsorted_indices = None
    if enforce_sorted:
        if order != list(range(len(sizes))):
            raise RuntimeError(
                f"pack_padded_sequence: lengths {sizes} are not longest first; sort the batch "
                "or pass enforce_sorted=False"
            )
    else:
        sorted_indices = tg.tensor(order, dtype=tg.int64, device=input.device)
        inverse = [0] * len(order)
        for place, b in enumerate(order):
            inverse[b] = place
        unsorted_indices = tg.tensor(inverse, dtype=tg.int64, device=input.device)
        padded = padded.index_select(1, sorted_indices)
    ordered = [sizes[b] for b in order]
    batch_sizes = [sum(1 for n in ordered if n > t) for t in range(ordered[0])]
    data = tg.cat([padded[t, :count] for t, count in enumerate(batch_sizes)])
    return PackedSequence(
        data, tg.tensor(batch_sizes, dtype=tg.int64), sorted_indices, unsorted_indices
    )


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """A PackedSequence -> (padded (T, B, *) in the original batch order, lengths int64)."""
    data, batch_sizes = sequence.data, [int(n) for n in sequence.batch_sizes.tolist()]
    steps = len(batch_sizes)
    if total_length is not None and total_length < steps:
        raise ValueError(
            f"pad_packed_sequence: total_length={total_length} is shorter than the longest "
            f"sequence ({steps} steps)"
        )
    length = steps if total_length is None else total_length
    batch = batch_sizes[0]
    rest = data.shape[1:]
    rows, start = [], 0
    for count in batch_sizes:
        step = data[start : start + count]
        if count < batch:
            fill = tg.full(
                (batch - count, *rest), padding_value, dtype=data.dtype, device=data.device
            )
            step = tg.cat([step, fill])
        rows.append(step)
        start += count
    if length > steps:
        fill = tg.full((batch, *rest), padding_value, dtype=data.dtype, device=data.device)
        rows.extend([fill] * (length - steps))
    padded = tg.stack(rows)  # (T, B, *), longest first
    lengths = [sum(1 for n in batch_sizes if n > b) for b in range(batch)]  # longest first
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = [lengths[place] for place in sequence.unsorted_indices.tolist()]
    lengths_t = tg.tensor(lengths, dtype=tg.int64)
    return (padded.transpose(0, 1) if batch_first else padded), lengths_t


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Tensors (L_i, *) -> a PackedSequence (longest first unless enforce_sorted=False)."""
    lengths = [seq.shape[0] for seq in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(
    padded_sequences: Tensor, lengths: Any, batch_first: bool = False
) -> list[Tensor]:
    """The inverse of pad_sequence: each sequence cut to its length."""
    padded = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    sizes = _lengths("unpad_sequence", lengths, padded.shape[0])
    return [padded[b, :n] for b, n in enumerate(sizes)]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The inverse of pack_sequence: the sequences, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
