"""`torch.utils.data.distributed`'s name for `DistributedSampler` (which lives in
samplers_more.py), so `from torch.utils.data.distributed import DistributedSampler` runs."""

from .samplers_more import DistributedSampler

__all__ = ["DistributedSampler"]
