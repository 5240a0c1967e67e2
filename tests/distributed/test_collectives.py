"""tinygpt.distributed: a group of one in-process, and 2 MPI ranks on every host backend."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.distributed as dist
from tinygpt.distributed import group as dist_group
from tinygpt.distributed import world as group_module

from .conftest import check_ok, needs_mpi, run_ranks

HOST_BACKENDS = [b.name for b in tg.backends() if b.available and b.name != "cuda"]


@pytest.fixture
def single_group():
    """A fresh group of one for the test, whatever an earlier test joined."""
    group_module._reset_for_tests(None)
    yield dist.init()
    group_module._reset_for_tests(None)


# ------------------------------------------------------------------ a group of one
def test_init_without_a_launcher_is_a_group_of_one(single_group, monkeypatch):
    assert (dist.rank(), dist.world_size(), dist.local_rank()) == (0, 1, 0)
    assert dist.init() is single_group  # joined once


def test_collectives_in_a_group_of_one_leave_tensors_alone(single_group, device):
    x = tg.tensor([1.5, -2.0, 3.0], device=device)
    dist.all_reduce(x, op="mean")
    assert x.tolist() == [1.5, -2.0, 3.0]
    dist.broadcast(x, src=0)
    assert x.tolist() == [1.5, -2.0, 3.0]
    stacked = dist.all_gather(x)
    assert stacked.shape == (1, 3) and stacked.tolist() == [[1.5, -2.0, 3.0]]
    work = dist.all_reduce(x, async_op=True)
    assert work is not None and work.is_completed()
    dist.barrier()


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda x: dist.all_reduce(x, op="prod"), ValueError, "op='prod'"),
        (lambda x: dist.all_reduce(x.long(), op="mean"), tg.DTypeError, "floating dtype"),
        (lambda x: dist.broadcast(x, src=3), dist.DistributedError, "src=3"),
    ],
    ids=["unknown-op", "mean-of-ints", "bad-src"],
)
def test_bad_arguments_are_named(single_group, call, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(")):
        call(tg.ones(3))


def test_float16_on_mpi_is_a_clear_dtype_error(single_group):
    x = tg.ones(3, dtype=tg.float16, device="numpy")
    with pytest.raises(tg.DTypeError, match="MPI has no float16"):
        dist.all_reduce(x)


def test_launched_without_mpi4py_names_the_extra_to_install(monkeypatch):
    group_module._reset_for_tests(None)
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py now fails
    try:
        with pytest.raises(dist.DistributedError, match=r'pip install "\./tinygpt-core\[mpi\]"'):
            dist.init()
    finally:
        group_module._reset_for_tests(None)


def test_a_bad_timeout_setting_is_named(monkeypatch):
    monkeypatch.setenv("TINYGPT_DIST_TIMEOUT", "soon")
    with pytest.raises(dist.DistributedError, match="TINYGPT_DIST_TIMEOUT"):
        dist_group.default_timeout()


# -------------------------------------------------------------------- 2 MPI ranks
def expected(rank: int) -> dict[str, object]:
    """What rank `rank` of 2 must see in workers.collectives, computed with NumPy."""
    ranks = np.arange(2)
    base = np.arange(6, dtype=np.float32)
    wide = np.full(8, rank + 1.0, dtype=np.float32)
    wide[2:5] = 2.0
    return {
        "sum": sum(base + 10.0 * r for r in ranks).tolist(),
        "mean_strided": (sum(base * (r + 1) for r in ranks) / 2).reshape(2, 3).tolist(),
        "max_offset": wide.tolist(),
        "int_async": [1, 2],
        "broadcast": [1.0, 1.0, 1.0],
        "gather": [[0, 0], [1, 10]],
        "gather_shape": [2, 2],
    }


@needs_mpi
@pytest.mark.parametrize("mode", ["collectives", "collectives-hostcopy"])
@pytest.mark.parametrize("backend", HOST_BACKENDS)
def test_two_ranks_run_every_collective(tmp_path, backend, mode):
    check_ok(run_ranks(2, mode, tmp_path, backend))
    for rank in range(2):
        seen = json.loads((tmp_path / f"collectives.{rank}.json").read_text())
        assert seen == expected(rank), rank


@needs_mpi
def test_a_rank_that_skips_a_collective_times_out_instead_of_hanging(tmp_path):
    from .conftest import worker_env

    result = run_ranks(2, "timeout", tmp_path, env=worker_env(TINYGPT_DIST_TIMEOUT="2"))
    check_ok(result)
    message = (tmp_path / "timeout.0.txt").read_text()
    assert "did not answer within 2 s" in message and "TINYGPT_DIST_TIMEOUT" in message


@needs_mpi
def test_a_rank_that_fails_stops_every_rank(tmp_path):
    result = run_ranks(2, "fail", tmp_path, timeout=60)
    assert result.returncode != 0
    assert "rank 1 fails on purpose" in result.stderr
    assert not (tmp_path / "fail.0.txt").exists()  # rank 0 was stopped, not left waiting


@pytest.mark.parametrize(
    "name",
    [
        "tinygpt.distributed.world",
        "tinygpt.distributed.collectives",
    ],
)
def test_docstring_examples(single_group, name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0, name
