"""fractional_max_pool2d / 3d: max pooling with a non-integer reduction ratio (Graham 2014).

Every (sample, channel) plane draws one number u in [0, 1) per spatial dim; window i of a
dim of size n pooled to m (kernel k) starts at int((i + u) * a) - int(u * a), with
a = (n - k) / (m - 1), and the last window starts at n - k (PyTorch's interval rule, in the
input's dtype so the starts match PyTorch's for the same `_random_samples`). Max is
separable, so each spatial dim is pooled in turn: gather the k positions of every window,
take the first maximum, and carry the winning positions along for the indices.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> x = tg.arange(16.0).reshape(1, 1, 4, 4)
>>> F.fractional_max_pool2d(x, 2, output_size=2, _random_samples=tg.zeros(1, 1, 2)).tolist()
[[[[5.0, 7.0], [13.0, 15.0]]]]
"""

from __future__ import annotations

from collections.abc import Sequence

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .pooling_more import tuple_of

__all__ = [
    "fractional_max_pool2d",
    "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices",
]


def _starts(sample: Tensor, size: int, out: int, k: int) -> Tensor:
    """(N, C) samples -> (N, C, out) int64 window starts along one dim."""
    n, c = sample.shape
    if out == 1:
        return tg.full((n, c, 1), size - k, dtype=tg.int64, device=sample.device)
    dtype = sample.dtype
    alpha = tg.tensor(float(size - k), dtype=dtype, device=sample.device) / float(out - 1)
    i = tg.arange(out - 1, device=sample.device).to(dtype).reshape(1, 1, -1)
    u = sample.unsqueeze(-1)  # (N, C, 1)
    # NOTE: both products are non-negative, so floor is C's truncating int cast
    first = ((i + u) * alpha).floor() - (u * alpha).floor()
    last = tg.full((n, c, 1), float(size - k), dtype=dtype, device=sample.device)
    return tg.cat([first, last], -1).to(tg.int64)


def _pool(
    op: str,
    x: Tensor,
    dims: int,
    kernel_size: int | Sequence[int],
    output_size: int | Sequence[int] | None,
    output_ratio: float | Sequence[float] | None,
    samples: Tensor | None,
) -> tuple[Tensor, Tensor]:
    if x.ndim not in (dims + 1, dims + 2):
        raise ShapeError(f"{op}: expected a {dims + 1}-D or {dims + 2}-D input, got {x.shape}")
    unbatched = x.ndim == dims + 1
    batch = x.unsqueeze(0) if unbatched else x
    n, c = batch.shape[0], batch.shape[1]
    spatial = list(batch.shape[2:])
    k = tuple_of(op, "kernel_size", kernel_size, dims, 1)
    if output_size is None:
        if output_ratio is None:
            raise ValueError(f"{op}: give output_size or output_ratio")
        ratio = [output_ratio] * dims if isinstance(output_ratio, float | int) else output_ratio
        out = [int(spatial[a] * float(ratio[a])) for a in range(dims)]
    else:
        out = list(tuple_of(op, "output_size", output_size, dims, 1))
    # NOTE: PyTorch's 3-D check is one stricter than its 2-D one; both are kept
    limit = [s - 1 if dims == 3 else s for s in spatial]
    for a in range(dims):
        if out[a] + k[a] - 1 > limit[a]:
            raise ShapeError(
                f"{op}: output size {out[a]} with kernel {k[a]} is too large for input size "
                f"{spatial[a]} (dim {a})"
            )
    if samples is None:
        samples = tg.rand(n, c, dims, dtype=x.dtype, device=x.device)
    if tuple(samples.shape) != (n, c, dims):
        raise ShapeError(f"{op}: _random_samples must be {(n, c, dims)}, got {samples.shape}")
    # PyTorch's sample order: 2-D (W, H); 3-D (T, H, W)
    order = [1, 0] if dims == 2 else [0, 1, 2]
    values = batch
    positions: list[Tensor | None] = [None] * dims
    for a in reversed(range(dims)):
        axis = 2 + a
        starts = _starts(samples[:, :, order[a]], spatial[a], out[a], k[a])  # (N, C, o)
        window = (starts.unsqueeze(-1) + tg.arange(k[a], device=x.device)).reshape(n, c, -1)
        view = [n, c] + [1] * dims
        view[axis] = out[a] * k[a]
        shape = list(values.shape)
        shape[axis] = out[a] * k[a]
        picked = values.gather(axis, window.reshape(*view).expand(*shape))
        split = shape[:axis] + [out[a], k[a]] + shape[axis + 1 :]
        grouped = picked.reshape(*split)  # (..., o, k, ...)
        local = grouped.argmax(axis + 1, keepdim=True)  # NOTE: the first maximum wins
        values = grouped.gather(axis + 1, local).squeeze(axis + 1)
        view_starts = [n, c] + [1] * dims
        view_starts[axis] = out[a]
        chosen = starts.reshape(*view_starts) + local.squeeze(axis + 1)  # absolute positions
        # the positions found for later dims follow the winners along this one
        for b in range(a + 1, dims):
            earlier = positions[b]
            assert earlier is not None
            positions[b] = earlier.gather(axis, chosen)
        positions[a] = chosen
    index = None
    for a in range(dims):
        pos = positions[a]
        assert pos is not None
        index = pos if index is None else index * spatial[a] + pos
    assert index is not None
    return (values[0], index[0]) if unbatched else (values, index)


def fractional_max_pool2d_with_indices(
    input: Tensor,  # noqa: A002 - PyTorch's name
    kernel_size: int | Sequence[int],
    output_size: int | Sequence[int] | None = None,
    output_ratio: float | Sequence[float] | None = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """(values, int64 flat positions h * W + w) of fractional max pooling of (N, C, H, W)."""
    op = "fractional_max_pool2d"
    return _pool(op, input, 2, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool2d(
    input: Tensor,  # noqa: A002
    kernel_size: int | Sequence[int],
    output_size: int | Sequence[int] | None = None,
    output_ratio: float | Sequence[float] | None = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    """(N, C, H, W) -> (N, C, oh, ow) maxima over pseudo-random overlapping windows."""
    values, index = fractional_max_pool2d_with_indices(
        input, kernel_size, output_size, output_ratio, False, _random_samples
    )
    return (values, index) if return_indices else values


def fractional_max_pool3d_with_indices(
    input: Tensor,  # noqa: A002
    kernel_size: int | Sequence[int],
    output_size: int | Sequence[int] | None = None,
    output_ratio: float | Sequence[float] | None = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """(values, int64 flat positions) of fractional max pooling of (N, C, T, H, W)."""
    op = "fractional_max_pool3d"
    return _pool(op, input, 3, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool3d(
    input: Tensor,  # noqa: A002
    kernel_size: int | Sequence[int],
    output_size: int | Sequence[int] | None = None,
    output_ratio: float | Sequence[float] | None = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    """(N, C, T, H, W) -> (N, C, ot, oh, ow) maxima over pseudo-random windows."""
    values, index = fractional_max_pool3d_with_indices(
        input, kernel_size, output_size, output_ratio, False, _random_samples
    )
    return (values, index) if return_indices else values
