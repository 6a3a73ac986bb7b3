"""``main``: parse the command line, run the command, turn failures into
one-line messages and exit statuses (2 usage, 1 mathematics or output, 130
interrupted, 0 success)."""

from __future__ import annotations

import errno
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

import numpy as np

from .arguments import SHORT_USAGE, build_parser
from .errors import CliError


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``chainrule`` with ``argv`` (default: the process's arguments).

    Without a command it prints a short usage that points at ``chainrule demo``
    and returns 2, as argparse does for a missing required argument.
    """
    _tolerant_output()
    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (head, less) went away: stop quietly, and keep Python
        # from complaining when it flushes stdout at exit.
        _quiet_stdout()
        return 1
    except OSError as e:  # stdout on a full disk or /dev/full, a closed terminal
        _quiet_stdout()
        reason = "no space left on the device" if e.errno == errno.ENOSPC else e.strerror or e
        print(f"chainrule: error: could not write the output: {reason}", file=sys.stderr)
        return 1


def _run(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error already printed
        sys.stdout.flush()
        return e.code if isinstance(e.code, int) else 2
    if getattr(args, "run", None) is None:  # no command (or options only, such as "--")
        sys.stderr.write(SHORT_USAGE)
        return 2
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # nan and inf speak for themselves in the output (with a note); NumPy's
            # RuntimeWarnings about them would only repeat it on stderr, with a
            # file name from inside chainrule.
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.showwarning = _one_line_warning
            status = args.run(args)
        sys.stdout.flush()  # a write error must surface here, not at interpreter exit
        return status
    except CliError as e:
        sys.stdout.flush()
        print(f"chainrule: error: {e}", file=sys.stderr)
        return e.exit_status
    except (KeyboardInterrupt, OSError):
        raise
    except Exception as e:  # a bug in chainrule: still no traceback unless asked
        if os.environ.get("CHAINRULE_TRACEBACK"):
            raise
        detail = " ".join(str(e).split())[:300]
        print(
            f"chainrule: internal error: {type(e).__name__}: {detail} (please report it; "
            "set CHAINRULE_TRACEBACK=1 to see where)",
            file=sys.stderr,
        )
        return 1


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Any other warning that is shown at all: one line, without a file name."""
    text = " ".join(str(message).split())
    print(f"chainrule: warning: {text} ({category.__name__})", file=sys.stderr)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the flush at exit cannot fail again."""
    if sys.stdout is not sys.__stdout__:  # called in-process with stdout captured
        return
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.__stdout__.fileno())
    except (OSError, ValueError, AttributeError):  # pragma: no cover - no real stdout
        pass


def _tolerant_output() -> None:
    # Graph listings use a few non-ASCII symbols (ḡ, ᵀ); a terminal that cannot
    # show them should get an escape, not a UnicodeEncodeError.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - already detached
                pass
