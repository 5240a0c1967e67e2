"""Lazy layers, the unpool / alias extras: shapes inferred at the first forward, the layer
becomes the ordinary one with PyTorch's parameter names, and an optimizer made before the
first forward still trains the (same) parameter objects."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn, optim

CONVS = [
    (lambda: nn.LazyConv1d(4, 3), (2, 3, 8), nn.Conv1d, (4, 3, 3)),
    (lambda: nn.LazyConv2d(4, 3, groups=2), (2, 6, 7, 7), nn.Conv2d, (4, 3, 3, 3)),
    (lambda: nn.LazyConv3d(4, 2), (1, 3, 4, 4, 4), nn.Conv3d, (4, 3, 2, 2, 2)),
    (lambda: nn.LazyConvTranspose1d(4, 3), (2, 3, 8), nn.ConvTranspose1d, (3, 4, 3)),
    (lambda: nn.LazyConvTranspose2d(4, 3, 2), (2, 3, 4, 4), nn.ConvTranspose2d, (3, 4, 3, 3)),
    (lambda: nn.LazyConvTranspose3d(2, 2), (3, 4, 4, 4), nn.ConvTranspose3d, (3, 2, 2, 2, 2)),
]


@pytest.mark.parametrize("make, shape, target, weight", CONVS, ids=[c[2].__name__ for c in CONVS])
def test_lazy_convolutions_become_the_real_layer(device, make, shape, target, weight):
    tg.manual_seed(0)
    lazy = make().to(device)
    assert repr(lazy).startswith(f"Lazy{target.__name__}(0, ")
    params = list(lazy.parameters())
    opt = optim.SGD(params, lr=0.1)
    x = tg.randn(*shape, device=device)
    y = lazy(x)
    assert type(lazy) is target and tuple(lazy.weight.shape) == weight
    assert list(lazy.state_dict()) == ["weight", "bias"]
    assert all(a is b for a, b in zip(params, lazy.parameters(), strict=True))
    # the lazy first call computes what the real layer now computes
    np.testing.assert_allclose(y.numpy(), lazy(x).numpy(), rtol=1e-6)
    y.sum().backward()
    before = lazy.weight.detach().clone()
    opt.step()
    assert not np.allclose(before.numpy(), lazy.weight.numpy())


NORMS = [
    (nn.LazyBatchNorm1d, (4, 3), nn.BatchNorm1d),
    (nn.LazyBatchNorm2d, (4, 3, 2, 2), nn.BatchNorm2d),
    (nn.LazyBatchNorm3d, (4, 3, 2, 2, 2), nn.BatchNorm3d),
    (nn.LazyInstanceNorm1d, (4, 3, 5), nn.InstanceNorm1d),
    (nn.LazyInstanceNorm2d, (3, 5, 5), nn.InstanceNorm2d),
    (nn.LazyInstanceNorm3d, (2, 3, 2, 3, 4), nn.InstanceNorm3d),
]


@pytest.mark.parametrize("cls, shape, target", NORMS, ids=[n[2].__name__ for n in NORMS])
def test_lazy_norms_become_the_real_layer(device, cls, shape, target):
    lazy = cls().to(device)
    x = tg.randn(*shape, device=device)
    y = lazy(x)
    assert type(lazy) is target and lazy.num_features == 3
    keys = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert list(lazy.state_dict()) == keys
    np.testing.assert_allclose(lazy.weight.numpy(), 1.0)
    np.testing.assert_allclose(lazy.bias.numpy(), 0.0)
    reference = target(3, affine=True, track_running_stats=True).to(device)
    np.testing.assert_allclose(y.numpy(), reference(x).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lazy.running_mean.numpy(), reference.running_mean.numpy())


def test_lazy_errors_and_uninitialized_repr():
    with pytest.raises(tg.ShapeError, match="groups"):
        nn.LazyConv2d(4, 3, groups=2)(tg.randn(1, 3, 5, 5))
    assert repr(nn.UninitializedParameter()) == "<UninitializedParameter>"


def test_max_unpool3d_and_aliases(device):
    x = tg.randn(1, 2, 4, 4, 6, device=device)
    values, index = F.max_pool3d(x, 2, return_indices=True)
    back = nn.MaxUnpool3d(2)(values, index)
    assert back.shape == x.shape
    np.testing.assert_allclose(
        back.numpy().reshape(1, 2, -1).max(-1), x.numpy().reshape(1, 2, -1).max(-1)
    )
    assert np.count_nonzero(back.numpy()) == values.numel()
    assert isinstance(nn.NLLLoss2d(), nn.NLLLoss)
    assert isinstance(nn.GRU(2, 3), nn.RNNBase) and isinstance(nn.LSTMCell(2, 3), nn.RNNCellBase)
    assert F.native_channel_shuffle is F.channel_shuffle


def test_adaptive_log_softmax_is_a_distribution_and_matches_log_prob(device):
    tg.manual_seed(0)
    asm = nn.AdaptiveLogSoftmaxWithLoss(6, 12, [3, 7], div_value=2.0).to(device).double()
    assert list(asm.state_dict()) == [
        "head.weight",
        "tail.0.0.weight",
        "tail.0.1.weight",
        "tail.1.0.weight",
        "tail.1.1.weight",
    ]
    x = tg.randn(5, 6, dtype=tg.float64, device=device)
    target = tg.tensor([0, 4, 11, 2, 8], device=device)
    full = asm.log_prob(x).numpy()
    np.testing.assert_allclose(np.exp(full).sum(-1), 1.0, rtol=1e-12)
    out = asm(x, target)
    np.testing.assert_allclose(out.output.numpy(), full[np.arange(5), target.numpy()], rtol=1e-12)
    assert np.isclose(out.loss.item(), -out.output.numpy().mean())
    np.testing.assert_array_equal(asm.predict(x).numpy(), full.argmax(-1))
    xg = x.clone().requires_grad_()
    assert tg.autograd.gradcheck(lambda v: asm(v, target).output, [xg])
    with pytest.raises(IndexError, match="targets"):
        asm(x, tg.tensor([0, 1, 2, 3, 12], device=device))
    with pytest.raises(ValueError, match="cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(6, 12, [7, 3])


def test_sync_batchnorm_is_batchnorm_in_one_process(device):
    x = tg.randn(4, 3, 2, 2, device=device)
    plain = nn.BatchNorm2d(3).to(device)
    net = nn.Sequential(nn.Identity(), plain)
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert type(synced[1]) is nn.SyncBatchNorm and synced[1].weight is plain.weight
    want = nn.BatchNorm2d(3).to(device)(x).numpy()
    np.testing.assert_allclose(synced(x).numpy(), want, rtol=1e-5, atol=1e-6)
    assert list(synced.state_dict()) == [
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
    ]
    assert nn.SyncBatchNorm(3).to(device)(tg.randn(5, 3, device=device)).shape == (5, 3)


def test_data_parallel_wraps_one_module(device):
    inner = nn.Linear(2, 3).to(device)
    dp = nn.DataParallel(inner)
    x = tg.randn(4, 2, device=device)
    np.testing.assert_allclose(dp(x).numpy(), inner(x).numpy())
    assert list(dp.state_dict()) == ["module.weight", "module.bias"]
    assert nn.LinearCrossEntropyOptions().chunking_method == "auto"


def test_adaptive_log_softmax_with_an_empty_tail_projection(device):
    # 8 // 4**2 = 0 hidden units for the second cluster: its logits are all zero (PyTorch)
    asm = nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=[4, 8]).to(device)
    assert asm.tail[1][0].weight.shape == (0, 8)
    x = tg.randn(3, 8, device=device)
    full = asm.log_prob(x).numpy()
    np.testing.assert_allclose(full[:, 8], full[:, 9])  # a uniform split inside the cluster
    np.testing.assert_allclose(np.exp(full).sum(-1), 1.0, rtol=1e-5)
    out = asm(x, tg.tensor([1, 5, 9], device=device)).output.numpy()
    np.testing.assert_allclose(out, full[np.arange(3), [1, 5, 9]], rtol=1e-5)
    # and its state_dict (with the empty weights) loads back
    asm.load_state_dict(asm.state_dict())


def test_container_is_deprecated_but_registers_modules():
    with pytest.warns(DeprecationWarning, match="Container"):
        box = nn.Container(fc=nn.Linear(2, 3))
    assert list(box.state_dict()) == ["fc.weight", "fc.bias"]
