"""Hypothesis strategies for the fuzzer: shapes, views of a dense base, values, dtypes.

An `Operand` is a dense NumPy base plus a `View` recipe (permute, then slice with any step,
then expand size-1 dims). The recipe is applied the same way to a tinygpt tensor on any
device and to the NumPy base, so every backend and every oracle sees the same strided input:

    base (4, 3) --permute(1, 0)--> (3, 4) --[1:, ::-2]--> (2, 2) --expand--> (2, 2)

Values come from a seeded NumPy generator in a drawn *style* (plain, small integers with ties,
specials such as nan/inf/-0.0, positive, distinct); hypothesis shrinks the shape, the view and
the style, and the seed shrinks to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygpt as tg

__all__ = [
    "ALL_DTYPES",
    "FLOAT_DTYPES",
    "INT_DTYPES",
    "Operand",
    "View",
    "backend_dtypes",
    "broadcastable_shapes",
    "dtypes",
    "operands",
    "shapes",
    "values",
    "views",
]

ALL_DTYPES = ("float16", "float32", "float64", "int32", "int64", "bool")
FLOAT_DTYPES = ("float16", "float32", "float64")
INT_DTYPES = ("int32", "int64")
MAX_BASE_ELEMENTS = 16384  # keeps the pure-Python backend fast

SPECIALS = np.array(
    [0.0, -0.0, 1.0, -1.0, 0.5, -2.0, np.inf, -np.inf, np.nan, 1e4, -3e4, 7e4, 1e-8],
)
FLOAT_STYLES = ("normal", "ints", "specials", "infs", "positive", "distinct", "large", "big")
INT_STYLES = ("small", "wide", "nonneg")


def backend_dtypes(device: str) -> tuple[str, ...]:
    """The dtype names `device` stores, in ALL_DTYPES order."""
    names = {d.name for d in tg.get_backend(device).dtypes}
    return tuple(d for d in ALL_DTYPES if d in names)


def dtypes(device: str, allowed: tuple[str, ...] = ALL_DTYPES) -> st.SearchStrategy[str]:
    """A dtype both `device` and the numpy reference store, among `allowed`."""
    both = set(backend_dtypes(device)) & set(backend_dtypes("numpy"))
    return st.sampled_from([d for d in allowed if d in both])


def shapes(
    min_dims: int = 0,
    max_dims: int = 4,
    max_side: int = 4,
    long: bool = False,
    empty: bool = True,
) -> st.SearchStrategy:
    """Shapes with 0-size and size-1 dims: (), (0,), (1, 3), (2, 0, 4), ...

    A side is 0 one time in nine (never with empty=False). `long` adds, now and then, a
    long 1-D or 2-D shape (up to 70000 elements): where accumulators and chunked or parallel
    kernels show their bugs.
    """
    sides = [s for s in (1, 2, 3, 4, 5, 6) if s <= max_side] * 2
    sides = st.sampled_from(sides + [0] if empty else sides)
    small = st.lists(sides, min_size=min_dims, max_size=max_dims).map(tuple)
    if not long:
        return small
    lengths = st.sampled_from([100, 1000, 4099, 5000, 70000])
    longer = st.one_of(lengths.map(lambda n: (n,)), lengths.map(lambda n: (2, n // 2)))
    return st.one_of(small, small, small, longer)


def broadcastable_shapes(count: int, max_dims: int = 4) -> st.SearchStrategy:
    """`count` shapes that broadcast together, and their result: ((a, b), result)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=count, min_dims=0, max_dims=max_dims, min_side=0, max_side=4
    ).map(lambda s: (s.input_shapes, s.result_shape))


# ------------------------------------------------------------------ views
@dataclass(frozen=True)
class View:
    """base.permute(perm)[slices].expand(shape): any strided window of a dense base."""

    base_shape: tuple[int, ...]
    perm: tuple[int, ...]
    slices: tuple[slice, ...]
    shape: tuple[int, ...]

    @property
    def is_dense(self) -> bool:
        full = all(s == slice(None) for s in self.slices)
        return full and self.perm == tuple(range(len(self.perm))) and self.base_shape == self.shape

    def apply_tg(self, t: tg.Tensor) -> tg.Tensor:
        if self.perm != tuple(range(len(self.perm))):
            t = t.permute(*self.perm)
        if any(s != slice(None) for s in self.slices):
            t = t[self.slices]
        if tuple(t.shape) != self.shape:
            t = t.expand(*self.shape)
        return t

    def apply_np(self, a: np.ndarray) -> np.ndarray:
        a = a.transpose(self.perm)
        if self.slices:  # NOTE: a[()] of a 0-d array is a scalar copy, not a view
            a = a[self.slices]
        return a if a.shape == self.shape else np.broadcast_to(a, self.shape)

    def __repr__(self) -> str:
        text = f"base{self.base_shape}"
        if self.perm != tuple(range(len(self.perm))):
            text += f".permute{self.perm}"
        if any(s != slice(None) for s in self.slices):
            text += "[" + ", ".join(_slice_text(s) for s in self.slices) + "]"
        sliced = np.empty(self.base_shape, dtype=bool).transpose(self.perm)[self.slices].shape
        if sliced != self.shape:
            text += f".expand{self.shape}"
        return text


def _slice_text(s: slice) -> str:
    parts = ["" if v is None else str(v) for v in (s.start, s.stop, s.step)]
    return ":".join(parts).rstrip(":") or ":"


@st.composite
def _dim_window(draw, size: int, broadcast: bool = True) -> tuple[int, slice, bool]:
    """(base length, slice, broadcast) for one dim whose view must have `size` elements."""
    if broadcast and size != 1 and draw(st.integers(0, 5)) == 0:
        return 1, slice(None), True  # stride 0: a size-1 base dim expanded to `size`
    step = draw(st.sampled_from([1, 1, 1, 2, 3, -1, -2]))
    offset = draw(st.integers(0, 2))
    extra = draw(st.integers(0, 1))
    if size == 0:
        length = offset + extra
        start = offset if step > 0 else max(length - 1 - offset, 0)
        return length, slice(start, start, step), False
    length = offset + (size - 1) * abs(step) + 1 + extra
    if step > 0:
        return length, slice(offset, offset + (size - 1) * step + 1, step), False
    start = length - 1 - offset
    stop = start - (size - 1) * abs(step) - 1
    return length, slice(start, None if stop < 0 else stop, step), False


@st.composite
def views(
    draw,
    shape: tuple[int, ...],
    dense: bool | None = None,
    broadcast: bool = True,
    max_base: int = MAX_BASE_ELEMENTS,
) -> View:
    """A View with final `shape`; dense=True forces the plain base, None lets it vary;
    broadcast=False leaves out stride-0 dims (a view that setitem can write through)."""
    ndim = len(shape)
    identity = tuple(range(ndim))
    if dense or (dense is None and draw(st.integers(0, 3)) == 0):
        return View(tuple(shape), identity, (slice(None),) * ndim, tuple(shape))
    windows = [draw(_dim_window(size, broadcast)) for size in shape]
    if int(np.prod([w[0] for w in windows])) > max_base:
        windows = [
            (1, slice(None), True) if b else (s, slice(None), False)
            for s, b in zip(shape, [w[2] for w in windows])
        ]
    perm = tuple(draw(st.permutations(identity))) if ndim > 1 else identity
    lengths = [w[0] for w in windows]
    base_shape = [0] * ndim
    for i, axis in enumerate(perm):
        base_shape[axis] = lengths[i]  # view dim i is base dim perm[i]
    return View(tuple(base_shape), perm, tuple(w[1] for w in windows), tuple(shape))


# ------------------------------------------------------------------ values
def values(dtype: str, shape: tuple[int, ...], style: str, seed: int) -> np.ndarray:
    """A dense array of `dtype` and `shape` in a named style (see FLOAT_STYLES, INT_STYLES)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    if dtype == "bool":
        return (rng.random(n) < 0.5).reshape(shape)
    if dtype in INT_DTYPES:
        low, high = {"small": (-4, 5), "wide": (-(10**6), 10**6), "nonneg": (0, 6)}[style]
        return rng.integers(low, high, n).astype(dtype).reshape(shape)
    if style == "ints":
        x = rng.integers(-3, 4, n).astype(np.float64)
    elif style == "specials":
        x = np.where(rng.random(n) < 0.5, rng.choice(SPECIALS, n), rng.normal(0, 2, n))
    elif style == "infs":
        x = np.where(rng.random(n) < 0.3, rng.choice([np.inf, -np.inf], n), rng.normal(0, 2, n))
    elif style == "big":
        x = rng.uniform(300.0, 3000.0, n)  # sums overflow float16 (max 65504)
    elif style == "positive":
        x = rng.uniform(0.25, 3.0, n)
    elif style == "distinct":
        # every value distinct and >= 0.1 apart: no ties for max/argmax, no kinks at 0
        x = (rng.permutation(n) - n / 2 + 0.37) * 0.1 * rng.choice([-1, 1])
    elif style == "large":
        x = rng.normal(0, 1e3, n)
    else:
        x = rng.normal(0, 2, n)
    with np.errstate(over="ignore"):
        return x.astype(dtype).reshape(shape)


def value_styles(dtype: str) -> tuple[str, ...]:
    if dtype == "bool":
        return ("bool",)
    return INT_STYLES if dtype in INT_DTYPES else FLOAT_STYLES


@dataclass(frozen=True)
class Operand:
    """A dense base (host values) and the view of it an op is given."""

    base: np.ndarray
    view: View
    style: str

    @property
    def dtype(self) -> str:
        return str(self.base.dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.view.shape

    def on(self, device: str) -> tg.Tensor:
        return self.view.apply_tg(tg.tensor(self.base, device=device))

    def host(self) -> np.ndarray:
        return self.view.apply_np(self.base)

    def __repr__(self) -> str:
        values_text = np.array2string(self.host(), threshold=40, precision=4)
        return f"<{self.dtype} {self.view!r} {self.style}: {values_text}>"


@st.composite
def operands(
    draw,
    shape: tuple[int, ...],
    dtype: str,
    style: str | None = None,
    dense: bool | None = None,
    broadcast: bool = True,
    max_base: int = MAX_BASE_ELEMENTS,
) -> Operand:
    """An Operand of `dtype` whose view has `shape`; `style` None draws one."""
    view = draw(views(tuple(shape), dense=dense, broadcast=broadcast, max_base=max_base))
    style = style or draw(st.sampled_from(value_styles(dtype)))
    seed = draw(st.integers(0, 2**16))
    return Operand(values(dtype, view.base_shape, style, seed), view, style)
