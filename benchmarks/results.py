"""What a run produces: one cell per (workload, framework)."""

from __future__ import annotations

from dataclasses import dataclass, field

OK, FAILED, NA = "ok", "FAILED", "n/a"


@dataclass
class Cell:
    """A checked measurement (``value``: seconds or bytes), a failure, or "n/a"."""

    status: str
    value: float | None = None
    error: str = ""
    # For times: the median over rounds of this framework's time divided by
    # the hand-written time of the same round (None for peaks and memory).
    ratio: float | None = None


@dataclass
class Row:
    """One workload across all frameworks.

    ``unit`` is how values are shown ("µs", "ms", "MB" or "kB"); ``primitives``
    is set for the scalar loop, to add the time per primitive; ``baseline`` is
    what ratios are taken to (the hand-written time or peak, or for the memory
    workload the bytes the chain must keep).
    """

    name: str
    title: str
    unit: str
    cells: dict[str, Cell] = field(default_factory=dict)
    primitives: int | None = None
    baseline: float | None = None

    def failures(self) -> list[tuple[str, str]]:
        """(framework key, error) of every failed cell."""
        return [(k, c.error) for k, c in self.cells.items() if c.status == FAILED]


@dataclass
class Suite:
    """All rows of a run, plus what is needed to describe it."""

    timed: list[Row]
    memory: Row | None
    peaks: list[Row]  # peak memory of each timed workload, in the same order
    columns: list[tuple[str, str]]  # (framework key, column label)
    versions: dict[str, str]
    missing: list[str]
    blas_limited: bool
    repeats: int
    command: str
    sample_seconds: float = 0.0

    def rows(self) -> list[Row]:
        """Every row, the memory row last."""
        return self.timed + ([self.memory] if self.memory else [])

    def failures(self) -> list[tuple[str, str, str]]:
        """(workload, framework key, error) of every failed cell; a peak that
        failed only because the timed check did is not listed twice."""
        found = [(row.name, k, e) for row in self.rows() for k, e in row.failures()]
        known = {(name, k) for name, k, _ in found}
        found += [
            (f"{row.name} (peak memory)", k, e)
            for row in self.peaks
            for k, e in row.failures()
            if (row.name, k) not in known
        ]
        return found
