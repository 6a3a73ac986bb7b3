"""A progress bar for long loops: tqdm when it is installed, else a plain line.

tqdm is optional (NumPy is chainrule's only hard dependency), so it is
imported only when a bar is wanted.
"""

from __future__ import annotations

import sys
from typing import Any


class _PlainProgress:
    """Fallback: rewrites one line on a terminal, prints every tenth otherwise."""

    def __init__(self, total: int, description: str) -> None:
        self.total, self.description, self.done = total, description, 0
        self.tty = sys.stderr.isatty()
        self._next_report = 0
        self._postfix = ""

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.tty or self.done >= self._next_report or self.done == self.total:
            self._next_report = self.done + max(self.total // 10, 1)
            self._show(end="\r" if self.tty else "\n")

    def set_postfix_str(self, text: str) -> None:
        self._postfix = text

    def close(self) -> None:
        if self.tty:
            self._show(end="\n")

    def _show(self, end: str) -> None:
        percent = 100 * self.done // max(self.total, 1)
        line = f"{self.description}: {self.done}/{self.total} ({percent:3d}%) {self._postfix}"
        sys.stderr.write(line.rstrip() + end)
        sys.stderr.flush()


def progress_bar(total: int, description: str) -> Any:
    """An object with ``update(n)``, ``set_postfix_str(text)`` and ``close()``."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _PlainProgress(total, description)
    return tqdm(
        total=total, desc=description, unit="step", file=sys.stderr, leave=True, mininterval=0.2
    )
