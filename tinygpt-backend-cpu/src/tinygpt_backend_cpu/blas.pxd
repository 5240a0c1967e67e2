# OpenBLAS from the scipy-openblas32 wheel: its symbols carry a `scipy_` prefix, its
# integers are 32-bit. `gemm` picks sgemm or dgemm for the element type.

from .dtypes cimport real

cdef extern from "cblas.h" nogil:
    ctypedef int blasint
    ctypedef enum CBLAS_ORDER:
        CblasRowMajor
    ctypedef enum CBLAS_TRANSPOSE:
        CblasNoTrans
        CblasTrans
    void scipy_cblas_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE trans_a, CBLAS_TRANSPOSE trans_b,
                           blasint m, blasint n, blasint k, float alpha, const float* a,
                           blasint lda, const float* b, blasint ldb, float beta, float* c,
                           blasint ldc)
    void scipy_cblas_dgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE trans_a, CBLAS_TRANSPOSE trans_b,
                           blasint m, blasint n, blasint k, double alpha, const double* a,
                           blasint lda, const double* b, blasint ldb, double beta, double* c,
                           blasint ldc)
    void scipy_cblas_sgemv(CBLAS_ORDER order, CBLAS_TRANSPOSE trans, blasint m, blasint n,
                           float alpha, const float* a, blasint lda, const float* x,
                           blasint incx, float beta, float* y, blasint incy)
    void scipy_cblas_dgemv(CBLAS_ORDER order, CBLAS_TRANSPOSE trans, blasint m, blasint n,
                           double alpha, const double* a, blasint lda, const double* x,
                           blasint incx, double beta, double* y, blasint incy)
    void scipy_openblas_set_num_threads(int threads)
    int scipy_openblas_get_num_threads()
    char* scipy_openblas_get_config()
    char* scipy_openblas_get_corename()


cdef inline void gemm(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                      double alpha, const real* a, Py_ssize_t lda, const real* b,
                      Py_ssize_t ldb, double beta, real* c, Py_ssize_t ldc) noexcept nogil:
    """C (m, n) = alpha * op(A) @ op(B) + beta * C, row-major; op(X) = X.T when trans_x.

    A is stored (m, k) with row stride lda (or (k, m) when trans_a), B (k, n) with row
    stride ldb (or (n, k) when trans_b); beta = 0 ignores what C held (even nan).
    """
    cdef CBLAS_TRANSPOSE ta = CblasTrans if trans_a else CblasNoTrans
    cdef CBLAS_TRANSPOSE tb = CblasTrans if trans_b else CblasNoTrans
    if real is float:
        scipy_cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    else:
        scipy_cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)


cdef inline void gemv(bint trans, Py_ssize_t m, Py_ssize_t n, const real* a, Py_ssize_t lda,
                      const real* x, Py_ssize_t incx, real* y) noexcept nogil:
    """y = op(A) @ x, row-major A (m, n) with row stride lda; op(A) = A.T when trans.

    y has n elements when trans, else m; x is strided by incx; what y held is ignored.
    """
    cdef CBLAS_TRANSPOSE t = CblasTrans if trans else CblasNoTrans
    if real is float:
        scipy_cblas_sgemv(CblasRowMajor, t, m, n, 1.0, a, lda, x, incx, 0.0, y, 1)
    else:
        scipy_cblas_dgemv(CblasRowMajor, t, m, n, 1.0, a, lda, x, incx, 0.0, y, 1)
