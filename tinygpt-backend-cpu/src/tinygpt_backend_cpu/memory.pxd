from .buffer cimport Buffer
from .strided cimport View

cdef void move_body(char** p, const Py_ssize_t* s, Py_ssize_t n, void* ctx) noexcept nogil
cdef void move(const View* dst, const View* src) noexcept nogil
cdef Buffer compact(const View* x, View* out)
cdef Buffer convert(const View* x, int dtype, View* out)
cdef object widened(const View* x, View* out)
