"""Reverse-mode autograd: `Function` primitives, the engine, grad modes and gradcheck;
`functional` (jacobian, hessian, vjp, jvp), anomaly detection, and the legacy `Variable`."""

from . import anomaly_mode, custom_function, functional, grad_mode
from .anomaly_mode import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from .backward_api import backward
from .engine import grad
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
from .variable import Variable

__all__ = [
    "Dropped",
    "Function",
    "RemovableHandle",
    "Variable",
    "anomaly_mode",
    "backward",
    "custom_function",
    "detect_anomaly",
    "enable_grad",
    "functional",
    "grad",
    "grad_mode",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "numerical_grad",
    "set_detect_anomaly",
    "set_grad_enabled",
    "with_grad_hook",
]
