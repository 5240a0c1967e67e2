"""`nn.utils.rnn` (pad / pack / unpack) and RNN, LSTM, GRU on a PackedSequence: each sequence
is read only up to its length (checked against running it alone), in both directions, and the
gradient of padded positions is zero. Also `get_total_norm` / `clip_grads_with_norm_`."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import nn
from tinygpt.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)

LENGTHS = [2, 5, 3]


def _sequences(device):
    rng = np.random.default_rng(0)
    return [
        tg.tensor(rng.standard_normal((n, 3)), dtype=tg.float64, device=device) for n in LENGTHS
    ]


def test_pad_and_pack_layouts(device):
    seqs = _sequences(device)
    padded = pad_sequence(seqs, batch_first=True, padding_value=-1.0)
    assert padded.shape == (3, 5, 3) and padded[0, 2:].tolist() == [[-1.0] * 3] * 3
    left = pad_sequence(seqs, padding_side="left")
    np.testing.assert_array_equal(left[3:, 0].numpy(), seqs[0].numpy())
    packed = pack_padded_sequence(padded, LENGTHS, batch_first=True, enforce_sorted=False)
    assert packed.batch_sizes.tolist() == [3, 3, 2, 1, 1]
    assert packed.sorted_indices.tolist() == [1, 2, 0]
    back, lengths = pad_packed_sequence(packed, batch_first=True, padding_value=-1.0)
    assert lengths.tolist() == LENGTHS
    np.testing.assert_array_equal(back.numpy(), padded.numpy())
    for got, want in zip(unpack_sequence(packed), seqs, strict=True):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    for got, want in zip(unpad_sequence(padded, LENGTHS, batch_first=True), seqs, strict=True):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    longer, _ = pad_packed_sequence(packed, total_length=7)
    assert longer.shape == (7, 3, 3)


def test_bad_packing_is_refused(device):
    padded = pad_sequence(_sequences(device))
    with pytest.raises(RuntimeError, match="enforce_sorted=False"):
        pack_padded_sequence(padded, LENGTHS)
    with pytest.raises(ValueError, match=">= 1"):
        pack_padded_sequence(padded, [5, 0, 3], enforce_sorted=False)
    with pytest.raises(ValueError, match="total_length"):
        pad_packed_sequence(pack_sequence(_sequences(device), enforce_sorted=False), total_length=2)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_equals_each_sequence_alone(device, kind, bidirectional):
    tg.manual_seed(0)
    layer = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=bidirectional).to(device).double()
    seqs = _sequences(device)
    out, final = layer(pack_sequence(seqs, enforce_sorted=False))
    assert isinstance(out, PackedSequence)
    padded, lengths = pad_packed_sequence(out)
    h_n = final[0] if kind == "LSTM" else final
    for b, seq in enumerate(seqs):
        alone, alone_final = layer(seq.unsqueeze(1))
        alone_h = alone_final[0] if kind == "LSTM" else alone_final
        np.testing.assert_allclose(padded[: lengths[b], b].numpy(), alone[:, 0].numpy(), atol=1e-12)
        np.testing.assert_allclose(h_n[:, b].numpy(), alone_h[:, 0].numpy(), atol=1e-12)


def test_padding_gets_no_gradient(device):
    tg.manual_seed(1)
    layer = nn.GRU(3, 4, batch_first=True).to(device).double()
    padded = pad_sequence(_sequences(device), batch_first=True).requires_grad_()
    out, h_n = layer(pack_padded_sequence(padded, LENGTHS, batch_first=True, enforce_sorted=False))
    (out.data.sum() + h_n.sum()).backward()
    grad = padded.grad.numpy()
    for b, n in enumerate(LENGTHS):
        assert not grad[b, n:].any() and grad[b, :n].any()


def test_total_norm_and_clip_with_norm(device):
    grads = [tg.tensor([3.0, 4.0], device=device), tg.tensor([[12.0]], device=device)]
    assert nn.utils.get_total_norm(grads).item() == pytest.approx(13.0)
    assert nn.utils.get_total_norm(grads, math.inf).item() == pytest.approx(12.0)
    p = nn.Parameter(tg.zeros(2, device=device))
    p.grad = tg.tensor([3.0, 4.0], device=device)
    nn.utils.clip_grads_with_norm_([p], 1.0, nn.utils.get_total_norm([p.grad]))
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        nn.utils.clip_grad_norm([p], 10.0)
