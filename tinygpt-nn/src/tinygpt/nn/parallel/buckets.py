"""`Bucket`: a flat gradient buffer for a group of parameters, reduced with one collective.

One allreduce of 25 MB costs about as much as one of 25 KB plus the bytes: a collective has
a fixed start-up cost (latency, a handshake between ranks), so many small gradients are
packed into a few large flat buffers. Buckets hold parameters in reverse order of
registration, because backward produces the last layers' gradients first: the first bucket
fills (and its allreduce starts) while backward is still working on the earlier layers.

All operations go through public Tensor methods: slices of one flat tensor (views) are
copied into and out of, so the bits of every gradient are moved, never changed.
"""

from __future__ import annotations

from collections.abc import Iterable

import tinygpt as tg
import tinygpt.distributed as dist

from ..parameter import Parameter

__all__ = ["Bucket", "make_buckets"]


class Bucket:
    """Parameters of one dtype and device whose gradients travel together."""

    def __init__(self, params: list[Parameter]) -> None:
        self.params = params
        self.slices: list[tuple[int, int]] = []
        start = 0
        for p in params:
            self.slices.append((start, start + p.numel()))
            start += p.numel()
        first = params[0]
        # (numel,): every gradient of the bucket, one after another
        self.flat = tg.zeros(start, dtype=first.dtype, device=first.device)
        self.ready: set[int] = set()  # ids of the params whose gradient is final
        self.work: dist.Work | None = None

    @property
    def nbytes(self) -> int:
        return self.flat.numel() * self.flat.dtype.itemsize

    def launch(self, op: str) -> None:
        """Pack the gradients into `flat` and start reducing it (non-blocking)."""
        with tg.no_grad():
            for p, (start, stop) in zip(self.params, self.slices, strict=True):
                part = self.flat[start:stop]
                if p.grad is None:
                    part.zero_()  # unused here; other ranks' gradients still arrive
                else:
                    part.copy_(p.grad.reshape(-1))
        self.work = dist.all_reduce(self.flat, op=op, async_op=True)

    def finish(self) -> None:
        """Wait for the reduction and copy the results back into every `.grad`."""
        assert self.work is not None, "finish() before launch()"
        self.work.wait()
        self.work = None
        with tg.no_grad():
            for p, (start, stop) in zip(self.params, self.slices, strict=True):
                reduced = self.flat[start:stop].reshape(p.shape)
                if p.grad is None:
                    p.grad = reduced.clone()
                else:
                    p.grad.copy_(reduced)
        self.ready.clear()


def make_buckets(params: Iterable[Parameter], cap_bytes: int) -> list[Bucket]:
    """Group `params` (in reverse order) into buckets of at most `cap_bytes` each.

    A bucket holds one dtype on one device; a parameter larger than the cap gets a bucket
    of its own.
    """
    buckets: list[Bucket] = []
    current: list[Parameter] = []
    current_bytes = 0
    for p in reversed(list(params)):
        size = p.numel() * p.dtype.itemsize
        same_kind = not current or (current[0].dtype, current[0].device) == (p.dtype, p.device)
        if current and (current_bytes + size > cap_bytes or not same_kind):
            buckets.append(Bucket(current))
            current, current_bytes = [], 0
        current.append(p)
        current_bytes += size
    if current:
        buckets.append(Bucket(current))
    return buckets
