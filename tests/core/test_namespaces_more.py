"""`tg.special`, `tg.jit`, `tg.multiprocessing` and `tg.testing.assert_close` as PyTorch
scripts use them."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg


def test_special_functions(device):
    x = tg.tensor([0.0, 0.5, 2.0], dtype=tg.float64, device=device)
    np.testing.assert_allclose(tg.special.expit(x).numpy(), 1 / (1 + np.exp(-x.numpy())))
    np.testing.assert_allclose(
        tg.special.gammaln(x + 1).numpy(),
        [math.lgamma(v + 1) for v in (0.0, 0.5, 2.0)],
        rtol=1e-12,
        atol=1e-14,
    )
    np.testing.assert_allclose(
        tg.special.ndtr(x).numpy(),
        [0.5 * (1 + math.erf(v / math.sqrt(2))) for v in (0.0, 0.5, 2.0)],
    )
    p = tg.tensor([0.1, 0.5, 0.9], dtype=tg.float64, device=device)
    np.testing.assert_allclose(tg.special.ndtr(tg.special.ndtri(p)).numpy(), p.numpy(), rtol=1e-10)
    assert tg.special.entr(tg.tensor([0.0, -1.0], device=device)).tolist() == [0.0, -math.inf]
    got = tg.special.xlog1py(
        tg.tensor([0.0, 2.0], device=device), tg.tensor([-1.0, 1.0], device=device)
    )
    assert got.tolist() == pytest.approx([0.0, 2 * math.log(2.0)])
    assert tg.special.psi is tg.special.digamma and tg.special.i0e(x).shape == (3,)


def test_jit_runs_code_as_written():
    layer = tg.nn.Linear(2, 2)
    assert tg.jit.script(layer) is layer and tg.jit.trace(layer, tg.ones(1, 2)) is layer
    assert tg.jit.is_scripting() is False and tg.jit.wait(tg.jit.fork(lambda a: a + 1, 1)) == 2

    @tg.jit.ignore(drop=True)
    def helper(v):
        return v * 3

    assert helper(2) == 6 and tg.jit.unused(helper) is helper
    with pytest.raises(NotImplementedError, match="state_dict"):
        tg.jit.save(layer, "model.pt")


def _child(rank, path):
    with open(f"{path}/{rank}.txt", "w") as out:
        out.write(str(tg.tensor([rank]).sum().item()))


def _failing_child(rank):
    raise SystemExit(3)


def test_multiprocessing_spawn(tmp_path):
    # NOTE: "fork" here: a spawned child imports the target's module by name, and this test
    # module is not importable by name under every pytest import mode
    tg.multiprocessing.spawn(_child, args=(str(tmp_path),), nprocs=2, start_method="fork")
    assert sorted(p.read_text() for p in tmp_path.iterdir()) == ["0", "1"]
    with pytest.raises(tg.multiprocessing.ProcessRaisedException, match="exited with code 3"):
        tg.multiprocessing.spawn(_failing_child, nprocs=1, start_method="fork")
    # PyTorch's default start method, with a target any fresh interpreter can import
    assert tg.multiprocessing.spawn(print, args=("spawned",), nprocs=2) is None


def test_assert_close_like_pytorch(device):
    a = tg.tensor([1.0, 2.0, 3.0], device=device)
    tg.testing.assert_close(a, a + 1e-7)
    tg.testing.assert_close([a, {"k": 2.0}], [a, {"k": 2.0}])
    with pytest.raises(AssertionError, match="Mismatched elements: 1 / 3"):
        tg.testing.assert_close(a, tg.tensor([1.0, 2.5, 3.0], device=device))
    with pytest.raises(AssertionError, match="dtype"):
        tg.testing.assert_close(a, a.double())
    nan = tg.tensor([math.nan], device=device)
    with pytest.raises(AssertionError):
        tg.testing.assert_close(nan, nan)
    tg.testing.assert_close(nan, nan, equal_nan=True)
    tg.testing.assert_close(a, a.double(), check_dtype=False, rtol=0.0, atol=0.0)
