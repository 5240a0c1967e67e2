"""`tg.viz.graph(t)`: the computation graph behind a tensor, as DOT, SVG/PNG or plain text.

Every op a tensor came from is its `grad_fn` (a `Function`), whose `parents` are the input
tensors, whose `grad_fn`s are the ops before them, and so on down to the leaves. This module
walks that chain once and draws it: ops as ellipses, leaves (parameters, inputs) as boxes,
each labelled with the shape, dtype and device of the value it holds.

    >>> import tinygpt as tg
    >>> x = tg.ones(2, 3, device="numpy", requires_grad=True)
    >>> print(tg.viz.graph((x * 2.0).sum(), params={"x": x}))
    [n0] Sum  () float32 numpy
      [n1] ScalarOp(x mul 2.0)  (2, 3) float32 numpy
        [n2] x  (2, 3) float32 numpy  leaf

`g.dot` is Graphviz DOT text; `g.save("graph.svg")` (or .png, .pdf) runs Graphviz's `dot`
program when it is installed and writes the readable text next to it when it is not.

NOTE: `backward()` frees the graph as it goes (each op drops its inputs), so a graph drawn
after it has only the last op. To see gradients (`grad (2, 3) float32` on the leaves) and the
whole graph at once, call `loss.backward(retain_graph=True)`, or draw the graph before
backward.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .autograd.function import Function
    from .tensor import Tensor

__all__ = ["graph", "Graph", "GraphNode", "has_graphviz"]

#: File suffixes Graphviz can render, and the `dot -T` format of each.
RENDERED_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
#: Fill colours: parameters and other leaves that need a gradient stand out from constants.
_LEAF_COLOUR = "#cfe2f3"
_CONST_COLOUR = "#eeeeee"


@dataclass
class GraphNode:
    """One node: an op (`Function`) or a leaf tensor, and the value it produces."""

    id: str  # "n0" is the output; numbers follow the walk from the output to the leaves
    kind: str  # "op", "leaf" (requires grad) or "const" (does not)
    label: str  # the op's class name, or the leaf's name from `params`
    shape: tuple[int, ...]
    dtype: str
    device: str
    grad: str | None = None  # "(2, 3) float32" for a leaf whose .grad is set
    freed: bool = False  # an op whose inputs backward() already released
    inputs: list[str] = field(default_factory=list)  # ids of the nodes it reads, in order

    def value(self) -> str:
        """`(2, 3) float32 numpy`: what the node holds."""
        return f"{self.shape} {self.dtype} {self.device}"


@dataclass
class Graph:
    """A computation graph, ready to print (text), save (DOT/SVG/PNG/PDF) or show in Jupyter."""

    nodes: list[GraphNode]

    @property
    def dot(self) -> str:
        """The graph in Graphviz DOT: data flows from the leaves (top) to the output."""
        lines = [
            "digraph tinygpt {",
            '  node [fontname="Helvetica", fontsize=10];',
            '  edge [color="#555555"];',
        ]
        for node in self.nodes:
            lines.append(f"  {node.id} [{_dot_attributes(node)}];")
        for node in self.nodes:
            for source in node.inputs:
                lines.append(f"  {source} -> {node.id};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    @property
    def text(self) -> str:
        """An indented tree from the output down; a node reached twice says `(see above)`."""
        by_id = {node.id: node for node in self.nodes}
        lines: list[str] = []
        shown: set[str] = set()
        stack = [(self.nodes[0].id, 0)]  # explicit stack: a 10,000-op chain is fine
        while stack:
            node_id, depth = stack.pop()
            node = by_id[node_id]
            indent = "  " * depth
            if node_id in shown:
                lines.append(f"{indent}[{node_id}] {node.label}  (see above)")
                continue
            shown.add(node_id)
            lines.append(f"{indent}[{node_id}] {_text_line(node)}")
            for source in reversed(node.inputs):
                stack.append((source, depth + 1))
        return "\n".join(lines)

    def render(self, fmt: str = "svg") -> bytes:
        """The picture in `fmt` ("svg", "png", "pdf"), drawn by Graphviz's `dot` program."""
        dot = shutil.which("dot")
        if dot is None:
            raise RuntimeError(
                "viz: Graphviz's `dot` program is not installed, so the graph cannot be drawn "
                f"as {fmt}; install it (apt-get install graphviz, brew install graphviz, "
                "conda install graphviz) or use str(graph) / graph.dot"
            )
        done = subprocess.run(
            [dot, f"-T{fmt}"], input=self.dot.encode(), capture_output=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"viz: dot -T{fmt} failed: {done.stderr.decode().strip()}")
        return done.stdout

    def save(self, path: str | Path) -> Path:
        """Write the graph to `path`; returns the path actually written.

        `.dot`/`.gv` get DOT text, `.txt` the indented text, `.svg`/`.png`/`.pdf` a picture
        drawn by Graphviz. Without Graphviz a picture cannot be drawn: the text goes to the
        same name with a `.txt` suffix instead, and a warning says how to install it.
        """
        path = Path(path)
        fmt = RENDERED_FORMATS.get(path.suffix.lower())
        if fmt is None and path.suffix.lower() == ".txt":
            path.write_text(self.text + "\n")
        elif fmt is None:
            path.write_text(self.dot)
        elif has_graphviz():
            path.write_bytes(self.render(fmt))
        else:
            path = path.with_suffix(".txt")
            path.write_text(self.text + "\n")
            warnings.warn(
                f"viz: Graphviz's `dot` is not installed; wrote the graph as text to {path} "
                "(apt-get install graphviz / brew install graphviz for pictures)",
                stacklevel=2,
            )
        return path

    def _repr_svg_(self) -> str | None:
        """Jupyter shows the picture when Graphviz is installed, else falls back to text."""
        if not has_graphviz():
            return None
        return self.render("svg").decode()

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        ops = sum(1 for node in self.nodes if node.kind == "op")
        return f"<tg.viz.Graph: {ops} ops, {len(self.nodes) - ops} leaves; print() it>"


def has_graphviz() -> bool:
    """Whether Graphviz's `dot` program is on PATH (needed for SVG/PNG/PDF only)."""
    return shutil.which("dot") is not None


def graph(tensor: Tensor, params: Mapping[str, Tensor] | None = None) -> Graph:
    """The computation graph that produced `tensor`, walked from it back to the leaves.

    `params` names leaves in the picture, e.g. `dict(model.named_parameters())`; other
    leaves are called `leaf` (requires grad) or `const` (does not).

    >>> import tinygpt as tg
    >>> w = tg.ones(3, requires_grad=True)
    >>> g = tg.viz.graph((w * w).sum(), params={"w": w})
    >>> [node.label for node in g.nodes]
    ['Sum', 'Mul', 'w']
    """
    names = {id(t): name for name, t in (params or {}).items()}
    nodes: list[GraphNode] = []
    seen: dict[int, GraphNode] = {}  # id(Function), or id(Tensor) for a leaf -> its node

    def node_for(t: Tensor) -> tuple[GraphNode, bool]:
        """The node of the op (or leaf) that produced `t`, and whether it is new."""
        key = id(t.grad_fn) if t.grad_fn is not None else id(t)
        if key in seen:
            return seen[key], False
        node = _make_node(f"n{len(nodes)}", t, names)
        seen[key] = node
        nodes.append(node)
        return node, True

    # Depth-first from the output, so the numbers read top to bottom in the text tree.
    # NOTE: an explicit stack, not recursion: graphs can be deeper than Python's stack.
    stack: list[tuple[Tensor, GraphNode | None]] = [(tensor, None)]  # (tensor, its consumer)
    while stack:
        t, consumer = stack.pop()
        node, new = node_for(t)
        if consumer is not None:
            consumer.inputs.append(node.id)
        if new and t.grad_fn is not None:
            # reversed: the first input is popped (and numbered) first
            for parent in reversed(t.grad_fn.parents):
                stack.append((parent, node))
    return Graph(nodes)


def _make_node(node_id: str, t: Tensor, names: dict[int, str]) -> GraphNode:
    shape = tuple(t.shape)
    dtype = str(t.dtype)
    device = str(t.device)
    fn = t.grad_fn
    if fn is not None:
        label = _op_label(fn)
        return GraphNode(node_id, "op", label, shape, dtype, device, freed=fn.released)
    kind = "leaf" if t.requires_grad else "const"
    node = GraphNode(node_id, kind, names.get(id(t), kind), shape, dtype, device)
    if t.grad is not None:
        node.grad = f"{tuple(t.grad.shape)} {t.grad.dtype}"
    return node


def _op_label(fn: Function) -> str:
    """The op's class name; a scalar op also shows its operator and constant."""
    name = type(fn).__name__
    op = getattr(fn, "op", None)
    value = getattr(fn, "value", None)
    if name != "ScalarOp" or op is None:
        return name
    if getattr(fn, "reflected", False):
        return f"ScalarOp({value} {op} x)"
    return f"ScalarOp(x {op} {value})"


def _text_line(node: GraphNode) -> str:
    line = f"{node.label}  {node.value()}"
    if node.kind != "op" and node.label != node.kind:
        line += f"  {node.kind}"  # a named leaf: say whether it needs a gradient
    if node.grad is not None:
        line += f", grad {node.grad}"
    if node.freed:
        line += "  (inputs freed by backward(); pass retain_graph=True to keep them)"
    return line


def _dot_attributes(node: GraphNode) -> str:
    rows = [node.label, node.value()]
    if node.grad is not None:
        rows.append(f"grad {node.grad}")
    if node.freed:
        rows.append("(freed by backward)")
    label = "\\n".join(_escape(row) for row in rows)
    if node.kind == "op":
        style = 'shape=ellipse, style="dashed"' if node.freed else "shape=ellipse"
    else:
        colour = _LEAF_COLOUR if node.kind == "leaf" else _CONST_COLOUR
        style = f'shape=box, style="rounded,filled", fillcolor="{colour}"'
    if node.id == "n0":
        style += ", penwidth=2"  # the output the graph was drawn from
    return f'{style}, label="{label}"'


def _escape(text: str) -> str:
    """Text safe inside a DOT double-quoted string."""
    return text.replace("\\", "\\\\").replace('"', '\\"')
