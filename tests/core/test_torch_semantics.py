"""PyTorch semantics that everyday code relies on: view vs reshape, f-string formatting,
`np.asarray(t)`, `.data`, `.numpy()`, and `tg.nn` without importing it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tinygpt as tg


# ------------------------------------------------------------ view vs reshape
def test_view_of_a_non_viewable_tensor_raises_and_reshape_copies(device):
    x = tg.arange(6.0, device=device).reshape(2, 3)
    with pytest.raises(RuntimeError, match=r"view.*\.reshape"):
        x.T.view(6)
    flat = x.T.reshape(6)
    assert flat.tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    flat[0] = 100.0  # a copy: x is untouched
    assert x[0, 0].item() == 0.0


def test_view_shares_memory(device):
    x = tg.arange(6.0, device=device)
    v = x.view(2, 3)
    v[1, 1] = -1.0
    assert x[4].item() == -1.0
    assert x.T.contiguous().view(-1).shape == (6,)


@pytest.mark.oracle
def test_view_rules_match_pytorch():
    torch = pytest.importorskip("torch")
    t = torch.arange(24.0).reshape(2, 3, 4).transpose(1, 2)  # (2, 4, 3), not contiguous
    x = tg.arange(24.0).reshape(2, 3, 4).transpose(1, 2)
    for shape in [(2, 12), (8, 3), (24,), (2, 4, 3, 1), (1, 2, 4, 3)]:
        try:
            want = t.view(*shape).numpy()
        except RuntimeError:
            with pytest.raises(RuntimeError):
                x.view(*shape)
            continue
        np.testing.assert_array_equal(x.view(*shape).numpy(), want)


# ----------------------------------------------------------------- formatting
def test_format_spec_on_one_element_tensors(device):
    loss = tg.tensor(1.234567, device=device)
    assert f"{loss:.4f}" == "1.2346"
    assert f"{tg.tensor([2.5], device=device):.1e}" == "2.5e+00"
    assert f"{tg.tensor(7, device=device):04d}" == "0007"
    assert f"{tg.ones(2, device=device)}" == str(tg.ones(2, device=device))
    with pytest.raises(TypeError, match="one-element"):
        f"{tg.ones(2, device=device):.2f}"


# ---------------------------------------------------------------- np.asarray
def test_numpy_array_protocol(device):
    x = tg.tensor([[1.0, 2.0]], device=device)
    a = np.asarray(x)
    assert a.dtype == np.float32 and a.tolist() == [[1.0, 2.0]]
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert np.array(tg.tensor([1, 2], device=device)).dtype == np.int64
    assert np.allclose(x, [[1.0, 2.0]])
    with pytest.raises(ValueError, match="copy"):
        np.array(x, copy=False)


# --------------------------------------------------------------------- .data
def test_data_update_as_in_old_pytorch_sgd(device):
    p = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    (p * p).sum().backward()
    before = p
    p.data -= 0.5 * p.grad
    assert p is before and p.requires_grad
    assert p.tolist() == [0.0, 0.0]
    assert p.data.requires_grad is False and p.data.grad_fn is None


def test_data_numpy_and_copy_(device):
    p = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    assert p.data.numpy().tolist() == [1.0, 2.0]
    p.data.copy_(tg.tensor([5.0, 6.0], device=device))  # no no_grad() needed
    assert p.tolist() == [5.0, 6.0]


def test_assigning_data_replaces_the_memory(device):
    p = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    p.data = tg.tensor([[3.0], [4.0]], dtype=tg.float64, device=device)
    assert p.shape == (2, 1) and p.dtype == tg.float64 and p.requires_grad
    with pytest.raises(TypeError, match="Tensor"):
        p.data = [1.0]


def test_module_to_keeps_parameter_identity_through_data(device):
    nn = pytest.importorskip("tinygpt.nn")
    layer = nn.Linear(2, 2, device=device)
    weight = layer.weight
    layer.to(tg.float64)
    assert layer.weight is weight and weight.dtype == tg.float64


def test_numpy_on_a_tensor_that_requires_grad_is_a_copy(device):
    """Documented difference: PyTorch raises (its array would share memory); ours is a
    copy, so returning it cannot corrupt the graph."""
    p = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    a = p.numpy()
    a[0] = 50.0
    assert p.tolist() == [1.0, 2.0]
    assert p.detach().numpy().tolist() == [1.0, 2.0]


# ------------------------------------------------------------ lazy subpackages
def test_subpackages_are_lazy_attributes():
    pytest.importorskip("tinygpt.nn")
    import tinygpt

    assert tinygpt.nn.Linear is not None
    assert tinygpt.optim.SGD is not None
    assert tinygpt.data.DataLoader is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tinygpt.nope  # noqa: B018


def test_a_missing_distribution_names_itself():
    """With tinygpt-nn's folder taken off tinygpt's path, tg.nn says what to install."""
    code = (
        "import tinygpt, os\n"
        "tinygpt.__path__[:] = [p for p in tinygpt.__path__ if 'tinygpt-core' in p]\n"
        "try:\n"
        "    tinygpt.nn\n"
        "except ImportError as e:\n"
        "    print('ERR', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "ERR" in out.stdout, out.stderr
    assert "tinygpt-nn" in out.stdout and "pip install ./tinygpt-nn" in out.stdout
