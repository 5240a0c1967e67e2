"""The conformance kit is itself tested: each deliberately wrong backend below must fail it, with
a message naming the kernel and the case, while numpy passes the very same tests.

The wrong backends are numpy clones with one classic bug each, installed as a real plugin
distribution; the kit runs in a subprocess (`pytest --pyargs tinygpt.testing`), from outside
the repository, exactly as a backend author would run it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

VICTIMS = '''
"""Numpy clones with one bug each, for the kit to catch."""
import numpy as np
from tinygpt.backend import hookimpl
from tinygpt_backend_numpy.backend import NumpyBackend
from tinygpt_backend_numpy.views import as_numpy


class OffByOne(NumpyBackend):
    name = "offbyone"

    def reduce(self, op, x, axes):
        if op == "sum":  # the loop stops one short along the first reduced axis
            items = [slice(None)] * x.ndim
            items[axes[0]] = slice(0, max(x.shape[axes[0]] - 1, 0))
            x = x.slice(tuple(items))
        return super().reduce(op, x, axes)


class NoStrides(NumpyBackend):
    name = "nostrides"

    def binary(self, op, a, b):
        if op != "add":
            return super().binary(op, a, b)

        def dense(v):  # ignores the strides: reads size elements from the offset on
            data = v.buffer[v.offset : v.offset + v.size]
            return np.resize(data, v.size).reshape(v.shape)

        return (dense(a) + dense(b)).reshape(-1)


class ShortBuffer(NumpyBackend):
    name = "shortbuf"

    def unary(self, op, x):
        return super().unary(op, x)[:-1]  # one element short


class LastTie(NumpyBackend):
    name = "lasttie"

    def arg_reduce(self, op, x, axis):
        if op != "argmax":
            return super().arg_reduce(op, x, axis)
        flipped = np.flip(as_numpy(x), axis)  # ties go to the last index, not the first
        last = x.shape[axis] - 1 - np.argmax(flipped, axis=axis)
        return np.asarray(last, np.int64).reshape(-1)


class NoTranspose(NumpyBackend):
    name = "nott"

    def matmul(self, a, b):  # reads b as dense (K, N) whatever its strides
        dense_b = np.asarray(b.buffer[b.offset : b.offset + b.size]).reshape(b.shape)
        return np.matmul(as_numpy(a), dense_b).reshape(-1)


@hookimpl
def tinygpt_register_backends(register):
    for cls in (OffByOne, NoStrides, ShortBuffer, LastTie, NoTranspose):
        register(cls.name, cls, priority=-100)
'''

#: backend -> (the kit tests that must catch it, a message the failure must contain)
BUGS = {
    "offbyone": (
        "test_reduce and float32",
        "reduce('sum', float32, contiguous view, axes=(0,))",
    ),
    "nostrides": (
        "test_binary and add and float32",
        "binary('add', float32, transposed a and b)",
    ),
    "shortbuf": (
        "test_unary and neg and float32",
        "unary('neg', (3, 4) float32) returned a buffer of 11 elements, expected 12",
    ),
    "lasttie": (
        "test_arg_reduce_ties",
        "arg_reduce('argmax', float32, ties): got [2, 4], expected",
    ),
    "nott": (
        "test_matmul and float32",
        "matmul(float32, (3, 4) dense a @ (4, 5) transposed b)",
    ),
}


def run_kit(site, tmp_path) -> dict[str, list[str]]:
    """Run the kit's relevant tests on every bug (and numpy); test name -> failure texts."""
    selections = [f"({name} and {tests})" for name, (tests, _) in BUGS.items()]
    selections += [f"(numpy and ({tests}))" for tests, _ in BUGS.values()]
    report = tmp_path / "kit.xml"
    devices = ",".join(["numpy", *BUGS])
    result = site.run(
        "-m", "pytest", "--pyargs", "tinygpt.testing", f"--tinygpt-backend={devices}",
        "-k", " or ".join(selections), "-p", "no:cacheprovider", "-q",
        f"--junitxml={report}", "--rootdir", str(tmp_path),
    )  # fmt: skip
    assert report.exists(), result.stdout + result.stderr
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):
        failures = [f"{e.get('message', '')}\n{e.text or ''}" for e in case]
        outcomes[case.get("name")] = [text for text in failures if text.strip()]
    return outcomes


def test_the_kit_catches_each_bug_and_names_the_kernel_and_the_case(site, tmp_path):
    site.install("tinygpt-backend-victims", {"kit_victims": VICTIMS}, {"victims": "kit_victims"})
    outcomes = run_kit(site, tmp_path)
    assert outcomes, "the kit selected no tests"
    for name, (_, message) in BUGS.items():
        mine = {test: texts for test, texts in outcomes.items() if f"[{name}" in test}
        assert mine, f"no kit test ran on {name}"
        failed = [texts for texts in mine.values() if texts]
        assert failed, f"the kit let {name} pass"
        assert any(message in text for texts in failed for text in texts), (
            f"no failure of {name} says {message!r}; the first one says:\n{failed[0][0][:2000]}"
        )
    numpy = {test: texts for test, texts in outcomes.items() if "[numpy" in test}
    assert len(numpy) > 20
    assert not [test for test, texts in numpy.items() if texts], "numpy fails the same tests"
