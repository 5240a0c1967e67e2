"""`tinygpt.utils.data`: the `torch.utils.data` spelling of `tinygpt.data` (same objects).

>>> from tinygpt.utils.data import DataLoader, TensorDataset
>>> import tinygpt as tg
>>> len(DataLoader(TensorDataset(tg.arange(6.0)), batch_size=4))
2
"""

import tinygpt.data as _data
from tinygpt.data import *  # noqa: F403 - every public name, one list to keep (tinygpt.data's)

__all__ = list(_data.__all__)
