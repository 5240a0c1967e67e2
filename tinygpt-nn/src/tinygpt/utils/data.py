"""`tinygpt.utils.data`: the `torch.utils.data` spelling of `tinygpt.data` (same objects).

>>> from tinygpt.utils.data import DataLoader, TensorDataset
>>> import tinygpt as tg
>>> len(DataLoader(TensorDataset(tg.arange(6.0)), batch_size=4))
2
"""

import sys

import tinygpt.data as _data
from tinygpt.data import *  # noqa: F403 - every public name, one list to keep (tinygpt.data's)

__all__ = list(_data.__all__)

# `from torch.utils.data.sampler import Sampler` and friends: the submodules under this name too
for _name in ("dataloader", "dataset", "distributed", "sampler"):
    sys.modules[f"{__name__}.{_name}"] = getattr(_data, _name)
