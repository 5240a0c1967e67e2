"""`tg.set_num_threads(n)` at the top of a script, before the cpu backend exists, holds once
the backend is made (as `torch.set_num_threads`): the load-following governor does not
replace it. Each case runs in a fresh process, where the backend is not made yet."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("tinygpt_backend_cpu", reason="tinygpt-backend-cpu is not installed")


@pytest.mark.parametrize("threads", [1, 2])
def test_a_thread_count_set_before_the_backend_exists_holds(threads):
    code = f"""
    import tinygpt as tg
    tg.set_num_threads({threads})
    x = tg.ones(64, 64, device="cpu")  # the backend is made here
    for _ in range(3):
        (x @ x).sum().item()  # matmul is where the governor would act
    import tinygpt_backend_cpu.runtime as runtime
    print(tg.get_num_threads(), runtime.get_num_threads())
    """
    env = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "2"}
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.split() == [str(threads), str(threads)]


def test_set_num_threads_fixes_the_numpy_backends_blas_too():
    code = """
    import tinygpt as tg
    from tinygpt.backend import threads
    x = tg.ones(64, 64, device="numpy")
    (x @ x).sum().item()  # the numpy backend's governor exists now
    tg.set_num_threads(1)
    governors = list(threads._GOVERNORS)
    print(len(governors), all(not g.adaptive and g.threads == 1 for g in governors))
    """
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True
    )
    assert child.returncode == 0, child.stderr[-2000:]
    count, fixed = child.stdout.split()
    if count == "0":
        pytest.skip("no OpenBLAS thread setter in this NumPy: nothing to govern")
    assert fixed == "True"
