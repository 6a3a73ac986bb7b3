"""The Markdown report: tables of medians, peaks and ratios, then the machine."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

import checks
import numpy as np
from results import FAILED, OK, Cell, Suite

_SCALE = {"µs": 1e6, "ms": 1e3, "MB": 1e-6, "kB": 1e-3}
_MEMORY_UNITS = ("MB", "kB")


def _number(v: float) -> str:
    """About three significant digits, never in exponent notation."""
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def _ratio(r: float, precise: bool = False) -> str:
    """Two decimals below 2× (the targets 1.15× and 1.3× need them), or below
    10× with ``precise`` (for memory, where 1.02× vs 1.04× matters)."""
    if r >= 10:
        return f"{r:.0f}×"
    if r >= 2 and not precise:
        return f"{r:.1f}×"
    return f"{r:.2f}×"


def _cell(cell: Cell | None, unit: str, baseline: float | None, per: int = 1) -> str:
    """One table cell: "value (ratio×)", "FAILED" or "n/a"."""
    if cell is None or cell.status not in (OK, FAILED):
        return "n/a"
    if cell.status == FAILED:
        return "**FAILED**"
    text = _number(cell.value * _SCALE[unit] / per)
    ratio = cell.ratio if cell.ratio is not None else (cell.value / baseline if baseline else None)
    if ratio is not None:
        text += f" ({_ratio(ratio, precise=unit in _MEMORY_UNITS)})"
    return text


def _line(items: list[str]) -> str:
    return "| " + " | ".join(items) + " |"


def timing_table(suite: Suite) -> list[str]:
    """Medians with ratios to the hand-written NumPy time."""
    labels = [label for _, label in suite.columns]
    lines = [_line(["workload", *labels]), _line(["---"] + ["---:"] * len(labels))]
    for row in suite.timed:
        cells = [_cell(row.cells.get(k), row.unit, row.baseline) for k, _ in suite.columns]
        lines.append(_line([f"{row.title} ({row.unit})", *cells]))
        if row.primitives:
            per = [
                _cell(row.cells.get(k), row.unit, row.baseline, row.primitives)
                for k, _ in suite.columns
            ]
            lines.append(_line([f"… per primitive ({row.unit})", *per]))
    return lines


def peak_table(suite: Suite) -> list[str]:
    """Extra peak traced memory of each timed workload, with ratios to the
    hand-written NumPy peak."""
    labels = [label for _, label in suite.columns]
    lines = [_line(["workload", *labels]), _line(["---"] + ["---:"] * len(labels))]
    for row in suite.peaks:
        cells = [_cell(row.cells.get(k), row.unit, row.baseline) for k, _ in suite.columns]
        lines.append(_line([f"{row.title} ({row.unit})", *cells]))
    return lines


_PEAK_NOTE = (
    "Extra peak of one gradient evaluation, and in brackets the ratio to the hand-written "
    "NumPy peak: the highest memory tracemalloc traces during one call, minus what was "
    "held just before it (the inputs do not count, the result does). Measured in a pass "
    "after the timing, one call per framework after a warm-up call and a garbage "
    "collection. PyTorch and JAX allocate where tracemalloc cannot see: n/a."
)


def memory_table(suite: Suite) -> list[str]:
    """Peak traced bytes with ratios to what the chain must keep."""
    row = suite.memory
    labels = [label for _, label in suite.columns]
    lines = [_line(["workload", *labels]), _line(["---"] + ["---:"] * len(labels))]
    cells = [_cell(row.cells.get(k), row.unit, row.baseline) for k, _ in suite.columns]
    lines.append(_line([f"{row.title}, peak (MB)", *cells]))
    lines.append("")
    lines.append(
        f"Ratios are to {_number(row.baseline * 1e-6)} MB, one array a layer: what the "
        "backward pass must keep. Peaks are tracemalloc's (NumPy buffers plus Python "
        "objects), so frameworks with their own allocators show n/a."
    )
    return lines


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or the platform's guess)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _blas() -> str:
    """The BLAS NumPy uses, as threadpoolctl sees it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    libs = [
        f"{i.get('internal_api')} {i.get('version')}"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    return ", ".join(libs) or "unknown"


_THREAD_NOTES = {
    "PyTorch": "PyTorch: torch.set_num_threads(1)",
    "JAX": "XLA: --xla_cpu_multi_thread_eigen=false",
}


def environment(suite: Suite) -> list[str]:
    """The machine, the versions, the method, the date and the command."""
    threads = "1 (threadpoolctl)" if suite.blas_limited else "not limited (no threadpoolctl)"
    versions = ", ".join(f"{k} {v}" for k, v in suite.versions.items())
    lines = [
        f"- Machine: {cpu_model()}, {os.cpu_count()} logical cores; {platform.platform()}",
        f"- Python {platform.python_version()}, NumPy {np.__version__} (BLAS: {_blas()})",
        f"- Frameworks: {versions}",
    ]
    if suite.missing:
        lines.append(f"- Not installed or skipped: {', '.join(suite.missing)}")
    peers = [note for name, note in _THREAD_NOTES.items() if name in suite.versions]
    lines += [
        f"- Float64 throughout; BLAS threads: {threads}" + "".join(f"; {p}" for p in peers),
        f"- Method: every result checked against the hand-written derivative "
        f"(np.allclose, rtol {checks.RTOL:g}) before timing; one warm-up; median of "
        f"{suite.repeats} samples, each as many back-to-back calls as fill "
        f"{suite.sample_seconds * 1e3:g} ms, frameworks interleaved round-robin; ratios "
        "paired within rounds",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Command: `{suite.command}`",
    ]
    return lines


def _failure_lines(suite: Suite) -> list[str]:
    failures = suite.failures()
    if not failures:
        return []
    lines = ["", "## Failures", ""]
    for workload, key, error in failures:
        lines.append(f"- {workload} / {key}: {error}")
    return lines


# Drawn from the table above by tools/make_figures.py (rerun it after a benchmark run).
_CHART = (
    "![The ratios of the table as bars, one group per workload (log scale)]"
    "(img/performance_ratios.svg)"
)


def markdown(suite: Suite) -> str:
    """The whole report."""
    lines = ["# Performance"]
    if suite.timed:
        lines += ["", "## Time", ""]
        lines += [
            "Median per call, and in brackets the ratio to the hand-written NumPy time: the "
            "median over rounds of the ratio within a round (every round times each framework "
            "once, back to back), so that the machine's drift between rounds cancels.",
            "",
        ]
        lines += timing_table(suite)
        lines += ["", _CHART]
    if suite.peaks or suite.memory:
        lines += ["", "## Memory"]
    if suite.peaks:
        lines += ["", "### Peak memory per workload", "", _PEAK_NOTE, ""] + peak_table(suite)
    if suite.memory:
        lines += ["", "### Long chain", ""] + memory_table(suite)
    lines += _failure_lines(suite)
    # The other scripts' results (solvers, sparse, vmap, jit's first call, Dask),
    # kept by hand beside this script: pasted as they are.
    others = Path(__file__).with_name("other_results.md")
    if others.is_file():
        lines += ["", others.read_text().rstrip()]
    lines += ["", "## Setup", ""] + environment(suite)
    return "\n".join(lines) + "\n"
