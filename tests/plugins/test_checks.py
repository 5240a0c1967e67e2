"""Check mode and `tinygpt backends --check`: a kernel with a wrong-sized result is named at once.

Off by default (a kernel call costs nothing extra); on with TINYGPT_CHECK_KERNELS=1,
`registry.enable_checks()`, in the conformance kit and in `tinygpt backends --check`.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import cli
from tinygpt.backend import hookimpl, registry


class BuggyPlugin:
    """A numpy clone named `name` whose methods in `overrides` are replaced."""

    def __init__(self, name, **overrides):
        self.name = name
        self.overrides = overrides

    @hookimpl
    def tinygpt_register_backends(self, register):
        register(self.name, self.make, priority=-1)

    def make(self, device):
        from tinygpt_backend_numpy.backend import NumpyBackend

        attributes = {"name": self.name, **self.overrides}
        return type("Buggy", (NumpyBackend,), attributes)(device)


def _short_binary(self, op, a, b):
    from tinygpt_backend_numpy.backend import NumpyBackend

    return NumpyBackend.binary(self, op, a, b)[:-1]


def _aliasing_copy(self, x):
    return x.buffer  # "copies" by handing back the input


def _half_to_host(self, x):
    from tinygpt_backend_numpy.backend import NumpyBackend

    return NumpyBackend.to_host(self, x)[: x.size // 2]


def _matmul_2d(self, a, b):
    from tinygpt_backend_numpy.views import as_numpy

    return np.matmul(as_numpy(a), as_numpy(b))  # forgot .reshape(-1): not a flat buffer


def add_buggy(name, **overrides):
    registry.register_plugin(BuggyPlugin(name, **overrides), f"buggy-{name}")


def test_check_mode_is_off_by_default():
    backend = tg.get_backend("numpy")
    assert "binary" not in vars(backend)  # the class's method: no wrapper in the way


@pytest.mark.parametrize("switch", ["env", "function"])
def test_check_mode_names_the_kernel_and_the_shapes(monkeypatch, switch):
    add_buggy("short", binary=_short_binary)
    if switch == "env":
        monkeypatch.setenv("TINYGPT_CHECK_KERNELS", "1")
        registry.reset(keep_plugins=True)
    else:
        registry.enable_checks()
    x = tg.ones(2, 3, device="short")
    with pytest.raises(tg.BackendError) as error:
        x + x
    message = str(error.value)
    assert message.startswith("backend 'short': binary('add', (2, 3) float32, (2, 3) float32)")
    assert "returned a buffer of 5 elements, expected 6" in message


def test_without_check_mode_the_bug_surfaces_later_and_vaguely():
    """Why check mode exists: unchecked, the short buffer is wrapped as it is."""
    add_buggy("short", binary=_short_binary)
    x = tg.ones(2, 3, device="short")
    y = x + x  # no error here...
    with pytest.raises(Exception) as error:  # noqa: B017 - any error, far from its cause
        y.tolist()
    assert "binary" not in str(error.value)


@pytest.mark.parametrize(
    ("override", "call", "expected"),
    [
        ({"copy": _aliasing_copy}, lambda x: x.T.contiguous(), "copy((3, 2) float32) returned"),
        ({"to_host": _half_to_host}, lambda x: x.tolist(), "to_host((2, 3) float32) returned 12"),
        ({"matmul": _matmul_2d}, lambda x: x @ x.T, "matmul((2, 3) float32, (3, 2) float32)"),
    ],
    ids=["copy aliases its input", "to_host short", "matmul 2-D result"],
)
def test_check_mode_catches_other_protocol_slips(override, call, expected):
    add_buggy("slip", **override)
    registry.enable_checks()
    x = tg.ones(2, 3, device="slip")
    with pytest.raises(tg.BackendError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        call(x)


def test_checked_numpy_still_passes_real_work():
    registry.enable_checks()
    x = tg.randn(4, 3, device="numpy", requires_grad=True)
    w = tg.randn(3, 2, device="numpy", requires_grad=True)
    loss = (x @ w).relu().softmax(-1).sum() + x[1:, ::2].exp().mean()
    loss.backward()
    assert x.grad.shape == (4, 3) and w.grad.shape == (3, 2)
    assert "binary" in vars(tg.get_backend("numpy"))  # the checks really were installed


# --- tinygpt backends --check -----------------------------------------------------------------


def test_cli_check_passes_numpy_and_prints_timings(capsys):
    assert cli.main(["backends", "--check"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.split()[:2] == ["pass", "numpy"])
    assert line.count(" ms") == 2  # startup and smoke-test times


def test_cli_check_fails_a_backend_with_a_wrong_shape_in_one_line(capsys):
    add_buggy("short", binary=_short_binary)
    assert cli.main(["backends", "--check"]) == 1
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if line.split()[:2] == ["FAIL", "short"]]
    assert "add: BackendError: backend 'short': binary('add', (2, 2) float32" in line
    assert any(line.split()[:2] == ["pass", "numpy"] for line in out.splitlines())


def test_cli_check_catches_wrong_answers_too(capsys):
    def sum_plus_one(self, op, x, axes):
        from tinygpt_backend_numpy.backend import NumpyBackend

        return NumpyBackend.reduce(self, op, x, axes) + 1

    add_buggy("offbyone", reduce=sum_plus_one)
    assert cli.main(["backends", "--check"]) == 1
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if line.split()[:2] == ["FAIL", "offbyone"]]
    assert "reduce: AssertionError: x.sum(dim=0) gave [5.0, 7.0], expected [4.0, 6.0]" in line
