"""The cpu backend's memory accounting and block cache (tinygpt_backend_cpu.buffer): live and
peak bytes follow allocations and frees, freed large blocks are reused, limits are kept."""

from __future__ import annotations

import gc

import pytest

import tinygpt as tg

pytest.importorskip("tinygpt_backend_cpu", reason="tinygpt-backend-cpu is not installed")
from tinygpt_backend_cpu import buffer  # noqa: E402

MIB = 1 << 20


@pytest.fixture
def fresh_cache():
    limit = buffer.cache_info()["limit_bytes"]
    buffer.empty_cache()
    yield
    buffer.set_cache_limit(limit)


def test_live_and_peak_bytes_follow_tensors(fresh_cache):
    gc.collect()
    start = buffer.cache_info()["live_bytes"]
    buffer.reset_peak()
    x = tg.zeros(1024, 1024, device="cpu")  # 4 MiB
    y = x + 1.0  # 4 MiB more
    info = buffer.cache_info()
    assert info["live_bytes"] - start >= 8 * MIB
    del x, y
    gc.collect()
    after = buffer.cache_info()
    assert after["live_bytes"] == start
    assert after["peak_live_bytes"] - start >= 8 * MIB  # the peak remembers both
    buffer.reset_peak()
    assert buffer.cache_info()["peak_live_bytes"] == start


def test_freed_blocks_are_cached_and_reused(fresh_cache):
    x = tg.zeros(512, 1024, device="cpu")  # 2 MiB: cached when freed
    del x
    gc.collect()
    cached = buffer.cache_info()["cached_bytes"]
    assert cached >= 2 * MIB
    y = tg.ones(512, 1024, device="cpu")  # the same size class: served from the cache
    assert buffer.cache_info()["cached_bytes"] == cached - 2 * MIB
    assert float(y.sum().item()) == 512 * 1024


def test_a_zero_limit_disables_the_cache(fresh_cache):
    buffer.set_cache_limit(0)
    x = tg.zeros(512, 1024, device="cpu")
    del x
    gc.collect()
    assert buffer.cache_info()["cached_bytes"] == 0
