"""Conformance: random fills are reproducible, in range, and have the right statistics.

The statistical bounds are many standard errors wide (100k samples), so they cannot flake;
they catch a wrong distribution or parameter, not a subtly biased generator.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygpt import philox
from tinygpt.testing.helpers import require_dtypes, to_numpy, wrap

FLOATS = ("float16", "float32", "float64")
N = 100_000
SEED = 1234567890123


def _sample(backend, dist, size, dtype_name, seed, a, b):
    (dtype,) = require_dtypes(backend, dtype_name)
    return to_numpy(wrap(backend, backend.random(dist, size, dtype, seed, a, b), (size,), dtype))


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize(
    ("dist", "a", "b"), [("uniform", -2.0, 3.0), ("normal", 1.5, 2.0), ("bernoulli", 0.3, 0.0)]
)
def test_reproducible_per_seed(kit_backend, dtype_name, dist, a, b):
    first = _sample(kit_backend, dist, 1000, dtype_name, SEED, a, b)
    again = _sample(kit_backend, dist, 1000, dtype_name, SEED, a, b)
    other = _sample(kit_backend, dist, 1000, dtype_name, SEED + 1, a, b)
    what = f"random({dist!r}, {dtype_name})"
    assert first.tobytes() == again.tobytes(), f"{what}: the same seed gave different numbers"
    assert first.tobytes() != other.tobytes(), f"{what}: different seeds gave the same numbers"


#: (dist, dtype): bool only makes sense for bernoulli
DIST_DTYPES = [(dist, d) for dist in ("uniform", "normal", "bernoulli") for d in FLOATS] + [
    ("bernoulli", "bool")
]


@pytest.mark.parametrize(("dist", "dtype_name"), DIST_DTYPES)
@pytest.mark.parametrize("size", [0, 1, 17])
def test_sizes_and_dtypes(kit_backend, dist, dtype_name, size):
    # to_numpy checks the byte count, so a buffer of the wrong dtype fails here
    got = _sample(kit_backend, dist, size, dtype_name, 7, 0.5, 1.0)
    assert got.shape == (size,), f"random({dist!r}, {dtype_name}, size {size}): {got.shape}"
    if dtype_name != "bool":
        assert np.isfinite(got).all(), f"random({dist!r}, {dtype_name}): non-finite values"


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize(("low", "high"), [(-2.0, 3.0), (0.0, 1.0), (10.0, 10.5)])
def test_uniform(kit_backend, dtype_name, low, high):
    got = _sample(kit_backend, "uniform", N, dtype_name, SEED, low, high).astype(np.float64)
    what = f"random('uniform', {dtype_name}, [{low}, {high}))"
    assert got.min() >= low, f"{what}: min {got.min()} < low"
    assert got.max() < high, f"{what}: max {got.max()} reaches high (the interval is open)"
    width = high - low
    # mean: standard error width / sqrt(12 N) ~ 0.001 * width; allow ~20 of them
    assert abs(got.mean() - (low + high) / 2) < 0.02 * width, f"{what}: mean {got.mean()}"
    assert abs(got.std() - width / np.sqrt(12)) < 0.02 * width, f"{what}: std {got.std()}"


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize(("mean", "std"), [(0.0, 1.0), (1.5, 2.0), (-3.0, 0.02)])
def test_normal(kit_backend, dtype_name, mean, std):
    got = _sample(kit_backend, "normal", N, dtype_name, SEED, mean, std).astype(np.float64)
    what = f"random('normal', {dtype_name}, mean {mean}, std {std})"
    # standard errors: std / sqrt(N) ~ 0.003 std for the mean, ~0.002 std for the std
    assert abs(got.mean() - mean) < 0.03 * std + 0.01 * abs(mean), f"{what}: mean {got.mean()}"
    assert abs(got.std() - std) < 0.03 * std + 0.01 * abs(mean), f"{what}: std {got.std()}"
    # a normal puts ~68% of its mass within one std of the mean
    inside = np.mean(np.abs(got - mean) < std)
    assert 0.64 < inside < 0.72, f"{what}: {inside:.3f} of samples within 1 std"


@pytest.mark.parametrize("dtype_name", FLOATS + ("bool",))
@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_bernoulli(kit_backend, dtype_name, p):
    got = _sample(kit_backend, "bernoulli", N, dtype_name, SEED, p, 0.0).astype(np.float64)
    what = f"random('bernoulli', {dtype_name}, p={p})"
    assert set(np.unique(got).tolist()) <= {0.0, 1.0}, f"{what}: values other than 0 and 1"
    # standard error sqrt(p (1 - p) / N) <= 0.0016
    assert abs(got.mean() - p) < 0.02, f"{what}: rate {got.mean()}"


# ------------------------------------------------------------- core's Philox spec, exactly
#: Random123's published Philox4x32-10 known answers: (counter, key) as the protocol's ints
#: (words least significant first) -> the block's four words
KNOWN_ANSWERS = [
    (0, 0, (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    (2**128 - 1, 2**64 - 1, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        0x03707344_13198A2E_85A308D3_243F6A88,
        0x299F31D0_A4093822,
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize(("counter", "seed", "expected"), KNOWN_ANSWERS)
def test_random_bits_known_answers(kit_backend, counter, seed, expected):
    (int64,) = require_dtypes(kit_backend, "int64")
    got = to_numpy(wrap(kit_backend, kit_backend.random_bits(seed, counter, 4), (4,), int64))
    assert tuple(got.tolist()) == expected, f"random_bits: {[hex(w) for w in got.tolist()]}"


@pytest.mark.parametrize(
    ("dist", "a", "b"),
    [("uniform", -2.0, 3.0), ("normal", 1.5, 2.0), ("bernoulli", 0.3, 0.0), ("uniform", 0.0, 1.0)],
)
@pytest.mark.parametrize("dtype_name", [*FLOATS, "bfloat16", "int64", "int32", "int8", "bool"])
def test_random_is_the_spec_bit_for_bit(kit_backend, dist, a, b, dtype_name):
    # every backend draws exactly tinygpt.philox's numbers, so a seed means the same
    # numbers on every device; 257 samples leave the last block half used
    size, seed, counter = 257, 2**63 + 5, 2**64 - 2  # the counter carries into its high half
    (dtype,) = require_dtypes(kit_backend, dtype_name)
    buffer = kit_backend.random(dist, size, dtype, seed, a, b, counter)
    got = to_numpy(wrap(kit_backend, buffer, (size,), dtype))
    want = np.array(philox.reference_samples(dist, size, dtype_name, seed, counter, a, b))
    mismatch = np.flatnonzero(got.astype(np.float64) != want.astype(np.float64))
    assert mismatch.size == 0, (
        f"random({dist!r}, {dtype_name}): element {mismatch[:1]} differs from tinygpt.philox "
        f"({got[mismatch[:1]]} != {want[mismatch[:1]]})"
    )
