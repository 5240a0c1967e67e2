"""Errors found on the device, raised at the backend's next read of it.

Checking an index or a class target on the host would read device memory back every step.
Instead `check_index` (kernels/check.cu) runs on the stream before the op that uses the index
and records the first bad value in a small device buffer; the op itself never dereferences a
bad index (and scatter_add writes nothing). The backend reads the buffer whenever it waits
for the device anyway — `to_host` (a logged loss, `.item()`, printing) and `synchronize` — and
raises the IndexError there, naming the op, the value and where it was. So a training step
still reads the device once, and a bad target can never poison the CUDA context with an
illegal address. `TINYGPT_CHECKS=1` moves the check to the host, at the call.
"""

from __future__ import annotations

import cupy
import numpy as np

from tinygpt.dtypes import int64

from . import sources
from .launch import kernel, launch

__all__ = ["DeviceErrors", "CODES"]

#: code recorded by check_index -> (op, what its index operand is called)
CODES = {
    1: ("gather", "index"),
    2: ("scatter_add", "index"),
    3: ("cross_entropy", "target"),
    4: ("cross_entropy_backward", "target"),
}
_CODE_OF = {op: code for code, (op, _) in CODES.items()}
#: err's slots: code (0: no error), the bad value, its position in the index, the valid size
_SLOTS = 4


class DeviceErrors:
    """One backend's error buffer: `check` records on the device, `raise_pending` reports."""

    def __init__(self, new) -> None:
        self._new = new  # the backend's allocator: (size, dtype) -> device buffer
        self._flag = None  # allocated (and zeroed) by the first check

    @property
    def flag(self):
        """The device buffer (4 int64, zero when no error), for kernels that skip on error."""
        if self._flag is None:
            self._flag = self._new(_SLOTS, int64)
            self._flag.fill(0)
        return self._flag

    def check(self, op: str, index, meta, count: int, size: int, ignore: int | None = None):
        """Queue the bounds check of `count` int64 indices against [0, size) for `op`."""
        function = kernel(sources.check_source(), "check_index")
        use_ignore = np.int32(ignore is not None)
        ignored = np.int64(ignore if ignore is not None else 0)
        code = np.int64(_CODE_OF[op])
        args = (index, meta, np.int64(size), use_ignore, ignored, code, self.flag, np.int64(count))
        launch(function, count, args)

    def raise_pending(self) -> None:
        """Raise the first error recorded since the last call (and clear it); else nothing.

        Costs one 32-byte read, made only where the backend waits for the device anyway.
        """
        if self._flag is None:
            return
        code, value, position, size = (int(v) for v in cupy.asnumpy(self._flag))
        if code == 0:
            return
        self._flag.fill(0)
        op, what = CODES[code]
        if what == "target":
            problem = f"target {value} is out of range for {size} classes (row {position})"
            fix = "targets must be class ids in [0, C) or ignore_index"
        else:
            problem = f"index {value} is out of range for a dim of size {size} (element {position})"
            fix = "indices must be in [-size, size)"
        raise IndexError(
            f"{op}: {problem}; {fix}. Found on the device and reported at this read: results "
            f"computed since that op are not valid (TINYGPT_CHECKS=1 checks at the call)"
        )
