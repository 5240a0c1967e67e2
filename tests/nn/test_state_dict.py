"""state_dict / load_state_dict: round trips through tg.save / tg.load, one clear error for a
dict that does not fit, and key names identical to PyTorch's for the same architecture."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import nn


def make_model(device):
    return nn.Sequential(
        nn.Linear(4, 8, device=device),
        nn.LayerNorm(8, device=device),
        nn.GELU(),
        nn.Linear(8, 3, device=device),
    )


def test_round_trip_through_save_and_load_restores_outputs(device, tmp_path):
    tg.manual_seed(0)
    model = make_model(device)
    x = tg.randn(5, 4, device=device)
    want = model(x).numpy()
    tg.save(model.state_dict(), tmp_path / "model.safetensors")
    tg.manual_seed(1)
    fresh = make_model(device)
    assert not np.allclose(fresh(x).numpy(), want)
    result = fresh.load_state_dict(tg.load(tmp_path / "model.safetensors"))
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(fresh(x).numpy(), want)


def test_round_trip_keeps_buffers(device, tmp_path):
    bn = nn.BatchNorm1d(3, device=device)
    bn(tg.randn(6, 3, device=device))
    tg.save(bn.state_dict(), tmp_path / "bn.safetensors")
    fresh = nn.BatchNorm1d(3, device=device)
    fresh.load_state_dict(tg.load(tmp_path / "bn.safetensors"))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_array_equal(getattr(fresh, name).numpy(), getattr(bn, name).numpy())
    assert fresh.num_batches_tracked.dtype == tg.int64


def test_load_copies_in_place_so_optimizers_keep_their_parameters(device):
    model = make_model(device)
    before = [id(p) for p in model.parameters()]
    other = make_model(device)
    model.load_state_dict(other.state_dict())
    assert [id(p) for p in model.parameters()] == before
    np.testing.assert_array_equal(model[0].weight.numpy(), other[0].weight.numpy())
    # the loaded values are copies: changing the source later does not leak in
    with tg.no_grad():
        other[0].weight.fill_(0.0)
    assert float(model[0].weight.abs().sum()) > 0


def test_state_dict_shares_memory_and_is_detached(device):
    model = make_model(device)
    sd = model.state_dict()
    assert not sd["0.weight"].requires_grad
    assert sd["0.weight"]._data is model[0].weight._data
    assert model.state_dict(keep_vars=True)["0.weight"] is model[0].weight


def test_mismatched_dict_lists_every_problem_in_one_error(device):
    model = make_model(device)
    sd = dict(make_model(device).state_dict())
    del sd["1.bias"]
    sd["9.weight"] = tg.zeros(2, device=device)
    sd["3.weight"] = tg.zeros(4, 8, device=device)
    with pytest.raises(nn.StateDictError) as info:
        model.load_state_dict(sd)
    message = str(info.value)
    assert "missing keys (1): 1.bias" in message
    assert "unexpected keys (1): 9.weight" in message
    assert "shape mismatch for 3.weight: checkpoint (4, 8), model (3, 8)" in message
    assert info.value.missing_keys == ["1.bias"]
    assert isinstance(info.value, tg.TinyGPTError) and isinstance(info.value, RuntimeError)


def test_non_strict_load_skips_missing_and_unexpected_but_not_shapes(device):
    model = make_model(device)
    sd = {"0.weight": tg.ones(8, 4, device=device), "extra": tg.zeros(1, device=device)}
    result = model.load_state_dict(sd, strict=False)
    assert "0.bias" in result.missing_keys and result.unexpected_keys == ["extra"]
    assert model[0].weight.tolist()[0] == [1.0] * 4
    with pytest.raises(nn.StateDictError, match="shape mismatch for 0.weight"):
        model.load_state_dict({"0.weight": tg.ones(4, 4, device=device)}, strict=False)


def test_load_casts_to_the_model_dtype(device):
    model = make_model(device)
    sd = {k: v.to(tg.float64) for k, v in make_model(device).state_dict().items()}
    model.load_state_dict(sd)
    assert all(p.dtype == tg.float32 for p in model.parameters())


@pytest.mark.oracle
def test_keys_match_pytorch_key_by_key(device):
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(
        nn.Linear(4, 8, device=device),
        nn.LayerNorm(8, device=device),
        nn.Linear(8, 3, device=device),
        nn.BatchNorm1d(3, device=device),
        nn.Embedding(5, 2, device=device),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Linear(4, 8),
        torch.nn.LayerNorm(8),
        torch.nn.Linear(8, 3),
        torch.nn.BatchNorm1d(3),
        torch.nn.Embedding(5, 2),
    )
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (name, ours_t), theirs_t in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert ours_t.shape == tuple(theirs_t.shape), name
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


@pytest.mark.oracle
def test_torch_weights_load_and_give_torch_outputs(device):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.LayerNorm(8), torch.nn.Linear(8, 3)
    )
    ours = nn.Sequential(
        nn.Linear(4, 8, device=device),
        nn.LayerNorm(8, device=device),
        nn.Linear(8, 3, device=device),
    )
    ours.load_state_dict(
        {k: tg.tensor(v.detach().numpy(), device=device) for k, v in theirs.state_dict().items()}
    )
    x = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    want = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(
        ours(tg.tensor(x, device=device)).numpy(), want, rtol=1e-5, atol=1e-6
    )
