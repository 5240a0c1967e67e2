from .strided cimport Loop, View

# the split of a view into kept dims (the output's) and reduced dims, and the dense output
# buffer shaped like x without `axes`: shared by reduce.pyx and argreduce.pyx
cdef void split_dims(const View* x, const View* out, tuple axes, Loop* kept, Loop* red)
cdef object reduced_output(const View* x, tuple axes, int dtype, View* out)
