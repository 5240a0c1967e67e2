"""Build the compiled kernels of tinygpt-backend-cpu (driven by pyproject.toml, PEP 517).

Every `src/tinygpt_backend_cpu/*.pyx` becomes one extension module, compiled with:

- `-O3`: loop vectorization (SSE2, the x86-64 baseline, so wheels run on any x86-64 CPU);
- `-fno-math-errno`: lets libm calls like sqrt inline to one instruction (errno is never
  read here);
- `-fno-trapping-math`: lets loops with conditional expressions (clamps, selects)
  vectorize; results are unchanged, only floating-point exception flags go unobserved.
  NOT `-ffast-math`: that would break nan/inf semantics (max, isnan, sums);
- `-fwrapv`: integer overflow wraps, as in NumPy, instead of being undefined behaviour;
- `-fopenmp`: the parallel loops. The build FAILS, loudly, if the compiler cannot do OpenMP:
  a silently serial backend would be a performance bug nobody notices.

Matmul calls OpenBLAS from the `scipy-openblas32` wheel (symbols prefixed `scipy_`). The
extensions find `libscipy_openblas.so` through an $ORIGIN-relative rpath into that package,
and the package's `__init__` loads the library globally first (an editable install's
$ORIGIN has no `scipy_openblas32` beside it), so any extension module imports on its own.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import scipy_openblas32
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "src" / "tinygpt_backend_cpu"

COMPILE_ARGS = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fwrapv", "-fopenmp"]
RANDOM_ARGS = ["-ffp-contract=off"]
LINK_ARGS = [
    "-fopenmp",
    # site-packages/tinygpt_backend_cpu/x.so -> site-packages/scipy_openblas32/lib
    "-Wl,-rpath,$ORIGIN/../scipy_openblas32/lib",
]
# TINYGPT_CPU_SANITIZE=1 (nox -s asan) builds with AddressSanitizer and UBSan, with debug info
# and frame pointers for readable reports; Python then needs libasan in LD_PRELOAD.
if os.environ.get("TINYGPT_CPU_SANITIZE") == "1":
    SANITIZE = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g"]
    COMPILE_ARGS += ["-O1", *SANITIZE]  # the later -O1 wins over -O3
    LINK_ARGS += SANITIZE

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,  # kernels index raw pointers; core validated every shape
    "wraparound": False,
    "cdivision": True,  # C division: x / 0.0 is inf (as in NumPy), not ZeroDivisionError
    "initializedcheck": False,
    "embedsignature": True,
}

OPENMP_PROBE = r"""
#include <omp.h>
#ifndef _OPENMP
#error "_OPENMP is not defined"
#endif
int main(void) {
    int threads = 0;
    #pragma omp parallel reduction(+:threads)
    threads += 1;
    return threads > 0 ? 0 : 1;
}
"""


class BuildExtWithOpenMP(build_ext):
    """build_ext that first proves the compiler can build and link an OpenMP program."""

    def build_extensions(self) -> None:
        check_openmp(self.compiler)
        if not self.parallel:
            self.parallel = os.cpu_count() or 1  # the modules are independent
        super().build_extensions()


def check_openmp(compiler) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="tinygpt-openmp-"))
    try:
        source = workdir / "probe.c"
        source.write_text(OPENMP_PROBE)
        flags = ["-fopenmp"]
        objects = compiler.compile([str(source)], output_dir=str(workdir), extra_postargs=flags)
        compiler.link_executable(objects, "probe", output_dir=str(workdir), extra_postargs=flags)
    except Exception as error:  # noqa: BLE001 - any failure means no OpenMP
        message = (
            "\n"
            "tinygpt-backend-cpu: the C compiler cannot build OpenMP code (-fopenmp failed).\n"
            "This backend refuses to build without OpenMP rather than silently run on one\n"
            "core. Install a compiler with OpenMP (gcc; or clang + libomp) and retry.\n"
            f"compiler: {' '.join(compiler.compiler_so)}\n"
            f"error: {error}\n"
        )
        sys.stderr.write(message)
        raise SystemExit(message) from error
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def extensions() -> list[Extension]:
    openblas = {
        "include_dirs": [scipy_openblas32.get_include_dir(), str(PACKAGE)],  # + vecmath.h
        "library_dirs": [scipy_openblas32.get_lib_dir()],
        "libraries": [scipy_openblas32.get_library()],
    }
    headers = [str(h.relative_to(HERE)) for h in sorted(PACKAGE.glob("*.h"))]
    modules = []
    for pyx in sorted(PACKAGE.glob("*.pyx")):
        name = f"tinygpt_backend_cpu.{pyx.stem}"
        source = str(pyx.relative_to(HERE))
        modules.append(
            Extension(
                name,
                [source],
                # NOTE: the C headers are included from the generated .c files, which Cython
                # does not see change: listing them rebuilds every module when one is edited
                depends=headers,
                # random.pyx must round every operation as core's spec does: no fused
                # multiply-add (-ffp-contract is on by default wherever FMA exists)
                extra_compile_args=COMPILE_ARGS + (RANDOM_ARGS if pyx.stem == "random" else []),
                extra_link_args=LINK_ARGS,
                **openblas,
            )
        )
    return cythonize(
        modules, compiler_directives=DIRECTIVES, include_path=[str(HERE / "src")], quiet=True
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExtWithOpenMP})
