"""Tests of the layering checker (tests/contract/layers.py) on small planted source trees.

Each rule must find a planted violation, with the right rule and line, and pass a clean file,
so that the checker cannot silently pass everything. The real tree is checked by `nox -s lint`.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest


def _load_layers():
    # NOTE: the suite imports test files in importlib mode, so a sibling module is not on
    # sys.path: load it by path (registered first, as dataclasses and NamedTuples need).
    spec = importlib.util.spec_from_file_location("layers", Path(__file__).with_name("layers.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules["layers"] = module
    spec.loader.exec_module(module)
    return module


layers = _load_layers()

CORE = "tinygpt-core/src/tinygpt"
NN = "tinygpt-nn/src/tinygpt/nn"
GPT = "tinygpt-gpt/src/tinygpt/gpt"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A checkout with a few core modules, so that submodule imports can be told from names."""
    for path in [
        "__init__.py",
        "tensor.py",
        "device.py",
        "errors.py",
        "ndarray.py",
        "host.py",
        "creation.py",
        "ops/__init__.py",
        "ops/fused.py",
        "autograd/__init__.py",
        "autograd/function.py",
    ]:
        plant(tmp_path, f"{CORE}/{path}", "")
    return tmp_path


def plant(root: Path, path: str, source: str) -> None:
    file = root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(textwrap.dedent(source))


def found(root: Path, path: str, source: str) -> list[tuple[str, int, str]]:
    """Plant `source` at `path` and return (rule, line, message) of its violations."""
    plant(root, path, source)
    _, violations = layers.check(root)
    return [(v.rule, v.line, v.message) for v in violations if v.path == path]


def rules_and_lines(root: Path, path: str, source: str) -> list[tuple[str, int]]:
    return [(rule, line) for rule, line, _ in found(root, path, source)]


# --- public-api -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "import tinygpt.ops",
        "from tinygpt.ops import fused",
        "from tinygpt import ops",
        "from tinygpt import ndarray",
        "from tinygpt.errors import ShapeError",
        "from tinygpt.autograd.function import Function",
        "from tinygpt.autograd import function",
        "from tinygpt import _missing",
        "from ...ops import fused",  # from tinygpt/nn/layers/: tinygpt.ops
        "from ... import host",
    ],
)
def test_public_api_flags_core_private_imports(root, statement):
    source = f'"""doc"""\n\n{statement}\n'
    assert rules_and_lines(root, f"{NN}/layers/linear.py", source) == [("public-api", 3)]


def test_public_api_flags_imports_inside_functions(root):
    source = """\
        def f():
            if True:
                from tinygpt.host import to_numpy
    """
    assert rules_and_lines(root, f"{GPT}/model.py", source) == [("public-api", 3)]


def test_public_api_passes_public_imports(root):
    source = """\
        import tinygpt
        import tinygpt as tg
        import tinygpt.nn.functional as F
        from tinygpt import Tensor, ShapeError, nn, optim, tensor, device
        from tinygpt.autograd import Function, grad
        from tinygpt.data import DataLoader
        from tinygpt.gpt import GPT
        from tinygpt.plugins import hookimpl
        from . import functional
        from ..optim import SGD
        from ._files import read
        import numpy as np
    """
    assert found(root, f"{NN}/layers/linear.py", source) == []


# --- ndarray-access -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "p.grad._data",
        "x.backend",
        "b.fused_ops",
        "p._data",
        "p._data.compact()",
        "self.weight._data",
        "NDArray",
    ],
)
def test_ndarray_access_flags_backend_and_ndarray_use(root, expression):
    source = f"def f(p, x, b):\n    y = 1\n    return {expression}\n"
    assert rules_and_lines(root, f"{NN}/optim_like.py", source) == [("ndarray-access", 3)]


def test_ndarray_access_passes_tensor_use(root):
    source = """\
        def step(self, p):
            batch = self.data.train  # a dataset, not a tensor
            p.data = p.data - p.grad
            p.data.view(2, 3).mul_(0.5)  # Tensor.data is a Tensor, as PyTorch's
            return p.view(2, 3).strides_like, self.data.val, p.offset
    """
    assert found(root, f"{GPT}/training.py", source) == []


# --- numpy-in-core --------------------------------------------------------------------------


def test_numpy_in_core_flags_numpy_outside_host_transfer(root):
    source = """\
        import math

        def index(x):
            from numpy import asarray
            return asarray(x)
    """
    assert rules_and_lines(root, f"{CORE}/ops/indexing.py", source) == [("numpy-in-core", 4)]


@pytest.mark.parametrize(
    "path", ["host.py", "serialization.py", "testing/helpers.py", "autograd/gradcheck.py"]
)
def test_numpy_in_core_passes_allowed_files(root, path):
    assert found(root, f"{CORE}/{path}", "import numpy as np\n") == []


# --- tensor-imports-ops ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement", ["from .ops import fused", "from . import ops", "import tinygpt.ops.math"]
)
def test_tensor_imports_ops_is_flagged(root, statement):
    source = f"import builtins\n\n\nclass Tensor:\n    def f(self):\n        {statement}\n"
    path = f"{CORE}/tensor.py"
    assert ("tensor-imports-ops", 6) in rules_and_lines(root, path, source)


def test_tensor_imports_ops_passes_other_imports_and_other_files(root):
    assert found(root, f"{CORE}/tensor.py", "from .ndarray import NDArray\n") == []
    assert found(root, f"{CORE}/creation.py", "from .ops import fused\n") == []


# --- hidden-import --------------------------------------------------------------------------


def test_hidden_import_flags_tinygpt_imports_in_functions(root):
    source = """\
        from .tensor import Tensor

        class Op:
            def forward(self):
                from ..creation import zeros
                return zeros
    """
    assert rules_and_lines(root, f"{CORE}/ops/fused.py", source) == [("hidden-import", 5)]
    assert found(root, f"{CORE}/viz.py", "def f():\n    import tinygpt\n")[0][:2] == (
        "hidden-import",
        2,
    )


def test_hidden_import_passes_third_party_and_exempt_files(root):
    source = """\
        def f():
            import importlib
            import numpy as np
            import tinygpt_backend_numpy
            return importlib, np, tinygpt_backend_numpy
    """
    assert found(root, f"{CORE}/host.py", source) == []
    lazy = "def command():\n    from .backend.registry import backends\n"
    assert found(root, f"{CORE}/cli.py", lazy) == []
    assert found(root, f"{CORE}/backend/registry.py", "def f():\n    from . import kernels\n") == []
    assert found(root, f"{CORE}/testing/helpers.py", lazy) == []


# --- the script -----------------------------------------------------------------------------


def test_main_reports_grouped_violations_and_exit_status(root, capsys):
    assert layers.main([str(root)]) == 0
    assert capsys.readouterr().out.strip().endswith("11 files checked, 0 violations")

    plant(root, f"{NN}/bad.py", "from tinygpt.ops import fused\n")
    assert layers.main([str(root)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("# public-api (1):")
    assert (
        out[1] == f"{NN}/bad.py:1: public-api: imports tinygpt.ops; use the public names of tinygpt"
    )
    assert out[-1] == "layers: 12 files checked, 1 violations"
