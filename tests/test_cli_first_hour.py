"""A user's first hour with ``chainrule`` (issue #14), and the #13 fixes that
have a right answer rather than a refusal: bare ``chainrule``, pictures
without Graphviz, the progress bar, the walk-through's width and notation,
help text, warnings, pasted NumPy code, Unicode names and scalar arguments.

Most tests call ``main`` in-process (fast); a few run the real command where
the process's environment is the point (PATH without Graphviz, warnings).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.cli.progress import progress_bar

HAVE_DOT = shutil.which("dot") is not None
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
HAVE_TQDM = importlib.util.find_spec("tqdm") is not None


def call(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def call_json(capsys, *argv: str) -> dict:
    status, out, err = call(capsys, *argv, "--json")
    assert status == 0 and err == "", err
    return json.loads(out)


def run(*argv: str, cwd: Path | None = None, env: dict | None = None):
    environment = {k: v for k, v in os.environ.items() if k != "CHAINRULE_TRACEBACK"}
    environment.update(env or {})
    environment["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=120,
    )


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def segments(text: str) -> list[str]:
    """What a terminal shows, redraw by redraw (\\r and \\n both end one)."""
    return [s for s in re.split(r"[\r\n]", text) if s.strip()]


# -- bare chainrule ------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [[]])
def test_bare_command_prints_a_short_usage_pointing_at_the_demo(argv, capsys):
    status, out, err = call(capsys, *argv)
    assert status == 2 and out == ""  # argparse's status for a missing command
    assert err.startswith("usage: chainrule COMMAND")
    assert "  chainrule demo\n" in err and "chainrule --help" in err
    assert len(err.splitlines()) <= 15  # short: not the full help, and not the demo


def test_help_says_what_bare_chainrule_does(capsys):
    status, out, _ = call(capsys, "--help")
    assert status == 0 and "Without a command, prints a short usage" in " ".join(out.split())


# -- pictures without Graphviz -------------------------------------------------------------


def no_dot(monkeypatch) -> None:
    real = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name, *a, **k: None if name == "dot" else real(name)
    )


@pytest.mark.parametrize("backward", [False, True])
def test_graph_without_graphviz_lists_writes_dot_and_says_how(
    backward, capsys, monkeypatch, tmp_path
):
    no_dot(monkeypatch)
    monkeypatch.chdir(tmp_path)
    argv = ["graph", "x1**2 + x1*x2", "--at", "x1=3", "x2=2", "-o", "g.svg"]
    status, out, err = call(capsys, *argv, *(["--backward"] if backward else []))
    assert status == 0  # the listing and the .dot are the output; the picture is a warning
    assert out.startswith("graph of f: 2 inputs")
    expected = {"g.dot", "g-backward.dot"} if backward else {"g.dot"}
    assert {p.name for p in tmp_path.iterdir()} == expected
    assert all(p.read_text().startswith("digraph") for p in tmp_path.iterdir())
    (line,) = err.splitlines()
    assert line.startswith("chainrule: warning: -o g.svg: drawing needs Graphviz's 'dot'")
    assert "apt-get install graphviz" in line and "dot -Tsvg g.dot -o g.svg" in line
    assert ("dot -Tsvg g-backward.dot -o g-backward.svg" in line) == backward
    assert "wrote g.dot" in out


def test_graph_json_without_graphviz_reports_the_dot_file(capsys, monkeypatch, tmp_path):
    no_dot(monkeypatch)
    monkeypatch.chdir(tmp_path)
    status, out, err = call(capsys, "graph", "sin(x)", "--at", "x=1", "-o", "g.png", "--json")
    assert status == 0 and json.loads(out)["written"] == ["g.dot"]
    assert "Graphviz" in err and not (tmp_path / "g.png").exists()


def test_graph_and_demo_without_graphviz_on_the_path(tmp_path):
    # The real thing: a PATH on which there is no 'dot' at all.
    env = {"PATH": str(Path(sys.executable).parent)}
    done = run("graph", "x**2", "--at", "x=3", "-o", "g.svg", cwd=tmp_path, env=env)
    assert done.returncode == 0 and "graph of f" in done.stdout
    assert "Graphviz" in done.stderr and (tmp_path / "g.dot").exists()
    argv = ["demo", "--steps", "5", "--data", "generated", "--graph", "d.svg"]
    if HAVE_MATPLOTLIB:
        argv += ["--plot", "loss.png"]
    done = run(*argv, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Graphviz" in done.stderr
    assert (tmp_path / "d.dot").exists() and (tmp_path / "d-backward.dot").exists()
    assert not (tmp_path / "d.svg").exists()
    if HAVE_MATPLOTLIB:  # the plot is written even though the graph could not be drawn
        assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz is not installed")
def test_graph_with_graphviz_draws_without_a_warning(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    status, out, err = call(capsys, "graph", "x**2", "--at", "x=3", "-o", "g.svg", "--backward")
    assert status == 0 and err == ""
    assert "<svg" in (tmp_path / "g.svg").read_text()
    assert "<svg" in (tmp_path / "g-backward.svg").read_text()
    assert not (tmp_path / "g.dot").exists()


# -- the progress bar ------------------------------------------------------------------------


@pytest.fixture(params=["tqdm", "plain"])
def bar_kind(request, monkeypatch):
    if request.param == "tqdm" and not HAVE_TQDM:
        pytest.skip("tqdm is not installed")
    if request.param == "plain":
        monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm fails
    return request.param


def test_bar_ends_at_100_percent_when_the_loop_converges(bar_kind, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: the bar still fits 80
    stream = Terminal()
    bar = progress_bar(20_000, "gradient descent", stream)
    for step in range(700):
        bar.update(1)
        if step % 100 == 0:
            bar.set_postfix_str(f"risk {1000.0 / (step + 1):.6g}")
    bar.finish(700, "converged at step 700")
    shown = segments(stream.getvalue())
    assert shown and all(len(s) <= 80 for s in shown), max(shown, key=len)
    assert "100%" in shown[-1] and "700/700" in shown[-1]
    assert "converged at step 700" in shown[-1]
    assert stream.getvalue().endswith("\n")


def test_bar_ends_at_100_percent_when_the_steps_run_out(bar_kind):
    stream = Terminal()
    bar = progress_bar(50, "gradient descent", stream)
    for _ in range(50):
        bar.update(1)
    bar.finish(50, "risk 2877.89")
    last = segments(stream.getvalue())[-1]
    assert "100%" in last and "50/50" in last and "risk 2877.89" in last


def test_bar_is_quiet_off_a_terminal(bar_kind):
    stream = io.StringIO()
    bar = progress_bar(100, "gradient descent", stream)
    for _ in range(100):
        bar.update(1)
    bar.finish(100, "done")
    assert stream.getvalue() == ""


def test_demo_bar_on_a_terminal_says_converged(bar_kind, capsys, monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    status = main(["demo", "--data", "generated"])  # converges after a few hundred steps
    out, _ = capsys.readouterr()
    assert status == 0
    steps = int(re.search(r"converged after (\d+) steps", out).group(1))
    last = segments(terminal.getvalue())[-1]
    assert "100%" in last and f"{steps}/{steps}" in last
    assert f"converged at step {steps}" in last
    assert all(len(s) <= 80 for s in segments(terminal.getvalue()))


def test_demo_off_a_terminal_writes_nothing_to_stderr(capsys):
    status, out, err = call(capsys, "demo", "--steps", "40", "--data", "generated")
    assert status == 0 and err == "" and "stopped after 40 steps" in out


# -- the walk-through: width, one notation, help -------------------------------------------


@pytest.mark.parametrize("columns", [60, 100])
def test_walk_through_wraps_to_the_terminal_width(columns, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(columns))
    status, out, _ = call(capsys, "demo", "--steps", "3", "--data", "generated")
    assert status == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= columns
    # Nothing was lost: the long gradient-check line is all there once unwrapped.
    assert "gradient check: max |autodiff - (2/N) Xᵀ (X theta - Y)| =" in " ".join(out.split())
    if columns == 60:
        assert any(len(line) > 55 for line in lines)  # it fills the width, too


def test_walk_through_uses_one_notation(capsys):
    status, out, _ = call(capsys, "demo", "--steps", "3", "--data", "generated")
    assert status == 0
    assert "ḡtheta" in out and "ḡresidual" in out and "Xᵀ" in out
    for other in ("g_", "^T", "X^T"):
        assert other not in out, other


@pytest.mark.parametrize("command", ["demo", "grad", "jacobian", "hessian", "jvp", "graph", ""])
def test_help_has_no_raw_markup(command, capsys):
    status, out, _ = call(capsys, *([command] if command else []), "--help")
    assert status == 0 and out.startswith("usage: chainrule")
    assert "``" not in out and not re.search(r":[a-z]+:`", out)


def test_no_runtime_warnings_leak(capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for argv in (
            ["grad", "log(x)", "--at", "x=0"],
            ["jacobian", "exp(x)", "--at", "x=[1, 1000]"],
            ["hessian", "sqrt(x) + x**-1", "--at", "x=0"],
            ["jvp", "x / y", "--at", "x=1", "y=0", "--tangent", "y=1"],
        ):
            status, out, err = call(capsys, *argv)
            assert status == 0 and err == ""
            assert "note: the result contains nan or inf" in out
    assert [w for w in caught if issubclass(w.category, RuntimeWarning)] == []


def test_no_runtime_warnings_in_a_real_process():
    done = run("grad", "log(x) + exp(1000 * x)", "--at", "x=0")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "inf" in done.stdout and "note:" in done.stdout


# -- pasted NumPy code ------------------------------------------------------------------------


def test_np_prefix_is_accepted(capsys):
    x, y = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    out = call_json(capsys, "grad", "np.sum(np.sin(x) * y)", "--at", "x=[1,2,3]", "y=[4,5,6]")
    np.testing.assert_allclose(out["gradient"]["x"], np.cos(x) * y, rtol=1e-12)
    np.testing.assert_allclose(out["gradient"]["y"], np.sin(x), rtol=1e-12)
    out = call_json(capsys, "grad", "numpy.linalg.norm(x) * np.pi", "--at", "x=[3,4]")
    np.testing.assert_allclose(out["gradient"]["x"], np.pi * np.array([0.6, 0.8]), rtol=1e-12)
    out = call_json(
        capsys, "jacobian", "numpy.sum(x[:, np.newaxis] * x, axis=0)", "--at", "x=[1,2]"
    )
    assert out["jacobian"] == [[4, 1], [2, 5]]  # d/dx_j of x_i * sum(x)
    assert call_json(capsys, "grad", "x * numpy.e", "--at", "x=1")["gradient"]["x"] == np.e


@pytest.mark.parametrize(
    "expression, fragment",
    [
        ("np.random.rand(3)", "unknown function 'np.random.rand'"),
        ("np.sin", "attribute access is not allowed"),
        ("np.sin(x).sum()", "attribute access is not allowed; write sum(...) instead"),
        ("numpy.__dict__", "attribute access is not allowed"),
        ("scipy.special.gamma(x)", "attribute access is not allowed"),
    ],
)
def test_np_prefix_opens_nothing_else(expression, fragment, capsys):
    status, _, err = call(capsys, "grad", expression, "--at", "x=1")
    assert status == 2 and fragment in err and len(err.splitlines()) == 1


# -- #13 items with an answer --------------------------------------------------------------


def test_unicode_names_are_compared_after_nfkc(capsys):
    # Python reads the ligature "ﬁ" in an expression as "fi"; --at must too.
    out = call_json(capsys, "grad", "ﬁ**2", "--at", "ﬁ=3")
    assert out["gradient"] == {"fi": 6} and out["variables"] == ["fi"]
    out = call_json(capsys, "grad", "fi * 𝑥", "--at", "ﬁ=2", "x=5", "--wrt", "𝑥")
    assert out["gradient"] == {"x": 2}


def test_scalar_arguments_do_not_count_against_the_element_limit(capsys):
    # Exactly the limit of 10**6 elements, plus a scalar: allowed.
    out = call_json(capsys, "grad", "x * sum(add(ones(10**6), 1))", "--at", "x=1")
    assert out["value"] == 2_000_000 and out["gradient"] == {"x": 2_000_000}
    out = call_json(
        capsys, "grad", "x * sum(where(ones(10**6) > 0, 1.0, zeros(10**6)))", "--at", "x=1"
    )
    assert out["value"] == 1_000_000
    out = call_json(capsys, "grad", "sum(linalg.matrix_power(x * eye(3), 4))", "--at", "x=2")
    assert out["value"] == 48 and out["gradient"] == {"x": 96}  # 3 x**4, 12 x**3


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--precision", "-5"], "argument --precision: must be from 1 to 17, got -5"),
        (["--precision", "0"], "must be from 1 to 17"),
        (["--wrt", "x", "x"], "--wrt gives 'x' twice"),
    ],
)
def test_former_internal_errors_are_usage_errors(argv, fragment, capsys):
    status, out, err = call(capsys, "grad", "sin(x)", "--at", "x=0.5", *argv)
    assert status == 2 and out == ""
    (line,) = err.splitlines()
    assert line.startswith("chainrule") and fragment in line and "internal" not in line


def test_precision_is_honoured_at_both_ends(capsys):
    value = np.sin(0.5)
    out = call(capsys, "grad", "sin(x)", "--at", "x=0.5", "--precision", "1")[1]
    assert "value  0.5" in out
    out = call(capsys, "grad", "sin(x)", "--at", "x=0.5", "--precision", "17")[1]
    assert f"value  {value:.17g}" in out


# -- big results stay readable -------------------------------------------------------------


def test_big_tables_show_a_corner_and_point_at_json(capsys):
    status, out, err = call(capsys, "grad", "sum(x**2)", "--at", "x=linspace(0, 1, 30000)")
    assert status == 0 and err == ""
    assert "(showing 10,000 of 30,000 rows and 2 of 2 columns; --json prints every value)" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("  x[")]
    assert len(rows) == 10_000 and rows[-1][0] == "x[9999]"
    assert float(rows[1][2]) == pytest.approx(2 / 29999, rel=1e-5)  # 2x at x = 1/29999
    gradient = call_json(capsys, "grad", "sum(x**2)", "--at", "x=linspace(0, 1, 30000)")
    np.testing.assert_allclose(gradient["gradient"]["x"], 2 * np.linspace(0, 1, 30000))


def test_wide_jacobian_is_cut_to_fifty_columns(capsys):
    status, out, _ = call(capsys, "jacobian", "x * 2", "--at", "x=ones(600)")
    assert status == 0
    assert "(showing 400 of 600 rows and 50 of 600 columns; --json prints every value)" in out
    # Input labels only head columns (rows are f[i]): the 51st column is not shown.
    assert "x[49]" in out and "x[50]" not in out


def test_functions_of_split_pieces_are_differentiated(capsys):
    # stack() receives a list of traced pieces: sizing it must not convert them.
    out = call_json(capsys, "grad", "sum(stack(array_split(x, 3))**2)", "--at", "x=[1,2,3,4,5,6]")
    assert out["gradient"]["x"] == [2, 4, 6, 8, 10, 12]
    if hasattr(np, "unstack"):  # NumPy 2.1
        expression = "sum(concatenate(unstack(A)) * 3)"
        out = call_json(capsys, "grad", expression, "--at", "A=ones((2, 2))")
        assert out["gradient"]["A"] == [[3, 3], [3, 3]]


def test_newer_functions_are_sized_and_still_correct(capsys):
    out = call_json(capsys, "grad", "sum(convolve(x, [1.0, 2.0]))", "--at", "x=[1, 2, 3]")
    assert out["gradient"]["x"] == [3, 3, 3]
    out = call_json(capsys, "grad", "sum(cov(x))", "--at", "x=[[1, 2, 4], [1, 3, 2]]")
    assert out["value"] == pytest.approx(np.sum(np.cov([[1, 2, 4], [1, 3, 2]])))
    out = call_json(capsys, "grad", "polyval(x, 2.0)", "--at", "x=[1, 0, -1]")
    assert out["gradient"]["x"] == [4, 2, 1]  # d/dp of p0 * 4 + p1 * 2 + p2


def test_only_vetted_functions_are_callable():
    from chainrule.cli.functions import FUNCTIONS, VETTED

    assert set(FUNCTIONS) <= VETTED
    for name in (
        "fromfile",
        "loadtxt",
        "genfromtxt",
        "frombuffer",
        "fromiter",
        "fromstring",
        "empty",
        "fromfunction",
        "apply_along_axis",
        "piecewise",
        "load",
        "save",
    ):
        assert name not in FUNCTIONS and name not in VETTED


def test_other_warnings_are_one_line(capsys, monkeypatch):
    # Evaluation silences NumPy's warnings; one raised elsewhere (a rule, a
    # plotting library) is shown as one line, without a file name.
    import chainrule.cli.commands as commands

    real = commands.grad

    def grad_that_warns(args):
        warnings.warn("something odd\nacross two lines", UserWarning, stacklevel=1)
        return real(args)

    monkeypatch.setattr(commands, "grad", grad_that_warns)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        status, out, err = call(capsys, "grad", "x**2", "--at", "x=3")
    assert status == 0 and "gradient" in out
    assert err.splitlines() == ["chainrule: warning: something odd across two lines (UserWarning)"]
