"""The benchmark suite's quick mode: every workload is checked for chainrule.

Runs ``benchmarks/run.py --quick`` in-process. Only chainrule and NumPy are
required; peers (autograd, PyTorch, JAX) join when installed. Timings and
peak sizes are never asserted on: only that the correctness checks ran and
passed, and that the tables are filled.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"
BENCH_MODULES = [p.stem for p in BENCH_DIR.glob("*.py")]


@pytest.fixture(scope="module")
def bench():
    """The benchmark modules, importable by their flat names for this module only."""
    saved = {name: sys.modules.pop(name) for name in BENCH_MODULES if name in sys.modules}
    sys.path.insert(0, str(BENCH_DIR))
    try:
        yield importlib.import_module("run")
    finally:
        sys.path.remove(str(BENCH_DIR))
        for name in BENCH_MODULES:
            sys.modules.pop(name, None)
        sys.modules.update(saved)


@pytest.fixture(scope="module")
def suite(bench):
    argv = ["--quick", "--repeats", "1"]
    return bench.run_suite(bench.parse_args(argv), argv)


def test_every_workload_is_checked_for_chainrule(bench, suite):
    names = [row.name for row in suite.rows()]
    assert names == bench.wl.ALL_NAMES
    for row in suite.rows():
        cell = row.cells["chainrule"]
        assert cell.status == "ok", f"{row.name}: {cell.error}"
        assert cell.value is not None and cell.value > 0


def test_hand_written_reference_is_measured(suite):
    for row in suite.rows():
        assert row.cells["numpy"].status == "ok", row.name
        assert row.baseline is not None and row.baseline > 0


def test_every_workload_has_a_chainrule_peak(suite):
    assert [row.name for row in suite.peaks] == [row.name for row in suite.timed]
    for row in suite.peaks:
        cell = row.cells["chainrule"]
        assert cell.status == "ok", f"{row.name}: {cell.error}"
        assert cell.value is not None and cell.value > 0
        assert row.cells["numpy"].status == "ok", row.name
        assert row.baseline is not None and row.baseline > 0
        assert row.unit in ("MB", "kB")
        for key in ("torch", "jax", "jax-jit"):
            if key in row.cells:
                assert row.cells[key].status == "n/a", (row.name, key)


def _table_after(text: str, heading: str) -> list[list[str]]:
    """The cells of the first Markdown table after ``heading``, header row first."""
    lines = text.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return [rows[0], *rows[2:]]  # without the alignment row


def test_peak_table_has_chainrule_filled_for_every_workload(bench, suite):
    text = bench.report.markdown(suite)
    header, *body = _table_after(text, "### Peak memory per workload")
    column = header.index("chainrule")
    assert [cells[0] for cells in body] == [f"{r.title} ({r.unit})" for r in suite.peaks]
    for cells in body:
        assert re.fullmatch(r"[0-9.]+ \([0-9.]+×\)", cells[column]), cells
    assert "### Long chain" in text  # the dedicated memory table stays


def test_report_has_a_row_per_workload(bench, suite):
    text = bench.report.markdown(suite)
    for row in suite.rows():
        assert row.title in text
    assert "per primitive" in text
    assert "Command: `python" in text


def test_a_wrong_derivative_is_failed_not_timed(bench):
    wrong = bench.fw.Framework(
        "wrong", "wrong", "wrong", "0", {"elementwise": lambda d: lambda: d["x"]}
    )
    hand = bench.fw.load(skip=("autograd", "torch", "jax"))[0][0]
    args = bench.parse_args(["--quick", "--repeats", "1"])
    (workload,) = bench.wl.selected(["elementwise"])[0]
    row = bench.time_workload(workload, [hand, wrong], args)
    assert row.cells["wrong"].status == "FAILED"
    assert row.cells["wrong"].value is None
    assert "FAILED" in bench.report._cell(row.cells["wrong"], "ms", row.baseline)
    blind = bench.fw.Framework("blind", "blind", "blind", "0", hand.impls, traced=False)
    peaks = bench.peak_workload(workload, [hand, wrong, blind], True, row)
    assert peaks.cells["numpy"].status == "ok"
    assert peaks.cells["wrong"].status == "FAILED"
    assert peaks.cells["wrong"].error == row.cells["wrong"].error
    assert peaks.cells["blind"].status == "n/a"
    suite = bench.Suite(
        timed=[row],
        memory=None,
        peaks=[peaks],
        columns=[],
        versions={},
        missing=[],
        blas_limited=True,
        repeats=1,
        command="",
    )
    assert [(w, k) for w, k, _ in suite.failures()] == [("elementwise", "wrong")]


def test_check_tolerance_is_relative_to_scale(bench):
    tiny = np.array(1.4e-54)
    assert bench.checks.mismatch(tiny * (1 + 1e-12), tiny, np.asarray) is None
    assert bench.checks.mismatch(tiny * 2, tiny, np.asarray) is not None
    assert bench.checks.mismatch({"a": np.ones(2)}, {"b": np.ones(2)}, np.asarray) is not None


def test_only_selects_workloads(bench):
    timed, with_memory = bench.wl.selected(["jacobian", "memory"])
    assert [w.name for w in timed] == ["jacobian-fwd", "jacobian-rev"]
    assert with_memory
    assert bench.wl.unknown_names(["mlp", "nope"]) == ["nope"]


def test_ratios_are_paired_within_rounds(bench):
    timing = sys.modules["timing"]
    # The machine slowing down 3x between rounds changes medians, not ratios.
    samples = {"hand": [1.0, 3.0, 1.0], "fast": [2.0, 6.0, 2.0], "slow": [3.0, 3.0, 30.0]}
    assert timing.paired_ratio(samples, "fast", "hand") == 2.0
    assert timing.paired_ratio(samples, "slow", "hand") == 3.0


def test_every_timed_cell_carries_its_paired_ratio(suite):
    for row in suite.timed:
        for key, cell in row.cells.items():
            if cell.status == "ok":
                assert cell.ratio is not None and cell.ratio > 0, (row.name, key)
        assert row.cells["numpy"].ratio == 1.0


def test_floor_engine_runs_and_is_checked(bench):
    floor = importlib.import_module("floor")
    ratios = floor.main(rounds=1, layers=3)
    assert set(ratios) == {"minimal", "chainrule"}
    assert all(r > 0 for r in ratios.values())
    rng = np.random.default_rng(1)
    Ws = [rng.standard_normal((4, 4)) for _ in range(3)]
    x = rng.standard_normal(4)
    np.testing.assert_allclose(floor.minimal_grad(x, Ws), floor.hand_grad(x, Ws), rtol=1e-12)


def test_against_runs_both_commits_alternated(tmp_path):
    """``--against REV`` measures REV's chainrule and the work tree's, each in its
    own subprocess (checked to import the intended copy), and tabulates both."""
    import subprocess

    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=BENCH_DIR, capture_output=True).returncode:
        pytest.skip("not a git checkout")
    argv = ["--against", "HEAD", "--quick", "--only", "scalar", "--rounds", "1", "--repeats", "1"]
    done = subprocess.run(
        [sys.executable, str(BENCH_DIR / "run.py"), *argv], capture_output=True, text=True
    )
    assert done.returncode in (0, 1), done.stderr
    assert "A/B: HEAD (A) against the work tree (B), 1 alternated rounds" in done.stdout
    row = re.search(r"\| scalar-loop \| ([\d.]+)× \| ([\d.]+)× \| ([+-][\d.]+)%", done.stdout)
    assert row, done.stdout
    a, b, change = map(float, row.groups())
    assert a > 0 and b > 0
    assert change == pytest.approx((b / a - 1) * 100, abs=0.6)


def test_against_rejects_an_unknown_commit():
    import subprocess

    argv = ["--against", "no-such-commit-xyz", "--quick", "--only", "scalar"]
    done = subprocess.run(
        [sys.executable, str(BENCH_DIR / "run.py"), *argv], capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "--against no-such-commit-xyz: git archive failed" in done.stderr
