# ruff: noqa: E501 - the case table reads best one case per line
"""The last everyday names (ops/misc_more.py, functional_inplace.py, tensor_misc_more.py,
creation_more.py): forward against NumPy or `math`, backward against float64 finite
differences, on every backend."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.errors import DTypeError, ShapeError

RNG = np.random.default_rng(11)
A = RNG.uniform(-1.0, 1.0, size=(3, 4))
B = RNG.uniform(0.5, 1.5, size=(3, 4))
BATCH1 = RNG.uniform(-1.0, 1.0, size=(2, 3, 2))
BATCH2 = RNG.uniform(-1.0, 1.0, size=(2, 2, 4))


def _t(a, device, grad=False):
    return tg.tensor(a, dtype=tg.float64, device=device, requires_grad=grad)


def _mvlgamma(x, p):
    return sum(math.lgamma(x - i / 2) for i in range(p)) + p * (p - 1) / 4 * math.log(math.pi)


# fmt: off
# (name, tinygpt function of float64 tensors, numpy reference, inputs)
CASES = [
    ("addcdiv",        lambda a, b: tg.addcdiv(a, a, b, value=0.5),   lambda a, b: a + 0.5 * a / b, [A, B]),
    ("addcdiv_m",      lambda a, b: a.addcdiv(b, b + 1),             lambda a, b: a + b / (b + 1), [A, B]),
    ("addcmul",        lambda a, b: tg.addcmul(a, a, b, value=2),     lambda a, b: a + 2 * a * b, [A, B]),
    ("addbmm",         lambda a, x, y: tg.addbmm(a, x, y, beta=0.5, alpha=2),
                       lambda a, x, y: 0.5 * a + 2 * (x @ y).sum(0), [A, BATCH1, BATCH2]),
    ("rsub",           lambda a: tg.rsub(a, 2.0, alpha=3),           lambda a: 2.0 - 3 * a, [A]),
    ("rsub_tensor",    lambda a, b: tg.rsub(a, b),                   lambda a, b: b - a, [A, B]),
    ("adjoint",        lambda a: a.adjoint(),                        lambda a: a.T, [A]),
    ("ldexp",          lambda a: tg.ldexp(a, tg.tensor([1, -2, 0, 3], device=a.device)),
                       lambda a: np.ldexp(a, [1, -2, 0, 3]), [A]),
    ("mvlgamma",       lambda b: tg.mvlgamma(b + 1, 3),              lambda b: np.vectorize(_mvlgamma)(b + 1, 3), [B]),
    ("sum_to_size",    lambda a: a.sum_to_size(1, 4),                lambda a: a.sum(0, keepdims=True), [A]),
    ("sum_to_size2",   lambda a: a.reshape(3, 1, 4).expand(3, 2, 4).sum_to_size((2, 1)),
                       lambda a: np.broadcast_to(a.reshape(3, 1, 4), (3, 2, 4)).sum((0, 2))[:, None], [A]),
    ("select_scatter", lambda a, b: tg.select_scatter(a, b[0], 0, 2),
                       lambda a, b: np.concatenate([a[:2], b[:1]]), [A, B]),
    ("slice_scatter",  lambda a, b: tg.slice_scatter(a, b[:, :2], 1, 0, 4, 2),
                       lambda a, b: np.stack([b[:, 0], a[:, 1], b[:, 1], a[:, 3]], 1), [A, B]),
    ("diagonal_scat",  lambda a, b: a.diagonal_scatter(b[0, :3], 1),
                       lambda a, b: np.where(np.eye(3, 4, 1) == 1, np.pad(np.diag(b[0, :3]), ((0, 0), (1, 0))), a), [A, B]),
    ("nanmedian",      lambda a: tg.nanmedian(a.masked_fill(a > 0.5, math.nan), 1).values,
                       lambda a: _lower_nanmedian(np.where(a > 0.5, np.nan, a)), [A]),
    ("pairwise",       lambda a, b: tg.pairwise_distance(a, b),      lambda a, b: np.linalg.norm(a - b + 1e-6, axis=-1), [A, B]),
    ("pairwise_p1",    lambda a, b: tg.pairwise_distance(a, b, 1, keepdim=True),
                       lambda a, b: np.abs(a - b + 1e-6).sum(-1, keepdims=True), [A, B]),
    ("cosine_sim",     lambda a, b: tg.cosine_similarity(a, b),
                       lambda a, b: (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)), [A, B]),
    ("pdist",          lambda a: tg.pdist(a),
                       lambda a: np.array([np.linalg.norm(a[i] - a[j]) for i in range(3) for j in range(i + 1, 3)]), [A]),
]
# fmt: on


def _lower_nanmedian(a):
    out = []
    for row in a:
        kept = np.sort(row[~np.isnan(row)])
        out.append(kept[(len(kept) - 1) // 2] if len(kept) else np.nan)
    return np.array(out)


@pytest.mark.parametrize("name, fn, ref, inputs", CASES, ids=[c[0] for c in CASES])
def test_forward_matches_numpy(device, name, fn, ref, inputs):
    got = fn(*[_t(a, device) for a in inputs])
    np.testing.assert_allclose(got.numpy(), ref(*inputs), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, fn, ref, inputs", CASES, ids=[c[0] for c in CASES])
def test_backward_matches_finite_differences(device, name, fn, ref, inputs):
    if name == "nanmedian":
        pytest.skip("the nan mask is built from the input")
    args = [_t(a, device, grad=True) for a in inputs]
    assert tg.autograd.gradcheck(fn, args)


def test_integer_helpers(device):
    a = tg.tensor([12, 0, -9, 7, 0], device=device)
    b = tg.tensor([18, 5, 6, 0, 0], device=device)
    assert tg.gcd(a, b).tolist() == [math.gcd(x, y) for x, y in zip(a.tolist(), b.tolist())]
    assert tg.lcm(a, b).tolist() == [math.lcm(x, y) for x, y in zip(a.tolist(), b.tolist())]
    with pytest.raises(DTypeError, match="gcd"):
        tg.gcd(a.float(), b)
    rows, cols = tg.unravel_index(tg.tensor([5, 7, -1], device=device), (2, 4))
    assert rows.tolist() == [1, 1, 1] and cols.tolist() == [1, 3, 3]
    with pytest.raises(IndexError, match="unravel_index"):
        tg.unravel_index(tg.tensor([8], device=device), (2, 4))
    assert tg.argwhere(tg.tensor([[0, 3], [2, 0]], device=device)).tolist() == [[0, 1], [1, 0]]


def test_windows_match_their_formulas(device):
    n = 6
    for periodic in (True, False):
        d = n if periodic else n - 1
        i = np.arange(n)
        np.testing.assert_allclose(
            tg.hann_window(n, periodic, device=device).numpy(),
            0.5 - 0.5 * np.cos(2 * np.pi * i / d),
            atol=1e-7,
        )
        np.testing.assert_allclose(
            tg.hamming_window(n, periodic).numpy(),
            0.54 - 0.46 * np.cos(2 * np.pi * i / d),
            atol=1e-7,
        )
        blackman = 0.42 - 0.5 * np.cos(2 * np.pi * i / d) + 0.08 * np.cos(4 * np.pi * i / d)
        np.testing.assert_allclose(tg.blackman_window(n, periodic).numpy(), blackman, atol=1e-7)
        np.testing.assert_allclose(
            tg.bartlett_window(n, periodic).numpy(), 1 - np.abs(2 * i / d - 1), atol=1e-7
        )
    assert tg.hann_window(1).tolist() == [1.0]


def test_in_place_function_forms(device):
    x = tg.tensor([0.0, 4.0], device=device)
    assert tg.sqrt_(x) is x and x.tolist() == [0.0, 2.0]
    assert tg.clamp_(x, 1.0, 1.5).tolist() == [1.0, 1.5]
    assert tg.zero_(x).tolist() == [0.0, 0.0]
    assert tg.fill(x, 3.0).tolist() == [3.0, 3.0] and x.tolist() == [0.0, 0.0]
    assert tg.atan_(tg.tensor([1.0], dtype=tg.float64, device=device)).item() == pytest.approx(
        math.pi / 4
    )
    assert tg.typename(x) == "torch.FloatTensor" and tg.typename(3) == "int"
    assert tg.get_default_device() == tg.default_device()


def test_constructors(device):
    assert tg.range(1, 4).tolist() == [1.0, 2.0, 3.0, 4.0]
    assert tg.range(0, 1, 0.25, device=device).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    np.testing.assert_allclose(tg.logspace(0, 2, 3, device=device).numpy(), [1.0, 10.0, 100.0])
    assert tg.logspace(0, 3, 4, base=2).tolist() == [1.0, 2.0, 4.0, 8.0]
    s = tg.scalar_tensor(3, device=device)
    assert s.dtype == tg.float32 and s.shape == () and s.item() == 3.0
    packed = struct.pack("3f", 1.5, -2.0, 0.25)
    assert tg.frombuffer(packed, dtype=tg.float32).tolist() == [1.5, -2.0, 0.25]
    assert tg.frombuffer(packed, dtype=tg.float32, count=1, offset=4).tolist() == [-2.0]
    with pytest.raises(ValueError, match="frombuffer"):
        tg.frombuffer(packed, dtype=tg.float32, count=4)
    x = tg.ones(2, device=device)
    assert tg.asarray(x) is x and tg.asarray(x, copy=True) is not x
    assert tg.empty_strided((2, 3), (3, 1), device=device).shape == (2, 3)
    tg.manual_seed(0)
    draws = tg.normal(
        tg.zeros(2000, dtype=tg.float64, device=device),
        tg.full((2000,), 2.0, dtype=tg.float64, device=device),
    )
    assert abs(draws.mean().item()) < 0.2 and abs(draws.std().item() - 2.0) < 0.2
    assert tg.normal(1.0, 0.5, size=(3, 2), device=device).shape == (3, 2)
    with pytest.raises(TypeError, match="normal"):
        tg.normal(0.0, 1.0)


def test_random_fills_have_the_right_support(device):
    tg.manual_seed(1)
    x = tg.zeros(500, device=device)
    ints = x.clone().random_(3, 7)
    assert set(ints.tolist()) <= {3.0, 4.0, 5.0, 6.0}
    assert set(x.clone().random_(2).tolist()) <= {0.0, 1.0}
    geo = x.clone().geometric_(0.5)
    assert geo.min().item() >= 1.0 and geo.eq(geo.floor()).all().item()
    assert abs(geo.mean().item() - 2.0) < 0.3
    assert x.clone().log_normal_().min().item() > 0.0
    assert x.clone().cauchy_().isfinite().all().item()


def test_tensor_questions(device):
    x = tg.ones(2, 3, device=device)
    assert x.is_cpu == (device in ("cpu", "numpy"))
    assert x.nbytes == 24 and x.itemsize == 4
    assert x.conj() is x and x.real is x and x.isreal().all().item()
    assert [p.shape for p in x.split_with_sizes([1, 2], 1)] == [(2, 1), (2, 2)]
    with pytest.raises(ShapeError, match="sum_to_size"):
        x.sum_to_size(2)
    with pytest.raises(ShapeError, match="select_scatter"):
        tg.select_scatter(x, tg.ones(2, device=device), 0, 0)


INTS = np.array([-5, 12, 0, -1, 2**40, -(2**62), 7])
OTHER = np.array([3, 10, -7, -1, 2**40 + 3, 5, -(2**63)])


@pytest.mark.parametrize("op", ["and", "or", "xor"])
def test_bitwise_ops_match_numpy(device, op):
    fn = getattr(tg, f"bitwise_{op}")
    ref = getattr(np, f"bitwise_{op}")
    a, b = tg.tensor(INTS, device=device), tg.tensor(OTHER, device=device)
    np.testing.assert_array_equal(fn(a, b).numpy(), ref(INTS, OTHER))
    small = np.array([-5, 3, 127], dtype=np.int32)
    got = fn(tg.tensor(small, device=device), 6)
    assert got.dtype == tg.int32
    np.testing.assert_array_equal(got.numpy(), ref(small, np.int32(6)))
    if tg.uint8 in tg.get_backend(device).dtypes:
        bytes_ = np.array([200, 7, 255], dtype=np.uint8)
        np.testing.assert_array_equal(
            fn(
                tg.tensor(bytes_, device=device), tg.tensor(bytes_[::-1].copy(), device=device)
            ).numpy(),
            ref(bytes_, bytes_[::-1]),
        )
    masks = (
        tg.tensor([True, False, True], device=device),
        tg.tensor([True, True, False], device=device),
    )
    assert (
        fn(*masks).tolist()
        == ref(np.array([True, False, True]), np.array([True, True, False])).tolist()
    )


def test_bit_operators_and_shifts(device):
    x = tg.tensor([5, -3], device=device)
    assert (~x).tolist() == [-6, 2] and (x & 1).tolist() == [1, 1] and (x | 8).tolist() == [13, -3]
    assert (x ^ 1).tolist() == [4, -4] and (1 & x).tolist() == [1, 1]
    assert (x << 2).tolist() == [20, -12] and (x >> 1).tolist() == [2, -2]
    if tg.uint8 in tg.get_backend(device).dtypes:
        assert tg.bitwise_not(tg.tensor([0, 255], dtype=tg.uint8, device=device)).tolist() == [
            255,
            0,
        ]
    mask = tg.tensor([True, False], device=device)
    assert (~mask).tolist() == [False, True] and (mask & True).tolist() == [True, False]
    with pytest.raises(DTypeError, match="bitwise_and"):
        tg.bitwise_and(tg.ones(2, device=device), 1)


def test_frexp_vander_histogram(device):
    values = np.array(
        [0.0, 1.0, -3.0, 0.75, 1e-300, 3e300, 2.0**-1074, 7.999999, -np.inf], dtype=np.float64
    )
    mantissa, exponent = tg.frexp(tg.tensor(values, device=device))
    want_m, want_e = np.frexp(values)
    np.testing.assert_array_equal(mantissa.numpy()[:-1], want_m[:-1])
    np.testing.assert_array_equal(exponent.numpy()[:-1], want_e[:-1])
    assert exponent.dtype == tg.int32 and mantissa.tolist()[-1] == -math.inf
    v = tg.tensor([1.0, 2.0, -3.0], dtype=tg.float64, device=device)
    np.testing.assert_array_equal(tg.vander(v).numpy(), np.vander([1.0, 2.0, -3.0]))
    np.testing.assert_array_equal(
        tg.vander(v, 4, increasing=True).numpy(), np.vander([1.0, 2.0, -3.0], 4, increasing=True)
    )
    assert tg.autograd.gradcheck(
        lambda t: tg.vander(t, 3),
        [tg.tensor([0.0, 2.0], dtype=tg.float64, device=device, requires_grad=True)],
    )
    data = np.array([1.0, 2.0, 1.0, 4.0, 2.5, 9.0])
    hist, edges = tg.histogram(tg.tensor(data, device=device), 3)
    want_h, want_edges = np.histogram(data, 3)
    np.testing.assert_allclose(hist.numpy(), want_h)
    np.testing.assert_allclose(edges.numpy(), want_edges, rtol=1e-6)
    hist, _ = tg.histogram(tg.tensor(data, device=device), 4, range=(0.0, 4.0), density=True)
    np.testing.assert_allclose(
        hist.numpy(), np.histogram(data, 4, (0.0, 4.0), density=True)[0], rtol=1e-6
    )


def test_dropout(device):
    tg.manual_seed(3)
    x = tg.ones(4000, device=device)
    out = tg.dropout(x, 0.25)
    kept = (out != 0).float().mean().item()
    assert abs(kept - 0.75) < 0.05
    assert out.unique().tolist() == pytest.approx([0.0, 1.0 / 0.75])
    assert tg.dropout(x, 0.25, train=False) is x
    with pytest.raises(ValueError, match="dropout"):
        tg.dropout(x, 1.5)


# (name, tinygpt function, numpy reference): the torch.* activations and the Bessel i0
ACTIVATIONS = [
    (
        "selu",
        tg.selu,
        lambda a: 1.0507009873554805 * np.where(a > 0, a, 1.6732632423543772 * np.expm1(a)),
    ),
    ("celu", lambda t: tg.celu(t, 0.5), lambda a: np.where(a > 0, a, 0.5 * np.expm1(a / 0.5))),
    ("threshold", lambda t: tg.threshold(t, 0.1, -2.0), lambda a: np.where(a > 0.1, a, -2.0)),
    ("hardshrink", lambda t: t.hardshrink(0.3), lambda a: np.where(np.abs(a) > 0.3, a, 0.0)),
    ("rrelu_eval", tg.rrelu, lambda a: np.where(a >= 0, a, a * (1 / 8 + 1 / 3) / 2)),
    (
        "prelu",
        lambda t: tg.prelu(t, tg.tensor([0.1, 0.2, 0.3, 0.4], dtype=tg.float64, device=t.device)),
        lambda a: np.where(a >= 0, a, a * np.array([0.1, 0.2, 0.3, 0.4])),
    ),
    ("i0", lambda t: tg.i0(t * 3), lambda a: np.i0(a * 3)),
]


@pytest.mark.parametrize("name, fn, ref", ACTIVATIONS, ids=[c[0] for c in ACTIVATIONS])
def test_activations_match_numpy(device, name, fn, ref):
    np.testing.assert_allclose(fn(_t(A, device)).numpy(), ref(A), rtol=1e-12, atol=1e-14)
    assert tg.autograd.gradcheck(fn, [_t(A, device, grad=True)])


def test_i0_far_range_and_kaiser(device):
    x = np.array([-60.0, -31.0, 29.0, 45.0, 300.0])
    np.testing.assert_allclose(tg.i0(_t(x, device)).numpy(), np.i0(x), rtol=1e-13)
    np.testing.assert_allclose(
        tg.kaiser_window(6, False, 5.0, device=device).numpy(), np.kaiser(6, 5.0), rtol=1e-6
    )
    np.testing.assert_allclose(
        tg.kaiser_window(5, beta=8.0).numpy(), np.kaiser(6, 8.0)[:-1], rtol=1e-6
    )
    x = tg.tensor([-1.0, 2.0], device=device)
    assert tg.selu_(x) is x and x.tolist()[1] == pytest.approx(2.1014, abs=1e-4)
