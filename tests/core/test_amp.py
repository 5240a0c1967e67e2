"""tg.compile, tg.amp.GradScaler / tg.cuda.amp.GradScaler and tg.autocast, as PyTorch's."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinygpt as tg

RNG = np.random.default_rng(11)


# ---------------------------------------------------------------------------- compile
def test_compile_returns_the_model_itself():
    model = tg.nn.Linear(3, 2)
    compiled = tg.compile(model, mode="max-autotune", fullgraph=True)
    assert compiled is model
    assert list(compiled.state_dict()) == ["weight", "bias"]  # no wrapper prefix


def test_compile_as_a_decorator():
    @tg.compile(dynamic=True)
    def double(x):
        return x * 2

    assert double(tg.ones(2)).tolist() == [2.0, 2.0]
    assert tg.compile(double) is double


def test_compile_refuses_what_cannot_run():
    with pytest.raises(TypeError, match="module or a function"):
        tg.compile(42)


# ------------------------------------------------------------------------ GradScaler
def _model_and_optimizer(device):
    tg.manual_seed(0)
    model = tg.nn.Linear(4, 3).to(device)
    return model, tg.optim.SGD(model.parameters(), lr=0.1)


def _loss(model, device):
    x = tg.tensor(RNG.standard_normal((5, 4)).astype(np.float32), device=device)
    return (model(x) ** 2).mean()


def test_a_disabled_scaler_passes_everything_through(device):
    model, opt = _model_and_optimizer(device)
    scaler = tg.cuda.amp.GradScaler(enabled=False)  # nanoGPT's train.py for bf16/fp32
    loss = _loss(model, device)
    assert scaler.scale(loss) is loss
    scaler.scale(loss).backward()
    before = model.weight.detach().clone()
    scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 1.0 and not scaler.is_enabled()
    assert not np.array_equal(model.weight.numpy(), before.numpy())  # the step ran
    assert scaler.state_dict() == {}


def test_cuda_scaler_without_cuda_warns_and_disables():
    if tg.cuda.is_available():
        pytest.skip("a GPU is here")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scaler = tg.amp.GradScaler("cuda")
    assert not scaler.is_enabled()
    assert any("CUDA is not available" in str(w.message) for w in caught)


def test_scaled_step_equals_the_unscaled_one(device):
    x = tg.tensor(RNG.standard_normal((5, 4)).astype(np.float32), device=device)
    model, opt = _model_and_optimizer(device)
    reference, ref_opt = _model_and_optimizer(device)  # the same weights
    scaler = tg.amp.GradScaler(device, init_scale=1024.0)
    loss = (model(x) ** 2).mean()
    scaled = scaler.scale(loss)
    assert scaled.item() == pytest.approx(loss.item() * 1024.0, rel=1e-6)
    scaled.backward()
    scaler.unscale_(opt)  # before clipping, as a training loop does
    ((reference(x) ** 2).mean()).backward()
    np.testing.assert_allclose(
        model.weight.grad.numpy(), reference.weight.grad.numpy(), rtol=1e-5, atol=1e-7
    )
    scaler.step(opt)
    scaler.update()
    ref_opt.step()
    np.testing.assert_allclose(model.weight.numpy(), reference.weight.numpy(), rtol=1e-6)
    assert scaler.get_scale() == 1024.0  # one clean step: no growth yet


def test_overflow_skips_the_step_and_backs_off(device):
    model, opt = _model_and_optimizer(device)
    scaler = tg.amp.GradScaler(device, init_scale=8.0, growth_interval=2)
    _loss(model, device).backward()
    model.weight.grad.data[0, 0] = math.inf  # an overflowed gradient
    before = model.weight.numpy().copy()
    assert scaler.step(opt) is None  # skipped
    scaler.update()
    np.testing.assert_array_equal(model.weight.numpy(), before)
    assert scaler.get_scale() == 4.0
    for _ in range(2):  # growth_interval clean steps double it
        opt.zero_grad()
        scaler.scale(_loss(model, device)).backward()
        scaler.step(opt)
        scaler.update()
    assert scaler.get_scale() == 8.0


def test_unscale_twice_is_refused_and_state_round_trips(device):
    model, opt = _model_and_optimizer(device)
    scaler = tg.amp.GradScaler(device, init_scale=16.0)
    scaler.scale(_loss(model, device)).backward()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    other = tg.amp.GradScaler(device)
    other.load_state_dict(scaler.state_dict())
    assert other.get_scale() == scaler.get_scale()


# -------------------------------------------------------------------------- autocast
def _half(x, dtype):
    try:
        return x.to(dtype)
    except tg.DTypeError:
        pytest.skip(f"{x.device} does not store {dtype}")


def test_autocast_lowers_matmul_linear_attention_and_keeps_float32_grads(device):
    tg.manual_seed(0)
    layer = tg.nn.Linear(4, 3).to(device)
    x = tg.tensor(RNG.standard_normal((2, 4)).astype(np.float32), device=device)
    _half(x, tg.bfloat16)
    with tg.autocast("cpu", dtype=tg.bfloat16):  # "cpu": host memory, every backend but cuda
        y = layer(x)
        assert y.dtype == tg.bfloat16
        assert (x @ x.mT).dtype == tg.bfloat16
        q = tg.tensor(RNG.standard_normal((1, 2, 4, 8)).astype(np.float32), device=device)
        attn = tg.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True)
        assert attn.dtype == tg.bfloat16
        assert (y + 1.0).dtype == tg.bfloat16  # other ops follow their inputs
    reference = layer(x)  # float32, outside the block
    np.testing.assert_allclose(y.float().numpy(), reference.numpy(), rtol=2e-2, atol=2e-2)
    y.float().sum().backward()
    assert layer.weight.grad.dtype == tg.float32 and layer.bias.grad.dtype == tg.float32


def test_cross_entropy_runs_in_float32_under_autocast(device):
    x = tg.tensor(RNG.standard_normal((3, 5)).astype(np.float32), device=device)
    half = _half(x, tg.bfloat16)
    targets = tg.tensor([0, 4, 2], device=device)
    with tg.autocast(device, dtype=tg.bfloat16):
        assert tg.is_autocast_enabled(device)
        assert tg.nn.functional.cross_entropy(half, targets).dtype == tg.float32
        # on the CPU backends softmax and layer norm stay in the input dtype (as PyTorch's
        # CPU autocast); on cuda they run in float32
        assert tg.softmax(half, -1).dtype == tg.bfloat16
        assert tg.nn.functional.layer_norm(half, (5,)).dtype == tg.bfloat16
    assert not tg.is_autocast_enabled(device)
    assert tg.nn.functional.cross_entropy(half, targets).dtype == tg.bfloat16


@pytest.mark.oracle
def test_autocast_dtypes_match_pytorch_on_the_cpu():
    torch = pytest.importorskip("torch")

    def run(lib):
        lib.manual_seed(0)
        layer = lib.nn.Linear(3, 2)
        with lib.autocast(device_type="cpu", dtype=lib.bfloat16):
            y = layer(lib.ones(1, 3))
            out = [y, lib.nn.functional.softmax(y, -1), lib.nn.functional.layer_norm(y, (2,))]
            out.append(lib.nn.functional.cross_entropy(y, lib.tensor([1])))
            out.append(lib.ones(2, 3) @ lib.ones(3, 2))
        return [str(t.dtype).split(".")[-1] for t in out]

    assert run(tg) == run(torch)


def test_autocast_nests_and_disables():
    with tg.autocast("cpu", dtype=tg.bfloat16):
        assert tg.get_autocast_dtype("cpu") == tg.bfloat16
        with tg.autocast("cpu", enabled=False):
            assert not tg.is_autocast_enabled("cpu")
        with tg.autocast("cpu", dtype=tg.float16):
            assert tg.get_autocast_dtype("cpu") == tg.float16
        assert tg.get_autocast_dtype("cpu") == tg.bfloat16
        assert not tg.is_autocast_enabled("cuda")  # another device type
    assert not tg.is_autocast_enabled()


def test_autocast_rejects_a_bad_dtype():
    with pytest.raises(TypeError, match="bfloat16 or tg.float16"):
        tg.autocast("cpu", dtype=tg.int32)


def test_autocast_as_a_decorator():
    @tg.autocast("cpu", dtype=tg.bfloat16)
    def inside():
        return tg.is_autocast_enabled("cpu")

    assert inside() and not tg.is_autocast_enabled("cpu")
