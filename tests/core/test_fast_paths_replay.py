"""`tg.kernel_replay` (tinygpt/replay.py): a recorded function's replays give what running it
gives, on every backend: fresh inputs, weights updated in place, inputs whose sizes change
where a kernel reads them, broadcast views of inputs at moving offsets, in-place writes into
inputs, and several outputs. It steps aside (runs the function as usual) with gradients on,
a profile open or the fast paths off, and for a function it cannot replay (random draws,
host reads, views of inputs made inside); it records again when the inputs' dtypes or
layouts change, or a watched tensor gets other memory. The backend is left as it was."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import fast_paths


def rand(*shape, device, seed=0):
    return tg.tensor(
        np.random.default_rng(seed).standard_normal(shape).astype(np.float32), device=device
    )


@pytest.fixture
def mlp(device):
    """A small function of x (B, 4): linear, layer norm, gelu, residual; and its weights."""
    w, b = rand(6, 4, device=device, seed=1), rand(6, device=device, seed=2)
    g, beta = rand(6, device=device, seed=3), rand(6, device=device, seed=4)
    w2 = rand(4, 6, device=device, seed=5)

    def fn(x):
        h = tg.gelu(tg.layer_norm(tg.linear(x, w, b), (6,), g, beta))
        return x + tg.linear(h, w2)

    return fn, (w, b, g, beta, w2)


def test_replays_equal_running_the_function(device, mlp):
    fn, _ = mlp
    step = tg.kernel_replay(fn)
    with tg.no_grad():
        for seed in range(4):
            x = rand(3, 4, device=device, seed=10 + seed)
            got = step(x)
            assert got.shape == (3, 4) and got.dtype == tg.float32
            np.testing.assert_array_equal(got.numpy(), fn(x).numpy())
    assert (step.recordings, step.replays, step.reason) == (1, 3, None)
    assert "# matmul" in step.source  # one line per kernel, named


def test_weights_updated_in_place_are_read_at_each_replay(device, mlp):
    fn, (w, *_) = mlp
    step = tg.kernel_replay(fn)
    x = rand(2, 4, device=device, seed=7)
    with tg.no_grad():
        before = step(x).numpy()
        w.mul_(2.0)
        after = step(x).numpy()
    assert step.replays == 1
    assert not np.allclose(before, after)
    with tg.no_grad():
        np.testing.assert_array_equal(after, fn(x).numpy())


def test_a_watched_tensor_given_other_memory_records_again(device, mlp):
    fn, (w, *_) = mlp
    step = tg.kernel_replay(fn, watch=[w])
    x = rand(2, 4, device=device, seed=7)
    with tg.no_grad():
        step(x)
        step(x)
        w.data = rand(6, 4, device=device, seed=99)  # new memory, not an in-place write
        got = step(x).numpy()
        np.testing.assert_array_equal(got, fn(x).numpy())
    assert (step.recordings, step.replays) == (2, 1)


@pytest.mark.parametrize("free", [True, False], ids=["free sizes", "fixed sizes"])
def test_sizes_a_kernel_reads_may_change_and_inputs_are_written_in_place(device, free):
    """The decoding pattern: a cache (B, H, T, D) whose T grows, a slot written in place.
    With T free the calls replay; otherwise each new T records again (and is right too)."""
    cache = tg.zeros(1, 2, 8, 4, device=device)

    def fn(q, new, slot, keys):
        slot.copy_(new)  # the new key, in place
        return tg.scaled_dot_product_attention(q, keys, keys)

    step = tg.kernel_replay(fn, free_sizes=[3] if free else [])
    with tg.no_grad():
        for t in range(6):
            q = rand(1, 2, 1, 4, device=device, seed=t)
            new = rand(1, 2, 1, 4, device=device, seed=50 + t)
            slot, keys = cache.narrow(2, t, 1), cache.narrow(2, 0, t + 1)
            got = step(q, new, slot, keys).numpy()
            expected = tg.scaled_dot_product_attention(q, keys, keys).numpy()
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
            np.testing.assert_array_equal(cache.numpy()[:, :, t : t + 1], new.numpy())
    # (at t = 0 the slot and the keys are one array: that call records nothing)
    assert (step.recordings, step.replays) == ((1, 4) if free else (5, 0))


def test_a_result_shaped_by_an_input_records_again_for_other_sizes(device):
    step = tg.kernel_replay(lambda x: x.sum(0) / x.shape[0])
    with tg.no_grad():
        for rows in (2, 2, 5, 3):
            x = rand(rows, 3, device=device, seed=rows)
            np.testing.assert_allclose(step(x).numpy(), x.numpy().mean(0), rtol=1e-6)
    assert (step.recordings, step.replays) == (3, 1)


def test_a_broadcast_view_of_an_input_follows_the_input_to_another_offset(device):
    table = rand(5, 3, device=device, seed=1)
    step = tg.kernel_replay(lambda x, row: x * 2.0 + row)  # row (3,) broadcast to (2, 3)
    x = rand(2, 3, device=device, seed=2)
    with tg.no_grad():
        for i in range(5):
            got = step(x, table[i]).numpy()
            np.testing.assert_array_equal(got, (x * 2.0 + table[i]).numpy())
    assert (step.recordings, step.replays) == (1, 4)


def test_a_replay_inside_a_recorded_function_shows_its_kernels(device, mlp):
    fn, _ = mlp
    inner = tg.kernel_replay(fn)
    outer = tg.kernel_replay(lambda x: inner(x) * 2.0)
    with tg.no_grad():
        inner(rand(3, 4, device=device))
        inner(rand(3, 4, device=device, seed=1))  # inner replays from here on
        for seed in range(2, 5):
            x = rand(3, 4, device=device, seed=seed)
            np.testing.assert_array_equal(outer(x).numpy(), (fn(x) * 2.0).numpy())
    assert outer.replays == 2
    assert "# matmul" in outer.source  # the inner function's kernels are the outer's too


def test_several_outputs(device, mlp):
    fn, _ = mlp
    step = tg.kernel_replay(lambda x: (fn(x), x.sum(-1)))
    with tg.no_grad():
        for seed in range(3):
            x = rand(3, 4, device=device, seed=seed)
            y, s = step(x)
            np.testing.assert_array_equal(y.numpy(), fn(x).numpy())
            np.testing.assert_array_equal(s.numpy(), x.sum(-1).numpy())
    assert step.replays == 2


def test_other_dtypes_or_layouts_record_again(device):
    table = rand(4, 3, device=device, seed=1)
    step = tg.kernel_replay(lambda x, row: x + row)
    with tg.no_grad():
        step(rand(2, 3, device=device), table[0])
        wide = tg.zeros(2, 3, dtype=tg.float64, device=device)
        got = step(wide, table[1].to(tg.float64))
        np.testing.assert_allclose(got.numpy(), np.broadcast_to(table.numpy()[1], (2, 3)))
        column = table[:, 0]  # (4,) with stride 3: not the layout recorded
        got = step(rand(2, 4, device=device, seed=3), column)
        expected = rand(2, 4, device=device, seed=3).numpy() + table.numpy()[:, 0]
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    assert step.recordings == 3 and step.replays == 0


def test_a_view_made_of_an_input_inside_follows_that_input(device):
    step = tg.kernel_replay(lambda x: x.narrow(1, 1, 2) * 2.0)
    base = rand(4, 5, device=device)
    with tg.no_grad():
        for x in (base[0:2, :3], base[1:3, 2:], base[2:4, 1:4], rand(2, 3, device=device)):
            np.testing.assert_array_equal(step(x).numpy(), x.numpy()[:, 1:3] * 2.0)
    assert (step.recordings, step.replays) == (2, 2)  # the last x has other strides


@pytest.mark.parametrize(
    "body, reason",
    [
        (lambda x, y: x + tg.randn(*x.shape, device=x.device), "random"),
        (lambda x, y: x * float(x.sum().item()), "to_host"),
        (lambda x, y: x.narrow(1, 1, 2) + y.narrow(1, 0, 2), "shares memory"),
    ],
    ids=["random draw", "host read", "view of inputs sharing memory"],
)
def test_what_cannot_be_replayed_runs_as_usual(device, body, reason):
    step = tg.kernel_replay(body)
    base = rand(4, 3, device=device)
    x, y = base[:2], base[2:]
    tg.manual_seed(0)
    with tg.no_grad():
        first = step(x, y).numpy()
        tg.manual_seed(0)
        second = step(x, y).numpy()
        tg.manual_seed(0)
        expected = body(x, y).numpy()
    assert step.reason is not None and reason in step.reason
    assert step.replays == 0 and step.recordings == 1
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(second, expected)


def test_one_array_given_as_two_inputs_is_not_recorded(device):
    step = tg.kernel_replay(lambda x, y: x * 2.0 + y)
    x, y = rand(2, 3, device=device), rand(2, 3, device=device, seed=1)
    with tg.no_grad():
        np.testing.assert_array_equal(step(x, x).numpy(), x.numpy() * 3.0)
        assert step.recordings == 0  # either input could be the kernels' operand
        step(x, y)
        np.testing.assert_array_equal(step(y, x).numpy(), y.numpy() * 2.0 + x.numpy())
        np.testing.assert_array_equal(step(x, x).numpy(), x.numpy() * 3.0)
    assert (step.recordings, step.replays, step.reason) == (1, 2, None)


def test_gradients_profiles_and_the_off_switch_run_the_function(device, mlp, monkeypatch):
    fn, (w, *_) = mlp
    step = tg.kernel_replay(fn)
    x = rand(2, 4, device=device)
    with tg.no_grad():
        step(x)
    w.requires_grad_(True)
    y = step(x)  # gradients on: a graph, no replay
    assert y.requires_grad and y.grad_fn is not None
    with tg.no_grad(), tg.profile(show=False) as prof:
        step(x)
    assert sum(row.calls for row in prof.rows()) >= 5  # every op seen
    monkeypatch.setattr(fast_paths, "enabled", False)
    with tg.no_grad():
        step(x)
    assert step.replays == 0


def test_an_open_autocast_block_runs_the_function(device):
    if "bfloat16" not in {d.name for d in tg.get_backend(device).dtypes}:
        pytest.skip(f"{device} has no bfloat16")
    w = rand(4, 3, device=device, seed=1)
    step = tg.kernel_replay(lambda x: x @ w)
    x = rand(2, 4, device=device)
    with tg.no_grad():
        step(x)
        step(x)
        with tg.autocast(tg.device(device).type, dtype=tg.bfloat16):
            lowered = step(x)  # other kernels (a bfloat16 matmul) than recorded
    assert lowered.dtype == tg.bfloat16 and step.replays == 1


def test_the_backend_is_left_as_it_was(device, mlp):
    fn, _ = mlp
    backend = tg.get_backend(device)
    before = dict(vars(backend))

    def broken(x):
        fn(x)
        raise RuntimeError("boom")

    step = tg.kernel_replay(broken)
    with tg.no_grad(), pytest.raises(RuntimeError, match="boom"):
        step(rand(2, 4, device=device))
    tg.kernel_replay(fn)(rand(2, 4, device=device))
    assert vars(backend) == before


def test_a_backend_whose_methods_cannot_be_wrapped_runs_as_usual(device, mlp, monkeypatch):
    fn, _ = mlp
    backend = tg.get_backend(device)
    wrapped = []

    def refuse(self, name, value):
        if name != "binary":
            wrapped.append(name)
            return object.__setattr__(self, name, value)
        raise AttributeError(name)

    monkeypatch.setattr(type(backend), "__setattr__", refuse)
    before = dict(vars(backend))
    step = tg.kernel_replay(fn)
    x = rand(2, 4, device=device)
    with tg.no_grad():
        np.testing.assert_array_equal(step(x).numpy(), fn(x).numpy())
        step(x)
    assert step.reason is not None and "cannot be wrapped" in step.reason
    assert wrapped and vars(backend) == before
