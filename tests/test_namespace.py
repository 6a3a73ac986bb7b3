"""Coverage stays honest: every exported function has both modes or is
declared non-differentiable, has a test, and docs/coverage.md is current."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np
import pytest

import chainrule.numpy as cnp
from chainrule import coverage

ROOT = Path(__file__).resolve().parents[1]
ENTRIES = coverage.entries()


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.namespace}.{e.name}")
def test_every_export_has_both_modes_or_is_declared_nondifferentiable(entry):
    if entry.kind in ("non-differentiable", "refused"):
        assert not (entry.reverse or entry.forward)
        return
    assert entry.kind != "unknown", (
        f"{entry.namespace}.{entry.name} has no answer: give it rules, declare it "
        "non-differentiable, or add it to chainrule/rules/_refusals.py with a reason"
    )
    assert entry.reverse and entry.forward, f"{entry.namespace}.{entry.name} lacks a mode"


def _test_sources() -> str:
    return "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))


def _mentioned(name: str, sources: str) -> bool:
    # A name counts as tested when a test calls it as np.NAME / cnp.NAME /
    # linalg.NAME / .NAME( or lists it as a string in a test table.
    return bool(re.search(rf"(\.{re.escape(name)}\b|[\"']{re.escape(name)}[\"'])", sources))


@pytest.mark.parametrize(
    "entry",
    [e for e in ENTRIES if e.kind not in ("non-differentiable", "refused", "method")],
    ids=lambda e: f"{e.namespace}.{e.name}",
)
def test_every_differentiable_export_is_exercised_by_a_test(entry):
    sources = _test_sources()
    if _mentioned(entry.name, sources):
        return
    # An alias is tested through any name of the same object: on NumPy 2.0,
    # np.trapz (gone from later NumPy, so from later tests) beside np.trapezoid.
    module = importlib.import_module(f"chainrule.{entry.namespace}")
    obj = getattr(module, entry.name)
    aliases = [
        e.name
        for e in ENTRIES
        if e.namespace == entry.namespace
        and e.name != entry.name
        and getattr(module, e.name) is obj
    ]
    assert any(_mentioned(a, sources) for a in aliases), f"no test mentions {entry.name}"


def test_nondifferentiable_functions_return_plain_values():
    import numpy as np

    import chainrule as cr

    seen = {}

    def f(x):
        seen["argmax"] = np.argmax(x)
        seen["sign"] = np.sign(x)
        seen["floor"] = np.floor(x)
        seen["isfinite"] = np.isfinite(x)
        seen["shape"] = np.shape(x)
        seen["zeros_like"] = np.zeros_like(x)
        return np.sum(x * x)

    g = cr.grad(f)(np.array([1.5, -2.5]))
    np.testing.assert_allclose(g, [3.0, -5.0])
    assert seen["argmax"] == 0
    np.testing.assert_array_equal(seen["sign"], [1.0, -1.0])
    np.testing.assert_array_equal(seen["floor"], [1.0, -3.0])
    assert seen["shape"] == (2,)
    for value in seen.values():
        assert not isinstance(value, cr.core.trace.Tracer)


_REGENERATE = "regenerate it with python -m chainrule.coverage > docs/coverage.md"


def _rows(page: str) -> dict[tuple[str, str], str]:
    """(namespace, function) -> its table row, for every row of a coverage page."""
    rows, namespace = {}, None
    for line in page.splitlines():
        if line.startswith("## chainrule."):
            namespace = line.removeprefix("## chainrule.")
        elif line.startswith("## numpy.ndarray"):
            namespace = "ndarray"
        elif line.startswith("| `"):
            rows[namespace, line.split("`")[1]] = line
    return rows


def test_coverage_page_is_current():
    page = ROOT / "docs" / "coverage.md"
    assert page.exists(), "run: python -m chainrule.coverage > docs/coverage.md"
    text, generated = page.read_text(), coverage.markdown()
    written_with = re.search(r"with NumPy (\d+\.\d+);", text)
    if written_with is None or written_with.group(1) == coverage.numpy_release():
        assert text == generated, f"docs/coverage.md is out of date; {_REGENERATE}"
        return
    # Under another NumPy release than the page's, names come and go with NumPy
    # (np.unstack arrived in 2.1, np.trapz left in 2.4): the names both list must
    # read the same, and a name only the page lists must be one this NumPy lacks.
    page_rows, our_rows = _rows(text), _rows(generated)
    for key in page_rows.keys() & our_rows.keys():
        assert page_rows[key] == our_rows[key], f"{key}: the page differs; {_REGENERATE}"
    for namespace, name in page_rows.keys() - our_rows.keys():
        module = np.ndarray if namespace == "ndarray" else importlib.import_module(namespace)
        assert not hasattr(module, name), (
            f"{namespace}.{name} is on the coverage page and in this NumPy, but has no rule"
        )


def test_coverage_page_rows_and_the_numpy_release_it_names():
    page = "\n".join(
        [
            "## chainrule.numpy",
            "| `sin` | primitive | yes | yes |  |",
            "| `unstack` | composite | yes | yes |  |",
            "## numpy.ndarray methods",
            "| `tofile` | refused | — | — | reads or writes files |",
        ]
    )
    assert _rows(page) == {
        ("numpy", "sin"): "| `sin` | primitive | yes | yes |  |",
        ("numpy", "unstack"): "| `unstack` | composite | yes | yes |  |",
        ("ndarray", "tofile"): "| `tofile` | refused | — | — | reads or writes files |",
    }
    assert coverage.numpy_release() == ".".join(np.__version__.split(".")[:2])
    assert "with NumPy " + coverage.numpy_release() + ";" in coverage.markdown()


def test_numpy_names_fall_through():
    import numpy as np

    assert cnp.pi == np.pi
    assert cnp.float64 is np.float64
    with pytest.raises(AttributeError, match="no attribute"):
        cnp.definitely_not_a_numpy_name  # noqa: B018
