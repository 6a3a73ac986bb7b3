"""Coverage stays honest: every exported function has both modes or is
declared non-differentiable, has a test, and docs/coverage.md is current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import chainrule.numpy as cnp
from chainrule import coverage

ROOT = Path(__file__).resolve().parents[1]
ENTRIES = coverage.entries()


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.namespace}.{e.name}")
def test_every_export_has_both_modes_or_is_declared_nondifferentiable(entry):
    if entry.kind == "non-differentiable":
        return
    assert entry.reverse and entry.forward, f"{entry.namespace}.{entry.name} lacks a mode"


def _test_sources() -> str:
    return "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))


@pytest.mark.parametrize(
    "entry",
    [e for e in ENTRIES if e.kind != "non-differentiable"],
    ids=lambda e: f"{e.namespace}.{e.name}",
)
def test_every_differentiable_export_is_exercised_by_a_test(entry):
    # A name counts as tested when a test calls it as np.NAME / cnp.NAME /
    # linalg.NAME / .NAME( or lists it as a string in a test table.
    pattern = rf"(\.{re.escape(entry.name)}\b|[\"']{re.escape(entry.name)}[\"'])"
    assert re.search(pattern, _test_sources()), f"no test mentions {entry.name}"


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


def test_coverage_page_is_current():
    page = ROOT / "docs" / "coverage.md"
    assert page.exists(), "run: python -m chainrule.coverage > docs/coverage.md"
    assert page.read_text() == coverage.markdown(), (
        "docs/coverage.md is out of date; regenerate it with "
        "python -m chainrule.coverage > docs/coverage.md"
    )


def test_numpy_names_fall_through():
    import numpy as np

    assert cnp.pi == np.pi
    assert cnp.float64 is np.float64
    with pytest.raises(AttributeError, match="no attribute"):
        cnp.definitely_not_a_numpy_name  # noqa: B018
