"""Random tensors from one seeded generator, the same numbers on every backend.

`Generator` holds a seed (the Philox key) and an offset (the next unused counter block);
each random op takes the blocks it needs and advances the offset, so a sequence of ops
after `manual_seed(s)` is reproducible, on numpy, cpu, pure or cuda alike. The numbers
themselves are specified in `tinygpt.philox`.

>>> _ = manual_seed(0)
>>> a = rand(3)
>>> _ = manual_seed(0)
>>> bool((rand(3) == a).all())
True
"""

from __future__ import annotations

import random as _py_random
from typing import Any

from .backend.registry import get_backend
from .dtypes import DType, as_dtype, float64, get_default_dtype, int64
from .errors import DTypeError, ShapeError
from .host import from_host_data
from .ndarray import NDArray, as_int, checked_nbytes, prod
from .philox import block_words
from .tensor import Tensor

__all__ = [
    "Generator",
    "default_generator",
    "manual_seed",
    "seed",
    "initial_seed",
    "next_seed",
    "get_rng_state",
    "set_rng_state",
    "rand",
    "randn",
    "randint",
    "randperm",
    "rand_like",
    "randn_like",
    "randint_like",
]

_SEED_RANGE = (-(2**63), 2**64)  # PyTorch's: a negative seed wraps to 2**64 + seed


class Generator:
    """A Philox stream: `seed` picks the stream, `offset` counts the blocks used so far.

    >>> g = Generator().manual_seed(42)
    >>> g.initial_seed(), g.get_state()
    (42, (42, 0))
    """

    def __init__(self, device: Any = None) -> None:
        # (device is accepted for PyTorch's signature: one stream serves every device)
        self._seed = _py_random.SystemRandom().getrandbits(64)
        self.offset = 0

    def manual_seed(self, seed: int) -> Generator:
        value = as_int("manual_seed", seed, "seed")
        if not _SEED_RANGE[0] <= value < _SEED_RANGE[1]:
            raise ValueError(
                f"manual_seed: seed {value} is out of range [-2**63, 2**64); pass a 64-bit int"
            )
        self._seed = value % 2**64
        self.offset = 0
        return self

    def seed(self) -> int:
        """Re-seed from the operating system's entropy; returns the new seed."""
        self.manual_seed(_py_random.SystemRandom().getrandbits(64))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> tuple[int, int]:
        """(seed, offset): everything needed to replay the stream from here."""
        return self._seed, self.offset

    def set_state(self, state: tuple[int, int]) -> Generator:
        seed_value, offset = state
        self.manual_seed(seed_value)
        self.offset = int(offset)
        return self

    def take(self, blocks: int) -> int:
        """Reserve `blocks` counter blocks; returns the first (the call's counter)."""
        start = self.offset
        self.offset += blocks
        return start


default_generator = Generator()


def _generator(generator: Generator | None) -> Generator:
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a tinygpt.Generator, got {type(generator).__name__}")
    return generator


def manual_seed(seed: int) -> Generator:
    """Seed the default generator: every later random op (on any device) is reproducible."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> tuple[int, int]:
    return default_generator.get_state()


def set_rng_state(state: tuple[int, int]) -> None:
    default_generator.set_state(state)


def next_seed(generator: Generator | None = None) -> int:
    """A fresh 63-bit seed drawn from the generator (for loaders and other seeded helpers)."""
    gen = _generator(generator)
    (words,) = block_words(gen.initial_seed(), gen.take(1), 1)
    return ((words[1] << 32) | words[0]) >> 1


# ------------------------------------------------------------------------- makers
def sizes_arg(shape: tuple, size: Any) -> tuple:
    """The positional sizes, or PyTorch's keyword spelling `zeros(size=(2, 3))`."""
    if size is None:
        return shape
    if shape:
        raise TypeError("pass the sizes either positionally or as size=, not both")
    return (size,)


def _shape(op: str, size: tuple | list) -> tuple[int, ...]:
    """f(2, 3) and f((2, 3)) alike, ints >= 0 only."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    shape = tuple(as_int(op, d, f"each size in {tuple(size)}") for d in size)
    if any(d < 0 for d in shape):
        raise ShapeError(f"{op}: negative dimension in size {shape}; sizes must be >= 0")
    return shape


def sample(
    op: str,
    dist: str,
    shape: tuple[int, ...],
    a: float,
    b: float,
    dtype: DType,
    device: Any,
    generator: Generator | None = None,
) -> NDArray:
    """`dist` samples of `shape` on `device`, from the generator's next counter blocks."""
    checked_nbytes(op, shape, dtype)
    backend = get_backend(device)
    if dtype not in backend.dtypes:
        supported = ", ".join(sorted(d.name for d in backend.dtypes))
        raise DTypeError(f"{op}: device {backend.device} does not support {dtype}: {supported}")
    gen = _generator(generator)
    size = prod(shape)
    counter = gen.take((size + 1) // 2)  # one block per pair of samples
    buffer = backend.random(dist, size, dtype, gen.initial_seed(), a, b, counter)
    return NDArray(backend, buffer, shape, dtype)


def _floating(op: str, dtype: Any) -> DType:
    wanted = as_dtype(dtype or get_default_dtype())
    if not wanted.is_floating_point:
        raise DTypeError(f"{op}: dtype must be floating, got {wanted}; use randint for ints")
    return wanted


def _finish(data: NDArray, requires_grad: bool) -> Tensor:
    return Tensor._make(data, requires_grad)


def rand(
    *shape: Any,
    size: Any = None,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform samples from [0, 1)."""
    dtype = _floating("rand", dtype)
    data = sample(
        "rand",
        "uniform",
        _shape("rand", sizes_arg(shape, size)),
        0.0,
        1.0,
        dtype,
        device,
        generator,
    )
    return _finish(data, requires_grad)


def randn(
    *shape: Any,
    size: Any = None,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal samples."""
    dtype = _floating("randn", dtype)
    data = sample(
        "randn",
        "normal",
        _shape("randn", sizes_arg(shape, size)),
        0.0,
        1.0,
        dtype,
        device,
        generator,
    )
    return _finish(data, requires_grad)


def rand_like(x: Tensor, dtype: Any = None, device: Any = None, **kwargs: Any) -> Tensor:
    return rand(x.shape, dtype=dtype or x.dtype, device=device or x.device, **kwargs)


def randn_like(x: Tensor, dtype: Any = None, device: Any = None, **kwargs: Any) -> Tensor:
    return randn(x.shape, dtype=dtype or x.dtype, device=device or x.device, **kwargs)


_RANDINT_USAGE = (
    "randint(high, size), randint(low, high, size), or with keywords low=, high=, size= "
    "(size a tuple of ints, e.g. randint(10, (3,)))"
)


def _randint_args(args: tuple, low: Any, high: Any, size: Any) -> tuple[int, int, Any]:
    """PyTorch's overloads: (high, size) and (low, high, size), positional or keyword."""
    numbers = list(args)
    if size is None and numbers and isinstance(numbers[-1], (tuple, list)):
        size = numbers.pop()
    if low is not None:
        numbers.insert(0, low)
    if high is not None:
        numbers.append(high)
    if size is None or len(numbers) not in (1, 2):
        raise TypeError(f"randint: got arguments {args!r}; expected {_RANDINT_USAGE}")
    bounds = [as_int("randint", n, "low and high") for n in numbers]
    lo, hi = (0, bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])
    if hi <= lo:
        raise ValueError(f"randint: empty range [{lo}, {hi}): high must be > low")
    return lo, hi, size


def randint(
    *args: Any,
    low: Any = None,
    high: Any = None,
    size: Any = None,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers uniform in [low, high) (int64 by default), as `torch.randint`.

    >>> randint(10, (2, 3)).shape, randint(5, 7, (4,)).dtype
    ((2, 3), tinygpt.int64)
    """
    if requires_grad:
        raise DTypeError("randint: only floating tensors can require grad")
    lo, hi, size = _randint_args(args, low, high, size)
    shape = _shape("randint", size if isinstance(size, (tuple, list)) else (size,))
    # NOTE: floor of a double uniform in [0, n): each of 0..n-1 equally likely (n << 2**53)
    width = float(hi - lo)
    data = sample("randint", "uniform", shape, 0.0, width, float64, device, generator)
    ints = Tensor._make(NDArray(data.backend, data.backend.cast(data, int64), shape, int64))
    out = ints.clamp(0, hi - lo - 1) + lo  # clamp: a double can round up to n itself
    return out.to(as_dtype(dtype)) if dtype is not None else out


def randint_like(x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    kwargs.setdefault("dtype", x.dtype)
    kwargs.setdefault("device", x.device)
    return randint(*args, size=x.shape, **kwargs)


def randperm(
    n: int, *, generator: Generator | None = None, dtype: Any = None, device: Any = None
) -> Tensor:
    """A random permutation of 0..n-1 (int64 by default).

    Fisher-Yates on the host from n - 1 uniforms of the generator, so it is the same on
    every device.

    >>> sorted(randperm(5).tolist())
    [0, 1, 2, 3, 4]
    """
    count = as_int("randperm", n, "n")
    if count < 0:
        raise ValueError(f"randperm: n must be >= 0, got {count}")
    order = list(range(count))
    if count > 1:
        shape = (count - 1,)
        u = sample("randperm", "uniform", shape, 0.0, 1.0, float64, device, generator)
        draws = Tensor._make(u).tolist()
        for i in range(count - 1, 0, -1):
            j = min(int(draws[i - 1] * (i + 1)), i)  # j uniform in 0..i
            order[i], order[j] = order[j], order[i]
    return Tensor._make(from_host_data(order, as_dtype(dtype or int64), get_backend(device)))
