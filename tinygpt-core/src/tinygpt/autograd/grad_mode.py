"""`torch.autograd.grad_mode`'s names (PyTorch code imports them from here): the grad-mode
context managers, which live in `function.py` / `modes.py`."""

from .function import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)

__all__ = ["enable_grad", "inference_mode", "is_grad_enabled", "no_grad", "set_grad_enabled"]
