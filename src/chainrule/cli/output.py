"""Printing results: numbers, labelled tables and JSON.

Tables put outputs in rows and variables in columns, with vector variables
spelled out element by element (``x[0]``, ``x[1]``); wide tables are split
into column blocks that fit the terminal.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

#: The most cells one printed table shows, and the most columns when it is cut;
#: beyond them the table shows its top-left corner and says so (``--json``
#: prints everything). Formatting a million cells takes seconds.
MAX_TABLE_CELLS = 20_000
MAX_TABLE_COLUMNS = 50


def number(x: Any, precision: int = 6) -> str:
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
    if len(shape) == 1:
        return [f"{name}[{i}]" for i in range(shape[0])]
    if len(shape) == 2:
        return [f"{name}[{i},{j}]" for i in range(shape[0]) for j in range(shape[1])]
    return [f"{name}[{','.join(map(str, i))}]" for i in itertools.product(*map(range, shape))]


class Labels(Sequence[str]):
    """The element labels of several variables in order (``x[0], x[1], A[0,0],
    ...``), made on demand: a table shows a few of a million, so it should not
    pay for the rest. :meth:`all` makes the full list at once.

    >>> labels = Labels([("x", (2,)), ("A", (2, 2))])
    >>> len(labels), labels[1], labels[4], labels[-1]
    (6, 'x[1]', 'A[1,0]', 'A[1,1]')
    """

    def __init__(self, parts: Sequence[tuple[str, tuple[int, ...]]]) -> None:
        self.parts = [(name, tuple(shape)) for name, shape in parts]
        self.sizes = [math.prod(shape) for _, shape in self.parts]

    def __len__(self) -> int:
        return sum(self.sizes)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[k] for k in range(*index.indices(len(self)))]
        k = int(index) + (len(self) if index < 0 else 0)
        for (name, shape), size in zip(self.parts, self.sizes):
            if 0 <= k < size:
                if not shape:
                    return name
                return f"{name}[{','.join(map(str, np.unravel_index(k, shape)))}]"
            k -= size
        raise IndexError(index)

    def __iter__(self) -> Any:
        return iter(self.all())

    def all(self) -> list[str]:
        """Every label, as a list."""
        return [label for name, shape in self.parts for label in element_labels(name, shape)]


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
        a, separator=", ", formatter=cast(Any, {"float_kind": lambda v: number(v, precision)})
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
    n_rows, n_columns = cells.shape
    cut = n_rows * n_columns > MAX_TABLE_CELLS
    shown_columns = min(n_columns, MAX_TABLE_COLUMNS) if cut else n_columns
    shown_rows = min(n_rows, max(MAX_TABLE_CELLS // max(shown_columns, 1), 1))
    rows, columns = list(rows[:shown_rows]), list(columns[:shown_columns])
    cells = cells[:shown_rows, :shown_columns]
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
    if cut:
        lines.append(
            f"{indent}(showing {shown_rows:,} of {n_rows:,} rows and {shown_columns:,} of "
            f"{n_columns:,} columns; --json prints every value)"
        )
    return lines


def to_json_value(value: Any) -> Any:
    """Nested lists of floats for JSON; nan and infinities as the strings
    ``"nan"``, ``"inf"``, ``"-inf"`` (JSON has no numbers for them)."""
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        x = float(a)
        return x if math.isfinite(x) else str(x)
    finite = np.isfinite(a)
    if finite.all():
        return a.tolist()
    spelled = a.astype(object)
    spelled[~finite] = [str(v) for v in a[~finite]]
    return spelled.tolist()


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
