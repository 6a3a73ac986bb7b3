"""cr.graph: the listing, the backward listing and the pictures."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import chainrule as cr

RNG = np.random.default_rng(0)
X = RNG.standard_normal((200, 5))
Y = RNG.standard_normal(200)
N = 200


def risk(theta):
    residual = X @ theta - Y
    sum_of_squares = residual @ residual
    return sum_of_squares / N


def lines(text):
    return [" ".join(line.split()) for line in str(text).splitlines()]


def test_forward_listing_line_by_line():
    g = cr.graph(risk)(np.zeros(5))
    assert lines(g) == [
        "graph of risk: 1 input, 4 primitives, 1 output",
        "input theta float64[5]",
        "const X float64[200,5]",
        "const Y float64[200]",
        "v1 = matmul(X, theta) float64[200]",
        "residual = subtract(v1, Y) float64[200]",
        "sum_of_squares = matmul(residual, residual) float64[]",
        "risk = divide(sum_of_squares, 200) float64[]",
        "output risk",
    ]


def test_backward_listing_line_by_line():
    b = cr.graph(risk)(np.zeros(5)).backward()
    assert lines(b) == [
        "backward pass of risk: cotangents ḡ = d(output)/d(value), from the output back to "
        "the inputs",
        "ḡrisk = 1 float64[]",
        "ḡsum_of_squares = ḡrisk / 200 [divide] float64[]",
        "ḡresidual = ḡsum_of_squares * residual [matmul] float64[200]",
        "ḡresidual += ḡsum_of_squares * residual [matmul] float64[200] "
        "(fan-out: 2 contributions summed)",
        "ḡv1 = ḡresidual [subtract] float64[200]",
        "ḡtheta = Xᵀ @ ḡv1 [matmul] float64[5]",
        "in full: ḡtheta = Xᵀ @ (2 * ((1 / 200) * residual))",
    ]


def test_the_graph_computes_what_grad_computes():
    # The "in full" line is (2/N) X^T (X theta - Y): check it numerically.
    theta = RNG.standard_normal(5)
    assert np.allclose(cr.grad(risk)(theta), X.T @ (2 * ((1 / 200) * (X @ theta - Y))))


def test_pytree_inputs_constants_and_statics():
    def f(params, x):
        h = np.tanh(params["w"] @ x + params["b"])
        return np.sum(h**2, axis=0)

    params = {"b": np.zeros(3), "w": np.ones((3, 2))}
    g = cr.graph(f)(params, np.ones(2))
    text = lines(g)
    assert text[0] == "graph of f: 3 inputs, 5 primitives, 1 output"
    assert "input params[0] float64[3]" in text  # dict leaves in sorted-key order: b, w
    assert "input params[1] float64[3,2]" in text
    assert "input x float64[2]" in text
    assert any(t.startswith("h = tanh(") for t in text)
    assert any("sum(" in t and "axes=(-1,)" in t for t in text)
    assert text[-1] == "output f"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
@pytest.mark.parametrize("backward", [False, True])
def test_svg_has_a_node_for_every_primitive(tmp_path, backward):
    g = cr.graph(risk)(np.zeros(5))
    picture = g.backward() if backward else g
    path = picture.save(tmp_path / "g.svg")
    root = ET.parse(path).getroot()
    ns = {"svg": "http://www.w3.org/2000/svg"}
    texts = [" ".join(t.itertext()) for t in root.iterfind(".//svg:g[@class='node']", ns)]
    if backward:
        for name in ["risk", "sum_of_squares", "residual", "v1", "theta"]:
            assert any(f"ḡ{name}" in t for t in texts), name
    else:
        for op in [
            "v1 = matmul",
            "residual = subtract",
            "sum_of_squares = matmul",
            "risk = divide",
        ]:
            assert any(op in t for t in texts), op
    assert len(texts) >= 5


def test_save_dot_and_missing_graphviz(tmp_path, monkeypatch):
    g = cr.graph(risk)(np.zeros(5))
    path = g.save(tmp_path / "g.dot")
    assert path.read_text().startswith("digraph chainrule {")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        g.save(tmp_path / "g.svg")
    with pytest.raises(ValueError, match=r"\.dot, \.svg"):
        g.save(tmp_path / "g.jpeg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_documentation_figures_are_generated_by_the_script(tmp_path):
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "tools" / "make_figures.py"
    written = runpy.run_path(str(script))["main"](tmp_path)
    assert [p.name for p in written] == ["least_squares_forward.svg", "least_squares_backward.svg"]
    forward = " ".join(ET.parse(written[0]).getroot().itertext())
    backward = " ".join(ET.parse(written[1]).getroot().itertext())
    for name in ["theta", "residual = subtract", "sum_of_squares = matmul", "risk = divide"]:
        assert name in forward
    assert "Xᵀ @ ḡv1" in backward and "ḡtheta" in backward
