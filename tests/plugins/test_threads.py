"""Thread counts on shared cores: `tinygpt.backend.threads.ThreadGovernor` and its users.

The governor gives the kernels the cores that other processes leave free (measured from
/proc/stat less this process's own CPU time), or the count TINYGPT_THREADS fixes. Here the
clock and the CPU counters are fakes, so the tests run the same on any machine; the speed
it buys is measured by benchmarks/contention.py, not here.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

import tinygpt as tg
from tinygpt.backend import threads


class FakeMachine:
    """A clock, the machine's busy ticks (100 per core-second) and our own CPU seconds."""

    def __init__(self, monkeypatch, cores: int = 2) -> None:
        self.now = 100.0
        self.busy = 0
        self.own = 0.0
        monkeypatch.setattr(threads, "cpu_count", lambda: cores)
        monkeypatch.setattr(threads.time, "monotonic", lambda: self.now)
        monkeypatch.setattr(threads, "_busy_ticks", lambda: self.busy)
        monkeypatch.setattr(threads, "_own_seconds", lambda: self.own)
        monkeypatch.setattr(threads.os, "sysconf", lambda name: 100, raising=False)

    def run(self, seconds: float, ours: float, others: float) -> None:
        """`seconds` pass with `ours` cores busy in this process and `others` elsewhere."""
        self.now += seconds
        self.own += ours * seconds
        self.busy += round((ours + others) * seconds * 100)


@pytest.fixture(autouse=True)
def no_count_fixed_before(monkeypatch):
    """Each test starts as a fresh process would: no `tg.set_num_threads` call earlier in
    this process (another test's) fixes the count of the governors made here."""
    monkeypatch.setattr(threads, "_FIXED", [])
    if importlib.util.find_spec("tinygpt_backend_cpu") is not None:
        from tinygpt_backend_cpu import _threads

        monkeypatch.setattr(_threads, "_FIXED", [])


@pytest.fixture
def machine(monkeypatch) -> FakeMachine:
    monkeypatch.delenv("TINYGPT_THREADS", raising=False)
    return FakeMachine(monkeypatch)


def governor(limit: int | None = None) -> tuple[threads.ThreadGovernor, list[int]]:
    applied: list[int] = []
    return threads.ThreadGovernor(applied.append, limit=limit), applied


@pytest.mark.parametrize(
    "others, expected",
    [(0.0, 2), (0.3, 2), (0.7, 1), (1.0, 1), (2.0, 1)],  # a neighbour costs a thread at 0.5
)
def test_threads_are_the_cores_others_leave_free(machine, others, expected):
    gov, applied = governor()
    assert applied == [2]  # quiet until shown otherwise: every core
    machine.run(1.5, ours=1.0, others=others)
    gov.poll()
    assert gov.threads == expected and applied[-1] == expected


def test_threads_come_back_when_the_neighbour_leaves(machine):
    gov, applied = governor()
    machine.run(1.0, ours=1.0, others=1.0)
    gov.poll()
    machine.run(1.0, ours=1.0, others=0.0)
    gov.poll()
    assert applied == [2, 1, 2]


def test_polls_between_measurements_change_nothing(machine):
    gov, applied = governor()
    machine.run(0.5, ours=1.0, others=1.0)  # less than the interval
    gov.poll()
    assert applied == [2]


def test_a_limit_caps_the_count(machine):
    gov, applied = governor(limit=1)
    machine.run(1.5, ours=1.0, others=0.0)
    gov.poll()
    assert applied == [1]


def test_tinygpt_threads_fixes_the_count(machine, monkeypatch):
    monkeypatch.setenv("TINYGPT_THREADS", "3")
    gov, applied = governor()
    machine.run(1.5, ours=1.0, others=2.0)
    gov.poll()
    assert applied == [3] and not gov.adaptive


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_tinygpt_threads_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("TINYGPT_THREADS", value)
    with pytest.raises(tg.DeviceError, match="TINYGPT_THREADS"):
        governor()


def test_without_proc_stat_the_count_stays(machine, monkeypatch):
    monkeypatch.setattr(threads, "_busy_ticks", lambda: None)
    gov, applied = governor()
    machine.run(1.5, ours=1.0, others=1.0)
    gov.poll()
    assert applied == [2] and not gov.adaptive


# ---------------------------------------------------------------------- the backends
def cpu_available() -> bool:
    return any(row.name == "cpu" and row.available for row in tg.backends())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_numpy_backend_finds_numpys_openblas():
    pytest.importorskip("numpy")
    from tinygpt_backend_numpy._threads import openblas_thread_setter

    np = pytest.importorskip("numpy")
    if "openblas" not in str(np.show_config(mode="dicts")).lower():
        pytest.skip("this NumPy is not built with OpenBLAS")
    assert openblas_thread_setter() is not None


def test_numpy_backend_matmul_is_governed():
    backend = tg.get_backend("numpy")
    if getattr(backend.matmul, "__name__", "") != "governed_matmul":
        pytest.skip("no OpenBLAS in this NumPy: nothing to govern")
    a = tg.ones(3, 4, device="numpy")
    assert (a @ a.T).tolist() == [[4.0] * 3] * 3


@pytest.mark.skipif(importlib.util.find_spec("tinygpt_backend_cpu") is None, reason="no cpu")
def test_cpu_backend_takes_tinygpt_threads_and_set_num_threads_wins(monkeypatch):
    if not cpu_available():
        pytest.skip("cpu backend unavailable")
    import tinygpt_backend_cpu
    from tinygpt_backend_cpu import _threads

    monkeypatch.setenv("TINYGPT_THREADS", "1")
    backend = tg.backend.registry._registry.infos["cpu"].factory(tg.device("cpu"))
    assert tinygpt_backend_cpu.get_num_threads() == 1
    a = tg.ones(3, 4, device="cpu")
    assert backend.matmul(a._data, a.T._data) is not None  # goes through the governor
    tinygpt_backend_cpu.set_num_threads(2)
    assert all(not g.adaptive for g in _threads._GOVERNORS)
    assert tinygpt_backend_cpu.get_num_threads() == 2


# ---------------------------------------------------------------------- same bits, any count
def set_threads(device: str, count: int) -> None:
    if device == "cpu":
        import tinygpt_backend_cpu

        tinygpt_backend_cpu.set_num_threads(count)
        return
    from tinygpt_backend_numpy._threads import openblas_thread_setter

    setter = openblas_thread_setter()
    if setter is None:
        pytest.skip("no OpenBLAS in this NumPy")
    setter(count)


def thread_devices() -> list[str]:
    devices = ["numpy"]
    if importlib.util.find_spec("tinygpt_backend_cpu") is not None:
        devices.append("cpu")
    return devices


@pytest.mark.parametrize("name", thread_devices())
def test_full_reductions_do_not_depend_on_the_thread_count(name):
    device = name
    if device == "cpu" and not cpu_available():
        pytest.skip("cpu backend unavailable")
    tg.manual_seed(0)
    x = tg.randn(300_007, device=device)  # above the cpu backend's PARALLEL_MIN
    results = []
    for count in (1, 2, 3):
        set_threads(device, count)
        results.append((x.sum().item(), (x * x).mean().item(), x.abs().max().item()))
    set_threads(device, threads.cpu_count())
    assert results[0] == results[1] == results[2]


@pytest.mark.parametrize("name", thread_devices())
def test_the_default_model_trains_to_the_same_bits_on_1_and_2_threads(name):
    """The thread count follows the machine's load, so a resumed run may get another one:
    the README's default model must not notice (bit-exact resume, training.py)."""
    device = name
    if device == "cpu" and not cpu_available():
        pytest.skip("cpu backend unavailable")
    np = pytest.importorskip("numpy")
    from tinygpt import nn, optim
    from tinygpt.gpt import GPT, GPTConfig

    losses = []
    for count in (1, 2):
        set_threads(device, count)
        tg.manual_seed(0)
        model = GPT(GPTConfig.preset("micro", vocab_size=128)).to(device)
        opt = optim.AdamW(model.parameters(), lr=1e-3)
        ids = np.random.default_rng(0).integers(0, 128, size=(2, 12, 65))
        run = []
        for batch in ids:
            x = tg.tensor(batch[:, :-1], device=device)
            y = tg.tensor(batch[:, 1:], device=device)
            _, loss = model(x, y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad()
            run.append(loss.item())
        losses.append(run)
    set_threads(device, threads.cpu_count())
    assert losses[0] == losses[1]
