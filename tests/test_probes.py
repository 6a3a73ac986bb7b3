"""The README's comparison table is what the probes in
benchmarks/probes/compare.py measure: chainrule's column always; a peer's
column when that library is installed at the version the table names
(skipped otherwise: none of them is a test dependency). JAX and PyTorch
take a minute or more to probe, so their columns are checked with --runslow."""

from __future__ import annotations

import importlib.metadata as metadata
import importlib.util
import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBES = runpy.run_path(str(ROOT / "benchmarks" / "probes" / "compare.py"))


def readme_table() -> tuple[list[str], dict[str, list[str]]]:
    """The header cells and {row: cells} of the README's "What you get" table."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## What you get", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    split = [[c.strip() for c in line.strip().strip("|").split("|")] for line in rows]
    header, body = split[0], split[2:]
    return header, {cells[0]: cells[1:] for cells in body}


def column(library_name: str) -> tuple[str | None, dict[str, str]]:
    """The version named in the library's column header and its cells by row."""
    header, body = readme_table()
    (k,) = [i for i, h in enumerate(header) if h.startswith(library_name)]
    version = header[k][len(library_name) :].strip() or None
    return version, {row: cells[k - 1] for row, cells in body.items()}


def _sizes(text: str) -> list[float]:
    """The sizes in a cell, in bytes."""
    units = {"kB": 1e3, "MB": 1e6}
    return [float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?) (kB|MB)", text)]


def _words(text: str) -> str:
    return re.sub(r"\d+(?:\.\d+)? (kB|MB)", "SIZE", text)


def check(cls: type) -> None:
    lib = cls()
    version, cells = column(lib.name)
    if version is not None and not metadata.version(lib.dist).startswith(version):
        pytest.skip(
            f"{lib.dist} {metadata.version(lib.dist)} installed; the table is for {version}"
        )
    rows = dict(PROBES["ROWS"])
    assert list(cells) == list(rows), "README rows and probe rows differ"
    for row, probe in rows.items():
        verdict, evidence = probe(lib)
        if probe is PROBES["footprint"]:
            # Sizes vary a little between builds of the same version: within 25% (or 2 MB).
            shown, measured = _sizes(cells[row]), _sizes(verdict)
            assert len(shown) == len(measured), (cells[row], verdict)
            for a, b in zip(shown, measured):
                assert abs(a - b) <= max(0.25 * b, 2e6), (cells[row], verdict)
            assert _words(cells[row]) == _words(verdict), (cells[row], verdict)
        else:
            assert cells[row] == verdict, f"{row}: README says {cells[row]!r}; probe: {evidence}"


def test_readme_rows_are_the_probes():
    header, body = readme_table()
    assert header[1:] == [
        "chainrule",
        "HIPS autograd 1.9.1",
        "JAX 0.10.2",
        "PyTorch 2.13.0",
    ]
    assert list(body) == [row for row, _ in PROBES["ROWS"]]


def test_chainrule_column():
    check(PROBES["Chainrule"])


def _peer(module: str):
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None, reason=f"{module} is not installed"
    )


@_peer("autograd")
def test_autograd_column():
    check(PROBES["Autograd"])


@pytest.mark.slow
@_peer("jax")
def test_jax_column():
    check(PROBES["Jax"])


@pytest.mark.slow
@_peer("torch")
def test_torch_column():
    check(PROBES["Torch"])


def test_a_wrong_gradient_is_noticed():
    # The refusal probe must call a silently wrong gradient wrong (not only count errors).
    class Silent(PROBES["Chainrule"]):
        name = "silent"

        def grad(self, f, x):
            import numpy as np

            return np.zeros_like(x)

    verdict, evidence = PROBES["refusals"](Silent())
    assert verdict == "no: 5 of 5 silently wrong"
    assert evidence.count("WRONG") == 5
