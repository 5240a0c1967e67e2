# cython: language_level=3
"""How many threads the kernels use, and what the compiled kernels were built with.

Two thread pools do the work: OpenMP's for this backend's own loops and OpenBLAS's for
matmul. Both start from the environment (OMP_NUM_THREADS; OPENBLAS_NUM_THREADS, else
OMP_NUM_THREADS) and `set_num_threads` sets both.
"""

cimport openmp

from .blas cimport (
    scipy_openblas_get_config, scipy_openblas_get_corename, scipy_openblas_get_num_threads,
    scipy_openblas_set_num_threads,
)

from .mathfn cimport vecmath_variant

# NOTE: OpenBLAS (a pthreads build) keeps a thread pool of its own, next to OpenMP's. After
# each call both pools spin a while waiting for more work, and on a machine with as many
# cores as threads the two spinning pools fight: a training step got 8x slower with 2
# threads than with 1. OpenBLAS can hand its parallel jobs to a callback instead; this one
# runs them on the OpenMP team, so one pool does all the work.
cdef extern from *:
    """
    #include <cblas.h>
    static void tinygpt_blas_jobs_on_openmp(int sync, openblas_dojob_callback dojob,
                                            int numjobs, size_t jobdata_elsize,
                                            void *jobdata, int dojob_data) {
        (void)sync;
        #pragma omp parallel for schedule(static)
        for (int i = 0; i < numjobs; i++)
            dojob(i, (char *)jobdata + (size_t)i * jobdata_elsize, dojob_data);
    }
    static void tinygpt_run_blas_on_openmp(void) {
        scipy_openblas_set_threads_callback_function(tinygpt_blas_jobs_on_openmp);
    }
    """
    void run_blas_on_openmp "tinygpt_run_blas_on_openmp"() nogil

run_blas_on_openmp()

# What the C compiler saw, read from its predefined macros (the build flags themselves are
# not recorded in the binary, but each flag that matters leaves one of these behind).
cdef extern from *:
    """
    #ifdef _OPENMP
    #define TINYGPT_OPENMP _OPENMP
    #else
    #define TINYGPT_OPENMP 0
    #endif
    #ifdef __OPTIMIZE__
    #define TINYGPT_OPTIMIZED 1
    #else
    #define TINYGPT_OPTIMIZED 0
    #endif
    #ifdef __FAST_MATH__
    #define TINYGPT_FAST_MATH 1
    #else
    #define TINYGPT_FAST_MATH 0
    #endif
    #ifdef __NO_MATH_ERRNO__
    #define TINYGPT_NO_MATH_ERRNO 1
    #else
    #define TINYGPT_NO_MATH_ERRNO 0
    #endif
    #ifdef __AVX2__
    #define TINYGPT_AVX2_BASELINE 1
    #else
    #define TINYGPT_AVX2_BASELINE 0
    #endif
    #ifdef __VERSION__
    #define TINYGPT_COMPILER __VERSION__
    #else
    #define TINYGPT_COMPILER "unknown"
    #endif
    """
    int TINYGPT_OPENMP
    int TINYGPT_OPTIMIZED
    int TINYGPT_FAST_MATH
    int TINYGPT_NO_MATH_ERRNO
    int TINYGPT_AVX2_BASELINE
    const char* TINYGPT_COMPILER


def openmp_enabled() -> bool:
    """True when these kernels were compiled with OpenMP (the build insists on it)."""
    return TINYGPT_OPENMP != 0


def build_info() -> dict:
    """How the kernels were compiled, as the compiler's predefined macros tell it.

    openmp: the _OPENMP date (0 without OpenMP); optimized: -O1 or more; fast_math: whether
    -ffast-math was on (it must not be: nan semantics); no_math_errno: -fno-math-errno;
    avx2_baseline: whether the whole build assumed AVX2 (it must not: wheels run on any
    x86-64; AVX2 comes only through run-time dispatch, see `simd_variant`).
    """
    return {
        "openmp": TINYGPT_OPENMP,
        "optimized": TINYGPT_OPTIMIZED == 1,
        "fast_math": TINYGPT_FAST_MATH == 1,
        "no_math_errno": TINYGPT_NO_MATH_ERRNO == 1,
        "avx2_baseline": TINYGPT_AVX2_BASELINE == 1,
        "compiler": TINYGPT_COMPILER.decode(),
        "simd": simd_variant(),
    }


def set_num_threads(int threads) -> None:
    """Use `threads` threads for OpenMP loops and for OpenBLAS matmuls."""
    if threads < 1:
        raise ValueError(f"set_num_threads: need at least 1 thread, got {threads}")
    openmp.omp_set_num_threads(threads)
    scipy_openblas_set_num_threads(threads)


def get_num_threads() -> int:
    """The number of threads a parallel kernel uses."""
    return openmp.omp_get_max_threads()


def simd_variant() -> str:
    """Which build of the vecmath.h loops (float32 exp, tanh, sigmoid, row max/sum/scale)
    this CPU runs: "avx512", "avx2+fma" or "baseline" (SSE2). TINYGPT_CPU_SIMD=baseline or
    =avx2, set before the first kernel runs, caps it (for testing)."""
    return vecmath_variant().decode()


def blas_info() -> dict:
    """OpenBLAS's build configuration, the CPU kernel it picked, and its thread count."""
    return {
        "config": scipy_openblas_get_config().decode(),
        "corename": scipy_openblas_get_corename().decode(),
        "threads": scipy_openblas_get_num_threads(),
    }
