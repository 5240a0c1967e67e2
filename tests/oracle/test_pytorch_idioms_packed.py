"""Variable-length batches through recurrent layers as PyTorch programs write them
(`pad_sequence`, `pack_padded_sequence(..., enforce_sorted=False)`, an LSTM/GRU on the
packed batch, `pad_packed_sequence`), run as written with `tinygpt`. Harness: conftest.py."""

from __future__ import annotations

import pytest
from idiom_harness import IDIOM_DEVICES, idiom, params

pytestmark = pytest.mark.oracle


def _batch(torch):
    a = torch.arange(6.0).reshape(2, 3) / 10
    b = torch.arange(15.0).reshape(5, 3) / 20 - 0.3
    c = torch.arange(9.0).reshape(3, 3) / -15
    return [a, b, c]


@idiom
def packed_lstm_and_gru(torch, nn, F, optim):
    pack_padded_sequence = nn.utils.rnn.pack_padded_sequence
    pad_packed_sequence = nn.utils.rnn.pad_packed_sequence
    pad_sequence = nn.utils.rnn.pad_sequence
    seqs = _batch(torch)
    lengths = torch.tensor([len(s) for s in seqs])
    padded = pad_sequence(seqs, batch_first=True)
    results = []
    for layer in (nn.LSTM(3, 4, batch_first=True, bidirectional=True), nn.GRU(3, 2, 2)):
        for i, p in enumerate(layer.parameters()):
            nn.init.constant_(p, 0.05 * (i % 3) - 0.04)
        x = padded if layer.batch_first else padded.transpose(0, 1)
        packed = pack_padded_sequence(
            x, lengths, batch_first=layer.batch_first, enforce_sorted=False
        )
        out, state = layer(packed)
        unpacked, out_lengths = pad_packed_sequence(out, batch_first=layer.batch_first)
        results += [unpacked, out_lengths, state[0] if isinstance(state, tuple) else state]
        results += [out.batch_sizes, out.sorted_indices]
    return results


@idiom
def pack_sequence_round_trip(torch, nn, F, optim):
    rnn = nn.utils.rnn
    seqs = _batch(torch)
    packed = rnn.pack_sequence(seqs, enforce_sorted=False)
    padded, lengths = rnn.pad_packed_sequence(packed, padding_value=-1.0, total_length=6)
    return [packed.data, packed.batch_sizes, padded, lengths, rnn.unpack_sequence(packed)]


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
