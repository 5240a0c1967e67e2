"""`tg.cuda` and `tg.accelerator` as PyTorch scripts call them. Here the cases without a GPU
(the cuda backend unavailable): PyTorch's CPU-only behaviour — seeding and empty_cache do
nothing, counters are 0, calls that need a device raise a DeviceError that says so."""

from __future__ import annotations

import pytest

import tinygpt as tg

pytestmark = pytest.mark.skipif(tg.cuda.is_available(), reason="the no-GPU behaviour")


def test_seeding_without_a_gpu_leaves_cpu_randomness_alone():
    tg.manual_seed(3)
    want = tg.rand(4).tolist()
    tg.manual_seed(3)
    tg.cuda.manual_seed_all(123)
    tg.cuda.manual_seed(7)
    tg.cuda.seed_all()
    assert tg.rand(4).tolist() == want


def test_memory_calls_are_zero_and_cache_calls_do_nothing():
    tg.cuda.empty_cache()
    tg.cuda.reset_peak_memory_stats()
    assert tg.cuda.memory_allocated() == 0
    assert tg.cuda.max_memory_allocated() == 0
    assert tg.cuda.memory_reserved() == 0
    assert tg.cuda.max_memory_reserved("cuda:0") == 0
    assert tg.cuda.is_bf16_supported() is False
    assert tg.cuda.device_count() == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda: tg.cuda.synchronize(),
        lambda: tg.cuda.current_device(),
        lambda: tg.cuda.get_device_name(0),
        lambda: tg.cuda.initial_seed(),
        lambda: tg.accelerator.synchronize(),
    ],
)
def test_calls_that_need_a_gpu_say_so(call):
    with pytest.raises(tg.DeviceError, match="no GPU.*tg.cuda.is_available"):
        call()


def test_device_context_restores_the_index():
    with tg.cuda.device(1):
        with tg.cuda.device("cuda:2"):
            pass
    tg.cuda.set_device(0)


def test_accelerator_without_a_gpu():
    assert tg.accelerator.is_available() is False
    assert tg.accelerator.current_accelerator() is None
    assert tg.accelerator.device_count() == 0
    assert tg.accelerator.memory_allocated() == 0
    tg.accelerator.empty_cache()
    device = tg.accelerator.current_accelerator().type if tg.accelerator.is_available() else "cpu"
    assert tg.ones(2, device=device).device.type == "cpu"
