"""Writing pictures: refusing targets that are not files, and falling back to
Graphviz source when Graphviz is not installed.

A FIFO given as the output would block the command forever (opening it for
writing waits for a reader), and a device such as ``/dev/full`` or a terminal
is no place for a picture, so only regular files (or paths that do not exist
yet) are accepted, and they are checked before any work is done.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

from .errors import MathError, UsageError

#: The picture formats ``Graph.save`` writes (the last three need Graphviz).
PICTURE_SUFFIXES = (".dot", ".gv", ".svg", ".png", ".pdf")
_NEEDS_GRAPHVIZ = (".svg", ".png", ".pdf")


def check_target(path: Path, option: str) -> None:
    """Refuse an output path that exists and is not a regular file.

    >>> check_target(Path("/dev/null"), "-o")
    Traceback (most recent call last):
    ...
    chainrule.cli.errors.UsageError: -o /dev/null: this is a device, not a regular file; ...
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as e:
        raise UsageError(f"{option} {path}: {e.strerror}") from None
    if stat.S_ISREG(mode):
        return
    kind = (
        "a directory"
        if stat.S_ISDIR(mode)
        else "a FIFO (named pipe)"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
    )
    raise UsageError(
        f"{option} {path}: this is {kind}, not a regular file; give the path of a file to write"
    )


def check_picture_target(path: Path, option: str, backward: bool) -> None:
    """Check the suffix of a picture path and every file it may lead to."""
    if path.suffix.lower() not in PICTURE_SUFFIXES:
        raise UsageError(
            f"{option} {path}: the picture must be one of {', '.join(PICTURE_SUFFIXES)}"
        )
    for target in picture_paths(path, backward):
        check_target(target, option)
        if path.suffix.lower() in _NEEDS_GRAPHVIZ:
            check_target(target.with_suffix(".dot"), option)


def picture_paths(path: Path, backward: bool) -> list[Path]:
    """The forward picture's path, and the backward one's (``PATH-backward``)."""
    paths = [path]
    if backward:
        paths.append(path.with_name(f"{path.stem}-backward{path.suffix}"))
    return paths


def have_graphviz() -> bool:
    """Whether Graphviz's ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


def save_pictures(pictures: list[Any], path: Path, option: str) -> list[Path]:
    """Write each picture (forward graph, then backward) to its path; without
    Graphviz, write ``.dot`` files instead and warn on stderr how to draw them.
    Returns the paths written."""
    paths = picture_paths(path, len(pictures) > 1)
    fallback = path.suffix.lower() in _NEEDS_GRAPHVIZ and not have_graphviz()
    if fallback:
        paths = [p.with_suffix(".dot") for p in paths]
    written = []
    for picture, target in zip(pictures, paths):
        try:
            written.append(Path(picture.save(target)))
        except (RuntimeError, OSError, ValueError) as e:
            raise MathError(f"could not write {target}: {' '.join(str(e).split())}") from None
    if fallback:
        fmt = path.suffix.lower().lstrip(".")
        how = "; ".join(
            f"dot -T{fmt} {shlex.quote(str(d))} -o {shlex.quote(str(d.with_suffix(path.suffix)))}"
            for d in written
        )
        print(
            f"chainrule: warning: {option} {path}: drawing needs Graphviz's 'dot' program, "
            f"which was not found; wrote {', '.join(map(str, written))} instead. Install "
            f"Graphviz (apt-get install graphviz, brew install graphviz or conda install "
            f"graphviz), then run: {how}",
            file=sys.stderr,
        )
    return written
