"""The numpy backend's malloc fast path (tinygpt_backend_numpy/_malloc.py): with it, a block of
a few MiB comes from the heap and stays mapped after it is freed; with TINYGPT_MALLOC_KEEP=0
glibc maps it on its own, as it would without tinygpt. Each case runs in a fresh process:
the thresholds are process-wide and glibc's own policy depends on what was freed before."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

pytest.importorskip("numpy")

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

#: a fresh process: make a numpy device, then malloc and free one 4 MiB block and report
#: where glibc put it (mallinfo2: arena = heap bytes, hblkhd = bytes in mapped blocks)
PROBE = """
import ctypes, json
import tinygpt as tg
tg.zeros(1, device="numpy")
from tinygpt_backend_numpy import _malloc

class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size = 4 << 20
before = libc.mallinfo2()
block = libc.malloc(size)
during = libc.mallinfo2()
libc.free(block)
after = libc.mallinfo2()
print(json.dumps({
    "kept": _malloc.keep_freed_memory(),
    "mapped_on_its_own": during.hblkhd - before.hblkhd >= size,
    "heap_after_free": after.arena,
    "size": size,
}))
"""


def probe(keep: str) -> dict[str, object]:
    env = dict(os.environ, TINYGPT_MALLOC_KEEP=keep, TINYGPT_DEVICE="numpy")
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.skipif(not GLIBC, reason="the fast path is for glibc's malloc")
def test_blocks_come_from_the_heap_and_stay_mapped() -> None:
    result = probe("1")
    assert result["kept"] is True
    assert result["mapped_on_its_own"] is False
    assert isinstance(result["heap_after_free"], int)
    assert result["heap_after_free"] >= result["size"]  # not trimmed back to the kernel


@pytest.mark.skipif(not GLIBC, reason="the fast path is for glibc's malloc")
def test_off_switch_leaves_glibc_policy() -> None:
    result = probe("0")
    assert result["kept"] is False
    assert result["mapped_on_its_own"] is True  # glibc's default: above 128 KiB, its own map


def test_keep_freed_memory_is_idempotent() -> None:
    from tinygpt_backend_numpy import _malloc

    first = _malloc.keep_freed_memory()
    assert _malloc.keep_freed_memory() is first
    assert first is (GLIBC and os.environ.get("TINYGPT_MALLOC_KEEP", "1").strip() != "0")
