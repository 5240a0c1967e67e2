"""Conformance: `export_buffer` and `native_stream`, what tinygpt.distributed hands MPI/NCCL.

Both are optional. A backend that exports a buffer must export *that* buffer's memory: MPI
writes the reduced values through it, so a write through the export must show in the buffer.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygpt.dtypes import DTYPES
from tinygpt.host import numpy_dtype
from tinygpt.testing.helpers import require_dtypes, to_numpy, wrap

ALL_DTYPES = tuple(DTYPES)


def _exported(backend, buffer):
    try:
        return backend.export_buffer(buffer)
    except NotImplementedError:
        pytest.skip(
            f"{backend.name} exports no buffers (tinygpt.distributed copies through the host)"
        )


@pytest.mark.parametrize("dtype_name", ALL_DTYPES)
def test_export_buffer_aliases_the_buffer(kit_backend, dtype_name):
    (dtype,) = require_dtypes(kit_backend, dtype_name)
    values = np.arange(6).astype(numpy_dtype(dtype))
    buffer = kit_backend.from_host(memoryview(values.tobytes()), dtype)
    exported = _exported(kit_backend, buffer)
    if hasattr(exported, "__cuda_array_interface__"):
        assert exported.data.ptr and exported.size >= 6, "device export: a CuPy-style array"
        return
    memory = memoryview(exported).cast("B")
    assert not memory.readonly, f"export_buffer({dtype_name}): MPI must be able to write it"
    itemsize = values.itemsize
    assert bytes(memory[: 6 * itemsize]) == values.tobytes(), "export_buffer: other bytes"
    replacement = values[::-1].copy()
    memory[: 6 * itemsize] = replacement.tobytes()  # what MPI does with the reduced values
    got = to_numpy(wrap(kit_backend, buffer, (6,), dtype))
    assert got.tobytes() == replacement.tobytes(), "export_buffer: a copy, not the buffer"


def test_native_stream_is_none_or_a_handle(kit_backend):
    stream = kit_backend.native_stream()
    assert stream is None or isinstance(stream, int), f"native_stream() -> {stream!r}"
