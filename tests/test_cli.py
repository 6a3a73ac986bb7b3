"""The ``chainrule`` command, run for real in a subprocess: output, JSON and exit statuses."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HAVE_DOT = shutil.which("dot") is not None
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def run(*args: str, cwd: Path | None = None, code: str | None = None):
    """Run ``python -m chainrule ARGS`` (or ``python -c CODE``); never a traceback."""
    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_TRACEBACK"}
    env["PYTHONIOENCODING"] = "utf-8"
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "chainrule"]
    done = subprocess.run(
        command + ([] if code else list(args)),
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def run_json(*args: str) -> dict:
    done = run(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def squeeze(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines()]


# -- the commands -----------------------------------------------------------------------


def test_jacobian_is_labelled_with_outputs_and_variables():
    done = run("jacobian", "[x1**2 + x2, x1*x2]", "--at", "x1=3", "x2=2")
    assert done.returncode == 0, done.stderr
    lines = squeeze(done.stdout)
    table = lines[lines.index(next(x for x in lines if x.startswith("Jacobian"))) + 1 :]
    assert table[:3] == ["x1 x2", "x1**2 + x2 6 1", "x1*x2 2 3"]
    assert "x1**2 + x2 11" in lines  # the value, labelled the same way


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_json_in_both_modes(mode):
    out = run_json("jacobian", "[x1**2 + x2, x1*x2]", "--at", "x1=3", "x2=2", "--mode", mode)
    assert out["jacobian"] == [[6, 1], [2, 3]]
    assert out["variables"] == ["x1", "x2"] and out["columns"] == ["x1", "x2"]
    assert out["rows"] == ["x1**2 + x2", "x1*x2"] and out["value"] == [11, 6]
    assert out["mode"] == mode


def test_jacobian_labels_vector_variables_elementwise_and_wrt():
    out = run_json("jacobian", "A @ x", "--at", "A=[[1,2],[3,4]]", "x=[1,1]", "--wrt", "x")
    assert out["columns"] == ["x[0]", "x[1]"] and out["rows"] == ["f[0]", "f[1]"]
    assert out["jacobian"] == [[1, 2], [3, 4]] and out["variables"] == ["x"]


def test_grad_table():
    done = run("grad", "sum(sin(x) * y)", "--at", "x=[1,2,3]", "y=[4,5,6]")
    assert done.returncode == 0, done.stderr
    lines = squeeze(done.stdout)
    assert "at gradient" in lines
    assert "x[0] 1 2.16121" in lines and "y[2] 6 0.14112" in lines


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_grad_json(mode):
    out = run_json("grad", "sum(sin(x) * y)", "--at", "x=[1,2,3]", "y=[4,5,6]", "--mode", mode)
    x, y = np.array([1.0, 2, 3]), np.array([4.0, 5, 6])
    np.testing.assert_allclose(out["gradient"]["x"], np.cos(x) * y, rtol=1e-12)
    np.testing.assert_allclose(out["gradient"]["y"], np.sin(x), rtol=1e-12)
    assert out["value"] == pytest.approx(np.sum(np.sin(x) * y))
    assert out["variables"] == ["x", "y"]


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_hessian(mode):
    args = ("hessian", "x1**2 * x2 + exp(x2)", "--at", "x1=1", "x2=0", "--mode", mode)
    assert run_json(*args)["hessian"] == [[0, 2], [2, 1]]
    lines = squeeze(run(*args).stdout)
    at = lines.index("x1 x2")
    assert lines[at + 1 : at + 3] == ["x1 0 2", "x2 2 1"]


def test_jvp():
    args = ("jvp", "[x*y, sin(x)]", "--at", "x=1", "y=2", "--tangent", "x=1")
    out = run_json(*args)
    assert out["jvp"] == pytest.approx([2, math.cos(1)])
    assert out["tangent"] == {"x": 1, "y": 0}
    done = run(*args)
    assert "y = 0 (not given)" in done.stdout and "J @ tangent" in done.stdout
    assert "x*y 2 2" in squeeze(done.stdout)


def test_graph_listing_backward_and_pictures(tmp_path):
    args = ["graph", "sum(sin(x) * y)", "--at", "x=[1,2,3]", "y=[4,5,6]", "--backward"]
    done = run(*args, "-o", str(tmp_path / "g.dot"))
    assert done.returncode == 0, done.stderr
    lines = squeeze(done.stdout)
    assert lines[:3] == [
        "graph of f: 2 inputs, 3 primitives, 1 output",
        "input x float64[3]",
        "input y float64[3]",
    ]
    assert "v1 = sin(x) float64[3]" in lines
    assert any(line.startswith("backward pass of f") for line in lines)
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    assert (tmp_path / "g-backward.dot").exists()
    if HAVE_DOT:
        assert run(*args, "-o", str(tmp_path / "g.svg")).returncode == 0
        assert "<svg" in (tmp_path / "g.svg").read_text()


def test_graph_json():
    out = run_json("graph", "x1**2 + x1*x2", "--at", "x1=3", "x2=2")
    assert out["listing"].startswith("graph of f: 2 inputs")
    assert out["dot"].startswith("digraph") and out["backward"] is None


@pytest.mark.parametrize("command", ["", "grad", "jacobian", "hessian", "jvp", "graph", "demo"])
def test_help_on_every_subcommand(command):
    done = run(*([command] if command else []), "--help")
    assert done.returncode == 0 and done.stdout.startswith("usage: chainrule")
    assert "examples:" in done.stdout or command == ""
    if command in ("grad", "jacobian", "hessian"):
        assert "--mode {fwd,rev}" in done.stdout and "--json" in done.stdout


def test_console_script():
    script = Path(sys.executable).with_name("chainrule")
    if not script.exists():
        pytest.skip("the console script is not installed next to this Python")
    done = subprocess.run(
        [str(script), "grad", "x**2", "--at", "x=3", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and json.loads(done.stdout)["gradient"] == {"x": 6}


# -- errors: one line (a caret for syntax), exit 2 for usage, 1 for mathematics -----------


def test_syntax_error_shows_a_caret_under_the_fault():
    done = run("jacobian", "[x1**2 + , x1*x2]", "--at", "x1=3", "x2=2")
    assert done.returncode == 2
    first, text, caret = done.stderr.splitlines()
    assert first.startswith("chainrule: error: syntax error in the expression")
    assert text.strip() == "[x1**2 + , x1*x2]"
    assert caret.index("^") == text.index(",")


@pytest.mark.parametrize(
    "expression, fragment",
    [
        ("sinn(x)", "did you mean 'sin'"),
        ("svd(x)", "did you mean 'linalg.svd'"),
        ("xx + 1", "unknown variable 'xx'; did you mean 'x'?"),
    ],
)
def test_unknown_names_suggest_the_nearest(expression, fragment):
    done = run("grad", expression, "--at", "x=1")
    assert done.returncode == 2 and fragment in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "expression, fragment",
    [
        ("x.__class__", "attribute access is not allowed"),
        ("__import__('os')", "names starting with '_' are not allowed"),
        ("(lambda: 1)()", "lambda functions are not allowed"),
        ("sum([i for i in x])", "comprehensions are not allowed"),
        ("2**10**10", "exponent too large"),
        ("sum(ones(10**9))", "1,000,000,000 elements"),
        ("sum(outer(ones(10**5), ones(10**5)))", "elements; the limit is"),
        ("sum(" + "+".join(["x"] * 1200) + ")", "characters long"),
    ],
)
def test_refused_constructs(expression, fragment):
    done = run("grad", expression, "--at", "x=[1.0, 2.0]")
    assert done.returncode == 2, done.stdout
    assert fragment in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args, status, fragments",
    [
        (("grad", "x + [1, 2]", "--at", "x=[1,2,3]"), 1, ["(3,)", "(2,)", "shape mismatch"]),
        (("jacobian", "A @ x", "--at", "A=[[1,2,3]]", "x=[1,2]"), 1, ["(1, 3)", "(2,)"]),
        (("grad", "x * 2", "--at", "x=[1,2]"), 1, ["scalar", "jacobian"]),
        (("jvp", "x", "--at", "x=[1,2]", "--tangent", "x=[1,2,3]"), 2, ["(3,)", "(2,)"]),
        (("grad", "x", "--at", "x"), 2, ["NAME=VALUE"]),
        (("grad", "x"), 2, ["unknown variable 'x'"]),
        (("nosuch",), 2, ["invalid choice"]),
        (("graph", "x", "--at", "x=1", "-o", "g.txt"), 2, [".svg"]),
    ],
)
def test_exit_statuses(args, status, fragments):
    done = run(*args)
    assert done.returncode == status, (done.stdout, done.stderr)
    for fragment in fragments:
        assert fragment in done.stderr


def test_domain_errors_give_nan_with_a_note():
    done = run("grad", "log(x)", "--at", "x=-1")
    assert done.returncode == 0 and "nan" in done.stdout and "note:" in done.stdout


# -- the demo ----------------------------------------------------------------------------


def test_demo_quick_with_pictures(tmp_path):
    args = ["demo", "--steps", "30", "--data", "generated", "--graph", str(tmp_path / "g.dot")]
    if HAVE_MATPLOTLIB:
        args += ["--plot", str(tmp_path / "loss.png")]
    done = run(*args)
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())  # the walk-through wraps to the width
    assert "generated data: 442 samples" in out
    assert "theta[11] -> residual[442] -> sum_of_squares[] -> risk[]" in out
    assert "ḡtheta" in out and "backward pass of risk" in out
    check = re.search(
        r"gradient check: max \|autodiff - \(2/N\) Xᵀ \(X theta - Y\)\| = (\S+);", out
    )
    assert check and float(check.group(1)) < 1e-9 and "(agree)" in out
    assert "stopped after 30 steps" in out
    assert re.search(r"gap to the closed form: max \|theta - theta_lstsq\| = \S+", out)
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    assert (tmp_path / "g-backward.dot").exists()
    if HAVE_MATPLOTLIB:
        assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert done.stderr == ""  # no progress bar off a terminal, no warnings


def test_demo_converges_to_the_closed_form():
    done = run("demo", "--data", "generated")
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    assert "converged after" in out
    gap = re.search(r"max \|theta - theta_lstsq\| = (\S+),", out)
    assert gap and float(gap.group(1)) < 1e-6


def test_demo_graph_names_the_lecture_values():
    done = run("demo", "--steps", "1", "--data", "generated")
    assert "residual       = subtract(v1, Y)" in done.stdout
    assert "sum_of_squares = matmul(residual, residual)" in done.stdout
