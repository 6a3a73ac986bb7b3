"""A/B runs: another commit's chainrule against the work tree's, alternated.

    python benchmarks/run.py --against HEAD~1               # every workload, 3 rounds
    python benchmarks/run.py --against main --only deep scalar --rounds 5

The other commit's ``src/`` is exported with ``git archive`` into a temporary
folder; the benchmark harness (workloads, checks, timing) is the work tree's,
so both sides run exactly the same measurements. Each round runs one
subprocess per side, alternating A, B, A, B, ..., with only the hand-written
NumPy column beside chainrule (the peers cost time and change nothing here).
Within a subprocess every ratio is paired with the hand-written time of the
same sampling round, so a machine that slows down between subprocesses moves
medians, not ratios. A row's ratio for a side is the median over rounds; the
change is B's ratio over A's. A row more than ``TOLERANCE`` worse is flagged.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = Path(__file__).resolve().parent / "run.py"
# The bar: no row's median ratio to hand-written NumPy worse by more than 5%.
TOLERANCE = 0.05


def export_source(rev: str, into: Path) -> Path:
    """Write commit ``rev``'s ``src/`` under ``into``; returns that ``src`` folder."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, "src"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip()
        raise SystemExit(f"--against {rev}: git archive failed: {message}")
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def run_side(src: Path, forwarded: list[str], out: Path) -> dict:
    """One benchmark subprocess with ``src`` first on the import path; returns
    its JSON rows. Checks that the intended copy of chainrule was imported."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]))
    # Eager chainrule against eager chainrule: the peers and the jit column
    # cost time and change nothing here (and an older commit may have no jit).
    skip = ["autograd", "torch", "jax", "chainrule_jit"]
    command = [sys.executable, str(RUN), *forwarded, "--skip", *skip]
    command += ["--json", str(out), "--output", os.devnull]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    result = json.loads(out.read_text())
    imported = Path(result["chainrule_file"]).resolve()
    if src.resolve() not in imported.parents:
        raise SystemExit(f"expected chainrule from {src}, the subprocess imported {imported}")
    return result["rows"]


def compare(rev: str, rounds: int, forwarded: list[str]) -> tuple[str, bool]:
    """Alternate ``rounds`` times; returns the Markdown table and whether every
    row is within ``TOLERANCE``."""
    ratios: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="chainrule-ab-") as tmp:
        sides = {rev: export_source(rev, Path(tmp) / "a"), "work tree": ROOT / "src"}
        for k in range(rounds):
            for label, src in sides.items():
                print(f"... round {k + 1}/{rounds}: {label}", file=sys.stderr, flush=True)
                rows = run_side(src, forwarded, Path(tmp) / f"{k}-{len(label)}.json")
                for name, ratio in rows.items():
                    ratios.setdefault(name, {}).setdefault(label, []).append(ratio)
    lines = [
        f"A/B: {rev} (A) against the work tree (B), {rounds} alternated rounds; "
        "median ratio to hand-written NumPy",
        "",
        "| workload | A | B | change |",
        "|---|---:|---:|---:|",
    ]
    within = True
    for name, by_side in ratios.items():
        a = statistics.median(by_side[rev])
        b = statistics.median(by_side["work tree"])
        change = b / a - 1
        flag = ""
        if change > TOLERANCE:
            within, flag = False, " **worse**"
        lines.append(f"| {name} | {a:.3f}× | {b:.3f}× | {change:+.1%}{flag} |")
    return "\n".join(lines), within


def main(rev: str, rounds: int, forwarded: list[str]) -> int:
    """Print the A/B table; exit status 1 when a row got worse beyond the tolerance."""
    table, within = compare(rev, rounds, forwarded)
    print(table)
    return 0 if within else 1
