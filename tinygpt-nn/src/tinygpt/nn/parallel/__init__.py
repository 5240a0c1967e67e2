"""tinygpt.nn.parallel: data parallelism over `tinygpt.distributed`.

Reading order: `buckets.py` (flat gradient buffers) -> `distributed.py`
(`DistributedDataParallel`).
"""

from .buckets import Bucket, make_buckets
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel", "Bucket", "make_buckets"]
