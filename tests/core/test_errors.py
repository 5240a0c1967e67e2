"""Errors that teach: typed exceptions whose messages name the op, what it got, and a fix."""

from __future__ import annotations

import re

import pytest

import tinygpt as tg
import tinygpt.errors


def test_exception_hierarchy():
    errors = tinygpt.errors
    # fmt: off
    for name, base in [
        ("ShapeError",         ValueError),
        ("DTypeError",         TypeError),
        ("DeviceError",        RuntimeError),
        ("BackendError",       Exception),
        ("SerializationError", ValueError),
    ]:
        # fmt: on
        cls = getattr(errors, name)
        assert issubclass(cls, errors.TinyGPTError)
        assert issubclass(cls, base)
        assert getattr(tg, name) is cls  # re-exported
    assert tg.TinyGPTError is errors.TinyGPTError


# --- shapes -----------------------------------------------------------------------------------

# fmt: off
SHAPE_ERRORS = [
    # what                      shapes           call                        op names
    ("add",                     (2, 3), (4,),    lambda a, b: a + b,         ("add", "+")),
    ("sub",                     (2, 3), (3, 2),  lambda a, b: a - b,         ("sub", "-")),
    ("mul",                     (5,), (4,),      lambda a, b: a * b,         ("mul", "*")),
    ("maximum",                 (2, 3), (2,),    lambda a, b: tg.maximum(a, b), ("maximum",)),
    ("where",                   (2, 3), (3, 3),  lambda a, b: tg.where(a > 0, a, b), ("where",)),
]
# fmt: on


@pytest.mark.parametrize(
    "what, shape_a, shape_b, call, names", SHAPE_ERRORS, ids=[s[0] for s in SHAPE_ERRORS]
)
def test_broadcast_mismatch_names_the_op_and_both_shapes(
    what, shape_a, shape_b, call, names, device
):
    a = tg.ones(shape_a, device=device)
    b = tg.ones(shape_b, device=device)
    with pytest.raises(tg.ShapeError) as info:
        call(a, b)
    message = str(info.value)
    assert any(name in message for name in names), message
    assert str(shape_a) in message and str(shape_b) in message, message
    assert isinstance(info.value, ValueError)


# fmt: off
MATMUL_ERRORS = [
    # shape a         shape b
    ((4, 3),          (5, 2)),
    ((3,),            (4,)),
    ((2, 3),          (4,)),
    ((2, 3, 4),       (3, 5, 2)),  # inner dims agree (4 vs 5 do not)
    ((2, 3, 4),       (3, 4, 2)),  # batch dims 2 and 3 do not broadcast
]
# fmt: on


@pytest.mark.parametrize("shape_a, shape_b", MATMUL_ERRORS, ids=str)
def test_matmul_mismatch_names_both_shapes(shape_a, shape_b, device):
    a = tg.ones(shape_a, device=device)
    b = tg.ones(shape_b, device=device)
    with pytest.raises(tg.ShapeError) as info:
        a @ b
    message = str(info.value)
    assert "matmul" in message
    assert str(shape_a) in message and str(shape_b) in message, message


def test_matmul_of_a_0d_tensor_is_a_shape_error(device):
    with pytest.raises(tg.ShapeError, match="matmul"):
        tg.ones((), device=device) @ tg.ones(3, device=device)


# fmt: off
OTHER_SHAPE_ERRORS = [
    # name            call on x of shape (2, 3)                              words in the message
    ("reshape",       lambda x: x.reshape(5, 5),                             ["reshape", "(2, 3)"]),
    ("reshape -1 -1", lambda x: x.reshape(-1, -1),                           ["reshape"]),
    ("view",          lambda x: x.view(4, 2),                                ["(2, 3)"]),
    ("permute",       lambda x: x.permute(0, 0),                             ["permute"]),
    ("expand",        lambda x: x.expand(3, 4),                              ["(2, 3)", "(3, 4)"]),
    ("cat",           lambda x: tg.cat([x, tg.ones(2, 4, device=x.device)]), ["cat"]),
    ("stack",         lambda x: tg.stack([x, tg.ones(3, 2, device=x.device)]), ["stack"]),
    ("split",         lambda x: x.split([1, 1], dim=1),                      ["split"]),
    ("gradient",      lambda x: x.backward(gradient=tg.ones(3, 2, device=x.device)),
     ["gradient"]),
]
# fmt: on


@pytest.mark.parametrize(
    "name, call, words", OTHER_SHAPE_ERRORS, ids=[e[0] for e in OTHER_SHAPE_ERRORS]
)
def test_other_shape_errors(name, call, words, device):
    x = tg.ones(2, 3, requires_grad=True, device=device) * 1
    with pytest.raises(ValueError) as info:  # ShapeError is a ValueError
        call(x)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_dim_out_of_range_names_the_dim(device):
    x = tg.ones(2, 3, device=device)
    with pytest.raises((IndexError, tg.ShapeError)) as info:
        x.sum(dim=2)
    assert "2" in str(info.value)


# --- dtypes -----------------------------------------------------------------------------------


def test_indexing_with_a_float_tensor_names_the_dtype(device):
    x = tg.ones(4, device=device)
    index = tg.tensor([0.0, 1.0], device=device)
    with pytest.raises((TypeError, IndexError)) as info:
        x[index]
    assert "float32" in str(info.value)


def test_indexing_with_a_float_scalar_is_rejected(device):
    with pytest.raises((TypeError, IndexError)):
        tg.ones(4, device=device)[1.0]


def test_matmul_with_different_dtypes_names_both(device):
    a = tg.ones(2, 2, dtype=tg.int64, device=device)
    b = tg.ones(2, 2, device=device)
    try:
        out = a @ b
    except tg.DTypeError as error:
        assert "int64" in str(error) and "float32" in str(error)
    else:  # promoting like the elementwise ops is acceptable too
        assert out.dtype == tg.float32


def test_requires_grad_on_an_integer_tensor_is_refused(device):
    with pytest.raises((RuntimeError, TypeError)) as info:
        tg.tensor([1, 2], requires_grad=True, device=device)
    assert "int64" in str(info.value)


def test_unknown_dtype_lists_the_known_ones(device):
    with pytest.raises((TypeError, tg.DTypeError)) as info:
        tg.zeros(2, dtype="float8", device=device)
    assert "float8" in str(info.value) and "float32" in str(info.value)


def test_logical_ops_need_bool(device):
    with pytest.raises((TypeError, RuntimeError)):
        tg.ones(2, device=device) & tg.ones(2, device=device)


# --- devices ----------------------------------------------------------------------------------


def test_mixing_devices_names_both_and_suggests_to(register_backend, device):
    register_backend("fake2")
    a = tg.ones(3, device=device)
    b = tg.ones(3, device="fake2")
    for call in (
        lambda: a + b,
        lambda: b * a,
        lambda: tg.where(a > 0, a, b),
        lambda: a.reshape(1, 3) @ b.reshape(3, 1),
        lambda: tg.cat([a, b]),
    ):
        with pytest.raises(tg.DeviceError) as info:
            call()
        message = str(info.value)
        assert str(tg.device(device)) in message and "fake2" in message, message
        assert ".to(" in message, message
        assert isinstance(info.value, RuntimeError)


def test_indexing_with_an_index_on_another_device(register_backend, device):
    """torch moves an index tensor to the data's device; refusing with a DeviceError is fine."""
    register_backend("fake2")
    x = tg.arange(3, device=device) * 10
    try:
        out = x[tg.tensor([2, 0], device="fake2")]
    except tg.DeviceError as error:
        assert "fake2" in str(error)
        return
    assert str(out.device) == str(tg.device(device))
    assert out.tolist() == [20, 0]


def test_unknown_device_lists_the_backends_and_how_to_install(device):
    with pytest.raises(tg.DeviceError) as info:
        tg.tensor([1.0], device="nope")
    message = str(info.value)
    assert "nope" in message
    assert "fix:" in message
    # never a package name made from what was typed (cuda may say how to add CuPy)
    assert all("nope" not in hint for hint in re.findall(r"pip install (\S+)", message))
    assert "pip install" not in message.split("fix:")[-1]
    for row in tg.backends():
        assert row.name in message


@pytest.mark.parametrize("spec", ["", "cuda:x", "a b", 3.5])
def test_malformed_device_names(spec):
    with pytest.raises(tg.DeviceError):
        tg.device(spec)


def test_device_index_out_of_range(device):
    with pytest.raises(tg.DeviceError) as info:
        tg.zeros(1, device=f"{tg.device(device).type}:99")
    assert "99" in str(info.value)


# --- autograd ---------------------------------------------------------------------------------


def test_backward_on_a_non_scalar_without_gradient(device):
    x = tg.ones(2, 3, requires_grad=True, device=device)
    with pytest.raises(RuntimeError) as info:
        (x * 2).backward()
    assert "gradient" in str(info.value)
    assert "(2, 3)" in str(info.value)


def test_backward_on_a_tensor_that_does_not_require_grad(device):
    with pytest.raises(RuntimeError, match="requires_grad|require grad"):
        tg.ones(2, device=device).sum().backward()


def test_backward_twice_without_retain_graph(device):
    x = tg.ones(2, requires_grad=True, device=device)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
