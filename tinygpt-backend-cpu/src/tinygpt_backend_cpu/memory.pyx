# cython: language_level=3
"""Buffers in and out, and the kernels that only move or convert elements:
empty, full, from_host, to_host, copy (compact a view), setitem, fill and cast."""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from libc.string cimport memcpy

from tinygpt.errors import DTypeError

from .buffer cimport Buffer, new_buffer
from .dtypes cimport (
    BFLOAT16, BOOL, FLOAT16, FLOAT32, FLOAT64, INT8, INT32, INT64, UINT8, Element, bf16_to_float,
    dtype_code, dtype_object, float_to_bf16, float_to_half, half_to_float, int8_t, int32_t,
    int64_t, itemsize_of, scalar, to_element, uint8_t, uint16_t, uint32_t, uint64_t, word,
)
from .strided cimport (
    View, check_same_shape, dense_view, for_each_view, new_dense, read_view, views_overlap,
)


# ---------------------------------------------------------------------------- buffers
def empty(Py_ssize_t size, dtype):
    return new_buffer(size, itemsize_of(dtype_code(dtype)))


def full(Py_ssize_t size, dtype, value):
    cdef View out
    cdef Element element
    cdef int code = dtype_code(dtype)
    to_element(value, code, &element)
    out.ndim = 1
    out.shape[0] = size
    out.size = size
    buffer = new_dense(&out, code, &out)
    _fill(&out, &element)
    return buffer


def from_host(object data, dtype):
    """A copy of the raw bytes in `data` (anything with the buffer protocol)."""
    cdef Py_buffer host
    cdef int itemsize = itemsize_of(dtype_code(dtype))
    cdef Buffer buffer
    PyObject_GetBuffer(data, &host, PyBUF_SIMPLE)
    try:
        buffer = new_buffer(host.len // itemsize, itemsize)
        with nogil:
            memcpy(buffer.data, host.buf, buffer.nbytes)
    finally:
        PyBuffer_Release(&host)
    return buffer


def to_host(x):
    """A dense copy of view `x`; a Buffer exposes its bytes through the buffer protocol."""
    return copy(x)


# ------------------------------------------------------------------------------ moves
cdef void _move_words(word* dst, Py_ssize_t ds, const word* src, Py_ssize_t ss,
                      Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        dst[i * ds] = src[i * ss]


cdef void move_body(char** p, const Py_ssize_t* s, Py_ssize_t n, void* ctx) noexcept nogil:
    """operands (dst, src); ctx: an int, the itemsize. Elements are moved as raw words."""
    cdef int itemsize = (<int*>ctx)[0]
    if s[0] == 1 and s[1] == 1:
        memcpy(p[0], p[1], n * itemsize)
    elif itemsize == 4:
        _move_words(<uint32_t*>p[0], s[0], <const uint32_t*>p[1], s[1], n)
    elif itemsize == 8:
        _move_words(<uint64_t*>p[0], s[0], <const uint64_t*>p[1], s[1], n)
    elif itemsize == 2:
        _move_words(<uint16_t*>p[0], s[0], <const uint16_t*>p[1], s[1], n)
    else:
        _move_words(<uint8_t*>p[0], s[0], <const uint8_t*>p[1], s[1], n)


cdef void move(const View* dst, const View* src) noexcept nogil:
    """dst[...] = src[...], same shape and itemsize; the views must not overlap."""
    cdef const View* views[2]
    cdef int itemsize = dst.itemsize
    views[0] = dst
    views[1] = src
    for_each_view(views, 2, move_body, &itemsize)


cdef Buffer compact(const View* x, View* out):
    """A dense copy of `x` and its view."""
    buffer = new_dense(x, x.dtype, out)
    with nogil:
        move(out, x)
    return buffer


def copy(x):
    cdef View view, out
    read_view(x, &view)
    return compact(&view, &out)


def setitem(dst, src):
    cdef View d, s, staged
    read_view(dst, &d)
    read_view(src, &s)
    check_same_shape("setitem", &d, &s)  # (core broadcast and cast src already)
    if d.dtype != s.dtype:
        raise DTypeError(
            f"setitem: {dtype_object(s.dtype)} into {dtype_object(d.dtype)}: the kernel "
            "moves elements as they are; cast src first"
        )
    if views_overlap(&d, &s):
        # subtle: copying in place through overlapping views would read elements that were
        # already overwritten (a shift smears). Stage src in its own memory first.
        staging = compact(&s, &staged)
        s = staged
    with nogil:
        move(&d, &s)


# ------------------------------------------------------------------------------- fill
cdef void _fill_words(word* dst, Py_ssize_t ds, word value, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    if ds == 1:
        for i in range(n):
            dst[i] = value
    else:
        for i in range(n):
            dst[i * ds] = value


cdef struct FillContext:
    int itemsize
    Element value


cdef void _fill_body(char** p, const Py_ssize_t* s, Py_ssize_t n, void* ctx) noexcept nogil:
    """operand (dst,); ctx: a FillContext."""
    cdef FillContext* fill = <FillContext*>ctx
    if fill.itemsize == 4:
        _fill_words(<uint32_t*>p[0], s[0], <uint32_t>fill.value.i32, n)
    elif fill.itemsize == 8:
        _fill_words(<uint64_t*>p[0], s[0], fill.value.bits, n)
    elif fill.itemsize == 2:
        _fill_words(<uint16_t*>p[0], s[0], fill.value.f16, n)
    else:
        _fill_words(<uint8_t*>p[0], s[0], fill.value.b, n)


cdef void _fill(const View* dst, const Element* value) noexcept nogil:
    cdef FillContext ctx
    cdef const View* views[1]
    ctx.itemsize = dst.itemsize
    ctx.value = value[0]
    views[0] = dst
    for_each_view(views, 1, _fill_body, &ctx)


def fill(dst, value):
    cdef View d
    cdef Element element
    read_view(dst, &d)
    to_element(value, d.dtype, &element)
    with nogil:
        _fill(&d, &element)


# ------------------------------------------------------------------------------- cast
ctypedef fused Source:
    uint8_t
    int32_t
    int64_t
    float
    double


cdef void _convert(const Source* src, Py_ssize_t ss, scalar* dst, Py_ssize_t ds,
                   Py_ssize_t n) noexcept nogil:
    """C conversions: float -> int truncates toward zero; nonzero (and nan) -> True."""
    cdef Py_ssize_t i
    for i in range(n):
        if scalar is uint8_t:
            dst[i * ds] = src[i * ss] != 0
        else:
            dst[i * ds] = <scalar>src[i * ss]


cdef inline void _convert_from(const Source* src, Py_ssize_t ss, int dst_code, char* dst,
                               Py_ssize_t ds, Py_ssize_t n) noexcept nogil:
    if dst_code == BOOL:
        _convert(src, ss, <uint8_t*>dst, ds, n)
    elif dst_code == INT32:
        _convert(src, ss, <int32_t*>dst, ds, n)
    elif dst_code == INT64:
        _convert(src, ss, <int64_t*>dst, ds, n)
    elif dst_code == FLOAT32:
        _convert(src, ss, <float*>dst, ds, n)
    else:
        _convert(src, ss, <double*>dst, ds, n)


cdef void _cast_body(char** p, const Py_ssize_t* s, Py_ssize_t n, void* ctx) noexcept nogil:
    """operands (dst, src); ctx: (src code, dst code), neither of them float16."""
    cdef int src_code = (<int*>ctx)[0]
    cdef int dst_code = (<int*>ctx)[1]
    if src_code == BOOL:
        _convert_from(<const uint8_t*>p[1], s[1], dst_code, p[0], s[0], n)
    elif src_code == INT32:
        _convert_from(<const int32_t*>p[1], s[1], dst_code, p[0], s[0], n)
    elif src_code == INT64:
        _convert_from(<const int64_t*>p[1], s[1], dst_code, p[0], s[0], n)
    elif src_code == FLOAT32:
        _convert_from(<const float*>p[1], s[1], dst_code, p[0], s[0], n)
    else:
        _convert_from(<const double*>p[1], s[1], dst_code, p[0], s[0], n)


cdef void _widen_body(char** p, const Py_ssize_t* s, Py_ssize_t n, void* ctx) noexcept nogil:
    """operands (float32 dst, float16 src)."""
    cdef float* dst = <float*>p[0]
    cdef const uint16_t* src = <const uint16_t*>p[1]
    cdef Py_ssize_t i
    for i in range(n):
        dst[i * s[0]] = half_to_float(src[i * s[1]])


cdef void _narrow_body(char** p, const Py_ssize_t* s, Py_ssize_t n, void* ctx) noexcept nogil:
    """operands (float16 dst, float32 src)."""
    cdef uint16_t* dst = <uint16_t*>p[0]
    cdef const float* src = <const float*>p[1]
    cdef Py_ssize_t i
    for i in range(n):
        dst[i * s[0]] = float_to_half(src[i * s[1]])


cdef enum Storage:
    # conversions between a storage-only dtype and the dtype it computes in
    BF16_TO_F32, F32_TO_BF16, I8_TO_I32, U8_TO_I32, I32_TO_I8, I32_TO_U8


cdef void _storage_body(char** p, const Py_ssize_t* s, Py_ssize_t n, void* ctx) noexcept nogil:
    """operands (dst, src); ctx: an int, the Storage conversion. Narrowing ints wraps."""
    cdef int kind = (<int*>ctx)[0]
    cdef Py_ssize_t i
    for i in range(n):
        if kind == BF16_TO_F32:
            (<float*>p[0])[i * s[0]] = bf16_to_float((<const uint16_t*>p[1])[i * s[1]])
        elif kind == F32_TO_BF16:
            (<uint16_t*>p[0])[i * s[0]] = float_to_bf16((<const float*>p[1])[i * s[1]])
        elif kind == I8_TO_I32:
            (<int32_t*>p[0])[i * s[0]] = (<const int8_t*>p[1])[i * s[1]]
        elif kind == U8_TO_I32:
            (<int32_t*>p[0])[i * s[0]] = (<const uint8_t*>p[1])[i * s[1]]
        elif kind == I32_TO_I8:
            (<int8_t*>p[0])[i * s[0]] = <int8_t>(<const int32_t*>p[1])[i * s[1]]
        else:
            (<uint8_t*>p[0])[i * s[0]] = <uint8_t>(<const int32_t*>p[1])[i * s[1]]


cdef int _stage(int code) noexcept nogil:
    """The dtype a narrow one converts through (float32 for 2-byte floats, int32 for 1-byte
    ints), or -1 for the others."""
    if code == FLOAT16 or code == BFLOAT16:
        return FLOAT32
    if code == INT8 or code == UINT8:
        return INT32
    return -1


cdef int _storage_kind(int src, int dst) noexcept nogil:
    if src == BFLOAT16:
        return BF16_TO_F32
    if dst == BFLOAT16:
        return F32_TO_BF16
    if src == INT8:
        return I8_TO_I32
    if src == UINT8:
        return U8_TO_I32
    if dst == INT8:
        return I32_TO_I8
    if dst == UINT8:
        return I32_TO_U8
    return -1


cdef Buffer convert(const View* x, int dtype, View* out):
    """A new dense buffer holding `x` converted to `dtype`, and its view.

    float16 and bfloat16 go through float32 (exact when widening; rounded once when
    narrowing); int8 and uint8 through int32 (narrowing wraps, as NumPy's astype).
    """
    cdef View wide
    cdef const View* views[2]
    cdef int codes[2]
    cdef int kind
    if x.dtype == dtype:
        return compact(x, out)
    if _stage(x.dtype) >= 0 and dtype != _stage(x.dtype):
        staging = convert(x, _stage(x.dtype), &wide)
        return convert(&wide, dtype, out)
    if _stage(dtype) >= 0 and x.dtype != _stage(dtype):
        staging = convert(x, _stage(dtype), &wide)
        return convert(&wide, dtype, out)
    buffer = new_dense(x, dtype, out)
    views[0] = out
    views[1] = x
    codes[0] = x.dtype
    codes[1] = dtype
    kind = _storage_kind(x.dtype, dtype)
    with nogil:
        if dtype == FLOAT16:
            for_each_view(views, 2, _narrow_body, NULL)
        elif x.dtype == FLOAT16:
            for_each_view(views, 2, _widen_body, NULL)
        elif kind >= 0:
            for_each_view(views, 2, _storage_body, &kind)
        else:
            for_each_view(views, 2, _cast_body, codes)
    return buffer


def cast(x, dtype):
    cdef View view, out
    read_view(x, &view)
    return convert(&view, dtype_code(dtype), &out)


cdef object widened(const View* x, View* out):
    """`out` = x, or x widened to a float32 copy when it is float16 (keep the result alive:
    the fused kernels compute float16 in float32).

    Every fused float kernel (softmax, layer_norm, cross_entropy, attention) reads its
    operands through here, so this is where an integer or bool operand is refused: those
    kernels would otherwise read its bytes as float64 and write past its buffer.
    """
    if x.dtype != FLOAT16 and x.dtype != FLOAT32 and x.dtype != FLOAT64:
        raise DTypeError(
            f"cpu backend: a fused floating-point kernel (softmax, layer_norm, cross_entropy, "
            f"attention) got an operand of dtype {dtype_object(x.dtype)}; cast it first with "
            ".float()"
        )
    if x.dtype == FLOAT16:
        return convert(x, FLOAT32, out)
    out[0] = x[0]
    return None
