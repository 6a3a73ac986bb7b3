"""cr.graph: the listing, the backward listing and the pictures."""

from __future__ import annotations

import importlib.util
import re
import runpy
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

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


ROOT = Path(__file__).resolve().parents[1]


def _figures():
    return runpy.run_path(str(ROOT / "tools" / "make_figures.py"))


def _texts(path):
    """What a figure says: Graphviz's text elements, or the texts matplotlib
    keeps in comments beside their outlines."""
    text = Path(path).read_text(encoding="utf-8")
    found = re.findall(r"<!-- (.*?) -->", text) if "matplotlib" in text else []
    if not found:
        found = ["".join(t.itertext()) for t in ET.fromstring(text).iterfind(".//{*}text")]
    return found


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_documentation_graphs_are_current(tmp_path):
    # Redrawn from the code, each graph says what the committed picture says.
    figures = _figures()
    written = figures["graphs"](tmp_path)
    assert [p.name for p in written] == figures["GRAPHS"]
    for path in written:
        assert _texts(path) == _texts(ROOT / "docs" / "img" / path.name), (
            f"docs/img/{path.name} is stale: redraw it with python tools/make_figures.py"
        )
    forward, backward, jvp, fan = (" ".join(_texts(p)) for p in written)
    for name in ["theta", "residual = subtract", "sum_of_squares = matmul", "risk = divide"]:
        assert name in forward
    assert "Xᵀ @ ḡv1" in backward and "ḡtheta" in backward
    assert "X @ ṫtheta" in jvp and "ṫsum_of_squares / 200" in jvp
    assert fan.count("ḡv1 * x") == 2 and "ḡv2 * cos(x)" in fan and "ḡv3 * v2" in fan


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_documentation_charts_are_current(tmp_path):
    figures = _figures()
    written = figures["charts"](tmp_path)
    assert [p.name for p in written] == figures["CHARTS"]
    for path in written:
        assert _texts(path) == _texts(ROOT / "docs" / "img" / path.name), (
            f"docs/img/{path.name} is stale: redraw it with python tools/make_figures.py"
        )
    # The loss curve is the tutorial's descent: it reaches the lstsq minimum.
    risks, least = figures["descent"]()
    assert risks[0] > 100 * least and abs(risks[-1] - least) < 1e-12
    assert np.all(np.diff(risks) <= 1e-15)
    # The chart's bars are the performance page's ratios.
    ratios = figures["timing_ratios"]()
    page = (ROOT / "docs" / "performance.md").read_text()
    row = next(line for line in page.splitlines() if line.startswith("| least squares"))
    chainrule_cell = row.split("|")[3]  # workload | NumPy | chainrule
    assert chainrule_cell.strip().endswith(
        f"({ratios['least squares 10000×100, grad']['chainrule']}×)"
    )
    assert "autograd" not in ratios["Jacobian 200×50, jacfwd"]  # n/a: no bar
    table = [line for line in page.split("## Memory")[0].splitlines() if line.startswith("| ")]
    assert len(ratios) == len(table) - 3  # the header, the rule and "… per primitive": no bars


def test_every_figure_is_shown_on_a_page():
    figures = _figures()
    pages = " ".join(p.read_text() for p in (ROOT / "docs").rglob("*.md"))
    for name in figures["GRAPHS"] + figures["CHARTS"]:
        assert (ROOT / "docs" / "img" / name).is_file(), name
        assert f"img/{name})" in pages, name


# -- forward mode: the chain of JVPs ---------------------------------------------------


def test_jvp_listing_line_by_line():
    j = cr.graph(risk)(np.zeros(5)).jvp()
    assert lines(j) == [
        "forward mode of risk: tangents ṫ = d(value)/d(input) · ṫinput, from the inputs to "
        "the output",
        "ṫtheta = given float64[5]",
        "ṫv1 = X @ ṫtheta [matmul] float64[200]",
        "ṫresidual = ṫv1 [subtract] float64[200]",
        "ṫsum_of_squares = ṫresidual @ residual + residual @ ṫresidual [matmul] float64[]",
        "ṫrisk = ṫsum_of_squares / 200 [divide] float64[]",
        "in full: ṫrisk = ((X @ ṫtheta) @ residual + residual @ (X @ ṫtheta)) / 200",
    ]
    assert repr(j) == "<chainrule JVPGraph of risk: 4 JVP steps, 1 input>"


def _evaluate(text, names):
    """Evaluate a listing's formula as Python: ṫx is the tangent t_x."""
    code = text.replace("ṫ", "t_").replace("²", "**2").replace("^", "**").replace("ᵀ", ".T")
    namespace = {"cos": np.cos, "sin": np.sin, "log": np.log, "sign": np.sign, "sum": np.sum}
    return eval(code, {**namespace, **names})  # noqa: S307 -- our own listing, in a test


def _full(listing, name):
    prefix = f"in full: ṫ{name} = "
    found = [line.strip()[len(prefix) :] for line in str(listing).splitlines()]
    found = [line for line, raw in zip(found, str(listing).splitlines()) if prefix in raw]
    assert len(found) == 1, listing
    return found[0]


def test_the_jvp_listing_computes_what_jvp_computes():
    theta, t = RNG.standard_normal(5), RNG.standard_normal(5)
    text = _full(cr.graph(risk)(theta).jvp(), "risk")
    value = _evaluate(text, {"X": X, "residual": X @ theta - Y, "t_theta": t})
    assert np.isclose(value, cr.jvp(risk, (theta,), (t,))[1])


@pytest.mark.parametrize(
    "fun",
    [
        lambda x, y: np.sum(np.sin(x) * y - x / y),
        lambda x, y: np.sum(np.tanh(x) + np.exp(y) * np.cos(x)),
        lambda x, y: np.sum(np.log(y) ** 2 + np.sqrt(y) * np.abs(x)),
        lambda x, y: np.sum(x**y + np.square(x) - (-y)),
    ],
    ids=["sin-mul-div", "tanh-exp-cos", "log-pow-sqrt-abs", "power-square-neg"],
)
def test_every_jvp_formula_matches_the_jvp(fun):
    # Each line of the listing, evaluated in order, reproduces the tangent cr.jvp computes.
    x, y = RNG.uniform(0.5, 2.0, 3), RNG.uniform(0.5, 2.0, 3)
    tx, ty = RNG.standard_normal(3), RNG.standard_normal(3)
    g = cr.graph(fun)(x, y)
    values = {"x": x, "y": y, "t_x": tx, "t_y": ty}
    for v in g.ops():  # the forward values, by name, to evaluate the formulas with
        args = [values[g.values[a[1]].name] if a[0] == "value" else float(a[1]) for a in v.args]
        values[v.name] = {
            "add": np.add, "subtract": np.subtract, "multiply": np.multiply,
            "divide": np.divide, "true_divide": np.divide, "power": np.power,
            "sin": np.sin, "cos": np.cos, "tanh": np.tanh, "exp": np.exp, "log": np.log,
            "sqrt": np.sqrt, "absolute": np.abs, "square": np.square,
            "negative": np.negative, "sum": np.sum,
        }[v.op](*args)  # fmt: skip
    j = g.jvp()
    for v in g.ops():
        values["t_" + v.name] = _evaluate(j.formula(v), values)
    expected = cr.jvp(fun, (x, y), (tx, ty))[1]
    assert np.isclose(values["t_" + g.values[g.outputs[0]].name], expected)


def test_a_constant_argument_contributes_no_term():
    c = np.array([1.0, 2.0, 3.0])

    def f(x):
        return np.sum(c * x + np.sin(c) / x)

    assert lines(cr.graph(f)(np.ones(3)).jvp())[2:5] == [
        "ṫv1 = c * ṫx [multiply] float64[3]",  # not "ṫc * x + c * ṫx"
        "ṫv2 = -v2 * ṫx / x [divide] float64[3]",
        "ṫv3 = ṫv1 + ṫv2 [add] float64[3]",
    ]


# -- pictures: laid out to be read at page width --------------------------------------

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz 'dot' is not installed"
)


def _size_px(svg_text):
    root = ET.fromstring(svg_text[svg_text.index("<svg") :])
    pt = [float(root.get(k).removesuffix("pt")) for k in ("width", "height")]
    return pt[0] * 4 / 3, pt[1] * 4 / 3


@needs_dot
@pytest.mark.parametrize("which", ["forward", "backward", "jvp"])
def test_pictures_fit_a_page_unscaled(which):
    # Top to bottom, labels wrapped: shown at 100% in a 700 px column, the
    # 11 pt text is readable (the old left-to-right backward graph was 1600 x 124 px).
    g = cr.graph(risk)(np.zeros(5))
    picture = {"forward": g, "backward": g.backward(), "jvp": g.jvp()}[which]
    width, height = _size_px(picture._repr_svg_())
    assert width <= 700 and height > width


@needs_dot
def test_jvp_picture_labels_each_arrow_with_its_term(tmp_path):
    path = cr.graph(risk)(np.zeros(5)).jvp().save(tmp_path / "j.svg")
    root = ET.parse(path).getroot()
    ns = {"svg": "http://www.w3.org/2000/svg"}
    edges = [" ".join(t.itertext()) for t in root.iterfind(".//svg:g[@class='edge']", ns)]
    assert any("X @ ṫtheta" in e for e in edges)
    assert sum("residual" in e and "ṫresidual" in e for e in edges) == 2  # fan-out: two terms


# -- notebooks -------------------------------------------------------------------------


def test_reprs():
    g = cr.graph(risk)(np.zeros(5))
    assert repr(g) == "<chainrule Graph of risk: 4 primitives>"
    assert repr(g.backward()) == "<chainrule BackwardGraph of risk: 5 VJP steps, 1 input>"


@needs_dot
@pytest.mark.parametrize("which", ["forward", "backward", "jvp"])
def test_notebook_shows_the_picture_with_graphviz(which):
    g = cr.graph(risk)(np.zeros(5))
    shown = {"forward": g, "backward": g.backward(), "jvp": g.jvp()}[which]
    svg = shown._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    page = shown._repr_html_()
    assert page.startswith("<svg") and "<details>" in page  # the picture, then the listing
    assert "&lt;" not in str(shown) and html_escaped(str(shown)) in page


def html_escaped(text):
    import html

    return html.escape(text)


@pytest.mark.parametrize("which", ["forward", "backward", "jvp"])
def test_notebook_shows_the_listing_without_graphviz(monkeypatch, which):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    g = cr.graph(risk)(np.zeros(5))
    shown = {"forward": g, "backward": g.backward(), "jvp": g.jvp()}[which]
    assert shown._repr_svg_() is None  # Jupyter then tries the next format
    assert shown._repr_html_() == f"<pre>{html_escaped(str(shown))}</pre>"
    assert shown._repr_markdown_() == f"```text\n{shown}\n```"


# -- staged programs (cr.jit(f).lower(x)) -------------------------------------

W3 = np.array([[0.5, -1.0, 0.25], [1.5, 0.75, -0.5], [0.1, 0.2, 0.3]])


def branchy(x, s):
    y = np.tanh(W3 @ x) * s
    if np.sum(y) > 0:  # a guard
        return np.sum(y[np.argmax(y)] * y)  # argmax: not differentiable
    return -np.sum(y)


def test_staged_program_listing_line_by_line():
    p = cr.jit(branchy).lower(np.array([1.0, 0.5, -0.25]), 2.0)
    assert lines(cr.graph(p)) == [
        "staged program of branchy: 2 inputs, 9 equations (2 not differentiable), "
        "2 guards, 1 output",
        "input v0 float64[3]",
        "input v1 float64[] a Python float",
        "v2 = matmul(c0, v0) float64[3]",
        "v3 = tanh(v2) float64[3]",
        "v4 = multiply(v3, v1) float64[3]",
        "v5 = sum(v4, (-1,), False) float64[]",
        "v6 = greater(v5, 0) bool[] not differentiable",
        "guard bool(v6) == True",
        "v7 = argmax(v4) int64[] not differentiable",
        "v8 = getitem(v4, (v7,), 0, True) float64[]",
        "guard shape(v8) == ()",
        "v9 = multiply(v8, v4) float64[3]",
        "v10 = sum(v9, (-1,), False) float64[]",
        "output v10",
        "constants:",
        "c0: float64[3,3]",
    ]
    # lower()'s own printout is the same listing
    assert str(p) == str(cr.graph(p))
    assert repr(cr.graph(p)) == "<chainrule StagedGraph of branchy: 9 equations, 2 guards>"


def test_staged_program_dot_has_guards_and_nondifferentiable_nodes(tmp_path):
    p = cr.jit(branchy).lower(np.array([1.0, 0.5, -0.25]), 2.0)
    dot = p.to_dot()
    assert dot == cr.graph(p).to_dot()
    assert dot.startswith("digraph chainrule {") and dot.endswith("}\n")
    guards = re.findall(r'label="guard\\n([^"]*)", shape=diamond', dot)
    assert guards == ["bool(v6) == True", "shape(v8) == ()"]
    dashed = re.findall(r'label="(v\d+ = \w+)\\n[^"]*", shape=box, style="filled,dashed"', dot)
    assert dashed == ["v6 = greater", "v7 = argmax"]
    # the argmax feeds the indexing, which feeds the output (bold)
    nodes = dict(re.findall(r'  (e\d+) \[label="(v\d+) =', dot))
    by_var = {v: n for n, v in nodes.items()}
    assert f"  {by_var['v7']} -> {by_var['v8']};" in dot
    assert re.search(rf'  {by_var["v10"]} \[label="v10 = sum[^;]*bold', dot)
    assert "shape=note" in dot  # the closed-over matrix
    assert p.save(tmp_path / "p.dot").read_text() == dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_staged_program_svg(tmp_path):
    p = cr.jit(cr.grad(lambda x: np.sum(np.maximum(x, 0.0) ** 2))).lower(np.ones(3))
    root = ET.parse(p.save(tmp_path / "p.svg")).getroot()
    ns = {"svg": "http://www.w3.org/2000/svg"}
    texts = [" ".join(t.itertext()) for t in root.iterfind(".//svg:g[@class='node']", ns)]
    assert len(texts) == 1 + len(p.body) + len(p.constants())
    assert p._repr_svg_().lstrip().startswith("<?xml")
    assert "<svg" in p._repr_html_()


def test_staged_program_without_graphviz(monkeypatch):
    p = cr.jit(lambda x: np.sum(x * 2.0)).lower(np.ones(2))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert p._repr_svg_() is None
    assert p._repr_html_().startswith("<pre>staged program of &lt;lambda&gt;")
    assert p._repr_markdown_().startswith("```text\nstaged program of <lambda>: 1 input, 2 eq")


def test_graph_refuses_what_is_neither_function_nor_program():
    with pytest.raises(TypeError, match=r"function or a staged program \(cr\.jit\(f\)\.lower"):
        cr.graph(3.0)


def test_user_module_registry_names_values_in_library_modules(monkeypatch):
    import importlib

    graph_module = importlib.import_module("chainrule.graph")  # the module, not cr.graph

    # A function whose code lies in chainrule's directory: its locals do not name
    # values until its module is registered (the CLI registers its lecture model).
    source = "def f(theta):\n    doubled = theta * 2.0\n    return np.sum(doubled)\n"
    path = Path(graph_module.__file__).parent / "_registry_probe.py"
    namespace = {"np": np, "__name__": "chainrule._registry_probe"}
    exec(compile(source, str(path), "exec"), namespace)
    f = namespace["f"]
    monkeypatch.setattr(graph_module, "_USER_MODULES", set())
    assert "doubled" not in str(cr.graph(f)(np.ones(2)))
    graph_module.register_user_module("chainrule._registry_probe")
    assert "doubled = multiply(theta, 2)" in " ".join(str(cr.graph(f)(np.ones(2))).split())
    with pytest.raises(TypeError, match="expects a module name"):
        graph_module.register_user_module("")


def test_graph_module_does_not_name_the_cli():
    text = (Path(cr.__file__).parent / "graph.py").read_text()
    assert "cli" not in text.lower().replace("click", "")
