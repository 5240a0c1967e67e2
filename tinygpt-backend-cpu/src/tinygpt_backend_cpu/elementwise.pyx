# cython: language_level=3
"""Elementwise kernels: unary ops, binary ops and comparisons (against a view or a Python
scalar), and `where`.

Each op is one line in ops.pxd. The loops around them come in a contiguous, a scalar-operand
and a strided flavour, and Cython writes each loop out once per op and dtype (the op is a
compile-time tag), so the C compiler vectorizes every one of them; `_unary_loop` and
`_binary_loop` pick the right one for a run-time op code. float32 exp, tanh and sigmoid run
the AVX2-dispatched loops of vecmath.h. float16 is widened to float32, computed, rounded once.
"""

from tinygpt.errors import BackendError

from .dtypes cimport (
    BOOL, FLOAT16, FLOAT32, FLOAT64, INT32, INT64, Element, half_to_float, int32_t,
    int64_t, scalar, to_element, uint8_t, uint16_t, uint32_t, uint64_t, word,
)
from .mathfn cimport exp_rows, sigmoid_rows, tanh_rows
from .ops cimport (  # the op tags, and the ops themselves
    Abs, Add, Cos, Cube, Div, Eq, Erf, Exp, Ge, Gt, Le, Log, LogicalAnd, LogicalNot, LogicalOr,
    Lt, Maximum, Minimum, Mul, Ne, Neg, Pow, Sigmoid, Sign, Sin, Sqrt, Square, Sub, Tanh,
    apply_binary, apply_compare, apply_unary, binary_op, compare_op, unary_op,
)
from .memory cimport convert
from .strided cimport MAX_DIMS, View, for_each_view, new_dense, read_view

cdef enum:
    NEG, EXP, LOG, SQRT, ABS, SIGN, SIN, COS, TANH, SIGMOID, ERF, LOGICAL_NOT,  # unary
    SQUARE, CUBE,  # x ** 2 and x ** 3: scalar powers that need no pow() call
    ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM, LOGICAL_AND, LOGICAL_OR,  # binary
    EQ, NE, LT, LE, GT, GE  # comparisons: -> bool

_UNARY = {
    "neg": NEG, "exp": EXP, "log": LOG, "sqrt": SQRT, "abs": ABS, "sign": SIGN, "sin": SIN,
    "cos": COS, "tanh": TANH, "sigmoid": SIGMOID, "erf": ERF, "logical_not": LOGICAL_NOT,
    "square": SQUARE, "cube": CUBE,  # internal: what binary_scalar turns x ** 2, x ** 3 into
}
_BINARY = {
    "add": ADD, "sub": SUB, "mul": MUL, "div": DIV, "pow": POW, "maximum": MAXIMUM,
    "minimum": MINIMUM, "logical_and": LOGICAL_AND, "logical_or": LOGICAL_OR,
    "eq": EQ, "ne": NE, "lt": LT, "le": LE, "gt": GT, "ge": GE,
}
_FLOAT_ONLY = frozenset({EXP, LOG, SQRT, SIN, COS, TANH, SIGMOID, ERF, DIV})
_NOT_FOR_BOOL = frozenset({NEG, ABS, SIGN, ADD, SUB, MUL, POW, SQUARE, CUBE})
_BOOL_ONLY = frozenset({LOGICAL_NOT, LOGICAL_AND, LOGICAL_OR})


cdef struct OpContext:
    int op
    int dtype  # of the inputs


# -------------------------------------------------------------------- the loops
# NOTE: outputs are dense, so after the loop nest merged dims the innermost output stride
# is always 1; only the inputs' strides vary. Each function below exists once per op (see
# ops.pxd), so every loop is a plain loop over one operation.
cdef void _unary_rows(const unary_op* op, scalar* out, const scalar* x, Py_ssize_t sx,
                      Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    if sx == 1:
        for i in range(n):
            out[i] = apply_unary(op, x[i])
    else:
        for i in range(n):
            out[i] = apply_unary(op, x[i * sx])


cdef void _binary_rows(const binary_op* op, scalar* out, const scalar* a, Py_ssize_t sa,
                       const scalar* b, Py_ssize_t sb, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef scalar value
    if sa == 1 and sb == 1:
        for i in range(n):
            out[i] = apply_binary(op, a[i], b[i])
    elif sa == 1 and sb == 0:  # x op scalar, a row op a broadcast column
        value = b[0]
        for i in range(n):
            out[i] = apply_binary(op, a[i], value)
    elif sa == 0 and sb == 1:
        value = a[0]
        for i in range(n):
            out[i] = apply_binary(op, value, b[i])
    else:
        for i in range(n):
            out[i] = apply_binary(op, a[i * sa], b[i * sb])


cdef void _compare_rows(const compare_op* op, uint8_t* out, const scalar* a, Py_ssize_t sa,
                        const scalar* b, Py_ssize_t sb, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    if sa == 1 and sb == 1:
        for i in range(n):
            out[i] = apply_compare(op, a[i], b[i])
    else:
        for i in range(n):
            out[i] = apply_compare(op, a[i * sa], b[i * sb])


cdef void _unary_loop(int op, scalar* out, const scalar* x, Py_ssize_t sx,
                      Py_ssize_t n) noexcept nogil:
    if scalar is float:  # the transcendental float32 loops, AVX2 where the CPU has it
        if op == EXP:
            exp_rows(out, x, sx, 0, n)
            return
        if op == TANH:
            tanh_rows(out, x, sx, 0, n)
            return
        if op == SIGMOID:
            sigmoid_rows(out, x, sx, 0, n)
            return
    if op == NEG:
        _unary_rows(<Neg*>NULL, out, x, sx, n)
    elif op == EXP:
        _unary_rows(<Exp*>NULL, out, x, sx, n)
    elif op == LOG:
        _unary_rows(<Log*>NULL, out, x, sx, n)
    elif op == SQRT:
        _unary_rows(<Sqrt*>NULL, out, x, sx, n)
    elif op == ABS:
        _unary_rows(<Abs*>NULL, out, x, sx, n)
    elif op == SIGN:
        _unary_rows(<Sign*>NULL, out, x, sx, n)
    elif op == SIN:
        _unary_rows(<Sin*>NULL, out, x, sx, n)
    elif op == COS:
        _unary_rows(<Cos*>NULL, out, x, sx, n)
    elif op == TANH:
        _unary_rows(<Tanh*>NULL, out, x, sx, n)
    elif op == SIGMOID:
        _unary_rows(<Sigmoid*>NULL, out, x, sx, n)
    elif op == ERF:
        _unary_rows(<Erf*>NULL, out, x, sx, n)
    elif op == LOGICAL_NOT:
        _unary_rows(<LogicalNot*>NULL, out, x, sx, n)
    elif op == SQUARE:
        _unary_rows(<Square*>NULL, out, x, sx, n)
    else:
        _unary_rows(<Cube*>NULL, out, x, sx, n)


cdef void _binary_loop(int op, char* out, const scalar* a, Py_ssize_t sa,
                       const scalar* b, Py_ssize_t sb, Py_ssize_t n) noexcept nogil:
    cdef scalar* o = <scalar*>out
    cdef uint8_t* flags = <uint8_t*>out  # comparisons write bool
    if op == ADD:
        _binary_rows(<Add*>NULL, o, a, sa, b, sb, n)
    elif op == SUB:
        _binary_rows(<Sub*>NULL, o, a, sa, b, sb, n)
    elif op == MUL:
        _binary_rows(<Mul*>NULL, o, a, sa, b, sb, n)
    elif op == DIV:
        _binary_rows(<Div*>NULL, o, a, sa, b, sb, n)
    elif op == POW:
        _binary_rows(<Pow*>NULL, o, a, sa, b, sb, n)
    elif op == MAXIMUM:
        _binary_rows(<Maximum*>NULL, o, a, sa, b, sb, n)
    elif op == MINIMUM:
        _binary_rows(<Minimum*>NULL, o, a, sa, b, sb, n)
    elif op == LOGICAL_AND:
        _binary_rows(<LogicalAnd*>NULL, o, a, sa, b, sb, n)
    elif op == LOGICAL_OR:
        _binary_rows(<LogicalOr*>NULL, o, a, sa, b, sb, n)
    elif op == EQ:
        _compare_rows(<Eq*>NULL, flags, a, sa, b, sb, n)
    elif op == NE:
        _compare_rows(<Ne*>NULL, flags, a, sa, b, sb, n)
    elif op == LT:
        _compare_rows(<Lt*>NULL, flags, a, sa, b, sb, n)
    elif op == LE:
        _compare_rows(<Le*>NULL, flags, a, sa, b, sb, n)
    elif op == GT:
        _compare_rows(<Gt*>NULL, flags, a, sa, b, sb, n)
    else:
        _compare_rows(<Ge*>NULL, flags, a, sa, b, sb, n)


# ------------------------------------------------------- inner loops for for_each
cdef void _unary_body(char** p, const Py_ssize_t* s, Py_ssize_t n, void* ctx) noexcept nogil:
    """operands (out, x)."""
    cdef OpContext* c = <OpContext*>ctx
    if c.dtype == FLOAT32:
        _unary_loop(c.op, <float*>p[0], <const float*>p[1], s[1], n)
    elif c.dtype == FLOAT64:
        _unary_loop(c.op, <double*>p[0], <const double*>p[1], s[1], n)
    elif c.dtype == INT64:
        _unary_loop(c.op, <int64_t*>p[0], <const int64_t*>p[1], s[1], n)
    elif c.dtype == INT32:
        _unary_loop(c.op, <int32_t*>p[0], <const int32_t*>p[1], s[1], n)
    else:
        _unary_loop(c.op, <uint8_t*>p[0], <const uint8_t*>p[1], s[1], n)


cdef void _binary_body(char** p, const Py_ssize_t* s, Py_ssize_t n, void* ctx) noexcept nogil:
    """operands (out, a, b)."""
    cdef OpContext* c = <OpContext*>ctx
    if c.dtype == FLOAT32:
        _binary_loop(c.op, p[0], <const float*>p[1], s[1], <const float*>p[2], s[2], n)
    elif c.dtype == FLOAT64:
        _binary_loop(c.op, p[0], <const double*>p[1], s[1], <const double*>p[2], s[2], n)
    elif c.dtype == INT64:
        _binary_loop(c.op, p[0], <const int64_t*>p[1], s[1], <const int64_t*>p[2], s[2], n)
    elif c.dtype == INT32:
        _binary_loop(c.op, p[0], <const int32_t*>p[1], s[1], <const int32_t*>p[2], s[2], n)
    else:
        _binary_loop(c.op, p[0], <const uint8_t*>p[1], s[1], <const uint8_t*>p[2], s[2], n)


cdef void _select(word* out, const uint8_t* cond, Py_ssize_t sc, const word* a, Py_ssize_t sa,
                  const word* b, Py_ssize_t sb, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        out[i] = a[i * sa] if cond[i * sc] else b[i * sb]


cdef void _where_body(char** p, const Py_ssize_t* s, Py_ssize_t n, void* ctx) noexcept nogil:
    """operands (out, cond, a, b); ctx: the itemsize (where only moves elements)."""
    cdef int itemsize = (<int*>ctx)[0]
    cdef const uint8_t* cond = <const uint8_t*>p[1]
    if itemsize == 4:
        _select(<uint32_t*>p[0], cond, s[1], <uint32_t*>p[2], s[2], <uint32_t*>p[3], s[3], n)
    elif itemsize == 8:
        _select(<uint64_t*>p[0], cond, s[1], <uint64_t*>p[2], s[2], <uint64_t*>p[3], s[3], n)
    elif itemsize == 2:
        _select(<uint16_t*>p[0], cond, s[1], <uint16_t*>p[2], s[2], <uint16_t*>p[3], s[3], n)
    else:
        _select(<uint8_t*>p[0], cond, s[1], <uint8_t*>p[2], s[2], <uint8_t*>p[3], s[3], n)


# ------------------------------------------------------------------- the kernels
cdef int _op_code(str op, dict table, int dtype) except -1:
    code = table.get(op)
    if code is None:
        raise BackendError(f"cpu backend: unknown elementwise op {op!r}")
    if code in _FLOAT_ONLY and dtype != FLOAT16 and dtype != FLOAT32 and dtype != FLOAT64:
        raise BackendError(f"cpu backend: {op!r} needs a floating dtype")
    if (code in _NOT_FOR_BOOL and dtype == BOOL) or (code in _BOOL_ONLY and dtype != BOOL):
        raise BackendError(f"cpu backend: {op!r} does not take this dtype (code {dtype})")
    return code


cdef object _apply(int op, const View* a, const View* b, View* out):
    """`op` over `a` (and `b`, when not NULL) into a new dense buffer; float16 widened."""
    cdef View wide_a, wide_b, wide_out
    cdef const View* views[3]
    cdef OpContext ctx
    if a.dtype == FLOAT16:
        staged_a = convert(a, FLOAT32, &wide_a)
        if b != NULL:
            staged_b = convert(b, FLOAT32, &wide_b)
        wide = _apply(op, &wide_a, &wide_b if b != NULL else NULL, &wide_out)
        if op >= EQ:
            out[0] = wide_out
            return wide  # comparisons are bool already
        return convert(&wide_out, FLOAT16, out)
    result_dtype = BOOL if op >= EQ else a.dtype
    buffer = new_dense(a, result_dtype, out)
    ctx.op = op
    ctx.dtype = a.dtype
    views[0] = out
    views[1] = a
    views[2] = b
    with nogil:
        if b == NULL:
            for_each_view(views, 2, _unary_body, &ctx)
        else:
            for_each_view(views, 3, _binary_body, &ctx)
    return buffer


def unary(str op, x):
    cdef View view, out
    read_view(x, &view)
    return _apply(_op_code(op, _UNARY, view.dtype), &view, NULL, &out)


def binary(str op, a, b):
    cdef View va, vb, out
    read_view(a, &va)
    read_view(b, &vb)
    return _apply(_op_code(op, _BINARY, va.dtype), &va, &vb, &out)


cdef object _apply_scalar(int op, const View* a, Element* value, bint reflected, View* out):
    """`a op value` (or `value op a`): the scalar becomes a view of a's shape, stride 0."""
    cdef View scalar_view = a[0]
    cdef int d
    scalar_view.data = <char*>value
    for d in range(a.ndim):
        scalar_view.strides[d] = 0
    if reflected:
        return _apply(op, &scalar_view, a, out)
    return _apply(op, a, &scalar_view, out)


def binary_scalar(str op, a, value, bint reflected):
    cdef View va, wide, wide_out, out
    cdef Element element
    read_view(a, &va)
    code = _op_code(op, _BINARY, va.dtype)
    if code == POW and not reflected and (value == 2 or value == 3):
        # x ** 2 and x ** 3 (GELU's cubic, gradient norms) as products: one multiply
        # instead of a pow() call per element; x * x is exactly what pow rounds to
        return unary("square" if value == 2 else "cube", a)
    to_element(value, va.dtype, &element)  # converted to a's dtype first (float16 too)
    if va.dtype != FLOAT16:
        return _apply_scalar(code, &va, &element, reflected, &out)
    staged = convert(&va, FLOAT32, &wide)
    element.f32 = half_to_float(element.f16)  # exact
    result = _apply_scalar(code, &wide, &element, reflected, &wide_out)
    if code >= EQ:
        return result  # bool already
    return convert(&wide_out, FLOAT16, &out)


def where(cond, a, b):
    cdef View vc, va, vb, out
    cdef const View* views[4]
    cdef int itemsize
    read_view(cond, &vc)
    read_view(a, &va)
    read_view(b, &vb)
    buffer = new_dense(&va, va.dtype, &out)
    itemsize = va.itemsize
    views[0] = &out
    views[1] = &vc
    views[2] = &va
    views[3] = &vb
    with nogil:
        for_each_view(views, 4, _where_body, &itemsize)
    return buffer
