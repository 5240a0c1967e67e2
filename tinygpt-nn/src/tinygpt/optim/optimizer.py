"""Optimizer: parameter groups, per-parameter state, `step`, `zero_grad`, and checkpoints.

A subclass writes only its per-parameter update (`update_param`); this base class owns the
loops, the bookkeeping and the state dict. Updates run under `tg.no_grad()`, so they never
build a graph, and they write into the parameters' own memory (`p.add_`, `p.copy_`).

Checkpoints follow PyTorch's layout, `{"state": {index: {name: value}}, "param_groups": [...]}`,
where `index` counts parameters in group order. `flatten_state_dict` turns it into a flat dict
of tensors that `tg.save` writes to a safetensors file, and `unflatten_state_dict` reverses it:

    tg.save(flatten_state_dict(opt.state_dict()), "optim.safetensors")
    opt.load_state_dict(unflatten_state_dict(tg.load("optim.safetensors")))
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import tinygpt as tg
from tinygpt import Tensor
from tinygpt.autograd import RemovableHandle

from .step_hooks import (
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
    wrap_step,
)

__all__ = [
    "Optimizer",
    "ParamsT",
    "flatten_state_dict",
    "register_optimizer_step_post_hook",  # PyTorch's torch.optim.optimizer names (step_hooks.py)
    "register_optimizer_step_pre_hook",
    "unflatten_state_dict",
]

#: what an optimizer takes: tensors, or dicts {"params": tensors, **per-group options}
ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]

# Group keys every optimizer accepts besides its own options. NOTE: "initial_lr" is written by
# the lr schedulers; a group that carries it (e.g. rebuilt from a checkpoint) is not a typo.
_ALWAYS_ALLOWED = {"params", "name", "initial_lr"}


class Optimizer:
    """Base class: `param_groups` (list of dicts), `defaults`, and `state[param]` (a dict).

    Subclasses pass their default options to `__init__`, check a group's options in
    `check_group`, and implement `update_param(p, grad, state, group)`.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self._step_pre_hooks: dict[int, Any] = {}
        self._step_post_hooks: dict[int, Any] = {}
        wrap_step(type(self))  # step() runs the hooks registered below (step_hooks.py)
        self.param_groups: list[dict[str, Any]] = []
        # NOTE: keyed by the parameter object (Tensor hashes by identity), like PyTorch; a
        # defaultdict, as there, so a custom step's `state = self.state[p]` starts empty
        self.state: dict[Tensor, dict[str, Any]] = defaultdict(dict)
        if isinstance(params, Tensor):
            raise TypeError(
                f"{self._name}: params must be an iterable of tensors or of dicts, got a single "
                "Tensor; pass [tensor] or model.parameters()"
            )
        groups: list[Any] = list(params)
        if not groups:
            raise ValueError(f"{self._name}: got an empty parameter list")
        if not isinstance(groups[0], Mapping):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    # ------------------------------------------------------------ groups
    def add_param_group(self, group: Mapping[str, Any]) -> None:
        """Add a group: `{"params": tensors, **options}`; missing options take the defaults."""
        where = f"{self._name}: param group {len(self.param_groups)}"
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError(f"{where}: expected a dict with a 'params' key, got {group!r:.80}")
        unknown = set(group) - set(self.defaults) - _ALWAYS_ALLOWED
        if unknown:
            known = ", ".join(sorted(set(self.defaults) | {"params"}))
            raise ValueError(f"{where}: unknown option(s) {sorted(unknown)}; known: {known}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            _check_param(where, i, p)
            if id(p) in seen:
                raise ValueError(
                    f"{where}: parameter {i} (shape {p.shape}) appears twice (in this group or "
                    "an earlier one); each parameter may belong to one group only"
                )
            seen.add(id(p))
        full = {**self.defaults, **group, "params": params}
        self.check_group(full, where)
        self.param_groups.append(full)

    def check_group(self, group: dict[str, Any], where: str) -> None:
        """Raise ValueError for bad options (e.g. a negative lr). Subclasses extend it."""
        if "lr" in group and group["lr"] < 0:
            raise ValueError(f"{where}: lr must be >= 0, got {group['lr']}")

    # ------------------------------------------------------------- hooks
    def register_step_pre_hook(self, hook: Any) -> RemovableHandle:
        """Call `hook(optimizer, args, kwargs)` before each step; it may return
        `(args, kwargs)` to replace them."""
        handle = RemovableHandle(self._step_pre_hooks)
        self._step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook: Any) -> RemovableHandle:
        """Call `hook(optimizer, args, kwargs)` after each step."""
        handle = RemovableHandle(self._step_post_hooks)
        self._step_post_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------- steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: `p.grad = None` (default) or fill it with 0."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    def step(self, closure: Any = None) -> Any:
        """Update every parameter that has a gradient; returns `closure()` if one is given.

        `closure` (optional) re-evaluates the model and returns the loss, as in PyTorch.
        """
        loss = None
        if closure is not None:
            with tg.enable_grad():
                loss = closure()
        with tg.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue  # unused this step (e.g. a frozen or skipped branch)
                    if p.grad.shape != p.shape:
                        raise tg.ShapeError(
                            f"{self._name}.step: grad of shape {p.grad.shape} for a parameter "
                            f"of shape {p.shape}"
                        )
                    state = self.state.setdefault(p, {})
                    self.update_param(p, p.grad, state, group)
        return loss

    def update_param(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Write one parameter's update in place (runs under no_grad). Subclasses implement."""
        raise NotImplementedError(f"{self._name} must implement update_param")

    # ----------------------------------------------------- checkpointing
    def state_dict(self) -> dict[str, Any]:
        """A snapshot: `{"state": {index: {name: tensor | number}}, "param_groups": [...]}`.

        Tensors are copies, so later steps do not change a state dict already taken.
        """
        index = self._param_index()
        groups = []
        for group in self.param_groups:
            saved = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            saved["params"] = [index[id(p)] for p in group["params"]]
            groups.append(saved)
        state = {}
        for p, values in self.state.items():
            state[index[id(p)]] = {name: _snapshot(v) for name, v in values.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore groups' options and per-parameter state from `state_dict()`'s output.

        The optimizer must have been built over the same parameters (same group sizes and
        shapes). State tensors are copied to each parameter's device, floats to its dtype.
        """
        where = f"{self._name}.load_state_dict"
        if not isinstance(state_dict, Mapping) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError(f"{where}: expected a dict with keys 'state' and 'param_groups'")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{where}: the state dict has {len(saved_groups)} param groups, this optimizer "
                f"has {len(self.param_groups)}"
            )
        params: dict[int, Tensor] = {}
        for g, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            ours, theirs = len(group["params"]), len(saved["params"])
            if ours != theirs:
                raise ValueError(
                    f"{where}: param group {g} has {ours} parameters here but {theirs} in the "
                    "state dict; build the optimizer over the same model"
                )
            params.update(zip(saved["params"], group["params"]))
        new_state = {}
        for key, values in state_dict["state"].items():
            if int(key) not in params:
                raise ValueError(f"{where}: state for parameter {key}, which no group lists")
            p = params[int(key)]
            free = getattr(self, "factored_state", ())  # e.g. Adafactor's row/column means
            new_state[p] = {
                name: _restore(where, key, name, v, p, name not in free)
                for name, v in values.items()
            }
        # NOTE: validate everything before changing anything, so a bad load leaves us intact
        for group, saved in zip(self.param_groups, saved_groups):
            group.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})
        self.state = defaultdict(dict, new_state)

    def _param_index(self) -> dict[int, int]:
        """id(param) -> its position counting through the groups in order."""
        params = [p for group in self.param_groups for p in group["params"]]
        return {id(p): i for i, p in enumerate(params)}

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines + [")"])


def _check_param(where: str, i: int, p: object) -> None:
    if not isinstance(p, Tensor):
        raise TypeError(f"{where}: parameter {i} is a {type(p).__name__}, not a Tensor")
    if not p.is_floating_point():
        raise TypeError(f"{where}: parameter {i} has dtype {p.dtype}; only floats are optimized")
    if not p.is_leaf:
        raise ValueError(
            f"{where}: parameter {i} is not a leaf (it has a grad_fn); optimize the tensor you "
            "created, or pass x.detach().requires_grad_()"
        )


def _snapshot(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.detach().clone()
    return copy.deepcopy(value)


def _restore(
    where: str, key: Any, name: str, value: Any, p: Tensor, shaped_like_p: bool = True
) -> Any:
    """A fresh copy of a saved state value, on p's device (floats in p's dtype)."""
    if not isinstance(value, Tensor):
        return copy.deepcopy(value)
    if shaped_like_p and value.shape != p.shape and value.ndim > 0:
        raise tg.ShapeError(
            f"{where}: state {name!r} of parameter {key} has shape {value.shape}, but the "
            f"parameter has shape {p.shape}"
        )
    dtype = p.dtype if value.is_floating_point() else value.dtype
    return tg.tensor(value, dtype=dtype, device=p.device)  # always copies


# ------------------------------------------------------------ safetensors
def flatten_state_dict(state_dict: Mapping[str, Any], prefix: str = "") -> dict[str, Tensor]:
    """An optimizer state dict as a flat `{name: tensor}` dict that `tg.save` can write.

    Keys: `{prefix}state.{index}.{name}` and `{prefix}param_groups.{g}.{option}`. Numbers become
    0-d tensors (bool, int64 or float64, so they round-trip exactly), tuples of numbers (betas)
    1-d float64 tensors, a group's parameter indices a 1-d int64 tensor. With a `prefix` the
    result can share a file with the model's weights.

    >>> flat = flatten_state_dict({"state": {0: {"step": 3}},
    ...                            "param_groups": [{"lr": 0.1, "params": [0]}]})
    >>> sorted(flat)
    ['param_groups.0.lr', 'param_groups.0.params', 'state.0.step']
    """
    flat: dict[str, Tensor] = {}
    for index, values in state_dict["state"].items():
        for name, value in values.items():
            flat[f"{prefix}state.{int(index)}.{name}"] = _to_tensor(f"state.{index}.{name}", value)
    for g, group in enumerate(state_dict["param_groups"]):
        for option, value in group.items():
            key = f"param_groups.{g}.{option}"
            if option == "params":
                flat[prefix + key] = tg.tensor(list(value), dtype=tg.int64).reshape(-1)
            else:
                flat[prefix + key] = _to_tensor(key, value)
    return flat


def unflatten_state_dict(tensors: Mapping[str, Tensor], prefix: str = "") -> dict[str, Any]:
    """The inverse of `flatten_state_dict`; keys without `prefix` are ignored.

    NOTE: 0-d tensors in `state` come back as Python numbers (that is how they were saved).
    """
    state: dict[int, dict[str, Any]] = {}
    groups: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if not key.startswith(prefix):
            continue
        parts = key[len(prefix) :].split(".", 2)
        if len(parts) != 3 or parts[0] not in ("state", "param_groups") or not parts[1].isdigit():
            raise ValueError(
                f"unflatten_state_dict: unexpected key {key!r}; expected "
                f"'{prefix}state.<index>.<name>' or '{prefix}param_groups.<g>.<option>'"
            )
        kind, number, name = parts[0], int(parts[1]), parts[2]
        if kind == "state":
            state.setdefault(number, {})[name] = value if value.ndim > 0 else value.item()
        elif name == "params":
            groups.setdefault(number, {})[name] = [int(i) for i in value.tolist()]
        else:
            groups.setdefault(number, {})[name] = _from_tensor(value)
    if sorted(groups) != list(range(len(groups))):
        raise ValueError(f"unflatten_state_dict: param groups {sorted(groups)} are not 0..n-1")
    return {"state": state, "param_groups": [groups[g] for g in range(len(groups))]}


def _to_tensor(key: str, value: Any) -> Tensor:
    if isinstance(value, Tensor):
        return value.detach()
    if isinstance(value, bool):
        return tg.tensor(value, dtype=tg.bool)
    if isinstance(value, int):
        return tg.tensor(value, dtype=tg.int64)
    if isinstance(value, float):
        return tg.tensor(value, dtype=tg.float64)
    if isinstance(value, (tuple, list)) and all(isinstance(v, (int, float)) for v in value):
        return tg.tensor([float(v) for v in value], dtype=tg.float64).reshape(-1)
    raise TypeError(
        f"flatten_state_dict: {key} is a {type(value).__name__} ({value!r:.40}); only tensors, "
        "numbers, bools and tuples of numbers can be stored in a safetensors file"
    )


def _from_tensor(value: Tensor) -> Any:
    if value.ndim == 0:
        return value.item()
    return tuple(value.tolist())
