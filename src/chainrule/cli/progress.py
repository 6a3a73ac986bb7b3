"""A progress bar for long loops: tqdm when it is installed, else a plain line.

The bar is drawn only on a terminal (a log file or a pipe gets nothing: the
walk-through prints the outcome anyway), fits in 80 columns, and ends at 100%,
also when the loop stops early: a loop that converges at step k redraws the
bar as k of k, "converged at step k". tqdm is optional (NumPy is chainrule's
only hard dependency), so it is imported only when a bar is wanted.
"""

from __future__ import annotations

import shutil
import sys
from typing import Any, TextIO

#: The widest a bar may be (one column less than the terminal, so that the
#: terminal never wraps it).
MAX_WIDTH = 80


class Progress:
    """What the loops call: ``update(n)``, ``set_postfix_str(text)``,
    ``finish(done, note)`` (the loop ended after ``done`` steps) and ``close()``
    (it was interrupted). This base class draws nothing."""

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps."""

    def set_postfix_str(self, text: str) -> None:
        """Show ``text`` after the counts."""

    def finish(self, done: int, note: str) -> None:
        """End at 100%: ``done`` steps of ``done``, with ``note``."""

    def close(self) -> None:
        """End where the bar stands (after an interruption)."""


class _PlainProgress(Progress):
    """Without tqdm: one line, rewritten in place."""

    def __init__(self, total: int, description: str, stream: TextIO, width: int) -> None:
        self.total, self.description, self.done = total, description, 0
        self.stream, self.width = stream, width
        self._postfix = ""

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.done == self.total or self.done % max(self.total // 200, 1) == 0:
            self._show("\r")

    def set_postfix_str(self, text: str) -> None:
        self._postfix = text

    def finish(self, done: int, note: str) -> None:
        self.total = self.done = done
        self._postfix = note
        self._show("\n")

    def close(self) -> None:
        self._show("\n")

    def _show(self, end: str) -> None:
        percent = 100 * self.done // max(self.total, 1)
        line = f"{self.description}: {percent:3d}% {self.done}/{self.total} {self._postfix}"
        self.stream.write(line.rstrip()[: self.width].ljust(self.width) + end)
        self.stream.flush()


class _TqdmProgress(Progress):
    def __init__(self, total: int, description: str, stream: TextIO, width: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            desc=description,
            unit="step",
            file=stream,
            leave=True,
            mininterval=0.2,
            ncols=width,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]",
        )

    def update(self, n: int = 1) -> None:
        self.bar.update(n)

    def set_postfix_str(self, text: str) -> None:
        self.bar.set_postfix_str(text, refresh=False)

    def finish(self, done: int, note: str) -> None:
        self.bar.total = self.bar.n = done
        self.bar.set_postfix_str(note, refresh=False)
        self.bar.close()

    def close(self) -> None:
        self.bar.close()


def progress_bar(total: int, description: str, stream: TextIO | None = None) -> Progress:
    """A bar for a loop of ``total`` steps on ``stream`` (default stderr): drawn by
    tqdm if installed, by a plain line otherwise, and not at all unless
    ``stream`` is a terminal.

    >>> import io
    >>> bar = progress_bar(10, "steps", io.StringIO())  # not a terminal: silent
    >>> type(bar).__name__
    'Progress'
    """
    stream = sys.stderr if stream is None else stream
    if not _is_terminal(stream):
        return Progress()
    width = max(min(shutil.get_terminal_size((MAX_WIDTH, 24)).columns - 1, MAX_WIDTH), 20)
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return _PlainProgress(total, description, stream, width)
    return _TqdmProgress(total, description, stream, width)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
