"""tg.viz.graph: the nodes it finds, the DOT and text it writes, and the Graphviz pictures."""

from __future__ import annotations

import re
import shutil

import pytest

import tinygpt as tg

needs_graphviz = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz's `dot` is not installed (apt-get install graphviz) - SVG/PNG untested",
)


def small_graph(device: str):
    """loss = sum(relu(x @ w + b) * h) with h = x @ w + b used twice: a DAG, not a tree."""
    x = tg.ones(2, 3, device=device)
    w = tg.ones(3, 4, device=device, requires_grad=True)
    b = tg.zeros(4, device=device, requires_grad=True)
    h = x @ w + b
    loss = (h.relu() * h).sum()
    return loss, {"x": x, "w": w, "b": b}


def test_nodes_follow_the_grad_fn_chain(device):
    loss, params = small_graph(device)
    g = tg.viz.graph(loss, params=params)
    labels = [node.label for node in g.nodes]
    assert labels == ["Sum", "Mul", "Relu", "Add", "Matmul", "x", "w", "Expand", "b"]
    kinds = {node.label: node.kind for node in g.nodes}
    assert kinds["x"] == "const"  # x does not require grad
    assert kinds["w"] == "leaf"
    assert kinds["Matmul"] == "op"
    by_label = {node.label: node for node in g.nodes}
    assert by_label["Matmul"].shape == (2, 4)
    assert by_label["b"].shape == (4,)
    assert by_label["Sum"].shape == ()
    assert all(node.dtype == "float32" and node.device == device for node in g.nodes)


def test_a_shared_node_appears_once_with_two_consumers(device):
    loss, params = small_graph(device)
    g = tg.viz.graph(loss, params=params)
    by_label = {node.label: node for node in g.nodes}
    add = by_label["Add"].id
    assert by_label["Mul"].inputs == [by_label["Relu"].id, add]
    assert by_label["Relu"].inputs == [add]
    assert sum(1 for node in g.nodes if node.label == "Add") == 1


def test_dot_text(device):
    loss, params = small_graph(device)
    dot = tg.viz.graph(loss, params=params).dot
    assert dot.startswith("digraph tinygpt {\n")
    assert dot.rstrip().endswith("}")
    assert f'label="Matmul\\n(2, 4) float32 {device}"' in dot
    assert f'label="w\\n(3, 4) float32 {device}"' in dot
    assert 'fillcolor="#cfe2f3"' in dot  # leaves that need a gradient are coloured
    # every edge goes from an input to the op that reads it
    edges = re.findall(r"^  (n\d+) -> (n\d+);$", dot, flags=re.MULTILINE)
    g = tg.viz.graph(loss, params=params)
    expected = [(source, node.id) for node in g.nodes for source in node.inputs]
    assert edges == expected
    assert len(edges) == 9  # Mul reads Add twice: once directly, once through Relu


def test_text_is_an_indented_tree(device):
    loss, params = small_graph(device)
    text = str(tg.viz.graph(loss, params=params))
    lines = text.splitlines()
    assert lines[0] == f"[n0] Sum  () float32 {device}"
    assert lines[1] == f"  [n1] Mul  (2, 4) float32 {device}"
    assert f"          [n6] w  (3, 4) float32 {device}  leaf" in lines
    assert lines[-1] == "    [n3] Add  (see above)"


def test_gradients_show_after_backward_with_retain_graph(device):
    loss, params = small_graph(device)
    loss.backward(retain_graph=True)
    g = tg.viz.graph(loss, params=params)
    by_label = {node.label: node for node in g.nodes}
    assert by_label["w"].grad == "(3, 4) float32"
    assert by_label["b"].grad == "(4,) float32"
    assert by_label["x"].grad is None  # a constant gets no gradient
    assert "grad (3, 4) float32" in g.dot
    assert f"w  (3, 4) float32 {device}  leaf, grad (3, 4) float32" in g.text


def test_backward_without_retain_graph_frees_the_graph(device):
    loss, params = small_graph(device)
    loss.backward()
    g = tg.viz.graph(loss, params=params)
    assert [node.label for node in g.nodes] == ["Sum"]
    assert g.nodes[0].freed
    assert "retain_graph=True" in g.text
    assert "(freed by backward)" in g.dot


def test_scalar_ops_show_operator_and_constant(device):
    x = tg.ones(3, device=device, requires_grad=True)
    labels = [node.label for node in tg.viz.graph(1.0 - x * 2.0).nodes]
    assert labels == ["ScalarOp(1.0 sub x)", "ScalarOp(x mul 2.0)", "leaf"]


def test_a_leaf_alone_and_escaping(device):
    x = tg.ones(2, device=device, requires_grad=True)
    g = tg.viz.graph(x, params={'a "quoted" \\ name': x})
    assert len(g.nodes) == 1
    assert 'label="a \\"quoted\\" \\\\ name\\n(2,) float32' in g.dot


def test_a_deep_chain_needs_no_recursion(device):
    x = tg.ones(1, device=device, requires_grad=True)
    y = x
    for _ in range(3000):  # deeper than Python's default recursion limit
        y = y + 1.0
    g = tg.viz.graph(y)
    assert len(g.nodes) == 3001
    assert len(g.text.splitlines()) == 3001


def test_save_dot_and_text(tmp_path, device):
    loss, params = small_graph(device)
    g = tg.viz.graph(loss, params=params)
    assert g.save(tmp_path / "g.dot").read_text() == g.dot
    assert g.save(tmp_path / "g.txt").read_text() == g.text + "\n"


def test_without_graphviz_a_picture_falls_back_to_text(tmp_path, monkeypatch, device):
    loss, params = small_graph(device)
    monkeypatch.setattr(tg.viz.shutil, "which", lambda name: None)
    g = tg.viz.graph(loss, params=params)
    with pytest.warns(UserWarning, match="Graphviz"):
        written = g.save(tmp_path / "g.svg")
    assert written == tmp_path / "g.txt"
    assert written.read_text() == g.text + "\n"
    assert g._repr_svg_() is None
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        g.render("png")


@needs_graphviz
def test_svg_and_png_from_graphviz(tmp_path, device):
    loss, params = small_graph(device)
    loss.backward(retain_graph=True)
    g = tg.viz.graph(loss, params=params)
    svg = g.save(tmp_path / "g.svg")
    assert svg == tmp_path / "g.svg"
    text = svg.read_text()
    assert "<svg" in text
    assert "Matmul" in text
    assert "grad (3, 4) float32" in text
    png = g.save(tmp_path / "g.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert g._repr_svg_().lstrip().startswith("<?xml")
