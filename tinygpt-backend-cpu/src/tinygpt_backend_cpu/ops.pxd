# The elementwise ops, one line each, as compile-time tags.
#
# Each op is an empty struct type, and the fused types below list them. A loop written over
# `binary_op` (see elementwise.pyx) is then compiled once per op by Cython, with the op fixed:
# no switch is left inside any loop, so the compiler vectorizes each one, without depending on
# its inliner to fold a runtime op code away.

from libc.math cimport cos, cosf, erf, erff, exp, fabs, fabsf, log, logf, pow, powf
from libc.math cimport sin, sinf, sqrt, sqrtf, tanh

from .dtypes cimport int32_t, int64_t, scalar, uint8_t
from .mathfn cimport exp_f32, sigmoid_f32, sigmoid_f64, tanh_f32

cdef struct Neg:
    char unused

cdef struct Exp:
    char unused

cdef struct Log:
    char unused

cdef struct Sqrt:
    char unused

cdef struct Abs:
    char unused

cdef struct Sign:
    char unused

cdef struct Sin:
    char unused

cdef struct Cos:
    char unused

cdef struct Tanh:
    char unused

cdef struct Sigmoid:
    char unused

cdef struct Erf:
    char unused

cdef struct LogicalNot:
    char unused

cdef struct Square:
    char unused

cdef struct Cube:
    char unused

cdef struct Add:
    char unused

cdef struct Sub:
    char unused

cdef struct Mul:
    char unused

cdef struct Div:
    char unused

cdef struct Pow:
    char unused

cdef struct Maximum:
    char unused

cdef struct Minimum:
    char unused

cdef struct LogicalAnd:
    char unused

cdef struct LogicalOr:
    char unused

cdef struct Eq:
    char unused

cdef struct Ne:
    char unused

cdef struct Lt:
    char unused

cdef struct Le:
    char unused

cdef struct Gt:
    char unused

cdef struct Ge:
    char unused

ctypedef fused unary_op:
    Neg
    Exp
    Log
    Sqrt
    Abs
    Sign
    Sin
    Cos
    Tanh
    Sigmoid
    Erf
    LogicalNot
    Square
    Cube

ctypedef fused binary_op:
    Add
    Sub
    Mul
    Div
    Pow
    Maximum
    Minimum
    LogicalAnd
    LogicalOr

ctypedef fused compare_op:
    Eq
    Ne
    Lt
    Le
    Gt
    Ge


cdef inline scalar apply_unary(const unary_op* op, scalar x) noexcept nogil:
    if unary_op is Neg:
        return -x
    elif unary_op is Abs:
        if scalar is float:
            return fabsf(x)
        elif scalar is double:
            return fabs(x)
        else:
            return x if x >= 0 else -x
    elif unary_op is Sign:
        if scalar is float or scalar is double:
            return x if x != x else (x > 0) - (x < 0)  # sign(nan) is nan
        else:
            return (x > 0) - (x < 0)
    elif unary_op is LogicalNot:
        return x == 0
    elif unary_op is Square:
        return x * x
    elif unary_op is Cube:
        return x * x * x
    elif scalar is float:
        if unary_op is Exp:
            return exp_f32(x)
        elif unary_op is Log:
            return logf(x)
        elif unary_op is Sqrt:
            return sqrtf(x)
        elif unary_op is Sin:
            return sinf(x)
        elif unary_op is Cos:
            return cosf(x)
        elif unary_op is Tanh:
            return tanh_f32(x)
        elif unary_op is Sigmoid:
            return sigmoid_f32(x)
        else:
            return erff(x)
    elif scalar is double:
        if unary_op is Exp:
            return exp(x)
        elif unary_op is Log:
            return log(x)
        elif unary_op is Sqrt:
            return sqrt(x)
        elif unary_op is Sin:
            return sin(x)
        elif unary_op is Cos:
            return cos(x)
        elif unary_op is Tanh:
            return tanh(x)
        elif unary_op is Sigmoid:
            return sigmoid_f64(x)
        else:
            return erf(x)
    else:
        return x  # a floating op on an integer type: never called (core checks dtypes)


ctypedef fused integer:
    int32_t
    int64_t


cdef inline integer int_pow(integer base, integer exponent) noexcept nogil:
    """base ** exponent by squaring (wrapping on overflow, as NumPy); 0 for exponent < 0."""
    cdef integer result = 1
    if exponent < 0:
        return 0
    while exponent > 0:
        if exponent & 1:
            result *= base
        base *= base
        exponent >>= 1
    return result


cdef inline scalar apply_binary(const binary_op* op, scalar a, scalar b) noexcept nogil:
    if binary_op is Add:
        return a + b
    elif binary_op is Sub:
        return a - b
    elif binary_op is Mul:
        return a * b
    elif binary_op is Div:
        return a / b  # C division: x / 0.0 is +-inf or nan, as in NumPy
    elif binary_op is Pow:
        if scalar is float:
            return powf(a, b)
        elif scalar is double:
            return pow(a, b)
        elif scalar is int32_t or scalar is int64_t:
            return int_pow(a, b)
        else:
            return a
    elif binary_op is Maximum:  # NaN-propagating, as torch.maximum and np.maximum
        if scalar is float or scalar is double:
            return a if (a > b or a != a) else b
        else:
            return a if a > b else b
    elif binary_op is Minimum:
        if scalar is float or scalar is double:
            return a if (a < b or a != a) else b
        else:
            return a if a < b else b
    elif binary_op is LogicalAnd:
        return (a != 0) & (b != 0)
    else:
        return (a != 0) | (b != 0)


cdef inline uint8_t apply_compare(const compare_op* op, scalar a, scalar b) noexcept nogil:
    if compare_op is Eq:
        return a == b
    elif compare_op is Ne:
        return a != b
    elif compare_op is Lt:
        return a < b
    elif compare_op is Le:
        return a <= b
    elif compare_op is Gt:
        return a > b
    else:
        return a >= b
