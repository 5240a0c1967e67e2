"""`nn.init.orthogonal_`: fill a weight with a (semi-)orthogonal matrix (Saxe et al., 2014).

Re-exported by `nn.init`. The matrix is the Q factor of a Gaussian matrix, with the signs fixed
so that R's diagonal is positive (then Q is uniformly distributed, as PyTorch arranges). Q
comes from modified Gram-Schmidt with a second pass, in float64: the public tensor ops are
enough, and the weights are small enough that its O(n * m^2) cost does not matter.

>>> import tinygpt as tg
>>> from tinygpt.nn import init
>>> w = init.orthogonal_(tg.empty(3, 5))
>>> eye = w @ w.T
>>> bool(((eye - tg.eye(3)).abs() < 1e-5).all())
True
"""

from __future__ import annotations

import tinygpt as tg
from tinygpt import ShapeError, Tensor

__all__ = ["orthogonal_"]


def _orthonormal_columns(a: Tensor) -> Tensor:
    """Q of a = QR for a tall (n, m) matrix, n >= m, with R's diagonal positive."""
    columns: list[Tensor] = []
    for j in range(a.shape[1]):
        v = a[:, j]
        if columns:
            q = tg.stack(columns, dim=1)
            # twice ("twice is enough"): one pass leaves rounding errors that grow with m
            v = v - q @ (q.T @ v)
            v = v - q @ (q.T @ v)
        # subtle: dividing by the positive norm is what makes R's diagonal positive
        columns.append(v / (v * v).sum().sqrt())
    return tg.stack(columns, dim=1)


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Fill `tensor` (2-d or more; trailing dims are flattened) with gain * a semi-orthogonal
    matrix: rows orthonormal when rows <= cols, columns orthonormal otherwise."""
    if tensor.ndim < 2:
        raise ShapeError(
            f"orthogonal_: needs a tensor with at least 2 dimensions, got shape {tensor.shape}"
        )
    rows = tensor.shape[0]
    cols = tensor.numel() // rows if rows else 0
    if tensor.numel() == 0:
        return tensor
    with tg.no_grad():
        flat = tg.randn(rows, cols, dtype=tg.float64, device=tensor.device)
        tall = flat.T if rows < cols else flat
        q = _orthonormal_columns(tall)
        if rows < cols:
            q = q.T
        return tensor.copy_((q * gain).reshape(*tensor.shape))
