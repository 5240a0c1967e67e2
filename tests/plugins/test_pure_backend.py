"""The example third-party backend, examples/tinygpt-backend-pure, walked like its README says.

`nox -s tests` also pip-installs it and runs the whole conformance kit against it; here it
is "installed" from its own pyproject.toml (the `site` fixture) or registered in-process.
"""

from __future__ import annotations

import ast
import sys

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.ops.attention import attention

from .conftest import PURE


def test_listed_with_its_version_and_priority_below_numpy(site):
    site.install_pure()
    result = site.run("-m", "tinygpt", "backends")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("pure "))
    assert line.split()[:4] == ["pure", "0.1.0", "yes", "-10"]
    assert "*" not in line  # installing it never changes anyone's default device
    assert "pure.attention  pure" in result.stdout  # the kernel it contributes, listed


def test_the_readme_one_liner(site):
    site.install_pure()
    env = dict(site.env, TINYGPT_DEVICE="pure")
    code = "import tinygpt as tg; print(tg.ones(2, 2) @ tg.ones(2, 2))"
    result = site.run("-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "tensor([[2., 2.],",
        "        [2., 2.]], dtype=float32, device='pure')",
    ]


def test_listing_imports_the_plugin_module_but_not_the_kernels(site):
    site.install_pure()
    code = (
        "import sys, tinygpt as tg; tg.backends(); "
        "assert 'tinygpt_backend_pure.plugin' in sys.modules; "
        "assert 'tinygpt_backend_pure.backend' not in sys.modules, 'kernels imported early'"
    )
    result = site.run("-c", code)
    assert result.returncode == 0, result.stderr


def test_the_kit_runs_against_it_through_its_entry_point(site, tmp_path):
    """A quick slice of the kit (nox runs all of it): declarations, the contributed attention,
    and float16 skipped because pure does not list it."""
    site.install_pure()
    result = site.run(
        "-m", "pytest", "--pyargs", "tinygpt.testing", "--tinygpt-backend=pure",
        "-k", "declarations or listed_fused or test_attention or (test_copy and float16)",
        "-p", "no:cacheprovider", "-q", "-rs", "--rootdir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "does not list dtype float16" in result.stdout
    assert " failed" not in result.stdout


def test_the_package_imports_nothing_but_the_standard_library_and_tinygpt():
    allowed = set(sys.stdlib_module_names) | {"tinygpt", "__future__"}
    for path in sorted((PURE / "src").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.partition(".")[0] in allowed, f"{path.name} imports {name}"


# --- in-process -------------------------------------------------------------------------------


def test_it_is_never_the_default_and_runs_when_asked(pure):
    assert tg.default_device().type != "pure"  # priority -10: below every first-party backend
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], device="pure")
    assert (x @ x.T + 1).tolist() == [[6.0, 12.0], [12.0, 26.0]]
    assert tg.float16 not in pure.dtypes
    with pytest.raises((tg.DTypeError, tg.BackendError), match="float16"):
        tg.ones(2, device="pure", dtype=tg.float16)
    with pytest.raises(tg.DTypeError, match="float16"):
        x.to(tg.float16)


def test_its_contributed_attention_is_used_and_matches_numpy(pure):
    assert "attention" in pure.fused_ops
    assert "attention" not in type(pure).fused_ops  # it came through tinygpt_register_kernels
    tg.manual_seed(0)
    q, k, v = (tg.randn(1, 2, 3, 4, device="numpy") for _ in range(3))
    expected = attention(q, k, v, causal=True).tolist()
    q, k, v = (t.to("pure").requires_grad_() for t in (q, k, v))
    out = attention(q, k, v, causal=True)
    assert out.grad_fn is not None and type(out.grad_fn).__name__ == "Attention"
    np.testing.assert_allclose(out.numpy(), np.array(expected), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    assert q.grad.shape == (1, 2, 3, 4)


def test_it_trains_a_tiny_mlp(pure):
    """Two layers, tanh, mean squared error, plain SGD written with tensor ops: the loss falls."""
    tg.manual_seed(0)
    x = tg.randn(16, 3, device="pure")  # (N, 3)
    y = (x[:, :1] * 2 - x[:, 1:2]).tanh()  # (N, 1): a target the MLP can fit
    w1 = (tg.randn(3, 8, device="pure") * 0.5).requires_grad_()
    b1 = tg.zeros(8, device="pure", requires_grad=True)
    w2 = (tg.randn(8, 1, device="pure") * 0.5).requires_grad_()
    b2 = tg.zeros(1, device="pure", requires_grad=True)
    params = [w1, b1, w2, b2]
    losses = []
    for _ in range(25):
        hidden = (x @ w1 + b1).tanh()  # (N, 8)
        loss = ((hidden @ w2 + b2 - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with tg.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=0.3)
        losses.append(loss.item())
    assert all(str(p.device) == "pure" for p in params)
    assert losses[-1] < 0.5 * losses[0], losses
