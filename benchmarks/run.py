"""Benchmark chainrule against hand-written NumPy derivatives and its peers.

    python benchmarks/run.py                      # full run, writes docs/performance.md
    python benchmarks/run.py --quick              # tiny sizes, a few seconds, prints only
    python benchmarks/run.py --only mlp jacobian --repeats 11
    python benchmarks/run.py --against HEAD~1     # A/B: that commit against the work tree

Every framework's result is checked against the hand-written derivative
before its time counts; a mismatch (or an exception) shows as FAILED and makes
the exit status 1. Peers that are not installed are left out.

After a workload is timed, a separate pass measures the peak memory of one
gradient evaluation per framework under tracemalloc (NumPy, chainrule and
autograd; PyTorch and JAX allocate where tracemalloc cannot see).
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import ab
import checks
import frameworks as fw
import memory
import report
import timing
import workloads as wl
from results import FAILED, NA, OK, Cell, Row, Suite

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "docs" / "performance.md"
# A sample is as many back-to-back calls as fill 10 ms: steady state, as in a
# loop of gradient calls. (With 1 ms, any call slower than that was always
# timed alone, right after another framework had emptied the caches, while
# faster ones spread that cost over several calls.)
MIN_SAMPLE_SECONDS = 1e-2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes and few repeats")
    p.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help=f"run only these workloads (of: {', '.join(wl.ALL_NAMES)}; "
        "'jacobian' picks both Jacobian rows)",
    )
    p.add_argument("--repeats", type=int, help="timed samples per framework (default 21; 3 quick)")
    p.add_argument(
        "--output",
        type=Path,
        help="also write the report here (full run default: docs/performance.md)",
    )
    p.add_argument(
        "--skip",
        nargs="+",
        default=[],
        metavar="PEER",
        help="leave out these installed peers (autograd, torch, jax)",
    )
    p.add_argument(
        "--against",
        metavar="REV",
        help="A/B run: chainrule at git commit REV against the work tree, alternated "
        "(hand-written NumPy and chainrule only; see benchmarks/ab.py)",
    )
    p.add_argument("--rounds", type=int, default=3, help="alternations for --against (default 3)")
    p.add_argument("--json", type=Path, help="also write chainrule's ratios here as JSON")
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    bad = wl.unknown_names(args.only or [])
    if bad:
        p.error(f"unknown workload(s) {bad}; choose from {wl.ALL_NAMES}")
    if args.repeats is None:
        args.repeats = 3 if args.quick else 21
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    return args


def _loud(workload: str, key: str, error: str) -> None:
    print(f"*** FAILED: {key} on {workload}: {error}", file=sys.stderr, flush=True)


def _checked(
    framework: fw.Framework,
    name: str,
    data: dict,
    expected: object,
    measure: Callable[[Callable], tuple],
) -> tuple[Cell, Callable | None]:
    """Build ``framework``'s call for workload ``name`` and run it through
    ``measure`` (which returns the result and a measurement or None); check the
    result. Returns the cell and, when it passed, the call."""
    factory = framework.impls.get(name)
    if factory is None:
        return Cell(NA), None
    try:
        call = factory(data)
        result, value = measure(call)
        error = checks.mismatch(result, expected, framework.to_numpy)
    except Exception as exc:  # noqa: BLE001  (any exception is a failed cell)
        error = f"raised {type(exc).__name__}: {exc}"
    if error:
        _loud(name, framework.key, error)
        return Cell(FAILED, error=error), None
    return Cell(OK, value), call


def _once(call: Callable) -> tuple[object, None]:
    return call(), None


def time_workload(workload: wl.Workload, frameworks: list[fw.Framework], args) -> Row:
    """Check every framework on one workload, then time those that passed."""
    data = workload.make(args.quick)
    hand = frameworks[0]
    expected = hand.impls[workload.name](data)()
    row = Row(workload.name, workload.title(args.quick), workload.unit)
    if workload.primitives:
        row.primitives = workload.primitives(data)
    calls = {}
    for f in frameworks:
        row.cells[f.key], call = _checked(f, workload.name, data, expected, _once)
        if call is not None:
            calls[f.key] = call
    samples = timing.interleaved_samples(calls, args.repeats, MIN_SAMPLE_SECONDS)
    for key, times in samples.items():
        row.cells[key].value = statistics.median(times)
        if hand.key in samples:
            row.cells[key].ratio = timing.paired_ratio(samples, key, hand.key)
    row.baseline = row.cells[hand.key].value if hand.key in samples else None
    return row


def peak_workload(
    workload: wl.Workload, frameworks: list[fw.Framework], quick: bool, timed: Row
) -> Row:
    """Extra peak traced memory of one gradient evaluation per framework, after
    a warm-up call, checked like the timings.

    Frameworks tracemalloc cannot see are n/a; one that failed the timed check
    (``timed``) is not run again and fails here too. Ratios are to the
    hand-written peak, and the unit (MB or kB) is the one that suits it.
    """
    data = workload.make(quick)
    hand = frameworks[0]
    expected = hand.impls[workload.name](data)()
    row = Row(workload.name, workload.title(quick), "MB")
    measure = partial(memory.peak_bytes, warm_up=True)
    for f in frameworks:
        earlier = timed.cells.get(f.key)
        if not f.traced:
            row.cells[f.key] = Cell(NA)
        elif earlier is not None and earlier.status == FAILED:
            row.cells[f.key] = Cell(FAILED, error=earlier.error)
        else:
            row.cells[f.key], _ = _checked(f, workload.name, data, expected, measure)
    reference = row.cells[hand.key]
    row.baseline = reference.value if reference.status == OK else None
    peaks = [c.value for c in row.cells.values() if c.status == OK]
    row.unit = memory.unit_for(row.baseline or max(peaks, default=0))
    return row


def memory_workload(frameworks: list[fw.Framework], quick: bool) -> Row:
    """Peak traced memory of the sin-chain gradient, checked like the timings."""
    data = wl.MEMORY.make(quick)
    row = Row(wl.MEMORY.name, wl.MEMORY.title(quick), wl.MEMORY.unit)
    row.baseline = float(memory.required_bytes(data))
    expected, _ = memory.peak_bytes(frameworks[0].impls[wl.MEMORY.name](data))
    for f in frameworks:
        row.cells[f.key], _ = _checked(f, wl.MEMORY.name, data, expected, memory.peak_bytes)
    return row


def _command(argv: list[str]) -> str:
    script = Path(__file__).resolve()
    try:
        script = script.relative_to(Path.cwd())
    except ValueError:
        pass
    return shlex.join(["python", str(script), *argv])


def run_suite(args: argparse.Namespace, argv: list[str]) -> Suite:
    """Run the selected workloads; returns everything the report needs."""
    frameworks, missing = fw.load(tuple(args.skip))
    timed, with_memory = wl.selected(args.only)
    with timing.one_blas_thread() as limited:
        rows, peaks = [], []
        for w in timed:
            print(f"... {w.name}", file=sys.stderr, flush=True)
            rows.append(time_workload(w, frameworks, args))
            peaks.append(peak_workload(w, frameworks, args.quick, rows[-1]))
        mem = memory_workload(frameworks, args.quick) if with_memory else None
    return Suite(
        timed=rows,
        memory=mem,
        peaks=peaks,
        columns=[(f.key, f.label) for f in frameworks],
        versions={f.package: f.version for f in frameworks if f.key != "numpy"},
        missing=missing,
        blas_limited=limited,
        repeats=args.repeats,
        sample_seconds=MIN_SAMPLE_SECONDS,
        command=_command(argv),
    )


def write_json(suite: Suite, path: Path) -> None:
    """chainrule's ratio on every row (time over hand-written time; for the
    memory row, peak over what must be kept), and which chainrule was measured."""
    import chainrule

    rows = {}
    for row in suite.rows():
        cell = row.cells.get("chainrule")
        if cell is None or cell.status != OK:
            continue
        ratio = cell.ratio if cell.ratio is not None else cell.value / row.baseline
        rows[row.name] = ratio
    path.write_text(json.dumps({"chainrule_file": chainrule.__file__, "rows": rows}))


def _forwarded(args: argparse.Namespace) -> list[str]:
    """The options an A/B side runs with."""
    out = ["--repeats", str(args.repeats)]
    if args.quick:
        out.append("--quick")
    if args.only:
        out += ["--only", *args.only]
    return out


def main(argv: list[str] | None = None) -> int:
    """Run, print the report, write it if asked; 1 if anything FAILED."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.against:
        return ab.main(args.against, args.rounds, _forwarded(args))
    suite = run_suite(args, argv)
    if args.json:
        write_json(suite, args.json)
    text = report.markdown(suite)
    print(text)
    output = args.output or (None if args.quick else DEFAULT_OUTPUT)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        print(f"written to {output}", file=sys.stderr)
    for workload, key, error in suite.failures():
        _loud(workload, key, error)
    return 1 if suite.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
