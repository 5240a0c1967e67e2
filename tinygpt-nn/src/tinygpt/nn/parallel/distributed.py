"""`DistributedDataParallel`: the same model in N processes, each on its share of the batch.

Each rank runs forward and backward on its own micro-batches; the gradients are then
summed (or averaged) over the ranks with allreduce, so every rank takes the same optimizer
step and the copies of the model never drift apart.

    model = nn.parallel.DistributedDataParallel(GPT(config))   # broadcasts rank 0's weights
    _, loss = model(x, y)          # x, y: this rank's micro-batch
    loss.backward()                # buckets are reduced as their gradients become final
    model.synchronize()            # waits for the last bucket (a no-op if done already)
    optimizer.step()

Overlap: a post-accumulate-grad hook on every parameter tells its bucket when its
gradient is final; the first bucket (the last layers) starts its allreduce while backward
still computes the rest, and the collectives are started in bucket order on every rank (MPI
requires the same order everywhere). `no_sync()` turns the reduction off for the
micro-batches of a gradient-accumulation step but the last.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import tinygpt as tg
import tinygpt.distributed as dist

from ..module import Module
from ..parameter import Parameter
from .buckets import Bucket, make_buckets

__all__ = ["DistributedDataParallel"]

_MIB = 1024 * 1024


class DistributedDataParallel(Module):
    """Wrap `module` so that `backward()` leaves every rank with the reduced gradients.

    `bucket_cap_mb`: the size of a flat gradient bucket (25 MB, as PyTorch); `reduce_op`:
    "mean" (PyTorch's DDP: each rank's loss is a mean over its own batch) or "sum" (when the
    loss was already scaled by 1 / global number of micro-batches, as `tinygpt train` does).
    """

    def __init__(
        self, module: Module, bucket_cap_mb: float = 25.0, reduce_op: str = "mean"
    ) -> None:
        super().__init__()
        if reduce_op not in ("mean", "sum"):
            raise ValueError(f"DistributedDataParallel: reduce_op={reduce_op!r}; use mean or sum")
        if bucket_cap_mb <= 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb={bucket_cap_mb} must be > 0")
        self.module = module
        dist.init()
        self.reduce_op = reduce_op
        self.world_size = dist.world_size()
        params = _unique_trainable(module)
        self._buckets = make_buckets(params, int(bucket_cap_mb * _MIB))
        self._bucket_of = {id(p): b for b in self._buckets for p in b.params}
        self._sync = True
        self._next = 0  # index of the next bucket to launch, in order
        self._hooks_fire = False
        self._reduced = False  # the hooks already reduced every bucket of this backward
        self._broadcast_parameters(params)
        if self.world_size > 1:
            self._register_hooks(params)

    # ------------------------------------------------------------------ forward
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        self._check_previous_backward()
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside this block only accumulate local gradients (no allreduce)."""
        previous = self._sync
        self._sync = False
        try:
            yield
        finally:
            self._sync = previous

    def synchronize(self) -> None:
        """Reduce whatever has not been reduced yet and wait for every bucket.

        Needed after backward when some parameter got no gradient (its bucket never fills)
        or when core has no gradient hooks; a cheap no-op otherwise.
        """
        if self.world_size == 1 or not self._sync:
            return
        if self._reduced:
            self._reduced = False
            return
        self._launch_in_order(force=True)
        self._finish_all()

    @property
    def buckets(self) -> list[Bucket]:
        return self._buckets

    # ----------------------------------------------------------------- internals
    def _broadcast_parameters(self, params: list[Parameter]) -> None:
        """Start from rank 0's weights everywhere (other ranks' initialisations are lost)."""
        for p in params:
            dist.broadcast(p, src=0)
        for buffer in self.module.buffers():
            dist.broadcast(buffer, src=0)

    def _register_hooks(self, params: list[Parameter]) -> None:
        register = getattr(tg.Tensor, "register_post_accumulate_grad_hook", None)
        if register is None:
            return  # no hooks in this core: `synchronize()` reduces after backward
        self._hooks_fire = True
        for p in params:
            p.register_post_accumulate_grad_hook(self._grad_ready)

    def _grad_ready(self, param: Parameter) -> None:
        """A parameter's gradient is final for this backward: launch full buckets, in order."""
        if not self._sync:
            return
        bucket = self._bucket_of[id(param)]
        bucket.ready.add(id(param))
        self._launch_in_order(force=False)
        if self._next == len(self._buckets):
            self._finish_all()  # the last bucket is on its way: backward is over
            self._reduced = True

    def _launch_in_order(self, force: bool) -> None:
        while self._next < len(self._buckets):
            bucket = self._buckets[self._next]
            if not force and len(bucket.ready) < len(bucket.params):
                return
            bucket.launch(self.reduce_op)
            self._next += 1

    def _finish_all(self) -> None:
        for bucket in self._buckets:
            if bucket.work is not None:
                bucket.finish()
        self._next = 0

    def _check_previous_backward(self) -> None:
        """A backward that reduced only some buckets leaves the ranks out of step: say so."""
        self._reduced = False
        pending = self._next > 0 or any(b.ready for b in self._buckets)
        if pending:
            raise dist.DistributedError(
                "DistributedDataParallel: the last backward left some gradients unreduced "
                "(a parameter got no gradient, so its bucket never filled); call "
                "model.synchronize() after backward() and before optimizer.step()"
            )

    def extra_repr(self) -> str:
        sizes = ", ".join(f"{b.nbytes / _MIB:.2f}" for b in self._buckets)
        return f"world_size={self.world_size}, reduce_op={self.reduce_op}, buckets MiB=[{sizes}]"


def _unique_trainable(module: Module) -> list[Parameter]:
    """The trainable parameters, each once (a tied weight is one parameter)."""
    seen: set[int] = set()
    params = []
    for p in module.parameters():
        if p.requires_grad and id(p) not in seen:
            seen.add(id(p))
            params.append(p)
    return params
