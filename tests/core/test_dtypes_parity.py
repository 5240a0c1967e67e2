"""PyTorch's dtypes: the short names, bfloat16 (stored, computed in float32) and int8/uint8.

Every test runs on every backend that stores the dtype (pure stores neither). The bfloat16
references are NumPy with ml_dtypes: compute in float32, round to bfloat16 once, which is
what the backends promise.
"""

from __future__ import annotations

import json
import struct

import ml_dtypes
import numpy as np
import pytest

import tinygpt as tg
from tinygpt.autograd import gradcheck

BF16 = np.dtype(ml_dtypes.bfloat16)


def _needs(device: str, *dtypes: tg.DType) -> None:
    backend = tg.get_backend(device)
    missing = [d.name for d in dtypes if d not in backend.dtypes]
    if missing:
        pytest.skip(f"{device} does not store {missing}")


# ----------------------------------------------------------------------- names
@pytest.mark.parametrize(
    ("alias", "dtype"),
    [
        ("float", tg.float32),
        ("double", tg.float64),
        ("half", tg.float16),
        ("long", tg.int64),
        ("int", tg.int32),
        ("byte", tg.uint8),
        ("char", tg.int8),
    ],
)
def test_pytorch_short_names(alias, dtype):
    assert getattr(tg, alias) is dtype
    assert tg.as_dtype(alias) is dtype
    assert tg.zeros(2, dtype=getattr(tg, alias)).dtype is dtype


@pytest.mark.parametrize(
    ("method", "dtype"),
    [("long", tg.int64), ("int", tg.int32), ("half", tg.float16), ("double", tg.float64)],
)
def test_tensor_cast_methods(device, method, dtype):
    _needs(device, dtype)
    x = tg.tensor([1.75, -2.5], device=device)
    got = getattr(x, method)()
    assert got.dtype is dtype
    np.testing.assert_array_equal(got.numpy(), np.array([1.75, -2.5]).astype(dtype.numpy_name))


NAMES = ["bool", "uint8", "int8", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


@pytest.mark.oracle
@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("b", NAMES)
def test_promotion_matches_pytorch(a, b):
    torch = pytest.importorskip("torch")
    want = str(torch.promote_types(getattr(torch, a), getattr(torch, b))).removeprefix("torch.")
    got = tg.promote_types(tg.as_dtype(a), tg.as_dtype(b)).name
    if want == "int16":  # uint8 with int8: tinygpt has no int16 and goes to int32
        want = "int32"
    assert got == want, f"{a} + {b}: {got}, PyTorch says {want}"


# ------------------------------------------------------------------- int8 / uint8
@pytest.mark.parametrize("name", ["int8", "uint8"])
def test_small_ints_round_trip_numpy_and_keep_their_dtype(device, name):
    dtype = tg.as_dtype(name)
    _needs(device, dtype)
    data = np.array([[0, 1, 7], [100, 127, 5]], dtype=name)
    x = tg.tensor(data, device=device)
    assert x.dtype is dtype and x.numpy().dtype == data.dtype
    np.testing.assert_array_equal(x.numpy(), data)
    np.testing.assert_array_equal(tg.full((2,), 9, dtype=dtype, device=device).numpy(), [9, 9])
    with pytest.raises(tg.DTypeError, match="out of range"):
        tg.full((2,), 300, dtype=dtype, device=device)


@pytest.mark.parametrize("name", ["int8", "uint8"])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "maximum", "neg"])
def test_small_int_arithmetic_wraps_as_numpy(device, name, op):
    _needs(device, tg.as_dtype(name))
    a = np.array([120, 3, 0, 77, 250 if name == "uint8" else -100], dtype=name)
    b = np.array([10, 100, 1, 77, 9], dtype=name)
    ta, tb = tg.tensor(a, device=device), tg.tensor(b, device=device)
    if op == "neg":
        got, want = (-ta).numpy(), np.negative(a)
    else:
        got = getattr(tg, op)(ta, tb).numpy() if op == "maximum" else getattr(ta, f"__{op}__")(tb)
        got = got if isinstance(got, np.ndarray) else got.numpy()
        want = getattr(np, {"add": "add", "sub": "subtract", "mul": "multiply"}.get(op, op))(a, b)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["int8", "uint8"])
def test_small_ints_index_reduce_and_compare(device, name):
    dtype = tg.as_dtype(name)
    _needs(device, dtype)
    data = np.arange(24, dtype=name).reshape(4, 6) * 5  # uint8 wraps past 255
    x = tg.tensor(data, device=device)
    rows = tg.tensor([3, 0, 3], device=device)
    np.testing.assert_array_equal(x[rows].numpy(), data[[3, 0, 3]])
    np.testing.assert_array_equal(x[x > 50].numpy(), data[data > 50])
    np.testing.assert_array_equal(x[1:, ::2].numpy(), data[1:, ::2])
    np.testing.assert_array_equal(x.max(dim=1).values.numpy(), data.max(axis=1))
    np.testing.assert_array_equal(x.argmax(dim=0).numpy(), data.argmax(axis=0))
    assert x.sum().item() == int(data.astype(np.int64).sum())  # sums in int64, as PyTorch
    y = x.clone()
    y[0] = 9
    assert y.numpy()[0].tolist() == [9] * 6 and x.numpy()[0].tolist() == data[0].tolist()


@pytest.mark.parametrize("src", ["int8", "uint8", "bfloat16", "float32", "int64", "bool"])
@pytest.mark.parametrize("dst", ["int8", "uint8", "bfloat16", "float32", "int64", "bool"])
def test_casts_between_new_and_old_dtypes(device, src, dst):
    _needs(device, tg.as_dtype(src), tg.as_dtype(dst))
    values = [0, 1, 2, 5, 100, 127]  # in range everywhere: C leaves the rest undefined
    data = np.array(values).astype(np.dtype(BF16 if src == "bfloat16" else src))
    want = data.astype(BF16 if dst == "bfloat16" else dst)
    got = tg.tensor(data, device=device).to(tg.as_dtype(dst)).numpy()
    assert got.tobytes() == want.tobytes(), f"{src} -> {dst}: {got} != {want}"


# ------------------------------------------------------------------------ bfloat16
def _bits(x: np.ndarray) -> list[int]:
    return x.view(np.uint16).tolist()


def test_bfloat16_cast_rounds_like_ml_dtypes(device):
    _needs(device, tg.bfloat16)
    # ties to even both ways, the largest finite, overflow to inf, subnormals, nan, -0.0
    words = [0x3F808000, 0x3F818000, 0x3F80C000, 0x7F7FFFFF, 0x7F7F8000, 0x00000001, 0x80000000]
    special = np.array(words, dtype=np.uint32).view(np.float32)
    rng = np.random.default_rng(0)
    data = np.concatenate([special, [np.inf, -np.inf, np.nan], rng.normal(0, 1e3, 500)])
    data = data.astype(np.float32)
    got = tg.tensor(data, device=device).to(tg.bfloat16).numpy()
    assert _bits(got) == _bits(data.astype(BF16))
    back = tg.tensor(got, device=device).float().numpy()
    np.testing.assert_array_equal(back, got.astype(np.float32))  # widening is exact


UNARY = ["exp", "tanh", "sqrt", "sigmoid", "__neg__", "abs", "log"]


@pytest.mark.parametrize("op", UNARY)
def test_bfloat16_unary_computes_in_float32(device, op):
    _needs(device, tg.bfloat16)
    data = np.linspace(0.1, 4.0, 40).astype(BF16)
    got = getattr(tg.tensor(data, device=device), op)()
    assert got.dtype is tg.bfloat16
    want = getattr(tg.tensor(data.astype(np.float32), device=device), op)().numpy().astype(BF16)
    # the backend's float32 kernel, rounded once: at most one bfloat16 step from that
    np.testing.assert_allclose(got.numpy().astype(np.float32), want.astype(np.float32), rtol=8e-3)


def test_bfloat16_matmul_sum_softmax_layer_norm(device):
    _needs(device, tg.bfloat16)
    rng = np.random.default_rng(1)
    a = rng.normal(size=(5, 8)).astype(BF16)
    b = rng.normal(size=(8, 3)).astype(BF16)
    ta, tb = tg.tensor(a, device=device), tg.tensor(b, device=device)
    wide_a, wide_b = a.astype(np.float32), b.astype(np.float32)
    checks = {
        "matmul": ((ta @ tb), wide_a @ wide_b),
        "sum": (ta.sum(dim=1), wide_a.sum(axis=1)),
        "softmax": (ta.softmax(dim=-1), np.exp(wide_a) / np.exp(wide_a).sum(-1, keepdims=True)),
        "layer_norm": (
            tg.nn.functional.layer_norm(ta, (8,)),
            (wide_a - wide_a.mean(-1, keepdims=True))
            / np.sqrt(wide_a.var(-1, keepdims=True) + 1e-5),
        ),
        "gelu": (tg.nn.functional.gelu(ta), tg.nn.functional.gelu(ta.float()).numpy()),
    }
    for name, (got, want) in checks.items():
        assert got.dtype is tg.bfloat16, name
        np.testing.assert_allclose(
            got.numpy().astype(np.float32), want, rtol=1.6e-2, atol=2e-2, err_msg=name
        )


def test_bfloat16_backward_follows_float64(device):
    _needs(device, tg.bfloat16)
    rng = np.random.default_rng(2)
    data = rng.normal(size=(4, 6))
    x16 = tg.tensor(data.astype(BF16), device=device, requires_grad=True)
    x64 = tg.tensor(data.astype(BF16).astype(np.float64), device=device, requires_grad=True)
    for x in (x16, x64):
        (x.tanh() * x).softmax(dim=-1).pow(2).sum().backward()
    assert x16.grad.dtype is tg.bfloat16
    np.testing.assert_allclose(
        x16.grad.numpy().astype(np.float64), x64.grad.numpy(), rtol=5e-2, atol=2e-2
    )
    # and the float64 formula itself is right: the finite-difference check
    assert gradcheck(
        lambda t: (t.tanh() * t).softmax(dim=-1).pow(2).sum(), [x64.detach().requires_grad_()]
    )


def test_bfloat16_random_and_dropout(device):
    _needs(device, tg.bfloat16)
    tg.manual_seed(0)
    u = tg.rand(1000, dtype=tg.bfloat16, device=device).numpy().astype(np.float32)
    assert u.min() >= 0.0 and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.05
    kept = tg.nn.functional.dropout(tg.ones(1000, dtype=tg.bfloat16, device=device), 0.25)
    assert kept.dtype is tg.bfloat16 and set(np.unique(kept.numpy().astype(np.float32))) <= {
        0.0,
        np.float32(np.array(1 / 0.75).astype(BF16)),
    }


def test_bfloat16_training_step(device):
    _needs(device, tg.bfloat16)
    tg.manual_seed(0)
    w = tg.randn(4, 2, dtype=tg.bfloat16, device=device, requires_grad=True)
    opt = tg.optim.AdamW([w], lr=0.1)
    before = w.detach().float().numpy()
    x = tg.randn(3, 4, dtype=tg.bfloat16, device=device)
    (x @ w).pow(2).mean().backward()
    opt.step()
    after = w.detach().float().numpy()
    assert w.dtype is tg.bfloat16 and np.all(np.abs(after - before) > 0.02), after - before


# ------------------------------------------------------------------- save / load
@pytest.mark.parametrize(("name", "code"), [("bfloat16", "BF16"), ("int8", "I8"), ("uint8", "U8")])
def test_save_and_load_new_dtypes(device, tmp_path, name, code):
    dtype = tg.as_dtype(name)
    _needs(device, dtype)
    data = np.array([[0, 1, 2], [3, 100, 127]]).astype(BF16 if name == "bfloat16" else name)
    path = tmp_path / "t.safetensors"
    tg.save({"t": tg.tensor(data, device=device)}, path)
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    assert json.loads(raw[8 : 8 + length])["t"]["dtype"] == code
    back = tg.load(path, device=device)["t"]
    assert back.dtype is dtype and back.numpy().tobytes() == data.tobytes()
    safetensors = pytest.importorskip("safetensors.numpy")
    theirs = safetensors.load_file(str(path))["t"]  # HF's reader agrees
    assert theirs.tobytes() == data.tobytes() and theirs.dtype.itemsize == dtype.itemsize


# ------------------------------------------------------------------ against PyTorch
@pytest.mark.oracle
def test_bfloat16_and_small_ints_match_pytorch(device):
    torch = pytest.importorskip("torch")
    _needs(device, tg.bfloat16, tg.int8, tg.uint8)
    rng = np.random.default_rng(3)
    floats = np.concatenate([rng.normal(0, 100, 300), [np.inf, -np.inf, np.nan, 3e38, 1e-40]])
    floats = floats.astype(np.float32)
    ours = tg.tensor(floats, device=device).to(tg.bfloat16).numpy().view(np.uint16)
    theirs = torch.from_numpy(floats).to(torch.bfloat16).view(torch.int16).numpy()
    nan = np.isnan(floats)  # NaN bits differ (ml_dtypes 0x7fc0, PyTorch's loop 0xffff)
    assert ours[~nan].tolist() == theirs.view(np.uint16)[~nan].tolist()
    assert np.all((ours[nan] & 0x7F80) == 0x7F80) and np.all(ours[nan] & 0x7F)
    for name in ("int8", "uint8"):
        a = rng.integers(0, 120, 50).astype(name)
        b = rng.integers(0, 120, 50).astype(name)
        ta, tb = tg.tensor(a, device=device), tg.tensor(b, device=device)
        pa, pb = torch.from_numpy(a), torch.from_numpy(b)
        for got, want in [(ta + tb, pa + pb), (ta * tb, pa * pb), (ta - tb, pa - pb)]:
            assert got.numpy().tolist() == want.numpy().tolist(), name
        assert (ta + 1.5).dtype.name == str((pa + 1.5).dtype).removeprefix("torch.")
