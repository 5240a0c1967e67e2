"""Module: the base class of every layer and model.

Assigning a `Parameter`, a `Module` or a registered buffer to an attribute records it, so
`parameters()`, `state_dict()`, `to()` and `train()`/`eval()` can walk the whole tree:

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> class Affine(nn.Module):
...     def __init__(self) -> None:
...         super().__init__()
...         self.scale = nn.Parameter(tg.ones(3))
...         self.register_buffer("calls", tg.zeros(()))
...     def forward(self, x):
...         return x * self.scale
>>> [name for name, _ in Affine().named_parameters()]
['scale']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import tinygpt as tg
from tinygpt import DType, DTypeError, Tensor, as_dtype

from .buffer import Buffer
from .module_hooks import HookRegistration, call_with_hooks
from .module_lookup import ModuleLookup
from .parameter import Parameter
from .state_dict import IncompatibleKeys, StateDictError, collect_state, load_state

__all__ = ["Module", "StateDictError", "IncompatibleKeys"]

M = TypeVar("M", bound="Module")


class Module(HookRegistration, ModuleLookup):
    """Base class of layers: subclasses set attributes in `__init__` and define `forward`."""

    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _non_persistent: set[str]
    _modules: dict[str, Module | None]

    def __init__(self) -> None:
        # NOTE: object.__setattr__, because our own __setattr__ needs these dicts to exist
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", {})

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: subclasses must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        hooks = self._module_hooks
        if hooks:  # register_forward_hook & co. (module_hooks.py)
            return call_with_hooks(self, hooks, args, kwargs)
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ registration
    def _check_initialized(self, name: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}: cannot assign {name!r} before Module.__init__(); "
                "call super().__init__() first in your __init__"
            )

    def _check_name(self, op: str, name: str, registry: dict[str, Any]) -> None:
        """Names for register_*: non-empty, no dots, not shadowing a plain attribute."""
        self._check_initialized(name)
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{op}: {name!r} is not a valid name (non-empty, without '.')")
        if name not in registry and hasattr(self, name) and not self._is_registered(name):
            raise KeyError(f"{op}: attribute {name!r} already exists on {type(self).__name__}")

    def _is_registered(self, name: str) -> bool:
        return name in self._parameters or name in self._buffers or name in self._modules

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Buffer):
            # `self.x = nn.Buffer(t)` is `self.register_buffer("x", t)` (PyTorch >= 2.5)
            self.register_buffer(name, value, value.persistent)
            return
        if isinstance(value, (Parameter, Module)):
            self._check_initialized(name)
            registry: dict[str, Any] = (
                self._parameters if isinstance(value, Parameter) else self._modules
            )
            self._forget(name, keep=registry)
            registry[name] = value  # NOTE: a replaced entry keeps its place in the order
            return
        if name in self.__dict__.get("_parameters", {}):
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}.{name}: cannot assign a {type(value).__name__} "
                    "to a parameter (a Parameter or None is expected); "
                    "wrap it with nn.Parameter(...)"
                )
            self._parameters[name] = None
            return
        if name in self.__dict__.get("_buffers", {}):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"{type(self).__name__}.{name}: buffers hold tensors or None, "
                    f"got {type(value).__name__}"
                )
            self._buffers[name] = value
            return
        if name in self.__dict__.get("_modules", {}):
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}.{name}: cannot replace a submodule with a "
                    f"{type(value).__name__} (a Module or None is expected)"
                )
            self._modules[name] = None
            return
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup failed: look in the registries
        registries = ("_parameters", "_buffers", "_modules")
        for registry in registries:
            found = self.__dict__.get(registry)
            if found is not None and name in found:
                return found[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        if not self._forget(name):
            object.__delattr__(self, name)

    def _forget(self, name: str, keep: dict[str, Any] | None = None) -> bool:
        """Remove `name` from every registry but `keep` (and from the instance dict);
        True if it was there."""
        found = False
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry and registry is not keep:
                del registry[name]
                found = True
        self._non_persistent.discard(name)
        if name in self.__dict__:
            object.__delattr__(self, name)
            found = True
        return found

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a None placeholder, e.g. `bias=False`)."""
        self._check_name("register_parameter", name, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: {name!r} must be a Parameter or None, "
                f"got {type(param).__name__}"
            )
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add state that is not learned (BatchNorm's running mean); `persistent=False` keeps
        it out of `state_dict()`."""
        self._check_name("register_buffer", name, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}"
            )
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        self._check_name("add_module", name, self._modules)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._forget(name, keep=self._modules)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """`model.get_submodule("blocks.0.attn")`."""
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"get_submodule: {type(module).__name__} has no {part!r}")
            module = child
        return module

    # ---------------------------------------------------------------- walking
    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """This module and every descendant, depth first, each once (shared ones too)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            child_prefix = f"{prefix}.{name}" if prefix else name
            yield from child.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named_members(
        self, kind: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        if recurse:
            owners = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
        else:
            owners = iter([(prefix, self)])
        for owner_prefix, module in owners:
            for name, value in getattr(module, kind).items():
                if value is None:
                    continue
                if remove_duplicate:
                    # NOTE: tied weights (one Parameter under two names) are listed once,
                    # so an optimizer never updates them twice
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield (f"{owner_prefix}.{name}" if owner_prefix else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """("fc1.weight", Parameter) pairs, in registration order; shared ones once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self: M, fn: Callable[[Module], object]) -> M:
        """Call `fn` on every submodule (children first) and then on self; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ modes
    def train(self: M, mode: bool = True) -> M:
        """Training mode (Dropout drops, BatchNorm uses batch statistics) for the whole tree."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self: M) -> M:
        return self.train(False)

    def requires_grad_(self: M, requires_grad: bool = True) -> M:
        """Freeze (False) or unfreeze every parameter."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad.zero_()

    # ---------------------------------------------------------- device, dtype
    def to(self: M, *args: Any, device: Any = None, dtype: Any = None) -> M:
        """`model.to("cuda")`, `model.to(tg.float64)`: moves parameters and buffers in place.

        NOTE: each Parameter object is kept and only its memory replaced, so an optimizer
        that already holds the parameters keeps working. dtype changes only floating tensors.
        """
        for arg in args:
            if _is_dtype(arg):
                dtype = arg
            else:
                device = arg
        target = None if dtype is None else as_dtype(dtype)
        if target is not None and not target.is_floating_point:
            raise DTypeError(f"Module.to: only floating dtypes are allowed, got {target}")
        for tensor in [*self.parameters(), *self.buffers()]:
            _move_in_place(tensor, device, target)
        return self

    def float(self: M) -> M:
        return self.to(tg.float32)

    def double(self: M) -> M:
        return self.to(tg.float64)

    def half(self: M) -> M:
        return self.to(tg.float16)

    def bfloat16(self: M) -> M:
        return self.to(tg.bfloat16)

    def cpu(self: M) -> M:
        """Move to tinygpt's "cpu" device (the compiled CPU backend), as `model.to("cpu")`."""
        return self.to("cpu")

    def cuda(self: M, device: Any = None) -> M:
        """Move to "cuda" (or `cuda:N` for an int N), as `model.to("cuda")`."""
        return self.to("cuda" if device is None else f"cuda:{device}")

    # -------------------------------------------------------------- state dict
    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> dict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name ("0.weight", "ln.bias").

        Tied weights appear under each of their names, as in PyTorch. The tensors share memory
        with the module (detached unless `keep_vars`): `tg.save` them, or clone to snapshot.
        """
        return collect_state(self, prefix, keep_vars)

    def load_state_dict(
        self, state_dict: Mapping[str, Tensor], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy `state_dict`'s tensors into this module's parameters and buffers, in place.

        All problems are reported together in one StateDictError: missing and unexpected
        keys (when `strict`) and shape mismatches (always).
        """
        return load_state(self, state_dict, strict)

    # ------------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """The text between the parentheses of this module's repr line, e.g. sizes."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, child in self._modules.items():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}(" + (f"\n  {extra}" if extra else "")
        return head + "\n" + "\n".join(lines) + "\n)"

    def __dir__(self) -> list[str]:
        names = set(super().__dir__())
        names.update(self._parameters, self._buffers, self._modules)
        return sorted(names)


def _is_dtype(arg: object) -> bool:
    if isinstance(arg, DType):
        return True
    try:
        as_dtype(arg)
    except DTypeError:
        return False
    return True


def _move_in_place(tensor: Tensor, device: Any, dtype: DType | None) -> None:
    """Give `tensor` new memory on `device` / in `dtype`, keeping the Python object."""
    wanted = dtype if dtype is not None and tensor.dtype.is_floating_point else None
    if device is None and wanted is None:
        return
    with tg.no_grad():
        moved = tensor.detach().to(device=device, dtype=wanted)
        tensor.data = moved.data
        if tensor.grad is not None:
            tensor.grad = tensor.grad.to(device=device, dtype=wanted)
