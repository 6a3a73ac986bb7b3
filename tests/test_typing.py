"""mypy on the package and on the typed-API cases (tests/typing_cases.py).

One mypy run, with the configuration in pyproject.toml (strict on
``chainrule.core``, ``chainrule.transforms`` and ``typing_cases``), checks
``src/`` and the ``assert_type`` cases together. Skipped without mypy (it is in
the ``test`` dependency group). A cold run takes ~30 s; the cache (in the
temporary directory, not the checkout) makes later runs a few seconds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("mypy")

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "typing_cases.py"
ERROR = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+): error: (?P<message>.*)$", re.MULTILINE)


@pytest.fixture(scope="module")
def mypy_run() -> tuple[list[tuple[str, str]], str]:
    """One mypy run: (path relative to the checkout, 'line: message') for each
    error, and mypy's summary line."""
    if not (ROOT / "pyproject.toml").is_file() or not (ROOT / "src").is_dir():
        pytest.skip("needs the source checkout (pyproject.toml and src/)")
    cache = Path(tempfile.gettempdir()) / "chainrule-mypy-cache"
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache), "src", str(CASES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "MYPY_FORCE_COLOR": "0"},
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 2: mypy itself failed
    found = [
        (Path(m["path"]).as_posix(), f"{m['line']}: {m['message']}")
        for m in ERROR.finditer(done.stdout)
    ]
    assert found or done.returncode == 0, done.stdout + done.stderr
    return found, done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def mypy_errors(mypy_run) -> list[tuple[str, str]]:
    return mypy_run[0]


def _report(errors: list[tuple[str, str]]) -> str:
    return "\n".join(f"{path}:{what}" for path, what in errors)


def test_typing_cases_hold(mypy_run):
    # Every assert_type in typing_cases.py holds and no call there is refused:
    # grad / value_and_grad / jacfwd / jacrev / hessian with int and tuple
    # argnums and has_aux give arrays for array inputs, Any where not known.
    errors, summary = mypy_run
    errors = [e for e in errors if e[0].endswith("typing_cases.py")]
    assert errors == [], _report(errors)
    # ... and mypy did read the cases: every module of the package and the cases file.
    checked = len(list((ROOT / "src").rglob("*.py"))) + 1
    assert f"{checked} source files" in summary, summary


def test_package_outside_core_is_mypy_clean(mypy_errors):
    # Reported on its own: a change to the engine (strict) does not hide, or
    # get blamed for, an error in the rules and the optional modules.
    errors = [e for e in mypy_errors if e[0].startswith("src/") and "chainrule/core/" not in e[0]]
    assert errors == [], _report(errors)


def test_package_is_mypy_clean(mypy_errors):
    errors = [e for e in mypy_errors if e[0].startswith("src/")]
    assert errors == [], _report(errors)


def test_a_false_assertion_is_caught(tmp_path):
    # The check can fail: a wrong assert_type is reported (so the cases above
    # are really read by mypy, not skipped).
    wrong = tmp_path / "wrong_case.py"
    wrong.write_text(
        "import numpy as np\n"
        "from numpy.typing import NDArray\n"
        "from typing_extensions import assert_type\n"
        "import chainrule as cr\n"
        "def f(x: NDArray[np.float64]) -> float:\n"
        "    return np.sum(x ** 2)\n"
        "assert_type(cr.grad(f)(np.zeros(2)), float)\n"
    )
    cache = Path(tempfile.gettempdir()) / "chainrule-mypy-cache"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--cache-dir",
            str(cache),
            "--follow-imports=silent",
            str(wrong),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'Expression is of type "ndarray[' in done.stdout, done.stdout
    assert 'not "float"' in done.stdout, done.stdout
