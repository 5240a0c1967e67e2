"""Fast path: keep freed array memory in the process heap (glibc) instead of returning it.

Every numpy-backend op returns a fresh NumPy array, and NumPy gets its memory from `malloc`.
glibc hands blocks of a few hundred KiB up from the top of its heap and, when a free leaves
more than its trim threshold free at the top, gives that memory back to the kernel. The next
op then grows the heap again, and every 4 KiB page of its output is a page fault on first
touch: a (768, 384) float32 `x @ w.T + b` took 4x the time of its matmul on a 2-core Zen 4,
and a GPT training step ~20% longer. glibc raises that threshold by itself as it sees large
frees (up to 32 MiB), but a training step frees two outputs in a row and trips it anyway.

`keep_freed_memory()` fixes the two thresholds with `mallopt`: blocks under 32 MiB come from
the heap, and the heap is trimmed only when 256 MiB lie free at its top. A long job holds at
most that much more memory than it needs; in exchange an op's output lands on pages that are
already mapped. PyTorch's CPU tuning guides get the same effect by preloading jemalloc or
tcmalloc. This is process-wide, so it runs once, when the first numpy device is made.

Off switch: ``TINYGPT_MALLOC_KEEP=0``. Elsewhere than glibc (musl, macOS, Windows) it does
nothing: those allocators keep their own policies.
"""

from __future__ import annotations

import ctypes
import os
import platform

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory"]

#: mallopt's parameter numbers (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: blocks at least this large are mapped on their own (glibc's own ceiling for it)
MMAP_THRESHOLD = 32 << 20
#: free memory at the heap's top is given back only beyond this much
TRIM_THRESHOLD = 256 << 20

_done: bool | None = None


def keep_freed_memory() -> bool:
    """Set the thresholds once per process; True when they are in force."""
    global _done
    if _done is None:
        _done = _apply()
    return _done


def _apply() -> bool:
    if os.environ.get("TINYGPT_MALLOC_KEEP", "1").strip() == "0":
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success, 0 when it refuses a value
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
