# cython: language_level=3
"""`Buffer`: the backend's flat block of memory, 64-byte aligned, freed with the object.

A Buffer knows its element count and size, not its dtype (views carry the dtype). It exposes
its bytes through the buffer protocol (format "B"), which is how `to_host` hands data to
core without a copy.

Large blocks are recycled. Every kernel returns a new buffer, so a training step allocates
the same large sizes over and over; a fresh block from the OS costs a page fault per 4 KiB
page on first touch (a 64 MiB result: ~16k faults, often longer than the kernel itself).
So blocks of 1 MiB and more go back to a cache when their Buffer dies, keyed by size class,
and the next request of that class reuses one, already mapped. The cache holds at most
`cache_limit()` bytes; `empty_cache()` returns everything to the OS. Blocks of 4 MiB and
more are also 2 MiB-aligned and advised to use transparent huge pages, as NumPy does.

Sizes are checked before anything is allocated: a negative count is a ShapeError, and a
byte count C cannot hold (size * itemsize past PY_SSIZE_T_MAX, which would wrap around to
a small buffer) or one malloc cannot give is an OutOfMemoryError, never a crash.
"""

from cpython.pyport cimport PY_SSIZE_T_MAX
from libc.stdlib cimport free
from posix.stdlib cimport posix_memalign

from tinygpt.errors import OutOfMemoryError, ShapeError
from tinygpt.ndarray import format_bytes

cdef extern from "<sys/mman.h>" nogil:
    int madvise(void* address, size_t length, int advice)
    int MADV_HUGEPAGE

cdef enum:
    # NOTE: 64 bytes is a cache line: vector loads never straddle one at the start of a
    # buffer, and two threads writing neighbouring buffers never share a line.
    ALIGNMENT = 64
    CACHE_MIN = 1 << 16  # smaller blocks come from malloc's own free lists, quickly
    HUGE_MIN = 4 << 20
    HUGE_PAGE = 2 << 20

# size class -> addresses of free blocks of that class (touched only with the GIL held)
cdef dict _free = {}
cdef Py_ssize_t _cached = 0
cdef Py_ssize_t _limit = 1 << 30
# bytes held by live Buffers now, and the most since the last reset_peak()
cdef Py_ssize_t _live = 0
cdef Py_ssize_t _peak = 0


cdef Py_ssize_t _size_class(Py_ssize_t nbytes) noexcept:
    """nbytes rounded up to 4 significant bits (steps of 1/8 to 1/16): a block serves
    requests up to 12.5% smaller, so slightly different sizes share blocks."""
    cdef Py_ssize_t step = 1
    if nbytes < CACHE_MIN or nbytes > PY_SSIZE_T_MAX // 32:
        return nbytes  # (step * 16 and the rounding below must not overflow either)
    while step * 16 < nbytes:
        step *= 2
    return (nbytes + step - 1) // step * step


cdef char* _allocate(Py_ssize_t capacity) except NULL:
    cdef void* data = NULL
    cdef size_t alignment = HUGE_PAGE if capacity >= HUGE_MIN else ALIGNMENT
    cached = _free.get(capacity)
    if cached:
        global _cached
        _cached -= capacity
        return <char*><size_t>cached.pop()
    # never a zero-byte request: every buffer owns a real, distinct address
    if posix_memalign(&data, alignment, capacity if capacity > 0 else ALIGNMENT) != 0:
        empty_cache()  # the cache may hold the memory we need
        if posix_memalign(&data, alignment, capacity if capacity > 0 else ALIGNMENT) != 0:
            raise OutOfMemoryError(
                f"cpu backend: cannot allocate {capacity} bytes ({format_bytes(capacity)}): "
                "out of memory"
            )
    if capacity >= HUGE_MIN:
        madvise(data, capacity, MADV_HUGEPAGE)  # advice only: failure is harmless
    return <char*>data


cdef class Buffer:
    """`size` elements of `itemsize` bytes each; contents undefined until written."""

    def __dealloc__(self):
        global _cached, _live
        if self.data == NULL:  # never allocated: new_buffer raised
            return
        _live -= self.capacity
        if self.capacity >= CACHE_MIN and _cached + self.capacity <= _limit:
            _free.setdefault(self.capacity, []).append(<size_t>self.data)
            _cached += self.capacity
        else:
            free(self.data)

    def __len__(self):
        return self.size

    def __repr__(self):
        return f"<tinygpt_backend_cpu Buffer: {self.size} x {self.itemsize} bytes>"

    def __getbuffer__(self, Py_buffer* view, int flags):
        view.buf = self.data
        view.obj = self
        view.len = self.nbytes
        view.readonly = 0
        view.itemsize = 1
        view.format = b"B"  # raw bytes, whatever the dtype: memoryview(...).cast("B") is free
        view.ndim = 1
        view.shape = &self.nbytes
        view.strides = &view.itemsize
        view.suboffsets = NULL
        view.internal = NULL

    def __releasebuffer__(self, Py_buffer* view):
        pass


cdef Buffer new_buffer(Py_ssize_t size, int itemsize):
    """A new uninitialised buffer of `size` elements."""
    cdef Buffer buffer = Buffer.__new__(Buffer)
    cdef Py_ssize_t capacity
    if size < 0:
        raise ShapeError(f"cpu backend: a buffer of {size} elements; sizes are >= 0")
    if itemsize > 0 and size > PY_SSIZE_T_MAX // itemsize:
        nbytes = (<object>size) * itemsize  # a Python int: exact
        raise OutOfMemoryError(
            f"cpu backend: {size} elements of {itemsize} bytes need {nbytes} bytes "
            f"({format_bytes(nbytes)}); that is more than this machine can address"
        )
    # NOTE: data stays NULL until _allocate succeeds, so a failure frees (and counts) nothing
    capacity = _size_class(size * itemsize)
    buffer.data = _allocate(capacity)
    buffer.nbytes = size * itemsize
    buffer.capacity = capacity
    global _live, _peak
    _live += buffer.capacity
    if _live > _peak:
        _peak = _live
    buffer.itemsize = itemsize
    buffer.size = size
    return buffer


def empty_cache() -> None:
    """Give every cached free block back to the operating system."""
    global _cached
    for blocks in _free.values():
        for address in blocks:
            free(<void*><size_t>address)
    _free.clear()
    _cached = 0


def cache_info() -> dict:
    """The free-block cache ("cached_bytes", "limit_bytes", "blocks") and the memory held by
    live buffers: "live_bytes" now, "peak_live_bytes" since `reset_peak()` (or the start)."""
    return {
        "live_bytes": _live,
        "peak_live_bytes": _peak,
        "cached_bytes": _cached,
        "limit_bytes": _limit,
        "blocks": sum(len(blocks) for blocks in _free.values()),
    }


def reset_peak() -> None:
    """Start measuring "peak_live_bytes" afresh from the bytes live now."""
    global _peak
    _peak = _live


def set_cache_limit(Py_ssize_t limit) -> None:
    """Cache at most `limit` bytes of free blocks (0 disables the cache)."""
    global _limit
    _limit = limit
    if _cached > _limit:
        empty_cache()
