"""The two kinds of failure the command reports, and their exit statuses.

The command never shows a traceback: everything that can go wrong is turned
into one of these and printed as ``chainrule: error: ...``.
"""

from __future__ import annotations


class CliError(Exception):
    """A failure to report to the user; ``exit_status`` is what the command returns."""

    exit_status = 1


class UsageError(CliError):
    """The command line itself is wrong: a bad expression, an unknown name, a
    refused construct, a malformed ``--at`` value. Exit status 2, like argparse."""

    exit_status = 2


class Refused(UsageError):
    """The expression uses something the safe evaluator does not allow
    (attribute access, lambdas, huge exponents, arrays that would exhaust memory)."""


class MathError(CliError):
    """The input was well formed but the mathematics failed: shapes that do not
    fit, a non-scalar ``grad``, a singular matrix. Exit status 1."""
