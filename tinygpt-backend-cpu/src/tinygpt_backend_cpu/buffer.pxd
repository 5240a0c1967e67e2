cdef class Buffer:
    cdef char* data
    cdef Py_ssize_t nbytes
    cdef Py_ssize_t capacity  # bytes actually allocated (a size class, see buffer.pyx)
    cdef int itemsize
    cdef readonly Py_ssize_t size  # elements


cdef Buffer new_buffer(Py_ssize_t size, int itemsize)
