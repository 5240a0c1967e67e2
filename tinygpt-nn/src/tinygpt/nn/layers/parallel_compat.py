"""SyncBatchNorm, DataParallel and LinearCrossEntropyOptions: PyTorch names that single-device
code meets, with PyTorch's behaviour when there is nothing to synchronise.

- SyncBatchNorm is BatchNorm over any (N, C, ...) input. With one process (PyTorch's case
  without an initialised process group) that is exactly what it computes. Across several
  processes the statistics would have to be all-reduced in forward and backward; that is not
  built, so training it with world_size > 1 raises rather than silently normalising per rank.
- DataParallel runs its module on one device and adds the `module.` prefix to state_dict
  keys, as PyTorch's does when it has a single device; use DistributedDataParallel
  (`tinygpt.nn.parallel`) for several processes.
- LinearCrossEntropyOptions holds the chunking options of F.linear_cross_entropy, which
  tinygpt accepts and ignores (it always takes the reference path).

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> list(nn.DataParallel(nn.Linear(2, 3)).state_dict())
['module.weight', 'module.bias']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tinygpt.distributed as dist
from tinygpt import Tensor

from ..module import Module
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, _BatchNorm

__all__ = ["SyncBatchNorm", "DataParallel", "LinearCrossEntropyOptions"]


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over (N, C, ...) whose statistics would span all processes (see above)."""

    expected_dims = (2, 3, 4, 5)

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group: Any = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.process_group = process_group

    def forward(self, x: Tensor) -> Tensor:
        if self.training and dist.is_initialized() and dist.world_size() > 1:
            raise NotImplementedError(
                "SyncBatchNorm: synchronising batch statistics across processes is not "
                "supported; use BatchNorm (per-process statistics) or GroupNorm instead"
            )
        return super().forward(x)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """`module` with every BatchNorm1d/2d/3d replaced by a SyncBatchNorm sharing its
        parameters and buffers (the module itself when it is one)."""
        if isinstance(module, BatchNorm1d | BatchNorm2d | BatchNorm3d):
            synced = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                process_group,
            )
            for name in ("weight", "bias"):
                if getattr(module, name) is not None:
                    setattr(synced, name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                if getattr(module, name) is not None:
                    synced.register_buffer(name, getattr(module, name))
            synced.train(module.training)
            return synced
        for name, child in list(module.named_children()):
            module.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return module


class DataParallel(Module):
    """Runs `module` on one device (PyTorch's single-device DataParallel)."""

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
    ) -> None:
        super().__init__()
        self.module = module
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


@dataclass
class LinearCrossEntropyOptions:
    """F.linear_cross_entropy's chunking options (accepted, not used: see the module note)."""

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: Any = None
