"""`tinygpt.utils`: PyTorch's `torch.utils` path for the parts tinygpt has (`utils.data`).

Only an alias: the code lives in `tinygpt.data`, so `torch.utils.data.DataLoader` code runs
with `import tinygpt as torch`.

>>> import tinygpt
>>> tinygpt.utils.data.DataLoader is tinygpt.data.DataLoader
True
"""

from . import data

__all__ = ["data"]
