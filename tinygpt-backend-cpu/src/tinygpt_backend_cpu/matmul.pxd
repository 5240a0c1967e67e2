from .strided cimport View

cdef struct Operand:
    char* data
    bint trans  # stored transposed: element (i, j) at data[j * ld + i]
    Py_ssize_t ld

cdef bint blas_layout(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t row_stride,
                      Py_ssize_t col_stride, Operand* op) noexcept nogil
cdef object as_blas_operand(const View* x, View* staged, Operand* op)
