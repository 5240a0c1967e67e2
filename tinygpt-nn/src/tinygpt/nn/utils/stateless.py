"""`torch.nn.utils.stateless.functional_call`, PyTorch's older home of `tg.func.functional_call`
(a module run with other tensors as its parameters and buffers)."""

from __future__ import annotations

import tinygpt as tg

__all__ = ["functional_call"]

functional_call = tg.func.functional_call
