"""2-D convolution by im2col: every kernel window becomes one column, then one matrix product.

    x (N, C, H, W)  --unfold-->  cols (N, C*kh*kw, Ho*Wo)
    weight (O, C*kh*kw) @ cols  -->  (N, O, Ho*Wo)  -->  (N, O, Ho, Wo)

The unfold is a strided *view* of the padded input: two extra dims walk the window (steps of
`dilation`) and two walk the output positions (steps of `stride`), so the only work is one
compacting copy. Its adjoint, fold, adds each column back onto the window it came from.

`Conv` is one primitive (forward and backward side by side) rather than unfold + matmul on
tensors, because it keeps memory bounded: it saves only x and the weight, and both passes
build the columns a chunk of the batch at a time (at most `MAX_UNFOLD_BYTES` each).

>>> import tinygpt as tg
>>> tg.conv2d(tg.ones(1, 1, 4, 4), tg.ones(1, 1, 3, 3)).tolist()
[[[[9.0, 9.0], [9.0, 9.0]]]]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .. import array_ops as A
from ..autograd.function import Function
from ..errors import DeviceError, DTypeError, ShapeError
from ..ndarray import NDArray
from ..tensor import Tensor
from . import autocast

__all__ = [
    "Conv",
    "Unfold",
    "Window",
    "conv2d",
    "unfold",
    "unfold_array",
    "fold_array",
    "MAX_UNFOLD_BYTES",
]

#: The largest column matrix (in bytes) built at once; bigger batches are done in chunks.
MAX_UNFOLD_BYTES = 64 * 2**20

IntPair = int | Sequence[int]


@dataclass(frozen=True)
class Window:
    """Where the kernel windows of a convolution or pooling sit in an (H, W) image."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]  # ((top, bottom), (left, right))
    dilation: tuple[int, int]

    @classmethod
    def make(
        cls, op: str, kernel: IntPair, stride: IntPair, padding: IntPair, dilation: IntPair
    ) -> Window:
        """Check and normalise PyTorch-style int-or-pair arguments."""
        rows, cols = _pair(op, "padding", padding, minimum=0)
        return cls(
            _pair(op, "kernel_size", kernel, minimum=1),
            _pair(op, "stride", stride, minimum=1),
            ((rows, rows), (cols, cols)),
            _pair(op, "dilation", dilation, minimum=1),
        )

    def output_size(self, op: str, height: int, width: int) -> tuple[int, int]:
        """(Ho, Wo): how many windows fit down and across the padded image."""
        sizes = []
        for size, k, s, (lo, hi), d in zip(
            (height, width), self.kernel, self.stride, self.padding, self.dilation, strict=True
        ):
            span = d * (k - 1) + 1  # a dilated kernel covers this many pixels
            sizes.append((size + lo + hi - span) // s + 1)
        if min(sizes) < 1:
            raise ShapeError(
                f"{op}: input of size {(height, width)} (padding {self.padding}) is smaller "
                f"than the kernel {self.kernel} with dilation {self.dilation}"
            )
        return sizes[0], sizes[1]


def _pair(op: str, name: str, value: IntPair, minimum: int) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be an int or a pair of ints >= {minimum}, got {value}")
    return int(pair[0]), int(pair[1])


# --- im2col on NDArrays: the two halves every primitive here is built from --------------------


def _pad(x: NDArray, window: Window, value: float) -> NDArray:
    """(n, C, H, W) -> (n, C, top + H + bottom, left + W + right) filled with `value`."""
    (top, bottom), (left, right) = window.padding
    if top == bottom == left == right == 0:
        return x
    n, c, h, w = x.shape
    out = A.full(x, (n, c, top + h + bottom, left + w + right), value)
    A.write(out.slice((slice(None), slice(None), slice(top, top + h), slice(left, left + w))), x)
    return out


def unfold_array(x: NDArray, window: Window, value: float = 0.0) -> NDArray:
    """im2col: x (n, C, H, W) -> dense cols (n, C, kh, kw, Ho, Wo); `value` fills the padding."""
    ho, wo = window.output_size("unfold", x.shape[2], x.shape[3])
    padded = _pad(x, window, value)
    sn, sc, sh, sw = padded.strides
    (kh, kw), (dh, dw), (th, tw) = window.kernel, window.dilation, window.stride
    # cols[n, c, i, j, y, x] = padded[n, c, y*stride + i*dilation, x*stride + j*dilation]
    shape = (x.shape[0], x.shape[1], kh, kw, ho, wo)
    view = padded.view(shape, (sn, sc, dh * sh, dw * sw, th * sh, tw * sw), padded.offset)
    return view.compact()


def fold_array(cols: NDArray, window: Window, shape: tuple[int, ...]) -> NDArray:
    """col2im, the adjoint of `unfold_array`: cols (n, C, kh, kw, Ho, Wo) -> (n, C, H, W).

    Overlapping windows add up, so this is a loop over the kh*kw kernel offsets, each adding
    one (n, C, Ho, Wo) slab into a strided window of the padded image.
    """
    n, c, kh, kw, ho, wo = cols.shape
    (top, bottom), (left, right) = window.padding
    padded = A.zeros(cols, (n, c, top + shape[2] + bottom, left + shape[3] + right))
    sn, sc, sh, sw = padded.strides
    (dh, dw), (th, tw) = window.dilation, window.stride
    for i in range(kh):
        for j in range(kw):
            target = padded.view(
                (n, c, ho, wo), (sn, sc, th * sh, tw * sw), i * dh * sh + j * dw * sw
            )
            slab = cols.slice((slice(None), slice(None), i, j, slice(None), slice(None)))
            A.write(target, A.binary("add", target, slab))
    inside = (slice(None), slice(None), slice(top, top + shape[2]), slice(left, left + shape[3]))
    return padded.slice(inside)


def _chunks(x: NDArray, window: Window, ho: int, wo: int) -> Iterator[tuple[int, int]]:
    """(start, stop) ranges of the batch whose columns fit in MAX_UNFOLD_BYTES each."""
    kh, kw = window.kernel
    per_sample = x.shape[1] * kh * kw * ho * wo * x.dtype.itemsize
    step = max(1, MAX_UNFOLD_BYTES // max(per_sample, 1))
    if x.shape[0] == 0:
        yield 0, 0  # an empty batch is one empty chunk: the weight still gets a (zero) gradient
    for start in range(0, x.shape[0], step):
        yield start, min(start + step, x.shape[0])


def _rows(x: NDArray, start: int, stop: int) -> NDArray:
    return x.slice((slice(start, stop),) + (slice(None),) * (x.ndim - 1))


def _stitch(parts: list[NDArray], like: NDArray, shape: tuple[int, ...]) -> NDArray:
    """The batch chunks `parts` as one array of `shape` (no copy when there is one chunk)."""
    if len(parts) == 1:
        return parts[0]
    out = A.zeros(like, shape)
    start = 0
    for part in parts:
        A.write(_rows(out, start, start + part.shape[0]), part)
        start += part.shape[0]
    return out


# --- primitives ---------------------------------------------------------------------------


class Conv(Function):
    """x (N, C, H, W), weight (O, C/groups, kh, kw) -> (N, O, Ho, Wo), no bias.

    Groups are a batch dim of the matmul: (n, G, O/G, C/G*kh*kw) @ (n, G, C/G*kh*kw, L).
    """

    def forward(
        self, x: NDArray, weight: NDArray, window: Window | None = None, groups: int = 1
    ) -> NDArray:
        assert window is not None
        self.window = window
        self.groups = groups
        self.save_for_backward(x, weight)
        n, o = x.shape[0], weight.shape[0]
        ho, wo = window.output_size("conv2d", x.shape[2], x.shape[3])
        kernels = self._kernels(weight)  # (G, O/G, C/G*kh*kw)
        parts = []
        for start, stop in _chunks(x, window, ho, wo):
            cols = self._columns(_rows(x, start, stop))  # (n, G, C/G*kh*kw, L)
            w = kernels.broadcast_to((stop - start,) + kernels.shape)
            parts.append(A.matmul(w, cols).reshape((stop - start, o, ho, wo)))
        return _stitch(parts, x, (n, o, ho, wo))

    def backward(self, grad: NDArray) -> tuple[NDArray | None, NDArray | None]:
        x, weight = self.saved
        kernels = self._kernels(weight)  # (G, O/G, CKK/G)
        g_count, o_per = kernels.shape[0], kernels.shape[1]
        ho, wo = grad.shape[2], grad.shape[3]
        dx_parts = []
        dw = None
        for start, stop in _chunks(x, self.window, ho, wo):
            n = stop - start
            g = _rows(grad, start, stop).reshape((n, g_count, o_per, ho * wo))  # (n, G, O/G, L)
            if self.needs_grad[1]:
                cols = self._columns(_rows(x, start, stop))  # recomputed: x is all we kept
                # dW = sum over the batch of g @ cols^T: (n, G, O/G, CKK/G) -> (G, O/G, CKK/G)
                part = A.reduce("sum", A.matmul(g, cols.transpose(2, 3)), (0,))
                dw = part if dw is None else A.binary("add", dw, part)
            if self.needs_grad[0]:
                w_t = kernels.transpose(1, 2)  # (G, CKK/G, O/G)
                w_t = w_t.broadcast_to((n,) + w_t.shape)
                dcols = A.matmul(w_t, g)  # (n, G, CKK/G, L)
                kh, kw = self.window.kernel
                dcols = dcols.reshape((n, x.shape[1], kh, kw, ho, wo))
                dx_parts.append(fold_array(dcols, self.window, _rows(x, start, stop).shape))
        dx = _stitch(dx_parts, x, x.shape) if dx_parts else None
        return dx, None if dw is None else dw.reshape(weight.shape)

    def _kernels(self, weight: NDArray) -> NDArray:
        o = weight.shape[0]
        return weight.reshape((self.groups, o // self.groups, -1))

    def _columns(self, x: NDArray) -> NDArray:
        cols = unfold_array(x, self.window)  # (n, C, kh, kw, Ho, Wo)
        n, c, kh, kw, ho, wo = cols.shape
        # subtle: channels are the outer dim of a column, so each group is a contiguous block
        return cols.reshape((n, self.groups, c // self.groups * kh * kw, ho * wo))


class Unfold(Function):
    """x (N, C, H, W) -> cols (N, C, kh, kw, Ho, Wo); backward folds the gradient back."""

    def forward(self, x: NDArray, window: Window | None = None, value: float = 0.0) -> NDArray:
        assert window is not None
        self.window = window
        self.shape = x.shape
        return unfold_array(x, window, value)

    def backward(self, grad: NDArray) -> NDArray:
        return fold_array(grad.compact(), self.window, self.shape)


# --- the functions ------------------------------------------------------------------------


def conv2d(
    input: Tensor,  # noqa: A002 - the PyTorch name
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair | str = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation, as in PyTorch: (N, C, H, W) * (O, C/groups, kh, kw) -> (N, O, Ho, Wo).

    `padding` is an int, a pair, "valid" (0) or "same" (output size = input size; stride 1).
    A 3-D input (C, H, W) is one unbatched image. Ho = (H + 2p - d(kh - 1) - 1) // s + 1.
    """
    if input.ndim == 3:
        out = conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups)
        return out.squeeze(0)
    input, weight, bias = autocast.lower(input), autocast.lower(weight), autocast.lower(bias)
    _check_conv(input, weight, bias, groups)
    kernel = (weight.shape[2], weight.shape[3])
    if isinstance(padding, str):
        window = _string_padding(padding, kernel, stride, dilation)
    else:
        window = Window.make("conv2d", kernel, stride, padding, dilation)
    out = Conv.apply(input, weight, window=window, groups=groups)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)  # (O,) -> (1, O, 1, 1): one bias per channel
    return out


def _check_conv(x: Tensor, weight: Tensor, bias: Tensor | None, groups: int) -> None:
    if x.ndim != 4 or weight.ndim != 4:
        raise ShapeError(
            f"conv2d: expected input (N, C, H, W) and weight (O, C/groups, kh, kw), got "
            f"input {x.shape} and weight {weight.shape}"
        )
    if groups < 1 or x.shape[1] % groups or weight.shape[0] % groups:
        raise ShapeError(
            f"conv2d: groups={groups} must divide both the input channels ({x.shape[1]}) and "
            f"the output channels ({weight.shape[0]})"
        )
    if x.shape[1] != weight.shape[1] * groups:
        raise ShapeError(
            f"conv2d: input {x.shape} has {x.shape[1]} channels, but weight {weight.shape} "
            f"with groups={groups} expects {weight.shape[1] * groups}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ShapeError(
            f"conv2d: bias {bias.shape} must be ({weight.shape[0]},) for weight {weight.shape}"
        )
    if x.device != weight.device:
        raise DeviceError(f"conv2d: input is on {x.device} but weight is on {weight.device}")
    if x.dtype != weight.dtype:
        raise DTypeError(
            f"conv2d: input is {x.dtype} but weight is {weight.dtype}; convert one with .to()"
        )


def _string_padding(
    padding: str, kernel: tuple[int, int], stride: IntPair, dilation: IntPair
) -> Window:
    if padding == "valid":
        return Window.make("conv2d", kernel, stride, 0, dilation)
    if padding != "same":
        raise ValueError(
            f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}"
        )
    base = Window.make("conv2d", kernel, stride, 0, dilation)
    if base.stride != (1, 1):
        raise ValueError(f"conv2d: padding='same' needs stride 1, got stride {base.stride}")
    pads = []
    for k, d in zip(base.kernel, base.dilation, strict=True):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))  # the odd pixel goes after, as in PyTorch
    return Window(base.kernel, base.stride, (pads[0], pads[1]), base.dilation)


def unfold(
    input: Tensor,  # noqa: A002 - the PyTorch name
    kernel_size: IntPair,
    dilation: IntPair = 1,
    padding: IntPair = 0,
    stride: IntPair = 1,
) -> Tensor:
    """im2col as in PyTorch: (N, C, H, W) -> (N, C*kh*kw, L), L = Ho*Wo windows."""
    if input.ndim != 4:
        raise ShapeError(f"unfold: expected input (N, C, H, W), got {input.shape}")
    window = Window.make("unfold", kernel_size, stride, padding, dilation)
    cols = Unfold.apply(input, window=window)  # (N, C, kh, kw, Ho, Wo)
    n, c, kh, kw, ho, wo = cols.shape
    return cols.reshape(n, c * kh * kw, ho * wo)
