"""`tinygpt_register_kernels`: a plugin contributes or overrides a fused kernel of a backend.

The rule under test (hookspecs.py, kernels.py): the highest priority wins; the backend's own
kernel counts as priority 0 and wins ties; equal plugin priorities go to the plugin name that
sorts first, and the tie is reported. Kernels are bound onto the instance: dispatch stays a
direct method call.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import cli
from tinygpt.backend import hookimpl, registry
from tinygpt.ops.attention import attention


class KernelPlugin:
    """Contributes `op` for `backend`, counting how often its forward runs."""

    def __init__(self, backend="numpy", op="softmax", priority=0, backward=None, raises=None):
        self.backend = backend
        self.op = op
        self.priority = priority
        self.backward = backward
        self.raises = raises
        self.calls = 0

    @hookimpl
    def tinygpt_register_kernels(self, register):
        if self.raises is not None:
            raise self.raises
        register(self.backend, self.op, self.softmax, self.backward, priority=self.priority)

    def softmax(self, backend, x, axis, log):
        """A fused softmax that defers to the numpy reference, counting its calls."""
        from tinygpt_backend_numpy.backend import NumpyBackend

        self.calls += 1
        return NumpyBackend.softmax(backend, x, axis, log)


class NoSoftmaxClone:
    """A backend plugin: numpy with no fused kernels of its own, named `bare`."""

    @hookimpl
    def tinygpt_register_backends(self, register):
        register("bare", self.make, priority=-5)

    def make(self, device):
        from tinygpt_backend_numpy.backend import NumpyBackend

        return type("Bare", (NumpyBackend,), {"name": "bare", "fused_ops": frozenset()})(device)


def add(plugin, name):
    registry.register_plugin(plugin, name)
    return plugin


def softmax_on(device):
    x = tg.tensor([[1.0, 2.0, 3.0]], device=device)
    return tg.softmax(x, dim=-1).tolist()[0]


EXPECTED = (np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()).tolist()


def statuses():
    return {(k.backend, k.op, k.plugin): k.status for k in registry.kernels()}


# --- who wins ---------------------------------------------------------------------------------


def test_a_higher_priority_kernel_overrides_the_backends_own():
    plugin = add(KernelPlugin(priority=5), "fast-softmax")
    assert softmax_on("numpy") == pytest.approx(EXPECTED)
    assert plugin.calls == 1
    backend = tg.get_backend("numpy")
    assert backend.softmax.__func__ == plugin.softmax  # bound onto it: no wrapper, no lookup
    assert statuses()[("numpy", "softmax", "fast-softmax")] == "active on numpy (priority 5)"


@pytest.mark.parametrize("priority", [0, -3])
def test_the_backends_own_kernel_wins_ties_and_lower_priorities(priority):
    plugin = add(KernelPlugin(priority=priority), "weak-softmax")
    assert softmax_on("numpy") == pytest.approx(EXPECTED)
    assert plugin.calls == 0
    status = statuses()[("numpy", "softmax", "weak-softmax")]
    assert status == "shadowed by numpy's own kernel (priority 0, wins ties)"


def test_a_negative_priority_kernel_fills_a_gap():
    add(NoSoftmaxClone(), "bare")
    plugin = add(KernelPlugin(backend="bare", priority=-1), "fallback-softmax")
    backend = tg.get_backend("bare")
    assert "softmax" in backend.fused_ops  # the instance now lists it; its class does not
    assert "softmax" not in type(backend).fused_ops
    assert softmax_on("bare") == pytest.approx(EXPECTED)
    assert plugin.calls == 1


def test_the_highest_priority_plugin_wins():
    low = add(KernelPlugin(priority=3), "low")
    high = add(KernelPlugin(priority=7), "high")
    softmax_on("numpy")
    assert (low.calls, high.calls) == (0, 1)
    assert statuses()[("numpy", "softmax", "low")] == "shadowed by high (priority 7)"


def test_a_tie_between_plugins_goes_to_the_first_name_and_is_reported():
    zeta = add(KernelPlugin(priority=4), "zeta")
    alpha = add(KernelPlugin(priority=4), "alpha")
    softmax_on("numpy")
    assert (alpha.calls, zeta.calls) == (1, 0)
    winner = statuses()[("numpy", "softmax", "alpha")]
    assert winner == "active on numpy (priority 4); tie with zeta: won by plugin name"


def test_an_attention_kernel_is_used_by_core_with_its_backward():
    from tinygpt_backend_numpy.backend import NumpyBackend

    calls = []

    def forward(backend, q, k, v, causal, scale):
        calls.append("forward")
        return NumpyBackend.attention(backend, q, k, v, causal, scale)

    def backward(backend, *args):
        calls.append("backward")
        return NumpyBackend.attention_backward(backend, *args)

    class Flash:
        @hookimpl
        def tinygpt_register_kernels(self, register):
            register("numpy", "attention", forward, backward, priority=10)

    add(Flash(), "flash")
    q = tg.randn(1, 2, 3, 4, device="numpy", requires_grad=True)
    attention(q, q, q, causal=True).sum().backward()
    assert calls == ["forward", "backward"]
    assert q.grad.shape == (1, 2, 3, 4)


# --- mistakes are reported, never raised ------------------------------------------------------


@pytest.mark.parametrize(
    ("plugin", "reason"),
    [
        (KernelPlugin(op="flash_attention"), "unknown fused op 'flash_attention'"),
        (KernelPlugin(op="attention"), "'attention' needs backward= (the attention_backward"),
        (KernelPlugin(backward=lambda *a: None), "'softmax' takes no backward"),
        (KernelPlugin(priority="high"), "priority must be an int"),
        (KernelPlugin(raises=KeyError("boom")), "tinygpt_register_kernels raised: KeyError"),
    ],
    ids=["unknown op", "no backward", "extra backward", "bad priority", "hook raises"],
)
def test_a_bad_kernel_registration_is_a_row_and_harmless(plugin, reason):
    add(plugin, "bad-kernels")
    (row,) = [row for row in tg.backends() if row.plugin == "bad-kernels"]
    assert reason in row.reason and not row.available
    assert softmax_on("numpy") == pytest.approx(EXPECTED)
    assert plugin.calls == 0


def test_a_kernel_for_a_backend_that_is_not_installed_is_listed_as_unused():
    add(KernelPlugin(backend="cuda42", priority=1), "for-cuda42")
    assert statuses()[("cuda42", "softmax", "for-cuda42")] == (
        "unused: no backend 'cuda42' is installed"
    )
    assert all(row.available for row in tg.backends() if row.name == "numpy")


def test_cli_lists_contributed_kernels(capsys):
    add(KernelPlugin(priority=5), "fast-softmax")
    assert cli.main(["backends"]) == 0
    out = capsys.readouterr().out
    assert "fused kernels from plugins" in out
    line = next(line for line in out.splitlines() if line.startswith("numpy.softmax"))
    assert line.split()[:3] == ["numpy.softmax", "fast-softmax", "5"]
    assert "selected (priority 5)" in line
