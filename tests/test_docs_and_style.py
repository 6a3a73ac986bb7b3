"""Docstring examples run, and the code stays ruff-clean."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import chainrule

ROOT = Path(__file__).resolve().parents[1]


def all_modules():
    yield chainrule.__name__
    for info in pkgutil.walk_packages(chainrule.__path__, prefix="chainrule."):
        if info.name != "chainrule.__main__":
            yield info.name


@pytest.mark.parametrize("name", sorted(all_modules()))
def test_docstring_examples(name):
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_every_public_transform_has_a_runnable_example():
    for name in [
        "grad",
        "value_and_grad",
        "vjp",
        "jvp",
        "linearize",
        "jacrev",
        "jacfwd",
        "hessian",
        "hvp",
        "stop_gradient",
        "check_grads",
    ]:
        doc = getattr(chainrule, name).__doc__
        assert doc and ">>> " in doc, f"cr.{name} needs a docstring with an example"


def test_ruff_clean():
    ruff = str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        ruff = shutil.which("ruff") or ruff
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (it comes with the test dependency group)")
    paths = ["src", "tests", "benchmarks", "examples", "tools"]
    done = subprocess.run([ruff, "check", *paths], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
