"""`tg.profile()`: time every primitive op (forward and backward) and print a table.

Every differentiable op runs through `Function.apply`, and every backward step through the
engine, so those two places are all a profiler needs to watch. While a `profile()` block is
open it sits in `tinygpt.autograd.function.profile_hook`; both places check that global and
hand the call to it. Closed, it costs one global lookup per op.

    >>> import tinygpt as tg
    >>> x = tg.ones(3, requires_grad=True)
    >>> with tg.profile(show=False) as prof:
    ...     (x * x).sum().backward()
    >>> prof.calls("Mul"), prof.calls("MulBackward")
    (1, 1)

What the table counts:

- **op**: the `Function` class (`Mul`, `Matmul`, ...); backward steps get `Backward` appended.
- **calls** and **total time** (forward or backward only: not the Python around it).
- **share**: this op's time over the time of all ops in the block.
- **bytes**: memory the op allocated, the sum of its outputs' sizes. Views (reshape,
  permute, expand, slicing) return the input's buffer and allocate nothing, so they show 0.

NOTE: ops that are not `Function`s (comparisons, `argmax`, optimizer updates under
`no_grad` that call kernels directly) are not in the table.

Below it, a second table says which fused kernels ran and where a call was composed from
small ops instead, with the reason (a mask the fused attention does not take, a backend
without the kernel): `prof.fused_calls("attention")`, `prof.fallbacks()`.

    >>> with tg.profile(show=False) as prof:
    ...     _ = tg.softmax(tg.ones(2, 3), -1)
    >>> prof.fused_calls("softmax") + len(prof.fallbacks())
    1
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .autograd import function

if TYPE_CHECKING:
    from .autograd.function import Function
    from .ndarray import NDArray
    from .tensor import Tensor

__all__ = ["profile", "OpStats", "Fallback", "format_bytes"]


@dataclass
class OpStats:
    """What one op name added up to inside a `profile()` block."""

    name: str
    calls: int = 0
    seconds: float = 0.0
    bytes: int = 0


@dataclass
class Fallback:
    """A fused op that ran as a composite inside a `profile()` block, and why."""

    op: str  # the fused kernel's name: "attention", "gelu", "adamw", ...
    reason: str
    calls: int = 0


class profile:  # noqa: N801 - used like a function: `with tg.profile():`
    """Context manager that records every op run inside it and prints a table at the end.

    Args:
        show: print the table when the block ends (else read `prof.table()` yourself).
        sync: wait for the device after each op (`backend.synchronize()`) so that an
            asynchronous device such as CUDA reports kernel time, not launch time. A no-op
            on synchronous backends; turn it off to see launch overhead only.
        limit: how many rows the printed table shows (the slowest first); None for all.

    One block records at a time: a nested `profile()` records its ops only into itself.
    """

    def __init__(self, show: bool = True, sync: bool = True, limit: int | None = 30) -> None:
        self.show = show
        self.sync = sync
        self.limit = limit
        self.stats: dict[str, OpStats] = {}
        # (fused op, None when its kernel ran, else why the composite ran) -> calls
        self.paths: dict[tuple[str, str | None], int] = {}
        self.wall_seconds = 0.0
        self._started = 0.0
        self._previous: Any = None

    # ------------------------------------------------------------ context manager
    def __enter__(self) -> profile:
        self._previous = function.profile_hook
        function.profile_hook = self
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.wall_seconds = time.perf_counter() - self._started
        function.profile_hook = self._previous
        if self.show and kind is None:
            print(self.table(self.limit))

    # ---------------------------------------------- called by Function.apply / engine
    def forward(self, ctx: Function, tensors: tuple[Tensor, ...], options: dict) -> Any:
        """Run `ctx.forward` on the tensors' arrays, timed; returns what it returns (an
        array, or a tuple of arrays for a node with several outputs)."""
        inputs = [t._data for t in tensors]
        start = time.perf_counter()
        out = ctx.forward(*inputs, **options)
        outs = out if isinstance(out, tuple) else (out,)
        if self.sync and outs:
            outs[0].backend.synchronize()
        elapsed = time.perf_counter() - start
        self._add(type(ctx).__name__, elapsed, _allocated(outs, inputs))
        return out

    def backward(self, node: Function, grads: tuple[NDArray | None, ...]) -> Any:
        """Run `node.backward(*grads)`, timed, exactly as the engine would; returns the
        parents' gradients."""
        start = time.perf_counter()
        parent_grads = node.backward(*grads)
        given = [g for g in grads if g is not None]
        if self.sync and given:
            given[0].backend.synchronize()
        elapsed = time.perf_counter() - start
        outs = parent_grads if isinstance(parent_grads, tuple) else (parent_grads,)
        self._add(type(node).__name__ + "Backward", elapsed, _allocated(outs, given))
        return parent_grads

    def dispatch(self, name: str, reason: str | None) -> None:
        """Called by `ops.dispatch.use_fused`: fused op `name` ran as its kernel (reason
        None) or as a composite, because of `reason`."""
        key = (name, reason)
        self.paths[key] = self.paths.get(key, 0) + 1

    def _add(self, name: str, seconds: float, nbytes: int) -> None:
        stats = self.stats.get(name)
        if stats is None:
            stats = self.stats[name] = OpStats(name)
        stats.calls += 1
        stats.seconds += seconds
        stats.bytes += nbytes

    # ------------------------------------------------------------------- reading
    def calls(self, name: str) -> int:
        """How many times op `name` ran (0 if never): `prof.calls("MatmulBackward")`."""
        stats = self.stats.get(name)
        return 0 if stats is None else stats.calls

    def fused_calls(self, name: str) -> int:
        """How many calls of fused op `name` ran its kernel: `prof.fused_calls("gelu")`."""
        return self.paths.get((name, None), 0)

    def fallbacks(self) -> list[Fallback]:
        """Every (fused op, reason) that ran as a composite, the most calls first."""
        found = [
            Fallback(name, reason, calls)
            for (name, reason), calls in self.paths.items()
            if reason is not None
        ]
        return sorted(found, key=lambda f: (-f.calls, f.op, f.reason))

    def rows(self) -> list[OpStats]:
        """Every op's stats, the most time first."""
        return sorted(self.stats.values(), key=lambda s: (-s.seconds, s.name))

    def table(self, limit: int | None = None) -> str:
        """The per-op table as text (the `limit` slowest rows, then a total line)."""
        rows = self.rows()
        op_seconds = sum(s.seconds for s in rows)
        lines = [f"{'op':<24} {'calls':>7} {'total ms':>10} {'share':>7} {'allocated':>11}"]
        shown = rows if limit is None else rows[:limit]
        for s in shown:
            share = 100.0 * s.seconds / op_seconds if op_seconds > 0 else 0.0
            lines.append(
                f"{s.name:<24} {s.calls:>7} {s.seconds * 1e3:>10.3f} {share:>6.1f}% "
                f"{format_bytes(s.bytes):>11}"
            )
        if len(shown) < len(rows):
            lines.append(f"... {len(rows) - len(shown)} more ops (prof.table(limit=None))")
        calls = sum(s.calls for s in rows)
        total_bytes = sum(s.bytes for s in rows)
        lines.append(
            f"{'total':<24} {calls:>7} {op_seconds * 1e3:>10.3f} {'100.0%':>7} "
            f"{format_bytes(total_bytes):>11}"
        )
        # The gap between the two is Python outside the ops: the first thing to look at when
        # a model of tiny ops is slow.
        lines.append(
            f"ops took {op_seconds * 1e3:.3f} ms of the block's {self.wall_seconds * 1e3:.3f} ms"
        )
        lines.extend(self._paths_table())
        return "\n".join(lines)

    def _paths_table(self) -> list[str]:
        """Fused kernels that ran, then composite fallbacks with their reasons."""
        if not self.paths:
            return []
        lines = ["", f"{'fused op':<24} {'calls':>7}  path"]
        fused = sorted((name, n) for (name, reason), n in self.paths.items() if reason is None)
        for name, calls in fused:
            lines.append(f"{name:<24} {calls:>7}  fused kernel")
        for f in self.fallbacks():
            lines.append(f"{f.op:<24} {f.calls:>7}  composite: {f.reason}")
        return lines

    def __repr__(self) -> str:
        calls = sum(s.calls for s in self.stats.values())
        return f"<tg.profile: {len(self.stats)} ops, {calls} calls>"


def _allocated(outputs: Iterable[NDArray | None], inputs: Iterable[NDArray]) -> int:
    """Bytes of the outputs that are new buffers (a view of an input allocates nothing)."""
    seen = [id(x.buffer) for x in inputs]
    total = 0
    for out in outputs:
        if out is None or id(out.buffer) in seen:
            continue
        seen.append(id(out.buffer))  # `Add` backward returns one gradient twice: count it once
        total += out.size * out.dtype.itemsize
    return total


def format_bytes(n: int) -> str:
    """Bytes for people: `format_bytes(3 * 1024 * 1024)` -> '3.0 MiB'."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024.0
        if value < 1024.0 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"
