"""Reverse-mode autograd: `Function` primitives, the engine, grad modes and gradcheck."""

from .engine import backward, grad
from .function import (
    Dropped,
    Function,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .grad_hook import with_grad_hook
from .gradcheck import gradcheck, gradgradcheck, numerical_grad
from .hooks import RemovableHandle

__all__ = [
    "Dropped",
    "Function",
    "RemovableHandle",
    "backward",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "numerical_grad",
    "set_grad_enabled",
    "with_grad_hook",
]
