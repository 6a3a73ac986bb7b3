"""The scripts in examples/: each runs (shortened) and reaches its stated result."""

from __future__ import annotations

import doctest
import importlib.util
import inspect
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NAMES = [
    "least_squares",
    "logistic_regression",
    "digits_mlp",
    "newton_circles",
    "rosenbrock_trust_region",
]
NEEDS = {
    "least_squares": ["sklearn"],
    "logistic_regression": ["sklearn", "scipy"],
    "digits_mlp": ["sklearn"],
    "newton_circles": [],
    "rosenbrock_trust_region": [],
}


def load(name):
    for module in NEEDS[name]:
        pytest.importorskip(module)
    spec = importlib.util.spec_from_file_location(f"examples_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_is_listed_and_has_main():
    assert sorted(p.stem for p in EXAMPLES.glob("*.py")) == sorted(NAMES)
    for name in NAMES:
        source = (EXAMPLES / f"{name}.py").read_text()
        assert 'if __name__ == "__main__":' in source, name
        assert "def main(quick: bool = False" in source, name


@pytest.mark.parametrize("name", NAMES)
def test_example_docstrings(name):
    module = load(name)
    assert module.__doc__ and "Run:" in module.__doc__
    for fname, fn in inspect.getmembers(module, inspect.isfunction):
        if fn.__module__ == module.__name__ and not fname.startswith("_"):
            assert fn.__doc__, f"{name}.{fname} has no docstring"
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, verbose=False)
    assert result.failed == 0


def test_least_squares_gradient_descent_reaches_the_closed_form():
    out = load("least_squares").main(quick=True)
    assert out["max_error"] <= 1e-6
    np.testing.assert_allclose(out["theta"], out["exact"], rtol=0, atol=1e-6)


def test_logistic_regression_with_lbfgs_reaches_95_percent():
    out = load("logistic_regression").main(quick=True)
    assert out["result"].success
    assert out["test_accuracy"] >= 0.95
    assert set(out["params"]) == {"w", "b"}


def test_digits_network_with_adam_reaches_95_percent(capsys):
    out = load("digits_mlp").main(quick=True)  # with the progress bar (or its fallback)
    assert out["test_accuracy"] >= 0.95
    assert np.mean(out["losses"][-50:]) < 0.5 * np.mean(out["losses"][:50])


def test_examples_say_how_to_install_scikit_learn(monkeypatch):
    module = load("digits_mlp")
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    from chainrule.errors import install_hint

    hint = install_hint("examples", "scikit-learn")
    with pytest.raises(ImportError, match=re.escape("install it with: " + hint)):
        module.load_digits_split()


def test_digits_progress_falls_back_without_tqdm(monkeypatch, capsys):
    module = load("digits_mlp")
    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert list(module.progress(range(3), total=3)) == [0, 1, 2]
    assert "install tqdm" in capsys.readouterr().err


def test_newton_finds_both_intersections_quadratically():
    out = load("newton_circles").main(quick=True)
    assert out["max_error"] < 1e-10
    for history in out["histories"]:
        # residuals: each at most a modest constant times the square of the one before
        tail = [(a, b) for a, b in zip(history, history[1:]) if a < 1e-1 and b > 1e-15]
        assert tail and all(b <= 2.0 * a**2 for a, b in tail)


def test_newton_circles_script_saves_a_picture(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "circles.png"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "newton_circles.py"), "--plot", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "max distance from the exact intersections" in done.stdout
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_trust_region_newton_on_rosenbrock_1000d_never_forms_the_hessian(monkeypatch):
    import chainrule as cr

    module = load("rosenbrock_trust_region")

    def forbidden(*args, **kwargs):
        raise AssertionError("the Hessian was formed")

    for name in ("hessian", "jacfwd", "jacrev"):
        monkeypatch.setattr(cr, name, forbidden)
    out = module.main(quick=True)
    assert out["x"].shape == (1000,)
    assert out["max_error"] < 1e-8
    assert out["grad_norm"] < 1e-8
    assert 0 < out["hvps"] < 2000
