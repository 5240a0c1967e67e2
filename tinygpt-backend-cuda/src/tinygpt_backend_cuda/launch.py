"""Compiling and launching kernels: the small layer between `sources` and CuPy.

>>> blocks_for(1000)
4
"""

from __future__ import annotations

import functools

import cupy

__all__ = ["MAX_BLOCKS", "THREADS", "blocks_for", "kernel", "launch", "launch_rows"]

#: threads per block for every kernel (block_reduce wants a multiple of 32; the arg_reduce
#: tree in reduce.cu is sized for exactly 256)
THREADS = 256
#: grid-stride loops cover the rest past this many blocks
MAX_BLOCKS = 1 << 20
NVRTC_OPTIONS = ("--std=c++17",)


@functools.cache
def _module(source: str) -> cupy.RawModule:
    # NOTE: RawModule compiles lazily, on the first get_function; CuPy caches the binary
    # on disk (~/.cupy/kernel_cache), so later processes skip NVRTC.
    return cupy.RawModule(code=source, options=NVRTC_OPTIONS)


@functools.cache
def kernel(source: str, name: str):
    """The compiled function `name` of `source` (both cached)."""
    return _module(source).get_function(name)


def launch(function, n: int, args: tuple, threads: int = THREADS, shared: int = 0) -> None:
    """Launch enough blocks of `threads` to cover `n` (kernels loop over the rest)."""
    if n <= 0:
        return
    function((blocks_for(n, threads),), (threads,), args, shared_mem=shared)


def launch_rows(function, rows: int, args: tuple, threads: int = THREADS) -> None:
    """One block per row (the kernels' row loops cover rows past MAX_BLOCKS)."""
    if rows > 0:
        function((min(rows, MAX_BLOCKS),), (threads,), args)


def blocks_for(n: int, threads: int = THREADS) -> int:
    """Blocks of `threads` that cover `n` elements, at most MAX_BLOCKS."""
    return min((n + threads - 1) // threads, MAX_BLOCKS)
