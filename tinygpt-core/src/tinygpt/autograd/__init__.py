"""Reverse-mode autograd: `Function` primitives, the engine, grad modes and gradcheck."""

from .engine import backward, grad
from .function import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck, numerical_grad

__all__ = [
    "Function",
    "backward",
    "enable_grad",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "numerical_grad",
    "set_grad_enabled",
]
