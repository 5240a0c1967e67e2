"""nn.Module and nn.Parameter: registration, traversal, modes, to(), zero_grad, repr."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import nn


class Block(nn.Module):
    def __init__(self, device) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4, device=device)
        self.scale = nn.Parameter(tg.ones(4, device=device))
        self.register_buffer("steps", tg.zeros((), device=device))
        self.register_buffer("cache", tg.zeros(2, device=device), persistent=False)

    def forward(self, x):
        return self.fc(x) * self.scale


class Net(nn.Module):
    def __init__(self, device) -> None:
        super().__init__()
        self.block = Block(device)
        self.layers = nn.ModuleList([nn.Linear(4, 4, device=device) for _ in range(2)])
        self.head = nn.Linear(4, 2, bias=False, device=device)

    def forward(self, x):
        x = self.block(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(x)


# -------------------------------------------------------------------- Parameter
def test_parameter_shares_memory_and_requires_grad(device):
    t = tg.zeros(2, 3, device=device)
    p = nn.Parameter(t)
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf
    assert p._data is t._data  # no copy
    assert "Parameter containing" in repr(p)


def test_ops_on_a_parameter_give_plain_tensors(device):
    p = nn.Parameter(tg.ones(3, device=device))
    for out in (p * 2, p + p, p.exp(), p[0], p.reshape(3, 1)):
        assert type(out) is tg.Tensor


def test_parameter_refuses_non_tensors_and_int_dtypes(device):
    with pytest.raises(TypeError, match="expected a tinygpt Tensor"):
        nn.Parameter([1.0, 2.0])
    with pytest.raises(tg.DTypeError, match="only floating tensors"):
        nn.Parameter(tg.tensor([1, 2], device=device))
    assert not nn.Parameter(tg.tensor([1, 2], device=device), requires_grad=False).requires_grad


# ------------------------------------------------------------------ registration
def test_named_parameters_use_pytorch_prefixes(device):
    names = [name for name, _ in Net(device).named_parameters()]
    assert names == [
        "block.scale",
        "block.fc.weight",
        "block.fc.bias",
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
        "head.weight",
    ]


def test_parameters_recurse_false(device):
    block = Block(device)
    assert [n for n, _ in block.named_parameters(recurse=False)] == ["scale"]
    assert len(list(block.parameters())) == 3


def test_shared_parameters_are_listed_once(device):
    net = nn.Sequential(nn.Embedding(5, 4, device=device), nn.Linear(4, 5, device=device))
    net[1].weight = net[0].weight  # tied weights, like GPT's wte / lm_head
    names = [name for name, _ in net.named_parameters()]
    assert names == ["0.weight", "1.bias"]
    assert len(list(net.named_parameters(remove_duplicate=False))) == 3
    assert list(net.state_dict()) == ["0.weight", "1.weight", "1.bias"]  # as in PyTorch


def test_shared_modules_are_walked_once(device):
    shared = nn.Linear(2, 2, device=device)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(net.modules())) == 3  # net, shared, relu
    assert len(list(net.parameters())) == 2


def test_buffers_and_children(device):
    net = Net(device)
    assert [n for n, _ in net.named_buffers()] == ["block.steps", "block.cache"]
    assert [n for n, _ in net.named_children()] == ["block", "layers", "head"]
    assert [n for n, _ in net.named_modules()][:3] == ["", "block", "block.fc"]
    assert net.get_submodule("layers.1") is net.layers[1]


def test_non_persistent_buffer_stays_out_of_state_dict(device):
    keys = list(Block(device).state_dict())
    assert "steps" in keys and "cache" not in keys


def test_assigning_a_tensor_to_a_parameter_slot_is_an_error(device):
    layer = nn.Linear(2, 2, device=device)
    with pytest.raises(TypeError, match="Parameter or None is expected"):
        layer.weight = tg.zeros(2, 2, device=device)
    layer.bias = None  # allowed: removes the bias
    assert [n for n, _ in layer.named_parameters()] == ["weight"]


def test_plain_attributes_and_deletion(device):
    block = Block(device)
    block.note = "hello"
    assert block.note == "hello" and "note" not in dict(block.named_parameters())
    del block.scale
    assert "scale" not in dict(block.named_parameters())
    with pytest.raises(AttributeError, match="Block has no attribute 'scale'"):
        _ = block.scale


def test_assignment_before_init_is_a_clear_error(device):
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.w = nn.Parameter(tg.ones(1, device=device))

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Broken()


def test_register_names_are_checked(device):
    m = nn.Module()
    with pytest.raises(KeyError, match="without '.'"):
        m.register_buffer("a.b", tg.zeros(1, device=device))
    with pytest.raises(KeyError, match="already exists"):
        m.register_parameter("training", None)


# ------------------------------------------------------------------------ modes
def test_train_eval_reach_every_module(device):
    net = Net(device)
    assert net.eval() is net
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_apply_visits_children_first(device):
    net = nn.Sequential(nn.Linear(1, 1, device=device), nn.ReLU())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential"]


def test_zero_grad(device):
    net = Net(device)
    net(tg.randn(2, 3, device=device)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0.0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_requires_grad_freezes(device):
    net = Net(device)
    net.block.requires_grad_(False)
    assert nn.utils.count_parameters(net) == nn.utils.count_parameters(net, False) - 3 * 4 - 4 - 4


# --------------------------------------------------------------------- to()
def test_to_dtype_moves_in_place(device):
    net = Net(device)
    params = list(net.parameters())
    net(tg.randn(2, 3, device=device)).sum().backward()
    assert net.to(tg.float64) is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]  # same objects
    assert all(p.dtype == tg.float64 and p.grad.dtype == tg.float64 for p in params)
    assert net.block.steps.dtype == tg.float64
    out = net(tg.randn(2, 3, dtype=tg.float64, device=device))
    assert out.dtype == tg.float64


def test_to_keeps_integer_buffers_and_rejects_integer_dtypes(device):
    bn = nn.BatchNorm1d(3, device=device).to(tg.float64)
    assert bn.num_batches_tracked.dtype == tg.int64
    with pytest.raises(tg.DTypeError, match="only floating dtypes"):
        bn.to(tg.int32)


def test_to_device_accepts_device_names(device):
    net = Net(device)
    net.to(device)
    net.to(device=tg.device(device), dtype="float32")
    assert all(str(p.device) == str(tg.device(device)) for p in net.parameters())


def test_deepcopy_copies_parameters(device):
    layer = nn.Linear(2, 2, device=device)
    twin = copy.deepcopy(layer)
    with tg.no_grad():
        twin.weight.fill_(0.0)
    assert float(layer.weight.abs().sum()) > 0
    assert isinstance(twin.weight, nn.Parameter)


# ------------------------------------------------------------------------- repr
def test_repr_is_nested_like_pytorch(device):
    net = nn.Sequential(nn.Linear(2, 3, device=device), nn.Sequential(nn.ReLU()))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU()\n"
        "  )\n"
        ")"
    )


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="must define forward"):
        nn.Module()(1)


def test_call_runs_forward(device):
    net = Net(device)
    x = tg.randn(5, 3, device=device)
    np.testing.assert_array_equal(net(x).numpy(), net.forward(x).numpy())
