# cython: language_level=3
"""The mapping between tinygpt's DType objects and this backend's integer dtype codes."""

from tinygpt.dtypes import bfloat16, bool_, float16, float32, float64, int8, int32, int64, uint8

# indexed by code (see dtypes.pxd)
_OBJECTS = (bool_, int32, int64, float16, float32, float64, int8, uint8, bfloat16)


cdef int dtype_code(object dtype) except -1:
    # DTypes are singletons, so identity comparisons are enough (and cheaper than hashing).
    if dtype is float32:
        return FLOAT32
    if dtype is int64:
        return INT64
    if dtype is bool_:
        return BOOL
    if dtype is float64:
        return FLOAT64
    if dtype is int32:
        return INT32
    if dtype is float16:
        return FLOAT16
    if dtype is bfloat16:
        return BFLOAT16
    if dtype is uint8:
        return UINT8
    if dtype is int8:
        return INT8
    raise TypeError(f"cpu backend: unknown dtype {dtype!r}")


cdef object dtype_object(int code):
    return _OBJECTS[code]


cdef int itemsize_of(int code) noexcept nogil:
    if code == BOOL or code == INT8 or code == UINT8:
        return 1
    if code == FLOAT16 or code == BFLOAT16:
        return 2
    if code == INT32 or code == FLOAT32:
        return 4
    return 8


cdef int to_element(object value, int code, Element* out) except -1:
    """`value` (bool, int or float) converted to dtype `code` as C converts: floats are
    truncated toward zero for integer dtypes, and anything nonzero (nan too) is True."""
    out.bits = 0
    if code == BOOL:
        out.b = 1 if value else 0
    elif code == INT32 or code == INT64 or code == INT8 or code == UINT8:
        if isinstance(value, float):
            value = int(value)  # truncation toward zero; nan and inf raise, as in NumPy
        if code == INT32:
            out.i32 = value
        elif code == INT8:
            out.i8 = value  # (out of range raises OverflowError; core checks first)
        elif code == UINT8:
            out.b = value
        else:
            out.i64 = value
    elif code == FLOAT16:
        out.f16 = float_to_half(<float><double>value)
    elif code == BFLOAT16:
        out.f16 = float_to_bf16(<float><double>value)
    elif code == FLOAT32:
        out.f32 = <float><double>value
    else:
        out.f64 = value
    return 0
