"""Printing results: numbers, labelled tables and JSON.

Tables put outputs in rows and variables in columns, with vector variables
spelled out element by element (``x[0]``, ``x[1]``); wide tables are split
into column blocks that fit the terminal.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from typing import Any

import numpy as np


def number(x: float, precision: int = 6) -> str:
    """A number as people write it: ``6`` rather than ``6.0``, ``0.841471``.

    >>> number(6.0), number(0.8414709848078965), number(-0.0), number(float("nan"))
    ('6', '0.841471', '0', 'nan')
    """
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x == round(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.{precision}g}"


def element_labels(name: str, shape: tuple[int, ...]) -> list[str]:
    """``x`` for a scalar, ``x[0], x[1]`` for a vector, ``A[0,1]`` beyond.

    >>> element_labels("A", (2, 2))
    ['A[0,0]', 'A[0,1]', 'A[1,0]', 'A[1,1]']
    """
    if not shape:
        return [name]
    return [f"{name}[{','.join(map(str, i))}]" for i in np.ndindex(*shape)]


def array_text(value: Any, precision: int = 6) -> str:
    """A short one-line rendering of an array.

    >>> array_text([[1.0, 2.0], [3.0, 4.5]])
    '[[1, 2], [3, 4.5]]'
    """
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        return number(a, precision)
    if a.size > 12:
        return f"array of shape {tuple(a.shape)}"
    text = np.array2string(
        a, separator=", ", formatter={"float_kind": lambda v: number(v, precision)}
    )
    return text.replace("\n", "")  # one line, whatever the shape


def table(
    rows: Sequence[str],
    columns: Sequence[str],
    matrix: Any,
    precision: int = 6,
    corner: str = "",
    indent: str = "  ",
) -> list[str]:
    """Lines of an aligned table: row labels on the left, numbers right-aligned
    under their column labels, split into blocks if wider than the terminal."""
    cells = np.asarray(matrix, dtype=float).reshape(len(rows), len(columns))
    text = [[number(v, precision) for v in row] for row in cells]
    label_width = max([len(r) for r in rows] + [len(corner)])
    widths = [max([len(c)] + [len(t[j]) for t in text]) for j, c in enumerate(columns)]
    room = max(shutil.get_terminal_size((100, 24)).columns - len(indent) - label_width, 20)
    lines: list[str] = []
    start = 0
    while start < len(columns):
        stop, used = start, 0
        while stop < len(columns) and (stop == start or used + widths[stop] + 2 <= room):
            used += widths[stop] + 2
            stop += 1
        if start or stop < len(columns):
            lines.append(f"{indent}(columns {start + 1}-{stop} of {len(columns)})")
        header = "".join(f"  {columns[j]:>{widths[j]}}" for j in range(start, stop))
        lines.append(f"{indent}{corner:<{label_width}}{header}".rstrip())
        for label, row in zip(rows, text):
            body = "".join(f"  {row[j]:>{widths[j]}}" for j in range(start, stop))
            lines.append(f"{indent}{label:<{label_width}}{body}")
        start = stop
    return lines


def to_json_value(value: Any) -> Any:
    """Nested lists of floats for JSON; nan and infinities as the strings
    ``"nan"``, ``"inf"``, ``"-inf"`` (JSON has no numbers for them)."""
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        x = float(a)
        return x if math.isfinite(x) else str(x)
    return [to_json_value(v) for v in a]


def print_json(payload: dict[str, Any]) -> None:
    """Print ``payload`` as one JSON object."""
    print(json.dumps(payload, allow_nan=False))


def non_finite_note(*arrays: Any) -> str | None:
    """A note when results contain nan or infinities, else None."""
    for a in arrays:
        a = np.asarray(a, dtype=float)
        if not np.all(np.isfinite(a)):
            return "note: the result contains nan or inf (outside a function's domain?)"
    return None
