"""``main``: parse the command line, run the command, turn failures into
one-line messages and exit statuses (2 usage, 1 mathematics, 0 success)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from .arguments import build_parser
from .errors import CliError


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``chainrule`` with ``argv`` (default: the process's arguments)."""
    _tolerant_output()
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv) or ["demo"])
    if getattr(args, "run", None) is None:  # options only, such as a bare "--"
        args = build_parser().parse_args(["demo"])
    try:
        return args.run(args)
    except CliError as e:
        sys.stdout.flush()
        print(f"chainrule: error: {e}", file=sys.stderr)
        return e.exit_status
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (head, less) went away: stop quietly, and keep Python
        # from complaining when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
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
