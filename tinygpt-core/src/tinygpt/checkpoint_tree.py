"""Nested checkpoints for `tg.save` / `tg.load`: a tree of containers with tensors as leaves,
split into a flat dict of named tensors (the safetensors part) and a JSON description of the
tree (one metadata string, `tinygpt.tree`).

What a tree may hold: dicts (keys: str, int, float, bool, None or tuples of these), lists,
tuples, str, int, float (nan and inf too), bool, None, and Tensors anywhere. That covers
nanoGPT's `{"model": sd, "optimizer": opt.state_dict(), "iter_num": 5, "config": {...}}`.
Anything else (a NumPy array, a class instance, a function) is a TypeError naming where it is:
a checkpoint is data, so loading one never runs code.

The JSON spells each node so that its type comes back exactly:

    str, int, finite float, bool, None     as JSON itself ("1.0" stays a float, "1" an int)
    {"tensor": "model.wte.weight"}         a tensor, by its name in the safetensors part
    {"list": [...]}, {"tuple": [...]}      sequences
    {"dict": [[key, value], ...]}          every dict, so a user dict never looks like a tag
    {"float": "nan" | "inf" | "-inf"}      what JSON cannot write

A tensor's name is its path joined by dots (`model.wte.weight`, `optimizer.state.0.exp_avg`),
so other safetensors readers see readable names. The same tensor object reached twice (tied
weights) is stored once, and comes back as one object referenced twice.

>>> import tinygpt as tg
>>> tensors, tree = flatten_tree({"w": tg.ones(2), "step": 3})
>>> sorted(tensors), tree
(['w'], '{"version":1,"tree":{"dict":[["w",{"tensor":"w"}],["step",3]]}}')
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .errors import SerializationError
from .tensor import Tensor

__all__ = ["TREE_KEY", "MAX_DEPTH", "is_flat", "flatten_tree", "unflatten_tree"]

#: the metadata key of the tree's JSON (absent in a flat name -> tensor file)
TREE_KEY = "tinygpt.tree"
#: containers nested deeper than this are refused on save and on load
MAX_DEPTH = 64
_VERSION = 1
_SPECIAL_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def is_flat(obj: Any) -> bool:
    """True for a plain `{str: Tensor}` dict: the classic safetensors file, written with no tree."""
    if not isinstance(obj, Mapping):
        return False
    return all(isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items())


# ---------------------------------------------------------------------- save
def flatten_tree(obj: Any) -> tuple[dict[str, Tensor], str]:
    """`obj` as (name -> tensor, the tree's JSON), the inverse of `unflatten_tree`."""
    encoder = _Encoder()
    node = encoder.node(obj, "checkpoint", 0, ())
    document = {"version": _VERSION, "tree": node}
    return encoder.tensors, json.dumps(document, separators=(",", ":"), allow_nan=False)


class _Encoder:
    """Walks a tree once, naming each distinct tensor after the first path that reaches it."""

    def __init__(self) -> None:
        self.tensors: dict[str, Tensor] = {}
        self.names: dict[int, str] = {}  # id(tensor) -> its name, to store a shared one once

    def node(self, value: Any, where: str, depth: int, path: tuple[str, ...]) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError(f"save: {where} is nested more than {MAX_DEPTH} containers deep")
        if isinstance(value, Tensor):
            return {"tensor": self.tensor_name(value, path)}
        if value is None or isinstance(value, (str, bool, int, float)):
            return _scalar(value, where)
        if isinstance(value, (list, tuple)):
            kind = "tuple" if isinstance(value, tuple) else "list"
            items = [
                self.node(item, f"{where}[{i}]", depth + 1, path + (str(i),))
                for i, item in enumerate(value)
            ]
            return {kind: items}
        if isinstance(value, Mapping):
            pairs = []
            for key, item in value.items():
                key_node = _key(key, where)
                inner = f"{where}[{key!r}]"
                pairs.append([key_node, self.node(item, inner, depth + 1, path + (str(key),))])
            return {"dict": pairs}
        raise TypeError(
            f"save: {where} is a {type(value).__name__}; a checkpoint holds Tensors, dicts, "
            "lists, tuples, str, int, float, bool and None (convert arrays with tg.tensor(...), "
            "objects to dicts of those)"
        )

    def tensor_name(self, t: Tensor, path: tuple[str, ...]) -> str:
        known = self.names.get(id(t))
        if known is not None:
            return known
        base = ".".join(path) or "tensor"
        name = base
        count = 1
        # NOTE: {"a.b": x} and {"a": {"b": y}} both give "a.b"; the second gets "a.b#2"
        while name in self.tensors or name == "__metadata__":
            count += 1
            name = f"{base}#{count}"
        self.tensors[name] = t
        self.names[id(t)] = name
        return name


def _scalar(value: Any, where: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, (bool, int)) and type(value) not in (bool, int):
        return int(value)  # an IntEnum or another int subclass: its plain value
    if isinstance(value, float) and type(value) is not float:
        return float(value)  # numpy.float64 is a float subclass
    if isinstance(value, str) and type(value) is not str:
        return str(value)
    return value


def _key(key: Any, where: str) -> Any:
    """A dict key as a node: a scalar, or a tuple of keys."""
    if key is None or isinstance(key, (str, bool, int, float)):
        return _scalar(key, where)
    if isinstance(key, tuple):
        return {"tuple": [_key(k, where) for k in key]}
    raise TypeError(
        f"save: {where} has the key {key!r:.60} of type {type(key).__name__}; dict keys in a "
        "checkpoint must be str, int, float, bool, None or tuples of these"
    )


# ---------------------------------------------------------------------- load
def unflatten_tree(text: str, tensors: Mapping[str, Tensor], path: object) -> Any:
    """Rebuild the saved object from the tree's JSON and the loaded tensors.

    Raises SerializationError for a tree that is not valid JSON of the shape above, that
    names a tensor the file lacks, or that leaves one of the file's tensors unused.
    """
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise _bad(path, f"it is not JSON ({error})") from error
    if not isinstance(document, dict) or set(document) != {"version", "tree"}:
        raise _bad(path, "expected an object with the keys 'version' and 'tree'")
    if document["version"] != _VERSION:
        raise SerializationError(
            f"load: {path}: its checkpoint tree has version {document['version']!r}; this "
            f"tinygpt reads version {_VERSION}: upgrade tinygpt to load it"
        )
    decoder = _Decoder(tensors, path)
    obj = decoder.node(document["tree"], 0)
    unused = sorted(set(tensors) - decoder.used)
    if unused:
        raise _bad(path, f"the tensors {unused[:5]} are in the file but not in the tree")
    return obj


class _Decoder:
    def __init__(self, tensors: Mapping[str, Tensor], path: object) -> None:
        self.tensors = tensors
        self.path = path
        self.used: set[str] = set()

    def node(self, node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise _bad(self.path, f"it nests more than {MAX_DEPTH} containers deep")
        if node is None or isinstance(node, (str, bool, int, float)):
            return node
        tag, body = _tagged(node, self.path)
        if tag == "tensor":
            if not isinstance(body, str) or body not in self.tensors:
                raise _bad(self.path, f"it refers to the tensor {body!r:.60}, not in the file")
            self.used.add(body)
            return self.tensors[body]
        if tag == "float":
            if body not in _SPECIAL_FLOATS:
                raise _bad(self.path, f"{{'float': {body!r:.40}}} is not nan, inf or -inf")
            return _SPECIAL_FLOATS[body]
        if not isinstance(body, list):
            raise _bad(self.path, f"a {tag!r} node holds a {type(body).__name__}, not a list")
        if tag == "list":
            return [self.node(item, depth + 1) for item in body]
        if tag == "tuple":
            return tuple(self.node(item, depth + 1) for item in body)
        return self.mapping(body, depth)

    def mapping(self, pairs: list[Any], depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for pair in pairs:
            if not isinstance(pair, list) or len(pair) != 2:
                raise _bad(self.path, f"a dict entry is {pair!r:.60}, not a [key, value] pair")
            key = self.key(pair[0], depth + 1)
            if key in out:
                raise _bad(self.path, f"a dict has the key {key!r:.60} twice")
            out[key] = self.node(pair[1], depth + 1)
        return out

    def key(self, node: Any, depth: int) -> Any:
        key = self.node(node, depth)
        hashable = key is None or isinstance(key, (str, bool, int, float, tuple))
        if not hashable or (isinstance(key, tuple) and not _all_keys(key)):
            raise _bad(self.path, f"a dict key is {node!r:.60}: not a scalar or a tuple")
        return key


def _all_keys(key: tuple[Any, ...]) -> bool:
    return all(
        k is None
        or isinstance(k, (str, bool, int, float))
        or (isinstance(k, tuple) and _all_keys(k))
        for k in key
    )


_TAGS = ("tensor", "float", "list", "tuple", "dict")


def _tagged(node: Any, path: object) -> tuple[str, Any]:
    if not isinstance(node, dict) or len(node) != 1:
        raise _bad(path, f"the node {node!r:.60} is not a scalar or a one-key tag object")
    ((tag, body),) = node.items()
    if tag not in _TAGS:
        raise _bad(path, f"unknown node kind {tag!r:.40}; expected one of {', '.join(_TAGS)}")
    return tag, body


def _bad(path: object, why: str) -> SerializationError:
    return SerializationError(
        f"load: {path}: the checkpoint tree (metadata {TREE_KEY!r}) is malformed: {why}; the "
        "file is corrupt or was not written by tg.save"
    )
