"""DistributedDataParallel: N ranks on their micro-batches equal one process on the batch.

2 ranks with one micro-batch each must give *bitwise* the weights of one process that
accumulates both micro-batches (a + b is one rounding either way, and the engine sums a
tied weight's two gradients before adding them to .grad); 4 ranks sum in a different order
than one process does, so they agree to float32 rounding.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.distributed as dist
from tinygpt import nn
from tinygpt.distributed import world as group_module
from tinygpt.nn.parallel import DistributedDataParallel, make_buckets

from .conftest import check_ok, needs_mpi, run_ranks

HOST_BACKENDS = [b.name for b in tg.backends() if b.available and b.name in ("numpy", "cpu")]
STEPS = 3


@pytest.fixture(autouse=True)
def single_group():
    group_module._reset_for_tests(None)
    yield
    group_module._reset_for_tests(None)


def weights(path) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in tg.load(path).items()}


# ------------------------------------------------------------------ in one process
def test_tied_weight_gradients_are_summed_before_accumulating(device):
    """.grad after two backwards == grad(part 0) + grad(part 1), each part using W twice."""
    rng = np.random.default_rng(1)
    w = tg.tensor(rng.standard_normal((4, 4)), dtype=tg.float32, device=device)
    w.requires_grad_(True)
    xs = [tg.tensor(rng.standard_normal((3, 4)), dtype=tg.float32, device=device) for _ in "ab"]

    def part(x):
        return ((x @ w) @ w.T).tanh().sum()  # w used twice: a tied weight

    for x in xs:
        part(x).backward()
    separate = [tg.autograd.grad(part(x), w)[0].numpy() for x in xs]
    assert np.array_equal(w.grad.numpy(), separate[0] + separate[1])


def test_one_process_ddp_is_the_module_itself(device):
    tg.manual_seed(2)
    model = nn.Linear(3, 2).to(device)
    ddp = DistributedDataParallel(model)
    x = tg.randn(5, 3, device=device)
    assert np.array_equal(ddp(x).detach().numpy(), model(x).detach().numpy())
    with ddp.no_sync():
        ddp(x).sum().backward()
    before = model.weight.grad.numpy()
    ddp.synchronize()  # nothing to reduce in a group of one
    assert np.array_equal(model.weight.grad.numpy(), before)
    assert list(ddp.state_dict()) == ["module.weight", "module.bias"]


def test_buckets_keep_reverse_order_cap_and_dtype():
    params = [
        nn.Parameter(tg.zeros(100)),  # 400 bytes
        nn.Parameter(tg.zeros(100)),
        nn.Parameter(tg.zeros(10, dtype=tg.float64)),
        nn.Parameter(tg.zeros(300)),  # over the cap alone: a bucket of its own
    ]
    buckets = make_buckets(params, cap_bytes=1000)
    index = {id(p): i for i, p in enumerate(params)}
    members = [[index[id(p)] for p in b.params] for b in buckets]
    assert members == [[3], [2], [1, 0]]
    assert [b.flat.numel() for b in buckets] == [300, 10, 200]
    assert buckets[1].flat.dtype == tg.float64


@pytest.mark.parametrize(
    "kwargs, words",
    [({"reduce_op": "prod"}, "reduce_op='prod'"), ({"bucket_cap_mb": 0}, "bucket_cap_mb=0")],
)
def test_bad_ddp_arguments_are_named(kwargs, words):
    with pytest.raises(ValueError, match=words):
        DistributedDataParallel(nn.Linear(2, 2), **kwargs)


def test_group_of_one_needs_no_mpi():
    dist.init()
    assert dist.world_size() == 1


# -------------------------------------------------------------------- MPI ranks
@needs_mpi
@pytest.mark.parametrize("backend", HOST_BACKENDS)
def test_two_ranks_equal_one_process_bitwise(tmp_path, backend):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    check_ok(run_ranks(0, "train", one, backend, STEPS, 2))  # one process, both micro-batches
    check_ok(run_ranks(2, "train", two, backend, STEPS, 2))  # one micro-batch per rank
    reference = weights(one / "weights.0.safetensors")
    for rank in range(2):
        got = weights(two / f"weights.{rank}.safetensors")
        for name, value in reference.items():
            assert np.array_equal(got[name], value), (rank, name)
    facts = json.loads((two / "facts.0.json").read_text())
    assert facts["buckets"] > 1
    if hasattr(tg.Tensor, "register_post_accumulate_grad_hook"):
        assert facts["reduced_by_hooks"]  # reduced during backward, not after it
    check_ok(run_ranks(0, "train", tmp_path, backend, 0, 2))  # no steps: the initial weights
    initial = weights(tmp_path / "weights.0.safetensors")
    assert not all(np.array_equal(initial[k], reference[k]) for k in reference)


@needs_mpi
def test_four_ranks_match_one_process_to_float32_rounding(tmp_path):
    one, four = tmp_path / "one", tmp_path / "four"
    one.mkdir()
    four.mkdir()
    check_ok(run_ranks(0, "train", one, "numpy", STEPS, 4))
    check_ok(run_ranks(4, "train", four, "numpy", STEPS, 4))
    reference = weights(one / "weights.0.safetensors")
    rank0 = weights(four / "weights.0.safetensors")
    for rank in range(1, 4):  # the ranks agree with each other exactly
        got = weights(four / f"weights.{rank}.safetensors")
        assert all(np.array_equal(got[k], rank0[k]) for k in rank0), rank
    # NOTE: Adam divides by sqrt(v), so a last-bit difference in a near-zero gradient can
    # move a weight by ~1e-5 of its lr=1e-2 step; a real bug moves it by ~lr
    for name, value in reference.items():
        np.testing.assert_allclose(rank0[name], value, rtol=1e-4, atol=1e-4, err_msg=name)


@needs_mpi
def test_two_ranks_accumulating_two_micro_batches_each_use_no_sync(tmp_path):
    """4 micro-batches over 2 ranks: each rank's first backward runs under no_sync()."""
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    check_ok(run_ranks(0, "train", one, "numpy", STEPS, 4))
    check_ok(run_ranks(2, "train", two, "numpy", STEPS, 4))
    reference = weights(one / "weights.0.safetensors")
    got = [weights(two / f"weights.{rank}.safetensors") for rank in range(2)]
    assert all(np.array_equal(got[0][k], got[1][k]) for k in reference)
    for name, value in reference.items():  # (g0 + g2) + (g1 + g3): another order than 1 process
        np.testing.assert_allclose(got[0][name], value, rtol=1e-4, atol=1e-4, err_msg=name)
