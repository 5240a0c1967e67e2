"""The per-op fast paths' off switch (issue 22: small tensors, per-op overhead).

The commonest calls are checked cheaply and sent straight to their primitive, skipping the
general path's promotion, parsing and broadcasting: `a + b` (and -, *, /, **, maximum,
minimum) on two floating tensors of one dtype, device and shape, or a floating tensor and a
float (`ops/elementwise.py`); `a @ b` with matching batch dims (`ops/matmul.py`); `x[i]`,
`x.reshape(2, 3)` and `x.sum()` (`tensor_methods.py`); and `x[i]` or `x.reshape(...)` of a
tensor that records no graph is the view itself, without the node `Function.apply` would
make and drop (`autograd.function.untracked`; a `tg.profile()` still sees every op). Each
gives exactly what the general path gives, errors included
(tests/core/test_per_op_fast_paths.py runs both ways).

The same switch governs `tg.kernel_replay` (`replay.py`), which runs a recorded function's
backend kernels without the ops' Python (the decoding step of `tinygpt.gpt`): off, every call
runs the function op by op.

``TINYGPT_FAST_PATHS=0`` turns them off, to compare or to rule them out when hunting a bug;
code (and tests) can set `tinygpt.fast_paths.enabled` too.
"""

from __future__ import annotations

from .config import env_fast_paths

__all__ = ["enabled"]

#: whether the fast paths run (read once, at import; a module attribute so it can be changed)
enabled: bool = env_fast_paths()
