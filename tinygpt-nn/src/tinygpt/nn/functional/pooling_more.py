"""Max, average and power-average pooling in 1-D and 2-D with all of PyTorch's options
(stride, padding, dilation, ceil_mode, count_include_pad, divisor_override, return_indices).

Every window is read with core's im2col (`tg.unfold`), after padding with the value that
cannot win (-inf for max, 0 for sums): x (N, C, H, W) -> cols (N, C, kh*kw, Ho, Wo). Max
pooling takes the argmax of each column and gathers it, so the gradient goes to exactly one
element per window (the first maximum, as in PyTorch); averages divide a sum by a per-window
count. 1-D pooling is 2-D pooling of an image of height 1.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.max_pool1d(tg.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]]), 2, ceil_mode=True).tolist()
[[[3.0, 5.0, 4.0]]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .padding import pad

IntOr = int | Sequence[int]

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "avg_pool1d",
    "avg_pool2d",
    "lp_pool1d",
    "lp_pool2d",
    "tuple_of",
]


def tuple_of(op: str, name: str, value: IntOr, n: int, minimum: int) -> tuple[int, ...]:
    """PyTorch's int-or-tuple argument as an n-tuple of ints >= minimum."""
    items = (value,) * n if isinstance(value, int) else tuple(value)
    if len(items) == 1:
        items = items * n
    if len(items) != n or not all(isinstance(v, int) and v >= minimum for v in items):
        raise ValueError(
            f"{op}: {name} must be an int or a {n}-tuple of ints >= {minimum}, got {value!r}"
        )
    return tuple(int(v) for v in items)


def _out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output length, where ceil_mode may add a last, partial window."""
    span = d * (k - 1) + 1
    top = size + 2 * p - span
    out = (-(-top // s) if ceil_mode else top // s) + 1
    # a last window that would start in the right padding is dropped
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


class _Windows:
    """The geometry of one pooling call over the last two dims of an (N, C, H, W) input."""

    def __init__(
        self,
        op: str,
        x: Tensor,
        kernel: IntOr,
        stride: IntOr | None,
        padding: IntOr,
        dilation: IntOr,
        ceil_mode: bool,
    ) -> None:
        self.op = op
        self.kernel = tuple_of(op, "kernel_size", kernel, 2, 1)
        no_stride = stride is None or (not isinstance(stride, int) and len(stride) == 0)
        self.stride = self.kernel if no_stride else tuple_of(op, "stride", stride, 2, 1)  # type: ignore[arg-type]
        self.padding = tuple_of(op, "padding", padding, 2, 0)
        self.dilation = tuple_of(op, "dilation", dilation, 2, 1)
        for p, k, d in zip(self.padding, self.kernel, self.dilation, strict=True):
            if p > (d * (k - 1) + 1) // 2:
                raise ValueError(
                    f"{op}: padding {self.padding} must be at most half the (dilated) kernel "
                    f"size {self.kernel}"
                )
        self.size = (x.shape[-2], x.shape[-1])
        self.out = tuple(
            _out_size(n, k, s, p, d, ceil_mode)
            for n, k, s, p, d in zip(
                self.size, self.kernel, self.stride, self.padding, self.dilation, strict=True
            )
        )
        if min(self.out) < 1:
            raise ShapeError(
                f"{op}: input {x.shape} is smaller than the kernel {self.kernel} "
                f"(padding {self.padding}, dilation {self.dilation}); output would be {self.out}"
            )

    def extra(self, axis: int) -> int:
        """Padding past the far edge that a ceil_mode window reaches into."""
        k, s, p, d = (self.kernel[axis], self.stride[axis], self.padding[axis],
                      self.dilation[axis])  # fmt: skip
        reach = (self.out[axis] - 1) * s + d * (k - 1) + 1
        return max(0, reach - (self.size[axis] + 2 * p))

    def columns(self, x: Tensor, fill: float) -> Tensor:
        """x (N, C, H, W) -> (N, C, kh*kw, Ho, Wo), padded with `fill`."""
        (ph, pw), (eh, ew) = self.padding, (self.extra(0), self.extra(1))
        padded = x
        if ph or pw or eh or ew:
            padded = pad(x, (pw, pw + ew, ph, ph + eh), value=fill)
        cols = tg.unfold(padded, self.kernel, self.dilation, 0, self.stride)  # (N, C*K, L)
        n, c = x.shape[0], x.shape[1]
        k = self.kernel[0] * self.kernel[1]
        return cols.reshape(n, c, k, self.out[0], self.out[1])

    def counts(self, x: Tensor, include_pad: bool) -> Tensor:
        """(Ho, Wo): how many elements each window averages over (PyTorch's divisor)."""
        per_axis = []
        for axis in (0, 1):
            k, s, p, d = (self.kernel[axis], self.stride[axis], self.padding[axis],
                          self.dilation[axis])  # fmt: skip
            size = self.size[axis]
            counts = []
            for i in range(self.out[axis]):
                start = i * s - p
                end = min(start + d * (k - 1) + 1, size + p)
                if include_pad:
                    # NOTE: PyTorch counts padding but not the ceil_mode overhang
                    counts.append(len(range(start, end, d)))
                else:
                    counts.append(sum(1 for j in range(start, end, d) if 0 <= j < size))
            per_axis.append(counts)
        table = [[float(a * b) for b in per_axis[1]] for a in per_axis[0]]
        return tg.tensor(table, dtype=x.dtype, device=x.device)

    def flat_index(self, local: Tensor) -> Tensor:
        """Window-local argmax (N, C, Ho, Wo) -> index into the input's H*W plane."""
        kh, kw = self.kernel
        i = local // kw
        j = local % kw
        oh = tg.arange(self.out[0], device=local.device).reshape(-1, 1)
        ow = tg.arange(self.out[1], device=local.device).reshape(1, -1)
        row = oh * self.stride[0] - self.padding[0] + i * self.dilation[0]
        col = ow * self.stride[1] - self.padding[1] + j * self.dilation[1]
        return row * self.size[1] + col


def _as_4d(op: str, x: Tensor, dims: int) -> tuple[Tensor, bool]:
    """(N, C, *spatial) or (C, *spatial) -> (N, C, H, W) and whether it was unbatched."""
    if x.ndim not in (dims + 1, dims + 2):
        raise ShapeError(
            f"{op}: expected input (N, C, {'L' if dims == 1 else 'H, W'}) or without N, "
            f"got {x.shape}"
        )
    unbatched = x.ndim == dims + 1
    image = x.unsqueeze(0) if unbatched else x
    if dims == 1:
        image = image.unsqueeze(2)  # (N, C, 1, L)
    return image, unbatched


def _back(y: Tensor, unbatched: bool, dims: int) -> Tensor:
    if dims == 1:
        y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


def _max_pool(
    op: str,
    x: Tensor,
    dims: int,
    kernel: IntOr,
    stride: IntOr | None,
    padding: IntOr,
    dilation: IntOr,
    ceil_mode: bool,
) -> tuple[Tensor, Tensor]:
    image, unbatched = _as_4d(op, x, dims)

    # 1-D arguments apply to the width; the height is 1 with a trivial window
    def lift(v: IntOr, one: int) -> IntOr:
        return (one, tuple_of(op, "argument", v, 1, 0)[0]) if dims == 1 else v

    lifted_stride = None if stride is None else lift(stride, 1)
    win = _Windows(
        op, image, lift(kernel, 1), lifted_stride, lift(padding, 0), lift(dilation, 1), ceil_mode
    )
    cols = win.columns(image, float("-inf"))  # (N, C, K, Ho, Wo)
    local = cols.argmax(2, keepdim=True)  # NOTE: the first of tied maxima, as PyTorch
    values = cols.gather(2, local).squeeze(2)  # gradient to that one element
    index = win.flat_index(local.squeeze(2))
    return _back(values, unbatched, dims), _back(index, unbatched, dims)


def max_pool1d_with_indices(
    input: Tensor,  # noqa: A002 - PyTorch's name
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    dilation: IntOr = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """(max values, int64 positions along L) over windows of (N, C, L) or (C, L)."""
    return _max_pool("max_pool1d", input, 1, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d_with_indices(
    input: Tensor,  # noqa: A002
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    dilation: IntOr = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """(max values, int64 flat positions h * W + w) over windows of (N, C, H, W)."""
    return _max_pool("max_pool2d", input, 2, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool1d(
    input: Tensor,  # noqa: A002
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    dilation: IntOr = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Max over windows of (N, C, L): (N, C, Lo); with return_indices also the positions."""
    values, index = max_pool1d_with_indices(
        input, kernel_size, stride, padding, dilation, ceil_mode
    )
    return (values, index) if return_indices else values


def max_pool2d(
    input: Tensor,  # noqa: A002
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    dilation: IntOr = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Max over windows of (N, C, H, W): (N, C, Ho, Wo); with return_indices also positions.

    The plain case (no dilation, ceil_mode or indices) runs core's `tg.max_pool2d` primitive.
    """
    simple = dilation in (1, (1, 1)) and not ceil_mode and not return_indices
    if simple and input.ndim in (3, 4):
        return tg.max_pool2d(input, kernel_size, stride, padding)
    values, index = max_pool2d_with_indices(
        input, kernel_size, stride, padding, dilation, ceil_mode
    )
    return (values, index) if return_indices else values


def _avg_pool(
    op: str,
    x: Tensor,
    dims: int,
    kernel: IntOr,
    stride: IntOr | None,
    padding: IntOr,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> Tensor:
    image, unbatched = _as_4d(op, x, dims)

    def lift(v: IntOr, one: int) -> IntOr:
        return (one, tuple_of(op, "argument", v, 1, 0)[0]) if dims == 1 else v

    lifted_stride = None if stride is None else lift(stride, 1)
    win = _Windows(op, image, lift(kernel, 1), lifted_stride, lift(padding, 0), 1, ceil_mode)
    sums = win.columns(image, 0.0).sum(2)  # (N, C, Ho, Wo)
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must not be 0")
        return _back(sums / float(divisor_override), unbatched, dims)
    return _back(sums / win.counts(image, count_include_pad), unbatched, dims)


def avg_pool1d(
    input: Tensor,  # noqa: A002
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over windows of (N, C, L) or (C, L): (N, C, Lo)."""
    return _avg_pool(
        "avg_pool1d", input, 1, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def avg_pool2d(
    input: Tensor,  # noqa: A002
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over windows of (N, C, H, W) or (C, H, W): (N, C, Ho, Wo).

    The plain case (no ceil_mode or divisor_override) runs core's `tg.avg_pool2d`.
    """
    if not ceil_mode and divisor_override is None and input.ndim in (3, 4):
        return tg.avg_pool2d(input, kernel_size, stride, padding, count_include_pad)
    return _avg_pool(
        "avg_pool2d",
        input,
        2,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def lp_pool1d(
    input: Tensor,  # noqa: A002
    norm_type: float,
    kernel_size: int,
    stride: IntOr | None = None,
    ceil_mode: bool = False,
) -> Tensor:
    """(sum over each window of x ** p) ** (1 / p): p = 1 is sum pooling."""
    k = tuple_of("lp_pool1d", "kernel_size", kernel_size, 1, 1)[0]
    mean = avg_pool1d(input.pow(norm_type), k, stride, 0, ceil_mode)
    return (mean * float(k)).pow(1.0 / norm_type)


def lp_pool2d(
    input: Tensor,  # noqa: A002
    norm_type: float,
    kernel_size: IntOr,
    stride: IntOr | None = None,
    ceil_mode: bool = False,
) -> Tensor:
    """(sum over each kh x kw window of x ** p) ** (1 / p)."""
    kh, kw = tuple_of("lp_pool2d", "kernel_size", kernel_size, 2, 1)
    mean = _avg_pool(
        "lp_pool2d", input.pow(norm_type), 2, (kh, kw), stride, 0, ceil_mode, True, None
    )
    return (mean * float(math.prod((kh, kw)))).pow(1.0 / norm_type)
