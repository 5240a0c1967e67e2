"""The CUDA backend's kernels, run on the CPU: the real kernels behind the real glue.

1. Each rendered kernel source (`tinygpt_backend_cuda.sources`) is taken unchanged except for
   a few checked rewrites (`host_source`): CUDA's qualifiers become plain C++, the two PTX
   float16 conversions become the host's IEEE half conversions (both round to nearest even),
   `extern __shared__` becomes the launch's dynamic shared buffer, and GRID_STRIDE_LOOP
   strides over the grid inside a block and runs every iteration when called directly.
2. It is compiled with the host C++ compiler into a shared library (`HostCompiler`), batched
   and cached by content hash, after `cuda_host_shims.h` (CUDA's intrinsics) and
   `cuda_host_blocks.h` (the thread-block runtime).
3. The real `CudaBackend` is built (`emulated_backend`) with only two things replaced: the
   kernel lookup (`launch.kernel`, as backend.py, fused.py and errors.py imported it) returns a
   `HostKernel`, and the few CuPy calls that allocate or copy memory go to NumPy
   (`HOST_CUPY`), so NumPy arrays stand in for device buffers.

Two kinds of kernel. A grid-stride kernel (every element computed by one loop iteration that
reads nothing another writes) runs as one call doing every iteration in order. A block kernel
(one that mentions `BLOCK_FEATURES`: shared memory, `__syncthreads`, warp shuffles,
`block_reduce`, thread indices) runs every thread of every block as a fiber: barriers and
shuffles are real, `__shared__` is one copy per block, the dynamic shared buffer has exactly
the launch's size, NaN-poisoned before each block and followed by a canary. Between barriers
the threads run in the order `schedule` sets (forward, reverse, shuffled, warp-greedy), since
a missing barrier shows only under some orders; a barrier that can never complete raises
`BlockError` with every thread's state.

A `HostKernel` checks each launch as strictly as CUDA would need it right: the argument count,
each pointer's element type against the kernel's C parameter, each scalar's exact width
(`numpy.float32` for ``float``: a Python float would be passed as a double on a GPU), views
inside their buffers, and the launch shape (grid-stride kernels: blocks of `launch.THREADS`;
block kernels: at most 1024 threads and 48 KiB of dynamic shared memory). Atomics run as
plain read-modify-writes, exact here because fibers switch only at barriers.

What it does not catch: races between threads that no barrier orders differently in any of
the four orders, memory-model effects (warps really run concurrently on a GPU), cuBLAS (matmul
is CuPy's, not ours), and differences between CUDA's and the host's math library (erf, tanh,
... agree to a few ulp).
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import hashlib
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tinygpt.backend.checks import install_checks
from tinygpt_backend_cuda import backend as cuda_backend
from tinygpt_backend_cuda import errors, fused, launch, sources, views

__all__ = [
    "BLOCK_FEATURES",
    "HOST_CUPY",
    "HostCompiler",
    "HostKernel",
    "HostKernels",
    "NotEmulated",
    "emulatable",
    "emulated_backend",
    "find_compiler",
    "host_source",
    "kernels_of",
]

#: what a kernel body may not mention to run here: all of them need the rest of its block
BLOCK_FEATURES = (
    "__shared__",
    "__syncthreads",
    "__shfl",
    "block_reduce",
    "threadIdx",
    "blockIdx",
    "blockDim",
    "gridDim",
)

#: compiled first, before every kernel source: what CUDA provides and plain C++ does not, and
#: the thread-block runtime (every thread a fiber)
HOST_SHIMS = "".join(
    (Path(__file__).parent / name).read_text()
    for name in ("cuda_host_shims.h", "cuda_host_blocks.h")
)

#: prelude text -> its host replacement; each must occur exactly once (else the prelude changed
#: and this module must follow it: `host_source` says so)
PRELUDE_REWRITES = {
    'asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));': "f = host_h2f(h);",
    'asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));': "h = host_f2h(f);",
}
#: after the prelude: a grid-stride kernel called directly runs every iteration in order on
#: one host thread; inside a block's fibers the loop strides as on the GPU
HOST_LOOP = """#undef GRID_STRIDE_LOOP
#define GRID_STRIDE_LOOP(i, n) \\
    for (i64 i = host_in_fiber ? blockIdx.x * (i64)blockDim.x + threadIdx.x : 0; i < (n); \\
         i += host_in_fiber ? (i64)gridDim.x * blockDim.x : 1)
"""
#: `extern __shared__ T name[];` (dynamic shared memory) -> the launch's buffer
_EXTERN_SHARED = re.compile(r"extern __shared__ (\w+) (\w+)\[\];")
#: a block kernel's entry point: runs the renamed kernel as every thread of every block
_BLOCK_LAUNCHER = """
extern "C" int {name}{suffix}__launch(const HostLaunch* launch, {params}) {{
    std::function<void()> body = [&]() {{ {name}{suffix}__thread({args}); }};
    return host_launch(launch, body);
}}
"""

#: a kernel parameter's C type -> the NumPy type its argument must have
C_TYPES = {
    "f16": np.float16,
    "float": np.float32,
    "double": np.float64,
    "int": np.int32,
    "i64": np.int64,
    "bool": np.bool_,
    "unsigned long long": np.uint64,
}
CTYPES_OF = {
    np.float32: ctypes.c_float,
    np.float64: ctypes.c_double,
    np.int32: ctypes.c_int32,
    np.int64: ctypes.c_int64,
    np.bool_: ctypes.c_bool,
    np.uint64: ctypes.c_uint64,
}
_KERNEL_HEAD = re.compile(r'extern "C" __global__ void (\w+)\((.*?)\)\s*\{', re.S)


class NotEmulated(RuntimeError):
    """A kernel that needs a real GPU: it uses its block's other threads."""


# ------------------------------------------------------------------------ kernel sources
@dataclass(frozen=True)
class Param:
    ctype: str  # "float", "i64", "unsigned long long", ...
    pointer: bool
    name: str


@dataclass(frozen=True)
class KernelText:
    name: str
    params: tuple[Param, ...]
    body: str


def kernels_of(source: str) -> dict[str, KernelText]:
    """Every ``extern "C" __global__`` kernel of a rendered source, by name."""
    found = {}
    for match in _KERNEL_HEAD.finditer(source):
        params = tuple(_param(text) for text in match.group(2).split(","))
        found[match.group(1)] = KernelText(match.group(1), params, _body(source, match.end()))
    return found


def _param(text: str) -> Param:
    *words, name = text.replace("*", " * ").split()
    pointer = "*" in words
    words = [w for w in words if w not in ("const", "*", "__restrict__")]
    return Param(" ".join(words), pointer, name)


def _body(source: str, start: int) -> str:
    """The text from `start` (just past a kernel's opening brace) to its closing brace."""
    depth = 1
    for end in range(start, len(source)):
        depth += {"{": 1, "}": -1}.get(source[end], 0)
        if depth == 0:
            return source[start:end]
    raise ValueError("unbalanced braces in a kernel source")


def block_features(kernel: KernelText) -> list[str]:
    """The features in `BLOCK_FEATURES` that `kernel`'s body uses (empty: it can run here)."""
    return [feature for feature in BLOCK_FEATURES if feature in kernel.body]


def emulatable(source: str) -> bool:
    """Whether every kernel of `source` is a plain grid-stride loop (compiled whole, or not)."""
    return all(not block_features(k) for k in kernels_of(source).values())


def host_source(source: str, suffix: str = "") -> str:
    """`source` as host C++: the prelude's checked rewrites, the host loop, and every kernel
    renamed ``name + suffix`` (so many sources can share one library)."""
    prelude = sources._prelude()
    if source.count(prelude) != 1 or "#define GRID_STRIDE_LOOP" not in prelude:
        raise AssertionError("cuda_host: the kernel source no longer starts with the prelude")
    for old, new in PRELUDE_REWRITES.items():
        if prelude.count(old) != 1:
            raise AssertionError(f"cuda_host: prelude.cuh changed; update PRELUDE_REWRITES: {old}")
        prelude = prelude.replace(old, new)
    text = source.replace(sources._prelude(), prelude + HOST_LOOP)
    text = _EXTERN_SHARED.sub(r"#define \2 (host_shared<\1>())", text)
    launchers = []
    for match in _KERNEL_HEAD.finditer(source):
        name, params = match.group(1), match.group(2)
        head = f'extern "C" __global__ void {name}('
        if not block_features(kernels_of(source)[name]):
            text = text.replace(head, f'extern "C" void {name}{suffix}(')
            continue
        text = text.replace(head, f"static void {name}{suffix}__thread(")
        args = ", ".join(_param(part).name for part in params.split(","))
        launchers.append(_BLOCK_LAUNCHER.format(name=name, suffix=suffix, params=params, args=args))
    return text + "".join(launchers)


def source_key(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- compiling
def find_compiler() -> str | None:
    """The host C++ compiler: $CXX, else g++ or c++ on PATH."""
    wanted = os.environ.get("CXX")
    if wanted:
        return shutil.which(wanted)
    return shutil.which("g++") or shutil.which("c++")


class HostCompiler:
    """Compiles kernel sources into shared libraries under `cache_dir`, keyed by content.

    Sources are compiled in batches (one translation unit each, every source in its own
    namespace), the batches in parallel; a batch already in the cache is just loaded.
    """

    #: -fwrapv: integer overflow wraps, as it does on the GPU (in C++ it is undefined)
    #: -U_FORTIFY_SOURCE: the fibers switch stacks with _longjmp, which fortify refuses
    FLAGS = ("-std=c++17", "-O1", "-fPIC", "-shared", "-fwrapv", "-U_FORTIFY_SOURCE", "-x", "c++")

    def __init__(self, compiler: str, cache_dir: Path) -> None:
        self.compiler = compiler
        self.cache_dir = Path(cache_dir)
        self.symbols: dict[str, tuple[ctypes.CDLL, str]] = {}  # source key -> (library, suffix)

    def compile(self, texts: list[str], batches: int | None = None) -> None:
        """Compile every source of `texts` (all must be `emulatable`)."""
        todo = sorted({source_key(text): text for text in texts}.items())
        todo = [(key, text) for key, text in todo if key not in self.symbols]
        if not todo:
            return
        count = batches or min(len(todo), 4 * (os.cpu_count() or 1))
        groups = [todo[n::count] for n in range(count)]
        with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            libraries = list(pool.map(self._library, groups))
        for group, library in zip(groups, libraries, strict=True):
            for key, _ in group:
                self.symbols[key] = (library, f"__{key}")

    def _library(self, group: list[tuple[str, str]]) -> ctypes.CDLL:
        parts = [HOST_SHIMS]
        for key, text in group:
            parts.append(f"namespace s{key} {{\n{host_source(text, f'__{key}')}\n}}\n")
        unit = "".join(parts)
        command = [self.compiler, *self.FLAGS]
        digest = hashlib.sha256((" ".join(command) + unit).encode()).hexdigest()[:20]
        library = self.cache_dir / f"kernels-{digest}.so"
        if not library.exists():
            self._build(command, unit, library)
        return ctypes.CDLL(str(library))

    def _build(self, command: list[str], unit: str, library: Path) -> None:
        code = library.with_suffix(".cpp")
        code.write_text(unit)
        partial = library.with_suffix(f".{os.getpid()}.tmp")
        result = subprocess.run(
            [*command, str(code), "-o", str(partial)], capture_output=True, text=True
        )
        if result.returncode != 0:
            # a failed compile is a failed test, never a skip: the kernels must build
            pytest.fail(f"cuda_host: {self.compiler} failed on {code}:\n{result.stderr[-6000:]}")
        os.replace(partial, library)  # atomic: a concurrent run never loads half a library

    def library_of(self, source: str) -> tuple[ctypes.CDLL, str]:
        """(the library holding `source`, the suffix of its kernels' names)."""
        key = source_key(source)
        if key not in self.symbols:
            self.compile([source], batches=1)  # a source outside `sources.all_sources`
        return self.symbols[key]

    def function(self, source: str, name: str):
        library, suffix = self.library_of(source)
        return getattr(library, name + suffix)


# ------------------------------------------------------------------------------ kernels
class BlockError(RuntimeError):
    """A block kernel went wrong in a way a GPU would hang or corrupt on (a deadlocked
    barrier, a write past dynamic shared memory); the message lists the threads' states."""


class HostLaunch(ctypes.Structure):
    """cuda_host_blocks.h's HostLaunch."""

    _fields_ = [
        ("grid", ctypes.c_uint * 3),
        ("block", ctypes.c_uint * 3),
        ("shared_bytes", ctypes.c_longlong),
        ("schedule", ctypes.c_int),
        ("seed", ctypes.c_uint),
    ]


#: the orders in which a block's threads run between barriers (cuda_host_blocks.h)
SCHEDULES = {"forward": 0, "reverse": 1, "shuffled": 2, "warp-greedy": 3}
#: the order every block kernel launch uses now (see `schedule`)
_ORDER = {"name": "forward", "seed": 0}
#: CUDA's limits for a launch: threads per block, dynamic shared memory without opting in
MAX_THREADS, MAX_DYNAMIC_SHARED = 1024, 48 * 1024


@contextmanager
def schedule(name: str, seed: int = 0) -> Iterator[None]:
    """Run block kernels with the threads of each block in order `name` (see SCHEDULES)."""
    before = dict(_ORDER)
    _ORDER.update(name=name, seed=seed)
    try:
        yield
    finally:
        _ORDER.update(before)


class HostKernel:
    """One kernel, callable the way CuPy's RawKernel is: ``kernel(grid, block, args)``.

    A grid-stride kernel is one call that runs every iteration; a block kernel (`block`) runs
    every thread of every block as a fiber, in the order `schedule` set.
    """

    def __init__(self, text: KernelText, library, suffix: str, calls: Counter) -> None:
        self.text = text
        self.name = text.name
        self.block = bool(block_features(text))
        if self.block:
            self.function = getattr(library, f"{self.name}{suffix}__launch")
            self.function.restype = ctypes.c_int
            self.last_error = library.host_last_error
            self.last_error.restype = ctypes.c_char_p
        else:
            self.function = getattr(library, self.name + suffix)
            self.function.restype = None
        self.calls = calls

    def __call__(self, grid: tuple, block: tuple, args: tuple, shared_mem: int = 0) -> None:
        self._check_launch(grid, block, shared_mem)
        params = self.text.params
        if len(args) != len(params):
            raise TypeError(f"{self.name}: {len(args)} arguments, the kernel takes {len(params)}")
        values = [self._argument(n, param, arg) for n, (param, arg) in enumerate(zip(params, args))]
        self._check_views(args)
        self.calls[self.name] += 1
        if not self.block:
            self.function(*values)
            return
        dims = [(tuple(shape) + (1, 1))[:3] for shape in (grid, block)]
        config = HostLaunch(
            (ctypes.c_uint * 3)(*dims[0]),
            (ctypes.c_uint * 3)(*dims[1]),
            shared_mem,
            SCHEDULES[_ORDER["name"]],
            _ORDER["seed"],
        )
        if self.function(ctypes.byref(config), *values) != 0:
            raise BlockError(f"{self.name}: {self.last_error().decode()}")

    def _check_launch(self, grid: tuple, block: tuple, shared_mem: int) -> None:
        if not self.block:  # the glue launches grid-stride loops one way only
            if block != (launch.THREADS,) or len(grid) != 1 or shared_mem != 0:
                raise ValueError(f"{self.name}: launch {grid} x {block}, shared {shared_mem}")
        threads = int(np.prod(block))
        if not 1 <= threads <= MAX_THREADS or not 0 <= shared_mem <= MAX_DYNAMIC_SHARED:
            raise ValueError(f"{self.name}: block {block}, {shared_mem} bytes of shared memory")
        if not 1 <= grid[0] <= launch.MAX_BLOCKS or any(g < 1 for g in grid):
            raise ValueError(f"{self.name}: grid {grid}, not in 1..{launch.MAX_BLOCKS} blocks")

    def _check_views(self, args: tuple) -> None:
        """Every view (a buffer `xp` with its meta `xm`) lies inside its buffer.

        NOTE: the host has no illegal-address error: a read outside a NumPy buffer is garbage
        or a segfault. This catches the glue's side of that (a meta that does not fit its buffer).
        """
        params = self.text.params
        for n in range(len(params) - 1):
            buffer, meta = params[n], params[n + 1]
            if not (buffer.pointer and buffer.name.endswith("p") and meta.ctype == "i64"):
                continue
            if meta.name != buffer.name[:-1] + "m":
                continue
            low, high = _reach(args[n + 1])
            if low < high and (low < 0 or high > len(args[n])):
                raise IndexError(
                    f"{self.name}: view {buffer.name} reaches elements [{low}, {high}) of a "
                    f"buffer of {len(args[n])}"
                )

    def _argument(self, n: int, param: Param, arg):
        expected = C_TYPES[param.ctype]
        where = f"{self.name} argument {n} ({param.ctype}{' *' if param.pointer else ''})"
        if param.pointer:
            if not isinstance(arg, np.ndarray) or arg.ndim != 1:
                raise TypeError(f"{where}: expected a 1-D buffer, got {type(arg).__name__}")
            if arg.dtype != expected or not arg.flags.c_contiguous:
                raise TypeError(
                    f"{where}: expected contiguous {np.dtype(expected)}, got {arg.dtype}"
                )
            return ctypes.c_void_p(arg.ctypes.data)
        if type(arg) is not expected:
            raise TypeError(f"{where}: expected {expected.__name__}, got {type(arg).__name__}")
        return CTYPES_OF[expected](arg.item())


def _reach(meta: np.ndarray) -> tuple[int, int]:
    """[first, last + 1) buffer elements a view's meta array can address (empty: equal)."""
    ndim, offset = int(meta[0]) & views.META_NDIM, int(meta[1])
    shape, strides = meta[2 : 2 + ndim], meta[2 + ndim : 2 + 2 * ndim]
    if any(size == 0 for size in shape):
        return offset, offset
    spans = [(size - 1) * stride for size, stride in zip(shape, strides)]
    low = offset + sum(min(0, int(span)) for span in spans)
    high = offset + sum(max(0, int(span)) for span in spans)
    return low, high + 1


class HostKernels:
    """The stand-in for `launch.kernel(source, name)`: compiled host kernels, looked up."""

    def __init__(self, compiler: HostCompiler) -> None:
        self.compiler = compiler
        self.calls: Counter = Counter()
        self._cache: dict[tuple[str, str], HostKernel] = {}

    def __call__(self, source: str, name: str) -> HostKernel:
        cached = self._cache.get((source, name))
        if cached is None:
            text = kernels_of(source).get(name)
            if text is None:
                raise KeyError(f"cuda_host: no kernel {name!r} in {source.splitlines()[0]}")
            library, suffix = self.compiler.library_of(source)
            cached = HostKernel(text, library, suffix, self.calls)
            self._cache[(source, name)] = cached
        return cached


def emulatable_sources() -> dict[str, str]:
    """label -> source for every instantiation in `sources.all_sources` (all run here now:
    grid-stride kernels as one loop, block kernels as fibers)."""
    return dict(sources.all_sources())


# ------------------------------------------------------------------------------- memory
class _HostCupy:
    """The CuPy calls the backend's glue makes for memory, done by NumPy on the host."""

    @staticmethod
    def empty(size, dtype) -> np.ndarray:
        return np.empty(size, dtype)

    @staticmethod
    def full(size, value, dtype) -> np.ndarray:
        return np.full(size, value, dtype)

    @staticmethod
    def asarray(array) -> np.ndarray:
        return np.array(array)  # host -> "device" is a copy, as cupy.asarray(numpy) is

    @staticmethod
    def asnumpy(array) -> np.ndarray:
        return np.array(array)  # "device" -> host is a copy too

    class _Pool:
        """CuPy's memory pool's counters: host "device" buffers are NumPy's, uncounted."""

        def used_bytes(self) -> int:
            return 0

        def total_bytes(self) -> int:
            return 0

        def free_all_blocks(self) -> None:
            pass

    _pool = _Pool()

    @classmethod
    def get_default_memory_pool(cls) -> _HostCupy._Pool:
        return cls._pool

    class cuda:  # noqa: N801 - mirrors cupy.cuda
        class Device:
            def __init__(self, index: int = 0) -> None:
                self.index = index

            def synchronize(self) -> None:
                pass

    def __getattr__(self, name: str):
        raise NotEmulated(f"cupy.{name} has no host stand-in (only memory calls do)")


HOST_CUPY = _HostCupy()


@contextmanager
def emulated_backend(kernels: HostKernels) -> Iterator[cuda_backend.CudaBackend]:
    """The real `CudaBackend`, in check mode, over NumPy buffers and host-compiled kernels.

    NOTE: patches module globals of tinygpt_backend_cuda for the duration (restored after).
    """
    with pytest.MonkeyPatch.context() as patch:
        for module in (cuda_backend, fused, errors):
            patch.setattr(module, "kernel", kernels)
        for module in (cuda_backend, fused, views, errors):
            patch.setattr(module, "cupy", HOST_CUPY)
        yield install_checks(cuda_backend.CudaBackend())
