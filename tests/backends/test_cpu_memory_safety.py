"""The cpu backend never crashes the interpreter: every reproducer here once read or wrote
past a buffer (bool matmul through dgemm, 2**61 elements wrapping to a 64-byte buffer, a
gather result with more dims than the fixed-size View, an int operand read as float64, ...)
and must now raise a typed error instead.

Each call runs in a child process, so a segfault or a heap abort fails its own row instead
of killing pytest. One child runs the whole table; after a crash, a fresh child carries on
with the rows after the one that crashed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("tinygpt_backend_cpu", reason="tinygpt-backend-cpu is not installed")

#: what every row's code can use: the cpu backend, `arr` (a NumPy array on it) and `ints`
PRELUDE = """
import numpy as np
import tinygpt as tg
from tinygpt.backend.registry import get_backend
from tinygpt.testing.helpers import to_ndarray

backend = get_backend("cpu")


def arr(shape, dtype="float32"):
    return to_ndarray(backend, np.ones(shape, dtype))


def ints(values):
    return to_ndarray(backend, np.asarray(values, np.int64))
"""

# fmt: off
ROWS = [
    # name: a Python expression; the exception it must raise; words its message must hold
    # --- dtypes a kernel has no loop for: each used to be read as float64 (heap overflow)
    ("matmul bool",
     "backend.matmul(arr((2, 2), bool), arr((2, 2), bool))",
     "DTypeError", ["matmul", "(2, 2) @ (2, 2)", "bool", ".float()"]),
    ("matmul bool tensors",
     "tg.ones(2, 2, dtype=tg.bool, device='cpu') @ tg.ones(2, 2, dtype=tg.bool, device='cpu')",
     "DTypeError", ["matmul", "bool"]),
    ("softmax int32", "backend.softmax(arr((4, 8), 'int32'), 1, False)",
     "DTypeError", ["softmax", "int32", ".float()"]),
    ("log_softmax bool", "backend.softmax(arr((4, 8), bool), 1, True)", "DTypeError", ["bool"]),
    ("layer_norm int64", "backend.layer_norm(arr((4, 8), 'int64'), None, None, 1e-5)",
     "DTypeError", ["layer_norm", "int64"]),
    ("layer_norm int weight",
     "backend.layer_norm(arr((4, 8)), arr((8,), 'int32'), None, 1e-5)", "DTypeError", ["int32"]),
    ("cross_entropy int logits",
     "backend.cross_entropy(arr((4, 8), 'int32'), ints([0, 1, 2, 3]), -100)",
     "DTypeError", ["cross_entropy", "int32"]),
    ("cross_entropy int32 targets",
     "backend.cross_entropy(arr((4, 8)), to_ndarray(backend, np.zeros(4, np.int32)), -100)",
     "DTypeError", ["cross_entropy: targets must be int64", ".long()"]),
    ("attention int32",
     "backend.attention(*[arr((1, 1, 4, 8), 'int32')] * 3, True, 1.0)",
     "DTypeError", ["attention", "int32"]),
    ("gather int32 index",
     "backend.gather(arr((4, 3)), 0, to_ndarray(backend, np.zeros(2, np.int32)))",
     "DTypeError", ["gather: indices must be int64, got int32"]),
    # --- operands core would have made consistent: checked before any read or write
    ("matmul dtypes differ", "backend.matmul(arr((2, 3)), arr((3, 2), 'float64'))",
     "DTypeError", ["float32 @ float64"]),
    ("matmul ranks differ", "backend.matmul(arr((2, 3)), arr((1, 3, 2)))",
     "ShapeError", ["(2, 3) @ (1, 3, 2)"]),
    ("matmul inner dims", "backend.matmul(arr((2, 3)), arr((4, 2)))",
     "ShapeError", ["inner dimensions 3 and 4"]),
    ("matmul batch dims", "backend.matmul(arr((2, 2, 3)), arr((3, 3, 2)))",
     "ShapeError", ["batch dims"]),
    ("gather axis", "backend.gather(arr((4, 3)), 2, ints([0]))",
     "ShapeError", ["gather: axis 2", "(4, 3)"]),
    ("scatter_add src shape",
     "backend.scatter_add(arr((4, 3)), 0, ints([0, 1]), arr((2, 5)))",
     "ShapeError", ["src (2, 5) must be (2, 3)"]),
    ("scatter_add src dtype",
     "backend.scatter_add(arr((4, 3)), 0, ints([0, 1]), arr((2, 3), 'float64'))",
     "DTypeError", ["src is float64, dst float32"]),
    ("scatter_add strided dst",
     "backend.scatter_add(arr((3, 4)).transpose(0, 1), 0, ints([0]), arr((1, 3)))",
     "ShapeError", ["dense"]),
    ("setitem shapes", "backend.setitem(arr((2, 3)), arr((3, 3)))",
     "ShapeError", ["setitem", "(2, 3)", "(3, 3)"]),
    ("setitem dtypes", "backend.setitem(arr((2, 3)), arr((2, 3), 'int32'))",
     "DTypeError", ["setitem", "int32 into float32"]),
    ("argmax axis", "backend.arg_reduce('argmax', arr((2, 3)), 5)", "ShapeError", ["axis 5"]),
    ("argmax empty axis", "backend.arg_reduce('argmax', arr((2, 0)), 1)",
     "ShapeError", ["empty"]),
    # --- sizes whose bytes overflow: 2**61 float32 wrapped around to a 64-byte buffer
    ("zeros 2**61", "tg.zeros(2**61, device='cpu')",
     "OutOfMemoryError", ["zeros: (2305843009213693952,) float32 needs 9223372036854775808 bytes",
                          "8.0 EiB"]),
    ("empty 2**61 (backend)", "backend.empty(2**61, tg.float32)",
     "OutOfMemoryError", ["9223372036854775808 bytes"]),
    ("full 2**61 (backend)", "backend.full(2**61, tg.float32, 1.0)",
     "OutOfMemoryError", ["9223372036854775808 bytes"]),
    ("random 2**61 (backend)", "backend.random('normal', 2**61, tg.float32, 1, 0.0, 1.0)",
     "OutOfMemoryError", ["9223372036854775808 bytes"]),
    ("negative size", "backend.full(-5, tg.int32, 1)", "ShapeError", ["-5 elements"]),
    ("malloc fails", "backend.empty(2**62, tg.bool)",
     "OutOfMemoryError", ["cannot allocate 4611686018427387904 bytes"]),
    ("broadcast view too large",
     "backend.copy(arr((1,)).view((2**40, 2**40), (0, 0), 0))",
     "OutOfMemoryError", ["(1099511627776, 1099511627776)"]),
    ("negative dim in a view", "backend.copy(arr((4,)).view((-1,), (1,), 0))",
     "ShapeError", ["negative"]),
    # --- views that reach outside their buffer (core's bug or a caller's)
    ("offset past the end", "backend.copy(arr((4,)).view((2,), (1,), 3))",
     "BackendError", ["outside its buffer of 4 elements"]),
    ("reversed below the start", "backend.copy(arr((4,)).view((3,), (-1,), 1))",
     "BackendError", ["outside"]),
    ("huge stride", "backend.copy(arr((4,)).view((2,), (2**62,), 0))",
     "BackendError", ["outside"]),
    ("kernel through a bad view", "backend.unary('neg', arr((2, 2)).view((2, 3), (3, 1), 0))",
     "BackendError", ["outside"]),
    # --- more dims than the fixed-size View / Loop structs hold (MAX_DIMS = 32)
    ("gather result rank",
     "backend.gather(arr((1,) * 30), 0, to_ndarray(backend, np.zeros((1,) * 30, np.int64)))",
     "BackendError", ["gather: the result would have 59 dims", "at most 32"]),
    ("gather result rank (tensors)",
     "tg.zeros(*[1] * 30, device='cpu')[tg.zeros(*[1] * 30, dtype=tg.int64, device='cpu')]",
     "BackendError", ["59 dims"]),
    ("40-dim view", "tg.zeros(*[1] * 40, device='cpu').sum()",
     "BackendError", ["40 dims", "at most 32"]),
]
# fmt: on

CHILD = """
import sys
{prelude}
rows = {rows!r}
for name, expression in rows:
    print(name, end="\\x1f", flush=True)
    try:
        eval(expression)
        print("no error", end="\\x1f", flush=True)
        print("", flush=True)
    except Exception as error:
        message = str(error).replace("\\n", " ")
        print(type(error).__name__, message, sep="\\x1f", flush=True)
"""


def _run(rows: list[tuple[str, str]]) -> tuple[dict[str, tuple[str, str]], int, str]:
    """Run `rows` in one child: {name: (exception name, message)}, the exit code, stderr."""
    code = CHILD.format(prelude=PRELUDE, rows=rows)
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    results = {}
    for line in child.stdout.splitlines():
        parts = line.split("\x1f")
        if len(parts) == 3:
            results[parts[0]] = (parts[1], parts[2])
    return results, child.returncode, child.stderr


@pytest.fixture(scope="module")
def outcomes() -> dict[str, tuple[str, str]]:
    """Every row's outcome; a row whose child died is ("crashed", how)."""
    pending = [(name, expression) for name, expression, _, _ in ROWS]
    outcomes: dict[str, tuple[str, str]] = {}
    while pending:
        results, returncode, stderr = _run(pending)
        outcomes.update(results)
        rest = [row for row in pending if row[0] not in results]
        if rest:
            crashed = rest[0][0]  # the first row without a result is the one that died
            outcomes[crashed] = ("crashed", f"exit code {returncode}: {stderr[-2000:]}")
        pending = rest[1:]
    return outcomes


@pytest.mark.parametrize("name, expression, error, words", ROWS, ids=[row[0] for row in ROWS])
def test_refused_with_a_typed_error(outcomes, name, expression, error, words):
    got, message = outcomes[name]
    assert got != "crashed", f"{expression} crashed the interpreter: {message}"
    assert got == error, f"{expression}: expected {error}, got {got}: {message}"
    for word in words:
        assert word in message, f"{expression}: {word!r} not in {message!r}"


def test_the_children_really_catch_a_crash():
    results, returncode, _ = _run([("segfault", "__import__('ctypes').string_at(0)")])
    assert "segfault" not in results
    assert returncode != 0


# --- what the checks must not break ----------------------------------------------------------


def test_a_failed_allocation_frees_and_counts_nothing():
    code = PRELUDE + textwrap.dedent(
        """
        import gc
        from tinygpt_backend_cpu import buffer
        gc.collect()
        before = buffer.cache_info()
        try:
            backend.empty(2**62, tg.bool)  # adds up, but no malloc gives it
        except tg.OutOfMemoryError:
            pass
        gc.collect()
        after = buffer.cache_info()
        assert after["live_bytes"] == before["live_bytes"], (before, after)
        assert after["blocks"] == before["blocks"], (before, after)
        x = tg.ones(512, 1024, device="cpu")  # the cache still serves real blocks
        assert x.sum().item() == 512 * 1024
        print("ok")
        """
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert child.returncode == 0 and child.stdout.strip() == "ok", child.stderr[-2000:]


def test_products_too_large_for_openblas_ints_use_the_plain_loop():
    """A leading dimension past 2**31 - 1 would wrap around in OpenBLAS's 32-bit ints: the
    kernel must take its plain loop and still be right (needs 8 GiB of address space, of
    which it touches a few pages)."""
    code = PRELUDE + textwrap.dedent(
        """
        ld = 2**31 + 16  # the row stride of `a`
        try:
            flat = to_ndarray(backend, np.zeros(1, np.float32))
            flat = type(flat)(backend, backend.empty(ld + 4, tg.float32), (ld + 4,), tg.float32)
        except MemoryError:
            print("skip")
            raise SystemExit
        a = flat.view((2, 2), (ld, 1), 0)  # rows 2**31 + 16 elements apart
        backend.setitem(a, to_ndarray(backend, np.array([[1, 2], [3, 4]], np.float32)))
        b = to_ndarray(backend, np.array([[5, 6], [7, 8]], np.float32))
        out = np.frombuffer(memoryview(backend.matmul(a, b)).cast("B"), np.float32)
        print(out.tolist())
        """
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert child.returncode == 0, child.stderr[-2000:]
    if child.stdout.strip() == "skip":
        pytest.skip("cannot reserve 8 GiB of address space here")
    assert child.stdout.strip() == "[19.0, 22.0, 43.0, 50.0]"
