"""nn.TransformerDecoderLayer / TransformerDecoder / Transformer: PyTorch's arguments,
parameter names and results."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import nn

RNG = np.random.default_rng(4)


def _model(device, **options):
    tg.manual_seed(0)
    settings = dict(d_model=16, nhead=4, num_encoder_layers=1, num_decoder_layers=2)
    settings.update(dim_feedforward=32, dropout=0.0, batch_first=True)
    settings.update(options)
    return nn.Transformer(**settings).to(device)


def test_shapes_masks_and_parameter_names(device):
    model = _model(device)
    src = tg.tensor(RNG.standard_normal((2, 5, 16)).astype(np.float32), device=device)
    tgt = tg.tensor(RNG.standard_normal((2, 3, 16)).astype(np.float32), device=device)
    mask = nn.Transformer.generate_square_subsequent_mask(3, device=device)
    assert mask.tolist() == [[0.0, -np.inf, -np.inf], [0.0, 0.0, -np.inf], [0.0, 0.0, 0.0]]
    out = model(src, tgt, tgt_mask=mask)
    assert out.shape == (2, 3, 16)
    names = set(model.state_dict())
    assert "decoder.layers.1.multihead_attn.in_proj_weight" in names
    assert "decoder.layers.0.norm3.bias" in names and "encoder.norm.weight" in names
    # the mask hides the future: changing the last target position leaves the first alone
    changed = tg.tensor(tgt.numpy(), device=device)
    changed[:, 2] = 5.0
    again = model(src, changed, tgt_mask=mask)
    np.testing.assert_allclose(again.numpy()[:, :2], out.numpy()[:, :2], rtol=1e-5, atol=1e-5)
    assert not np.allclose(again.numpy()[:, 2], out.numpy()[:, 2])


def test_gradients_reach_every_parameter(device):
    model = _model(device, norm_first=True)
    src = tg.tensor(RNG.standard_normal((2, 4, 16)).astype(np.float32), device=device)
    tgt = tg.tensor(RNG.standard_normal((2, 3, 16)).astype(np.float32), device=device)
    model(src, tgt, tgt_is_causal=True).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_bad_inputs_are_clear_errors(device):
    model = _model(device)
    src = tg.zeros(2, 5, 16, device=device)
    with pytest.raises(tg.ShapeError, match="same batch size"):
        model(src, tg.zeros(3, 3, 16, device=device))
    with pytest.raises(tg.ShapeError, match="E = 16"):
        model.decoder.layers[0](tg.zeros(2, 3, 8, device=device), src)
    with pytest.raises(ValueError, match="num_layers >= 1"):
        nn.TransformerDecoder(model.decoder.layers[0], 0)


@pytest.mark.oracle
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [True, False])
def test_transformer_matches_pytorch(device, norm_first, batch_first):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    settings = dict(d_model=16, nhead=4, num_encoder_layers=2, num_decoder_layers=2)
    settings.update(dim_feedforward=32, dropout=0.0, batch_first=batch_first)
    settings.update(norm_first=norm_first)
    ref = torch.nn.Transformer(**settings).eval()
    ours = nn.Transformer(**settings).to(device)
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    src = RNG.standard_normal((2, 5, 16) if batch_first else (5, 2, 16)).astype(np.float32)
    tgt = RNG.standard_normal((2, 3, 16) if batch_first else (3, 2, 16)).astype(np.float32)
    pad = np.array([[False] * 5, [False, False, False, True, True]])
    with torch.no_grad():
        want = ref(
            torch.tensor(src),
            torch.tensor(tgt),
            tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(3),
            memory_key_padding_mask=torch.tensor(pad),
        ).numpy()
    got = ours(
        tg.tensor(src, device=device),
        tg.tensor(tgt, device=device),
        tgt_mask=nn.Transformer.generate_square_subsequent_mask(3, device=device),
        memory_key_padding_mask=tg.tensor(pad, device=device),
    ).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
