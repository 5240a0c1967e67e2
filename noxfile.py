"""Every check a developer or CI runs, as named nox sessions.

    nox                            # the default sessions: lint, typecheck, tests
    nox -s tests -- -k matmul -x   # arguments after `--` go to pytest
    nox -s wheels                  # build all six wheels, smoke-test core + numpy in a fresh venv
    nox -s bench -- --quick        # benchmarks; `-- --with-torch` (or BENCH_TORCH=1) adds PyTorch
    nox -s fuzz                    # the differential fuzzer, long (tests/fuzz; quick in `tests`)
    nox -s asan                    # cpu backend under AddressSanitizer + UBSan: kit + fuzzer
    nox -s cuda_emulate            # CUDA kernels on the CPU, block threads in every order
    nox -s oracle                  # every comparison with PyTorch, tiktoken and regex
    nox --list                     # what there is

Each session builds a fresh virtual environment from the files in this repository, so what
passes here passes on a clean machine (.ci/run does exactly this).
"""

from __future__ import annotations

import os
import shutil
import tomllib
import zipfile
from pathlib import Path

import nox
from packaging.requirements import Requirement

nox.needs_version = ">=2025.2.9"  # for nox.project.dependency_groups
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "no"  # always start from a clean venv, as CI does
nox.options.error_on_external_run = True  # a tool missing from the venv is an error, not a leak
nox.options.sessions = ["lint", "typecheck", "tests"]

ROOT = Path(__file__).resolve().parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
DEV_DEPENDENCIES = nox.project.dependency_groups(PYPROJECT, "dev")

# The six distributions, one folder each; the folder name is the distribution name.
CORE = "tinygpt-core"
NUMPY_BACKEND = "tinygpt-backend-numpy"
DISTRIBUTIONS = [
    CORE,
    NUMPY_BACKEND,
    "tinygpt-backend-cpu",
    "tinygpt-backend-cuda",
    "tinygpt-nn",
    "tinygpt-gpt",
]

# PyTorch only for the benchmarks (on request) and `nox -s oracle`, only this exact version.
TORCH = "torch==2.13.0"
# The safetensors reference implementation: interop tests only, never a runtime dependency.
SAFETENSORS = "safetensors"
# The references `nox -s oracle` compares with besides torch: tokenizers (tiktoken, regex) and
# GPT-2 checkpoints and tokenizer files as transformers writes and reads them.
ORACLES = ["tiktoken", "regex", "transformers"]
ORACLE_IMPORT_CHECK = (
    "import torch, tiktoken, regex, transformers; "
    f"assert torch.__version__.split('+')[0] == {TORCH.split('==')[1]!r}, torch.__version__; "
    "print('oracle: torch', torch.__version__, '| tiktoken', tiktoken.__version__)"
)


# --- sessions -------------------------------------------------------------------------------


@nox.session
def lint(session: nox.Session) -> None:
    """Lint and check formatting with ruff (root pyproject.toml), then check the layering."""
    session.install(*dev_dependencies("ruff"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # The layering contract (DESIGN §8): nn and gpt use only public core API, core touches
    # NumPy only for host transfer and file I/O. Standard library only, so ruff's venv runs it.
    session.run("python", "tests/contract/layers.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check tinygpt-core with mypy (configured in the root pyproject.toml)."""
    # The [test] extra brings pytest and hypothesis, which tinygpt.testing imports.
    session.install("-e", f"./{CORE}[test]", *dev_dependencies("mypy"))
    session.run("mypy", f"{CORE}/src/tinygpt")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite on every available backend, then the conformance kit per backend."""
    # safetensors: a test extra only, so tests/core/test_checkpoint_nested.py can check that
    # files go both ways between tg.save/tg.load and the reference implementation
    session.install(*editable(installable_distributions()), *DEV_DEPENDENCIES, SAFETENSORS)
    # the [mpi] extra, so that tests/distributed runs its multi-process tests, not skips them
    session.install("-e", f"./{CORE}[mpi]")

    # NOTE: pytest exits with 5 when it collects no tests. nox's default success_codes=[0]
    # turns that into a failure, and it must stay that way: a suite that silently collects
    # nothing must not pass. Do not add success_codes here.
    session.run("pytest", *session.posargs)

    # The suite above already parametrizes over every available backend (the `device`
    # fixture); the conformance kit checks each backend against the protocol on its own.
    for name in available_backends(session):
        session.run("pytest", "--pyargs", "tinygpt.testing", f"--tinygpt-backend={name}", "-q")
    if "cpu" in available_backends(session):
        # the cpu backend picks AVX-512, AVX2 or baseline SIMD code at run time; the runs
        # above used this machine's best, so the kit also checks the two it did not pick
        for level in ("avx2", "baseline"):
            kit = ("--pyargs", "tinygpt.testing", "--tinygpt-backend=cpu", "-q")
            session.run("pytest", *kit, env={"TINYGPT_CPU_SIMD": level})

    # The example third-party plugin, installed last the way a user would add one: the suite
    # above stays on the first-party backends (pure is slow and has no float16); the kit then
    # checks pure through its real entry point. tests/plugins covers it in the suite.
    session.install("-e", "./examples/tinygpt-backend-pure")
    session.run("pytest", "--pyargs", "tinygpt.testing", "--tinygpt-backend=pure", "-q")


@nox.session
def oracle(session: nox.Session) -> None:
    """Every test marked `oracle`: tinygpt against a reference implementation of the same thing
    (PyTorch for ops, layers, optimizers, hooks, GPT-2 and nanoGPT checkpoints; tiktoken,
    `regex` and transformers for GPT-2 / GPT-4 tokenization and GPT-2's file layout).
    Arguments after `--` go to pytest.

    The references are installed in this session only (never a runtime dependency): torch at
    exactly TORCH (the CPU wheel), tiktoken, regex, transformers (run offline: nothing is
    downloaded). tests/contract/test_oracle_markers.py makes sure every test that imports one
    of them carries the marker.
    """
    session.install(*editable(installable_distributions()), *DEV_DEPENDENCIES, SAFETENSORS)
    session.install(TORCH, *ORACLES)
    # NOTE: the oracle tests `pytest.importorskip` their reference, which must not quietly
    # skip here: a reference that does not import fails the session before pytest starts
    session.run("python", "-c", ORACLE_IMPORT_CHECK)
    session.run("pytest", "-m", "oracle", "-q", *session.posargs, env={"HF_HUB_OFFLINE": "1"})


@nox.session
def wheels(session: nox.Session) -> None:
    """Build a wheel of every distribution, then smoke-test core + numpy in a fresh venv."""
    session.install(*dev_dependencies("build"))
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for folder in DISTRIBUTIONS:
        # subtle: setuptools reuses a leftover build/ folder, which can smuggle files that no
        # longer exist in src/ into the wheel. So none before, and none left behind.
        shutil.rmtree(ROOT / folder / "build", ignore_errors=True)
        session.run("python", "-m", "build", "--wheel", "--outdir", str(dist), folder)
        shutil.rmtree(ROOT / folder / "build", ignore_errors=True)
    check_tinygpt_package_ownership(session, dist)

    # A venv that sees nothing of this repository: only the two wheels and their PyPI deps.
    venv = Path(session.create_tmp()).resolve() / "wheel-venv"
    shutil.rmtree(venv, ignore_errors=True)
    session.run("python", "-m", "venv", str(venv))
    python = str(venv / ("Scripts" if os.name == "nt" else "bin") / "python")
    core_wheel = find_wheel(session, dist, CORE)
    numpy_wheel = find_wheel(session, dist, NUMPY_BACKEND)
    session.run(python, "-m", "pip", "install", core_wheel, numpy_wheel, external=True)

    # Run from outside the repository so that nothing can be imported from the source tree.
    with session.chdir(venv):
        session.run(python, str(ROOT / "tests" / "contract" / "smoke.py"), external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks (arguments after `--` go to each, e.g. `-- --quick --threads 2`).

    `-- --with-torch` or BENCH_TORCH=1 also installs PyTorch to run the same workloads in it.
    """
    with_torch = "--with-torch" in session.posargs or os.environ.get("BENCH_TORCH") == "1"
    args = [arg for arg in session.posargs if arg != "--with-torch"]
    session.install(*editable(installable_distributions()))
    if with_torch:
        session.install(TORCH)
    session.run("python", "benchmarks/run.py", *args)
    session.run("python", "benchmarks/per_op.py", *args)  # µs per op on 4 elements vs torch
    session.run("python", "benchmarks/nn_layers.py", *args)  # Conv2d, LSTM, TransformerBlock
    session.run("python", "benchmarks/cpu_backend.py", *args)  # cpu backend vs machine limits
    # GPT training speed, memory and loss per backend (and PyTorch when installed)
    quick = ["--steps", "20", "--eval-batches", "2"] if "--quick" in args else []
    session.run("python", "benchmarks/gpt_train.py", *quick, *[a for a in args if a != "--quick"])
    # a GPT written the way PyTorch users write it, next to tinygpt.gpt.GPT (and PyTorch)
    session.run("python", "benchmarks/user_gpt.py", *args)
    session.run("python", "benchmarks/gelu_numpy.py", *args)  # exact vs tanh GELU (issue 21)
    # greedy decoding with the KV cache, tokens/s next to a PyTorch KV-cache loop
    session.run("python", "benchmarks/decode.py", *args)
    if with_torch:  # issue 22's table: training vs torch at its best, MFU, decode, per-op
        session.run("python", "benchmarks/cpu_report.py", *args)


@nox.session
def cuda_compile(session: nox.Session) -> None:
    """Compile every CUDA kernel instantiation with NVRTC (and nvcc if on PATH); no GPU needed.

    CuPy's NVRTC binding works without a driver; the [compile-check] extra brings CuPy and
    the NVRTC library. Also checks that `cuda` is reported unavailable, with the reason.
    Then runs the conformance kit against every kernel compiled for the CPU with the host C++
    compiler (tests/backends/cuda_host.py): grid-stride loops as one loop, block kernels with
    every thread a fiber, in two thread orders (forward, warp-greedy).
    """
    _install_cuda_check(session)
    session.run(
        "pytest",
        "tests/backends/test_cuda_compile.py",
        "tests/backends/test_cuda_host_emulation.py",
        "tests/backends/test_cuda_attention_tiled.py",
        "-q",
        *session.posargs,
    )


@nox.session
def cuda_emulate(session: nox.Session) -> None:
    """The CUDA kernels on the CPU (no GPU) with the threads of each block run in every order
    the emulation knows (forward, reverse, shuffled, warp-greedy): a missing barrier shows
    only under some. Arguments after `--` go to pytest."""
    _install_cuda_check(session)
    env = {"CUDA_HOST_ORDERS": "all"}
    tests = [
        "tests/backends/test_cuda_host_emulation.py",
        "tests/backends/test_cuda_attention_tiled.py",
    ]
    session.run("pytest", *tests, "-q", *session.posargs, env=env)


def _install_cuda_check(session: nox.Session) -> None:
    """Core, the numpy backend and the cuda backend with CuPy + NVRTC (no GPU needed)."""
    session.install(
        "-e",
        f"./{CORE}[test]",
        "-e",
        f"./{NUMPY_BACKEND}",
        "-e",
        "./tinygpt-backend-cuda[compile-check]",
    )


@nox.session
def fuzz(session: nox.Session) -> None:
    """The differential fuzzer (tests/fuzz) for long: HYPOTHESIS_PROFILE=fuzz, random, thousands
    of examples per test. Arguments after `--` go to pytest.

        nox -s fuzz                           # every installed backend, until done
        nox -s fuzz -- -k matmul -x           # one op family, stop at the first failure
        timeout -s INT 600 nox -s fuzz        # ten minutes; the summary still prints

    FUZZ_TORCH=1 also installs PyTorch, the oracle that catches bugs every backend shares.
    """
    session.install(*editable(installable_distributions()), *DEV_DEPENDENCIES)
    if os.environ.get("FUZZ_TORCH") == "1":
        session.install(TORCH)
    # NOTE: tests/conftest.py loads HYPOTHESIS_PROFILE while pytest imports it, before
    # tests/fuzz/conftest.py registers "fuzz": `-p fuzz_profiles` registers it first
    env = {"HYPOTHESIS_PROFILE": "fuzz", "PYTHONPATH": str(ROOT / "tests" / "fuzz")}
    session.run(
        "pytest", "-p", "fuzz_profiles", "tests/fuzz", "-m", "fuzz", *session.posargs, env=env
    )


@nox.session
def asan(session: nox.Session) -> None:
    """The cpu backend built with AddressSanitizer + UBSan, under its conformance kit and the
    fuzzer's quick profile. Arguments after `--` go to the fuzzer's pytest run.

    The backend is built from a copy of its folder (TINYGPT_CPU_SANITIZE=1, see its setup.py),
    so no sanitized object or module can leak into the source tree or another build.
    """
    session.install("-e", f"./{CORE}[test]", "-e", f"./{NUMPY_BACKEND}", *DEV_DEPENDENCIES)
    source = Path(session.create_tmp()).resolve() / "tinygpt-backend-cpu"
    shutil.rmtree(source, ignore_errors=True)
    junk = shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "*.so", "*.c", "*.html")
    shutil.copytree(ROOT / "tinygpt-backend-cpu", source, ignore=junk)
    session.install(str(source), env={"TINYGPT_CPU_SANITIZE": "1"})

    libasan = session.run("gcc", "-print-file-name=libasan.so", silent=True, external=True)
    libasan = libasan.strip() if isinstance(libasan, str) else ""
    env = {
        "LD_PRELOAD": libasan,
        # CPython keeps its interned objects to the end on purpose: no leak reports
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1:strict_string_checks=1",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        "TINYGPT_DEVICE": "cpu",  # the fuzzer's `device`: cpu only (numpy stays the reference)
    }
    with session.chdir(session.create_tmp()):  # no import of the unsanitized source tree
        session.run("pytest", "--pyargs", "tinygpt.testing", "--tinygpt-backend=cpu", "-q", env=env)
    session.run("pytest", "tests/fuzz", "-m", "fuzz", "-q", *session.posargs, env=env)


# --- helpers --------------------------------------------------------------------------------


def dev_dependencies(*names: str) -> list[str]:
    """The requirements for these tools from the root `dev` group, so versions live in one place.

    dev_dependencies("ruff") -> ["ruff"]
    """
    wanted = [r for r in DEV_DEPENDENCIES if Requirement(r).name in names]
    if len(wanted) != len(names):
        raise ValueError(f"not all of {names} are in the dev dependency group: {DEV_DEPENDENCIES}")
    return wanted


def read_pyproject(folder: str) -> dict:
    with open(ROOT / folder / "pyproject.toml", "rb") as file:
        return tomllib.load(file)


def declares_backend(folder: str) -> bool:
    """Whether the distribution registers a backend (a `tinygpt.backends` entry point)."""
    entry_points = read_pyproject(folder).get("project", {}).get("entry-points", {})
    return "tinygpt.backends" in entry_points


def ships_code(folder: str) -> bool:
    """False while a distribution is metadata only (`[tool.setuptools] packages = []`)."""
    setuptools = read_pyproject(folder).get("tool", {}).get("setuptools", {})
    return setuptools.get("packages") != []


def installable_distributions() -> list[str]:
    """The folders the tests and benchmarks install.

    Core and the numpy backend always; another backend as soon as it declares a
    `tinygpt.backends` entry point; tinygpt-nn and tinygpt-gpt as soon as they ship code.
    Then every local distribution those depend on, so that pip never looks a tinygpt-* name
    up on PyPI.
    """
    chosen = [CORE, NUMPY_BACKEND]
    for folder in DISTRIBUTIONS[2:]:
        if folder.startswith("tinygpt-backend-"):
            wanted = declares_backend(folder)
        else:
            wanted = ships_code(folder)
        if wanted:
            chosen.append(folder)
    for folder in chosen:  # NOTE: `chosen` grows inside the loop: dependencies of dependencies
        for requirement in read_pyproject(folder)["project"].get("dependencies", []):
            name = Requirement(requirement).name
            if name in DISTRIBUTIONS and name not in chosen:
                chosen.append(name)
    return chosen


def editable(folders: list[str]) -> list[str]:
    """pip arguments that install these folders in editable mode: ["-e", "./a", "-e", "./b"]."""
    args = []
    for folder in folders:
        args += ["-e", f"./{folder}"]
    return args


def available_backends(session: nox.Session) -> list[str]:
    """The names printed by `python -m tinygpt backends --names`, one per line."""
    # stderr=None: warnings go to the terminal instead of into the list of names.
    output = session.run("python", "-m", "tinygpt", "backends", "--names", silent=True, stderr=None)
    if not isinstance(output, str):  # nothing runs under `nox --install-only`
        return []
    names = [line.strip() for line in output.splitlines() if line.strip()]
    if not names:
        session.error("`python -m tinygpt backends --names` lists no available backend")
    return names


def find_wheel(session: nox.Session, dist: Path, distribution: str) -> str:
    """The path of the one wheel of `distribution` in `dist`."""
    found = sorted(dist.glob(f"{distribution.replace('-', '_')}-*.whl"))
    if len(found) != 1:
        session.error(f"expected one wheel of {distribution} in {dist}, found {found}")
    return str(found[0])


def check_tinygpt_package_ownership(session: nox.Session, dist: Path) -> None:
    """tinygpt-core alone ships tinygpt/__init__.py (and py.typed); nn and gpt add subpackages.

    A second tinygpt/__init__.py would overwrite core's on install (DESIGN §3).
    """
    for distribution in DISTRIBUTIONS:
        with zipfile.ZipFile(find_wheel(session, dist, distribution)) as wheel:
            files = set(wheel.namelist())
        if distribution == CORE:
            missing = {"tinygpt/__init__.py", "tinygpt/py.typed"} - files
            if missing:
                session.error(f"the {CORE} wheel lacks {sorted(missing)}")
        elif "tinygpt/__init__.py" in files:
            session.error(f"the {distribution} wheel ships tinygpt/__init__.py; only {CORE} may")
