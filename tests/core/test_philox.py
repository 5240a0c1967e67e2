"""The one random generator: Philox4x32-10 known answers, and the same numbers everywhere.

The known-answer vectors are Random123's `tests/kat_vectors` (counter words, key words ->
output words, all hex), the published test of Philox4x32-10.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg
from tinygpt import philox
from tinygpt.backend.registry import get_backend
from tinygpt.testing.helpers import to_numpy, wrap

#: (counter words, key words, expected output words) from Random123's kat_vectors
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]
#: every available backend (numpy, cpu, pure, cuda, ...): the cross-device test compares them
DEVICES = [info.name for info in tg.backends() if info.available]


def _as_ints(counter: tuple[int, ...], key: tuple[int, ...]) -> tuple[int, int]:
    """(seed, counter) as the integers the protocol takes: words are least significant first."""
    seed = key[0] | key[1] << 32
    return seed, sum(word << (32 * i) for i, word in enumerate(counter))


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_reference_matches_the_published_vectors(counter, key, expected):
    assert philox.philox4x32_10(counter, key) == expected


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_every_backend_matches_the_published_vectors(device, counter, key, expected):
    backend = get_backend(device)
    seed, start = _as_ints(counter, key)
    got = to_numpy(wrap(backend, backend.random_bits(seed, start, 4), (4,), tg.int64))
    assert tuple(got.tolist()) == expected, f"{device}: {[hex(w) for w in got.tolist()]}"


def test_random_bits_runs_through_consecutive_blocks(device):
    # 10 words = 2.5 blocks, from a counter whose low 64 bits wrap (a carry into the high half)
    backend = get_backend(device)
    start = 2**64 - 1
    got = to_numpy(wrap(backend, backend.random_bits(7, start, 10), (10,), tg.int64)).tolist()
    blocks = list(philox.block_words(7, start, 3))
    assert got == [w for block in blocks for w in block][:10]
    assert blocks[1] == philox.philox4x32_10((0, 0, 1, 0), (7, 0))  # 2**64: the carry


#: every (dist, a, b) the makers use, and odd sizes so that the last pair is half used
CASES = [("uniform", -2.0, 3.0), ("uniform", 0.0, 1.0), ("normal", 1.5, 2.0), ("bernoulli", 0.3, 0)]
DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int8", "uint8", "bool"]


@pytest.mark.parametrize(("dist", "a", "b"), CASES)
@pytest.mark.parametrize("dtype_name", DTYPES)
def test_backend_samples_equal_the_reference_bit_for_bit(device, dist, a, b, dtype_name):
    backend = get_backend(device)
    dtype = tg.as_dtype(dtype_name)
    if dtype not in backend.dtypes:
        pytest.skip(f"{device} does not store {dtype_name}")
    size, seed, counter = 301, 2**63 + 12345, 2**64 - 3  # the counter wraps its low half
    buffer = backend.random(dist, size, dtype, seed, float(a), float(b), counter)
    got = to_numpy(wrap(backend, buffer, (size,), dtype))
    want = philox.reference_samples(dist, size, dtype_name, seed, counter, float(a), float(b))
    expected = np.array(want).astype(got.dtype)
    assert got.tobytes() == expected.tobytes(), f"{device} {dist} {dtype_name}: differs"


MAKERS = {
    "rand": lambda d: tg.rand(5, 7, device=d),
    "randn": lambda d: tg.randn(1001, device=d),
    "randn float64": lambda d: tg.randn(33, dtype=tg.float64, device=d),
    "randint": lambda d: tg.randint(3, 1000, (50,), device=d),
    "randperm": lambda d: tg.randperm(40, device=d),
    "dropout mask": lambda d: tg.nn.functional.dropout(tg.ones(64, device=d), 0.5),
}


@pytest.mark.parametrize("maker", MAKERS, ids=list(MAKERS))
def test_a_seed_gives_the_same_numbers_on_every_device(maker):
    results = {}
    for device in DEVICES:
        tg.manual_seed(2024)
        first = MAKERS[maker](device).numpy()
        second = MAKERS[maker](device).numpy()  # the generator moved on: new numbers
        assert first.tobytes() != second.tobytes()
        results[device] = first.tobytes() + second.tobytes()
    assert len(set(results.values())) == 1, f"{maker}: devices disagree: {list(results)}"


def test_consecutive_calls_take_consecutive_counter_blocks():
    tg.manual_seed(5)
    tg.rand(3)  # 2 blocks
    got = tg.randn(4, dtype=tg.float64).numpy().tolist()
    assert got == philox.reference_samples("normal", 4, "float64", 5, 2, 0.0, 1.0)
    assert tg.get_rng_state() == (5, 4)


def test_generator_objects_are_separate_streams():
    tg.manual_seed(1)
    expected = tg.rand(6).numpy()
    g = tg.Generator().manual_seed(1)
    tg.manual_seed(99)
    assert tg.rand(6, generator=g).numpy().tobytes() == expected.tobytes()
    assert tg.get_rng_state() == (99, 0), "a private generator must not move the default one"
    state = g.get_state()
    again = tg.Generator().set_state(state)
    assert (
        tg.randn(5, generator=g).numpy().tobytes() == tg.randn(5, generator=again).numpy().tobytes()
    )


def test_seed_range_and_negative_seeds():
    assert tg.manual_seed(-1).initial_seed() == 2**64 - 1  # wraps, as in PyTorch
    with pytest.raises(ValueError, match="out of range"):
        tg.manual_seed(2**64)
    with pytest.raises(TypeError, match="Generator"):
        tg.rand(2, generator=5)


def test_next_seed_follows_manual_seed():
    tg.manual_seed(3)
    a = [tg.next_seed(), tg.next_seed()]
    tg.manual_seed(3)
    assert [tg.next_seed(), tg.next_seed()] == a and a[0] != a[1]
    assert all(0 <= s < 2**63 for s in a)


# ------------------------------------------------------------------- randint, randperm
@pytest.mark.parametrize(
    ("call", "low", "high", "shape"),
    [
        (lambda: tg.randint(10, (3, 4)), 0, 10, (3, 4)),
        (lambda: tg.randint(-5, 5, (100,)), -5, 5, (100,)),
        (lambda: tg.randint(7, size=(2,)), 0, 7, (2,)),
        (lambda: tg.randint(low=2, high=4, size=[50]), 2, 4, (50,)),
        (lambda: tg.randint(3, 9, size=(5,)), 3, 9, (5,)),
    ],
)
def test_randint_takes_pytorch_signatures(call, low, high, shape):
    out = call()
    assert out.shape == shape and out.dtype is tg.int64
    values = out.numpy()
    assert values.min() >= low and values.max() < high


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: tg.randint(10), TypeError, r"randint\(high, size\)"),
        (lambda: tg.randint(1, 2, 3), TypeError, "expected"),
        (lambda: tg.randint(5, 5, (2,)), ValueError, "empty range"),
        (lambda: tg.randint(2.5, (2,)), TypeError, "randint"),
    ],
)
def test_randint_refuses_bad_arguments_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_randint_covers_its_range_evenly(device):
    tg.manual_seed(0)
    counts = np.bincount(tg.randint(4, (40_000,), device=device).numpy(), minlength=4)
    assert counts.shape == (4,) and np.all(np.abs(counts - 10_000) < 500), counts


def test_randperm_is_a_permutation(device):
    tg.manual_seed(0)
    order = tg.randperm(100, device=device).numpy()
    assert sorted(order.tolist()) == list(range(100)) and order.tolist() != list(range(100))
    assert tg.randperm(0, device=device).shape == (0,)
    assert tg.randperm(1, device=device).tolist() == [0]


# ------------------------------------------------------------------ the spec's maths
@given(st.floats(min_value=2.0**-60, max_value=1.0))
def test_log_unit_is_accurate(w):
    assert math.isclose(philox.log_unit(w), math.log(w), rel_tol=2e-15, abs_tol=1e-300)


@given(st.integers(min_value=0, max_value=2**53 - 1))
def test_sincos_turn_is_accurate(k):
    u = k / 2**53  # the spec's unit numbers are multiples of 2**-53
    cos, sin = philox.sincos_turn(u)
    assert abs(cos - math.cos(2 * math.pi * u)) < 2e-15
    assert abs(sin - math.sin(2 * math.pi * u)) < 2e-15


def test_reference_normals_are_standard():
    values = np.array(philox.reference_doubles("normal", 20_000, 11, 0, 0.0, 1.0))
    # standard errors: 0.007 for the mean, 0.005 for the std
    assert abs(values.mean()) < 0.04 and abs(values.std() - 1.0) < 0.03


def test_generate_is_seeded_by_manual_seed():
    gpt = pytest.importorskip("tinygpt.gpt")
    config = gpt.GPTConfig(block_size=8, vocab_size=11, n_layer=1, n_head=2, n_embd=8)
    tg.manual_seed(0)
    model = gpt.GPT(config)
    idx = tg.tensor([[1, 2]])
    tg.manual_seed(7)
    first = model.generate(idx, 6).tolist()
    tg.manual_seed(7)
    assert model.generate(idx, 6).tolist() == first
